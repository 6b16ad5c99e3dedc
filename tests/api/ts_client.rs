//! A TypeScript client generated from the checked-in `openapi.yaml` drives the records API: the
//! types come from `openapi-typescript` at test time (so spec drift fails here), the calls go through
//! `openapi-fetch`, and `tests/ts-client/records-client.ts` is type-checked with `tsc --strict` against
//! them before Node runs it. `.ci/run` installs the packages (`npm ci`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::json;

use crate::helpers::TestApp;
use crate::node_project::NodeProject;

const CLIENT: NodeProject = NodeProject {
    dir: "ts-client",
    package: "openapi-fetch",
    what: "the client does not type-check against the types generated from openapi.yaml",
};

/// Generates the types from the spec and compiles the client once per test binary.
fn compiled_client() -> PathBuf {
    static COMPILED: OnceLock<PathBuf> = OnceLock::new();
    CLIENT.compiled(&COMPILED, "records-client", |project| {
        let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml");
        project.tool("openapi-typescript", &[spec.to_str().expect("a UTF-8 path"), "-o", "generated/assent.d.ts"]);
    })
}

#[tokio::test]
async fn a_client_generated_from_the_spec_records_pages_revokes_and_reads_errors() {
    if !CLIENT.installed() {
        return;
    }
    let app = TestApp::spawn().await;
    let user_id = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let printer = app
        .create_app(json!({"name":"Printer","type":"WEB_APP","redirectUris":["https://printer.example.com/cb"]}))
        .await;
    let app_id = printer["id"].as_str().unwrap().to_owned();

    let env = vec![
        ("ASSENT_BASE", app.base.clone()),
        ("ENV_ID", app.env_id.clone()),
        ("WORKER_TOKEN", app.token.clone()),
        ("USER_ID", user_id.clone()),
        ("APP_ID", app_id),
    ];
    let summary = CLIENT.run(compiled_client(), env).await;
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
