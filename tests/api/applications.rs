//! Applications: defaults by type, validation details, the client secret, full replace, delete and paging.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, assert_error, assert_oauth_error, has_detail};

/// POSTs an application body and expects 400 INVALID_DATA; returns the error body.
async fn refused(app: &TestApp, body: Value) -> Value {
    let error = app.post(&app.env_url("/applications"), body, 400).await;
    assert_error(&error, "INVALID_DATA");
    error
}

fn id_of(resource: &Value) -> String {
    resource["id"].as_str().expect("id").to_owned()
}

fn page_ids(page: &Value) -> Vec<String> {
    page["_embedded"]["applications"].as_array().expect("applications").iter().map(id_of).collect()
}

#[tokio::test]
async fn creating_a_worker_applies_the_worker_defaults() {
    let app = TestApp::spawn().await;
    let request = app
        .client
        .post(app.env_url("/applications"))
        .bearer_auth(&app.token)
        .json(&json!({"name": "Billing sync", "type": "WORKER"}));
    let answer = Answer::of(request).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let created = answer.json();
    let id = id_of(&created);
    let self_href = app.env_url(&format!("/applications/{id}"));
    assert_eq!(created["_links"]["self"]["href"], self_href.as_str());
    assert_eq!(answer.header("Location"), Some(self_href.as_str()));
    assert_eq!(created["_links"]["secret"]["href"], format!("{self_href}/secret"));
    assert_eq!(created["_links"]["environment"]["href"], app.env_url(""));
    assert_eq!(created["environment"]["id"], app.env_id.as_str());
    assert_eq!(created["name"], "Billing sync");
    assert_eq!(created["type"], "WORKER");
    assert_eq!(created["protocol"], "OPENID_CONNECT");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["grantTypes"], json!(["CLIENT_CREDENTIALS"]));
    assert_eq!(created["responseTypes"], json!([]));
    assert_eq!(created["redirectUris"], json!([]));
    assert_eq!(created["tokenEndpointAuthMethod"], "CLIENT_SECRET_BASIC");
    assert_eq!(created["pkceEnforcement"], "S256_REQUIRED");
    assert!(created.get("description").is_none());
    assert!(created.get("secret").is_none(), "the secret is only behind its link: {created}");
    assert_eq!(app.get(&self_href, 200).await, created);
}

#[tokio::test]
async fn a_web_app_with_the_code_grant_requires_redirect_uris() {
    let app = TestApp::spawn().await;
    let error = refused(&app, json!({"name": "Portal", "type": "WEB_APP"})).await;
    assert!(has_detail(&error, "INVALID_VALUE", "redirectUris"), "{error}");
    let error = refused(&app, json!({"name": "Portal", "type": "WEB_APP", "redirectUris": []})).await;
    assert!(has_detail(&error, "INVALID_VALUE", "redirectUris"), "{error}");
    assert_eq!(app.get(&app.env_url("/applications"), 200).await["count"], 1, "only the bootstrap worker");

    let created = app
        .create_app(json!({"name": "Portal", "type": "WEB_APP", "redirectUris": ["https://portal.example.com/cb"]}))
        .await;
    assert_eq!(created["grantTypes"], json!(["AUTHORIZATION_CODE"]));
    assert_eq!(created["responseTypes"], json!(["CODE"]));
    assert_eq!(created["redirectUris"], json!(["https://portal.example.com/cb"]));
    assert_eq!(created["tokenEndpointAuthMethod"], "CLIENT_SECRET_BASIC");
    assert_eq!(created["pkceEnforcement"], "S256_REQUIRED");
}

