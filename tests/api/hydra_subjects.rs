//! Opaque subjects: a login app with its own user store names users by any string; an unknown
//! subject becomes an external user of the environment, and everything else works as for local users.

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, Pkce, REDIRECT_URI, param};
use crate::helpers::{Answer, TestApp, assert_error, call_with, has_detail};
use crate::hydra::{CONSENT_APP, LOGIN_APP, challenge_in};

const SUBJECT: &str = "ext|4f2a";
const SCOPE: &str = "openid profile p1:read:oauthConsents";

/// An environment that sends its browsers to external apps, with a worker token and a client.
struct Tenant {
    env_id: String,
    token: String,
    client_id: String,
    client_secret: String,
}

impl Tenant {
    async fn new(app: &TestApp, env_id: &str, token: &str) -> Tenant {
        let env_url = format!("{}/v1/environments/{env_id}", app.base);
        let urls = json!({"loginUrl": LOGIN_APP, "consentUrl": CONSENT_APP});
        call_with(&app.client, token, Method::PATCH, &env_url, Some(urls), 200).await;
        let client = json!({"name": "Portal", "type": "WEB_APP", "redirectUris": [REDIRECT_URI],
                            "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
                            "scopes": ["openid", "profile", "p1:read:oauthConsents"]});
        let created =
            call_with(&app.client, token, Method::POST, &format!("{env_url}/applications"), Some(client), 201).await;
        let client_id = created["id"].as_str().unwrap().to_owned();
        let secret_url = format!("{env_url}/applications/{client_id}/secret");
        let secret = call_with(&app.client, token, Method::GET, &secret_url, None, 200).await;
        let client_secret = secret["secret"].as_str().unwrap().to_owned();
        Tenant { env_id: env_id.to_owned(), token: token.to_owned(), client_id, client_secret }
    }

    /// The test app's own environment.
    async fn own(app: &TestApp) -> Tenant {
        Tenant::new(app, &app.env_id, &app.token).await
    }

    fn url(&self, app: &TestApp, path: &str) -> String {
        format!("{}/v1/environments/{}{path}", app.base, self.env_id)
    }

    async fn call(&self, app: &TestApp, method: Method, path: &str, body: Option<Value>, expected: u16) -> Value {
        call_with(&app.client, &self.token, method, &self.url(app, path), body, expected).await
    }

    /// A call to the environment's Hydra-compatible admin API.
    async fn admin(&self, app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Answer {
        let url = format!("{}/{}/admin/oauth2/auth/{path}", app.base, self.env_id);
        let mut request = app.client.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::of(request).await
    }

    /// Starts an authorization in `browser`; answers the login challenge.
    async fn login_challenge(&self, browser: &Browser, pkce: &Pkce) -> String {
        let started = browser.authorize(&self.client_id, pkce, SCOPE, &[]).await;
        challenge_in(&started, LOGIN_APP, "login_challenge")
    }

    async fn accept_login(&self, app: &TestApp, challenge: &str, subject: &str) -> Answer {
        let body = json!({"subject": subject, "remember": true, "remember_for": 3600});
        self.admin(app, Method::PUT, &format!("requests/login/accept?login_challenge={challenge}"), Some(body)).await
    }

    /// The whole flow for `subject`: login app, consent app (granting everything asked), tokens.
    /// Answers the consent request as the consent app read it, and the token response.
    async fn sign_in(&self, app: &TestApp, browser: &Browser, subject: &str) -> (Value, Value) {
        let pkce = Pkce::new();
        let login = self.login_challenge(browser, &pkce).await;
        let accepted = self.accept_login(app, &login, subject).await;
        assert_eq!(accepted.status, 200, "{}", accepted.text);
        let back = Answer::of(browser.client.get(accepted.json()["redirect_to"].as_str().unwrap())).await;
        let consent = challenge_in(&back, CONSENT_APP, "consent_challenge");
        let read = self.admin(app, Method::GET, &format!("requests/consent?consent_challenge={consent}"), None).await;
        assert_eq!(read.status, 200, "{}", read.text);
        let body = json!({"grant_scope": SCOPE.split(' ').collect::<Vec<_>>(), "remember": true});
        let path = format!("requests/consent/accept?consent_challenge={consent}");
        let accepted = self.admin(app, Method::PUT, &path, Some(body)).await;
        assert_eq!(accepted.status, 200, "{}", accepted.text);
        let back = Answer::of(browser.client.get(accepted.json()["redirect_to"].as_str().unwrap())).await;
        let code = param(back.header("Location").unwrap(), "code").expect("a code");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", pkce.verifier.as_str()),
        ];
        let tokens = app.token_request(&self.env_id, Some((&self.client_id, &self.client_secret)), &form).await;
        assert_eq!(tokens.status, 200, "{}", tokens.text);
        (read.json(), tokens.json())
    }

