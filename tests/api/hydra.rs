//! External login and consent apps through the Hydra-compatible challenge API.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, Fixture, Pkce, param};
use crate::helpers::{Answer, TestApp, has_detail};

pub(crate) const LOGIN_APP: &str = "https://login.example.com/login";
pub(crate) const CONSENT_APP: &str = "https://consent.example.com/consent";
pub(crate) const ASKED: &str = "openid email invoices:read invoices:write";

/// The flow fixture, with the environment sending browsers to external apps.
pub(crate) async fn external(app: &TestApp) -> Fixture {
    let fixture = app.flow_fixture("REQUIRED").await;
    let body = json!({"loginUrl": LOGIN_APP, "consentUrl": CONSENT_APP});
    let environment = app.call(Method::PATCH, &app.env_url(""), Some(body), 200).await;
    assert_eq!(environment["loginUrl"], LOGIN_APP);
    fixture
}

/// A call to the admin API of `env_id` with `token`.
async fn admin(app: &TestApp, env_id: &str, token: &str, method: Method, path: &str, body: Option<Value>) -> Answer {
    let mut request =
        app.client.request(method, format!("{}/{env_id}/admin/oauth2/auth/{path}", app.base)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Answer::of(request).await
}

pub(crate) async fn own_admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Answer {
    admin(app, &app.env_id, &app.token, method, path, body).await
}

/// The challenge in a redirect to an external app.
pub(crate) fn challenge_in(answer: &Answer, app_url: &str, name: &str) -> String {
    let location = answer.header("Location").unwrap_or_else(|| panic!("redirect: {} {}", answer.status, answer.text));
    assert!(location.starts_with(app_url), "{location}");
    param(location, name).expect("challenge")
}

/// Starts an authorization and has the login app accept `subject`; answers the consent challenge.
pub(crate) async fn through_login(
    app: &TestApp,
    browser: &Browser,
    fixture: &Fixture,
    pkce: &Pkce,
    remember: bool,
) -> String {
    let started = browser.authorize(&fixture.client_id, pkce, ASKED, &[]).await;
    let login = challenge_in(&started, LOGIN_APP, "login_challenge");
    let read = own_admin(app, Method::GET, &format!("requests/login?login_challenge={login}"), None).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let body = json!({"subject": fixture.user_id, "remember": remember, "remember_for": 3600});
    let accepted =
        own_admin(app, Method::PUT, &format!("requests/login/accept?login_challenge={login}"), Some(body)).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let back = Answer::of(browser.client.get(accepted.json()["redirect_to"].as_str().unwrap())).await;
    challenge_in(&back, CONSENT_APP, "consent_challenge")
}

/// Follows a `redirect_to` in the browser; answers where it leads.
pub(crate) async fn follow(browser: &Browser, redirect: &Answer) -> String {
    assert_eq!(redirect.status, 200, "{}", redirect.text);
    let back = Answer::of(browser.client.get(redirect.json()["redirect_to"].as_str().unwrap())).await;
    assert_eq!(back.status, 302, "{}", back.text);
    back.header("Location").unwrap().to_owned()
}

#[tokio::test]
async fn an_external_login_and_consent_app_drives_the_flow_into_the_same_ledger() {
    let app = TestApp::spawn().await;
    let fixture = external(&app).await;
    let browser = app.browser();
    let pkce = Pkce::new();

    let started = browser.authorize(&fixture.client_id, &pkce, ASKED, &[]).await;
    assert_eq!(started.status, 302);
    let login = challenge_in(&started, LOGIN_APP, "login_challenge");
    let read = own_admin(&app, Method::GET, &format!("requests/login?login_challenge={login}"), None).await.json();
    assert_eq!(read["skip"], false);
    assert_eq!(read["subject"], "");
    assert_eq!(read["client"]["client_id"], fixture.client_id.as_str());
    assert_eq!(read["requested_scope"], json!(["openid", "email", "invoices:read", "invoices:write"]));
    assert!(read["request_url"].as_str().unwrap().contains("/as/authorize?"));

    let body = json!({"subject": "ada", "remember": true, "remember_for": 3600});
    let accepted =
        own_admin(&app, Method::PUT, &format!("requests/login/accept?login_challenge={login}"), Some(body)).await;
    let consent_location = follow(&browser, &accepted).await;
    assert!(consent_location.starts_with(CONSENT_APP), "{consent_location}");
    let consent = param(&consent_location, "consent_challenge").unwrap();
    let read =
        own_admin(&app, Method::GET, &format!("requests/consent?consent_challenge={consent}"), None).await.json();
    assert_eq!(read["skip"], false);
    assert_eq!(read["subject"], fixture.user_id.as_str());

    let body = json!({
        "grant_scope": ["openid", "email", "invoices:write"],
        "remember": true,
        "remember_for": 3600,
        "session": {"access_token": {"department": "billing"}, "id_token": {"nickname": "Ada"}},
    });
    let accepted =
        own_admin(&app, Method::PUT, &format!("requests/consent/accept?consent_challenge={consent}"), Some(body)).await;
    let location = follow(&browser, &accepted).await;
    assert_eq!(param(&location, "state").as_deref(), Some("st&te=1 2"));
    let code = param(&location, "code").expect("code");
    let tokens = app.exchange_code(&fixture, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let tokens = tokens.json();
    assert_eq!(tokens["scope"], "openid email invoices:write");
    let access = tokens["access_token"].as_str().unwrap();
    let id_token = app.verified_id_token(tokens["id_token"].as_str().unwrap(), &fixture.client_id).await;
    assert_eq!(id_token["nickname"], "Ada");
    assert_eq!(id_token["sub"], fixture.user_id.as_str(), "session claims never replace the standard ones");
    let introspection = app.introspect(&fixture, access).await;
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["ext"], json!({"department": "billing"}));

    // One ledger: the decision is a record, enriched from the end user's browser at /authorize.
    let records = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await;
    let record = &records["_embedded"]["oauthConsents"][0];
    assert_eq!(record["source"], "CONSENT_APP");
    assert_eq!(record["status"], "ACCEPTED");
    assert_eq!(record["scope"], json!(["openid", "email", "invoices:write"]));
    assert_eq!(record["browser"]["name"], "Chrome");
    assert!(record["expiresAt"].is_string(), "remember_for sets expiresAt");

    // Next time both are remembered: skip with the known subject.
    let started = browser.authorize(&fixture.client_id, &Pkce::new(), "openid email", &[]).await;
    let login = challenge_in(&started, LOGIN_APP, "login_challenge");
    let read = own_admin(&app, Method::GET, &format!("requests/login?login_challenge={login}"), None).await.json();
    assert_eq!(read["skip"], true);
    assert_eq!(read["subject"], fixture.user_id.as_str());
    let body = json!({"subject": fixture.user_id});
    let accepted =
        own_admin(&app, Method::PUT, &format!("requests/login/accept?login_challenge={login}"), Some(body)).await;
    let consent = param(&follow(&browser, &accepted).await, "consent_challenge").unwrap();
    let read =
        own_admin(&app, Method::GET, &format!("requests/consent?consent_challenge={consent}"), None).await.json();
    assert_eq!(read["skip"], true);

    // Hydra's consent sessions are the ledger's remembered records; deleting them revokes records and tokens.
    let sessions = own_admin(&app, Method::GET, &format!("sessions/consent?subject={}", fixture.user_id), None).await;
    assert_eq!(sessions.status, 200, "{}", sessions.text);
    assert!(sessions.header("Link").unwrap().contains("rel=\"first\""));
    let sessions = sessions.json();
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    assert_eq!(sessions[0]["grant_scope"], json!(["openid", "email", "invoices:write"]));
    assert_eq!(sessions[0]["consent_request"]["client"]["client_id"], fixture.client_id.as_str());
    let path = format!("sessions/consent?subject={}&client={}", fixture.user_id, fixture.client_id);
    assert_eq!(own_admin(&app, Method::DELETE, &path, None).await.status, 204);
    assert_eq!(app.introspect(&fixture, access).await["active"], false);
    let records = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await;
    assert_eq!(records["_embedded"]["oauthConsents"][0]["status"], "REVOKED");
    let sessions = own_admin(&app, Method::GET, &format!("sessions/consent?subject={}", fixture.user_id), None).await;
    assert_eq!(sessions.json(), json!([]));
    let missing = own_admin(&app, Method::DELETE, &format!("sessions/consent?subject={}", fixture.user_id), None).await;
    assert_eq!(missing.status, 400, "client or all=true is required");
}

#[tokio::test]
async fn rejections_reach_the_client_and_a_rejected_consent_is_declined_in_the_ledger() {
    let app = TestApp::spawn().await;
    let fixture = external(&app).await;
    let browser = app.browser();
    let consent = through_login(&app, &browser, &fixture, &Pkce::new(), true).await;
    let body = json!({"error": "access_denied", "error_description": "The user said no."});
    let rejected =
        own_admin(&app, Method::PUT, &format!("requests/consent/reject?consent_challenge={consent}"), Some(body)).await;
    let location = follow(&browser, &rejected).await;
    assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&location, "error_description").as_deref(), Some("The user said no."));
    assert_eq!(param(&location, "state").as_deref(), Some("st&te=1 2"));
    let records = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await;
    assert_eq!(records["_embedded"]["oauthConsents"][0]["status"], "DECLINED");
    assert_eq!(records["_embedded"]["oauthConsents"][0]["source"], "CONSENT_APP");

    let started = browser.authorize(&fixture.client_id, &Pkce::new(), ASKED, &[("prompt", "login")]).await;
    let login = challenge_in(&started, LOGIN_APP, "login_challenge");
    let rejected = own_admin(
        &app,
        Method::PUT,
        &format!("requests/login/reject?login_challenge={login}"),
        Some(json!({"error": "login_required"})),
    )
    .await;
    let location = follow(&browser, &rejected).await;
    assert_eq!(param(&location, "error").as_deref(), Some("login_required"));
}

