//! Reading an environment's event log: pages for the API, and the export `assent verify` checks,
//! in which each event carries the content its digest covers, rebuilt from the ledger as it is now.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use uuid::Uuid;

use super::chain::{ChainedEvent, EventType, instant};
use super::checkpoints::Checkpoint;
use super::content;
use crate::domain::consents::Consent;
use crate::domain::error::{DomainError, FieldError};
use crate::domain::ids::EnvironmentId;
use crate::domain::paging::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::domain::scopes::ScopeText;
use crate::store::Store;

/// The name of the export format, in its first line.
pub const EXPORT_FORMAT: &str = "assent.consent-events.v1";
/// Events read per query of an export.
pub const EXPORT_CHUNK: u64 = 500;

/// A page request on the event log: events after a sequence number, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventsRequest {
    /// How many events.
    pub limit: u64,
    /// The page starts after this sequence number (0: from the first event).
    pub after: i64,
}

impl EventsRequest {
    /// Validates `limit` (at least 1, at most [`MAX_LIMIT`] served) and decodes `cursor`.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, DomainError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if n >= 1 => (n as u64).min(MAX_LIMIT),
            Some(_) => return Err(DomainError::field(FieldError::invalid("limit", "'limit' must be at least 1."))),
        };
        let after = match cursor {
            None | Some("") => 0,
            Some(text) => decode_cursor(text).ok_or_else(|| {
                DomainError::field(FieldError::invalid(
                    "cursor",
                    "'cursor' is not a cursor this service issued; follow the 'next' link verbatim.",
                ))
            })?,
        };
        Ok(Self { limit, after })
    }
}

/// The opaque cursor of the page after sequence number `after`.
pub fn encode_cursor(after: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("e:{after}"))
}

fn decode_cursor(text: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let after: i64 = std::str::from_utf8(&bytes).ok()?.strip_prefix("e:")?.parse().ok()?;
    (after >= 0).then_some(after)
}

/// One page of events (or checkpoints) and the cursor of the next, when there are more.
#[derive(Clone, Debug)]
pub struct SequencePage<T> {
    /// The items, oldest first.
    pub items: Vec<T>,
    /// The cursor of the page after this one.
    pub next_cursor: Option<String>,
}

impl<T> SequencePage<T> {
    /// A page of `request.limit` items out of `fetched` (one more than that when there are more).
    pub(crate) fn of(mut fetched: Vec<T>, request: EventsRequest, sequence: impl Fn(&T) -> i64) -> Self {
        let more = fetched.len() as u64 > request.limit;
        fetched.truncate(request.limit as usize);
        let next_cursor = if more { fetched.last().map(|last| encode_cursor(sequence(last))) } else { None };
        Self { items: fetched, next_cursor }
    }
}

/// A page of `env`'s event log.
pub async fn list_events(
    store: &Store,
    env: EnvironmentId,
    request: EventsRequest,
) -> Result<SequencePage<ChainedEvent>, DomainError> {
    let events = store.list_events(env, request.after, request.limit + 1).await?;
    Ok(SequencePage::of(events, request, |e| e.sequence))
}

/// A page of `env`'s signed checkpoints.
pub async fn list_checkpoints(
    store: &Store,
    env: EnvironmentId,
    request: EventsRequest,
) -> Result<SequencePage<Checkpoint>, DomainError> {
    let checkpoints = store.list_checkpoints(env, request.after, request.limit + 1).await?;
    Ok(SequencePage::of(checkpoints, request, |c| c.sequence))
}

/// The content `event`'s digest covers, rebuilt from the record it is about (`None` when that
/// record is not in the ledger).
pub fn content_of(
    event: &ChainedEvent,
    records: &HashMap<Uuid, Consent>,
    texts: &HashMap<Uuid, ScopeText>,
) -> Option<Value> {
    let record = records.get(&event.event.subject);
    match event.event.kind {
        EventType::ConsentRecorded => record.map(content::recorded),
        EventType::ConsentRevoked => {
            record.and_then(|r| r.revocation).map(|revocation| content::revoked(event.event.subject, revocation))
        }
        EventType::ConsentExpired => {
            record.and_then(|r| r.expires_at).map(|at| content::expired(event.event.subject, at))
        }
        EventType::ScopeTextChanged => texts.get(&event.event.subject).map(content::scope_text),
        kind => Some(content::subject_only(kind, event.event.subject)),
    }
}

