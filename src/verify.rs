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

/// Verifies `export` against the keys in `jwks`; answers the process exit code.
pub fn run(export: &Path, jwks: &Path) -> i32 {
    let keys = match std::fs::read(jwks).map_err(|e| e.to_string()).and_then(|bytes| {
        serde_json::from_slice::<Jwks>(&bytes).map_err(|e| format!("not a JWKS ({{\"keys\": [...]}}): {e}"))
    }) {
        Ok(jwks) => jwks.keys,
        Err(why) => return unusable(&format!("{}: {why}", jwks.display())),
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