#[tokio::test]
async fn remember_false_records_the_decision_but_asks_again() {
    let app = TestApp::spawn().await;
    let fixture = external(&app).await;
    let browser = app.browser();
    let pkce = Pkce::new();
    let consent = through_login(&app, &browser, &fixture, &pkce, true).await;
    let body = json!({"grant_scope": ["openid", "email"], "remember": false});
    let accepted =
        own_admin(&app, Method::PUT, &format!("requests/consent/accept?consent_challenge={consent}"), Some(body)).await;
    let code = param(&follow(&browser, &accepted).await, "code").unwrap();
    let tokens = app.exchange_code(&fixture, &code, &pkce.verifier).await.json();
    assert_eq!(tokens["scope"], "openid email");
    let records = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await;
    assert_eq!(records["_embedded"]["oauthConsents"][0]["status"], "ACCEPTED");

    let started = browser.authorize(&fixture.client_id, &Pkce::new(), "openid email", &[]).await;
    let login = challenge_in(&started, LOGIN_APP, "login_challenge");
    let accepted = own_admin(
        &app,
        Method::PUT,
        &format!("requests/login/accept?login_challenge={login}"),
        Some(json!({"subject": fixture.user_id})),
    )
    .await;
    let consent = param(&follow(&browser, &accepted).await, "consent_challenge").unwrap();
    let read =
        own_admin(&app, Method::GET, &format!("requests/consent?consent_challenge={consent}"), None).await.json();
    assert_eq!(read["skip"], false, "a decision that was not remembered does not let the next request skip");
    let sessions = own_admin(&app, Method::GET, &format!("sessions/consent?subject={}", fixture.user_id), None).await;
    assert_eq!(sessions.json(), json!([]));
}

