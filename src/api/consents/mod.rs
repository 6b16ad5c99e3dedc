//! `/v1/environments/{envId}/users/{userId}/oauthConsents` and the environment-wide audit list.

mod enums;
mod export;
#[cfg(test)]
mod tests;
mod totals;
mod wire;

pub use export::AuditAnswer;
pub use totals::ConsentTotalsApi;
pub use wire::ConsentAcceptIn;

pub use wire::*;

use std::collections::HashMap;

use chrono::Utc;
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiRequest, ApiResponse, OpenApi};

use super::client::request_context;
use super::json::{JsonBody, JsonOut};
use super::security::BearerToken;
use super::types::{IdRef, Link, collection_links};
use super::{ApiTags, admin_env, resource_id};
use crate::auth::principal::{READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE};
use crate::domain::applications::Application;
use crate::domain::consents::{self, ApplicationKind, Consent, ConsentDraft, ConsentListQuery};
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};
use crate::domain::paging::PageRequest;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// A consent to record, in either accepted media type.
#[derive(ApiRequest)]
pub enum RecordBody {
    /// PingOne's media type.
    Accept(JsonBody<ConsentAcceptIn, AcceptMedia>),
    /// Plain JSON.
    Json(JsonBody<ConsentAcceptIn>),
}

/// A revocation, in either accepted media type.
#[derive(ApiRequest)]
pub enum RevokeBody {
    /// PingOne's media type.
    Revoke(JsonBody<ConsentRevokeIn, RevokeMedia>),
    /// Plain JSON.
    Json(JsonBody<ConsentRevokeIn>),
}

