//! Shared state handed to every handler.

use std::sync::Arc;

use crate::auth::secrets::SecretBox;
use crate::auth::tokens::TokenService;
use crate::enrich::{Enricher, TrustedProxies};
use crate::store::Store;

/// Everything a request may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Token issuing and verification, with cached keys.
    pub tokens: Arc<TokenService>,
    /// Master key box for stored secrets.
    pub secrets: SecretBox,
    /// Public base URL (no trailing slash) for absolute links.
    pub public_url: Arc<str>,
    /// User-Agent and GeoIP enrichment, loaded once.
    pub enricher: Arc<Enricher>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Request budgets and guessing budgets.
    pub limiters: Arc<crate::limits::Limiters>,
    /// How long authorization codes live.
    pub code_lifetime: chrono::Duration,
    /// How long login and consent pages and external challenges stay valid.
    pub pending_lifetime: chrono::Duration,
    /// Which webhook destinations are allowed.
    pub webhook_destinations: crate::domain::subscriptions::DestinationPolicy,
    /// The client webhooks are sent with (deliveries and replays).
    pub webhook_sender: crate::delivery::sender::Sender,
    /// What this node's deliveries came to.
    pub delivery_stats: crate::delivery::DeliveryStats,
}

impl AppState {
    /// Absolute URL of an environment-relative path such as `/v1/environments/{id}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}
