//! Webhook subscriptions: managed by administrators, with a Standard Webhooks secret shown only
//! when made, and destinations that cannot point the service at its own network.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, assert_error, has_detail};

fn hook(n: usize) -> Value {
    json!({"url": format!("http://127.0.0.1:9/hook-{n}"), "eventTypes": ["consent.revoked", "user.erased"]})
}

fn secret_bytes(secret: &Value) -> Vec<u8> {
    let text = secret.as_str().unwrap();
    let encoded = text.strip_prefix("whsec_").unwrap_or_else(|| panic!("Standard Webhooks secret: {text}"));
    base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()
}

#[tokio::test]
async fn a_subscription_is_made_listed_replaced_rotated_and_deleted_and_its_secret_shown_only_when_made() {
    let app = TestApp::spawn_with(|config| config.webhook_allow_private = true).await;
    let answer =
        Answer::of(app.client.post(app.env_url("/subscriptions")).bearer_auth(&app.token).json(&hook(1))).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let created = answer.json();
    assert_eq!(answer.headers["location"], created["_links"]["self"]["href"].as_str().unwrap());
    assert_eq!(secret_bytes(&created["secret"]).len(), 32);
    assert_eq!(created["eventTypes"], json!(["consent.revoked", "user.erased"]));
    assert_eq!(created["enabled"], true);
    let url = created["_links"]["self"]["href"].as_str().unwrap().to_owned();

    let listed = app.get(&app.env_url("/subscriptions"), 200).await;
    assert_eq!(listed["size"], 1);
    assert!(listed["_embedded"]["subscriptions"][0].get("secret").is_none(), "the secret is shown once");
    let read = app.get(&url, 200).await;
    assert!(read.get("secret").is_none());
    assert_eq!(read["url"], "http://127.0.0.1:9/hook-1");

    let replaced = app
        .call(
            Method::PUT,
            &url,
            Some(json!({"url": "http://127.0.0.1:9/other", "eventTypes": ["consent.recorded"], "enabled": false})),
            200,
        )
        .await;
    assert_eq!((&replaced["url"], &replaced["enabled"]), (&json!("http://127.0.0.1:9/other"), &json!(false)));
    assert_eq!(replaced["eventTypes"], json!(["consent.recorded"]));

    let rotate = created["_links"]["secret.rotate"]["href"].as_str().unwrap();
    let rotated = app.call(Method::POST, rotate, None, 200).await;
    assert_eq!(secret_bytes(&rotated["secret"]).len(), 32);
    assert_ne!(rotated["secret"], created["secret"]);

    app.call(Method::DELETE, &url, None, 204).await;
    assert_error(&app.get(&url, 404).await, "NOT_FOUND");
    assert_eq!(app.get(&app.env_url("/subscriptions"), 200).await["size"], 0);
}

#[tokio::test]
async fn destinations_on_loopback_private_or_link_local_networks_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://93.184.215.14/hook",
        "https://user:secret@93.184.215.14/hook",
    ] {
        let body = json!({"url": url, "eventTypes": ["consent.revoked"]});
        let refused = app.post(&app.env_url("/subscriptions"), body, 400).await;
        assert!(has_detail(&refused, "INVALID_VALUE", "url"), "{url}: {refused}");
    }
    for types in [json!([]), json!(["consent.edited"])] {
        let body = json!({"url": "https://93.184.215.14/hook", "eventTypes": types});
        let refused = app.post(&app.env_url("/subscriptions"), body, 400).await;
        assert!(has_detail(&refused, "INVALID_VALUE", "eventTypes"), "{types}: {refused}");
    }
    let long = json!({"url": format!("https://93.184.215.14/{}", "a".repeat(2100)), "eventTypes": ["consent.revoked"]});
    app.post(&app.env_url("/subscriptions"), long, 400).await;
    assert_eq!(app.get(&app.env_url("/subscriptions"), 200).await["size"], 0);
    // A public address literal needs no resolution and is accepted.
    let public = json!({"url": "https://93.184.215.14/hook", "eventTypes": ["consent.revoked"]});
    app.post(&app.env_url("/subscriptions"), public, 201).await;
}

#[tokio::test]
async fn an_environment_has_at_most_fifty_subscriptions() {
    let app = TestApp::spawn_with(|config| config.webhook_allow_private = true).await;
    for n in 0..50 {
        app.post(&app.env_url("/subscriptions"), hook(n), 201).await;
    }
    let refused = app.post(&app.env_url("/subscriptions"), hook(50), 400).await;
    assert_error(&refused, "INVALID_DATA");
    assert_eq!(app.get(&app.env_url("/subscriptions"), 200).await["size"], 50);
}
