//! `/v1/environments/{envId}/users/{userId}/oauthConsents` and the environment-wide audit list.

mod answers;
mod effective_wire;
mod enums;
mod export;
mod links;
mod listing;
#[cfg(test)]
mod tests;
mod totals;
mod wire;

pub use answers::{ConsentRead, RecordBody, Recorded, RevokeBody, Revoked};
pub use export::AuditAnswer;
pub use totals::ConsentTotalsApi;
pub use wire::ConsentAcceptIn;

pub use effective_wire::*;
pub use links::{ConsentLinks, LinkRights};
pub use wire::*;

use chrono::Utc;
use poem::Request;
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};

use listing::{ListParams, embedded, granted_applications, list, render, wants_applications};

use super::client::request_context;
use super::etag::{TaggedJson, require_match};
use super::json::JsonOut;
use super::security::BearerToken;
use super::types::IdRef;
use super::{ApiTags, permitted_env, resource_id};
use crate::auth::principal::Permission;
use crate::domain::consents::{self, RevokedBy};
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Consent records.
pub struct ConsentsApi;

/// Admits, on one user's records, a worker holding `permission` or the user themself with its
/// self-service scope, and parses the ids.
fn admit(
    auth: &BearerToken,
    env_id: &str,
    user_id: &str,
    permission: Permission,
) -> Result<(EnvironmentId, UserId), ApiError> {
    let env = resource_id(env_id, EnvironmentId::parse)?;
    let user = resource_id(user_id, UserId::parse)?;
    auth.0.require_for_user(env, user, permission)?;
    Ok((env, user))
}

#[OpenApi(tag = "ApiTags::Consents")]
impl ConsentsApi {
    /// Record a consent
    ///
    /// Appends a record of the user's decision to the ledger; every call makes a new record.
    /// Send `application/vnd.pingidentity.consent.accept+json` (or `application/json`).
    /// Browser, operating system and device come from the `User-Agent` unless the body gives them;
    /// `location` comes from the client address (the `X-Forwarded-For` of a trusted proxy).
    /// An `EXTERNAL` application gets a stable id per environment and name.
    ///
    /// Send an `Idempotency-Key` to make retries safe: a retry with the same key and body within
    /// 24 hours gets the first answer again (same record, `201`, `Idempotent-Replayed: true`)
    /// instead of a second record; the same key with another body gets `422`; a retry while the
    /// first request is still running waits for it (up to 10 s, then `409` with `Retry-After`).
    /// **Permissions:** a worker token with `p1:create:oauthConsents` (or `p1:admin`).
    #[oai(
        path = "/v1/environments/:envId/users/:userId/oauthConsents",
        method = "post",
        operation_id = "consents.record"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn record_consent(
        &self,
        state: Data<&AppState>,
        request: &Request,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
        /// Makes the request safe to retry: 1 to 255 printable ASCII characters, unique per request
        /// (a UUID). Handled before this operation runs; every POST of the API takes it.
        #[oai(name = "Idempotency-Key")]
        _idempotency_key: Header<Option<String>>,
        body: RecordBody,
    ) -> Result<Recorded, ApiError> {
        let (env, user) = admit(&auth, &env_id, &user_id, Permission::RecordConsents)?;
        let draft = match body {
            RecordBody::Accept(b) => b.value.into_draft(b.problems),
            RecordBody::Json(b) => b.value.into_draft(b.problems),
        };
        let context = request_context(request, &state.trusted_proxies);
        let consent = consents::record_consent(&state.store, &state.enricher, env, user, draft, context).await?;
        let out = ConsentOut::new(&state, &auth.0, consent, Utc::now());
        let location = out.links.self_.href.clone();
        let tagged = TaggedJson::new(&out)?;
        let etag = tagged.etag().to_owned();
        Ok(Recorded::Created(tagged, location, etag))
    }

