//! The authorization-code flow end to end, as a browser and a client application drive it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, Fixture, Pkce, REDIRECT_URI, USERNAME, jwt_claims, param};
use crate::helpers::{Answer, TestApp, assert_error, assert_oauth_error, call_with};

pub const ASKED: &str = "openid profile email invoices:read invoices:write";

/// Signs in and answers the consent page of a fresh authorization.
pub async fn consent_page(browser: &Browser, fixture: &Fixture, pkce: &Pkce, scope: &str) -> Answer {
    let login = browser.authorize(&fixture.client_id, pkce, scope, &[]).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let consent = browser.sign_in(&login).await;
    assert_eq!(consent.status, 200, "consent page: {} {:?}", consent.text, consent.header("Location"));
    consent
}

/// Approves `scope` (keeping the flexible ones in `keep`) and exchanges the code; answers the token JSON.
pub async fn tokens(app: &TestApp, fixture: &Fixture, browser: &Browser, scope: &str, keep: Option<&[&str]>) -> Value {
    let pkce = Pkce::new();
    let page = consent_page(browser, fixture, &pkce, scope).await;
    let back = browser.decide(&page, "approve", keep).await;
    assert_eq!(back.status, 303, "{}", back.text);
    let code = param(back.header("Location").unwrap(), "code").expect("code");
    let answer = app.exchange_code(fixture, &code, &pkce.verifier).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

pub async fn records(app: &TestApp, fixture: &Fixture) -> Vec<Value> {
    let page = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await;
    page["_embedded"]["oauthConsents"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_user_signs_in_consents_in_part_and_the_client_gets_what_was_granted() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    let pkce = Pkce::new();

    let login = browser.authorize(&fixture.client_id, &pkce, ASKED, &[]).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.header("X-Frame-Options"), Some("DENY"));
    let csp = login.header("Content-Security-Policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(login.header("Set-Cookie").unwrap().contains("HttpOnly"), "session cookie");
    assert!(login.text.contains("Invoice Printer") && !login.text.contains("<script"), "{}", login.text);

    let page = browser.sign_in(&login).await;
    assert_eq!(page.status, 200, "{}", page.text);
    for description in ["Use your invoices (invoices:read)", "Use your invoices (invoices:write)", "Read your e-mail"] {
        assert!(page.text.contains(description), "{description} on the page");
    }
    assert!(page.text.contains("type=\"checkbox\" name=\"scope\" value=\"invoices:read\""), "flexible is a box");
    assert!(!page.text.contains("value=\"openid\""), "implicit scopes are not asked about");

    let back = browser.decide(&page, "approve", Some(&[])).await;
    assert_eq!(back.status, 303, "{}", back.text);
    let location = back.header("Location").unwrap();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(param(location, "state").as_deref(), Some("st&te=1 2"), "state comes back unmodified");
    assert_eq!(param(location, "iss").as_deref(), Some(browser.issuer.as_str()));
    let code = param(location, "code").expect("code");

    let answer = app.exchange_code(&fixture, &code, &pkce.verifier).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("Cache-Control"), Some("no-store"));
    let granted = answer.json();
    assert_eq!(granted["token_type"], "Bearer");
    assert_eq!(granted["scope"], "openid profile email invoices:write", "the unticked scope is not granted");
    assert!(granted["refresh_token"].is_string() && granted["id_token"].is_string(), "{granted}");
    let id_token = app.verified_id_token(granted["id_token"].as_str().unwrap(), &fixture.client_id).await;
    assert_eq!(id_token["aud"], fixture.client_id.as_str());
    assert_eq!(id_token["sub"], fixture.user_id.as_str());
    assert_eq!(id_token["iss"], browser.issuer.as_str());
    assert_eq!(id_token["nonce"], "n-0S6_WzA2Mj");
    assert!(id_token["auth_time"].as_i64().unwrap() <= id_token["iat"].as_i64().unwrap());
    let access_claims = jwt_claims(granted["access_token"].as_str().unwrap());
    assert_eq!(access_claims["sub"], fixture.user_id.as_str());
    assert!(access_claims["gid"].is_string(), "user tokens name their grant");

    let info = Answer::of(
        app.client.get(format!("{}/userinfo", browser.issuer)).bearer_auth(granted["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(info.status, 200, "{}", info.text);
    let info = info.json();
    assert_eq!(info["sub"], fixture.user_id.as_str());
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["preferred_username"], USERNAME);
    assert_eq!(info["name"], "Ada Lovelace");
    let worker = Answer::of(app.client.get(format!("{}/userinfo", browser.issuer)).bearer_auth(&app.token)).await;
    assert_eq!(worker.status, 403, "a worker token has no user: {}", worker.text);
    assert!(worker.header("WWW-Authenticate").unwrap().contains("insufficient_scope"));
    let anonymous = Answer::of(app.client.get(format!("{}/userinfo", browser.issuer))).await;
    assert_eq!(anonymous.status, 401);

    // The ledger holds what was granted this time, enriched from the browser, and says how.
    let records = records(&app, &fixture).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record["status"], "ACCEPTED");
    assert_eq!(record["source"], "CONSENT_PAGE");
    assert_eq!(record["scope"], json!(["openid", "profile", "email", "invoices:write"]));
    assert_eq!(record["application"]["id"], fixture.client_id.as_str());
    assert_eq!(record["browser"]["name"], "Chrome");
    assert_eq!(record["operatingSystem"]["name"], "Mac OS");
    assert!(record["_links"]["consent.revoke"].is_object());

    let introspection = app.introspect(&fixture, granted["access_token"].as_str().unwrap()).await;
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["sub"], fixture.user_id.as_str());
    assert_eq!(introspection["client_id"], fixture.client_id.as_str());
}

#[tokio::test]
async fn remembered_consent_skips_the_page_and_new_scopes_ask_only_for_themselves() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    tokens(&app, &fixture, &browser, "openid profile", None).await;

    // Same scopes again: a code at once, no page, no new record.
    let pkce = Pkce::new();
    let again = browser.authorize(&fixture.client_id, &pkce, "openid profile", &[]).await;
    assert_eq!(again.status, 302, "{}", again.text);
    assert!(param(again.header("Location").unwrap(), "code").is_some());
    assert_eq!(records(&app, &fixture).await.len(), 1);

    // prompt=none works while nothing needs asking, and refuses when something would.
    let silent = browser.authorize(&fixture.client_id, &pkce, "openid profile", &[("prompt", "none")]).await;
    assert!(param(silent.header("Location").unwrap(), "code").is_some());
    let silent = browser.authorize(&fixture.client_id, &pkce, "openid email", &[("prompt", "none")]).await;
    assert_eq!(param(silent.header("Location").unwrap(), "error").as_deref(), Some("consent_required"));
    assert_eq!(param(silent.header("Location").unwrap(), "state").as_deref(), Some("st&te=1 2"));

    // One more scope: the page asks for it alone, and the new record holds it alone.
    let page = browser.authorize(&fixture.client_id, &pkce, "openid profile email", &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("value=\"email\"") && !page.text.contains("value=\"profile\""), "{}", page.text);
    let back = browser.decide(&page, "approve", None).await;
    let code = param(back.header("Location").unwrap(), "code").unwrap();
    let granted = app.exchange_code(&fixture, &code, &pkce.verifier).await.json();
    assert_eq!(granted["scope"], "openid profile email");
    let records = records(&app, &fixture).await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["scope"], json!(["email"]));

    // prompt=consent always asks, even for what is on record.
    let page = browser.authorize(&fixture.client_id, &pkce, "openid profile", &[("prompt", "consent")]).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("value=\"profile\""));

    // prompt=login shows the login page although the browser is signed in.
    let page = browser.authorize(&fixture.client_id, &pkce, "openid profile", &[("prompt", "login")]).await;
    assert!(page.text.contains("name=\"password\""), "{}", page.text);
}

