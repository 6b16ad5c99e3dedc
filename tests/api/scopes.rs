//! Scopes with consent policies, the public scope list, discovery metadata, and client_credentials rules.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, assert_error, assert_oauth_error, has_detail};

#[tokio::test]
async fn every_environment_has_the_openid_scopes_and_they_stay() {
    let app = TestApp::spawn().await;
    let page = app.get(&app.env_url("/scopes"), 200).await;
    let names: Vec<&str> =
        page["_embedded"]["scopes"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "openid",
            "profile",
            "email",
            "phone",
            "address",
            "offline_access",
            "p1:read:oauthConsents",
            "p1:update:oauthConsents"
        ]
    );
    let openid = &page["_embedded"]["scopes"][0];
    assert_eq!(openid["consent"], "IMPLICIT");
    assert_eq!(openid["builtIn"], true);
    let href = page["_embedded"]["scopes"][1]["_links"]["self"]["href"].as_str().unwrap().to_owned();
    let body = app.call(Method::DELETE, &href, None, 400).await;
    assert_error(&body, "INVALID_DATA");
    let body = app.call(Method::PUT, &href, Some(json!({"name":"profile2"})), 400).await;
    assert!(has_detail(&body, "INVALID_VALUE", "name"), "{body}");
    // Its policy may change.
    let changed = app
        .call(Method::PUT, &href, Some(json!({"name":"profile","consent":"FLEXIBLE","description":"Your name"})), 200)
        .await;
    assert_eq!(changed["consent"], "FLEXIBLE");
}

#[tokio::test]
async fn custom_scopes_are_managed_and_validated() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            &app.env_url("/scopes"),
            json!({"name":"invoices:read","description":"Read your invoices","consent":"FLEXIBLE"}),
            201,
        )
        .await;
    assert_eq!(created["consent"], "FLEXIBLE");
    assert_eq!(created["blockServices"], false);
    assert_eq!(created["builtIn"], false);
    let body = app.post(&app.env_url("/scopes"), json!({"name":"invoices:read"}), 400).await;
    assert!(has_detail(&body, "UNIQUENESS_VIOLATION", "name"), "{body}");
    for (bad, code, target) in [
        (json!({"name":"two words"}), "INVALID_VALUE", "name"),
        (json!({"name":"x","consent":"SOMETIMES"}), "INVALID_VALUE", "consent"),
        (json!({"description":"no name"}), "REQUIRED_VALUE", "name"),
    ] {
        let body = app.post(&app.env_url("/scopes"), bad.clone(), 400).await;
        assert!(has_detail(&body, code, target), "{bad} → {body}");
    }
    let href = created["_links"]["self"]["href"].as_str().unwrap();
    app.call(Method::DELETE, href, None, 204).await;
    app.get(href, 404).await;
    let other = app.other_environment().await;
    let body =
        crate::helpers::call_with(&app.client, &other.token, Method::GET, &app.env_url("/scopes"), None, 404).await;
    assert_error(&body, "NOT_FOUND");
}

