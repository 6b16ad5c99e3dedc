//! The hash chain of an environment's consent events: how an event's content digest and its own
//! hash are computed. `docs/PROOF.md` states the same rules for anyone re-implementing them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::ids::EnvironmentId;

/// The `previousHash` of an environment's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What changed in the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A consent record was recorded (accepted or declined).
    ConsentRecorded,
    /// A record was revoked; its content says when and by whom.
    ConsentRevoked,
    /// An accepted record reached its expiry.
    ConsentExpired,
    /// A user's personal data was erased; ids, times and the chain stay.
    UserErased,
    /// A user was deleted (their accepted records are revoked by events of their own).
    UserDeleted,
    /// An application was deleted (its accepted records are revoked by events of their own).
    ApplicationDeleted,
    /// A scope's consent text changed: a new version was made.
    ScopeTextChanged,
}

impl EventType {
    /// Every type, in the order documented.
    pub const ALL: [EventType; 7] = [
        EventType::ConsentRecorded,
        EventType::ConsentRevoked,
        EventType::ConsentExpired,
        EventType::UserErased,
        EventType::UserDeleted,
        EventType::ApplicationDeleted,
        EventType::ScopeTextChanged,
    ];

    /// The type's name on the wire, in storage and in the hash.
    pub fn name(self) -> &'static str {
        match self {
            EventType::ConsentRecorded => "consent.recorded",
            EventType::ConsentRevoked => "consent.revoked",
            EventType::ConsentExpired => "consent.expired",
            EventType::UserErased => "user.erased",
            EventType::UserDeleted => "user.deleted",
            EventType::ApplicationDeleted => "application.deleted",
            EventType::ScopeTextChanged => "scope.text_changed",
        }
    }

    /// The type named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// An event about to be appended: its place in the chain is not known yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// What changed.
    pub kind: EventType,
    /// When.
    pub at: DateTime<Utc>,
    /// The record (or user, application, scope) it is about.
    pub subject: Uuid,
    /// [`digest`] of the event's content.
    pub digest: String,
}

impl NewEvent {
    /// An event of `kind` about `subject` at `at`, whose content is `content`.
    pub fn new(kind: EventType, at: DateTime<Utc>, subject: Uuid, content: &Value) -> Self {
        Self { kind, at, subject, digest: digest(content) }
    }
}

/// An event in its place in an environment's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainedEvent {
    /// The environment whose chain it belongs to.
    pub environment: EnvironmentId,
    /// Its position, from 1 without gaps.
    pub sequence: i64,
    /// The event.
    pub event: NewEvent,
    /// The hash of the event before it ([`GENESIS`] for the first).
    pub previous_hash: String,
    /// [`event_hash`] of all of the above.
    pub hash: String,
}

/// The last event of a chain: its sequence (0 before the first) and hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The last sequence number (0: empty).
    pub sequence: i64,
    /// The last hash ([`GENESIS`]: empty).
    pub hash: String,
}

impl Head {
    /// The head of an empty chain.
    pub fn empty() -> Self {
        Self { sequence: 0, hash: GENESIS.to_owned() }
    }
}

/// Places `events` after `head` in `env`'s chain; answers them and the new head.
pub fn chain(env: EnvironmentId, head: Head, events: Vec<NewEvent>) -> (Vec<ChainedEvent>, Head) {
    let mut head = head;
    let chained = events
        .into_iter()
        .map(|event| {
            let sequence = head.sequence + 1;
            let hash = event_hash(env, sequence, &event, &head.hash);
            let previous_hash = std::mem::replace(&mut head.hash, hash.clone());
            head.sequence = sequence;
            ChainedEvent { environment: env, sequence, event, previous_hash, hash }
        })
        .collect();
    (chained, head)
}

/// An instant as it is hashed: RFC 3339, UTC, milliseconds (the precision every timestamp is kept at).
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// SHA-256, lower-case hex, of `assent.event.v1|env|sequence|type|time|subject|digest|previousHash`.
pub fn event_hash(env: EnvironmentId, sequence: i64, event: &NewEvent, previous_hash: &str) -> String {
    let line = format!(
        "assent.event.v1|{env}|{sequence}|{}|{}|{}|{}|{previous_hash}",
        event.kind.name(),
        instant(event.at),
        event.subject,
        event.digest
    );
    hex(&Sha256::digest(line.as_bytes()))
}

/// SHA-256, lower-case hex, of the canonical JSON of `content` (see [`canonical_json`]).
pub fn digest(content: &Value) -> String {
    hex(&Sha256::digest(canonical_json(content).as_bytes()))
}

/// JSON with object keys sorted by their UTF-8 bytes and no insignificant whitespace; strings and
/// numbers as serde_json writes them (contents hold strings, integers, booleans, null and arrays).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(inner) = map.get(key) {
                    write_canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_drops_whitespace() {
        let content = json!({"b": [1, {"z": null, "a": "x"}], "a": true});
        assert_eq!(canonical_json(&content), r#"{"a":true,"b":[1,{"a":"x","z":null}]}"#);
        assert_eq!(digest(&content), digest(&json!({"a": true, "b": [1, {"a": "x", "z": null}]})));
    }

    #[test]
    fn each_event_hashes_over_the_one_before_it() {
        let env = EnvironmentId::new();
        let at = crate::domain::now();
        let events = (0..3).map(|n| NewEvent::new(EventType::ConsentRecorded, at, Uuid::now_v7(), &json!({"n": n})));
        let (chained, head) = chain(env, Head::empty(), events.collect());
        assert_eq!(chained[0].previous_hash, GENESIS);
        assert_eq!(chained[1].previous_hash, chained[0].hash);
        assert_eq!(chained[2].sequence, 3);
        assert_eq!(head, Head { sequence: 3, hash: chained[2].hash.clone() });
        assert_eq!(chained[1].hash, event_hash(env, 2, &chained[1].event, &chained[0].hash));
        let (more, _) = chain(env, head, vec![chained[0].event.clone()]);
        assert_eq!(more[0].sequence, 4);
        assert_ne!(more[0].hash, chained[0].hash, "the same event elsewhere in the chain hashes differently");
    }

    #[test]
    fn every_event_type_is_read_back_from_its_name() {
        for kind in EventType::ALL {
            assert_eq!(EventType::from_name(kind.name()), Some(kind));
        }
        assert_eq!(EventType::from_name("consent.edited"), None);
    }
}
