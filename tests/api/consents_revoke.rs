//! Revoking consents: the record stays, only its status and updatedAt move; declined ones cannot be revoked.

use reqwest::Method;
use serde_json::{Value, json};

use crate::consents_record::{record, seed_body};
use crate::helpers::{TestApp, assert_error};

pub const REVOKE: &str = "application/vnd.pingidentity.consent.revoke+json";

async fn patch(app: &TestApp, url: &str, content_type: &str, body: &str) -> (u16, Value) {
    let response = app
        .client
        .patch(url)
        .bearer_auth(&app.token)
        .header("Content-Type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn revoke_keeps_the_record_and_is_idempotent() {
    let app = TestApp::spawn().await;
    let user = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let given = record(&app, &user, seed_body()).await;
    let href = given["_links"]["consent.revoke"]["href"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, revoked) = patch(&app, &href, REVOKE, r#"{"status":"REVOKED"}"#).await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["status"], "REVOKED");
    assert!(revoked["_links"].get("consent.revoke").is_none());
    assert_ne!(revoked["updatedAt"], given["updatedAt"]);
    for kept in [
        "id",
        "consentedAt",
        "scope",
        "application",
        "applicationName",
        "browser",
        "operatingSystem",
        "device",
        "location",
        "user",
    ] {
        assert_eq!(revoked[kept], given[kept], "{kept} must not change on revoke");
    }
    // Again: 200, unchanged.
    let (status, again) = patch(&app, &href, REVOKE, r#"{"status":"REVOKED"}"#).await;
    assert_eq!(status, 200);
    assert_eq!(again, revoked);
    // Still listed, as REVOKED.
    let list = app.get(&app.env_url(&format!("/users/{user}/oauthConsents")), 200).await;
    assert_eq!(list["_embedded"]["oauthConsents"][0]["status"], "REVOKED");
    let effective = app
        .get(
            &app.env_url(&format!(
                "/users/{user}/oauthConsents/effective?application.id={}",
                given["application"]["id"].as_str().unwrap()
            )),
            200,
        )
        .await;
    assert_eq!(effective["scope"], json!([]));
}

#[tokio::test]
async fn declined_records_cannot_be_revoked() {
    let app = TestApp::spawn().await;
    let user = app.create_user("bob").await["id"].as_str().unwrap().to_owned();
    let mut body = seed_body();
    body["status"] = json!("DECLINED");
    let declined = record(&app, &user, body).await;
    let (status, out) =
        patch(&app, declined["_links"]["self"]["href"].as_str().unwrap(), REVOKE, r#"{"status":"REVOKED"}"#).await;
    assert_eq!(status, 400, "{out}");
    assert_error(&out, "INVALID_DATA");
    let read = app.get(declined["_links"]["self"]["href"].as_str().unwrap(), 200).await;
    assert_eq!(read["status"], "DECLINED");
    assert_eq!(read["updatedAt"], declined["updatedAt"]);
}

#[tokio::test]
async fn revoke_requests_are_checked() {
    let app = TestApp::spawn().await;
    let user = app.create_user("carol").await["id"].as_str().unwrap().to_owned();
    let given = record(&app, &user, seed_body()).await;
    let href = given["_links"]["self"]["href"].as_str().unwrap().to_owned();
    let (status, out) = patch(&app, &href, REVOKE, r#"{"status":"ACCEPTED"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(out["details"][0]["target"], "status");
    let (status, out) = patch(&app, &href, REVOKE, r#"{}"#).await;
    assert_eq!(status, 400);
    assert_eq!(out["details"][0]["code"], "REQUIRED_VALUE");
    let (status, out) =
        patch(&app, &href, "application/vnd.pingidentity.consent.accept+json", r#"{"status":"REVOKED"}"#).await;
    assert_eq!(status, 415, "{out}");
    let (status, _) = patch(&app, &href, "application/json", r#"{"status":"REVOKED"}"#).await;
    assert_eq!(status, 200);
    // Deleting evidence is not an operation.
    let out = app.call(Method::DELETE, &href, None, 405).await;
    assert_error(&out, "INVALID_REQUEST");
    let out = app.call(Method::PUT, &href, Some(seed_body()), 405).await;
    assert_error(&out, "INVALID_REQUEST");
    // Unknown ids.
    let missing = href.replace(given["id"].as_str().unwrap(), &uuid::Uuid::now_v7().to_string());
    let (status, out) = patch(&app, &missing, REVOKE, r#"{"status":"REVOKED"}"#).await;
    assert_eq!(status, 404);
    assert_error(&out, "NOT_FOUND");
}
