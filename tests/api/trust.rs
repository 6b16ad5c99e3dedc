//! Issue 10's audit findings, each reproduced as it was found and proven closed: tokens die with
//! their cause, nobody becomes an administrator by accident, and guessing is bounded.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Fixture, PASSWORD, Pkce, USERNAME};
use crate::flow::tokens;
use crate::helpers::{Answer, TestApp, assert_error, assert_oauth_error, call_with, has_detail};

/// A second WORKER application with its own secret and token.
async fn second_worker(app: &TestApp) -> (String, String, String) {
    let worker = app.create_app(json!({"name": "Automation", "type": "WORKER"})).await;
    let id = worker["id"].as_str().unwrap().to_owned();
    let secret = app.app_secret(&id).await;
    let token = app.worker_token(&app.env_id, &id, &secret).await;
    (id, secret, token)
}

/// `POST /as/introspect` as the bootstrap worker (a confidential client).
async fn introspect_as_admin(app: &TestApp, token: &str) -> Value {
    let answer = Answer::of(
        app.client
            .post(format!("{}/{}/as/introspect", app.base, app.env_id))
            .basic_auth(&app.client_id, Some(&app.client_secret))
            .form(&[("token", token)]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

/// What a worker token could do on the management and Hydra admin APIs, each expected `status`.
async fn assert_token_refused_everywhere(app: &TestApp, token: &str, victim_app: &str) {
    for (method, path, body) in [
        (Method::GET, "/users".to_owned(), None),
        (Method::POST, "/users".to_owned(), Some(json!({"username": "mallory"}))),
        (Method::GET, format!("/applications/{victim_app}/secret"), None),
        (Method::POST, "/applications".to_owned(), Some(json!({"name": "Backdoor", "type": "WORKER"}))),
    ] {
        let refused = call_with(&app.client, token, method.clone(), &app.env_url(&path), body, 401).await;
        assert_error(&refused, "ACCESS_FAILED");
    }
    let hydra = Answer::of(
        app.client
            .get(format!("{}/{}/admin/oauth2/auth/sessions/consent?subject=x", app.base, app.env_id))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(hydra.status, 401, "Hydra admin API: {}", hydra.text);
    assert_eq!(introspect_as_admin(app, token).await["active"], false);
}

#[tokio::test]
async fn a_worker_token_revoked_at_the_revocation_endpoint_is_refused_everywhere_at_once() {
    let app = TestApp::spawn().await;
    let (id, secret, token) = second_worker(&app).await;
    app.get(&app.env_url("/users"), 200).await;
    call_with(&app.client, &token, Method::GET, &app.env_url("/users"), None, 200).await;
    let revoked = Answer::of(
        app.client
            .post(format!("{}/{}/as/revoke", app.base, app.env_id))
            .basic_auth(&id, Some(&secret))
            .form(&[("token", &token)]),
    )
    .await;
    assert_eq!(revoked.status, 200);
    assert_token_refused_everywhere(&app, &token, &app.client_id).await;
    let users = app.get(&app.env_url("/users"), 200).await;
    assert_eq!(users["count"], 0, "nothing was created with the revoked token");
}

#[tokio::test]
async fn a_disabled_then_deleted_worker_can_no_longer_read_secrets_or_create_a_backdoor() {
    let app = TestApp::spawn().await;
    let (id, secret, token) = second_worker(&app).await;
    let victim =
        app.create_app(json!({"name": "Victim", "type": "WEB_APP", "redirectUris": ["https://v.example/cb"]})).await;
    let victim = victim["id"].as_str().unwrap().to_owned();
    call_with(&app.client, &token, Method::GET, &app.env_url(&format!("/applications/{victim}/secret")), None, 200)
        .await;
    let url = app.env_url(&format!("/applications/{id}"));
    app.call(Method::PUT, &url, Some(json!({"name": "Automation", "type": "WORKER", "enabled": false})), 200).await;
    assert_token_refused_everywhere(&app, &token, &victim).await;
    // Enabling it again does not bring the old token back; a new one works.
    app.call(Method::PUT, &url, Some(json!({"name": "Automation", "type": "WORKER", "enabled": true})), 200).await;
    call_with(&app.client, &token, Method::GET, &app.env_url("/users"), None, 401).await;
    let fresh = app.worker_token(&app.env_id, &id, &secret).await;
    call_with(&app.client, &fresh, Method::GET, &app.env_url("/users"), None, 200).await;
    app.call(Method::DELETE, &url, None, 204).await;
    assert_token_refused_everywhere(&app, &fresh, &victim).await;
    let apps = app.get(&app.env_url("/applications"), 200).await;
    let names: Vec<&str> =
        apps["_embedded"]["applications"].as_array().unwrap().iter().filter_map(|a| a["name"].as_str()).collect();
    assert!(!names.contains(&"Backdoor"), "no application was created: {names:?}");
}

#[tokio::test]
async fn rotating_a_secret_ends_the_client_credentials_tokens_issued_before_it() {
    let app = TestApp::spawn().await;
    let (id, _secret, token) = second_worker(&app).await;
    let rotated = app.post(&app.env_url(&format!("/applications/{id}/secret")), json!({}), 200).await;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_token_refused_everywhere(&app, &token, &app.client_id).await;
    let fresh = app.worker_token(&app.env_id, &id, &new_secret).await;
    call_with(&app.client, &fresh, Method::GET, &app.env_url("/users"), None, 200).await;
    assert_eq!(introspect_as_admin(&app, &fresh).await["active"], true);
}

/// Posts the login form `count` times at once with `password` (the last one with `last`, if given).
async fn concurrent_logins(
    app: &TestApp,
    fixture: &Fixture,
    username: &str,
    count: usize,
    last: Option<&str>,
) -> Vec<u16> {
    let browser = app.browser();
    let login = browser.authorize(&fixture.client_id, &Pkce::new(), "openid", &[]).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let attempts = (0..count).map(|n| {
        let password = if n + 1 == count { last.unwrap_or("wrong password") } else { "wrong password" };
        let (browser, login) = (&browser, &login);
        async move { browser.login(login, username, password).await.status }
    });
    futures::future::join_all(attempts).await
}

#[tokio::test]
async fn sixty_concurrent_guesses_get_at_most_five_passwords_evaluated_and_the_account_locks() {
    // The per-address budget would refuse most of these first; this test is about the account lock.
    let app = TestApp::spawn_with(|config| config.address_logins_per_min = 10_000).await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let statuses = concurrent_logins(&app, &fixture, USERNAME, 61, Some(PASSWORD)).await;
    let evaluated = statuses.iter().filter(|s| matches!(s, 401 | 303)).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    // A success ends the count (as in every lockout scheme): when the right password is admitted
    // among the first five, the wrong ones that arrive after it start a new count of five. So at
    // most four wrong guesses before it and five after: ten evaluated. Without it, five.
    let bound = if statuses.contains(&303) { 10 } else { 5 };
    assert!(evaluated <= bound, "at most {bound} attempts evaluated: {statuses:?}");
    assert_eq!(evaluated + limited, 61, "every other attempt is refused unevaluated: {statuses:?}");
    if !statuses.contains(&303) {
        // The right password was not among the admitted ones: the account is locked now.
        let after = concurrent_logins(&app, &fixture, USERNAME, 1, Some(PASSWORD)).await;
        assert_eq!(after, vec![429]);
    }
    // Sixty wrong guesses alone: five evaluated, then locked.
    let other = app.post(&app.env_url("/users"), json!({"username": "grace", "password": PASSWORD}), 201).await;
    assert!(other["id"].is_string());
    let statuses = concurrent_logins(&app, &fixture, "grace", 60, None).await;
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 55, "{statuses:?}");
    assert_eq!(concurrent_logins(&app, &fixture, "grace", 1, Some(PASSWORD)).await, vec![429]);
}

#[tokio::test]
async fn an_unknown_username_locks_exactly_like_a_real_one() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    let login = browser.authorize(&fixture.client_id, &Pkce::new(), "openid", &[]).await;
    let mut answers = Vec::new();
    for name in [USERNAME, "nobody-here"] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let answer = browser.login(&login, name, "wrong password").await;
            statuses.push(answer.status);
            if answer.status == 429 {
                assert_error(&answer.json(), "REQUEST_LIMITED");
                assert!(answer.header("Retry-After").is_some());
            }
        }
        answers.push(statuses);
    }
    assert_eq!(answers[0], vec![401, 401, 401, 401, 401, 429]);
    assert_eq!(answers[0], answers[1], "a real and an unknown name are answered alike");
}