#[tokio::test]
async fn denying_records_a_declined_consent_and_tells_the_client() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    let page = consent_page(&browser, &fixture, &Pkce::new(), ASKED).await;
    let back = browser.decide(&page, "deny", None).await;
    assert_eq!(back.status, 303);
    let location = back.header("Location").unwrap();
    assert_eq!(param(location, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(location, "state").as_deref(), Some("st&te=1 2"));
    assert!(param(location, "code").is_none());
    let records = records(&app, &fixture).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "DECLINED");
    assert_eq!(records[0]["scope"], json!(["profile", "email", "invoices:read", "invoices:write"]));
}

#[tokio::test]
async fn the_decision_is_accepted_as_json_with_approval_true() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    let pkce = Pkce::new();
    let page = consent_page(&browser, &fixture, &pkce, "openid invoices:read").await;
    let body = json!({
        "csrf_token": crate::browser::hidden(&page.text, "csrf_token").unwrap(),
        "client_id": fixture.client_id,
        "redirect_uri": REDIRECT_URI,
        "state": "st&te=1 2",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "approval": true,
    });
    let back = Answer::of(browser.client.post(format!("{}/consent", browser.issuer)).json(&body)).await;
    assert_eq!(back.status, 303, "{}", back.text);
    let code = param(back.header("Location").unwrap(), "code").unwrap();
    let granted = app.exchange_code(&fixture, &code, &pkce.verifier).await.json();
    assert_eq!(granted["scope"], "openid invoices:read", "absent scope in JSON grants everything asked");
}

