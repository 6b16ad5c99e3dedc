//! Offline verification of an event log export (`assent verify`): every event's content against its
//! digest, every hash link, and every checkpoint's signature against the given public keys.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::chain::{EventType, NewEvent, digest, event_hash};
use super::checkpoints::CHECKPOINT_TYP;
use super::log::EXPORT_FORMAT;
use crate::auth::jws::verify_es256;
use crate::auth::keys::PublicJwk;
use crate::domain::ids::EnvironmentId;

/// A log that checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The environment whose log it is.
    pub environment: EnvironmentId,
    /// Events checked.
    pub events: i64,
    /// The last event's hash.
    pub head_hash: String,
    /// Checkpoints whose signatures and hashes checked.
    pub checkpoints: u64,
    /// The sequence the last checkpoint covers (0: none).
    pub last_checkpoint: i64,
}

/// Where and why a log failed verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The first sequence number found broken; `None` when the file itself is unusable.
    pub sequence: Option<i64>,
    /// What is wrong.
    pub reason: String,
}

impl Broken {
    fn at(sequence: i64, reason: impl Into<String>) -> Self {
        Self { sequence: Some(sequence), reason: reason.into() }
    }

    fn file(reason: impl Into<String>) -> Self {
        Self { sequence: None, reason: reason.into() }
    }
}

fn text<'a>(line: &'a Value, field: &str) -> Option<&'a str> {
    line.get(field).and_then(Value::as_str)
}

/// Checks the export `lines` (NDJSON: a header, events in order, checkpoints) against `keys`.
pub fn verify(
    lines: impl IntoIterator<Item = std::io::Result<String>>,
    keys: &[PublicJwk],
) -> Result<Verified, Broken> {
    let mut lines = lines.into_iter().enumerate().filter_map(|(n, line)| match line {
        Ok(line) if line.trim().is_empty() => None,
        Ok(line) => {
            Some(serde_json::from_str::<Value>(&line).map_err(|e| Broken::file(format!("line {}: {e}", n + 1))))
        }
        Err(e) => Some(Err(Broken::file(format!("reading line {}: {e}", n + 1)))),
    });
    let header = lines.next().ok_or_else(|| Broken::file("the file is empty"))??;
    if text(&header, "kind") != Some("header") || text(&header, "format") != Some(EXPORT_FORMAT) {
        return Err(Broken::file(format!("the first line is not an {EXPORT_FORMAT} header")));
    }
    let environment = text(&header, "environmentId")
        .and_then(EnvironmentId::parse)
        .ok_or_else(|| Broken::file("the header names no environment"))?;
    // Each event's hash, by sequence - 1, for the checkpoints at the end.
    let mut hashes: Vec<[u8; 32]> = Vec::new();
    let mut previous = super::GENESIS.to_owned();
    let mut verified =
        Verified { environment, events: 0, head_hash: previous.clone(), checkpoints: 0, last_checkpoint: 0 };
    for line in lines {
        let line = line?;
        match text(&line, "kind") {
            Some("event") if verified.checkpoints == 0 => {
                let sequence = verified.events + 1;
                check_event(environment, sequence, &line, &previous)?;
                previous = text(&line, "hash").unwrap_or_default().to_owned();
                hashes.push(Sha256::digest(previous.as_bytes()).into());
                verified.events = sequence;
            }
            Some("checkpoint") => {
                let sequence = check_checkpoint(environment, &line, keys, &hashes, verified.last_checkpoint)?;
                verified.checkpoints += 1;
                verified.last_checkpoint = sequence;
            }
            _ => return Err(Broken::at(verified.events + 1, "expected the next event (or a checkpoint)")),
        }
    }
    verified.head_hash = previous;
    Ok(verified)
}

fn check_event(env: EnvironmentId, sequence: i64, line: &Value, previous: &str) -> Result<(), Broken> {
    let broken = |reason: &str| Broken::at(sequence, reason);
    if line.get("sequence").and_then(Value::as_i64) != Some(sequence) {
        return Err(broken("an event is missing or out of order here"));
    }
    let kind = text(line, "type").and_then(EventType::from_name).ok_or_else(|| broken("unknown event type"))?;
    let at = text(line, "occurredAt")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| broken("unreadable occurredAt"))?
        .with_timezone(&chrono::Utc);
    let subject = text(line, "subjectId")
        .and_then(|t| uuid::Uuid::parse_str(t).ok())
        .ok_or_else(|| broken("unreadable subjectId"))?;
    let stated = text(line, "digest").ok_or_else(|| broken("no digest"))?;
    match line.get("content") {
        Some(content) if !content.is_null() => {
            if digest(content) != stated {
                return Err(broken("the content (the record as stored now) does not match the event's digest"));
            }
        }
        _ => return Err(broken("the record this event is about is missing from the ledger")),
    }
    if text(line, "previousHash") != Some(previous) {
        return Err(broken("previousHash is not the hash of the event before"));
    }
    let event = NewEvent { kind, at, subject, digest: stated.to_owned() };
    if text(line, "hash") != Some(event_hash(env, sequence, &event, previous).as_str()) {
        return Err(broken("the event's hash does not match its fields"));
    }
    Ok(())
}

/// Checks one checkpoint; answers its sequence.
fn check_checkpoint(
    env: EnvironmentId,
    line: &Value,
    keys: &[PublicJwk],
    hashes: &[[u8; 32]],
    last: i64,
) -> Result<i64, Broken> {
    let sequence =
        line.get("sequence").and_then(Value::as_i64).ok_or_else(|| Broken::file("a checkpoint without a sequence"))?;
    let jws = text(line, "jws").ok_or_else(|| Broken::at(sequence, "a checkpoint without a signature"))?;
    let claims = verify_es256(jws, CHECKPOINT_TYP, keys)
        .map_err(|e| Broken::at(sequence, format!("the checkpoint's signature does not verify: {e}")))?;
    let env_text = env.to_string();
    if claims.get("sub").and_then(Value::as_str) != Some(env_text.as_str())
        || claims.get("seq").and_then(Value::as_i64) != Some(sequence)
    {
        return Err(Broken::at(sequence, "the signed checkpoint is of another environment or sequence"));
    }
    let signed_hash = claims.get("hash").and_then(Value::as_str).unwrap_or_default();
    let Some(held) = usize::try_from(sequence - 1).ok().and_then(|n| hashes.get(n)) else {
        let end = hashes.len() as i64;
        return Err(Broken::at(
            end + 1,
            format!("the log ends at {end}, but a signed checkpoint covers {sequence}: events were removed"),
        ));
    };
    if *held != <[u8; 32]>::from(Sha256::digest(signed_hash.as_bytes())) {
        return Err(Broken::at(
            sequence,
            format!(
                "the chain at {sequence} is not the one signed: an event after {last} and up to {sequence} was rewritten"
            ),
        ));
    }
    Ok(sequence)
}
