//! Durations an external app sends are bounded: an answer the service cannot honour is refused with
//! a 400 before the challenge is marked answered, so the app can answer again.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Pkce, param};
use crate::helpers::{Answer, TestApp};
use crate::hydra::{ASKED, CONSENT_APP, LOGIN_APP, challenge_in, external, follow, own_admin, through_login};

/// 1e14 seconds, the value of the report (about three million years).
const HUGE: i64 = 100_000_000_000_000;
const ONE_YEAR: i64 = 365 * 24 * 60 * 60;

/// A PUT with a raw JSON body, for numbers `json!` would not write as sent.
async fn put_raw(app: &TestApp, path: &str, body: String) -> Answer {
    let url = format!("{}/{}/admin/oauth2/auth/{path}", app.base, app.env_id);
    Answer::of(app.client.put(url).bearer_auth(&app.token).header("Content-Type", "application/json").body(body)).await
}

/// A Hydra-shaped 400 naming `remember_for`.
fn assert_refused(answer: &Answer, sent: &str) {
    assert_eq!(answer.status, 400, "remember_for {sent}: {}", answer.text);
    let body: Value = answer.json();
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert_eq!(body["status_code"], 400, "{body}");
    assert!(body["error_description"].as_str().is_some_and(|d| d.contains("remember_for")), "{body}");
}

#[tokio::test]
async fn consent_remember_for_beyond_a_year_is_refused_and_the_challenge_stays_open() {
    let app = TestApp::spawn().await;
    let fixture = external(&app).await;
    let browser = app.browser();
    let pkce = Pkce::new();
    let consent = through_login(&app, &browser, &fixture, &pkce, true).await;
    let accept = format!("requests/consent/accept?consent_challenge={consent}");

    for sent in [HUGE.to_string(), "1e14".into(), i64::MAX.to_string(), (ONE_YEAR + 1).to_string(), "-1".into()] {
        let body = format!(r#"{{"grant_scope": ["openid", "email"], "remember": true, "remember_for": {sent}}}"#);
        assert_refused(&put_raw(&app, &accept, body).await, &sent);
    }
    let read = own_admin(&app, Method::GET, &format!("requests/consent?consent_challenge={consent}"), None).await;
    assert_eq!(read.status, 200, "the challenge is still readable: {}", read.text);
    let records = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await;
    assert_eq!(records["count"], 0, "nothing was recorded: {records}");

    // Exactly one year is allowed: the same challenge is answered, recorded and used.
    let body = json!({"grant_scope": ["openid", "email"], "remember": true, "remember_for": ONE_YEAR});
    let before = Utc::now();
    let accepted = own_admin(&app, Method::PUT, &accept, Some(body)).await;
    let code = param(&follow(&browser, &accepted).await, "code").expect("a code");
    let tokens = app.exchange_code(&fixture, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let records = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await;
    let record = &records["_embedded"]["oauthConsents"][0];
    assert_eq!(record["scope"], json!(["openid", "email"]));
    let expires: DateTime<Utc> = record["expiresAt"].as_str().expect("expiresAt").parse().expect("a timestamp");
    let in_a_year = expires - before;
    assert!((ONE_YEAR - 60..=ONE_YEAR + 60).contains(&in_a_year.num_seconds()), "expiresAt {expires}");
}

#[tokio::test]
async fn login_remember_for_beyond_a_year_is_refused_and_the_browser_signs_in_after_a_valid_answer() {
    let app = TestApp::spawn().await;
    let fixture = external(&app).await;
    let browser = app.browser();
    let started = browser.authorize(&fixture.client_id, &Pkce::new(), ASKED, &[]).await;
    let login = challenge_in(&started, LOGIN_APP, "login_challenge");
    let accept = format!("requests/login/accept?login_challenge={login}");

    for sent in [i64::MAX.to_string(), HUGE.to_string(), "1e14".into(), (ONE_YEAR + 1).to_string()] {
        let body = format!(r#"{{"subject": "{}", "remember": true, "remember_for": {sent}}}"#, fixture.user_id);
        assert_refused(&put_raw(&app, &accept, body).await, &sent);
    }

    // The challenge is still open; a year is accepted, and the browser's next request is served.
    let body = json!({"subject": fixture.user_id, "remember": true, "remember_for": ONE_YEAR});
    let accepted = own_admin(&app, Method::PUT, &accept, Some(body)).await;
    let next = follow(&browser, &accepted).await;
    assert!(next.starts_with(CONSENT_APP), "on to the consent app: {next}");
    // Signed in: the next authorization lets the login app skip.
    let again = browser.authorize(&fixture.client_id, &Pkce::new(), ASKED, &[]).await;
    let login = challenge_in(&again, LOGIN_APP, "login_challenge");
    let read = own_admin(&app, Method::GET, &format!("requests/login?login_challenge={login}"), None).await.json();
    assert_eq!(read["skip"], true, "{read}");
}
