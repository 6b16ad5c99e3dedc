//! Applications' consent method and granted scopes: defaults by type, validation against the environment's scopes,
//! full replace, and scopes that applications list cannot be deleted or renamed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, call_with, has_detail};

async fn refused(app: &TestApp, body: Value) -> Value {
    let error = app.post(&app.env_url("/applications"), body, 400).await;
    assert_error(&error, "INVALID_DATA");
    error
}

fn self_href(resource: &Value) -> String {
    resource["_links"]["self"]["href"].as_str().expect("self link").to_owned()
}

#[tokio::test]
async fn defaults_depend_on_the_application_type() {
    let app = TestApp::spawn().await;
    let uris = json!(["https://client.example.com/cb"]);
    for (kind, scopes) in [
        ("WORKER", json!(["p1:admin"])),
        ("WEB_APP", json!(["openid"])),
        ("NATIVE_APP", json!(["openid"])),
        ("SINGLE_PAGE_APP", json!(["openid"])),
    ] {
        let created = app.create_app(json!({"name": kind, "type": kind, "redirectUris": uris})).await;
        assert_eq!(created["consentMethod"], "REQUIRED", "{kind}");
        assert_eq!(created["scopes"], scopes, "{kind}");
        assert_eq!(app.get(&self_href(&created), 200).await, created);
    }
    let admin = app.get(&app.env_url(&format!("/applications/{}", app.client_id)), 200).await;
    assert_eq!(admin["scopes"], json!(["p1:admin"]), "the bootstrap worker is an administrator");
    assert_eq!(admin["consentMethod"], "REQUIRED");
}

#[tokio::test]
async fn a_trusted_consent_method_round_trips_and_an_unknown_one_is_invalid() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "Portal", "type": "WEB_APP", "redirectUris": ["https://portal.example.com/cb"],
                      "consentMethod": "TRUSTED"});
    let created = app.create_app(body.clone()).await;
    assert_eq!(created["consentMethod"], "TRUSTED");
    let url = self_href(&created);
    assert_eq!(app.get(&url, 200).await["consentMethod"], "TRUSTED");
    let mut without = body.clone();
    without.as_object_mut().unwrap().remove("consentMethod");
    let replaced = app.call(Method::PUT, &url, Some(without), 200).await;
    assert_eq!(replaced["consentMethod"], "REQUIRED", "PUT without it returns to the default");

    let mut unknown = body;
    unknown["consentMethod"] = json!("SOMETIMES");
    let error = refused(&app, unknown).await;
    assert!(has_detail(&error, "INVALID_VALUE", "consentMethod"), "{error}");
}

#[tokio::test]
async fn scopes_must_exist_in_the_environment_and_are_deduplicated_in_order() {
    let app = TestApp::spawn().await;
    app.post(&app.env_url("/scopes"), json!({"name": "invoices:read"}), 201).await;
    let error = refused(
        &app,
        json!({"name": "Sync", "type": "WORKER", "scopes": ["invoices:read", "nope", "p1:admin", "p1:superuser"]}),
    )
    .await;
    assert!(!has_detail(&error, "INVALID_VALUE", "scopes[0]"), "{error}");
    assert!(has_detail(&error, "INVALID_VALUE", "scopes[1]"), "{error}");
    assert!(!has_detail(&error, "INVALID_VALUE", "scopes[2]"), "a worker may list its permissions: {error}");
    assert!(has_detail(&error, "INVALID_VALUE", "scopes[3]"), "p1:superuser is no permission: {error}");

    let created = app
        .create_app(json!({"name": "Sync", "type": "WORKER", "scopes": ["invoices:read", "openid", "invoices:read"]}))
        .await;
    assert_eq!(created["scopes"], json!(["invoices:read", "openid"]));
}

