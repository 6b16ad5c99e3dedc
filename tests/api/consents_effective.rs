//! The folded view account pages render: `…/oauthConsents/effective` without `application.id`
//! lists every application the user has granted something to now, with the records behind it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::consents_access::user_token;
use crate::consents_record::record;
use crate::helpers::{TestApp, call_with};
use assent::auth::principal::READ_CONSENTS_SCOPE;

fn external(name: &str, scope: &[&str], status: &str) -> Value {
    json!({"application": {"name": name, "appType": "EXTERNAL"}, "scope": scope, "status": status})
}

fn ids(records: &[&Value]) -> Value {
    json!(records.iter().map(|r| r["id"].clone()).collect::<Vec<_>>())
}

#[tokio::test]
async fn without_an_application_the_effective_view_lists_every_granted_application_with_its_records() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let bob = app.create_user("bob").await["id"].as_str().unwrap().to_owned();
    let printer = app
        .create_app(json!({"name": "Printer", "type": "WEB_APP", "redirectUris": ["https://printer.example/cb"]}))
        .await;
    let printer_id = printer["id"].as_str().unwrap().to_owned();
    let registered = |scope: &[&str]| json!({"application": {"id": printer_id}, "scope": scope, "status": "ACCEPTED"});

    let printer_first = record(&app, &alice, registered(&["openid", "email"])).await;
    let printer_second = record(&app, &alice, registered(&["openid", "profile"])).await;
    let kiosk = record(&app, &alice, external("Kiosk", &["openid"], "ACCEPTED")).await;
    record(&app, &alice, external("Scanner", &["openid"], "DECLINED")).await;
    let notes = record(&app, &alice, external("Notes", &["notes.read"], "ACCEPTED")).await;
    record(&app, &bob, external("Kiosk", &["openid"], "ACCEPTED")).await;
    // Kiosk's grant is withdrawn; the printer is renamed since.
    let revoke = kiosk["_links"]["consent.revoke"]["href"].as_str().unwrap();
    app.call(Method::PATCH, revoke, Some(json!({"status": "REVOKED"})), 200).await;
    let rename = json!({"name": "Printer Pro", "type": "WEB_APP", "redirectUris": ["https://printer.example/cb"]});
    app.call(Method::PUT, &app.env_url(&format!("/applications/{printer_id}")), Some(rename), 200).await;

    let url = app.env_url(&format!("/users/{alice}/oauthConsents/effective"));
    let every = app.get(&url, 200).await;
    assert_eq!(every["_links"]["self"]["href"], url);
    assert_eq!((every["count"].clone(), every["size"].clone()), (json!(2), json!(2)), "{every}");
    let granted = every["_embedded"]["effectiveConsents"].as_array().unwrap();
    // The most recently granted first; revoked and declined grant nothing.
    assert_eq!(granted[0]["applicationName"], "Notes");
    assert_eq!(granted[0]["applicationType"], "EXTERNAL");
    assert_eq!(granted[0]["consentIds"], ids(&[&notes]));
    assert_eq!(granted[1]["application"]["id"], printer_id.as_str());
    assert_eq!(granted[1]["applicationName"], "Printer Pro", "a registered application's current name");
    assert_eq!(granted[1]["applicationType"], "PINGONE");
    assert_eq!(granted[1]["user"]["id"], alice.as_str());
    assert_eq!(granted[1]["scope"], json!(["openid", "email", "profile"]), "scopes in the order first granted");
    assert_eq!(granted[1]["consentIds"], ids(&[&printer_second, &printer_first]));
    let behind = granted[1]["_embedded"]["oauthConsents"].as_array().unwrap();
    assert_eq!(json!(behind.iter().map(|r| r["id"].clone()).collect::<Vec<_>>()), granted[1]["consentIds"]);
    assert!(behind.iter().all(|r| r["status"] == "ACCEPTED" && r["_links"]["consent.revoke"].is_object()));

    // The one-application answer agrees with its entry.
    let one = app.get(&format!("{url}?application.id={printer_id}"), 200).await;
    assert_eq!(one["scope"], granted[1]["scope"]);
    assert_eq!(one["consentIds"], granted[1]["consentIds"]);

    // Alice's own read-only token sees the same grants, without links she could not follow.
    let reader = user_token(&app, &alice, &[READ_CONSENTS_SCOPE]).await;
    let own = call_with(&app.client, &reader, Method::GET, &url, None, 200).await;
    assert_eq!(own["count"], 2);
    for grant in own["_embedded"]["effectiveConsents"].as_array().unwrap() {
        for record in grant["_embedded"]["oauthConsents"].as_array().unwrap() {
            assert!(record["_links"].get("consent.revoke").is_none(), "{record}");
        }
    }
    // Nor can it read Bob's.
    call_with(
        &app.client,
        &reader,
        Method::GET,
        &app.env_url(&format!("/users/{bob}/oauthConsents/effective")),
        None,
        404,
    )
    .await;

    // Revoking the printer's records empties its entry.
    for record in behind {
        app.call(
            Method::PATCH,
            record["_links"]["consent.revoke"]["href"].as_str().unwrap(),
            Some(json!({"status": "REVOKED"})),
            200,
        )
        .await;
    }
    let after = app.get(&url, 200).await;
    let names: Vec<&str> = after["_embedded"]["effectiveConsents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["applicationName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Notes"]);
}

#[tokio::test]
async fn a_user_without_grants_has_an_empty_effective_view() {
    let app = TestApp::spawn().await;
    let carol = app.create_user("carol").await["id"].as_str().unwrap().to_owned();
    record(&app, &carol, external("Kiosk", &["openid"], "DECLINED")).await;
    let every = app.get(&app.env_url(&format!("/users/{carol}/oauthConsents/effective")), 200).await;
    assert_eq!(every["count"], 0);
    assert_eq!(every["_embedded"]["effectiveConsents"], json!([]));
}