/// The content each of `events` (of `env`) covers, rebuilt from the ledger as it is now.
pub async fn contents(
    store: &Store,
    env: EnvironmentId,
    events: &[ChainedEvent],
) -> Result<Vec<Option<Value>>, DomainError> {
    let about = |kinds: &[EventType]| -> Vec<Uuid> {
        events.iter().filter(|e| kinds.contains(&e.event.kind)).map(|e| e.event.subject).collect()
    };
    let record_ids = about(&[EventType::ConsentRecorded, EventType::ConsentRevoked, EventType::ConsentExpired]);
    let records: HashMap<Uuid, Consent> = if record_ids.is_empty() {
        HashMap::new()
    } else {
        store.consents_by_ids(env, &record_ids).await?.into_iter().map(|r| (r.id.as_uuid(), r)).collect()
    };
    let text_ids = about(&[EventType::ScopeTextChanged]);
    let texts: HashMap<Uuid, ScopeText> = if text_ids.is_empty() {
        HashMap::new()
    } else {
        store.scope_texts_by_ids(env, &text_ids).await?.into_iter().map(|t| (t.id, t)).collect()
    };
    Ok(events.iter().map(|e| content_of(e, &records, &texts)).collect())
}

/// One export line of `event`, with its content.
pub fn event_line(event: &ChainedEvent, content: Option<Value>) -> Value {
    json!({
        "kind": "event",
        "sequence": event.sequence,
        "type": event.event.kind.name(),
        "occurredAt": instant(event.event.at),
        "subjectId": event.event.subject,
        "digest": event.event.digest,
        "previousHash": event.previous_hash,
        "hash": event.hash,
        "content": content,
    })
}

/// An export of the event log under way: events in chunks, then the checkpoints.
pub struct EventExport {
    store: Store,
    env: EnvironmentId,
    /// The chain's head when the export started: events and checkpoints after it are left out, so
    /// the file is one consistent state of the log.
    upto: i64,
    after: i64,
    events_done: bool,
    /// The sequence of the last checkpoint written.
    checkpoint_after: i64,
    checkpoints_done: bool,
}

impl EventExport {
    /// Starts an export of `env`'s whole log, as it stands now.
    pub async fn start(store: &Store, env: EnvironmentId) -> Result<Self, DomainError> {
        let upto = store.event_head(env).await?.sequence;
        Ok(Self {
            store: store.clone(),
            env,
            upto,
            after: 0,
            events_done: false,
            checkpoint_after: 0,
            checkpoints_done: false,
        })
    }

    /// The export's first line.
    pub fn header(&self, issuer: &str, jwks_uri: &str) -> Value {
        json!({
            "kind": "header",
            "format": EXPORT_FORMAT,
            "environmentId": self.env.to_string(),
            "issuer": issuer,
            "jwksUri": jwks_uri,
            "exportedAt": instant(crate::domain::now()),
        })
    }

    /// The next lines (events with their contents, then checkpoints); `None` at the end.
    pub async fn next_lines(&mut self) -> Result<Option<Vec<Value>>, DomainError> {
        if !self.events_done {
            let mut events = self.store.list_events(self.env, self.after, EXPORT_CHUNK).await?;
            self.events_done = (events.len() as u64) < EXPORT_CHUNK;
            if events.last().is_some_and(|last| last.sequence >= self.upto) {
                events.retain(|e| e.sequence <= self.upto);
                self.events_done = true;
            }
            if let Some(last) = events.last() {
                self.after = last.sequence;
            }
            let contents = contents(&self.store, self.env, &events).await?;
            let lines: Vec<Value> = events.iter().zip(contents).map(|(e, content)| event_line(e, content)).collect();
            if !lines.is_empty() {
                return Ok(Some(lines));
            }
        }
        if !self.checkpoints_done {
            let checkpoints = self.store.list_checkpoints(self.env, self.checkpoint_after, EXPORT_CHUNK).await?;
            let mut checkpoints = checkpoints;
            self.checkpoints_done = (checkpoints.len() as u64) < EXPORT_CHUNK;
            if checkpoints.last().is_some_and(|last| last.sequence >= self.upto) {
                checkpoints.retain(|c| c.sequence <= self.upto);
                self.checkpoints_done = true;
            }
            if let Some(last) = checkpoints.last() {
                self.checkpoint_after = last.sequence;
                return Ok(Some(checkpoints.iter().map(super::checkpoints::checkpoint_line).collect()));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_names_the_sequence_it_follows_and_nothing_else_is_one() {
        let request = EventsRequest::parse(Some(5), Some(&encode_cursor(42))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request, EventsRequest { limit: 5, after: 42 });
        assert!(EventsRequest::parse(None, Some("e:42")).is_err());
        assert!(EventsRequest::parse(None, Some(&URL_SAFE_NO_PAD.encode("e:-1"))).is_err());
        assert!(EventsRequest::parse(Some(0), None).is_err());
        assert_eq!(EventsRequest::parse(Some(5000), None).map(|r| r.limit).ok(), Some(MAX_LIMIT));
    }
}