#[tokio::test]
async fn p1_scope_names_are_reserved_on_create_and_rename() {
    let app = TestApp::spawn().await;
    for name in ["p1:admin", "P1:Admin", "p1:read:users"] {
        let refused = app.post(&app.env_url("/scopes"), json!({"name": name, "consent": "IMPLICIT"}), 400).await;
        assert_error(&refused, "INVALID_DATA");
        assert!(has_detail(&refused, "INVALID_VALUE", "name"), "{refused}");
    }
    let scope = app.post(&app.env_url("/scopes"), json!({"name": "photos:read"}), 201).await;
    let url = app.env_url(&format!("/scopes/{}", scope["id"].as_str().unwrap()));
    let refused = app.call(Method::PUT, &url, Some(json!({"name": "p1:admin"})), 400).await;
    assert!(has_detail(&refused, "INVALID_VALUE", "name"), "{refused}");
    // The built-in self-service scopes keep their names through a replace.
    let scopes = app.get(&app.env_url("/scopes?limit=100"), 200).await;
    let own = scopes["_embedded"]["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "p1:read:oauthConsents")
        .unwrap()
        .clone();
    let own_url = app.env_url(&format!("/scopes/{}", own["id"].as_str().unwrap()));
    app.call(
        Method::PUT,
        &own_url,
        Some(json!({"name": "p1:read:oauthConsents", "description": "See your consents"})),
        200,
    )
    .await;
}

#[tokio::test]
async fn a_token_that_carries_a_user_never_has_administrative_power() {
    let app = TestApp::spawn().await;
    let user = app.create_user("eve").await;
    let user_id = user["id"].as_str().unwrap();
    let env = assent::domain::ids::EnvironmentId::parse(&app.env_id).unwrap();
    // Even a token naming p1:admin, signed by the environment's own key, is no administrator when it carries a user.
    let scopes = vec!["p1:admin".to_owned(), "openid".to_owned()];
    let basis = assent::auth::tokens::TokenBasis {
        client_id: &app.client_id,
        subject: user_id,
        scopes: &scopes,
        ..Default::default()
    };
    let token = app.state.tokens.issue(env, basis).await.unwrap().token;
    for path in ["/users", "/applications"] {
        call_with(&app.client, &token, Method::GET, &app.env_url(path), None, 403).await;
    }
    // A web app cannot get the reserved scope by client_credentials, nor any p1: scope.
    let web = app.create_app(json!({"name": "Web", "type": "WEB_APP", "grantTypes": ["CLIENT_CREDENTIALS"]})).await;
    let id = web["id"].as_str().unwrap().to_owned();
    let secret = app.app_secret(&id).await;
    for scope in ["p1:admin", "p1:read:oauthConsents"] {
        let answer = app
            .token_request(&app.env_id, Some((&id, &secret)), &[("grant_type", "client_credentials"), ("scope", scope)])
            .await;
        assert_oauth_error(&answer, 400, "invalid_scope");
    }
}

#[tokio::test]
async fn introspection_needs_a_confidential_client_and_refresh_tokens_are_described_only_to_their_own() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let granted = tokens(&app, &fixture, &app.browser(), "openid invoices:write", None).await;
    let refresh = granted["refresh_token"].as_str().unwrap();
    let spa = app
        .create_app(json!({"name": "SPA", "type": "SINGLE_PAGE_APP", "redirectUris": ["https://spa.example/cb"]}))
        .await;
    let spa_id = spa["id"].as_str().unwrap();
    let url = format!("{}/{}/as/introspect", app.base, app.env_id);
    for token in [app.token.as_str(), refresh] {
        let answer = Answer::of(app.client.post(&url).form(&[("client_id", spa_id), ("token", token)])).await;
        assert_oauth_error(&answer, 401, "invalid_client");
    }
    assert_eq!(app.introspect(&fixture, refresh).await["active"], true, "its own client sees it");
    let other = introspect_as_admin(&app, refresh).await;
    assert_eq!(other, json!({"active": false}), "another client learns nothing of it");
    let discovery =
        Answer::of(app.client.get(format!("{}/{}/as/.well-known/oauth-authorization-server", app.base, app.env_id)))
            .await
            .json();
    assert_eq!(
        discovery["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
}

/// The user's access token reads her own consents; answers the status.
async fn self_service_status(app: &TestApp, fixture: &Fixture, access: &str) -> u16 {
    let url = app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id));
    Answer::of(app.client.get(url).bearer_auth(access)).await.status
}

