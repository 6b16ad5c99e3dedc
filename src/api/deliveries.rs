//! `/v1/environments/{envId}/subscriptions/{id}/attempts` and `…/replay`: what became of each
//! delivery of a webhook subscription, and sending one event again.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::json::JsonBody;
use super::security::BearerToken;
use super::types::{CollectionLinks, Timestamp, page_parts};
use super::{ApiTags, admin_env, resource_id};
use crate::domain::ids::SubscriptionId;
use crate::domain::paging::PageRequest;
use crate::domain::webhooks::{self, Attempt};
use crate::error::ApiError;
use crate::state::AppState;

/// One delivery attempt.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct AttemptOut {
    /// Its id.
    pub id: String,
    /// The `webhook-id` of the message (`{envId}:{sequence}`), the same on every attempt.
    pub message_id: String,
    /// The event's sequence in the environment's log.
    pub sequence: i64,
    /// The event's type.
    pub event_type: String,
    /// When it was made.
    pub attempted_at: Timestamp,
    /// The destination's HTTP status, when it answered.
    #[oai(skip_serializing_if_is_none)]
    pub status_code: Option<u16>,
    /// Milliseconds from the request to the answer's head (or the failure).
    pub latency_ms: u64,
    /// Whether the destination took it (a 2xx answer).
    pub delivered: bool,
    /// Why it failed, when it did: no answer, could not connect, or the status it answered.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// Whether it was a replay an administrator asked for.
    pub manual: bool,
    /// When the event is tried again, after a failure.
    #[oai(skip_serializing_if_is_none)]
    pub next_attempt_at: Option<Timestamp>,
}

impl From<Attempt> for AttemptOut {
    fn from(a: Attempt) -> Self {
        Self {
            id: a.id.to_string(),
            message_id: webhooks::message_id(a.environment_id, a.sequence),
            sequence: a.sequence,
            event_type: a.event_type.name().to_owned(),
            attempted_at: a.attempted_at.into(),
            status_code: a.status_code,
            latency_ms: u64::try_from(a.latency.as_millis()).unwrap_or(u64::MAX),
            delivered: a.delivered,
            error: a.error,
            manual: a.manual,
            next_attempt_at: a.next_attempt_at.map(Into::into),
        }
    }
}

/// Embedded attempts of a page.
#[derive(Clone, Debug, Object)]
pub struct EmbeddedAttempts {
    /// The attempts of this page, newest first.
    pub attempts: Vec<AttemptOut>,
}

/// A page of attempts.
#[derive(Clone, Debug, Object)]
pub struct AttemptsPage {
    /// `self`; `next` (older attempts) when there are more; `prev` (newer) after the first page.
    #[oai(rename = "_links")]
    pub links: CollectionLinks,
    /// The attempts.
    #[oai(rename = "_embedded")]
    pub embedded: EmbeddedAttempts,
    /// Attempts in this page.
    pub size: usize,
}

/// Which event to send again.
#[derive(Clone, Debug, Object, serde::Deserialize)]
pub struct ReplayIn {
    /// The event's sequence in the environment's log (`GET …/consentEvents`).
    pub sequence: i64,
}

/// Delivery attempts and replays.
pub struct DeliveriesApi;

#[OpenApi(tag = "ApiTags::Proof")]
impl DeliveriesApi {
    /// List a subscription's delivery attempts
    ///
    /// Every attempt of the last 14 days, newest first: the status the destination answered (or
    /// why there was no answer), how long it took, and when a failed event is tried again.
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(
        path = "/v1/environments/:envId/subscriptions/:subscriptionId/attempts",
        method = "get",
        operation_id = "subscriptions.attempts"
    )]
    async fn list_attempts(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "subscriptionId")] subscription_id: Path<String>,
        /// Page size, at least 1 (default 100); above 1000, 1000 are served.
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` or `prev` link.
        cursor: Query<Option<String>>,
    ) -> Result<Json<AttemptsPage>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&subscription_id, SubscriptionId::parse)?;
        let request = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let page = webhooks::list_attempts(&state.store, env, id, request).await?;
        let base = state.url(&format!("/v1/environments/{env}/subscriptions/{id}/attempts"));
        let parts = page_parts(&base, request, cursor.0.as_deref(), page, &[], AttemptOut::from);
        Ok(Json(AttemptsPage {
            links: parts.links,
            size: parts.size,
            embedded: EmbeddedAttempts { attempts: parts.items },
        }))
    }

    /// Send an event to a subscription again
    ///
    /// Sends the event now, once, whatever the subscription's place in the log or its state
    /// (a disabled subscription too, to check a mended destination), with the message id it always
    /// has; answers the attempt, which is also logged. It does not move the subscription's place.
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(
        path = "/v1/environments/:envId/subscriptions/:subscriptionId/replay",
        method = "post",
        operation_id = "subscriptions.replay"
    )]
    async fn replay(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "subscriptionId")] subscription_id: Path<String>,
        body: JsonBody<ReplayIn>,
    ) -> Result<Json<AttemptOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&subscription_id, SubscriptionId::parse)?;
        let sequence = body.into_inner().sequence;
        let attempt =
            crate::delivery::replay(&state.store, &state.secrets, &state.webhook_sender, env, id, sequence).await?;
        Ok(Json(attempt.into()))
    }
}
