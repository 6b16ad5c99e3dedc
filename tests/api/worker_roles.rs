//! Least privilege for workers: the permissions an application lists in `scopes` are exactly what
//! its client_credentials tokens may do. An auditor (`p1:read:oauthConsents`) reads every record;
//! a recorder (`p1:create:oauthConsents p1:update:oauthConsents`) records and revokes; neither
//! manages anything. `worker_roles_matrix` walks the whole spec with both.

use migration::{Migrator, MigratorTrait};
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::browser::{Pkce, REDIRECT_URI, param};
use crate::consents_record::{record, seed_body};
use crate::helpers::{TestApp, assert_error, assert_oauth_error, call_with, has_detail};
use assent::auth::principal::{ADMIN_SCOPE, CREATE_CONSENTS_SCOPE, READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE};
use assent::auth::tokens::TokenBasis;
use assent::domain::ids::EnvironmentId;

/// A worker granted `scopes`: its id, its secret, and a token of everything it was granted.
pub(crate) struct Worker {
    pub(crate) id: String,
    pub(crate) secret: String,
    pub(crate) token: String,
}

/// Creates a worker listing `scopes` and takes a client_credentials token without naming a scope.
pub(crate) async fn worker(app: &TestApp, name: &str, scopes: &[&str]) -> Worker {
    let created = app.create_app(json!({"name": name, "type": "WORKER", "scopes": scopes})).await;
    assert_eq!(created["scopes"], json!(scopes));
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = app.app_secret(&id).await;
    let token = app.worker_token(&app.env_id, &id, &secret).await;
    Worker { id, secret, token }
}

/// Sends `method url` with `token` and expects `expected`.
async fn call(app: &TestApp, token: &str, method: Method, url: &str, body: Option<Value>, expected: u16) -> Value {
    call_with(&app.client, token, method, url, body, expected).await
}

/// Checks a 403 in the one error format that names `scope` as the missing permission.
fn assert_needs(body: &Value, scope: &str) {
    assert_error(body, "ACCESS_FAILED");
    let detail = &body["details"][0];
    assert_eq!(detail["code"], "INSUFFICIENT_PERMISSIONS", "{body}");
    assert!(detail["message"].as_str().unwrap().contains(&format!("'{scope}'")), "names {scope}: {body}");
}

/// Two users, each with one record (recorded by the administrator).
async fn two_users_with_records(app: &TestApp) -> [(String, Value); 2] {
    let mut out = Vec::new();
    for name in ["alice", "bob"] {
        let user = app.create_user(name).await["id"].as_str().unwrap().to_owned();
        let given = record(app, &user, seed_body()).await;
        out.push((user, given));
    }
    out.try_into().unwrap()
}

