//! `/v1/environments/{envId}/subscriptions`: webhook subscriptions to the environment's consent
//! events, delivered from the event log as Standard Webhooks (see `src/delivery`).

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::json::JsonBody;
use super::security::BearerToken;
use super::types::{Link, Timestamp};
use super::{ApiTags, admin_env, resource_id};
use crate::domain::ids::SubscriptionId;
use crate::domain::subscriptions::{self, Subscription, SubscriptionDraft};
use crate::error::ApiError;
use crate::state::AppState;

/// A subscription's settings (create, or full replace).
#[derive(Clone, Debug, Object, serde::Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionIn {
    /// Where events are POSTed: an https URL (at most 2048 characters) whose host resolves to
    /// public addresses only; loopback, private and link-local ones are refused.
    pub url: String,
    /// The event types to deliver: `consent.recorded`, `consent.revoked`, `consent.expired`,
    /// `user.erased`, `user.deleted`, `application.deleted`, `scope.text_changed`.
    pub event_types: Vec<String>,
    /// Whether events are delivered (default true). Enabling a subscription the service disabled
    /// clears the reason.
    pub enabled: Option<bool>,
}

impl From<SubscriptionIn> for SubscriptionDraft {
    fn from(input: SubscriptionIn) -> Self {
        SubscriptionDraft { url: Some(input.url), event_types: Some(input.event_types), enabled: input.enabled }
    }
}

/// Links of a subscription.
#[derive(Clone, Debug, Object)]
pub struct SubscriptionLinks {
    /// This subscription.
    #[oai(rename = "self")]
    pub self_: Link,
    /// Its environment.
    pub environment: Link,
    /// POST here to replace its signing secret.
    #[oai(rename = "secret.rotate")]
    pub rotate: Link,
    /// Its delivery attempts, newest first.
    pub attempts: Link,
    /// POST an event's `sequence` here to send it again.
    pub replay: Link,
}

/// Where a subscription's delivery stands.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct DeliveryStateOut {
    /// Every event of the environment's log up to this sequence was delivered (or is not of a
    /// subscribed type). A new subscription starts at the log's head when it was made.
    pub delivered_through: i64,
    /// Failed attempts in a row at the next event (0 when all is well).
    pub failures: u32,
    /// When the current run of failures began.
    #[oai(skip_serializing_if_is_none)]
    pub failing_since: Option<Timestamp>,
    /// When the next event is tried again, after a failure.
    #[oai(skip_serializing_if_is_none)]
    pub next_attempt_at: Option<Timestamp>,
}

/// A subscription.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct SubscriptionOut {
    /// HAL links.
    #[oai(rename = "_links")]
    pub links: SubscriptionLinks,
    /// Its id.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The event types delivered.
    pub event_types: Vec<String>,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Why the service disabled it (after deliveries failed for `ASSENT_WEBHOOK_DISABLE_AFTER_MS`),
    /// if it did.
    #[oai(skip_serializing_if_is_none)]
    pub disabled_reason: Option<String>,
    /// Where its delivery stands.
    pub delivery: DeliveryStateOut,
    /// The signing secret (`whsec_…`, Standard Webhooks), only in the answer that made it.
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl SubscriptionOut {
    fn new(state: &AppState, s: Subscription, secret: Option<String>) -> Self {
        let env_url = state.url(&format!("/v1/environments/{}", s.environment_id));
        let self_url = format!("{env_url}/subscriptions/{}", s.id);
        Self {
            links: SubscriptionLinks {
                rotate: Link::to(format!("{self_url}/secret")),
                attempts: Link::to(format!("{self_url}/attempts")),
                replay: Link::to(format!("{self_url}/replay")),
                self_: Link::to(self_url),
                environment: Link::to(env_url),
            },
            id: s.id.to_string(),
            url: s.url,
            event_types: s.event_types.iter().map(|k| k.name().to_owned()).collect(),
            enabled: s.enabled,
            disabled_reason: s.disabled_reason,
            delivery: DeliveryStateOut {
                delivered_through: s.delivery.delivered_through,
                failures: s.delivery.failures,
                failing_since: s.delivery.failing_since.map(Into::into),
                next_attempt_at: s.delivery.next_attempt_at.map(Into::into),
            },
            secret,
            created_at: s.created_at.into(),
            updated_at: s.updated_at.into(),
        }
    }
}

/// Embedded subscriptions.
#[derive(Clone, Debug, Object)]
pub struct EmbeddedSubscriptions {
    /// The subscriptions, oldest first.
    pub subscriptions: Vec<SubscriptionOut>,
}

/// The environment's subscriptions (at most 50, all in one answer).
#[derive(Clone, Debug, Object)]
pub struct SubscriptionsPage {
    /// The subscriptions.
    #[oai(rename = "_embedded")]
    pub embedded: EmbeddedSubscriptions,
    /// How many.
    pub size: usize,
}