#[tokio::test]
async fn disabling_or_deleting_a_user_ends_her_tokens_and_refresh_at_once() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let granted = tokens(&app, &fixture, &app.browser(), "openid p1:read:oauthConsents", None).await;
    let access = granted["access_token"].as_str().unwrap();
    assert_eq!(self_service_status(&app, &fixture, access).await, 200);
    let user_url = app.env_url(&format!("/users/{}", fixture.user_id));
    app.call(Method::PATCH, &user_url, Some(json!({"enabled": false})), 200).await;
    assert_eq!(self_service_status(&app, &fixture, access).await, 401);
    assert_eq!(app.introspect(&fixture, access).await["active"], false);
    let refresh = granted["refresh_token"].as_str().unwrap();
    assert_oauth_error(&app.refresh(&fixture, refresh).await, 400, "invalid_grant");
    // Enabled again, she signs in afresh: the old tokens stay dead.
    app.call(Method::PATCH, &user_url, Some(json!({"enabled": true})), 200).await;
    assert_eq!(app.introspect(&fixture, access).await["active"], false);
    // Her consent is still on record, so signing in again goes straight back to the client.
    let browser = app.browser();
    let pkce = Pkce::new();
    let login = browser.authorize(&fixture.client_id, &pkce, "openid p1:read:oauthConsents", &[]).await;
    let back = browser.sign_in(&login).await;
    let code = crate::browser::param(back.header("Location").unwrap(), "code").expect("a code");
    let again = app.exchange_code(&fixture, &code, &pkce.verifier).await.json();
    let access = again["access_token"].as_str().unwrap();
    assert_eq!(self_service_status(&app, &fixture, access).await, 200);
    app.call(Method::DELETE, &user_url, None, 204).await;
    assert_eq!(self_service_status(&app, &fixture, access).await, 401);
    assert_eq!(app.introspect(&fixture, access).await["active"], false);
    assert_oauth_error(&app.refresh(&fixture, again["refresh_token"].as_str().unwrap()).await, 400, "invalid_grant");
}

