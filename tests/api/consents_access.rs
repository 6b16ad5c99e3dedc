//! Who may see and revoke which records: environments are sealed, users see only their own.

use reqwest::Method;
use serde_json::{Value, json};

use crate::consents_record::{record, seed_body};
use crate::helpers::{TestApp, assert_error, call_with};
use assent::auth::principal::{READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE};
use assent::auth::tokens::TokenBasis;
use assent::domain::ids::EnvironmentId;

/// A user token like the ones the consent flow mints, with `scopes`.
pub(crate) async fn user_token(app: &TestApp, user_id: &str, scopes: &[&str]) -> String {
    let env = EnvironmentId::parse(&app.env_id).unwrap();
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let basis = TokenBasis { client_id: &app.client_id, subject: user_id, scopes: &scopes, ..TokenBasis::default() };
    app.state.tokens.issue(env, basis).await.unwrap().token
}

#[tokio::test]
async fn another_environment_sees_nothing() {
    let app = TestApp::spawn().await;
    let user = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let given = record(&app, &user, seed_body()).await;
    let other = app.other_environment().await;
    let own_paths = [
        format!("/v1/environments/{}/users/{user}/oauthConsents", app.env_id),
        format!("/v1/environments/{}/users/{user}/oauthConsents/{}", app.env_id, given["id"].as_str().unwrap()),
        format!("/v1/environments/{}/oauthConsents", app.env_id),
        format!(
            "/v1/environments/{}/users/{user}/oauthConsents/effective?application.id={}",
            app.env_id,
            given["application"]["id"].as_str().unwrap()
        ),
    ];
    for path in &own_paths {
        let body = call_with(&app.client, &other.token, Method::GET, &format!("{}{path}", app.base), None, 404).await;
        assert_error(&body, "NOT_FOUND");
    }
    call_with(
        &app.client,
        &other.token,
        Method::POST,
        &format!("{}{}", app.base, own_paths[0]),
        Some(seed_body()),
        404,
    )
    .await;
    // The other environment's token on its own path with this environment's user and record ids.
    let crossed = [
        format!("/v1/environments/{}/users/{user}/oauthConsents", other.env_id),
        format!("/v1/environments/{}/users/{user}/oauthConsents/{}", other.env_id, given["id"].as_str().unwrap()),
    ];
    for path in &crossed {
        call_with(&app.client, &other.token, Method::GET, &format!("{}{path}", app.base), None, 404).await;
    }
    let audit = call_with(
        &app.client,
        &other.token,
        Method::GET,
        &format!("{}/v1/environments/{}/oauthConsents", app.base, other.env_id),
        None,
        200,
    )
    .await;
    assert_eq!(audit["count"], 0, "another environment's audit list is empty: {audit}");
}

#[tokio::test]
async fn users_read_and_revoke_only_their_own_records() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let bob = app.create_user("bob").await["id"].as_str().unwrap().to_owned();
    let alices = record(&app, &alice, seed_body()).await;
    let bobs = record(&app, &bob, seed_body()).await;
    let alice_token = user_token(&app, &alice, &[READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE]).await;
    let get = |token: String, url: String, expected: u16| {
        let client = app.client.clone();
        async move { call_with(&client, &token, Method::GET, &url, None, expected).await }
    };
    let list = get(alice_token.clone(), app.env_url(&format!("/users/{alice}/oauthConsents")), 200).await;
    assert_eq!(list["count"], 1);
    // Bob's records look like they do not exist.
    get(alice_token.clone(), app.env_url(&format!("/users/{bob}/oauthConsents")), 404).await;
    get(alice_token.clone(), bobs["_links"]["self"]["href"].as_str().unwrap().to_owned(), 404).await;
    let wrong_user_path = bobs["_links"]["self"]["href"].as_str().unwrap().replace(&bob, &alice);
    get(alice_token.clone(), wrong_user_path, 404).await;
    // Neither the audit list nor recording is self-service.
    let audit = get(alice_token.clone(), app.env_url("/oauthConsents"), 403).await;
    assert_error(&audit, "ACCESS_FAILED");
    call_with(
        &app.client,
        &alice_token,
        Method::POST,
        &app.env_url(&format!("/users/{alice}/oauthConsents")),
        Some(seed_body()),
        403,
    )
    .await;
    // Alice follows her own consent.revoke link.
    let revoked = call_with(
        &app.client,
        &alice_token,
        Method::PATCH,
        alices["_links"]["consent.revoke"]["href"].as_str().unwrap(),
        Some(json!({"status":"REVOKED"})),
        200,
    )
    .await;
    assert_eq!(revoked["status"], "REVOKED");
    call_with(
        &app.client,
        &alice_token,
        Method::PATCH,
        bobs["_links"]["self"]["href"].as_str().unwrap(),
        Some(json!({"status":"REVOKED"})),
        404,
    )
    .await;
    let still: Value = app.get(bobs["_links"]["self"]["href"].as_str().unwrap(), 200).await;
    assert_eq!(still["status"], "ACCEPTED");
}