#[tokio::test]
async fn a_single_page_app_is_a_public_client_that_requires_pkce() {
    let app = TestApp::spawn().await;
    let created = app
        .create_app(
            json!({"name": "Dashboard", "type": "SINGLE_PAGE_APP", "redirectUris": ["https://dash.example.com/"]}),
        )
        .await;
    assert_eq!(created["type"], "SINGLE_PAGE_APP");
    assert_eq!(created["tokenEndpointAuthMethod"], "NONE");
    assert_eq!(created["pkceEnforcement"], "S256_REQUIRED");
    assert_eq!(created["grantTypes"], json!(["AUTHORIZATION_CODE"]));
    assert_eq!(created["responseTypes"], json!(["CODE"]));
    // A single-page app cannot be made to keep a secret.
    let error = refused(
        &app,
        json!({"name": "Dashboard", "type": "SINGLE_PAGE_APP", "redirectUris": ["https://dash.example.com/"],
               "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}),
    )
    .await;
    assert!(has_detail(&error, "INVALID_VALUE", "tokenEndpointAuthMethod"), "{error}");
}

#[tokio::test]
async fn an_unknown_enum_value_is_an_invalid_value_naming_the_field() {
    let app = TestApp::spawn().await;
    let error = refused(&app, json!({"name": "Robot", "type": "ROBOT"})).await;
    assert!(has_detail(&error, "INVALID_VALUE", "type"), "{error}");
    let error = refused(&app, json!({"name": "Robot", "type": "WORKER", "grantTypes": ["PASSWORD"]})).await;
    assert!(has_detail(&error, "INVALID_VALUE", "grantTypes[0]"), "{error}");
    let error =
        refused(&app, json!({"name": "Robot", "type": "WORKER", "tokenEndpointAuthMethod": "private_key_jwt"})).await;
    assert!(has_detail(&error, "INVALID_VALUE", "tokenEndpointAuthMethod"), "{error}");
    let error = refused(&app, json!({"name": "Robot"})).await;
    assert!(has_detail(&error, "REQUIRED_VALUE", "type"), "{error}");
    let error = refused(&app, json!({"type": "WORKER"})).await;
    assert!(has_detail(&error, "REQUIRED_VALUE", "name"), "{error}");
}

#[tokio::test]
async fn a_redirect_uri_with_a_fragment_is_refused_by_index() {
    let app = TestApp::spawn().await;
    let error = refused(
        &app,
        json!({"name": "Portal", "type": "WEB_APP", "redirectUris": ["https://portal.example.com/cb#x"]}),
    )
    .await;
    assert!(has_detail(&error, "INVALID_VALUE", "redirectUris[0]"), "{error}");
    let error = refused(
        &app,
        json!({"name": "Portal", "type": "WEB_APP",
               "redirectUris": ["https://portal.example.com/cb", "/relative", "javascript:alert(1)"]}),
    )
    .await;
    assert!(!has_detail(&error, "INVALID_VALUE", "redirectUris[0]"), "{error}");
    assert!(has_detail(&error, "INVALID_VALUE", "redirectUris[1]"), "{error}");
    assert!(has_detail(&error, "INVALID_VALUE", "redirectUris[2]"), "{error}");
}

#[tokio::test]
async fn a_redirect_uri_with_control_characters_or_spaces_is_refused() {
    let app = TestApp::spawn().await;
    // The URL parser silently drops tabs and newlines and trims spaces and controls, but the URI is stored and later
    // compared byte for byte as sent, so such a URI could never match and must be refused.
    for uri in [
        "https://portal.example.com/c\u{0}b",
        "https://portal.example.com/cb\n",
        "https://portal.example.com/c\tb",
        " https://portal.example.com/cb",
        "https://portal.example.com/c b",
    ] {
        let answer = Answer::of(
            app.client
                .post(app.env_url("/applications"))
                .bearer_auth(&app.token)
                .json(&json!({"name": "Portal", "type": "WEB_APP", "redirectUris": [uri]})),
        )
        .await;
        assert_eq!(answer.status, 400, "{uri:?} was accepted: {}", answer.text);
        let error = answer.json();
        assert_error(&error, "INVALID_DATA");
        assert!(has_detail(&error, "INVALID_VALUE", "redirectUris[0]"), "{uri:?}: {error}");
    }
    assert_eq!(app.get(&app.env_url("/applications"), 200).await["count"], 1, "only the bootstrap worker");
}

#[tokio::test]
async fn the_secret_can_be_read_and_used_at_the_token_endpoint() {
    let app = TestApp::spawn().await;
    let created = app.create_app(json!({"name": "Exporter", "type": "WORKER"})).await;
    let id = id_of(&created);
    let body = app.get(created["_links"]["secret"]["href"].as_str().expect("secret link"), 200).await;
    assert_eq!(body.as_object().expect("object").len(), 1, "only the secret: {body}");
    let secret = body["secret"].as_str().expect("secret");
    assert!(secret.len() >= 32, "a long random secret: {secret}");
    assert_eq!(app.app_secret(&id).await, secret, "reading twice gives the same secret");

    let answer = app.token_request(&app.env_id, Some((&id, secret)), &[("grant_type", "client_credentials")]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["token_type"], "Bearer");

    let missing = app.get(&app.env_url(&format!("/applications/{}/secret", uuid::Uuid::new_v4())), 404).await;
    assert_error(&missing, "NOT_FOUND");
}

#[tokio::test]
async fn put_replaces_every_setting_and_omitted_ones_return_to_their_defaults() {
    let app = TestApp::spawn().await;
    let created = app
        .create_app(json!({
            "name": "Portal",
            "description": "Customer portal",
            "type": "WEB_APP",
            "enabled": false,
            "redirectUris": ["https://portal.example.com/cb", "https://portal.example.com/cb2"],
            "tokenEndpointAuthMethod": "CLIENT_SECRET_POST",
            "pkceEnforcement": "S256_REQUIRED",
            "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
        }))
        .await;
    assert_eq!(created["pkceEnforcement"], "S256_REQUIRED");
    assert_eq!(created["grantTypes"], json!(["AUTHORIZATION_CODE", "REFRESH_TOKEN"]));
    let id = id_of(&created);
    let url = app.env_url(&format!("/applications/{id}"));
    let secret_before = app.app_secret(&id).await;

    let replaced = app
        .call(
            Method::PUT,
            &url,
            Some(json!({"name": "Portal v2", "type": "WEB_APP", "redirectUris": ["https://portal.example.com/v2"]})),
            200,
        )
        .await;
    assert_eq!(replaced["id"], id.as_str());
    assert_eq!(replaced["name"], "Portal v2");
    assert!(replaced.get("description").is_none(), "description removed: {replaced}");
    assert_eq!(replaced["enabled"], true);
    assert_eq!(replaced["redirectUris"], json!(["https://portal.example.com/v2"]));
    assert_eq!(replaced["tokenEndpointAuthMethod"], "CLIENT_SECRET_BASIC");
    assert_eq!(replaced["pkceEnforcement"], "S256_REQUIRED");
    assert_eq!(replaced["grantTypes"], json!(["AUTHORIZATION_CODE"]));
    assert_eq!(replaced["responseTypes"], json!(["CODE"]));
    assert_eq!(replaced["createdAt"], created["createdAt"]);
    assert!(replaced["updatedAt"].as_str() >= created["updatedAt"].as_str());
    assert_eq!(app.get(&url, 200).await, replaced);
    assert_eq!(app.app_secret(&id).await, secret_before, "PUT keeps the secret");

    // An invalid replacement changes nothing.
    let error = app.call(Method::PUT, &url, Some(json!({"name": "Portal v3", "type": "WEB_APP"})), 400).await;
    assert_error(&error, "INVALID_DATA");
    assert!(has_detail(&error, "INVALID_VALUE", "redirectUris"), "{error}");
    assert_eq!(app.get(&url, 200).await, replaced);
    // Replacing an application that does not exist is a 404.
    let missing = app.env_url(&format!("/applications/{}", uuid::Uuid::new_v4()));
    let error = app.call(Method::PUT, &missing, Some(json!({"name": "Ghost", "type": "WORKER"})), 404).await;
    assert_error(&error, "NOT_FOUND");
}

#[tokio::test]
async fn deleting_an_application_answers_204_and_it_is_gone() {
    let app = TestApp::spawn().await;
    let created = app.create_app(json!({"name": "Temporary", "type": "WORKER"})).await;
    let id = id_of(&created);
    let secret = app.app_secret(&id).await;
    let url = app.env_url(&format!("/applications/{id}"));
    let answer = Answer::of(app.client.delete(&url).bearer_auth(&app.token)).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert!(answer.text.is_empty());
    assert_error(&app.get(&url, 404).await, "NOT_FOUND");
    assert_error(&app.get(&format!("{url}/secret"), 404).await, "NOT_FOUND");
    assert_error(&app.call(Method::DELETE, &url, None, 404).await, "NOT_FOUND");
    // Its credentials no longer get tokens.
    let answer = app.token_request(&app.env_id, Some((&id, &secret)), &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn applications_are_listed_in_creation_order_with_paging() {
    let app = TestApp::spawn().await;
    let mut expected = vec![app.client_id.clone()];
    for i in 0..4 {
        expected.push(id_of(&app.create_app(json!({"name": format!("Worker {i}"), "type": "WORKER"})).await));
    }
    let mut url = app.env_url("/applications?limit=2");
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let page = app.get(&url, 200).await;
        let ids = page_ids(&page);
        assert_eq!(page["count"], 5, "count is the collection's total: {page}");
        assert_eq!(page["size"], ids.len());
        sizes.push(ids.len());
        seen.extend(ids);
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
        assert!(sizes.len() <= 3, "too many pages: {sizes:?}");
    }
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(seen, expected);
    let error = app.get(&app.env_url("/applications?limit=0"), 400).await;
    assert!(has_detail(&error, "INVALID_VALUE", "limit"), "{error}");
    let error = app.get(&app.env_url("/applications?cursor=nonsense!"), 400).await;
    assert!(has_detail(&error, "INVALID_VALUE", "cursor"), "{error}");
}