#[tokio::test]
async fn deleting_a_web_app_ends_the_tokens_its_users_granted_it() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let granted = tokens(&app, &fixture, &app.browser(), "openid p1:read:oauthConsents", None).await;
    let access = granted["access_token"].as_str().unwrap();
    assert_eq!(self_service_status(&app, &fixture, access).await, 200);
    app.call(Method::DELETE, &app.env_url(&format!("/applications/{}", fixture.client_id)), None, 204).await;
    assert_eq!(self_service_status(&app, &fixture, access).await, 401);
    assert_eq!(introspect_as_admin(&app, access).await["active"], false);
    let userinfo =
        Answer::of(app.client.get(format!("{}/{}/as/userinfo", app.base, app.env_id)).bearer_auth(access)).await;
    assert_eq!(userinfo.status, 401);
}

#[tokio::test]
async fn userinfo_gives_a_token_of_another_environment_the_generic_invalid_token_answer() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let granted = tokens(&app, &fixture, &app.browser(), "openid profile", None).await;
    let access = granted["access_token"].as_str().unwrap();
    let other = app.other_environment().await;
    let elsewhere =
        Answer::of(app.client.get(format!("{}/{}/as/userinfo", app.base, other.env_id)).bearer_auth(access)).await;
    let garbage =
        Answer::of(app.client.get(format!("{}/{}/as/userinfo", app.base, other.env_id)).bearer_auth("a.b.c")).await;
    assert_eq!(elsewhere.status, 401);
    assert_eq!(elsewhere.header("WWW-Authenticate"), garbage.header("WWW-Authenticate"));
    assert_eq!(elsewhere.text, garbage.text);
    assert!(!elsewhere.text.contains("another environment"), "{}", elsewhere.text);
}

#[tokio::test]
async fn new_applications_require_pkce_s256_by_default_and_explicit_settings_are_kept() {
    let app = TestApp::spawn().await;
    let web = app.create_app(json!({"name": "Web", "type": "WEB_APP", "redirectUris": ["https://w.example/cb"]})).await;
    assert_eq!(web["pkceEnforcement"], "S256_REQUIRED");
    let optional = app
        .create_app(json!({"name": "Legacy", "type": "WEB_APP", "redirectUris": ["https://l.example/cb"], "pkceEnforcement": "OPTIONAL"}))
        .await;
    assert_eq!(optional["pkceEnforcement"], "OPTIONAL");
}
