//! `assent verify`: reads an event log export and a JWKS file, checks them offline, and prints the
//! outcome as one JSON object (and, when broken, one line for people on stderr).

use std::io::BufRead;
use std::path::Path;

use serde_json::json;

use crate::auth::keys::PublicJwk;
use crate::domain::proof::verify::verify;

/// Exit code of a log that checked out.
pub const VERIFIED: i32 = 0;
/// Exit code of a log found broken.
pub const BROKEN: i32 = 1;
/// Exit code when the export or the JWKS cannot be read.
pub const UNUSABLE: i32 = 2;

#[derive(serde::Deserialize)]
struct Jwks {
    keys: Vec<PublicJwk>,
}

/// Most bytes of a JWKS read from a URL.
const MAX_JWKS_BYTES: u64 = 1024 * 1024;

/// The bytes of the JWKS at `source`: an http(s) URL (fetched once, redirects not followed, 10 s,
/// at most 1 MiB) or a file.
fn jwks_bytes(source: &str) -> Result<Vec<u8>, String> {
    if !(source.starts_with("https://") || source.starts_with("http://")) {
        return std::fs::read(source).map_err(|e| e.to_string());
    }
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.get(source).send().map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(response, MAX_JWKS_BYTES + 1), &mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_JWKS_BYTES {
        return Err("is larger than 1 MiB".into());
    }
    Ok(bytes)
}

/// Verifies `export` against the keys in `jwks` (a file or an http(s) URL); answers the process exit code.
pub fn run(export: &Path, jwks: &str) -> i32 {
    let keys = match jwks_bytes(jwks).and_then(|bytes| {
        serde_json::from_slice::<Jwks>(&bytes).map_err(|e| format!("not a JWKS ({{\"keys\": [...]}}): {e}"))
    }) {
        Ok(jwks) => jwks.keys,
        Err(why) => return unusable(&format!("{jwks}: {why}")),
    };
    let file = match std::fs::File::open(export) {
        Ok(file) => file,
        Err(why) => return unusable(&format!("{}: {why}", export.display())),
    };
    match verify(std::io::BufReader::new(file).lines(), &keys) {
        Ok(verified) => {
            let report = json!({
                "verified": true,
                "environmentId": verified.environment.to_string(),
                "events": verified.events,
                "headHash": verified.head_hash,
                "checkpoints": verified.checkpoints,
                "lastCheckpoint": verified.last_checkpoint,
                "unsignedEvents": verified.events - verified.last_checkpoint,
            });
            println!("{report}");
            VERIFIED
        }
        Err(broken) if broken.sequence.is_none() => unusable(&broken.reason),
        Err(broken) => {
            let sequence = broken.sequence.unwrap_or_default();
            println!("{}", json!({"verified": false, "brokenAt": sequence, "reason": broken.reason}));
            eprintln!("broken at sequence {sequence}: {}", broken.reason);
            BROKEN
        }
    }
}

fn unusable(why: &str) -> i32 {
    println!("{}", json!({"verified": false, "error": why}));
    eprintln!("cannot verify: {why}");
    UNUSABLE
}
