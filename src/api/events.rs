//! `/v1/environments/{envId}/consentEvents`: the environment's hash-chained consent event log, its
//! signed checkpoints, and the export `assent verify` checks offline.

use futures_util::stream;
use poem::http::header::CONTENT_DISPOSITION;
use poem::web::Data;
use poem::{Body, IntoResponse, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::security::BearerToken;
use super::types::{CollectionLinks, Timestamp, forward_links};
use super::{ApiTags, permitted_env};
use crate::auth::principal::Permission;
use crate::domain::proof::checkpoints::Checkpoint;
use crate::domain::proof::log::{self, EventExport, EventsRequest};
use crate::domain::proof::{ChainedEvent, chain::instant};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// One event of the log: what changed, when, about what, and its place in the hash chain.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ConsentEventOut {
    /// Position in the environment's chain, from 1 without gaps.
    pub sequence: i64,
    /// `consent.recorded`, `consent.revoked`, `consent.expired`, `user.erased`, `user.deleted`,
    /// `application.deleted` or `scope.text_changed`.
    #[oai(rename = "type")]
    pub event_type: String,
    /// When the change happened.
    pub occurred_at: Timestamp,
    /// The record (or user, application, scope) it is about.
    pub subject_id: String,
    /// SHA-256 (hex) of the canonical JSON of the change's content (see docs/PROOF.md).
    pub digest: String,
    /// The hash of the event before ( 64 zeros for the first).
    pub previous_hash: String,
    /// SHA-256 (hex) over this event's fields and `previousHash`.
    pub hash: String,
}

impl From<ChainedEvent> for ConsentEventOut {
    fn from(event: ChainedEvent) -> Self {
        Self {
            sequence: event.sequence,
            event_type: event.event.kind.name().to_owned(),
            occurred_at: event.event.at.into(),
            subject_id: event.event.subject.to_string(),
            digest: event.event.digest,
            previous_hash: event.previous_hash,
            hash: event.hash,
        }
    }
}

/// Embedded events of a page.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct EmbeddedEvents {
    /// The events of this page, oldest first.
    pub consent_events: Vec<ConsentEventOut>,
}

/// A page of the event log.
#[derive(Clone, Debug, Object)]
pub struct ConsentEventsPage {
    /// `self` and, when there may be more, `next`.
    #[oai(rename = "_links")]
    pub links: CollectionLinks,
    /// The events.
    #[oai(rename = "_embedded")]
    pub embedded: EmbeddedEvents,
    /// Events in this page.
    pub size: usize,
}

/// A signed checkpoint of the chain.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct CheckpointOut {
    /// The sequence number of the last event it covers.
    pub sequence: i64,
    /// That event's hash.
    pub hash: String,
    /// When it was signed.
    pub signed_at: Timestamp,
    /// The id of the signing key, in the environment's JWKS (`/{envId}/as/jwks`).
    pub key_id: String,
    /// Compact JWS (ES256, `typ` `assent-checkpoint+jwt`) whose claims are `iss`, `sub` (the
    /// environment id), `seq`, `hash` and `iat`.
    pub jws: String,
}

impl From<Checkpoint> for CheckpointOut {
    fn from(checkpoint: Checkpoint) -> Self {
        Self {
            sequence: checkpoint.sequence,
            hash: checkpoint.hash,
            signed_at: checkpoint.signed_at.into(),
            key_id: checkpoint.key_id,
            jws: checkpoint.jws,
        }
    }
}

/// Embedded checkpoints of a page.
#[derive(Clone, Debug, Object)]
pub struct EmbeddedCheckpoints {
    /// The checkpoints of this page, oldest first.
    pub checkpoints: Vec<CheckpointOut>,
}

/// A page of checkpoints.
#[derive(Clone, Debug, Object)]
pub struct CheckpointsPage {
    /// `self` and, when there may be more, `next`.
    #[oai(rename = "_links")]
    pub links: CollectionLinks,
    /// The checkpoints.
    #[oai(rename = "_embedded")]
    pub embedded: EmbeddedCheckpoints,
    /// Checkpoints in this page.
    pub size: usize,
}

/// The log as a download: NDJSON, a header line, every event with its content, every checkpoint.
pub struct EventLogDownload {
    filename: String,
    body: Body,
}

impl IntoResponse for EventLogDownload {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type("application/x-ndjson")
            .header(CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", self.filename))
            .body(self.body)
    }
}

impl ApiResponse for EventLogDownload {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The whole log as it stood when the export started, streamed as NDJSON: first \
                              `{\"kind\":\"header\",\"format\":\"assent.consent-events.v1\",…}`, then one \
                              `{\"kind\":\"event\",…,\"content\":{…}}` per event (its content rebuilt from the \
                              ledger, so an edited record no longer matches its digest), then one \
                              `{\"kind\":\"checkpoint\",…,\"jws\":…}` per checkpoint. `assent verify` checks it.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/x-ndjson",
                    schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                }],
                headers: vec![MetaHeader {
                    name: "Content-Disposition".into(),
                    description: Some("`attachment` with a file name.".into()),
                    required: true,
                    deprecated: false,
                    schema: String::schema_ref(),
                }],
            }],
        }
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        ErrorBody::register(registry);
    }
}