#[tokio::test]
async fn self_service_scopes_are_required() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let given = record(&app, &alice, seed_body()).await;
    let read_only = user_token(&app, &alice, &[READ_CONSENTS_SCOPE]).await;
    let no_scope = user_token(&app, &alice, &["openid"]).await;
    let list = app.env_url(&format!("/users/{alice}/oauthConsents"));
    let body = call_with(&app.client, &no_scope, Method::GET, &list, None, 403).await;
    assert_error(&body, "ACCESS_FAILED");
    call_with(&app.client, &read_only, Method::GET, &list, None, 200).await;
    let body = call_with(
        &app.client,
        &read_only,
        Method::PATCH,
        given["_links"]["consent.revoke"]["href"].as_str().unwrap(),
        Some(json!({"status":"REVOKED"})),
        403,
    )
    .await;
    assert_error(&body, "ACCESS_FAILED");
}

/// The link names of `record`, sorted.
fn link_names(record: &Value) -> Vec<String> {
    let mut names: Vec<String> = record["_links"].as_object().unwrap().keys().cloned().collect();
    names.sort();
    names
}

/// Follows every link of `record` with `token` (GET, and the revoke link with its PATCH): none may be refused.
async fn follow_every_link(app: &TestApp, token: &str, record: &Value) {
    for (name, link) in record["_links"].as_object().unwrap() {
        let href = link["href"].as_str().unwrap();
        if name == "consent.revoke" {
            continue; // followed by the callers that may revoke, below
        }
        call_with(&app.client, token, Method::GET, href, None, 200).await;
    }
}

#[tokio::test]
async fn every_link_in_an_answer_is_one_its_caller_may_follow() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let first = record(&app, &alice, seed_body()).await;
    let second = record(&app, &alice, seed_body()).await;
    let self_path = |r: &Value| r["_links"]["self"]["href"].as_str().unwrap().to_owned();
    let list = app.env_url(&format!("/users/{alice}/oauthConsents"));

    // The administrator who recorded them may follow everything.
    assert_eq!(link_names(&first), ["consent.revoke", "environment", "self", "user"]);
    follow_every_link(&app, &app.token, &first).await;

    // Alice reading with a read-only token: her record, nothing she would be refused.
    let reader = user_token(&app, &alice, &[READ_CONSENTS_SCOPE]).await;
    let read = call_with(&app.client, &reader, Method::GET, &self_path(&first), None, 200).await;
    assert_eq!(link_names(&read), ["self"], "{read}");
    follow_every_link(&app, &reader, &read).await;
    let page = call_with(&app.client, &reader, Method::GET, &list, None, 200).await;
    for item in page["_embedded"]["oauthConsents"].as_array().unwrap() {
        assert_eq!(link_names(item), ["self"], "{item}");
    }

    // With the revoke scope too, the link to revoke appears, and it works.
    let revoker = user_token(&app, &alice, &[READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE]).await;
    let read = call_with(&app.client, &revoker, Method::GET, &self_path(&first), None, 200).await;
    assert_eq!(link_names(&read), ["consent.revoke", "self"], "{read}");
    let revoke = read["_links"]["consent.revoke"]["href"].as_str().unwrap();
    let revoked = call_with(&app.client, &revoker, Method::PATCH, revoke, Some(json!({"status":"REVOKED"})), 200).await;
    assert_eq!(link_names(&revoked), ["self"], "nothing left to revoke: {revoked}");

    // An auditor worker reads every record but manages and revokes nothing: only `self`.
    let auditor = crate::worker_roles::worker(&app, "Auditor", &[READ_CONSENTS_SCOPE]).await;
    let read = call_with(&app.client, &auditor.token, Method::GET, &self_path(&second), None, 200).await;
    assert_eq!(link_names(&read), ["self"], "{read}");
    let audit = call_with(&app.client, &auditor.token, Method::GET, &app.env_url("/oauthConsents"), None, 200).await;
    for item in audit["_embedded"]["oauthConsents"].as_array().unwrap() {
        assert_eq!(link_names(item), ["self"], "{item}");
        follow_every_link(&app, &auditor.token, item).await;
    }
    // A worker that may revoke (but not manage) is shown the revoke link.
    let revoking = crate::worker_roles::worker(&app, "Revoker", &[READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE]).await;
    let read = call_with(&app.client, &revoking.token, Method::GET, &self_path(&second), None, 200).await;
    assert_eq!(link_names(&read), ["consent.revoke", "self"], "{read}");
}
