//! Webhook subscriptions: an environment's destinations for its consent events, delivered as
//! Standard Webhooks signed with a `whsec_` secret. Destinations are checked against server-side
//! request forgery: https only, and never an address on the loopback, private or link-local
//! networks unless the deployment allows it (`ASSENT_WEBHOOK_ALLOW_PRIVATE`).

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rand::RngCore;

use super::error::{DomainError, FieldError};
use super::ids::{EnvironmentId, SubscriptionId};
use super::proof::EventType;
use crate::auth::secrets::SecretBox;
use crate::store::Store;

/// Most subscriptions per environment.
pub const MAX_SUBSCRIPTIONS: u64 = 50;
/// Longest destination URL.
pub const MAX_URL: usize = 2048;
/// Bytes of a signing secret (Standard Webhooks: 24 to 64).
pub const SECRET_BYTES: usize = 32;
/// How long a rotated-out secret keeps signing beside the new one, so receivers can switch over.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);
/// How long resolving a destination's host may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// A subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: SubscriptionId,
    /// Its environment.
    pub environment_id: EnvironmentId,
    /// Where events are POSTed.
    pub url: String,
    /// The event types delivered.
    pub event_types: Vec<EventType>,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Why the service disabled it, if it did.
    pub disabled_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Where its delivery stands.
    pub delivery: DeliveryState,
}

/// Where a subscription's delivery stands in its environment's event log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryState {
    /// Every event up to this sequence was delivered (or is not of a subscribed type).
    pub delivered_through: i64,
    /// Failed attempts in a row at the next event.
    pub failures: u32,
    /// When the current run of failures began.
    pub failing_since: Option<DateTime<Utc>>,
    /// The next attempt is not made before this.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A subscription's settings as a client sends them (create, or full replace).
#[derive(Clone, Debug, Default)]
pub struct SubscriptionDraft {
    /// Where events are POSTed.
    pub url: Option<String>,
    /// Event type names.
    pub event_types: Option<Vec<String>>,
    /// Defaults to true.
    pub enabled: Option<bool>,
}

/// Which destinations are allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// Allow http and addresses on loopback, private and link-local networks (tests, labs).
    pub allow_private: bool,
}

/// A new signing secret in Standard Webhooks form (`whsec_` and base64), and its bytes.
fn new_secret() -> (String, Vec<u8>) {
    let mut bytes = vec![0u8; SECRET_BYTES];
    rand::thread_rng().fill_bytes(&mut bytes);
    (format!("whsec_{}", STANDARD.encode(&bytes)), bytes)
}

/// Whether `ip` is an address a webhook may be sent to from the public internet's point of view.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
                || (a == 198 && (b == 18 || b == 19)) // benchmarking (RFC 2544)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

/// Checks a destination URL; with `policy` strict, resolves its host and refuses any address that
/// is not public.
pub async fn check_destination(url: &str, policy: DestinationPolicy) -> Result<String, FieldError> {
    let refused = |why: &str| FieldError::invalid("url", format!("'url' {why}"));
    if url.len() > MAX_URL {
        return Err(refused(&format!("is longer than {MAX_URL} characters.")));
    }
    let parsed = url::Url::parse(url).map_err(|_| refused("is not an absolute URL."))?;
    let https = parsed.scheme() == "https";
    if !(https || (policy.allow_private && parsed.scheme() == "http")) {
        return Err(refused("must be an https URL."));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.fragment().is_some() {
        return Err(refused("must not carry credentials or a fragment."));
    }
    let Some(host) = parsed.host_str() else { return Err(refused("names no host.")) };
    if policy.allow_private {
        return Ok(parsed.to_string());
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host.as_str(), port))).await {
            Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
            _ => return Err(refused("names a host that cannot be resolved.")),
        },
    };
    if addresses.is_empty() || !addresses.iter().all(|ip| is_public(*ip)) {
        return Err(refused("resolves to a loopback, private or link-local address, which webhooks may not reach."));
    }
    Ok(parsed.to_string())
}

