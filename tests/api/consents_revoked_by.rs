//! Who revoked a record and when: `revokedAt` and `revokedBy` for every cause, written once, and
//! the `revokedAt`, `updatedAt`, `expiresAt` and `revokedBy.type` filters.

use reqwest::Method;
use serde_json::{Value, json};

use crate::consents_access::user_token;
use crate::consents_record::record;
use crate::helpers::{TestApp, assert_error};
use crate::hydra::own_admin;
use assent::auth::principal::UPDATE_CONSENTS_SCOPE;

const REVOKED: &str = r#"{"status":"REVOKED"}"#;

/// PATCHes `{"status":"REVOKED"}` to the record with `token` and expects 200.
pub(crate) async fn revoke_with(app: &TestApp, token: &str, given: &Value) -> Value {
    let href = given["_links"]["self"]["href"].as_str().unwrap();
    let response = app
        .client
        .patch(href)
        .bearer_auth(token)
        .header("Content-Type", "application/vnd.pingidentity.consent.revoke+json")
        .body(REVOKED)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// A record of `user` for the registered application `app_id`.
pub(crate) async fn accepted(app: &TestApp, user: &str, app_id: &str) -> Value {
    record(app, user, json!({"application":{"id": app_id},"scope":["openid"],"status":"ACCEPTED"})).await
}

/// The record as the environment's audit list shows it.
pub(crate) async fn audited(app: &TestApp, given: &Value) -> Value {
    let filter = format!("user.id eq \"{}\"", given["user"]["id"].as_str().unwrap());
    let url = format!("{}?filter={}", app.env_url("/oauthConsents"), encode(&filter));
    let page = app.get(&url, 200).await;
    page["_embedded"]["oauthConsents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == given["id"])
        .cloned()
        .unwrap_or_else(|| panic!("{} is not in the audit list: {page}", given["id"]))
}

pub(crate) fn encode(filter: &str) -> String {
    url::form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

/// Checks a record is REVOKED by `kind` (`id`), at its `updatedAt`, with no revoke link.
pub(crate) fn assert_revoked_by(record: &Value, kind: &str, id: Option<&str>) {
    assert_eq!(record["status"], "REVOKED", "{record}");
    assert_eq!(record["revokedBy"]["type"], kind, "{record}");
    assert_eq!(record["revokedBy"]["id"].as_str(), id, "{record}");
    assert!(record["revokedAt"].is_string(), "{record}");
    assert_eq!(record["revokedAt"], record["updatedAt"], "{record}");
    assert!(record["_links"].get("consent.revoke").is_none(), "{record}");
}

async fn web_app(app: &TestApp, name: &str) -> String {
    let body = json!({"name": name, "type": "WEB_APP", "redirectUris": ["https://app.example.com/cb"]});
    app.create_app(body).await["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_cause_of_revocation_says_who_and_when() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let printer = web_app(&app, "Printer").await;
    let scanner = web_app(&app, "Scanner").await;

    let live = accepted(&app, &alice, &printer).await;
    assert!(live.get("revokedAt").is_none() && live.get("revokedBy").is_none(), "{live}");
    assert!(live["_links"]["consent.revoke"].is_object(), "{live}");

    // The user, with their own token.
    let by_user = accepted(&app, &alice, &printer).await;
    let token = user_token(&app, &alice, &[UPDATE_CONSENTS_SCOPE]).await;
    let user_revoked = revoke_with(&app, &token, &by_user).await;
    assert_revoked_by(&user_revoked, "USER", Some(&alice));

    // An administrator: the worker whose token it was.
    let by_admin = accepted(&app, &alice, &printer).await;
    assert_revoked_by(&revoke_with(&app, &app.token, &by_admin).await, "ADMINISTRATOR", Some(&app.client_id));

    // A consent app deleting the user's consent sessions for one client (Hydra-compatible API).
    let by_session = accepted(&app, &alice, &scanner).await;
    let path = format!("sessions/consent?subject={alice}&client={scanner}");
    assert_eq!(own_admin(&app, Method::DELETE, &path, None).await.status, 204);
    let read = app.get(by_session["_links"]["self"]["href"].as_str().unwrap(), 200).await;
    assert_revoked_by(&read, "CONSENT_SESSION", Some(&app.client_id));

    // Deleting the application ends the records given to it.
    app.call(Method::DELETE, &app.env_url(&format!("/applications/{printer}")), None, 204).await;
    let read = app.get(live["_links"]["self"]["href"].as_str().unwrap(), 200).await;
    assert_revoked_by(&read, "APPLICATION_DELETED", Some(&printer));

    // Deleting the user ends the rest; only the audit list still shows them.
    let last = accepted(&app, &alice, &scanner).await;
    app.call(Method::DELETE, &app.env_url(&format!("/users/{alice}")), None, 204).await;
    assert_revoked_by(&audited(&app, &last).await, "USER_DELETED", Some(&alice));

    // Each earlier revocation kept its first time and cause through both deletions.
    assert_revoked_by(&audited(&app, &by_user).await, "USER", Some(&alice));
    assert_revoked_by(&audited(&app, &by_admin).await, "ADMINISTRATOR", Some(&app.client_id));
    assert_revoked_by(&audited(&app, &by_session).await, "CONSENT_SESSION", Some(&app.client_id));
    assert_eq!(audited(&app, &by_user).await["revokedAt"], user_revoked["revokedAt"]);
}

#[tokio::test]
async fn a_revocation_is_written_once() {
    let app = TestApp::spawn().await;
    let dora = app.create_user("dora").await["id"].as_str().unwrap().to_owned();
    let given = record(&app, &dora, json!({"application":{"name":"Ext"},"scope":["a"],"status":"ACCEPTED"})).await;
    let first = revoke_with(&app, &app.token, &given).await;
    assert_revoked_by(&first, "ADMINISTRATOR", Some(&app.client_id));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // The user revoking it again changes nothing: neither who nor when.
    let token = user_token(&app, &dora, &[UPDATE_CONSENTS_SCOPE]).await;
    let mut again = revoke_with(&app, &token, &given).await;
    // Links are the caller's own (the user is not shown the administrator's); the record is the same.
    let mut first = first;
    first.as_object_mut().unwrap().remove("_links");
    again.as_object_mut().unwrap().remove("_links");
    assert_eq!(again, first);
}

#[tokio::test]
async fn declined_and_expired_records_carry_no_revocation() {
    let app = TestApp::spawn().await;
    let erin = app.create_user("erin").await["id"].as_str().unwrap().to_owned();
    let declined = record(&app, &erin, json!({"application":{"name":"Ext"},"scope":["a"],"status":"DECLINED"})).await;
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let expiring =
        record(&app, &erin, json!({"application":{"name":"Ext"},"scope":["a"],"status":"ACCEPTED","expiresAt": soon}))
            .await;
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    let expired = app.get(expiring["_links"]["self"]["href"].as_str().unwrap(), 200).await;
    assert_eq!(expired["status"], "EXPIRED");
    // Expiry is not a revocation: the record says when it ended in expiresAt.
    for record in [&declined, &expired] {
        assert!(record.get("revokedAt").is_none() && record.get("revokedBy").is_none(), "{record}");
    }
    // Deleting the user revokes nothing that had already ended.
    app.call(Method::DELETE, &app.env_url(&format!("/users/{erin}")), None, 204).await;
    let after = audited(&app, &expiring).await;
    assert_eq!(after["status"], "EXPIRED", "{after}");
    assert!(after.get("revokedBy").is_none(), "{after}");
    assert_eq!(audited(&app, &declined).await["status"], "DECLINED");
}

async fn ids(app: &TestApp, list: &str, filter: &str) -> Vec<String> {
    crate::consents_list::ids(app, &format!("{list}?filter={}", encode(filter))).await
}

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn revocation_windows_filter_by_revoked_at_updated_at_and_cause() {
    let app = TestApp::spawn().await;
    let fay = app.create_user("fay").await["id"].as_str().unwrap().to_owned();
    let ext = |status: &str| json!({"application":{"name":"Ext"},"scope":["a"],"status": status});
    let declined = record(&app, &fay, ext("DECLINED")).await;
    let kept = record(&app, &fay, ext("ACCEPTED")).await;
    let first = record(&app, &fay, ext("ACCEPTED")).await;
    let second = record(&app, &fay, ext("ACCEPTED")).await;
    let far = "2999-01-01T00:00:00.000Z";
    let mut body = ext("ACCEPTED");
    body["expiresAt"] = json!(far);
    let expiring = record(&app, &fay, body).await;
    // Distinct milliseconds, so the windows below have exact edges.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let t1 = revoke_with(&app, &app.token, &first).await["revokedAt"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let token = user_token(&app, &fay, &[UPDATE_CONSENTS_SCOPE]).await;
    let t2 = revoke_with(&app, &token, &second).await["revokedAt"].as_str().unwrap().to_owned();
    assert!(t1 < t2, "{t1} < {t2}");

    let user_list = app.env_url(&format!("/users/{fay}/oauthConsents"));
    let audit = app.env_url("/oauthConsents");
    let cases: Vec<(String, Vec<&Value>)> = vec![
        (format!("revokedAt ge \"{t1}\""), vec![&second, &first]),
        (format!("revokedAt gt \"{t1}\""), vec![&second]),
        (format!("revokedAt lt \"{t2}\""), vec![&first]),
        (format!("revokedAt le \"{t2}\""), vec![&second, &first]),
        (format!("revokedAt eq \"{t1}\""), vec![&first]),
        (format!("updatedAt ge \"{t1}\""), vec![&second, &first]),
        (format!("updatedAt lt \"{t1}\""), vec![&expiring, &kept, &declined]),
        (format!("status eq \"REVOKED\" and updatedAt ge \"{t2}\""), vec![&second]),
        ("revokedBy.type eq \"ADMINISTRATOR\"".into(), vec![&first]),
        ("revokedBy.type eq \"USER\"".into(), vec![&second]),
        ("revokedBy.type eq \"USER_DELETED\"".into(), vec![]),
        (format!("revokedBy.type eq \"USER\" or revokedAt le \"{t1}\""), vec![&second, &first]),
        (format!("expiresAt eq \"{far}\""), vec![&expiring]),
        ("expiresAt gt \"2000-01-01T00:00:00Z\"".into(), vec![&expiring]),
    ];
    for (filter, expected) in cases {
        let expected: Vec<String> = expected.into_iter().map(id).collect();
        assert_eq!(ids(&app, &user_list, &filter).await, expected, "user list, filter: {filter}");
        assert_eq!(ids(&app, &audit, &filter).await, expected, "audit list, filter: {filter}");
    }
    // The new attributes are checked like the others.
    for filter in ["revokedBy.type eq \"EXPIRED\"", "revokedAt gt \"last week\"", "updatedAt co \"2026\""] {
        let bad = app.get(&format!("{audit}?filter={}", encode(filter)), 400).await;
        assert_error(&bad, "INVALID_DATA");
        assert_eq!(bad["details"][0]["code"], "INVALID_FILTER", "{filter}: {bad}");
        let attributes = bad["details"][0]["innerError"]["supportedAttributes"].clone();
        for attribute in ["updatedAt", "expiresAt", "revokedAt", "revokedBy.type"] {
            assert!(attributes.as_array().unwrap().contains(&json!(attribute)), "{attributes}");
        }
    }
}
