//! The validated settings the server runs with ([`super::Config::validate`] makes them).

use std::net::SocketAddr;
use std::time::Duration;

use super::LogFormat;
use crate::auth::secrets::SecretBox;
use crate::enrich::{GeoIpSource, TrustedProxies};
use crate::limits::LimitSettings;
use crate::server::ConnectionLimits;
use crate::store::StoreSettings;

/// Validated settings the server runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Database connection settings.
    pub store: StoreSettings,
    /// Listen address.
    pub listen: SocketAddr,
    /// Public base URL without trailing slash; `None` means derive from the bound address.
    pub public_url: Option<String>,
    /// Log style.
    pub log_format: LogFormat,
    /// Tracing filter.
    pub log_level: String,
    /// The master key box.
    pub secrets: SecretBox,
    /// Access token lifetime in seconds.
    pub token_lifetime_secs: i64,
    /// How long a token found standing is believed on this node.
    pub token_recheck: Duration,
    /// Authorization code lifetime.
    pub code_lifetime: chrono::Duration,
    /// Login and consent page and challenge lifetime.
    pub challenge_lifetime: chrono::Duration,
    /// Request body limit in bytes.
    pub request_body_limit: usize,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Request body read timeout.
    pub body_read_timeout: Duration,
    /// Header-read and idle timeouts, connection cap.
    pub connections: ConnectionLimits,
    /// How long requests in flight may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Which GeoIP database to load.
    pub geoip: GeoIpSource,
    /// Request and guessing budgets.
    pub limits: LimitSettings,
    /// Password hashes computed at once (0 = one per core).
    pub argon2_workers: usize,
    /// Callers that may wait for a password hash.
    pub argon2_queue: usize,
    /// The bearer token `/metrics` asks for, if any.
    pub metrics_token: Option<String>,
    /// Whether requests are counted and `/metrics` is served.
    pub metrics: bool,
    /// When checkpoints of the event chains are signed.
    pub checkpoints: crate::domain::proof::checkpoints::CheckpointPolicy,
    /// Which webhook destinations are allowed.
    pub webhook_destinations: crate::domain::subscriptions::DestinationPolicy,
    /// How webhooks are delivered.
    pub delivery: crate::delivery::DeliverySettings,
}