#[tokio::test]
async fn an_auditor_reads_every_users_records_and_the_audit_list_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let [(alice, alices), (bob, bobs)] = two_users_with_records(&app).await;
    let auditor = worker(&app, "Auditor", &[READ_CONSENTS_SCOPE]).await;
    let t = auditor.token.as_str();
    for (user, given) in [(&alice, &alices), (&bob, &bobs)] {
        let list = call(&app, t, Method::GET, &app.env_url(&format!("/users/{user}/oauthConsents")), None, 200).await;
        assert_eq!(list["_embedded"]["oauthConsents"][0]["id"], given["id"]);
        let read = call(&app, t, Method::GET, given["_links"]["self"]["href"].as_str().unwrap(), None, 200).await;
        assert_eq!(read["status"], "ACCEPTED");
        let effective = app.env_url(&format!(
            "/users/{user}/oauthConsents/effective?application.id={}",
            given["application"]["id"].as_str().unwrap()
        ));
        assert_eq!(call(&app, t, Method::GET, &effective, None, 200).await["scope"], json!(["openid"]));
    }
    let audit = call(&app, t, Method::GET, &app.env_url("/oauthConsents?expand=applications"), None, 200).await;
    assert_eq!(audit["count"], 2, "{audit}");

    let record_url = app.env_url(&format!("/users/{alice}/oauthConsents"));
    assert_needs(&call(&app, t, Method::POST, &record_url, Some(seed_body()), 403).await, CREATE_CONSENTS_SCOPE);
    let revoke = alices["_links"]["consent.revoke"]["href"].as_str().unwrap();
    let body = call(&app, t, Method::PATCH, revoke, Some(json!({"status": "REVOKED"})), 403).await;
    assert_needs(&body, UPDATE_CONSENTS_SCOPE);
    let secret = format!("/applications/{}/secret", auditor.id);
    let one_user = format!("/users/{alice}");
    for (method, path, body) in [
        (Method::GET, "/users", None),
        (Method::GET, one_user.as_str(), None),
        (Method::POST, "/users", Some(json!({"username": "mallory"}))),
        (Method::GET, "/applications", None),
        (Method::GET, secret.as_str(), None),
        (Method::POST, secret.as_str(), None),
        (Method::GET, "/scopes", None),
        (Method::GET, "", None),
    ] {
        assert_needs(&call(&app, t, method, &app.env_url(path), body, 403).await, ADMIN_SCOPE);
    }
    // The Hydra-compatible admin API is management too.
    let sessions = format!("{}/{}/admin/oauth2/auth/sessions/consent?subject={alice}", app.base, app.env_id);
    let refused = app.client.get(&sessions).bearer_auth(t).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let allowed = app.client.get(&sessions).bearer_auth(&app.token).send().await.unwrap();
    assert_eq!(allowed.status(), 200, "the administrator is unchanged");
    // Nothing changed: no user, no record, no revocation, the same secret.
    assert_eq!(app.get(&app.env_url("/users"), 200).await["count"], 2);
    assert_eq!(app.get(&app.env_url("/oauthConsents"), 200).await["count"], 2);
    assert_eq!(app.get(revoke, 200).await["status"], "ACCEPTED");
    assert_eq!(app.app_secret(&auditor.id).await, auditor.secret);
}

#[tokio::test]
async fn a_recorder_records_and_revokes_for_any_user_but_reads_no_users_applications_or_records() {
    let app = TestApp::spawn().await;
    let [(alice, _), (bob, bobs)] = two_users_with_records(&app).await;
    let recorder = worker(&app, "SDK backend", &[CREATE_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE]).await;
    let t = recorder.token.as_str();
    let made =
        call(&app, t, Method::POST, &app.env_url(&format!("/users/{alice}/oauthConsents")), Some(seed_body()), 201)
            .await;
    assert_eq!(made["status"], "ACCEPTED");
    let revoked = call(
        &app,
        t,
        Method::PATCH,
        bobs["_links"]["consent.revoke"]["href"].as_str().unwrap(),
        Some(json!({"status": "REVOKED"})),
        200,
    )
    .await;
    assert_eq!(revoked["status"], "REVOKED");
    assert_eq!(app.get(bobs["_links"]["self"]["href"].as_str().unwrap(), 200).await["status"], "REVOKED");

    for url in [
        app.env_url(&format!("/users/{bob}/oauthConsents")),
        made["_links"]["self"]["href"].as_str().unwrap().to_owned(),
        app.env_url("/oauthConsents"),
    ] {
        assert_needs(&call(&app, t, Method::GET, &url, None, 403).await, READ_CONSENTS_SCOPE);
    }
    let (one_user, own_app) = (format!("/users/{alice}"), format!("/applications/{}", recorder.id));
    for path in ["/users", one_user.as_str(), "/applications", own_app.as_str()] {
        assert_needs(&call(&app, t, Method::GET, &app.env_url(path), None, 403).await, ADMIN_SCOPE);
    }
    assert_eq!(app.get(&app.env_url("/oauthConsents"), 200).await["count"], 3, "the administrator reads all");
}

