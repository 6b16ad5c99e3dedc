//! Abuse gets 429 with `Retry-After`: guessing client secrets (per client and per address), signing
//! in from one address, and an environment over its request budget, which leaves other environments
//! untouched.

use reqwest::Method;
use serde_json::json;

use crate::browser::Pkce;
use crate::helpers::{Answer, TestApp, assert_error, call_with};

/// A 429 in RFC 6749 form with a `Retry-After` of at least a second.
fn assert_oauth_limited(answer: &Answer) {
    assert_eq!(answer.status, 429, "{}", answer.text);
    assert_eq!(answer.json()["error"], "temporarily_unavailable", "{}", answer.text);
    let retry: u64 = answer.header("Retry-After").expect("Retry-After").parse().unwrap();
    assert!(retry >= 1);
}

/// A 429 in the API's error format with a `Retry-After` of at least a second.
fn assert_api_limited(answer: &Answer) {
    assert_eq!(answer.status, 429, "{}", answer.text);
    assert_error(&answer.json(), "REQUEST_LIMITED");
    let retry: u64 = answer.header("Retry-After").expect("Retry-After").parse().unwrap();
    assert!(retry >= 1);
}

const CLIENT_CREDENTIALS: &[(&str, &str)] = &[("grant_type", "client_credentials")];

#[tokio::test]
async fn guessing_a_clients_secret_is_limited_and_the_client_with_the_right_secret_keeps_working() {
    let app = TestApp::spawn_with(|config| config.client_secret_checks_per_min = 5).await;
    // The bootstrap worker authenticated once already, which took one check of the five: its
    // secret is known good from then on.
    for _ in 0..4 {
        let wrong = app.token_request(&app.env_id, Some((&app.client_id, "wrong")), CLIENT_CREDENTIALS).await;
        assert_eq!(wrong.status, 401, "{}", wrong.text);
    }
    let refused = app.token_request(&app.env_id, Some((&app.client_id, "wrong")), CLIENT_CREDENTIALS).await;
    assert_oauth_limited(&refused);
    let right = app.token_request(&app.env_id, Some((&app.client_id, &app.client_secret)), CLIENT_CREDENTIALS).await;
    assert_eq!(right.status, 200, "a known-good secret costs no guess: {}", right.text);
    // Introspection and revocation authenticate clients the same way.
    let introspect = Answer::of(
        app.client
            .post(format!("{}/{}/as/introspect", app.base, app.env_id))
            .basic_auth(&app.client_id, Some("wrong"))
            .form(&[("token", "x")]),
    )
    .await;
    assert_oauth_limited(&introspect);
}

#[tokio::test]
async fn guessing_secrets_of_many_clients_from_one_address_is_limited() {
    let app = TestApp::spawn_with(|config| config.address_secret_checks_per_min = 4).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let worker = app.create_app(json!({"name": format!("Worker {n}"), "type": "WORKER"})).await;
        ids.push(worker["id"].as_str().unwrap().to_owned());
    }
    // The test's own worker token took one check of the four.
    let mut statuses = Vec::new();
    for id in ids.iter().cycle().take(5) {
        statuses.push(app.token_request(&app.env_id, Some((id, "wrong")), CLIENT_CREDENTIALS).await.status);
    }
    assert_eq!(statuses, vec![401, 401, 401, 429, 429]);
}

#[tokio::test]
async fn sign_in_attempts_from_one_address_are_limited_whatever_the_usernames() {
    let app = TestApp::spawn_with(|config| config.address_logins_per_min = 3).await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    let login = browser.authorize(&fixture.client_id, &Pkce::new(), "openid", &[]).await;
    for name in ["first-unknown", "second-unknown", "third-unknown"] {
        assert_eq!(browser.login(&login, name, "guess").await.status, 401);
    }
    let refused = browser.login(&login, "fourth-unknown", "guess").await;
    assert_api_limited(&refused);
}

#[tokio::test]
async fn an_environment_over_its_request_budget_gets_429_and_another_environment_is_served() {
    let app = TestApp::spawn_with(|config| {
        config.env_requests_per_sec = 1;
        config.env_request_burst = 6;
    })
    .await;
    let other = app.other_environment().await;
    // One request of the budget went on the test's own token; spend the rest.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(Answer::of(app.client.get(app.env_url("/users")).bearer_auth(&app.token)).await.status);
    }
    assert!(statuses.starts_with(&[200, 200, 200, 200]), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let limited = Answer::of(app.client.get(app.env_url("/users")).bearer_auth(&app.token)).await;
    assert_api_limited(&limited);
    let token = app.token_request(&app.env_id, Some((&app.client_id, &app.client_secret)), CLIENT_CREDENTIALS).await;
    assert_oauth_limited(&token);
    // The other environment has a budget of its own.
    let url = format!("{}/v1/environments/{}/users", app.base, other.env_id);
    call_with(&app.client, &other.token, Method::GET, &url, None, 200).await;
}
