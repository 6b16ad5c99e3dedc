//! A TypeScript client generated from the checked-in `openapi.yaml` drives the records API: the
//! types come from `openapi-typescript` at test time (so spec drift fails here), the calls go through
//! `openapi-fetch`, and `tests/ts-client/records-client.ts` is type-checked with `tsc --strict` against
//! them before Node runs it. `.ci/run` installs the packages (`npm ci`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::helpers::{TestApp, skip};

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ts-client")
}

/// Runs `program` with `args` in the client's directory and fails the test with its output unless it succeeds.
fn run_tool(program: &str, args: &[&str], what: &str) {
    let dir = client_dir();
    let output = Command::new(dir.join("node_modules/.bin").join(program))
        .args(args)
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        output.status.success(),
        "{what}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Generates the types from the spec and compiles the client once per test binary; answers the compiled script.
fn compiled_client() -> PathBuf {
    static COMPILED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml");
            let spec = spec.to_str().expect("a UTF-8 path");
            run_tool(
                "openapi-typescript",
                &[spec, "-o", "generated/assent.d.ts"],
                "openapi-typescript cannot read openapi.yaml",
            );
            run_tool(
                "tsc",
                &["-p", "."],
                "the client does not type-check against the types generated from openapi.yaml",
            );
            client_dir().join("dist/records-client.js")
        })
        .clone()
}

#[tokio::test]
async fn a_client_generated_from_the_spec_records_pages_revokes_and_reads_errors() {
    if !client_dir().join("node_modules/openapi-fetch").exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must run the client test: npm ci --prefix tests/ts-client");
        skip("run `npm ci --prefix tests/ts-client` to install openapi-typescript and openapi-fetch");
        return;
    }
    let app = TestApp::spawn().await;
    let user_id = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let printer = app
        .create_app(json!({"name":"Printer","type":"WEB_APP","redirectUris":["https://printer.example.com/cb"]}))
        .await;
    let app_id = printer["id"].as_str().unwrap().to_owned();

    let script = compiled_client();
    let (base, env_id, token, user) = (app.base.clone(), app.env_id.clone(), app.token.clone(), user_id.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("ASSENT_BASE", base)
            .env("ENV_ID", env_id)
            .env("WORKER_TOKEN", token)
            .env("USER_ID", user)
            .env("APP_ID", app_id)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the client failed:\n{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap_or_default()).unwrap();
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["sizes"], json!([2, 2, 1]), "five records in pages of two: {summary}");
    assert_eq!(
        summary["error"],
        json!({"status": 400, "code": "INVALID_DATA", "detail": "INVALID_VALUE", "target": "expiresAt"})
    );

    // The server's own view: the five records the client made, newest first, the oldest revoked,
    // and nothing stored for the refused one.
    let page = app.get(&app.env_url(&format!("/users/{user_id}/oauthConsents")), 200).await;
    let records = page["_embedded"]["oauthConsents"].as_array().unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut recorded: Vec<&str> = summary["recorded"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    recorded.reverse();
    assert_eq!(ids, recorded);
    assert_eq!(summary["listed"], json!(ids));
    let statuses: Vec<&str> = records.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ACCEPTED", "ACCEPTED", "ACCEPTED", "DECLINED", "REVOKED"]);
    assert_eq!(summary["revoked"], json!(ids[4]));
}
