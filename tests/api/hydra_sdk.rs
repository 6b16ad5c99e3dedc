//! Ory Hydra's official SDK (`@ory/hydra-client` from npm) drives the external login and consent
//! flow against a running Assent: `tests/hydra/consent-app.ts`, type-checked with `tsc --strict`
//! against the SDK's own typings, then run with Node. `.ci/run` installs the packages (`npm ci`).

use std::path::PathBuf;
use std::sync::OnceLock;

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;
use crate::node_project::NodeProject;

const LOGIN_APP: &str = "https://login.example.com/login";
const CONSENT_APP: &str = "https://consent.example.com/consent";

const CONSENT_APP_PROJECT: NodeProject = NodeProject {
    dir: "hydra",
    package: "@ory/hydra-client",
    what: "the consent app does not type-check against the SDK",
};

/// Compiles the app once per test binary.
fn compiled_app() -> PathBuf {
    static COMPILED: OnceLock<PathBuf> = OnceLock::new();
    CONSENT_APP_PROJECT.compiled(&COMPILED, "consent-app", |_| {})
}

#[tokio::test]
async fn hydras_own_sdk_drives_login_consent_sessions_and_revocation() {
    if !CONSENT_APP_PROJECT.installed() {
        return;
    }
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let body = json!({"loginUrl": LOGIN_APP, "consentUrl": CONSENT_APP});
    app.call(Method::PATCH, &app.env_url(""), Some(body), 200).await;

    let env = vec![
        ("ASSENT_BASE", app.base.clone()),
        ("ENV_ID", app.env_id.clone()),
        ("WORKER_TOKEN", app.token.clone()),
        ("CLIENT_ID", fixture.client_id.clone()),
        ("CLIENT_SECRET", fixture.client_secret.clone()),
        ("REDIRECT_URI", crate::browser::REDIRECT_URI.to_owned()),
        ("USER_ID", fixture.user_id.clone()),
        ("LOGIN_URL", LOGIN_APP.to_owned()),
        ("CONSENT_URL", CONSENT_APP.to_owned()),
    ];
    CONSENT_APP_PROJECT.run(compiled_app(), env).await;

    // The ledger saw it all: the accepted consent (now revoked through Hydra's API) and the rejection.
    let records = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await;
    let records = records["_embedded"]["oauthConsents"].as_array().unwrap().clone();
    let statuses: Vec<&str> = records.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["DECLINED", "REVOKED"], "{records:?}");
    assert!(records.iter().all(|r| r["source"] == "CONSENT_APP"));
    assert_eq!(records[1]["browser"]["name"], "Chrome", "enriched from the end user's browser");
}
