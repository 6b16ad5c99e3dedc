//! Processes starting together on one new SQLite file take turns migrating it.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use assent::auth::secrets::generate_master_key;
use serde_json::Value;

use crate::helpers::assent_command as assent;

#[test]
fn serve_and_two_bootstraps_started_together_on_a_new_sqlite_file_all_succeed() {
    for round in 0..4 {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("assent.db").display());
        let key = generate_master_key();
        let mut serve = assent(&url, &key)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("assent serve starts");
        let bootstraps: Vec<_> = ["First", "Second"]
            .into_iter()
            .map(|name| {
                assent(&url, &key)
                    .args(["bootstrap", "--name", name])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("assent bootstrap starts")
            })
            .collect();
        for bootstrap in bootstraps {
            let output = bootstrap.wait_with_output().expect("bootstrap ran");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "round {round}: bootstrap failed: {stderr}");
            let printed: Value = serde_json::from_slice(&output.stdout).expect("bootstrap JSON");
            assert!(printed["environmentId"].is_string(), "round {round}: {printed}");
        }
        // The server, started at the same moment, came up too.
        let log = BufReader::new(serve.stderr.take().expect("stderr"));
        let mut seen = Vec::new();
        let listening = log.lines().map_while(Result::ok).any(|line| {
            let up = serde_json::from_str::<Value>(&line)
                .is_ok_and(|entry| entry["fields"]["message"] == "assent listening");
            seen.push(line);
            up
        });
        let _ = serve.kill();
        let _ = serve.wait();
        assert!(listening, "round {round}: the server did not start: {}", seen.join("\n"));
    }
}
