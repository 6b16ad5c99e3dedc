//! The one error format, for every class of error the framework or the service can answer.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, assert_error, assert_oauth_error, has_detail, has_detail_code};

/// Words that would betray internals (driver, database, panics) in a body.
const LEAKS: &[&str] = &["sqlx", "sqlite", "panicked", "database", "postgres", "sea_orm", "seaorm"];

/// Checks a management API error answer: status, the `{id, code, message, details}` shape, no leaks.
fn api_error(answer: &Answer, status: u16, code: &str) -> Value {
    assert_eq!(answer.status, status, "answer: {}", answer.text);
    assert!(answer.header("Content-Type").is_some_and(|t| t.starts_with("application/json")), "{:?}", answer.headers);
    assert_no_leak(&answer.text);
    let body = answer.json();
    assert_error(&body, code);
    for key in body.as_object().expect("object").keys() {
        assert!(["id", "code", "message", "details"].contains(&key.as_str()), "unexpected key {key}: {body}");
    }
    body
}

fn assert_no_leak(text: &str) {
    let lower = text.to_lowercase();
    for word in LEAKS {
        assert!(!lower.contains(word), "'{word}' in a response body: {text}");
    }
}

/// POSTs raw bytes to the users collection with an optional Content-Type.
async fn post_users_raw(app: &TestApp, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> Answer {
    let mut request = app.client.post(app.env_url("/users")).bearer_auth(&app.token).body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    Answer::of(request).await
}

#[tokio::test]
async fn malformed_json_is_invalid_request() {
    let app = TestApp::spawn().await;
    for text in [r#"{"username":"#, "{username: 'x'}", r#"{"username":"x"} trailing"#, "[1,2"] {
        let answer = post_users_raw(&app, Some("application/json"), text).await;
        api_error(&answer, 400, "INVALID_REQUEST");
    }
    // A well-formed JSON value of the wrong shape is a data problem instead.
    let answer = post_users_raw(&app, Some("application/json"), "[]").await;
    api_error(&answer, 400, "INVALID_DATA");
    assert_eq!(app.get(&app.env_url("/users"), 200).await["count"], 0);
}

#[tokio::test]
async fn an_empty_body_is_invalid_request() {
    let app = TestApp::spawn().await;
    for text in ["", "   \n"] {
        let answer = post_users_raw(&app, Some("application/json"), text).await;
        let body = api_error(&answer, 400, "INVALID_REQUEST");
        assert!(has_detail_code(&body, "REQUIRED_VALUE"), "{body}");
    }
}

#[tokio::test]
async fn a_body_of_another_media_type_is_unsupported_media_type() {
    let app = TestApp::spawn().await;
    let answer = post_users_raw(&app, Some("text/plain"), r#"{"username":"x"}"#).await;
    let body = api_error(&answer, 415, "INVALID_REQUEST");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("text/plain")), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("one of: application/json")), "{body}");
    assert_eq!(body["details"][0]["target"], "Content-Type", "{body}");
    assert_eq!(body["details"][0]["innerError"]["allowedValues"], json!(["application/json"]), "{body}");
    let answer = post_users_raw(&app, Some("application/x-www-form-urlencoded"), "username=x").await;
    api_error(&answer, 415, "INVALID_REQUEST");
    // The records API names both of its media types.
    let user = app.create_user("kim").await;
    let records = app.env_url(&format!("/users/{}/oauthConsents", user["id"].as_str().unwrap()));
    let answer =
        Answer::of(app.client.post(&records).bearer_auth(&app.token).header("Content-Type", "text/csv").body("a"))
            .await;
    let body = api_error(&answer, 415, "INVALID_REQUEST");
    assert_eq!(
        body["details"][0]["innerError"]["allowedValues"],
        json!(["application/vnd.pingidentity.consent.accept+json", "application/json"]),
        "{body}"
    );
    // Parameters such as charset do not matter.
    let answer = post_users_raw(&app, Some("application/json; charset=utf-8"), r#"{"username":"x"}"#).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
}

#[tokio::test]
async fn a_body_without_content_type_is_unsupported_media_type() {
    let app = TestApp::spawn().await;
    let answer = post_users_raw(&app, None, r#"{"username":"x"}"#).await;
    let body = api_error(&answer, 415, "INVALID_REQUEST");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("no Content-Type")), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("application/json")), "{body}");
    assert_eq!(app.get(&app.env_url("/users"), 200).await["count"], 0);
}

