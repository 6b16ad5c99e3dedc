//! The `assent` binary: `bootstrap` prints working credentials, `--help` documents the commands, bad settings stop it.

use std::process::{Command, Output};

use assent::auth::secrets::generate_master_key;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{call_with, fresh_database, start_server, test_settings};

/// The binary with a clean `ASSENT_*` environment, run in `dir` so nothing lands in the working tree.
fn assent(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assent"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ASSENT_") {
            command.env_remove(key);
        }
    }
    command.current_dir(dir).env("ASSENT_LOG_LEVEL", "warn");
    command
}

fn run(mut command: Command) -> Output {
    command.output().expect("the assent binary runs")
}

#[tokio::test]
async fn bootstrap_prints_credentials_that_work_against_a_server_on_the_same_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, _database) = fresh_database().await;
    let key = generate_master_key();
    let mut command = assent(dir.path());
    command.env("ASSENT_DATABASE_URL", &url).env("ASSENT_SECRET_KEY", &key).args(["bootstrap", "--name", "Acme"]);
    let output = tokio::task::spawn_blocking(move || run(command)).await.expect("bootstrap ran");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bootstrap failed: {stderr}");

    // stdout is exactly one JSON object (and a newline), nothing else.
    assert_eq!(stdout.trim_end().lines().count(), 1, "one line on stdout: {stdout}");
    let mut stream = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>();
    let printed = stream.next().expect("a JSON value").expect("valid JSON");
    assert!(stream.next().is_none(), "exactly one JSON value: {stdout}");
    let object = printed.as_object().expect("a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["clientId", "clientSecret", "environmentId"]);
    let env_id = printed["environmentId"].as_str().expect("environmentId");
    let client_id = printed["clientId"].as_str().expect("clientId");
    let client_secret = printed["clientSecret"].as_str().expect("clientSecret");
    assert!(uuid::Uuid::parse_str(env_id).is_ok() && uuid::Uuid::parse_str(client_id).is_ok(), "{printed}");
    assert!(!stderr.contains(client_secret), "the secret is printed once, on stdout only");

    // A server on the same database accepts the credentials.
    let (base, _state) = start_server(test_settings(&url, &key)).await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/{env_id}/as/token"))
        .basic_auth(client_id, Some(client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status().as_u16(), 200);
    let token: Value = response.json().await.expect("token JSON");
    let token = token["access_token"].as_str().expect("access_token");
    let environment =
        call_with(&client, token, Method::GET, &format!("{base}/v1/environments/{env_id}"), None, 200).await;
    assert_eq!(environment["id"], env_id);
    assert_eq!(environment["name"], "Acme");
    let apps =
        call_with(&client, token, Method::GET, &format!("{base}/v1/environments/{env_id}/applications"), None, 200)
            .await;
    assert_eq!(apps["_embedded"]["applications"][0]["id"], client_id);
    assert_eq!(apps["_embedded"]["applications"][0]["type"], "WORKER");
    assert!(std::fs::read_dir(dir.path()).expect("dir").next().is_none(), "no key file or database in the cwd");
}

#[tokio::test]
async fn help_mentions_serve_and_bootstrap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = assent(dir.path());
    command.arg("--help");
    let output = run(command);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("serve"), "{help}");
    assert!(help.contains("bootstrap"), "{help}");
    assert!(help.contains("ASSENT_"), "settings come from ASSENT_* variables: {help}");

    let mut command = assent(dir.path());
    command.args(["bootstrap", "--help"]);
    let output = run(command);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("--name"));
}

#[tokio::test]
async fn an_invalid_setting_stops_the_binary_naming_the_setting() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [&["serve"][..], &["bootstrap", "--name", "Acme"][..]] {
        let mut command = assent(dir.path());
        command.env("ASSENT_LISTEN", "nope").env("ASSENT_SECRET_KEY", generate_master_key()).args(args);
        let output = run(command);
        assert!(!output.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("ASSENT_LISTEN"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "nothing on stdout: {}", String::from_utf8_lossy(&output.stdout));
    }
    // A value of the wrong type is named too.
    let mut command = assent(dir.path());
    command.env("ASSENT_TOKEN_LIFETIME_SECS", "soon").env("ASSENT_SECRET_KEY", generate_master_key());
    let output = run(command);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ASSENT_TOKEN_LIFETIME_SECS"), "{stderr}");
    assert!(std::fs::read_dir(dir.path()).expect("dir").next().is_none(), "nothing written on failure");
}
