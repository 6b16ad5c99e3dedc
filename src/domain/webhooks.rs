//! Webhook messages in the Standard Webhooks form: one event of the log as a JSON message with a
//! stable id, signed `v1` (HMAC-SHA256 over `id.timestamp.body` with the subscription's secret);
//! and the retry schedule a failing destination is tried on.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::error::DomainError;
use super::ids::{EnvironmentId, SubscriptionId};
use super::paging::{Page, PageRequest};
use super::proof::chain::instant;
use super::proof::{ChainedEvent, EventType};
use crate::store::Store;

/// One event as a webhook message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookMessage {
    /// `webhook-id`: the same for every attempt of this event, to any destination
    /// (`{environmentId}:{sequence}`), so receivers can drop duplicates.
    pub id: String,
    /// The event's type.
    pub event_type: EventType,
    /// The event's sequence in its environment's chain.
    pub sequence: i64,
    /// When the event happened.
    pub occurred_at: DateTime<Utc>,
    /// The JSON body: `type`, `timestamp` and `data`.
    pub body: String,
}

/// The message id of event `sequence` of `env`.
pub fn message_id(env: EnvironmentId, sequence: i64) -> String {
    format!("{env}:{sequence}")
}

/// The message of `event`; `content` is what its digest covers (`None` when the record it is
/// about is no longer in the ledger). `data` carries the content's fields and the event's place in
/// the chain (`environmentId`, `sequence`, `subjectId`, `hash`), so a receiver can check it against
/// an export.
pub fn message(event: &ChainedEvent, content: Option<Value>) -> WebhookMessage {
    let mut data = Map::new();
    data.insert("environmentId".into(), json!(event.environment.to_string()));
    data.insert("sequence".into(), json!(event.sequence));
    data.insert("subjectId".into(), json!(event.event.subject));
    data.insert("hash".into(), json!(event.hash));
    if let Some(Value::Object(fields)) = content {
        for (name, value) in fields {
            data.entry(name).or_insert(value);
        }
    }
    let body = json!({
        "type": event.event.kind.name(),
        "timestamp": instant(event.event.at),
        "data": data,
    });
    WebhookMessage {
        id: message_id(event.environment, event.sequence),
        event_type: event.event.kind,
        sequence: event.sequence,
        occurred_at: event.event.at,
        body: body.to_string(),
    }
}

/// The `webhook-signature` value of a message: `v1,` and the base64 HMAC-SHA256, keyed with the
/// secret's bytes, of `{id}.{timestamp}.{body}` (`timestamp` in seconds since 1970).
pub fn signature(secret: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` value of a message signed with each of `secrets`: their signatures,
/// space-separated (after a rotation, the new secret's and the old one's; a receiver accepts a
/// message when any of them verifies).
pub fn signatures(secrets: &[Vec<u8>], id: &str, timestamp: i64, body: &str) -> String {
    secrets.iter().map(|secret| signature(secret, id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// A subscription's secrets as stored: the current one and, after a rotation, the one before it
/// with the time it stops signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedSecrets {
    /// The current secret, sealed.
    pub current: Vec<u8>,
    /// The secret before the last rotation, sealed, and until when it signs.
    pub previous: Option<(Vec<u8>, DateTime<Utc>)>,
}

impl SealedSecrets {
    /// The secrets that sign at `now`, opened: the current one, then the previous while it lasts.
    pub fn signing(
        &self,
        sealer: &crate::auth::secrets::SecretBox,
        now: DateTime<Utc>,
    ) -> Result<Vec<Vec<u8>>, String> {
        let mut open = vec![sealer.open_bytes(&self.current)?];
        if let Some((previous, until)) = &self.previous
            && now < *until
        {
            open.push(sealer.open_bytes(previous)?);
        }
        Ok(open)
    }
}

/// When a failing destination is tried again, and when it is given up on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first, second, … failure in a row; the last repeats.
    pub schedule: Vec<Duration>,
    /// A subscription failing for this long is disabled, with the reason recorded.
    pub disable_after: Duration,
}

impl Default for RetryPolicy {
    /// Tries again after 5 s, 5 min, 30 min, 2 h, 5 h and 10 h, then every 10 h (each ±20 %), so
    /// retries span more than a day; disabled after five days of failures.
    fn default() -> Self {
        let minutes = |n: u64| Duration::from_secs(60 * n);
        Self {
            schedule: vec![Duration::from_secs(5), minutes(5), minutes(30), minutes(120), minutes(300), minutes(600)],
            disable_after: Duration::from_secs(5 * 24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failures` failures in a row, spread by `jitter` (0 to 1) over ±20 %, so
    /// destinations that failed together are not all tried again at the same moment.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let index = (failures.max(1) as usize - 1).min(self.schedule.len().saturating_sub(1));
        let base = self.schedule.get(index).copied().unwrap_or(Duration::from_secs(5));
        base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
    }

    /// Whether a subscription failing since `since` is to be disabled at `now`.
    pub fn gives_up(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        (now - since).to_std().is_ok_and(|failing| failing >= self.disable_after)
    }
}

/// One delivery attempt of an event to a subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// Its id (time-ordered).
    pub id: uuid::Uuid,
    /// Its environment.
    pub environment_id: EnvironmentId,
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// The event's sequence.
    pub sequence: i64,
    /// The event's type.
    pub event_type: EventType,
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// The destination's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// How long it took.
    pub latency: Duration,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Whether the destination took it (a 2xx answer).
    pub delivered: bool,
    /// Whether an administrator asked for it (a replay).
    pub manual: bool,
    /// When the event is tried again, after a failure.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A page of a subscription's attempts, newest first (`next` leads to older ones, `prev` back).
pub async fn list_attempts(
    store: &Store,
    env: EnvironmentId,
    subscription: SubscriptionId,
    request: PageRequest,
) -> Result<Page<Attempt>, DomainError> {
    store.get_subscription(env, subscription).await?;
    let attempts = store.list_attempts(env, subscription, request).await?;
    Ok(Page::from_keyset(attempts, request, |a| a.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks reference libraries' tests.
        let secret = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
        let signed = signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn retries_follow_the_schedule_and_repeat_its_last_wait() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, 0.5), Duration::from_secs(5));
        assert_eq!(policy.delay(2, 0.5), Duration::from_secs(300));
        assert_eq!(policy.delay(40, 0.5), Duration::from_secs(36_000));
        assert_eq!(policy.delay(1, 0.0), Duration::from_secs(4));
        assert_eq!(policy.delay(1, 1.0), Duration::from_secs(6));
        // Eight retries span more than a day even when every wait is at its shortest.
        let spanned: Duration = (1..=8).map(|n| policy.delay(n, 0.0)).sum();
        assert!(spanned > Duration::from_secs(24 * 3600), "retries span a day: {spanned:?}");
        let now = Utc::now();
        assert!(!policy.gives_up(now - chrono::Duration::days(4), now));
        assert!(policy.gives_up(now - chrono::Duration::days(5), now));
    }
}