/// The consent event log.
pub struct ConsentEventsApi;

#[OpenApi(tag = "ApiTags::Proof")]
impl ConsentEventsApi {
    /// List consent events
    ///
    /// Every change to the environment's consent ledger (recorded, revoked and by whom, expired,
    /// erased, a scope's text changed, an application or user deleted), oldest first, each chained
    /// to the one before by its hash. Events are never changed or removed. **Permissions:** a worker
    /// token with `p1:read:oauthConsents` (or `p1:admin`).
    #[oai(path = "/v1/environments/:envId/consentEvents", method = "get", operation_id = "consentEvents.list")]
    async fn list_events(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        /// Page size, at least 1 (default 100); above 1000, 1000 are served.
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` link.
        cursor: Query<Option<String>>,
    ) -> Result<Json<ConsentEventsPage>, ApiError> {
        let env = permitted_env(&auth, &env_id, Permission::ReadConsents)?;
        let request = EventsRequest::parse(limit.0, cursor.0.as_deref())?;
        let page = log::list_events(&state.store, env, request).await?;
        let base = state.url(&format!("/v1/environments/{env}/consentEvents"));
        let links = forward_links(&base, request.limit, cursor.0.as_deref(), page.next_cursor.as_deref());
        let events: Vec<ConsentEventOut> = page.items.into_iter().map(Into::into).collect();
        Ok(Json(ConsentEventsPage { links, size: events.len(), embedded: EmbeddedEvents { consent_events: events } }))
    }

    /// List checkpoints
    ///
    /// Signed statements of the chain's head, oldest first: one once the configured number of events
    /// were appended, or the configured interval passed with events appended
    /// (`ASSENT_CHECKPOINT_EVERY_EVENTS`, `ASSENT_CHECKPOINT_INTERVAL_MS`). **Permissions:** a worker
    /// token with `p1:read:oauthConsents` (or `p1:admin`).
    #[oai(
        path = "/v1/environments/:envId/consentEvents/checkpoints",
        method = "get",
        operation_id = "consentEvents.checkpoints"
    )]
    async fn list_checkpoints(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        /// Page size, at least 1 (default 100); above 1000, 1000 are served.
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` link.
        cursor: Query<Option<String>>,
    ) -> Result<Json<CheckpointsPage>, ApiError> {
        let env = permitted_env(&auth, &env_id, Permission::ReadConsents)?;
        let request = EventsRequest::parse(limit.0, cursor.0.as_deref())?;
        let page = log::list_checkpoints(&state.store, env, request).await?;
        let base = state.url(&format!("/v1/environments/{env}/consentEvents/checkpoints"));
        let links = forward_links(&base, request.limit, cursor.0.as_deref(), page.next_cursor.as_deref());
        let checkpoints: Vec<CheckpointOut> = page.items.into_iter().map(Into::into).collect();
        Ok(Json(CheckpointsPage { links, size: checkpoints.len(), embedded: EmbeddedCheckpoints { checkpoints } }))
    }

    /// Export the event log
    ///
    /// The whole log, with each event's content and every checkpoint, for `assent verify` to check
    /// offline against the environment's JWKS. **Permissions:** a worker token with
    /// `p1:read:oauthConsents` (or `p1:admin`).
    #[oai(path = "/v1/environments/:envId/consentEvents/export", method = "get", operation_id = "consentEvents.export")]
    async fn export_events(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
    ) -> Result<EventLogDownload, ApiError> {
        let env = permitted_env(&auth, &env_id, Permission::ReadConsents)?;
        let mut export = EventExport::start(&state.store, env).await?;
        let issuer = state.tokens.issuer(env);
        let header = export.header(&issuer, &format!("{issuer}/jwks"));
        let mut first = lines(&[header]);
        if let Some(more) = export.next_lines().await? {
            first.extend(lines(&more));
        }
        let filename = format!("consentEvents-{env}-{}.ndjson", instant(crate::domain::now()).replace(':', ""));
        let body = Body::from_bytes_stream(stream::unfold(Some((export, Some(first))), |state| async move {
            let (mut export, waiting) = state?;
            if let Some(bytes) = waiting {
                return Some((Ok::<_, std::io::Error>(bytes), Some((export, None))));
            }
            match export.next_lines().await {
                Ok(Some(more)) => Some((Ok(lines(&more)), Some((export, None)))),
                Ok(None) => None,
                Err(error) => {
                    let error = ApiError::from(error);
                    error.log_after_response();
                    let body = error.body();
                    let line =
                        serde_json::json!({"error": {"id": body.id, "code": body.code, "message": body.message}});
                    Some((Ok(format!("{line}\n").into_bytes()), None))
                }
            }
        }));
        Ok(EventLogDownload { filename, body })
    }
}

fn lines(values: &[serde_json::Value]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for value in values {
        bytes.extend_from_slice(value.to_string().as_bytes());
        bytes.push(b'\n');
    }
    bytes
}