    /// The users listed under `externalId`.
    async fn users_with_external_id(&self, app: &TestApp, subject: &str) -> Vec<Value> {
        let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("externalId", subject).finish();
        let page = self.call(app, Method::GET, &format!("/users?{query}"), None, 200).await;
        page["_embedded"]["users"].as_array().unwrap().clone()
    }

    async fn introspect(&self, app: &TestApp, token: &str) -> Value {
        let url = format!("{}/{}/as/introspect", app.base, self.env_id);
        let request = app.client.post(url).basic_auth(&self.client_id, Some(&self.client_secret));
        let answer = Answer::of(request.form(&[("token", token)])).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json()
    }
}

#[tokio::test]
async fn an_opaque_subject_becomes_an_external_user_with_tokens_records_and_revocation_as_for_local_users() {
    let app = TestApp::spawn().await;
    let tenant = Tenant::own(&app).await;
    let browser = app.browser();
    let (consent_request, tokens) = tenant.sign_in(&app, &browser, SUBJECT).await;
    assert_eq!(consent_request["subject"], SUBJECT, "the consent app sees the subject the login app gave");

    // The user: created on first use, listed and found by its subject, without a password.
    let found = tenant.users_with_external_id(&app, SUBJECT).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let user = &found[0];
    let user_id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["identityProvider"]["type"], "EXTERNAL");
    assert_eq!(user["externalId"], SUBJECT);
    assert_eq!(user["username"], SUBJECT);
    assert_eq!(user["enabled"], true);
    assert!(user.get("password").is_none());
    let listed = tenant.call(&app, Method::GET, "/users", None, 200).await;
    assert!(listed["_embedded"]["users"].as_array().unwrap().iter().any(|u| u["id"] == user_id.as_str()));

    // Tokens name the user as the login app did: ID token, introspection and userinfo.
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(crate::browser::jwt_claims(tokens["id_token"].as_str().unwrap())["sub"], SUBJECT);
    let introspected = tenant.introspect(&app, access).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["sub"], SUBJECT);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(tenant.introspect(&app, refresh).await["sub"], SUBJECT);
    let userinfo =
        Answer::of(app.client.get(format!("{}/{}/as/userinfo", app.base, app.env_id)).bearer_auth(access)).await.json();
    assert_eq!(userinfo["sub"], SUBJECT);
    assert_eq!(userinfo["preferred_username"], SUBJECT);

    // The decision is a record of the user (by its Assent id), readable with the user's own token.
    let records_url = tenant.url(&app, &format!("/users/{user_id}/oauthConsents"));
    let own = call_with(&app.client, access, Method::GET, &records_url, None, 200).await;
    let record = &own["_embedded"]["oauthConsents"][0];
    assert_eq!(record["user"]["id"], user_id.as_str());
    assert_eq!(record["source"], "CONSENT_APP");
    assert_eq!(record["status"], "ACCEPTED");
    let sessions = tenant.admin(&app, Method::GET, &format!("sessions/consent?subject={SUBJECT}"), None).await.json();
    assert_eq!(sessions[0]["consent_request"]["subject"], SUBJECT);

    // Revoking the record ends the tokens issued under it.
    // Read with a read-only token, the record offers no revoke link; its own address takes the PATCH.
    assert!(record["_links"].get("consent.revoke").is_none(), "{record}");
    let revoke = record["_links"]["self"]["href"].as_str().unwrap().to_owned();
    let revoked = Answer::of(
        app.client
            .patch(revoke)
            .bearer_auth(&app.token)
            .header("Content-Type", "application/vnd.pingidentity.consent.revoke+json")
            .body(r#"{"status":"REVOKED"}"#),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(tenant.introspect(&app, access).await["active"], false);
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let refused = app.token_request(&app.env_id, Some((&tenant.client_id, &tenant.client_secret)), &form).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
}

#[tokio::test]
async fn a_subject_names_the_same_user_at_every_sign_in_and_ids_and_usernames_keep_naming_local_users() {
    let app = TestApp::spawn().await;
    let tenant = Tenant::own(&app).await;
    let (first, _) = tenant.sign_in(&app, &app.browser(), SUBJECT).await;
    // Another browser, so the login app is asked again rather than told to skip.
    let browser = app.browser();
    let login = tenant.login_challenge(&browser, &Pkce::new()).await;
    let read = tenant.admin(&app, Method::GET, &format!("requests/login?login_challenge={login}"), None).await;
    assert_eq!(read.json()["skip"], false);
    assert_eq!(tenant.accept_login(&app, &login, SUBJECT).await.status, 200);
    let found = tenant.users_with_external_id(&app, SUBJECT).await;
    assert_eq!(found.len(), 1, "the second sign-in found the user the first created: {found:?}");
    let user_id = found[0]["id"].as_str().unwrap();
    let records = tenant.call(&app, Method::GET, &format!("/users/{user_id}/oauthConsents"), None, 200).await;
    assert_eq!(records["_embedded"]["oauthConsents"].as_array().unwrap().len(), 1);
    assert_eq!(first["subject"], SUBJECT);

    // The same browser, signed in: Hydra's skip, with the subject the login app gave.
    let signed_in = app.browser();
    tenant.sign_in(&app, &signed_in, SUBJECT).await;
    let login = tenant.login_challenge(&signed_in, &Pkce::new()).await;
    let read = tenant.admin(&app, Method::GET, &format!("requests/login?login_challenge={login}"), None).await.json();
    assert_eq!(read["skip"], true);
    assert_eq!(read["subject"], SUBJECT);
    let other = tenant.accept_login(&app, &login, "ext|someone-else").await;
    assert_eq!(other.status, 400, "a skipped login cannot switch users: {}", other.text);
    assert!(
        tenant.users_with_external_id(&app, "ext|someone-else").await.is_empty(),
        "a refused answer creates nobody"
    );

    // A local user's id and username still name that user; no external user is made for them.
    let local = app.create_user("grace").await;
    let local_id = local["id"].as_str().unwrap();
    for subject in [local_id, "grace"] {
        let (consent_request, _) = tenant.sign_in(&app, &app.browser(), subject).await;
        assert_eq!(consent_request["subject"], local_id, "{subject}");
        assert!(tenant.users_with_external_id(&app, subject).await.is_empty());
    }
    let all = tenant.call(&app, Method::GET, "/users", None, 200).await;
    assert_eq!(all["_embedded"]["users"].as_array().unwrap().len(), 2, "{all}");
}

#[tokio::test]
async fn two_first_sign_ins_of_one_subject_at_once_end_with_one_user() {
    let app = TestApp::spawn().await;
    let tenant = Tenant::own(&app).await;
    let browsers: Vec<Browser> = (0..8).map(|_| app.browser()).collect();
    let mut challenges = Vec::new();
    for browser in &browsers {
        challenges.push(tenant.login_challenge(browser, &Pkce::new()).await);
    }
    let answers = join_all(challenges.iter().map(|login| tenant.accept_login(&app, login, "ext|racing"))).await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let found = tenant.users_with_external_id(&app, "ext|racing").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let all = tenant.call(&app, Method::GET, "/users", None, 200).await;
    assert_eq!(all["_embedded"]["users"].as_array().unwrap().len(), 1, "{all}");
    // Every browser continues as that one user.
    for (browser, answer) in browsers.iter().zip(&answers) {
        let back = Answer::of(browser.client.get(answer.json()["redirect_to"].as_str().unwrap())).await;
        let consent = challenge_in(&back, CONSENT_APP, "consent_challenge");
        let path = format!("requests/consent?consent_challenge={consent}");
        assert_eq!(tenant.admin(&app, Method::GET, &path, None).await.json()["subject"], "ext|racing");
    }
}

#[tokio::test]
async fn subjects_are_bounded_and_a_refused_subject_leaves_the_challenge_open() {
    let app = TestApp::spawn().await;
    let tenant = Tenant::own(&app).await;
    let browser = app.browser();
    let login = tenant.login_challenge(&browser, &Pkce::new()).await;
    for subject in ["a".repeat(256), "tab\there".into(), "nul\u{0}byte".into(), "line\nbreak".into()] {
        let refused = tenant.accept_login(&app, &login, &subject).await;
        assert_eq!(refused.status, 400, "{subject:?}: {}", refused.text);
        let body = refused.json();
        assert_eq!(body["error"], "invalid_request");
        assert!(body["error_description"].as_str().unwrap().contains("'subject'"), "{body}");
    }
    assert!(
        tenant.call(&app, Method::GET, "/users", None, 200).await["_embedded"]["users"].as_array().unwrap().is_empty()
    );
    // 255 characters (not bytes) with spaces and symbols is a subject; the same challenge takes it.
    let longest = format!("ext é|{}", "x".repeat(249));
    assert_eq!(longest.chars().count(), 255);
    assert_eq!(tenant.accept_login(&app, &login, &longest).await.status, 200);
    assert_eq!(tenant.users_with_external_id(&app, &longest).await.len(), 1);

    let long = "a".repeat(256);
    let sessions = tenant.admin(&app, Method::GET, &format!("sessions/consent?subject={long}"), None).await;
    assert_eq!(sessions.status, 400, "{}", sessions.text);
    let listed = tenant.call(&app, Method::GET, &format!("/users?externalId={long}"), None, 400).await;
    assert_error(&listed, "INVALID_DATA");
    assert!(has_detail(&listed, "INVALID_VALUE", "externalId"), "{listed}");
}

#[tokio::test]
async fn disabled_and_deleted_users_subjects_are_refused_and_never_become_new_users() {
    let app = TestApp::spawn().await;
    let tenant = Tenant::own(&app).await;
    let (_, tokens) = tenant.sign_in(&app, &app.browser(), SUBJECT).await;
    let user_id = tenant.users_with_external_id(&app, SUBJECT).await[0]["id"].as_str().unwrap().to_owned();
    let user_path = format!("/users/{user_id}");

    // No password, so the hosted login can never sign it in.
    let password = json!({"password": "correct horse battery"});
    let refused = tenant.call(&app, Method::PATCH, &user_path, Some(password), 400).await;
    assert!(has_detail(&refused, "INVALID_VALUE", "password"), "{refused}");
    let hosted = json!({"loginUrl": null, "consentUrl": null});
    tenant.call(&app, Method::PATCH, "", Some(hosted), 200).await;
    let browser = app.browser();
    let page = browser.authorize(&tenant.client_id, &Pkce::new(), SCOPE, &[]).await;
    assert_eq!(page.status, 200, "the hosted login page: {}", page.text);
    let tried = browser.login(&page, SUBJECT, "correct horse battery").await;
    assert_eq!(tried.status, 401, "{}", tried.text);
    assert!(tried.text.contains("Incorrect username or password"));
    let urls = json!({"loginUrl": LOGIN_APP, "consentUrl": CONSENT_APP});
    tenant.call(&app, Method::PATCH, "", Some(urls), 200).await;

    // Disabled: its tokens end and its subject is refused.
    tenant.call(&app, Method::PATCH, &user_path, Some(json!({"enabled": false})), 200).await;
    assert_eq!(tenant.introspect(&app, tokens["access_token"].as_str().unwrap()).await["active"], false);
    let login = tenant.login_challenge(&app.browser(), &Pkce::new()).await;
    let refused = tenant.accept_login(&app, &login, SUBJECT).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.json()["error_description"].as_str().unwrap().contains("disabled"), "{}", refused.text);

    // Deleted: gone from the list, and its subject, id or username never make a new user.
    let local = app.create_user("grace").await;
    let local_id = local["id"].as_str().unwrap().to_owned();
    tenant.call(&app, Method::DELETE, &user_path, None, 204).await;
    tenant.call(&app, Method::DELETE, &format!("/users/{local_id}"), None, 204).await;
    assert!(tenant.users_with_external_id(&app, SUBJECT).await.is_empty());
    for subject in [SUBJECT, user_id.as_str(), local_id.as_str(), &local_id.to_uppercase(), "grace"] {
        let refused = tenant.accept_login(&app, &login, subject).await;
        assert_eq!(refused.status, 400, "{subject}: {}", refused.text);
        assert!(refused.json()["error_description"].as_str().unwrap().contains("deleted"), "{}", refused.text);
    }
    assert!(
        tenant.call(&app, Method::GET, "/users", None, 200).await["_embedded"]["users"].as_array().unwrap().is_empty()
    );
    // A subject that named nobody still signs in on the same challenge.
    assert_eq!(tenant.accept_login(&app, &login, "ext|newcomer").await.status, 200);
}

