//! Recording consents: PingOne's example round-trips, media types, validation, external application ids.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, has_detail};

pub const ACCEPT: &str = "application/vnd.pingidentity.consent.accept+json";
const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// PingOne's own request example.
pub fn seed_body() -> Value {
    json!({"application":{"name":"externalApp1","appType":"EXTERNAL"},"scope":["openid"],
           "browser":{"name":"Chrome","version":"101"},"operatingSystem":{"name":"Mac OS","version":"12.5.1"},
           "device":{"type":"desktop"},"status":"ACCEPTED"})
}

/// POSTs a consent with `content_type` and `user_agent`; returns status, Location and body.
pub async fn post_consent(
    app: &TestApp,
    user_id: &str,
    body: &str,
    content_type: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, Value) {
    let mut request = app
        .client
        .post(app.env_url(&format!("/users/{user_id}/oauthConsents")))
        .bearer_auth(&app.token)
        .header("Content-Type", content_type)
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let location = response.headers().get("Location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = response.text().await.expect("body");
    (status, location, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Records `body` for `user_id` and expects 201.
pub async fn record(app: &TestApp, user_id: &str, body: Value) -> Value {
    let (status, _, out) = post_consent(app, user_id, &body.to_string(), ACCEPT, &[]).await;
    assert_eq!(status, 201, "{out}");
    out
}

fn is_timestamp(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    text.len() == 24
        && text.ends_with('Z')
        && text.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

#[tokio::test]
async fn pingone_seed_example_round_trips_in_pingone_shape() {
    let app = TestApp::spawn().await;
    let user = app.create_user("alice").await;
    let user_id = user["id"].as_str().unwrap();
    let (status, location, body) =
        post_consent(&app, user_id, &seed_body().to_string(), ACCEPT, &[("User-Agent", CHROME_MAC)]).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    let self_href = format!("{}/oauthConsents/{id}", app.env_url(&format!("/users/{user_id}")));
    assert_eq!(location.as_deref(), Some(self_href.as_str()));
    assert_eq!(body["_links"]["self"]["href"], self_href);
    assert_eq!(body["_links"]["consent.revoke"]["href"], self_href);
    assert_eq!(body["_links"]["environment"]["href"], app.env_url(""));
    assert_eq!(body["_links"]["user"]["href"], app.env_url(&format!("/users/{user_id}")));
    assert_eq!(body["applicationName"], "externalApp1");
    assert_eq!(body["applicationType"], "EXTERNAL");
    assert!(uuid::Uuid::parse_str(body["application"]["id"].as_str().unwrap()).is_ok());
    assert_eq!(body["application"].as_object().unwrap().len(), 1, "application carries only its id");
    assert_eq!(body["environment"]["id"], app.env_id);
    assert_eq!(body["user"]["id"], user_id);
    assert_eq!(body["scope"], json!(["openid"]));
    // The client's own description wins over its User-Agent.
    assert_eq!(body["browser"], json!({"name":"Chrome","version":"101"}));
    assert_eq!(body["operatingSystem"], json!({"name":"Mac OS","version":"12.5.1"}));
    assert_eq!(body["device"], json!({"type":"desktop"}));
    assert_eq!(body["location"]["remoteIp"], "127.0.0.1");
    assert_eq!(body["status"], "ACCEPTED");
    assert!(is_timestamp(&body["consentedAt"]), "{}", body["consentedAt"]);
    assert_eq!(body["consentedAt"], body["updatedAt"]);
    // Reading it back gives the same record.
    let read = app.get(&self_href, 200).await;
    assert_eq!(read, body);
}

#[tokio::test]
async fn media_types_accepted_and_refused() {
    let app = TestApp::spawn().await;
    let user = app.create_user("bob").await;
    let user_id = user["id"].as_str().unwrap();
    let body = seed_body().to_string();
    for content_type in [ACCEPT, "application/vnd.pingidentity.consent.accept+json; charset=utf-8", "application/json"]
    {
        let (status, _, out) = post_consent(&app, user_id, &body, content_type, &[]).await;
        assert_eq!(status, 201, "{content_type}: {out}");
    }
    for content_type in ["text/plain", "application/vnd.pingidentity.consent.revoke+json", "application/xml"] {
        let (status, _, out) = post_consent(&app, user_id, &body, content_type, &[]).await;
        assert_eq!(status, 415, "{content_type}: {out}");
        assert_error(&out, "INVALID_REQUEST");
    }
}

#[tokio::test]
async fn each_post_is_a_new_record_and_external_ids_are_stable_per_name() {
    let app = TestApp::spawn().await;
    let user = app.create_user("carol").await;
    let user_id = user["id"].as_str().unwrap();
    let first = record(&app, user_id, seed_body()).await;
    let second = record(&app, user_id, seed_body()).await;
    assert_ne!(first["id"], second["id"]);
    assert_eq!(first["application"]["id"], second["application"]["id"]);
    let mut other = seed_body();
    other["application"]["name"] = json!("externalApp2");
    let third = record(&app, user_id, other).await;
    assert_ne!(third["application"]["id"], first["application"]["id"]);
    // Another environment naming the same external app gets its own id.
    let env_b = app.other_environment().await;
    let user_b = crate::helpers::call_with(
        &app.client,
        &env_b.token,
        Method::POST,
        &format!("{}/v1/environments/{}/users", app.base, env_b.env_id),
        Some(json!({"username":"carol"})),
        201,
    )
    .await;
    let recorded_b = crate::helpers::call_with(
        &app.client,
        &env_b.token,
        Method::POST,
        &format!(
            "{}/v1/environments/{}/users/{}/oauthConsents",
            app.base,
            env_b.env_id,
            user_b["id"].as_str().unwrap()
        ),
        Some(seed_body()),
        201,
    )
    .await;
    assert_ne!(recorded_b["application"]["id"], first["application"]["id"]);
    let list = app.get(&app.env_url(&format!("/users/{user_id}/oauthConsents")), 200).await;
    assert_eq!(list["count"], 3);
}

#[tokio::test]
async fn pingone_application_must_exist_in_the_environment() {
    let app = TestApp::spawn().await;
    let user = app.create_user("dave").await;
    let user_id = user["id"].as_str().unwrap();
    let registered = app
        .create_app(json!({"name":"Photo Printer","type":"WEB_APP","redirectUris":["https://printer.example.com/cb"]}))
        .await;
    let out = record(
        &app,
        user_id,
        json!({"application":{"id":registered["id"],"appType":"PINGONE"},"scope":["openid","profile"],"status":"ACCEPTED"}),
    )
    .await;
    assert_eq!(out["applicationName"], "Photo Printer");
    assert_eq!(out["applicationType"], "PINGONE");
    assert_eq!(out["application"]["id"], registered["id"]);
    // appType inferred from the id.
    let inferred =
        record(&app, user_id, json!({"application":{"id":registered["id"]},"scope":["openid"],"status":"DECLINED"}))
            .await;
    assert_eq!(inferred["applicationType"], "PINGONE");
    assert_eq!(inferred["status"], "DECLINED");
    assert!(inferred["_links"].get("consent.revoke").is_none(), "a declined record has no revoke link");
    // An id that is not an application of this environment.
    let (status, _, body) = post_consent(
        &app,
        user_id,
        &json!({"application":{"id":uuid::Uuid::now_v7().to_string(),"appType":"PINGONE"},"scope":["openid"],"status":"ACCEPTED"}).to_string(),
        ACCEPT,
        &[],
    )
    .await;
    assert_eq!(status, 400);
    assert_error(&body, "INVALID_DATA");
    assert!(has_detail(&body, "INVALID_VALUE", "application.id"), "{body}");
}

#[tokio::test]
async fn invalid_bodies_name_the_field_and_store_nothing() {
    let app = TestApp::spawn().await;
    let user = app.create_user("erin").await;
    let user_id = user["id"].as_str().unwrap();
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"application":{"name":"x","appType":"EXTERNAL"},"scope":["openid"]}), "REQUIRED_VALUE", "status"),
        (json!({"application":{"name":"x"},"scope":["openid"],"status":"REVOKED"}), "INVALID_VALUE", "status"),
        (json!({"scope":["openid"],"status":"ACCEPTED"}), "REQUIRED_VALUE", "application"),
        (
            json!({"application":{"appType":"PINGONE"},"scope":["openid"],"status":"ACCEPTED"}),
            "REQUIRED_VALUE",
            "application.id",
        ),
        (
            json!({"application":{"appType":"EXTERNAL"},"scope":["openid"],"status":"ACCEPTED"}),
            "REQUIRED_VALUE",
            "application.name",
        ),
        (
            json!({"application":{"name":"x","appType":"OTHER"},"scope":["openid"],"status":"ACCEPTED"}),
            "INVALID_VALUE",
            "application.appType",
        ),
        (
            json!({"application":{"name":"x","id":uuid::Uuid::now_v7().to_string(),"appType":"EXTERNAL"},"status":"ACCEPTED"}),
            "INVALID_VALUE",
            "application.id",
        ),
        (
            json!({"application":{"name":"x"},"status":"ACCEPTED","consentedAt":"2026-01-01T00:00:00Z"}),
            "INVALID_VALUE",
            "consentedAt",
        ),
        (
            json!({"application":{"name":"x"},"status":"ACCEPTED","location":{"city":"Paris"}}),
            "INVALID_VALUE",
            "location",
        ),
        (json!({"application":{"name":"x","colour":"red"},"status":"ACCEPTED"}), "INVALID_VALUE", "application.colour"),
        (json!({"application":{"name":"x"},"scope":["a b"],"status":"ACCEPTED"}), "INVALID_VALUE", "scope[0]"),
        (json!({"application":{"name":"x"},"scope":"openid","status":"ACCEPTED"}), "INVALID_VALUE", "scope"),
        (
            json!({"application":{"name":"x"},"scope":["openid"],"status":"ACCEPTED","expiresAt":"2001-01-01T00:00:00Z"}),
            "INVALID_VALUE",
            "expiresAt",
        ),
        (
            json!({"application":{"name":"x"},"scope":["openid"],"status":"ACCEPTED","expiresAt":"tomorrow"}),
            "INVALID_VALUE",
            "expiresAt",
        ),
        (
            json!({"application":{"name":"x"},"scope":["openid"],"status":"ACCEPTED","user":{"id":uuid::Uuid::now_v7().to_string()}}),
            "INVALID_VALUE",
            "user.id",
        ),
        (
            json!({"application":{"name":"x"},"scope":["openid"],"status":"ACCEPTED","browser":{"version":"1"}}),
            "REQUIRED_VALUE",
            "browser.name",
        ),
    ];
    for (body, code, target) in cases {
        let (status, _, out) = post_consent(&app, user_id, &body.to_string(), ACCEPT, &[]).await;
        assert_eq!(status, 400, "{body} → {out}");
        assert!(has_detail(&out, code, target), "{body} → expected {code} on {target}: {out}");
    }
    let (status, _, out) = post_consent(&app, user_id, "{\"status\":", ACCEPT, &[]).await;
    assert_eq!(status, 400);
    assert_error(&out, "INVALID_REQUEST");
    let list = app.get(&app.env_url(&format!("/users/{user_id}/oauthConsents")), 200).await;
    assert_eq!(list["count"], 0, "nothing stored half-way: {list}");
}