#[tokio::test]
async fn client_credentials_grant_a_worker_exactly_the_permissions_it_lists() {
    let app = TestApp::spawn().await;
    let plain = app.create_app(json!({"name": "Plain", "type": "WORKER"})).await;
    assert_eq!(plain["scopes"], json!([ADMIN_SCOPE]), "a new worker is an administrator unless granted less");
    let admin = app.get(&app.env_url(&format!("/applications/{}", app.client_id)), 200).await;
    assert_eq!(admin["scopes"], json!([ADMIN_SCOPE]), "so is the bootstrap worker");

    let recorder = worker(&app, "Recorder", &[CREATE_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE]).await;
    let basic = Some((recorder.id.as_str(), recorder.secret.as_str()));
    let app = &app;
    let ask = |scope: &'static str| async move {
        app.token_request(&app.env_id, basic, &[("grant_type", "client_credentials"), ("scope", scope)]).await
    };
    let all = app.token_request(&app.env_id, basic, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        all.json()["scope"],
        "p1:create:oauthConsents p1:update:oauthConsents",
        "by default, all it was granted"
    );
    for beyond in [ADMIN_SCOPE, READ_CONSENTS_SCOPE, "p1:create:oauthConsents p1:admin", "p1:superuser"] {
        let body = assert_oauth_error(&ask(beyond).await, 400, "invalid_scope");
        assert!(body["error_description"].as_str().unwrap().contains("p1:"), "{body}");
    }
    // Asking for less gets less.
    let narrow = ask(CREATE_CONSENTS_SCOPE).await;
    assert_eq!(narrow.json()["scope"], CREATE_CONSENTS_SCOPE);
    let narrow = narrow.json()["access_token"].as_str().unwrap().to_owned();
    let user = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let made =
        call(app, &narrow, Method::POST, &app.env_url(&format!("/users/{user}/oauthConsents")), Some(seed_body()), 201)
            .await;
    assert!(
        made["_links"].get("consent.revoke").is_none(),
        "a token that cannot revoke is not offered the link: {made}"
    );
    let revoke = made["_links"]["self"]["href"].as_str().unwrap();
    let body = call(app, &narrow, Method::PATCH, revoke, Some(json!({"status": "REVOKED"})), 403).await;
    assert_needs(&body, UPDATE_CONSENTS_SCOPE);

    // A worker granted nothing gets a token that can do nothing.
    let idle = worker(app, "Idle", &[]).await;
    let answer =
        app.token_request(&app.env_id, Some((&idle.id, &idle.secret)), &[("grant_type", "client_credentials")]).await;
    assert_eq!(answer.json()["scope"], "");
    assert_needs(
        &call(app, &idle.token, Method::GET, &app.env_url("/oauthConsents"), None, 403).await,
        READ_CONSENTS_SCOPE,
    );
}

#[tokio::test]
async fn only_workers_may_list_worker_permissions_and_no_user_flow_passes_them_on() {
    let app = TestApp::spawn().await;
    for permission in [ADMIN_SCOPE, CREATE_CONSENTS_SCOPE] {
        let body =
            json!({"name": "Web", "type": "WEB_APP", "redirectUris": [REDIRECT_URI], "scopes": ["openid", permission]});
        let error = app.post(&app.env_url("/applications"), body, 400).await;
        assert_error(&error, "INVALID_DATA");
        assert!(has_detail(&error, "INVALID_VALUE", "scopes[1]"), "{error}");
    }
    // The self-service scopes stay open to every application, for its users' tokens; a web app still
    // cannot get them for itself.
    let web = app
        .create_app(
            json!({"name": "Web", "type": "WEB_APP", "grantTypes": ["AUTHORIZATION_CODE", "CLIENT_CREDENTIALS"],
                           "redirectUris": [REDIRECT_URI], "scopes": ["openid", READ_CONSENTS_SCOPE]}),
        )
        .await;
    let web_id = web["id"].as_str().unwrap().to_owned();
    let web_secret = app.app_secret(&web_id).await;
    let answer = app
        .token_request(
            &app.env_id,
            Some((&web_id, &web_secret)),
            &[("grant_type", "client_credentials"), ("scope", READ_CONSENTS_SCOPE)],
        )
        .await;
    assert_oauth_error(&answer, 400, "invalid_scope");

    // A worker that also runs the code flow cannot have its permissions granted to a user's token.
    let both = app
        .create_app(
            json!({"name": "Both", "type": "WORKER", "grantTypes": ["CLIENT_CREDENTIALS", "AUTHORIZATION_CODE"],
                           "redirectUris": [REDIRECT_URI], "scopes": ["openid", ADMIN_SCOPE]}),
        )
        .await;
    let browser = app.browser();
    let answer = browser.authorize(both["id"].as_str().unwrap(), &Pkce::new(), "openid p1:admin", &[]).await;
    assert_eq!(answer.status, 302, "{}", answer.text);
    let location = answer.header("Location").unwrap();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(param(location, "error").as_deref(), Some("invalid_scope"), "{location}");
    let login = browser.authorize(both["id"].as_str().unwrap(), &Pkce::new(), "openid", &[]).await;
    assert_eq!(login.status, 200, "the same request without the permission is fine: {}", login.text);
}