#[tokio::test]
async fn trusted_applications_skip_the_page_and_the_record_says_implicit() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("TRUSTED").await;
    let browser = app.browser();
    let pkce = Pkce::new();
    let login = browser.authorize(&fixture.client_id, &pkce, ASKED, &[]).await;
    let back = browser.sign_in(&login).await;
    assert_eq!(back.status, 302, "{}", back.text);
    let code = param(back.header("Location").unwrap(), "code").unwrap();
    let granted = app.exchange_code(&fixture, &code, &pkce.verifier).await.json();
    assert_eq!(granted["scope"], ASKED);
    let records = records(&app, &fixture).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "ACCEPTED");
    assert_eq!(records[0]["source"], "IMPLICIT");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let first = tokens(&app, &fixture, &app.browser(), "openid invoices:write", None).await;
    let first_refresh = first["refresh_token"].as_str().unwrap();

    let second = app.refresh(&fixture, first_refresh).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let second = second.json();
    assert_eq!(second["scope"], "openid invoices:write");
    let second_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(app.introspect(&fixture, second_refresh).await["active"], true);
    assert_eq!(app.introspect(&fixture, first_refresh).await["active"], false, "a used one is inactive");

    // Someone replays the first one: refused, and the whole family ends.
    assert_oauth_error(&app.refresh(&fixture, first_refresh).await, 400, "invalid_grant");
    assert_oauth_error(&app.refresh(&fixture, second_refresh).await, 400, "invalid_grant");
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(&fixture, access).await["active"], false);
}

