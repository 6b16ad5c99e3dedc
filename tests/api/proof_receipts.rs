//! Consent receipts: a record signed by its environment, with the controller the environment names
//! and the exact scope texts the consent page showed (kept as versions), verified by the
//! independent `jose` library against the public JWKS alone.

use std::path::PathBuf;
use std::sync::OnceLock;

use reqwest::Method;
use serde_json::{Value, json};

use crate::flow::{records, tokens};
use crate::helpers::{Answer, TestApp, assert_error};
use crate::node_project::NodeProject;

const JOSE: NodeProject =
    NodeProject { dir: "jose", package: "jose", what: "the receipt verifier does not type-check" };

fn compiled_verifier() -> PathBuf {
    static COMPILED: OnceLock<PathBuf> = OnceLock::new();
    JOSE.compiled(&COMPILED, "verify-receipt", |_| {})
}

async fn receipt(app: &TestApp, user: &str, record: &str, token: &str) -> Answer {
    let url = app.env_url(&format!("/users/{user}/oauthConsents/{record}/receipt"));
    Answer::of(app.client.get(url).bearer_auth(token)).await
}

async fn scope_id(app: &TestApp, name: &str) -> String {
    let scopes = app.get(&app.env_url("/scopes?limit=1000"), 200).await;
    let scope = scopes["_embedded"]["scopes"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap().clone();
    scope["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_receipt_names_the_controller_and_the_text_the_user_saw_and_verifies_with_jose_and_the_jwks_alone() {
    let app = TestApp::spawn().await;
    let controller = json!({"controllerName": "Invoice Printer Ltd", "controllerContact": "privacy@printer.example",
                            "privacyPolicyUrl": "https://printer.example/privacy"});
    let environment = app.call(Method::PATCH, &app.env_url(""), Some(controller), 200).await;
    assert_eq!(environment["controllerName"], "Invoice Printer Ltd");
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    tokens(&app, &fixture, &browser, "openid invoices:write", None).await;
    let record = records(&app, &fixture).await.remove(0);
    let record_id = record["id"].as_str().unwrap();

    // The text changes after the user consented: a new version; the old one is kept.
    let write = scope_id(&app, "invoices:write").await;
    let changed = json!({"name": "invoices:write", "consent": "REQUIRED", "description": "Create and send invoices in your name"});
    app.call(Method::PUT, &app.env_url(&format!("/scopes/{write}")), Some(changed), 200).await;
    let versions = app.get(&app.env_url(&format!("/scopes/{write}/versions")), 200).await;
    let texts: Vec<(&Value, &Value)> = versions["_embedded"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (&v["version"], &v["description"]))
        .collect();
    assert_eq!(
        texts,
        [
            (&json!(2), &json!("Create and send invoices in your name")),
            (&json!(1), &json!("Use your invoices (invoices:write)"))
        ]
    );
    // One version a page: the next link leads to the older one, and there it ends.
    let first = app.get(&app.env_url(&format!("/scopes/{write}/versions?limit=1")), 200).await;
    assert_eq!(first["_embedded"]["versions"][0]["version"], 2);
    let next = first["_links"]["next"]["href"].as_str().unwrap().to_owned();
    let second = app.get(&next, 200).await;
    assert_eq!(second["_embedded"]["versions"][0]["version"], 1);
    assert!(second["_links"].get("next").is_none(), "{second}");

    let answer = receipt(&app, &fixture.user_id, record_id, &app.token).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.headers["content-type"], "application/jwt");
    if !JOSE.installed() {
        return;
    }
    let issuer = format!("{}/{}/as", app.base, app.env_id);
    let env = vec![("RECEIPT", answer.text.clone()), ("JWKS_URL", format!("{issuer}/jwks")), ("ISSUER", issuer)];
    let verified = JOSE.run(compiled_verifier(), env).await;
    let (header, claims) = (&verified["header"], &verified["claims"]);
    assert_eq!(header["typ"], "consent-receipt+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["version"], "KI-CR-v1.1.0");
    assert_eq!(claims["sub"], json!(fixture.user_id));
    assert_eq!(claims["recordId"], json!(record_id));
    assert_eq!(claims["collectionMethod"], "CONSENT_PAGE");
    assert_eq!(claims["status"], "ACCEPTED");
    assert_eq!(
        claims["piiControllers"],
        json!([{"piiController": "Invoice Printer Ltd", "contact": "privacy@printer.example"}])
    );
    assert_eq!(claims["policyUrl"], "https://printer.example/privacy");
    let purposes = claims["services"][0]["purposes"].as_array().unwrap();
    let written = purposes.iter().find(|p| p["scope"] == "invoices:write").unwrap();
    assert_eq!(written["text"], "Use your invoices (invoices:write)", "the text as shown, not as it is now");
    assert_eq!(written["textVersion"], 1);
    assert_eq!(claims["services"][0]["serviceId"], record["application"]["id"]);
    // Tied to the record's place in the event chain.
    let ledger = claims["ledger"].as_array().unwrap();
    assert_eq!(ledger[0]["type"], "consent.recorded");
    let events = app.get(&app.env_url("/consentEvents?limit=1000"), 200).await;
    let recorded = events["_embedded"]["consentEvents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subjectId"] == json!(record_id))
        .unwrap()
        .clone();
    assert_eq!((&ledger[0]["sequence"], &ledger[0]["hash"]), (&recorded["sequence"], &recorded["hash"]));
}

#[tokio::test]
async fn a_receipt_is_for_the_user_and_their_environment_only() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    tokens(&app, &fixture, &app.browser(), "openid invoices:write", None).await;
    let record = records(&app, &fixture).await.remove(0);
    let record_id = record["id"].as_str().unwrap();
    let other = app.other_environment().await;
    let answer = receipt(&app, &fixture.user_id, record_id, &other.token).await;
    assert!(matches!(answer.status, 401 | 403 | 404), "{}", answer.status);
    let stranger = app.create_user("stranger").await["id"].as_str().unwrap().to_owned();
    let answer = receipt(&app, &stranger, record_id, &app.token).await;
    assert_eq!(answer.status, 404, "another user's path does not reach the record");
    assert_error(&answer.json(), "NOT_FOUND");
}

#[tokio::test]
async fn controller_settings_are_validated_and_bounded() {
    let app = TestApp::spawn().await;
    for (field, value) in [
        ("controllerName", json!("")),
        ("controllerName", json!("x".repeat(201))),
        ("controllerContact", json!("not a contact")),
        ("controllerContact", json!("ftp://printer.example")),
        ("privacyPolicyUrl", json!("http://printer.example/privacy")),
        ("privacyPolicyUrl", json!(format!("https://printer.example/{}", "p".repeat(2100)))),
    ] {
        let answer =
            Answer::of(app.client.patch(app.env_url("")).bearer_auth(&app.token).json(&json!({field: value}))).await;
        assert_eq!(answer.status, 400, "{field}: {}", answer.text);
        assert!(answer.text.contains(field), "{field}: {}", answer.text);
    }
    let set = json!({"controllerName": "Printer", "controllerContact": "https://printer.example/contact"});
    app.call(Method::PATCH, &app.env_url(""), Some(set), 200).await;
    let cleared = app.call(Method::PATCH, &app.env_url(""), Some(json!({"controllerName": null})), 200).await;
    assert!(cleared.get("controllerName").is_none());
    assert_eq!(cleared["controllerContact"], "https://printer.example/contact");
}
