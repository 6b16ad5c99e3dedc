//! Everything the flow refuses: bad clients and redirect URIs, PKCE, code misuse, forged or stale
//! forms, and too many failed logins.

use serde_json::json;

use crate::browser::{PASSWORD, Pkce, REDIRECT_URI, USERNAME, param};
use crate::flow::{consent_page, records};
use crate::helpers::{Answer, TestApp, assert_error, assert_oauth_error, has_detail};

#[tokio::test]
async fn codes_are_single_use_bound_to_their_verifier_and_redirect_and_a_replay_revokes_tokens() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    let pkce = Pkce::new();
    let page = consent_page(&browser, &fixture, &pkce, "openid invoices:write").await;
    let back = browser.decide(&page, "approve", None).await;
    let code = param(back.header("Location").unwrap(), "code").unwrap();

    let wrong = app.exchange_code(&fixture, &code, &Pkce::new().verifier).await;
    assert_oauth_error(&wrong, 400, "invalid_grant");
    // The failed attempt used the code up.
    assert_oauth_error(&app.exchange_code(&fixture, &code, &pkce.verifier).await, 400, "invalid_grant");

    // A good exchange, then a replay: refused, and the tokens from the first exchange are revoked.
    let again = browser.authorize(&fixture.client_id, &pkce, "openid invoices:write", &[]).await;
    let code = param(again.header("Location").unwrap(), "code").unwrap();
    let missing_redirect = app
        .token_request(
            &app.env_id,
            Some((&fixture.client_id, &fixture.client_secret)),
            &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", &pkce.verifier)],
        )
        .await;
    assert_oauth_error(&missing_redirect, 400, "invalid_grant");
    let again = browser.authorize(&fixture.client_id, &pkce, "openid invoices:write", &[]).await;
    let code = param(again.header("Location").unwrap(), "code").unwrap();
    let granted = app.exchange_code(&fixture, &code, &pkce.verifier).await.json();
    assert_eq!(app.introspect(&fixture, granted["access_token"].as_str().unwrap()).await["active"], true);
    assert_oauth_error(&app.exchange_code(&fixture, &code, &pkce.verifier).await, 400, "invalid_grant");
    assert_eq!(app.introspect(&fixture, granted["access_token"].as_str().unwrap()).await["active"], false);
    assert_oauth_error(&app.refresh(&fixture, granted["refresh_token"].as_str().unwrap()).await, 400, "invalid_grant");

    // Another client cannot redeem the code.
    let other = app
        .create_app(json!({"name": "Other", "type": "WEB_APP", "redirectUris": [REDIRECT_URI], "scopes": ["openid"]}))
        .await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    let other_secret = app.app_secret(&other_id).await;
    let again = browser.authorize(&fixture.client_id, &pkce, "openid invoices:write", &[]).await;
    let code = param(again.header("Location").unwrap(), "code").unwrap();
    let stolen = app
        .token_request(
            &app.env_id,
            Some((&other_id, &other_secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_oauth_error(&stolen, 400, "invalid_grant");
}

#[tokio::test]
async fn codes_expire() {
    let app = TestApp::spawn_with(|config| config.code_lifetime_secs = 1).await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    let pkce = Pkce::new();
    let page = consent_page(&browser, &fixture, &pkce, "openid invoices:write").await;
    let back = browser.decide(&page, "approve", None).await;
    let code = param(back.header("Location").unwrap(), "code").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_oauth_error(&app.exchange_code(&fixture, &code, &pkce.verifier).await, 400, "invalid_grant");
}

#[tokio::test]
async fn bad_clients_and_redirect_uris_get_an_error_page_and_never_a_redirect() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let other = app.other_environment().await;
    let pkce = Pkce::new();
    let browser = app.browser();
    let unknown = browser.authorize(&uuid::Uuid::now_v7().to_string(), &pkce, "openid", &[]).await;
    let bad_redirect =
        browser.authorize(&fixture.client_id, &pkce, "openid", &[("redirect_uri", "https://evil.example/cb")]).await;
    let prefix = browser
        .authorize(&fixture.client_id, &pkce, "openid", &[("redirect_uri", "https://client.example.com/cb/x")])
        .await;
    let foreign = app.browser_for(&other.env_id).authorize(&fixture.client_id, &pkce, "openid", &[]).await;
    for page in [unknown, bad_redirect, prefix, foreign] {
        assert_eq!(page.status, 400, "{}", page.text);
        assert!(page.header("Location").is_none());
        assert!(page.header("Content-Type").unwrap().starts_with("text/html"));
        assert_eq!(page.header("X-Frame-Options"), Some("DENY"));
    }
}

#[tokio::test]
async fn other_authorization_errors_go_back_to_the_client_with_its_state() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let public = app
        .create_app(
            json!({"name": "Phone", "type": "NATIVE_APP", "redirectUris": [REDIRECT_URI], "scopes": ["openid"]}),
        )
        .await;
    let public_id = public["id"].as_str().unwrap();
    // New applications require PKCE by default (RFC 9700 §2.1.1); this one opts out explicitly.
    let lenient = app
        .create_app(json!({"name": "Lenient", "type": "WEB_APP", "redirectUris": [REDIRECT_URI], "scopes": ["openid"],
                           "pkceEnforcement": "OPTIONAL"}))
        .await;
    let lenient_id = lenient["id"].as_str().unwrap();
    let browser = app.browser();
    let pkce = Pkce::new();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (&fixture.client_id, vec![("response_type", "token")], "unsupported_response_type"),
        (&fixture.client_id, vec![("scope", "openid admin:everything")], "invalid_scope"),
        (&fixture.client_id, vec![("scope", "")], "invalid_scope"),
        (&fixture.client_id, vec![("code_challenge_method", "plain")], "invalid_request"),
        (&fixture.client_id, vec![("code_challenge_method", "")], "invalid_request"),
        (
            &fixture.client_id,
            vec![("code_challenge", "too-short"), ("code_challenge_method", "S256")],
            "invalid_request",
        ),
        (&fixture.client_id, vec![("prompt", "none")], "login_required"),
        (&fixture.client_id, vec![("prompt", "select_account")], "invalid_request"),
        (public_id, vec![("code_challenge", ""), ("code_challenge_method", "")], "invalid_request"),
        (&fixture.client_id, vec![("code_challenge", ""), ("code_challenge_method", "")], "invalid_request"),
    ];
    for (client_id, extra, error) in cases {
        let answer = browser.authorize(client_id, &pkce, "openid", &extra).await;
        assert_eq!(answer.status, 302, "{extra:?}: {}", answer.text);
        let location = answer.header("Location").unwrap();
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        assert_eq!(param(location, "error").as_deref(), Some(error), "{extra:?}: {location}");
        assert!(param(location, "error_description").is_some());
        assert_eq!(param(location, "state").as_deref(), Some("st&te=1 2"), "{extra:?}");
    }
    // A confidential client that opted out of PKCE (pkceEnforcement OPTIONAL) may go without it.
    let login =
        browser.authorize(lenient_id, &pkce, "openid", &[("code_challenge", ""), ("code_challenge_method", "")]).await;
    assert_eq!(login.status, 200, "{}", login.text);
}

