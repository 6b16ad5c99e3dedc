//! The token endpoint (client_credentials, client authentication, RFC 6749 errors), the JWKS and bearer checks.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, assert_error, assert_oauth_error, call_with, has_detail_code};

const CLIENT_CREDENTIALS: &[(&str, &str)] = &[("grant_type", "client_credentials")];

/// Creates a worker authenticating with `method` and returns its id and secret.
async fn worker(app: &TestApp, method: &str) -> (String, String) {
    let created = app.create_app(json!({"name": "Worker", "type": "WORKER", "tokenEndpointAuthMethod": method})).await;
    assert_eq!(created["tokenEndpointAuthMethod"], method);
    let id = created["id"].as_str().expect("id").to_owned();
    let secret = app.app_secret(&id).await;
    (id, secret)
}

/// The access token of a successful token answer.
fn issued_token(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "token answer: {}", answer.text);
    answer.json()["access_token"].as_str().expect("access_token").to_owned()
}

/// The JSON of one part (0 = header, 1 = claims) of a compact JWT.
fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("JWT part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON part")
}

#[tokio::test]
async fn client_credentials_with_client_secret_basic_issues_a_bearer_token() {
    let app = TestApp::spawn().await;
    let answer = app.token_request(&app.env_id, Some((&app.client_id, &app.client_secret)), CLIENT_CREDENTIALS).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("Cache-Control"), Some("no-store"));
    assert!(answer.header("Content-Type").is_some_and(|t| t.starts_with("application/json")));
    let body = answer.json();
    assert_eq!(body.as_object().expect("object").len(), 4, "exactly the four RFC 6749 fields: {body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "p1:admin");
    let token = body["access_token"].as_str().expect("access_token");
    assert_eq!(token.split('.').count(), 3, "a compact JWT: {token}");
    let claims = jwt_part(token, 1);
    assert_eq!(claims["env"], app.env_id.as_str());
    assert_eq!(claims["client_id"], app.client_id.as_str());
    assert_eq!(claims["iss"], format!("{}/{}/as", app.base, app.env_id));
    assert_eq!(claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"), 3600);
    // The token opens the management API of its environment.
    let env = call_with(&app.client, token, Method::GET, &app.env_url(""), None, 200).await;
    assert_eq!(env["id"], app.env_id.as_str());
}

#[tokio::test]
async fn client_secret_post_works_for_an_app_registered_for_it() {
    let app = TestApp::spawn().await;
    let (id, secret) = worker(&app, "CLIENT_SECRET_POST").await;
    let form = [("grant_type", "client_credentials"), ("client_id", id.as_str()), ("client_secret", secret.as_str())];
    let answer = app.token_request(&app.env_id, None, &form).await;
    let token = issued_token(&answer);
    assert_eq!(answer.header("Cache-Control"), Some("no-store"));
    assert_eq!(answer.json()["token_type"], "Bearer");
    assert_eq!(jwt_part(&token, 1)["client_id"], id.as_str());
    call_with(&app.client, &token, Method::GET, &app.env_url("/users"), None, 200).await;
}

#[tokio::test]
async fn an_app_must_authenticate_with_the_method_it_is_registered_for() {
    let app = TestApp::spawn().await;
    let (post_id, post_secret) = worker(&app, "CLIENT_SECRET_POST").await;
    // A client_secret_post app presenting HTTP Basic.
    let answer = app.token_request(&app.env_id, Some((&post_id, &post_secret)), CLIENT_CREDENTIALS).await;
    assert_oauth_error(&answer, 401, "invalid_client");
    // A client_secret_basic app (the bootstrapped administrator) presenting form credentials.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.as_str()),
    ];
    let answer = app.token_request(&app.env_id, None, &form).await;
    assert_oauth_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client_with_a_basic_challenge() {
    let app = TestApp::spawn().await;
    let answer = app.token_request(&app.env_id, Some((&app.client_id, "not-the-secret")), CLIENT_CREDENTIALS).await;
    let body = assert_oauth_error(&answer, 401, "invalid_client");
    assert!(body.get("access_token").is_none());
    // Another application's secret is just as wrong.
    let (_, other_secret) = worker(&app, "CLIENT_SECRET_BASIC").await;
    let answer = app.token_request(&app.env_id, Some((&app.client_id, &other_secret)), CLIENT_CREDENTIALS).await;
    assert_oauth_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn an_unknown_client_is_invalid_client() {
    let app = TestApp::spawn().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let answer = app.token_request(&app.env_id, Some((&unknown, &app.client_secret)), CLIENT_CREDENTIALS).await;
    let unknown_body = assert_oauth_error(&answer, 401, "invalid_client");
    let answer = app.token_request(&app.env_id, Some(("not-a-client-id", "secret")), CLIENT_CREDENTIALS).await;
    assert_oauth_error(&answer, 401, "invalid_client");
    // An unknown client reads exactly like a known client with a wrong secret: no enumeration of client ids.
    let answer = app.token_request(&app.env_id, Some((&app.client_id, "wrong")), CLIENT_CREDENTIALS).await;
    let wrong_secret_body = assert_oauth_error(&answer, 401, "invalid_client");
    assert_eq!(unknown_body, wrong_secret_body);
    // No credentials at all.
    let answer = app.token_request(&app.env_id, None, CLIENT_CREDENTIALS).await;
    assert_oauth_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn a_missing_grant_type_is_invalid_request() {
    let app = TestApp::spawn().await;
    let basic = Some((app.client_id.as_str(), app.client_secret.as_str()));
    let answer = app.token_request(&app.env_id, basic, &[("scope", "p1:admin")]).await;
    let body = assert_oauth_error(&answer, 400, "invalid_request");
    assert!(body["error_description"].as_str().is_some_and(|d| d.contains("grant_type")), "{body}");
    let answer = app.token_request(&app.env_id, basic, &[("grant_type", "")]).await;
    assert_oauth_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported_grant_type() {
    let app = TestApp::spawn().await;
    let basic = Some((app.client_id.as_str(), app.client_secret.as_str()));
    for grant in ["password", "urn:ietf:params:oauth:grant-type:device_code", "CLIENT_CREDENTIALS"] {
        let answer = app.token_request(&app.env_id, basic, &[("grant_type", grant)]).await;
        assert_oauth_error(&answer, 400, "unsupported_grant_type");
    }
}

#[tokio::test]
async fn a_scope_the_app_may_not_have_is_invalid_scope() {
    let app = TestApp::spawn().await;
    let basic = Some((app.client_id.as_str(), app.client_secret.as_str()));
    for scope in ["openid", "p1:admin openid", "p1:superuser"] {
        let answer =
            app.token_request(&app.env_id, basic, &[("grant_type", "client_credentials"), ("scope", scope)]).await;
        assert_oauth_error(&answer, 400, "invalid_scope");
    }
    // The scope the worker may have is granted when asked for explicitly.
    let answer =
        app.token_request(&app.env_id, basic, &[("grant_type", "client_credentials"), ("scope", "p1:admin")]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["scope"], "p1:admin");
}

#[tokio::test]
async fn basic_and_post_credentials_together_are_invalid_request() {
    let app = TestApp::spawn().await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.as_str()),
    ];
    let answer = app.token_request(&app.env_id, Some((&app.client_id, &app.client_secret)), &form).await;
    let body = assert_oauth_error(&answer, 400, "invalid_request");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn a_non_worker_token_cannot_call_the_management_api() {
    let app = TestApp::spawn().await;
    let web = app
        .create_app(json!({"name": "Reports backend", "type": "WEB_APP", "grantTypes": ["CLIENT_CREDENTIALS"]}))
        .await;
    assert_eq!(web["responseTypes"], json!([]));
    let id = web["id"].as_str().expect("id").to_owned();
    let secret = app.app_secret(&id).await;
    let answer = app.token_request(&app.env_id, Some((&id, &secret)), CLIENT_CREDENTIALS).await;
    let token = issued_token(&answer);
    assert_eq!(answer.json()["scope"], "", "a web app gets no management scope");
    // It may not ask for the administrator scope either.
    let answer = app
        .token_request(
            &app.env_id,
            Some((&id, &secret)),
            &[("grant_type", "client_credentials"), ("scope", "p1:admin")],
        )
        .await;
    assert_oauth_error(&answer, 400, "invalid_scope");
    let secret_path = format!("/applications/{id}/secret");
    for (method, path, body) in [
        (Method::GET, "", None),
        (Method::GET, "/users", None),
        (Method::POST, "/users", Some(json!({"username": "mallory"}))),
        (Method::GET, "/applications", None),
        (Method::GET, secret_path.as_str(), None),
    ] {
        let denied = call_with(&app.client, &token, method, &app.env_url(path), body, 403).await;
        assert_error(&denied, "ACCESS_FAILED");
        assert!(has_detail_code(&denied, "INSUFFICIENT_PERMISSIONS"), "{denied}");
    }
    // Nothing was created by the refused call.
    let users = app.get(&app.env_url("/users"), 200).await;
    assert_eq!(users["count"], 0);
}

#[tokio::test]
async fn credentials_of_one_environment_are_unknown_at_another_environments_token_endpoint() {
    let app = TestApp::spawn().await;
    let other = app.other_environment().await;
    let answer = app.token_request(&other.env_id, Some((&app.client_id, &app.client_secret)), CLIENT_CREDENTIALS).await;
    assert_oauth_error(&answer, 401, "invalid_client");
    // An environment id that is not a UUID, or names no environment, knows no clients either.
    let answer = app.token_request("not-an-env", Some((&app.client_id, &app.client_secret)), CLIENT_CREDENTIALS).await;
    assert_oauth_error(&answer, 401, "invalid_client");
    let nowhere = uuid::Uuid::new_v4().to_string();
    let answer = app.token_request(&nowhere, Some((&app.client_id, &app.client_secret)), CLIENT_CREDENTIALS).await;
    assert_oauth_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn jwks_publishes_the_p256_key_that_signs_the_tokens() {
    let app = TestApp::spawn().await;
    let answer = Answer::of(app.client.get(format!("{}/{}/as/jwks", app.base, app.env_id))).await;
    assert_eq!(answer.status, 200, "the JWKS is public: {}", answer.text);
    let jwks = answer.json();
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "{jwks}");
    let key = &keys[0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    let x = key["x"].as_str().expect("x");
    let y = key["y"].as_str().expect("y");
    assert_eq!(URL_SAFE_NO_PAD.decode(x).expect("x is base64url").len(), 32);
    assert_eq!(URL_SAFE_NO_PAD.decode(y).expect("y is base64url").len(), 32);
    assert!(key.get("d").is_none(), "no private part: {key}");

    let header = jwt_part(&app.token, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], key["kid"], "the token names the published key");

    // The published key really verifies the token.
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(x, y).expect("EC key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[&app.base]);
    validation.set_issuer(&[format!("{}/{}/as", app.base, app.env_id)]);
    let verified = jsonwebtoken::decode::<Value>(&app.token, &decoding, &validation);
    assert!(verified.is_ok(), "token verifies with the JWKS key: {verified:?}");

    // Another environment signs with its own key.
    let other = app.other_environment().await;
    let other_jwks = Answer::of(app.client.get(format!("{}/{}/as/jwks", app.base, other.env_id))).await.json();
    assert_ne!(other_jwks["keys"][0]["kid"], key["kid"]);
    assert_eq!(jwt_part(&other.token, 0)["kid"], other_jwks["keys"][0]["kid"]);
}

#[tokio::test]
async fn a_tampered_token_is_refused_as_invalid_token() {
    let app = TestApp::spawn().await;
    let (head, signature) = app.token.rsplit_once('.').expect("JWT");
    let middle = signature.len() / 2;
    let flipped = if &signature[middle..=middle] == "A" { "B" } else { "A" };
    let tampered = format!("{head}.{}{flipped}{}", &signature[..middle], &signature[middle + 1..]);
    assert_ne!(tampered, app.token);
    let body = call_with(&app.client, &tampered, Method::GET, &app.env_url(""), None, 401).await;
    assert_error(&body, "ACCESS_FAILED");
    assert!(has_detail_code(&body, "INVALID_TOKEN"), "{body}");

    // Claims edited to another environment do not verify either.
    let other = app.other_environment().await;
    let mut claims = jwt_part(&app.token, 1);
    claims["env"] = json!(other.env_id);
    let forged_claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims"));
    let parts: Vec<&str> = app.token.split('.').collect();
    let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    let url = format!("{}/v1/environments/{}", app.base, other.env_id);
    let body = call_with(&app.client, &forged, Method::GET, &url, None, 401).await;
    assert_error(&body, "ACCESS_FAILED");
    assert!(has_detail_code(&body, "INVALID_TOKEN"), "{body}");

    for garbage in ["garbage", "a.b.c", ""] {
        let body = call_with(&app.client, garbage, Method::GET, &app.env_url(""), None, 401).await;
        assert_error(&body, "ACCESS_FAILED");
    }
}

#[tokio::test]
async fn a_request_without_a_bearer_token_is_access_failed() {
    let app = TestApp::spawn().await;
    let answer = Answer::of(app.client.get(app.env_url(""))).await;
    assert_eq!(answer.status, 401, "{}", answer.text);
    let body = answer.json();
    assert_error(&body, "ACCESS_FAILED");
    assert!(has_detail_code(&body, "INVALID_TOKEN"), "{body}");
    let challenge = answer.headers.get("WWW-Authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(challenge.starts_with("Bearer "), "RFC 6750 challenge, got {challenge:?}");
    // Client credentials are no substitute for a token on the management API.
    let answer =
        Answer::of(app.client.get(app.env_url("/users")).basic_auth(&app.client_id, Some(&app.client_secret))).await;
    assert_eq!(answer.status, 401, "{}", answer.text);
    assert_error(&answer.json(), "ACCESS_FAILED");
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_at_once() {
    let app = TestApp::spawn().await;
    let (id, old) = worker(&app, "CLIENT_SECRET_BASIC").await;
    issued_token(&app.token_request(&app.env_id, Some((&id, &old)), CLIENT_CREDENTIALS).await);

    let rotated = app.post(&app.env_url(&format!("/applications/{id}/secret")), json!({}), 200).await;
    let new = rotated["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new, old);
    assert_eq!(app.app_secret(&id).await, new, "reading the secret shows the new one");

    let answer = app.token_request(&app.env_id, Some((&id, &old)), CLIENT_CREDENTIALS).await;
    assert_oauth_error(&answer, 401, "invalid_client");
    issued_token(&app.token_request(&app.env_id, Some((&id, &new)), CLIENT_CREDENTIALS).await);
}

#[tokio::test]
async fn a_disabled_app_gets_invalid_client() {
    let app = TestApp::spawn().await;
    let (id, secret) = worker(&app, "CLIENT_SECRET_BASIC").await;
    issued_token(&app.token_request(&app.env_id, Some((&id, &secret)), CLIENT_CREDENTIALS).await);
    let url = app.env_url(&format!("/applications/{id}"));
    let disabled =
        app.call(Method::PUT, &url, Some(json!({"name": "Worker", "type": "WORKER", "enabled": false})), 200).await;
    assert_eq!(disabled["enabled"], false);

    let answer = app.token_request(&app.env_id, Some((&id, &secret)), CLIENT_CREDENTIALS).await;
    assert_oauth_error(&answer, 401, "invalid_client");

    // Enabled again, the same secret works.
    app.call(Method::PUT, &url, Some(json!({"name": "Worker", "type": "WORKER"})), 200).await;
    issued_token(&app.token_request(&app.env_id, Some((&id, &secret)), CLIENT_CREDENTIALS).await);
}

#[tokio::test]
async fn tokens_and_secrets_survive_a_second_server_on_the_same_database() {
    let app = TestApp::spawn().await;
    let (base, _state) = crate::helpers::start_server(app.settings.clone()).await;
    assert_ne!(base, app.base);
    // The second server issues with the stored key: same kid as the first server's token.
    let response = app
        .client
        .post(format!("{base}/{}/as/token", app.env_id))
        .basic_auth(&app.client_id, Some(&app.client_secret))
        .form(CLIENT_CREDENTIALS)
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("token JSON");
    let second = body["access_token"].as_str().expect("access_token");
    assert_eq!(jwt_part(second, 0)["kid"], jwt_part(&app.token, 0)["kid"]);
    // Its own token works there; the first server's token names another audience and issuer.
    let url = format!("{base}/v1/environments/{}", app.env_id);
    call_with(&app.client, second, Method::GET, &url, None, 200).await;
    let refused = call_with(&app.client, &app.token, Method::GET, &url, None, 401).await;
    assert_error(&refused, "ACCESS_FAILED");
}

#[tokio::test]
async fn a_repeated_parameter_is_invalid_request() {
    let app = TestApp::spawn().await;
    let basic = Some((app.client_id.as_str(), app.client_secret.as_str()));
    let form = [("grant_type", "client_credentials"), ("grant_type", "client_credentials")];
    let answer = app.token_request(&app.env_id, basic, &form).await;
    assert_oauth_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn a_public_client_cannot_use_client_credentials() {
    let app = TestApp::spawn().await;
    let spa = app
        .create_app(
            json!({"name": "Dashboard", "type": "SINGLE_PAGE_APP", "redirectUris": ["https://dash.example.com/"]}),
        )
        .await;
    let id = spa["id"].as_str().expect("id");
    let answer = app.token_request(&app.env_id, None, &[("grant_type", "client_credentials"), ("client_id", id)]).await;
    assert_oauth_error(&answer, 400, "unauthorized_client");
    // Presenting its (unused) secret is the wrong method for a public client.
    let secret = app.app_secret(id).await;
    let answer = app.token_request(&app.env_id, Some((id, &secret)), CLIENT_CREDENTIALS).await;
    assert_oauth_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn an_unsigned_token_is_refused() {
    let app = TestApp::spawn().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = app.token.split('.').nth(1).expect("claims");
    for unsigned in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
        let body = call_with(&app.client, &unsigned, Method::GET, &app.env_url(""), None, 401).await;
        assert_error(&body, "ACCESS_FAILED");
        assert!(has_detail_code(&body, "INVALID_TOKEN"), "{body}");
    }
}

#[tokio::test]
async fn a_form_with_a_charset_parameter_is_accepted() {
    let app = TestApp::spawn().await;
    let request = app
        .client
        .post(format!("{}/{}/as/token", app.base, app.env_id))
        .basic_auth(&app.client_id, Some(&app.client_secret))
        .header("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
        .body("grant_type=client_credentials&scope=p1%3Aadmin");
    let answer = Answer::of(request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["scope"], "p1:admin");
}

#[tokio::test]
async fn a_form_client_id_that_contradicts_the_basic_header_is_invalid_request() {
    let app = TestApp::spawn().await;
    let (other_id, _) = worker(&app, "CLIENT_SECRET_BASIC").await;
    let basic = Some((app.client_id.as_str(), app.client_secret.as_str()));
    let form = [("grant_type", "client_credentials"), ("client_id", other_id.as_str())];
    let answer = app.token_request(&app.env_id, basic, &form).await;
    assert_oauth_error(&answer, 400, "invalid_request");
    // Repeating the same client id in the form is allowed.
    let form = [("grant_type", "client_credentials"), ("client_id", app.client_id.as_str())];
    issued_token(&app.token_request(&app.env_id, basic, &form).await);
}