/// A new signing secret.
#[derive(Clone, Debug, Object)]
pub struct RotatedSecret {
    /// The new secret (`whsec_…`). For 24 hours deliveries carry signatures with both the new and
    /// the old secret (space-separated in `webhook-signature`), so receivers can switch without
    /// losing a message; then the old one stops.
    pub secret: String,
}

/// Answer of creation.
#[derive(ApiResponse)]
pub enum CreatedSubscription {
    /// Created; the answer carries the signing secret, shown this once.
    #[oai(status = 201)]
    Created(Json<SubscriptionOut>, #[oai(header = "Location")] String),
}

/// Answer of deletion.
#[derive(ApiResponse)]
pub enum DeletedSubscription {
    /// Deleted.
    #[oai(status = 204)]
    Deleted,
}

/// Webhook subscriptions.
pub struct SubscriptionsApi;

#[OpenApi(tag = "ApiTags::Proof")]
impl SubscriptionsApi {
    /// Create a webhook subscription
    ///
    /// At most 50 per environment. The answer carries the signing secret (`whsec_…`), shown this
    /// once. **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/subscriptions", method = "post", operation_id = "subscriptions.create")]
    async fn create_subscription(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        body: JsonBody<SubscriptionIn>,
    ) -> Result<CreatedSubscription, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let draft = body.into_inner().into();
        let (subscription, secret) =
            subscriptions::create_subscription(&state.store, &state.secrets, env, draft, state.webhook_destinations)
                .await?;
        let out = SubscriptionOut::new(&state, subscription, Some(secret));
        let location = out.links.self_.href.clone();
        Ok(CreatedSubscription::Created(Json(out), location))
    }

    /// List webhook subscriptions
    ///
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/subscriptions", method = "get", operation_id = "subscriptions.list")]
    async fn list_subscriptions(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
    ) -> Result<Json<SubscriptionsPage>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let all = subscriptions::list_subscriptions(&state.store, env).await?;
        let subscriptions: Vec<SubscriptionOut> =
            all.into_iter().map(|s| SubscriptionOut::new(&state, s, None)).collect();
        Ok(Json(SubscriptionsPage { size: subscriptions.len(), embedded: EmbeddedSubscriptions { subscriptions } }))
    }

    /// Read a webhook subscription
    ///
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(
        path = "/v1/environments/:envId/subscriptions/:subscriptionId",
        method = "get",
        operation_id = "subscriptions.read"
    )]
    async fn read_subscription(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "subscriptionId")] subscription_id: Path<String>,
    ) -> Result<Json<SubscriptionOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&subscription_id, SubscriptionId::parse)?;
        let subscription = subscriptions::get_subscription(&state.store, env, id).await?;
        Ok(Json(SubscriptionOut::new(&state, subscription, None)))
    }

    /// Replace a webhook subscription
    ///
    /// Full replace of `url`, `eventTypes` and `enabled`; the secret stays. **Permissions:** a
    /// worker token with `p1:admin`.
    #[oai(
        path = "/v1/environments/:envId/subscriptions/:subscriptionId",
        method = "put",
        operation_id = "subscriptions.replace"
    )]
    async fn replace_subscription(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "subscriptionId")] subscription_id: Path<String>,
        body: JsonBody<SubscriptionIn>,
    ) -> Result<Json<SubscriptionOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&subscription_id, SubscriptionId::parse)?;
        let draft = body.into_inner().into();
        let subscription =
            subscriptions::replace_subscription(&state.store, env, id, draft, state.webhook_destinations).await?;
        Ok(Json(SubscriptionOut::new(&state, subscription, None)))
    }

    /// Delete a webhook subscription
    ///
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(
        path = "/v1/environments/:envId/subscriptions/:subscriptionId",
        method = "delete",
        operation_id = "subscriptions.delete"
    )]
    async fn delete_subscription(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "subscriptionId")] subscription_id: Path<String>,
    ) -> Result<DeletedSubscription, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&subscription_id, SubscriptionId::parse)?;
        subscriptions::delete_subscription(&state.store, env, id).await?;
        Ok(DeletedSubscription::Deleted)
    }

    /// Rotate a subscription's signing secret
    ///
    /// A new `whsec_…` secret replaces the old one; it is shown this once. For 24 hours messages are
    /// signed with both, so a receiver still holding the old secret keeps verifying them.
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(
        path = "/v1/environments/:envId/subscriptions/:subscriptionId/secret",
        method = "post",
        operation_id = "subscriptions.rotateSecret"
    )]
    async fn rotate_secret(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "subscriptionId")] subscription_id: Path<String>,
    ) -> Result<Json<RotatedSecret>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&subscription_id, SubscriptionId::parse)?;
        let secret = subscriptions::rotate_secret(&state.store, &state.secrets, env, id).await?;
        Ok(Json(RotatedSecret { secret }))
    }
}
