//! Ory Hydra's official SDK (`@ory/hydra-client` from npm) drives the external login and consent
//! flow against a running Assent: `tests/hydra/consent-app.ts`, type-checked with `tsc --strict`
//! against the SDK's own typings, then run with Node. `.ci/run` installs the packages (`npm ci`).

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, skip};

const LOGIN_APP: &str = "https://login.example.com/login";
const CONSENT_APP: &str = "https://consent.example.com/consent";

fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hydra")
}

/// Compiles the app once per test binary; answers the compiled script.
fn compiled_app() -> PathBuf {
    static COMPILED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let dir = app_dir();
            let output =
                Command::new(dir.join("node_modules/.bin/tsc")).arg("-p").arg(&dir).output().expect("tsc runs");
            assert!(
                output.status.success(),
                "the consent app does not type-check against the SDK:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            dir.join("dist/consent-app.js")
        })
        .clone()
}

#[tokio::test]
async fn hydras_own_sdk_drives_login_consent_sessions_and_revocation() {
    if !app_dir().join("node_modules/@ory/hydra-client").exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must run the SDK test: npm ci --prefix tests/hydra");
        skip("run `npm ci --prefix tests/hydra` to install @ory/hydra-client");
        return;
    }
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let body = json!({"loginUrl": LOGIN_APP, "consentUrl": CONSENT_APP});
    app.call(Method::PATCH, &app.env_url(""), Some(body), 200).await;

    let script = compiled_app();
    let (base, env_id, token) = (app.base.clone(), app.env_id.clone(), app.token.clone());
    let (client_id, client_secret, user_id) =
        (fixture.client_id.clone(), fixture.client_secret.clone(), fixture.user_id.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("ASSENT_BASE", base)
            .env("ENV_ID", env_id)
            .env("WORKER_TOKEN", token)
            .env("CLIENT_ID", client_id)
            .env("CLIENT_SECRET", client_secret)
            .env("REDIRECT_URI", crate::browser::REDIRECT_URI)
            .env("USER_ID", user_id)
            .env("LOGIN_URL", LOGIN_APP)
            .env("CONSENT_URL", CONSENT_APP)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the SDK app failed:\n{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap_or_default()).unwrap();
    assert_eq!(summary["ok"], true);

    // The ledger saw it all: the accepted consent (now revoked through Hydra's API) and the rejection.
    let records = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await;
    let records = records["_embedded"]["oauthConsents"].as_array().unwrap().clone();
    let statuses: Vec<&str> = records.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["DECLINED", "REVOKED"], "{records:?}");
    assert!(records.iter().all(|r| r["source"] == "CONSENT_APP"));
    assert_eq!(records[1]["browser"]["name"], "Chrome", "enriched from the end user's browser");
}