#[tokio::test]
async fn consent_forms_must_belong_to_this_browser_and_a_pending_authorization() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    let pkce = Pkce::new();
    let page = consent_page(&browser, &fixture, &pkce, "openid invoices:write").await;
    let csrf = crate::browser::hidden(&page.text, "csrf_token").unwrap();
    let post = |client: &reqwest::Client, fields: Vec<(&str, String)>| {
        Answer::of(client.post(format!("{}/consent", browser.issuer)).form(&fields))
    };
    let fields = |csrf: Option<&str>, client_id: &str, state: &str| {
        let mut fields = vec![
            ("client_id", client_id.to_owned()),
            ("redirect_uri", REDIRECT_URI.to_owned()),
            ("state", state.to_owned()),
            ("code_challenge", pkce.challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
            ("scope", "invoices:write".to_owned()),
            ("decision", "approve".to_owned()),
        ];
        if let Some(csrf) = csrf {
            fields.push(("csrf_token", csrf.to_owned()));
        }
        fields
    };
    let missing = post(&browser.client, fields(None, &fixture.client_id, "st&te=1 2")).await;
    assert_eq!(missing.status, 400, "{}", missing.text);
    assert!(has_detail(&missing.json(), "REQUIRED_VALUE", "csrf_token"), "{}", missing.text);
    let forged = post(&browser.client, fields(Some("forged"), &fixture.client_id, "st&te=1 2")).await;
    assert_eq!(forged.status, 400);
    assert_error(&forged.json(), "INVALID_DATA");
    let other_browser = app.browser();
    let stolen = post(&other_browser.client, fields(Some(&csrf), &fixture.client_id, "st&te=1 2")).await;
    assert_eq!(stolen.status, 400, "another browser cannot use the form: {}", stolen.text);
    let tampered = post(&browser.client, fields(Some(&csrf), &fixture.client_id, "other")).await;
    assert_eq!(tampered.status, 400);
    assert!(has_detail(&tampered.json(), "INVALID_VALUE", "state"), "{}", tampered.text);
    let unknown = post(&browser.client, fields(Some(&csrf), &uuid::Uuid::now_v7().to_string(), "st&te=1 2")).await;
    assert_eq!(unknown.status, 404);
    let unsupported = post(&browser.client, {
        let mut f = fields(Some(&csrf), &fixture.client_id, "st&te=1 2");
        f.retain(|(k, _)| *k != "decision");
        f.push(("decision", "maybe".into()));
        f
    })
    .await;
    assert!(has_detail(&unsupported.json(), "INVALID_VALUE", "decision"), "{}", unsupported.text);

    let good = post(&browser.client, fields(Some(&csrf), &fixture.client_id, "st&te=1 2")).await;
    assert_eq!(good.status, 303, "{}", good.text);
    let twice = post(&browser.client, fields(Some(&csrf), &fixture.client_id, "st&te=1 2")).await;
    assert_eq!(twice.status, 400, "a form is single-use");
    assert_eq!(records(&app, &fixture).await.len(), 1, "nothing stored by the refused posts");
}

#[tokio::test]
async fn failed_logins_are_limited() {
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let browser = app.browser();
    let login = browser.authorize(&fixture.client_id, &Pkce::new(), "openid", &[]).await;
    for _ in 0..5 {
        let failed = browser.login(&login, USERNAME, "wrong password").await;
        assert_eq!(failed.status, 401);
        assert!(failed.text.contains("Incorrect username or password"));
    }
    let limited = browser.login(&login, USERNAME, PASSWORD).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    let retry: u64 = limited.header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_error(&limited.json(), "REQUEST_LIMITED");
    let unknown = browser.login(&login, "nobody", PASSWORD).await;
    assert_eq!(unknown.status, 401, "unknown users look like wrong passwords");
}