#[tokio::test]
async fn public_scope_list_and_discovery_need_no_token() {
    let app = TestApp::spawn().await;
    app.post(&app.env_url("/scopes"), json!({"name":"invoices:read","description":"Read your invoices"}), 201).await;
    let scopes: serde_json::Value =
        app.client.get(format!("{}/{}/as/scopes", app.base, app.env_id)).send().await.unwrap().json().await.unwrap();
    let invoices = scopes["scopes"].as_array().unwrap().iter().find(|s| s["name"] == "invoices:read").unwrap();
    assert_eq!(invoices, &json!({"name":"invoices:read","description":"Read your invoices","consent":"REQUIRED"}));
    for path in [".well-known/openid-configuration", ".well-known/oauth-authorization-server"] {
        let meta: serde_json::Value = app
            .client
            .get(format!("{}/{}/as/{path}", app.base, app.env_id))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let issuer = format!("{}/{}/as", app.base, app.env_id);
        assert_eq!(meta["issuer"], issuer);
        assert_eq!(meta["token_endpoint"], format!("{issuer}/token"));
        assert_eq!(meta["jwks_uri"], format!("{issuer}/jwks"));
        assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
        assert!(meta["scopes_supported"].as_array().unwrap().contains(&json!("invoices:read")));
    }
    let missing = app.client.get(format!("{}/{}/as/scopes", app.base, uuid::Uuid::now_v7())).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn client_credentials_follow_each_scope_policy() {
    let app = TestApp::spawn().await;
    let scope = |name: &str, consent: &str, block: bool| json!({"name":name,"consent":consent,"blockServices":block});
    for body in [
        scope("reports:read", "REQUIRED", true),
        scope("reports:export", "FLEXIBLE", true),
        scope("status:read", "IMPLICIT", true),
        scope("audit:read", "REQUIRED", false),
    ] {
        app.post(&app.env_url("/scopes"), body, 201).await;
    }
    grant_to_admin(&app, &["p1:admin", "reports:read", "reports:export", "status:read", "audit:read"]).await;
    let app = &app;
    let ask = |scope: &'static str| async move {
        let basic = Some((app.client_id.as_str(), app.client_secret.as_str()));
        app.token_request(&app.env_id, basic, &[("grant_type", "client_credentials"), ("scope", scope)]).await
    };
    let refused = ask("reports:read").await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error"], "invalid_scope");
    let refused = ask("reports:export").await;
    assert_eq!(refused.json()["error"], "invalid_scope", "FLEXIBLE still needs a user when services are blocked");
    let granted = ask("status:read audit:read p1:admin").await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    assert_eq!(granted.json()["scope"], "status:read audit:read p1:admin");
    let refused = ask("email").await;
    assert_eq!(refused.json()["error"], "invalid_scope", "OpenID Connect scopes describe a user");
}

/// Lists `scopes` on the bootstrap worker with a full replace that keeps its other settings.
async fn grant_to_admin(app: &TestApp, scopes: &[&str]) {
    let url = app.env_url(&format!("/applications/{}", app.client_id));
    let current = app.get(&url, 200).await;
    let mut body = json!({"scopes": scopes});
    for key in [
        "name",
        "description",
        "enabled",
        "type",
        "grantTypes",
        "responseTypes",
        "redirectUris",
        "tokenEndpointAuthMethod",
        "pkceEnforcement",
        "consentMethod",
    ] {
        body[key] = current[key].clone();
    }
    let replaced = app.call(Method::PUT, &url, Some(body), 200).await;
    assert_eq!(replaced["scopes"], json!(scopes));
    assert_eq!(replaced["grantTypes"], current["grantTypes"]);
}

#[tokio::test]
async fn client_credentials_refuse_an_environment_scope_not_granted_to_the_application() {
    let app = TestApp::spawn().await;
    for name in ["status:read", "audit:read"] {
        app.post(&app.env_url("/scopes"), json!({"name": name, "consent": "IMPLICIT"}), 201).await;
    }
    let basic = Some((app.client_id.as_str(), app.client_secret.as_str()));
    let app = &app;
    let ask = |scope: &'static str| async move {
        app.token_request(&app.env_id, basic, &[("grant_type", "client_credentials"), ("scope", scope)]).await
    };
    let refused = ask("status:read").await;
    let body = assert_oauth_error(&refused, 400, "invalid_scope");
    assert!(body["error_description"].as_str().unwrap().contains("not granted to this application"), "{body}");
    grant_to_admin(app, &["p1:admin", "status:read"]).await;
    let granted = ask("status:read p1:admin").await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    assert_eq!(granted.json()["scope"], "status:read p1:admin");
    assert_oauth_error(&ask("status:read audit:read").await, 400, "invalid_scope");
    // The worker's management token comes alone when asked for alone.
    assert_eq!(ask("p1:admin").await.json()["scope"], "p1:admin");
}