#[tokio::test]
async fn one_subject_in_two_environments_is_two_users_each_seen_only_by_its_own_environment() {
    let app = TestApp::spawn().await;
    let here = Tenant::own(&app).await;
    let other = app.other_environment().await;
    let there = Tenant::new(&app, &other.env_id, &other.token).await;
    here.sign_in(&app, &app.browser(), SUBJECT).await;
    let (_, tokens) = there.sign_in(&app, &app.browser_for(&there.env_id), SUBJECT).await;
    let mine = here.users_with_external_id(&app, SUBJECT).await;
    let theirs = there.users_with_external_id(&app, SUBJECT).await;
    assert_eq!((mine.len(), theirs.len()), (1, 1));
    assert_ne!(mine[0]["id"], theirs[0]["id"]);
    assert_eq!(theirs[0]["environment"]["id"], there.env_id.as_str());
    let mine_there = format!("/users/{}", mine[0]["id"].as_str().unwrap());
    call_with(&app.client, &there.token, Method::GET, &here.url(&app, &mine_there), None, 404).await;
    call_with(&app.client, &there.token, Method::GET, &there.url(&app, &mine_there), None, 404).await;
    // The other environment's token is no token here, even for the same subject.
    assert_eq!(here.introspect(&app, tokens["access_token"].as_str().unwrap()).await["active"], false);
}