/// The (code, target) pairs of an error's details.
fn details(error: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = error["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| (d["code"].as_str().unwrap_or("").to_owned(), d["target"].as_str().unwrap_or("").to_owned()))
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn every_problem_of_a_body_is_reported_at_once() {
    let app = TestApp::spawn().await;
    let user = app.create_user("gwen").await;
    let user_id = user["id"].as_str().unwrap();
    let pair = |code: &str, target: &str| (code.to_owned(), target.to_owned());
    // The reproduction: `{}` answered only the `status` error.
    let (status, _, out) = post_consent(&app, user_id, "{}", ACCEPT, &[]).await;
    assert_eq!(status, 400, "{out}");
    assert_error(&out, "INVALID_DATA");
    assert_eq!(details(&out), vec![pair("REQUIRED_VALUE", "application"), pair("REQUIRED_VALUE", "status")]);

    let body = json!({
        "application": {"appType": "PINGONE", "colour": "red"},
        "scope": "openid",
        "status": "MAYBE",
        "consentedAt": "2026-01-01T00:00:00Z",
        "browser": {"name": 7},
        "expiresAt": "2001-01-01T00:00:00Z",
    });
    let (status, _, out) = post_consent(&app, user_id, &body.to_string(), ACCEPT, &[]).await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(
        details(&out),
        vec![
            pair("INVALID_VALUE", "application.colour"),
            pair("INVALID_VALUE", "browser.name"),
            pair("INVALID_VALUE", "consentedAt"),
            pair("INVALID_VALUE", "expiresAt"),
            pair("INVALID_VALUE", "scope"),
            pair("INVALID_VALUE", "status"),
            pair("REQUIRED_VALUE", "application.id"),
        ],
        "{out}"
    );
    let list = app.get(&app.env_url(&format!("/users/{user_id}/oauthConsents")), 200).await;
    assert_eq!(list["count"], 0, "nothing stored: {list}");
}

#[tokio::test]
async fn scope_is_optional_and_a_registered_applications_name_must_be_its_own() {
    let app = TestApp::spawn().await;
    let user = app.create_user("hana").await;
    let user_id = user["id"].as_str().unwrap();
    let out = record(&app, user_id, json!({"application":{"name":"Newsletter"},"status":"ACCEPTED"})).await;
    assert_eq!(out["scope"], json!([]), "PingOne marks scope optional: {out}");

    let printer = app
        .create_app(json!({"name":"Printer","type":"WEB_APP","redirectUris":["https://printer.example.com/cb"]}))
        .await;
    let printer_id = printer["id"].as_str().unwrap();
    let same = json!({"application":{"id":printer_id,"name":"Printer"},"scope":["openid"],"status":"ACCEPTED"});
    assert_eq!(record(&app, user_id, same).await["applicationName"], "Printer");
    let other = json!({"application":{"id":printer_id,"name":"Scanner"},"scope":["openid"],"status":"ACCEPTED"});
    let (status, _, out) = post_consent(&app, user_id, &other.to_string(), ACCEPT, &[]).await;
    assert_eq!(status, 400, "{out}");
    assert!(has_detail(&out, "INVALID_VALUE", "application.name"), "{out}");
}

#[tokio::test]
async fn scopes_are_deduplicated_in_order_and_expiry_is_returned() {
    let app = TestApp::spawn().await;
    let user = app.create_user("frank").await;
    let user_id = user["id"].as_str().unwrap();
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let out = record(
        &app,
        user_id,
        json!({"application":{"name":"x"},"scope":["profile","openid","profile","email","openid"],"status":"ACCEPTED","expiresAt":expires}),
    )
    .await;
    assert_eq!(out["scope"], json!(["profile", "openid", "email"]));
    assert_eq!(out["expiresAt"], expires);
}

#[tokio::test]
async fn unknown_user_or_malformed_ids_are_not_found() {
    let app = TestApp::spawn().await;
    for user in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_string()] {
        let (status, _, out) = post_consent(&app, &user, &seed_body().to_string(), ACCEPT, &[]).await;
        assert_eq!(status, 404, "{out}");
        assert_error(&out, "NOT_FOUND");
    }
}

#[tokio::test]
async fn expires_at_later_than_the_wire_format_can_write_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.create_user("ada").await;
    let user_id = user["id"].as_str().unwrap();
    let with_expiry = |at: &str| {
        let mut body = seed_body();
        body["expiresAt"] = json!(at);
        body.to_string()
    };
    // An offset carries the last day of 9999 into the year 10000 (UTC), which reads back as "+10000-…".
    let (status, _, body) = post_consent(&app, user_id, &with_expiry("9999-12-31T23:59:59-23:59"), ACCEPT, &[]).await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "INVALID_DATA");
    assert!(has_detail(&body, "INVALID_VALUE", "expiresAt"), "{body}");
    // The last instant it can write is fine, and reads back as sent.
    let (status, _, body) = post_consent(&app, user_id, &with_expiry("9999-12-31T23:59:59.999Z"), ACCEPT, &[]).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    let read = app.get(&app.env_url(&format!("/users/{user_id}/oauthConsents/{id}")), 200).await;
    assert_eq!(read["expiresAt"], "9999-12-31T23:59:59.999Z");
}