#[tokio::test]
async fn revoking_a_record_through_the_records_api_ends_its_hydra_consent_session() {
    let app = TestApp::spawn().await;
    let fixture = external(&app).await;
    let browser = app.browser();
    let consent = through_login(&app, &browser, &fixture, &Pkce::new(), true).await;
    let body = json!({"grant_scope": ["openid", "email"], "remember": true});
    let accepted =
        own_admin(&app, Method::PUT, &format!("requests/consent/accept?consent_challenge={consent}"), Some(body)).await;
    follow(&browser, &accepted).await;
    let list = format!("sessions/consent?subject={}", fixture.user_id);
    assert_eq!(own_admin(&app, Method::GET, &list, None).await.json().as_array().unwrap().len(), 1);
    let records = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await;
    let revoke =
        records["_embedded"]["oauthConsents"][0]["_links"]["consent.revoke"]["href"].as_str().unwrap().to_owned();
    let revoked = Answer::of(
        app.client
            .patch(revoke)
            .bearer_auth(&app.token)
            .header("Content-Type", "application/vnd.pingidentity.consent.revoke+json")
            .body(r#"{"status":"REVOKED"}"#),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(own_admin(&app, Method::GET, &list, None).await.json(), json!([]));
}

#[tokio::test]
async fn challenges_are_single_use_and_bound_to_their_browser_and_environment() {
    let app = TestApp::spawn().await;
    let fixture = external(&app).await;
    let browser = app.browser();
    let started = browser.authorize(&fixture.client_id, &Pkce::new(), ASKED, &[]).await;
    let login = challenge_in(&started, LOGIN_APP, "login_challenge");
    let accept = |subject: &str| json!({"subject": subject});

    // Another environment's worker cannot see or answer it, and its own admin API does not know it.
    let other = app.other_environment().await;
    let foreign =
        admin(&app, &app.env_id, &other.token, Method::GET, &format!("requests/login?login_challenge={login}"), None)
            .await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    assert_eq!(foreign.json()["error"], "not_found");
    let elsewhere =
        admin(&app, &other.env_id, &other.token, Method::GET, &format!("requests/login?login_challenge={login}"), None)
            .await;
    assert_eq!(elsewhere.status, 404);
    let anonymous = Answer::of(
        app.client.get(format!("{}/{}/admin/oauth2/auth/requests/login?login_challenge={login}", app.base, app.env_id)),
    )
    .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json()["status_code"], 401);

    let unknown = own_admin(
        &app,
        Method::PUT,
        &format!("requests/login/accept?login_challenge={login}"),
        Some(accept("no\u{0}body")),
    )
    .await;
    assert_eq!(unknown.status, 400, "the subject must be one Assent accepts");
    let accepted = own_admin(
        &app,
        Method::PUT,
        &format!("requests/login/accept?login_challenge={login}"),
        Some(accept(&fixture.user_id)),
    )
    .await;
    assert_eq!(accepted.status, 200);
    let twice = own_admin(
        &app,
        Method::PUT,
        &format!("requests/login/accept?login_challenge={login}"),
        Some(accept(&fixture.user_id)),
    )
    .await;
    assert_eq!(twice.status, 409, "{}", twice.text);

    // Another browser cannot use the verifier; the right one can, once.
    let redirect_to = accepted.json()["redirect_to"].as_str().unwrap().to_owned();
    let thief = app.browser();
    let stolen = Answer::of(thief.client.get(&redirect_to)).await;
    assert_eq!(stolen.status, 400, "{}", stolen.text);
    assert!(stolen.header("Location").is_none());
    let back = Answer::of(browser.client.get(&redirect_to)).await;
    assert_eq!(back.status, 302, "{}", back.text);
    let replay = Answer::of(browser.client.get(&redirect_to)).await;
    assert_eq!(replay.status, 400);
    let gone = own_admin(&app, Method::GET, &format!("requests/login?login_challenge={login}"), None).await;
    assert_eq!(gone.status, 410, "{}", gone.text);
    assert!(gone.json()["redirect_to"].is_string());
}

#[tokio::test]
async fn challenges_expire() {
    let app = TestApp::spawn_with(|config| config.challenge_lifetime_secs = 1).await;
    let fixture = external(&app).await;
    let browser = app.browser();
    let started = browser.authorize(&fixture.client_id, &Pkce::new(), ASKED, &[]).await;
    let login = challenge_in(&started, LOGIN_APP, "login_challenge");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let expired = own_admin(&app, Method::GET, &format!("requests/login?login_challenge={login}"), None).await;
    assert_eq!(expired.status, 404, "{}", expired.text);
    let body = json!({"subject": fixture.user_id});
    let expired =
        own_admin(&app, Method::PUT, &format!("requests/login/accept?login_challenge={login}"), Some(body)).await;
    assert_eq!(expired.status, 404);
}

#[tokio::test]
async fn the_external_app_urls_are_validated_and_can_be_removed() {
    let app = TestApp::spawn().await;
    let refused =
        app.call(Method::PATCH, &app.env_url(""), Some(json!({"loginUrl": "javascript:alert(1)"})), 400).await;
    assert!(has_detail(&refused, "INVALID_VALUE", "loginUrl"), "{refused}");
    let set = app.call(Method::PATCH, &app.env_url(""), Some(json!({"consentUrl": CONSENT_APP})), 200).await;
    assert_eq!(set["consentUrl"], CONSENT_APP);
    let cleared = app.call(Method::PATCH, &app.env_url(""), Some(json!({"consentUrl": null})), 200).await;
    assert!(cleared.get("consentUrl").is_none(), "{cleared}");
}

#[tokio::test]
async fn consent_sessions_page_with_a_link_header_and_login_sessions_can_be_ended() {
    let app = TestApp::spawn().await;
    let fixture = external(&app).await;
    let second = app
        .create_app(json!({"name": "Second", "type": "WEB_APP", "redirectUris": [crate::browser::REDIRECT_URI],
                           "scopes": ["openid", "email", "invoices:read", "invoices:write"]}))
        .await;
    let second = Fixture {
        client_id: second["id"].as_str().unwrap().to_owned(),
        client_secret: String::new(),
        user_id: fixture.user_id.clone(),
    };
    let browser = app.browser();
    for client in [&fixture, &second] {
        let consent = through_login(&app, &browser, client, &Pkce::new(), true).await;
        let body = json!({"grant_scope": ["openid", "email"], "remember": true});
        let accepted =
            own_admin(&app, Method::PUT, &format!("requests/consent/accept?consent_challenge={consent}"), Some(body))
                .await;
        follow(&browser, &accepted).await;
    }
    let first = own_admin(&app, Method::GET, "sessions/consent?subject=ada&page_size=1", None).await;
    assert_eq!(first.json().as_array().unwrap().len(), 1);
    let link = first.header("Link").unwrap().to_owned();
    let next = link.split(", ").find(|l| l.ends_with("rel=\"next\"")).expect("a next link");
    let next_url = next.trim_start_matches('<').split('>').next().unwrap();
    let rest = Answer::of(app.client.get(next_url).bearer_auth(&app.token)).await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    let rest = rest.json();
    assert_eq!(rest.as_array().unwrap().len(), 1);
    assert_ne!(
        rest[0]["consent_request"]["client"]["client_id"],
        first.json()[0]["consent_request"]["client"]["client_id"]
    );
    let bad = own_admin(&app, Method::GET, "sessions/consent?subject=ada&page_size=0", None).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"], "invalid_request");

    // Ending the login sessions: the login app is no longer told to skip.
    assert_eq!(own_admin(&app, Method::DELETE, "sessions/login?subject=ada", None).await.status, 204);
    let started = browser.authorize(&fixture.client_id, &Pkce::new(), ASKED, &[]).await;
    let login = challenge_in(&started, LOGIN_APP, "login_challenge");
    let read = own_admin(&app, Method::GET, &format!("requests/login?login_challenge={login}"), None).await.json();
    assert_eq!(read["skip"], false);
}

#[tokio::test]
async fn no_code_is_issued_when_the_accepted_consent_was_revoked_before_the_browser_came_back() {
    let app = TestApp::spawn().await;
    let fixture = external(&app).await;
    let browser = app.browser();
    let consent = through_login(&app, &browser, &fixture, &Pkce::new(), true).await;
    let body = json!({"grant_scope": ["openid", "email"], "remember": true});
    let accepted =
        own_admin(&app, Method::PUT, &format!("requests/consent/accept?consent_challenge={consent}"), Some(body)).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let path = format!("sessions/consent?subject={}&all=true", fixture.user_id);
    assert_eq!(own_admin(&app, Method::DELETE, &path, None).await.status, 204);
    let back = Answer::of(browser.client.get(accepted.json()["redirect_to"].as_str().unwrap())).await;
    assert_eq!(back.status, 400, "an error page, not a code: {}", back.text);
    assert!(back.header("Location").is_none());
}