#[tokio::test]
async fn a_scope_of_another_environment_does_not_count() {
    let app = TestApp::spawn().await;
    let other = app.other_environment().await;
    let other_scopes = format!("{}/v1/environments/{}/scopes", app.base, other.env_id);
    call_with(&app.client, &other.token, Method::POST, &other_scopes, Some(json!({"name": "reports:read"})), 201).await;
    let error = refused(&app, json!({"name": "Sync", "type": "WORKER", "scopes": ["openid", "reports:read"]})).await;
    assert!(has_detail(&error, "INVALID_VALUE", "scopes[1]"), "{error}");
    assert!(!has_detail(&error, "INVALID_VALUE", "scopes[0]"), "{error}");
}

#[tokio::test]
async fn put_replaces_the_scopes() {
    let app = TestApp::spawn().await;
    for name in ["a:read", "b:read"] {
        app.post(&app.env_url("/scopes"), json!({"name": name}), 201).await;
    }
    let created = app.create_app(json!({"name": "Sync", "type": "WORKER", "scopes": ["a:read"]})).await;
    let url = self_href(&created);
    let replaced = app
        .call(Method::PUT, &url, Some(json!({"name": "Sync", "type": "WORKER", "scopes": ["b:read", "openid"]})), 200)
        .await;
    assert_eq!(replaced["scopes"], json!(["b:read", "openid"]));
    let error =
        app.call(Method::PUT, &url, Some(json!({"name": "Sync", "type": "WORKER", "scopes": ["c:read"]})), 400).await;
    assert!(has_detail(&error, "INVALID_VALUE", "scopes[0]"), "{error}");
    assert_eq!(app.get(&url, 200).await, replaced, "a refused replacement changes nothing");
    let cleared = app.call(Method::PUT, &url, Some(json!({"name": "Sync", "type": "WORKER"})), 200).await;
    assert_eq!(cleared["scopes"], json!(["p1:admin"]), "omitted scopes return to the worker default");
}

#[tokio::test]
async fn a_scope_that_applications_list_cannot_be_deleted_or_renamed() {
    let app = TestApp::spawn().await;
    let scope = app.post(&app.env_url("/scopes"), json!({"name": "invoices:read"}), 201).await;
    let scope_url = self_href(&scope);
    let mut users = Vec::new();
    for name in ["One", "Two"] {
        let body = json!({"name": name, "type": "WORKER", "scopes": ["invoices:read"]});
        users.push(self_href(&app.create_app(body).await));
    }
    let error = app.call(Method::DELETE, &scope_url, None, 400).await;
    assert_error(&error, "INVALID_DATA");
    assert!(error["message"].as_str().unwrap().contains("2 applications"), "{error}");
    let error = app.call(Method::PUT, &scope_url, Some(json!({"name": "invoices:view"})), 400).await;
    assert!(has_detail(&error, "INVALID_VALUE", "name"), "{error}");
    // Other settings may still change.
    app.call(Method::PUT, &scope_url, Some(json!({"name": "invoices:read", "consent": "FLEXIBLE"})), 200).await;
    // An application of another environment listing a scope of the same name does not hold this one.
    let other = app.other_environment().await;
    let other_base = format!("{}/v1/environments/{}", app.base, other.env_id);
    let (client, token) = (&app.client, &other.token);
    let post = |path: &'static str, body: Value| {
        let url = format!("{other_base}{path}");
        async move { call_with(client, token, Method::POST, &url, Some(body), 201).await }
    };
    post("/scopes", json!({"name": "invoices:read"})).await;
    post("/applications", json!({"name": "Elsewhere", "type": "WORKER", "scopes": ["invoices:read"]})).await;

    app.call(Method::PUT, &users[0], Some(json!({"name": "One", "type": "WORKER"})), 200).await;
    let error = app.call(Method::DELETE, &scope_url, None, 400).await;
    assert!(error["message"].as_str().unwrap().contains("1 application lists"), "{error}");
    app.call(Method::DELETE, &users[1], None, 204).await;
    app.call(Method::DELETE, &scope_url, None, 204).await;
    app.get(&scope_url, 404).await;
}