fn event_types(names: Option<Vec<String>>) -> Result<Vec<EventType>, FieldError> {
    let names = names.unwrap_or_default();
    let known = || EventType::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
    if names.is_empty() || names.len() > EventType::ALL.len() {
        return Err(FieldError::invalid("eventTypes", format!("'eventTypes' must list 1 or more of: {}.", known())));
    }
    let mut kinds = Vec::new();
    for name in &names {
        let kind = EventType::from_name(name).ok_or_else(|| {
            FieldError::invalid("eventTypes", format!("'{name}' is not an event type; use {}.", known()))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// A validated draft: url, event types, enabled.
async fn validate(
    draft: SubscriptionDraft,
    policy: DestinationPolicy,
) -> Result<(String, Vec<EventType>, bool), DomainError> {
    let mut problems = Vec::new();
    let url = match draft.url {
        Some(url) => check_destination(&url, policy).await.map_err(|e| problems.push(e)).ok(),
        None => {
            problems.push(FieldError::invalid("url", "'url' is required."));
            None
        }
    };
    let kinds = event_types(draft.event_types).map_err(|e| problems.push(e)).ok();
    match (url, kinds) {
        (Some(url), Some(kinds)) if problems.is_empty() => Ok((url, kinds, draft.enabled.unwrap_or(true))),
        _ => Err(DomainError::Invalid(problems)),
    }
}

/// Creates a subscription; answers it and its signing secret (shown this once).
pub async fn create_subscription(
    store: &Store,
    secrets: &SecretBox,
    env: EnvironmentId,
    draft: SubscriptionDraft,
    policy: DestinationPolicy,
) -> Result<(Subscription, String), DomainError> {
    let (url, event_types, enabled) = validate(draft, policy).await?;
    if store.count_subscriptions(env).await? >= MAX_SUBSCRIPTIONS {
        return Err(DomainError::InvalidState(format!(
            "An environment may have at most {MAX_SUBSCRIPTIONS} subscriptions."
        )));
    }
    let now = super::now();
    let subscription = Subscription {
        id: SubscriptionId::new(),
        environment_id: env,
        url,
        event_types,
        enabled,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        // Events from now on: a new destination is not sent the environment's whole history.
        delivery: DeliveryState { delivered_through: store.event_head(env).await?.sequence, ..Default::default() },
    };
    let (secret, bytes) = new_secret();
    let sealed = secrets.seal_bytes(&bytes).map_err(DomainError::Unexpected)?;
    store.insert_subscription(&subscription, &sealed).await?;
    Ok((subscription, secret))
}

/// The environment's subscriptions, oldest first (at most [`MAX_SUBSCRIPTIONS`]).
pub async fn list_subscriptions(store: &Store, env: EnvironmentId) -> Result<Vec<Subscription>, DomainError> {
    Ok(store.list_subscriptions(env).await?)
}

/// One subscription.
pub async fn get_subscription(
    store: &Store,
    env: EnvironmentId,
    id: SubscriptionId,
) -> Result<Subscription, DomainError> {
    Ok(store.get_subscription(env, id).await?)
}

/// Deletes a subscription: nothing more is delivered to it.
pub async fn delete_subscription(store: &Store, env: EnvironmentId, id: SubscriptionId) -> Result<(), DomainError> {
    Ok(store.delete_subscription(env, id).await?)
}

/// Replaces a subscription's settings; enabling it again clears the reason it was disabled.
pub async fn replace_subscription(
    store: &Store,
    env: EnvironmentId,
    id: SubscriptionId,
    draft: SubscriptionDraft,
    policy: DestinationPolicy,
) -> Result<Subscription, DomainError> {
    let mut subscription = store.get_subscription(env, id).await?;
    let (url, event_types, enabled) = validate(draft, policy).await?;
    subscription.url = url;
    subscription.event_types = event_types;
    if enabled && !subscription.enabled {
        // Tried again at once, from the event it stopped at.
        subscription.disabled_reason = None;
        subscription.delivery.failures = 0;
        subscription.delivery.failing_since = None;
        subscription.delivery.next_attempt_at = None;
    }
    subscription.enabled = enabled;
    subscription.updated_at = super::now();
    store.update_subscription(&subscription).await?;
    Ok(subscription)
}

/// Replaces a subscription's signing secret; answers the new one (shown this once). For
/// [`ROTATION_OVERLAP`] deliveries carry signatures with both.
pub async fn rotate_secret(
    store: &Store,
    secrets: &SecretBox,
    env: EnvironmentId,
    id: SubscriptionId,
) -> Result<String, DomainError> {
    let (secret, bytes) = new_secret();
    let sealed = secrets.seal_bytes(&bytes).map_err(DomainError::Unexpected)?;
    let now = super::now();
    store.replace_subscription_secret(env, id, &sealed, now, now + ROTATION_OVERLAP).await?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(!is_public(private.parse().unwrap_or_else(|e| panic!("{private}: {e}"))), "{private}");
        }
        for public in ["93.184.215.14", "2606:4700::1111", "8.8.8.8"] {
            assert!(is_public(public.parse().unwrap_or_else(|e| panic!("{public}: {e}"))), "{public}");
        }
    }

    #[tokio::test]
    async fn destinations_are_https_and_public_unless_private_ones_are_allowed() {
        let strict = DestinationPolicy::default();
        for refused in [
            "http://93.184.215.14/hook",
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.7/hook",
            "https://localhost/hook",
            "https://user:pw@93.184.215.14/hook",
            "ftp://93.184.215.14/hook",
            "not a url",
        ] {
            assert!(check_destination(refused, strict).await.is_err(), "{refused}");
        }
        assert!(check_destination("https://93.184.215.14/hook", strict).await.is_ok());
        let lab = DestinationPolicy { allow_private: true };
        assert!(check_destination("http://127.0.0.1:9/hook", lab).await.is_ok());
    }
}