    /// List a user's consents
    ///
    /// The user's records of every status, newest first, with `limit`/`cursor` paging.
    /// `filter` takes SCIM: `application.id eq "…"`, `application.name eq "…"` (the name a record was
    /// given under, or the registered application's current name), `status eq "ACCEPTED"`,
    /// `scope eq "email"`, `revokedBy.type eq "USER"`, and `consentedAt`, `updatedAt`, `revokedAt` and
    /// `expiresAt` with `eq`, `gt`, `ge`, `lt`, `le` (e.g. `revokedAt ge "2026-01-01T00:00:00Z"`),
    /// combined with `and`, `or` and parentheses. `expand=applications` embeds the application.
    /// A deleted user has no such collection (404); the environment's audit list keeps their records.
    /// **Permissions:** `p1:read:oauthConsents` (or `p1:admin`) on a worker
    /// token, or the user's own token with `p1:read:oauthConsents`.
    #[oai(path = "/v1/environments/:envId/users/:userId/oauthConsents", method = "get", operation_id = "consents.list")]
    #[allow(clippy::too_many_arguments)]
    async fn list_user_consents(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
        /// SCIM filter expression.
        filter: Query<Option<String>>,
        /// `applications` to embed each record's application.
        expand: Query<Option<String>>,
        /// Page size, at least 1 (default 100); above 1000, 1000 are served.
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` or `prev` link.
        cursor: Query<Option<String>>,
    ) -> Result<JsonOut<ConsentsPage>, ApiError> {
        let (env, user) = admit(&auth, &env_id, &user_id, Permission::ReadConsents)?;
        let params = ListParams { filter: filter.0, expand: expand.0, limit: limit.0, cursor: cursor.0 };
        list(&state, &auth.0, env, Some(user), params).await
    }

    /// Audit consents of the environment
    ///
    /// Every record of the environment, newest first, with the same `filter` (including `user.id eq "…"`),
    /// `expand` and paging as the per-user list. With `Accept: application/x-ndjson` (one record per
    /// line, as the list's items) or `Accept: text/csv` (a header row, then one row per record) it is an
    /// export of every record the filter matches, streamed; `limit` and `cursor` are refused there,
    /// and so is `expand` for CSV. Should reading fail once the export has begun, an NDJSON export
    /// ends with a line `{"error": {id, code, message}}` and a CSV export is cut off (an incomplete
    /// transfer). An `Accept` naming none of the three is `406`. **Permissions:** a worker token with
    /// `p1:read:oauthConsents` (or `p1:admin`).
    #[oai(path = "/v1/environments/:envId/oauthConsents", method = "get", operation_id = "consents.audit")]
    #[allow(clippy::too_many_arguments)]
    async fn audit_consents(
        &self,
        state: Data<&AppState>,
        request: &Request,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        /// SCIM filter expression.
        filter: Query<Option<String>>,
        /// `applications` to embed each record's application.
        expand: Query<Option<String>>,
        /// Page size, at least 1 (default 100); above 1000, 1000 are served.
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` or `prev` link.
        cursor: Query<Option<String>>,
    ) -> Result<AuditAnswer, ApiError> {
        let env = permitted_env(&auth, &env_id, Permission::ReadConsents)?;
        let params = ListParams { filter: filter.0, expand: expand.0, limit: limit.0, cursor: cursor.0 };
        match export::representation(request)? {
            export::Representation::Page => list(&state, &auth.0, env, None, params).await.map(AuditAnswer::Page),
            export::Representation::Export(format) => {
                export::export(&state, LinkRights::of_worker(&auth.0), env, format, params).await
            }
        }
    }