#[tokio::test]
async fn revoking_the_consent_record_ends_its_tokens_and_users_can_do_it_themselves() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let granted = tokens(
        &app,
        &fixture,
        &app.browser(),
        "openid invoices:write p1:read:oauthConsents p1:update:oauthConsents",
        None,
    )
    .await;
    let access = granted["access_token"].as_str().unwrap();
    let refresh = granted["refresh_token"].as_str().unwrap();

    // The user's own token lists their records and follows the consent.revoke link.
    let own = app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id));
    let page = call_with(&app.client, access, Method::GET, &own, None, 200).await;
    let record = page["_embedded"]["oauthConsents"][0].clone();
    let revoke = record["_links"]["consent.revoke"]["href"].as_str().unwrap();
    let response = Answer::of(
        app.client
            .patch(revoke)
            .bearer_auth(access)
            .header("Content-Type", "application/vnd.pingidentity.consent.revoke+json")
            .body(r#"{"status":"REVOKED"}"#),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json()["status"], "REVOKED");

    // Everything issued under the record is dead at once.
    assert_eq!(app.introspect(&fixture, access).await["active"], false);
    assert_eq!(app.introspect(&fixture, refresh).await["active"], false);
    assert_oauth_error(&app.refresh(&fixture, refresh).await, 400, "invalid_grant");
    let refused = call_with(&app.client, access, Method::GET, &own, None, 401).await;
    assert_error(&refused, "ACCESS_FAILED");
    let info = Answer::of(app.client.get(format!("{}/{}/as/userinfo", app.base, app.env_id)).bearer_auth(access)).await;
    assert_eq!(info.status, 401);
    assert!(info.header("WWW-Authenticate").unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn rfc_7009_revocation_ends_an_access_token_or_a_whole_grant() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    let granted = tokens(&app, &fixture, &browser, "openid invoices:write", None).await;
    let revoke = |token: String| {
        Answer::of(
            app.client
                .post(format!("{}/revoke", browser.issuer))
                .basic_auth(&fixture.client_id, Some(&fixture.client_secret))
                .form(&[("token", token)]),
        )
    };
    let access = granted["access_token"].as_str().unwrap().to_owned();
    assert_eq!(revoke(access.clone()).await.status, 200);
    assert_eq!(app.introspect(&fixture, &access).await["active"], false);
    let refresh = granted["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(app.refresh(&fixture, &refresh).await.status, 200, "revoking an access token leaves the grant");

    // Consent is on record now, so the next authorization issues a code at once.
    let pkce = Pkce::new();
    let again = browser.authorize(&fixture.client_id, &pkce, "openid invoices:write", &[]).await;
    let code = param(again.header("Location").unwrap(), "code").unwrap();
    let granted = app.exchange_code(&fixture, &code, &pkce.verifier).await.json();
    let refresh = granted["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(revoke(refresh.clone()).await.status, 200);
    assert_oauth_error(&app.refresh(&fixture, &refresh).await, 400, "invalid_grant");
    assert_eq!(app.introspect(&fixture, granted["access_token"].as_str().unwrap()).await["active"], false);
    assert_eq!(revoke("not-a-token".into()).await.status, 200, "unknown tokens are fine (§2.2)");

    // A client_credentials token is revoked by its own client, and then introspects inactive.
    let as_worker = |path: &str, token: String| {
        Answer::of(
            app.client
                .post(format!("{}/{path}", browser.issuer))
                .basic_auth(&app.client_id, Some(&app.client_secret))
                .form(&[("token", token)]),
        )
    };
    assert_eq!(as_worker("introspect", app.token.clone()).await.json()["active"], true);
    assert_eq!(as_worker("revoke", app.token.clone()).await.status, 200);
    assert_eq!(as_worker("introspect", app.token.clone()).await.json()["active"], false);
}

#[tokio::test]
async fn expired_sessions_requests_codes_and_tokens_are_purged_but_records_and_grants_stay() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let granted = tokens(&app, &fixture, &app.browser(), "openid invoices:write", None).await;
    let store = &app.state.store;
    assert_eq!(store.purge_expired(chrono::Utc::now()).await.unwrap(), 0, "nothing has expired yet");
    let later = chrono::Utc::now() + chrono::Duration::days(32);
    let removed = store.purge_expired(later).await.unwrap();
    assert!(removed >= 4, "session, login and consent requests, code, refresh token: {removed}");
    assert_eq!(store.purge_expired(later).await.unwrap(), 0);
    assert_eq!(app.introspect(&fixture, granted["refresh_token"].as_str().unwrap()).await["active"], false);
    assert_eq!(records(&app, &fixture).await.len(), 1, "the ledger keeps everything");
}