#[tokio::test]
async fn an_unknown_route_is_not_found() {
    let app = TestApp::spawn().await;
    for path in
        ["/v1/nothing", "/nothing/at/all", "/v2/environments", &format!("/v1/environments/{}/groups", app.env_id)]
    {
        let answer = Answer::of(app.client.get(format!("{}{path}", app.base)).bearer_auth(&app.token)).await;
        api_error(&answer, 404, "NOT_FOUND");
        // Also without a token: an unknown route is not an authentication problem.
        let answer = Answer::of(app.client.get(format!("{}{path}", app.base))).await;
        api_error(&answer, 404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn an_unsupported_method_is_method_not_allowed() {
    let app = TestApp::spawn().await;
    let user = app.create_user("kim").await;
    let records = app.env_url(&format!("/users/{}/oauthConsents", user["id"].as_str().unwrap()));
    let record = format!("{records}/{}", uuid::Uuid::now_v7());
    let hydra = format!("{}/{}/admin/oauth2/auth/sessions/consent", app.base, app.env_id);
    let cases = [
        (Method::PUT, app.env_url(""), Some(json!({"name": "x"})), "GET, HEAD, PATCH"),
        (Method::DELETE, app.env_url(""), None, "GET, HEAD, PATCH"),
        (Method::DELETE, app.env_url("/users"), None, "GET, HEAD, POST"),
        (Method::PUT, app.env_url("/users"), Some(json!([])), "GET, HEAD, POST"),
        (Method::PATCH, app.env_url("/applications"), Some(json!({})), "GET, HEAD, POST"),
        (Method::GET, format!("{}/{}/as/token", app.base, app.env_id), None, "POST"),
        (Method::PUT, records.clone(), None, "GET, HEAD, POST"),
        (Method::DELETE, record.clone(), None, "GET, HEAD, PATCH"),
        (Method::POST, record, None, "GET, HEAD, PATCH"),
        (Method::PUT, hydra, None, "GET, HEAD, DELETE"),
    ];
    for (method, url, body, allow) in cases {
        let mut request = app.client.request(method.clone(), &url).bearer_auth(&app.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = Answer::of(request).await;
        assert_eq!(answer.status, 405, "{method} {url}: {}", answer.text);
        api_error(&answer, 405, "INVALID_REQUEST");
        assert_eq!(answer.header("Allow"), Some(allow), "{method} {url}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_size_limit_exceeded() {
    let app = TestApp::spawn().await;
    let padding = "x".repeat(100 * 1024);
    let text = serde_json::to_string(&json!({"username": "big", "name": {"given": padding}})).expect("json");
    assert!(text.len() > 100 * 1024);
    let answer = post_users_raw(&app, Some("application/json"), text).await;
    let body = api_error(&answer, 413, "INVALID_REQUEST");
    assert!(has_detail_code(&body, "SIZE_LIMIT_EXCEEDED"), "{body}");
    assert_eq!(app.get(&app.env_url("/users"), 200).await["count"], 0);
    // Just under the limit is accepted by the transport (and then judged by the rules).
    let text =
        serde_json::to_string(&json!({"username": "big", "name": {"given": "x".repeat(60 * 1024)}})).expect("json");
    let answer = post_users_raw(&app, Some("application/json"), text).await;
    let body = api_error(&answer, 400, "INVALID_DATA");
    assert!(has_detail(&body, "INVALID_VALUE", "name.given"), "{body}");
}

#[tokio::test]
async fn ids_that_are_not_uuids_are_not_found() {
    let app = TestApp::spawn().await;
    let paths = [
        "/v1/environments/not-a-uuid".to_owned(),
        "/v1/environments/12345/users".to_owned(),
        app.env_url("/users/not-a-uuid").replace(&app.base, ""),
        app.env_url("/applications/42").replace(&app.base, ""),
        app.env_url("/applications/x/secret").replace(&app.base, ""),
    ];
    for path in &paths {
        let answer = Answer::of(app.client.get(format!("{}{path}", app.base)).bearer_auth(&app.token)).await;
        api_error(&answer, 404, "NOT_FOUND");
    }
    let answer = Answer::of(app.client.get(format!("{}/not-a-uuid/as/jwks", app.base))).await;
    api_error(&answer, 404, "NOT_FOUND");
    let answer = Answer::of(app.client.get(format!("{}/{}/as/jwks", app.base, uuid::Uuid::new_v4()))).await;
    api_error(&answer, 404, "NOT_FOUND");
}

#[tokio::test]
async fn a_query_parameter_of_the_wrong_type_is_invalid_parameter() {
    let app = TestApp::spawn().await;
    for url in [app.env_url("/users?limit=abc"), app.env_url("/applications?limit=1.5")] {
        let answer = Answer::of(app.client.get(&url).bearer_auth(&app.token)).await;
        let body = api_error(&answer, 400, "INVALID_REQUEST");
        assert!(has_detail(&body, "INVALID_PARAMETER", "limit"), "{url}: {body}");
    }
}

#[tokio::test]
async fn every_error_has_its_own_uuid_id() {
    let app = TestApp::spawn().await;
    let mut ids = HashSet::new();
    for _ in 0..3 {
        let body = app.get(&app.env_url(&format!("/users/{}", uuid::Uuid::new_v4())), 404).await;
        assert_error(&body, "NOT_FOUND");
        assert!(ids.insert(body["id"].as_str().expect("id").to_owned()), "ids are unique: {body}");
    }
    let body = api_error(&Answer::of(app.client.get(app.env_url(""))).await, 401, "ACCESS_FAILED");
    assert!(ids.insert(body["id"].as_str().expect("id").to_owned()));
}

#[tokio::test]
async fn every_response_carries_a_correlation_id_echoed_when_sent() {
    let app = TestApp::spawn().await;
    let token_url = format!("{}/{}/as/token", app.base, app.env_id);
    let requests = || {
        vec![
            app.client.get(app.env_url("")).bearer_auth(&app.token),
            app.client.get(app.env_url("/users/nobody")).bearer_auth(&app.token),
            app.client.get(app.env_url("")),
            app.client.get(format!("{}/nowhere", app.base)),
            app.client.post(&token_url).form(&[("grant_type", "client_credentials")]),
            app.client.get(format!("{}/health", app.base)),
        ]
    };
    let mut generated = HashSet::new();
    for request in requests() {
        let answer = Answer::of(request).await;
        let id = answer.header("Correlation-Id").unwrap_or_else(|| panic!("no Correlation-Id: {}", answer.text));
        assert!(uuid::Uuid::parse_str(id).is_ok(), "a generated id is a UUID: {id}");
        assert!(generated.insert(id.to_owned()), "each request gets its own id");
        assert_no_leak(&answer.text);
    }
    for request in requests() {
        let answer = Answer::of(request.header("Correlation-Id", "trace-abc-123")).await;
        assert_eq!(answer.header("Correlation-Id"), Some("trace-abc-123"), "{}", answer.text);
    }
    // An unusable id (spaces, or too long) is replaced by a fresh one.
    for bad in ["has spaces in it", &"x".repeat(101)] {
        let answer =
            Answer::of(app.client.get(app.env_url("")).bearer_auth(&app.token).header("Correlation-Id", bad)).await;
        let id = answer.header("Correlation-Id").expect("Correlation-Id");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "replaced: {id}");
    }
}

#[tokio::test]
async fn oauth_endpoint_errors_use_the_rfc6749_format() {
    let app = TestApp::spawn().await;
    let token_url = format!("{}/{}/as/token", app.base, app.env_id);
    // JSON is not how token requests are sent.
    let request = app
        .client
        .post(&token_url)
        .basic_auth(&app.client_id, Some(&app.client_secret))
        .json(&json!({"grant_type": "client_credentials"}));
    let answer = Answer::of(request).await;
    assert_oauth_error(&answer, 400, "invalid_request");
    assert_no_leak(&answer.text);
    // No Content-Type at all.
    let request = app.client.post(&token_url).basic_auth(&app.client_id, Some(&app.client_secret));
    let answer = Answer::of(request).await;
    assert_oauth_error(&answer, 400, "invalid_request");
    // A malformed Authorization header.
    let request = app
        .client
        .post(&token_url)
        .header("Authorization", "Basic !!!not-base64")
        .form(&[("grant_type", "client_credentials")]);
    let answer = Answer::of(request).await;
    assert_oauth_error(&answer, 401, "invalid_client");
    let request = app.client.post(&token_url).bearer_auth(&app.token).form(&[("grant_type", "client_credentials")]);
    let answer = Answer::of(request).await;
    assert_oauth_error(&answer, 401, "invalid_client");
    assert_no_leak(&answer.text);
}

#[tokio::test]
async fn no_error_body_betrays_internals() {
    let app = TestApp::spawn().await;
    app.create_user("taken").await;
    let user = app.create_user("other").await;
    let user_url = user["_links"]["self"]["href"].as_str().expect("self").to_owned();
    let long = "y".repeat(300);
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, app.env_url("/users"), Some(json!({"username": "taken"}))),
        (Method::PATCH, user_url.clone(), Some(json!({"username": "taken"}))),
        (Method::POST, app.env_url("/users"), Some(json!({"username": long}))),
        (Method::POST, app.env_url("/users"), Some(json!({"username": "nul\u{0}byte"}))),
        (Method::POST, app.env_url("/users"), Some(json!({"username": "x", "email": "'; DROP TABLE users; --"}))),
        (Method::GET, app.env_url("/users?cursor=AAAAAAAAAAAAAAAAAAAAAA"), None),
        (Method::GET, app.env_url("/users?limit=99999999999999999999"), None),
        (Method::POST, app.env_url("/applications"), Some(json!({"name": "n", "type": "WORKER", "grantTypes": []}))),
        (Method::GET, app.env_url("/applications/00000000-0000-0000-0000-000000000000"), None),
    ];
    for (method, url, body) in cases {
        let mut request = app.client.request(method.clone(), &url).bearer_auth(&app.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = Answer::of(request).await;
        assert_no_leak(&answer.text);
        assert!(answer.status < 500, "{method} {url} answered {}: {}", answer.status, answer.text);
        if answer.status >= 400 {
            api_error(&answer, answer.status, answer.json()["code"].as_str().unwrap_or("?"));
        }
    }
}