    /// Read a user's effective consent
    ///
    /// With `application.id`: the scopes the user has granted that application now, the union of
    /// its `ACCEPTED`, unexpired, unrevoked records (empty when there are none). Without it: every
    /// application the user has granted something to now, the most recently granted first, each
    /// with its effective scopes and the records behind them (embedded, with their `consent.revoke`
    /// links when the caller may revoke): what an account page's "apps with access" shows.
    /// **Permissions:** `p1:read:oauthConsents` (or `p1:admin`) on a worker
    /// token, or the user's own token with `p1:read:oauthConsents`.
    #[oai(
        path = "/v1/environments/:envId/users/:userId/oauthConsents/effective",
        method = "get",
        operation_id = "consents.effective"
    )]
    async fn effective_consent(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
        /// The application's id; without it, every application the user has granted something to.
        #[oai(name = "application.id")]
        application_id: Query<Option<String>>,
    ) -> Result<JsonOut<EffectiveAnswer>, ApiError> {
        let (env, user) = admit(&auth, &env_id, &user_id, Permission::ReadConsents)?;
        let Some(application_id) = application_id.0 else {
            return Ok(JsonOut(EffectiveAnswer::Every(granted_applications(&state, &auth.0, env, user).await?)));
        };
        let application = ApplicationId::parse(&application_id).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidRequest).with_detail(
                "INVALID_PARAMETER",
                Some("application.id"),
                "'application.id' must be an application id.",
            )
        })?;
        let effective = consents::effective_consent(&state.store, env, user, application).await?;
        Ok(JsonOut(EffectiveAnswer::Application(EffectiveConsentOut {
            application: IdRef::to(effective.application_id),
            user: IdRef::to(effective.user_id),
            scope: effective.scopes,
            consent_ids: effective.consent_ids.iter().map(ToString::to_string).collect(),
            expires_at: effective.expires_at.map(Into::into),
        })))
    }

    /// Read one consent
    ///
    /// The answer carries a strong `ETag`; send it back in `If-None-Match` to get `304 Not Modified`
    /// while the record (as this request would render it) is unchanged, or in `If-Match` on the
    /// revoking PATCH. 404 once the user is deleted, as for the user's list; the environment's audit
    /// list keeps the record. **Permissions:** `p1:read:oauthConsents` (or `p1:admin`) on a worker
    /// token, or the user's own token with `p1:read:oauthConsents`.
    #[oai(
        path = "/v1/environments/:envId/users/:userId/oauthConsents/:consentId",
        method = "get",
        operation_id = "consents.read"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn read_consent(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
        #[oai(name = "consentId")] consent_id: Path<String>,
        /// `applications` to embed the record's application.
        expand: Query<Option<String>>,
        /// Entity tags of versions the client has; a match answers 304 without a body.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> Result<ConsentRead, ApiError> {
        let (env, user) = admit(&auth, &env_id, &user_id, Permission::ReadConsents)?;
        let expand = wants_applications(expand.0.as_deref())?;
        let id = resource_id(&consent_id, ConsentId::parse)?;
        let record = consents::get_consent(&state.store, env, user, id).await?;
        let mut rendered = render(&state, &auth.0, env, vec![record], expand).await?;
        let out = rendered.pop().ok_or_else(|| ApiError::unexpected("rendering lost the record"))?;
        let tagged = TaggedJson::new(&out)?;
        let etag = tagged.etag().to_owned();
        if tagged.none_match_hit(if_none_match.0.as_deref()) {
            return Ok(ConsentRead::NotModified(etag));
        }
        Ok(ConsentRead::Ok(tagged, etag))
    }

    /// Revoke a consent
    ///
    /// PATCH with `application/vnd.pingidentity.consent.revoke+json` (or `application/json`) and
    /// `{"status": "REVOKED"}`. The record stays in the ledger with status `REVOKED`; `consentedAt` and
    /// everything else is kept, `updatedAt` moves, and `revokedAt` and `revokedBy` say when and who:
    /// `USER` with the user's own token, `ADMINISTRATOR` with a worker token. Revoking a revoked
    /// record changes nothing (the first revocation stays); a `DECLINED` record cannot be revoked.
    /// With `If-Match` (the `ETag` of a read), the revocation happens only if the record is still
    /// that version: otherwise `412`. **Permissions:** `p1:update:oauthConsents` (or `p1:admin`) on a
    /// worker token, or the user's own token with `p1:update:oauthConsents`.
    #[oai(
        path = "/v1/environments/:envId/users/:userId/oauthConsents/:consentId",
        method = "patch",
        operation_id = "consents.revoke"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn revoke_consent(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
        #[oai(name = "consentId")] consent_id: Path<String>,
        /// The `ETag` the change is conditional on (`*`: any version).
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: RevokeBody,
    ) -> Result<Revoked, ApiError> {
        let (env, user) = admit(&auth, &env_id, &user_id, Permission::RevokeConsents)?;
        let id = resource_id(&consent_id, ConsentId::parse)?;
        let input = match body {
            RevokeBody::Revoke(b) => b.into_inner(),
            RevokeBody::Json(b) => b.into_inner(),
        };
        if input.status != "REVOKED" {
            return Err(ApiError::new(ErrorCode::InvalidData).with_detail(
                "INVALID_VALUE",
                Some("status"),
                "Only {\"status\": \"REVOKED\"} is accepted here.",
            ));
        }
        if let Some(if_match) = if_match.0.as_deref() {
            let current = consents::get_consent(&state.store, env, user, id).await?;
            let current = TaggedJson::new(&ConsentOut::new(&state, &auth.0, current, Utc::now()))?;
            require_match(Some(if_match), current.etag())?;
        }
        // A worker (a client's own token) revokes as an administrator; anyone else got here with
        // the user's own token.
        let by = if auth.0.is_client_itself() {
            let worker = ApplicationId::parse(&auth.0.client_id)
                .ok_or_else(|| ApiError::unexpected("a worker token names no application"))?;
            RevokedBy::Administrator(worker)
        } else {
            RevokedBy::User(user)
        };
        let record = consents::revoke_consent(&state.store, env, user, id, by).await?;
        let tagged = TaggedJson::new(&ConsentOut::new(&state, &auth.0, record, Utc::now()))?;
        let etag = tagged.etag().to_owned();
        Ok(Revoked::Ok(tagged, etag))
    }
}