#[tokio::test]
async fn a_user_token_reaches_only_its_own_records_whatever_permissions_it_names() {
    let app = TestApp::spawn().await;
    let [(alice, alices), (bob, bobs)] = two_users_with_records(&app).await;
    let env = EnvironmentId::parse(&app.env_id).unwrap();
    let scopes: Vec<String> =
        [ADMIN_SCOPE, READ_CONSENTS_SCOPE, CREATE_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE].map(str::to_owned).into();
    let basis = TokenBasis { client_id: &app.client_id, subject: &alice, scopes: &scopes, ..TokenBasis::default() };
    let t = app.state.tokens.issue(env, basis).await.unwrap().token;
    call(&app, &t, Method::GET, &app.env_url(&format!("/users/{alice}/oauthConsents")), None, 200).await;
    call(&app, &t, Method::GET, alices["_links"]["self"]["href"].as_str().unwrap(), None, 200).await;
    call(&app, &t, Method::GET, &app.env_url(&format!("/users/{bob}/oauthConsents")), None, 404).await;
    call(
        &app,
        &t,
        Method::PATCH,
        bobs["_links"]["self"]["href"].as_str().unwrap(),
        Some(json!({"status": "REVOKED"})),
        404,
    )
    .await;
    let own = app.env_url(&format!("/users/{alice}/oauthConsents"));
    assert_needs(&call(&app, &t, Method::POST, &own, Some(seed_body()), 403).await, CREATE_CONSENTS_SCOPE);
    assert_needs(&call(&app, &t, Method::GET, &app.env_url("/oauthConsents"), None, 403).await, READ_CONSENTS_SCOPE);
    assert_needs(&call(&app, &t, Method::GET, &app.env_url("/users"), None, 403).await, ADMIN_SCOPE);
}

#[tokio::test]
async fn narrowing_what_a_worker_may_get_ends_its_tokens_and_widening_keeps_them() {
    let app = TestApp::spawn().await;
    let auditor = worker(&app, "Auditor", &[READ_CONSENTS_SCOPE, CREATE_CONSENTS_SCOPE]).await;
    let url = app.env_url(&format!("/applications/{}", auditor.id));
    let audit = app.env_url("/oauthConsents");
    call(&app, &auditor.token, Method::GET, &audit, None, 200).await;
    let put = |scopes: &[&str]| json!({"name": "Auditor", "type": "WORKER", "scopes": scopes});

    app.call(Method::PUT, &url, Some(put(&[READ_CONSENTS_SCOPE])), 200).await;
    let refused = call(&app, &auditor.token, Method::GET, &audit, None, 401).await;
    assert_error(&refused, "ACCESS_FAILED");
    let narrowed = app.worker_token(&app.env_id, &auditor.id, &auditor.secret).await;
    call(&app, &narrowed, Method::GET, &audit, None, 200).await;

    app.call(Method::PUT, &url, Some(put(&[READ_CONSENTS_SCOPE, ADMIN_SCOPE])), 200).await;
    call(&app, &narrowed, Method::GET, &audit, None, 200).await;
    // The token still holds only what it was issued with.
    assert_needs(&call(&app, &narrowed, Method::GET, &app.env_url("/users"), None, 403).await, ADMIN_SCOPE);

    // Taking the grant away, or changing the type with the same scopes, ends the tokens too.
    let both = json!({"name": "Auditor", "type": "WORKER", "scopes": [READ_CONSENTS_SCOPE],
                      "grantTypes": ["CLIENT_CREDENTIALS", "AUTHORIZATION_CODE"], "redirectUris": [REDIRECT_URI]});
    app.call(Method::PUT, &url, Some(both.clone()), 200).await;
    let before_code_only = app.worker_token(&app.env_id, &auditor.id, &auditor.secret).await;
    call(&app, &before_code_only, Method::GET, &audit, None, 200).await;
    let mut code_only = both.clone();
    code_only["grantTypes"] = json!(["AUTHORIZATION_CODE"]);
    app.call(Method::PUT, &url, Some(code_only), 200).await;
    call(&app, &before_code_only, Method::GET, &audit, None, 401).await;
    app.call(Method::PUT, &url, Some(both.clone()), 200).await;
    let before_retype = app.worker_token(&app.env_id, &auditor.id, &auditor.secret).await;
    call(&app, &before_retype, Method::GET, &audit, None, 200).await;
    let mut web = both;
    web["type"] = json!("WEB_APP");
    app.call(Method::PUT, &url, Some(web), 200).await;
    call(&app, &before_retype, Method::GET, &audit, None, 401).await;
}

