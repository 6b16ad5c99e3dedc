//! `assent serve` as a child process: started on a database with settings of its own, its log
//! read as it comes, killed (SIGKILL) when dropped or when a test kills it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::helpers::assent_command;

/// A running `assent serve`, its base URL, and its log so far.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its base URL.
    pub base: String,
    /// Its log lines (JSON), as they came.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `assent serve` on `database_url` with `settings` (`ASSENT_*` variables) and waits
/// until it listens.
pub fn serve(database_url: &str, secret_key: &str, settings: &[(&str, &str)]) -> Server {
    let mut child = assent_command(database_url, secret_key)
        .arg("serve")
        .envs(settings.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("assent serve starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let base = loop {
        let line = lines.next().expect("the server exited before listening").expect("log line");
        let Ok(entry) = serde_json::from_str::<Value>(&line) else { continue };
        if entry["fields"]["message"] == "assent listening" {
            break format!("http://{}", entry["fields"]["address"].as_str().expect("address"));
        }
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    let kept = log.clone();
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|line| kept.lock().unwrap().push(line)));
    Server { child, base, log }
}

/// `assent bootstrap --name NAME` on `database_url`: the environment id, client id and secret.
pub fn bootstrap(database_url: &str, secret_key: &str, name: &str) -> (String, String, String) {
    let boot =
        assent_command(database_url, secret_key).args(["bootstrap", "--name", name]).output().expect("bootstrap");
    assert!(boot.status.success(), "{}", String::from_utf8_lossy(&boot.stderr));
    let boot: Value = serde_json::from_slice(&boot.stdout).expect("bootstrap JSON");
    let field = |name: &str| boot[name].as_str().expect(name).to_owned();
    (field("environmentId"), field("clientId"), field("clientSecret"))
}

/// A worker access token from the server at `base`.
pub async fn worker_token(base: &str, env: &str, client_id: &str, secret: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/{env}/as/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    let body: Value = response.json().await.expect("token JSON");
    body["access_token"].as_str().expect("access_token").to_owned()
}