/// Answer of recording a consent.
#[derive(ApiResponse)]
pub enum Recorded {
    /// The record was appended to the ledger.
    #[oai(status = 201)]
    Created(JsonOut<ConsentOut>, #[oai(header = "Location")] String),
}

/// Consent records.
pub struct ConsentsApi;

/// Admits an administrator, or the user themself with `scope`, and parses the ids.
fn admit(auth: &BearerToken, env_id: &str, user_id: &str, scope: &str) -> Result<(EnvironmentId, UserId), ApiError> {
    let env = resource_id(env_id, EnvironmentId::parse)?;
    let user = resource_id(user_id, UserId::parse)?;
    auth.0.require_admin_or_self(env, user, scope)?;
    Ok((env, user))
}

fn wants_applications(expand: Option<&str>) -> Result<bool, ApiError> {
    match expand.map(str::trim) {
        None | Some("") => Ok(false),
        Some("applications") => Ok(true),
        Some(other) => Err(ApiError::new(ErrorCode::InvalidRequest).with_detail(
            "INVALID_PARAMETER",
            Some("expand"),
            format!("Cannot expand '{other}'; supported: applications."),
        )),
    }
}

fn embedded(state: &AppState, consent: &Consent, apps: &HashMap<ApplicationId, Application>) -> EmbeddedApplication {
    match (consent.application_kind, apps.get(&consent.application_id)) {
        (ApplicationKind::PingOne, Some(app)) => EmbeddedApplication {
            id: app.id.to_string(),
            name: app.name.clone(),
            application_type: ApplicationType::PingOne,
            app_type: Some(app.app_type.into()),
            enabled: Some(app.enabled),
            links: Some(SelfLink {
                self_: Link::to(state.url(&format!("/v1/environments/{}/applications/{}", app.environment_id, app.id))),
            }),
        },
        (kind, _) => EmbeddedApplication {
            id: consent.application_id.to_string(),
            name: consent.application_name.clone(),
            application_type: kind.into(),
            app_type: None,
            enabled: None,
            links: None,
        },
    }
}

/// Shapes records for the wire, embedding applications when asked.
async fn render(
    state: &AppState,
    env: EnvironmentId,
    records: Vec<Consent>,
    expand: bool,
) -> Result<Vec<ConsentOut>, ApiError> {
    let apps = if expand { consents::consent_applications(&state.store, env, &records).await? } else { HashMap::new() };
    let now = Utc::now();
    Ok(records
        .into_iter()
        .map(|record| {
            let embed = expand.then(|| ConsentEmbedded { application: embedded(state, &record, &apps) });
            ConsentOut { embedded: embed, ..ConsentOut::new(state, record, now) }
        })
        .collect())
}

/// The query parameters shared by both consent lists.
struct ListParams {
    filter: Option<String>,
    expand: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Lists one user's records (`user`) or the environment's, answering in PingOne's collection shape.
async fn list(
    state: &AppState,
    env: EnvironmentId,
    user: Option<UserId>,
    params: ListParams,
) -> Result<JsonOut<ConsentsPage>, ApiError> {
    let expand = wants_applications(params.expand.as_deref())?;
    let page_request = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    let query = ConsentListQuery { user, filter: params.filter.clone(), page: page_request };
    let page = consents::list_consents(&state.store, env, query).await?;
    let base = match user {
        Some(user) => state.url(&format!("/v1/environments/{env}/users/{user}/oauthConsents")),
        None => state.url(&format!("/v1/environments/{env}/oauthConsents")),
    };
    let extra: Vec<(&str, &str)> = [("filter", params.filter.as_deref()), ("expand", params.expand.as_deref())]
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)))
        .collect();
    let links =
        collection_links(&base, page_request.limit, params.cursor.as_deref(), page.next_cursor.as_deref(), &extra);
    let items = render(state, env, page.items, expand).await?;
    let count = items.len();
    Ok(JsonOut(ConsentsPage { links, embedded: EmbeddedConsents { oauth_consents: items }, count, size: count }))
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
    /// **Permissions:** a worker token of this environment.
    #[oai(
        path = "/v1/environments/:envId/users/:userId/oauthConsents",
        method = "post",
        operation_id = "consents.record"
    )]
    async fn record_consent(
        &self,
        state: Data<&AppState>,
        request: &Request,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
        body: RecordBody,
    ) -> Result<Recorded, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let user = resource_id(&user_id, UserId::parse)?;
        let input = match body {
            RecordBody::Accept(b) => b.into_inner(),
            RecordBody::Json(b) => b.into_inner(),
        };
        let draft = ConsentDraft::from(input);
        let context = request_context(request, &state.trusted_proxies);
        let consent = consents::record_consent(&state.store, &state.enricher, env, user, draft, context).await?;
        let out = ConsentOut::new(&state, consent, Utc::now());
        let location = out.links.self_.href.clone();
        Ok(Recorded::Created(JsonOut(out), location))
    }

    /// List a user's consents
    ///
    /// The user's records of every status, newest first, with `limit`/`cursor` paging.
    /// `filter` takes SCIM: `application.id eq "…"`, `application.name eq "…"`, `status eq "ACCEPTED"`,
    /// `scope eq "email"`, `consentedAt gt "2026-01-01T00:00:00Z"` (also `ge`, `lt`, `le`),
    /// combined with `and`, `or` and parentheses. `expand=applications` embeds the application.
    /// **Permissions:** a worker token, or the user's own token with `p1:read:oauthConsents`.
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
        /// Page size, 1 to 1000 (default 100).
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` link.
        cursor: Query<Option<String>>,
    ) -> Result<JsonOut<ConsentsPage>, ApiError> {
        let (env, user) = admit(&auth, &env_id, &user_id, READ_CONSENTS_SCOPE)?;
        let params = ListParams { filter: filter.0, expand: expand.0, limit: limit.0, cursor: cursor.0 };
        list(&state, env, Some(user), params).await
    }

    /// Audit consents of the environment
    ///
    /// Every record of the environment, newest first, with the same `filter` (including `user.id eq "…"`),
    /// `expand` and paging as the per-user list. With `Accept: application/x-ndjson` (one record per
    /// line, as the list's items) or `Accept: text/csv` (a header row, then one row per record) it is an
    /// export of every record the filter matches, streamed; `limit` and `cursor` are refused there,
    /// and so is `expand` for CSV. Should reading fail once the export has begun, an NDJSON export
    /// ends with a line `{"error": {id, code, message}}` and a CSV export is cut off (an incomplete
    /// transfer). An `Accept` naming none of the three is `406`. **Permissions:** a worker token of
    /// this environment.
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
        /// Page size, 1 to 1000 (default 100).
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` link.
        cursor: Query<Option<String>>,
    ) -> Result<AuditAnswer, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let params = ListParams { filter: filter.0, expand: expand.0, limit: limit.0, cursor: cursor.0 };
        match export::representation(request)? {
            export::Representation::Page => list(&state, env, None, params).await.map(AuditAnswer::Page),
            export::Representation::Export(format) => export::export(&state, env, format, params).await,
        }
    }

    /// Read a user's effective consent for an application
    ///
    /// The scopes the user has granted the application now: the union of its `ACCEPTED`,
    /// unexpired, unrevoked records (empty when there are none).
    /// **Permissions:** a worker token, or the user's own token with `p1:read:oauthConsents`.
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
        /// The application's id.
        #[oai(name = "application.id")]
        application_id: Query<String>,
    ) -> Result<JsonOut<EffectiveConsentOut>, ApiError> {
        let (env, user) = admit(&auth, &env_id, &user_id, READ_CONSENTS_SCOPE)?;
        let application = ApplicationId::parse(&application_id).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidRequest).with_detail(
                "INVALID_PARAMETER",
                Some("application.id"),
                "'application.id' must be an application id.",
            )
        })?;
        let effective = consents::effective_consent(&state.store, env, user, application).await?;
        Ok(JsonOut(EffectiveConsentOut {
            application: IdRef::to(effective.application_id),
            user: IdRef::to(effective.user_id),
            scope: effective.scopes,
            consent_ids: effective.consent_ids.iter().map(ToString::to_string).collect(),
            expires_at: effective.expires_at.map(Into::into),
        }))
    }

    /// Read one consent
    ///
    /// **Permissions:** a worker token, or the user's own token with `p1:read:oauthConsents`.
    #[oai(
        path = "/v1/environments/:envId/users/:userId/oauthConsents/:consentId",
        method = "get",
        operation_id = "consents.read"
    )]
    async fn read_consent(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
        #[oai(name = "consentId")] consent_id: Path<String>,
        /// `applications` to embed the record's application.
        expand: Query<Option<String>>,
    ) -> Result<JsonOut<ConsentOut>, ApiError> {
        let (env, user) = admit(&auth, &env_id, &user_id, READ_CONSENTS_SCOPE)?;
        let expand = wants_applications(expand.0.as_deref())?;
        let id = resource_id(&consent_id, ConsentId::parse)?;
        let record = consents::get_consent(&state.store, env, user, id).await?;
        let mut rendered = render(&state, env, vec![record], expand).await?;
        rendered.pop().map(JsonOut).ok_or_else(|| ApiError::unexpected("rendering lost the record"))
    }

    /// Revoke a consent
    ///
    /// PATCH with `application/vnd.pingidentity.consent.revoke+json` (or `application/json`) and
    /// `{"status": "REVOKED"}`. The record stays in the ledger with status `REVOKED`; `consentedAt` and
    /// everything else is kept, `updatedAt` moves. Revoking a revoked record changes nothing; a
    /// `DECLINED` record cannot be revoked. **Permissions:** a worker token, or the user's own token
    /// with `p1:update:oauthConsents`.
    #[oai(
        path = "/v1/environments/:envId/users/:userId/oauthConsents/:consentId",
        method = "patch",
        operation_id = "consents.revoke"
    )]
    async fn revoke_consent(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
        #[oai(name = "consentId")] consent_id: Path<String>,
        body: RevokeBody,
    ) -> Result<JsonOut<ConsentOut>, ApiError> {
        let (env, user) = admit(&auth, &env_id, &user_id, UPDATE_CONSENTS_SCOPE)?;
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
        let record = consents::revoke_consent(&state.store, env, user, id).await?;
        Ok(JsonOut(ConsentOut::new(&state, record, Utc::now())))
    }
}