#[tokio::test]
async fn workers_from_before_permissions_are_administrators_after_the_upgrade() {
    let app = TestApp::spawn().await;
    app.post(&app.env_url("/scopes"), json!({"name": "status:read", "consent": "IMPLICIT"}), 201).await;
    let lister = app.create_app(json!({"name": "Lister", "type": "WORKER", "scopes": ["status:read"]})).await;
    app.create_app(json!({"name": "Explicit", "type": "WORKER", "scopes": [ADMIN_SCOPE]})).await;
    app.create_app(json!({"name": "Web", "type": "WEB_APP", "redirectUris": [REDIRECT_URI]})).await;
    // The rows as the version before permissions left them, and the permissions migration not yet run.
    let db = sea_orm::Database::connect(&app.settings.store.url).await.unwrap();
    for statement in [
        "UPDATE applications SET scopes = '[]' WHERE name = 'Administrator'",
        "UPDATE applications SET scopes = '[\"status:read\"]' WHERE name = 'Lister'",
        "DELETE FROM seaql_migrations WHERE version = 'm20261201_000012_worker_permissions'",
    ] {
        db.execute_unprepared(statement).await.unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    db.close().await.unwrap();

    // A fresh server reads the migrated rows (and issues its own tokens: the issuer is its address).
    let (base, _state) = crate::helpers::start_server(app.settings.clone()).await;
    let token_at = |id: String, secret: String| {
        let request = app.client.post(format!("{base}/{}/as/token", app.env_id)).basic_auth(id, Some(secret));
        async move { request.form(&[("grant_type", "client_credentials")]).send().await.unwrap().json::<Value>().await }
    };
    let admin = token_at(app.client_id.clone(), app.client_secret.clone()).await.unwrap();
    let url = format!("{base}/v1/environments/{}/applications", app.env_id);
    let listed = call(&app, admin["access_token"].as_str().unwrap(), Method::GET, &url, None, 200).await;
    let scopes_of = |name: &str| {
        let apps = listed["_embedded"]["applications"].as_array().unwrap();
        apps.iter().find(|a| a["name"] == name).unwrap()["scopes"].clone()
    };
    assert_eq!(scopes_of("Administrator"), json!([ADMIN_SCOPE]));
    assert_eq!(scopes_of("Lister"), json!(["status:read", ADMIN_SCOPE]));
    assert_eq!(scopes_of("Explicit"), json!([ADMIN_SCOPE]), "listed once");
    assert_eq!(scopes_of("Web"), json!(["openid"]), "only workers");
    let lister_id = lister["id"].as_str().unwrap().to_owned();
    let secret = app.app_secret(&lister_id).await;
    assert_eq!(token_at(lister_id, secret).await.unwrap()["scope"], ADMIN_SCOPE);
}
