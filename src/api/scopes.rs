//! `/v1/environments/{envId}/scopes`: the scopes applications may request and their consent policies.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::json::JsonBody;
use super::security::BearerToken;
use super::types::{CollectionLinks, Link, PageParts, Timestamp, forward_links, page_parts};
use super::{ApiTags, admin_env, resource_id};
use crate::domain::ids::ScopeId;
use crate::domain::paging::PageRequest;
use crate::domain::proof::log::EventsRequest;
use crate::domain::scopes::{self, ConsentPolicy, Scope, ScopeDraft};
use crate::error::ApiError;
use crate::state::AppState;

/// Whether users are asked before the scope is granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Deserialize)]
#[oai(rename_all = "UPPERCASE")]
#[serde(rename_all = "UPPERCASE")]
pub enum Consent {
    /// Granted without asking.
    Implicit,
    /// The user must agree and cannot untick it.
    Required,
    /// The user is asked and may untick it.
    Flexible,
}

impl From<Consent> for ConsentPolicy {
    fn from(value: Consent) -> Self {
        match value {
            Consent::Implicit => ConsentPolicy::Implicit,
            Consent::Required => ConsentPolicy::Required,
            Consent::Flexible => ConsentPolicy::Flexible,
        }
    }
}

impl From<ConsentPolicy> for Consent {
    fn from(value: ConsentPolicy) -> Self {
        match value {
            ConsentPolicy::Implicit => Consent::Implicit,
            ConsentPolicy::Required => Consent::Required,
            ConsentPolicy::Flexible => Consent::Flexible,
        }
    }
}

/// Settings of a scope (create, or full replace).
#[derive(Clone, Debug, Object, serde::Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ScopeIn {
    /// The scope string clients request (RFC 6749 scope-token), unique in the environment. Names
    /// starting with `p1:` are reserved for the platform (`INVALID_VALUE`).
    pub name: String,
    /// What granting it allows; shown on the consent page.
    pub description: Option<String>,
    /// Defaults to `REQUIRED`.
    pub consent: Option<Consent>,
    /// When true, client_credentials requests may not get this scope if it needs consent. Defaults to false.
    pub block_services: Option<bool>,
}

/// Links of a scope.
#[derive(Clone, Debug, Object)]
pub struct ScopeLinks {
    /// This scope.
    #[oai(rename = "self")]
    pub self_: Link,
    /// Its environment.
    pub environment: Link,
}

/// A scope.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ScopeOut {
    /// HAL links.
    #[oai(rename = "_links")]
    pub links: ScopeLinks,
    /// The scope's id.
    pub id: String,
    /// The scope string.
    pub name: String,
    /// Description.
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    /// Consent policy.
    pub consent: Consent,
    /// Refused to client_credentials when it needs consent.
    pub block_services: bool,
    /// One of the OpenID Connect scopes every environment has (cannot be renamed or deleted).
    pub built_in: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl ScopeOut {
    fn new(state: &AppState, scope: Scope) -> Self {
        let env_url = state.url(&format!("/v1/environments/{}", scope.environment_id));
        Self {
            links: ScopeLinks {
                self_: Link::to(format!("{env_url}/scopes/{}", scope.id)),
                environment: Link::to(env_url),
            },
            id: scope.id.to_string(),
            name: scope.name,
            description: scope.description,
            consent: scope.consent.into(),
            block_services: scope.block_services,
            built_in: scope.built_in,
            created_at: scope.created_at.into(),
            updated_at: scope.updated_at.into(),
        }
    }
}

impl From<ScopeIn> for ScopeDraft {
    fn from(input: ScopeIn) -> Self {
        ScopeDraft {
            name: Some(input.name),
            description: input.description,
            consent: input.consent.map(Into::into),
            block_services: input.block_services,
        }
    }
}

/// Embedded scopes of a page.
#[derive(Clone, Debug, Object)]
pub struct EmbeddedScopes {
    /// The scopes of this page.
    pub scopes: Vec<ScopeOut>,
}

/// A page of scopes.
#[derive(Clone, Debug, Object)]
pub struct ScopesPage {
    /// `self` and, when there are more, `next`.
    #[oai(rename = "_links")]
    pub links: CollectionLinks,
    /// The scopes.
    #[oai(rename = "_embedded")]
    pub embedded: EmbeddedScopes,
    /// Scopes in the whole collection, when there are at most 1000; absent when there are more.
    #[oai(skip_serializing_if_is_none)]
    pub count: Option<u64>,
    /// Scopes in this page.
    pub size: usize,
}

/// Answer of scope creation.
#[derive(ApiResponse)]
pub enum CreatedScope {
    /// The scope was created.
    #[oai(status = 201)]
    Created(Json<ScopeOut>, #[oai(header = "Location")] String),
}

/// Answer of scope deletion.
#[derive(ApiResponse)]
pub enum DeletedScope {
    /// The scope was deleted.
    #[oai(status = 204)]
    Deleted,
}

/// Scope management.
pub struct ScopesApi;

#[OpenApi(tag = "ApiTags::Scopes")]
impl ScopesApi {
    /// Create a scope
    ///
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/scopes", method = "post", operation_id = "scopes.create")]
    async fn create_scope(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        body: JsonBody<ScopeIn>,
    ) -> Result<CreatedScope, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let scope = scopes::create_scope(&state.store, env, body.into_inner().into()).await?;
        let out = ScopeOut::new(&state, scope);
        let location = out.links.self_.href.clone();
        Ok(CreatedScope::Created(Json(out), location))
    }

    /// List scopes
    ///
    /// The environment's scopes, the OpenID Connect ones first. **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/scopes", method = "get", operation_id = "scopes.list")]
    async fn list_scopes(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        /// Page size, at least 1 (default 100); above 1000, 1000 are served.
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` or `prev` link.
        cursor: Query<Option<String>>,
    ) -> Result<Json<ScopesPage>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let page_request = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let page = scopes::list_scopes(&state.store, env, page_request).await?;
        let base = state.url(&format!("/v1/environments/{env}/scopes"));
        let parts = page_parts(&base, page_request, cursor.0.as_deref(), page, &[], |s| ScopeOut::new(&state, s));
        let PageParts { links, items, count, size } = parts;
        Ok(Json(ScopesPage { links, embedded: EmbeddedScopes { scopes: items }, count, size }))
    }

    /// Read one scope
    ///
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/scopes/:scopeId", method = "get", operation_id = "scopes.read")]
    async fn read_scope(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "scopeId")] scope_id: Path<String>,
    ) -> Result<Json<ScopeOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&scope_id, ScopeId::parse)?;
        Ok(Json(ScopeOut::new(&state, scopes::get_scope(&state.store, env, id).await?)))
    }

    /// Replace a scope
    ///
    /// Full replace; omitted settings return to their defaults. Built-in scopes keep their name.
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/scopes/:scopeId", method = "put", operation_id = "scopes.replace")]
    async fn replace_scope(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "scopeId")] scope_id: Path<String>,
        body: JsonBody<ScopeIn>,
    ) -> Result<Json<ScopeOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&scope_id, ScopeId::parse)?;
        let scope = scopes::replace_scope(&state.store, env, id, body.into_inner().into()).await?;
        Ok(Json(ScopeOut::new(&state, scope)))
    }

    /// Delete a scope
    ///
    /// Built-in OpenID Connect scopes cannot be deleted. **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/scopes/:scopeId", method = "delete", operation_id = "scopes.delete")]
    async fn delete_scope(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "scopeId")] scope_id: Path<String>,
    ) -> Result<DeletedScope, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&scope_id, ScopeId::parse)?;
        scopes::delete_scope(&state.store, env, id).await?;
        Ok(DeletedScope::Deleted)
    }

    /// List a scope's text versions
    ///
    /// Every version of the scope's `description` (the text the consent page shows), newest first:
    /// changing it makes a new version and keeps the old one, so receipts and records can show the
    /// text exactly as a user saw it. **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/scopes/:scopeId/versions", method = "get", operation_id = "scopes.versions")]
    async fn scope_versions(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "scopeId")] scope_id: Path<String>,
        /// Page size, at least 1 (default 100); above 1000, 1000 are served.
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` link.
        cursor: Query<Option<String>>,
    ) -> Result<Json<ScopeVersionsPage>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&scope_id, ScopeId::parse)?;
        let request = EventsRequest::parse(limit.0, cursor.0.as_deref())?;
        let page = scopes::scope_text_versions(&state.store, env, id, request).await?;
        let base = state.url(&format!("/v1/environments/{env}/scopes/{id}/versions"));
        let links = forward_links(&base, request.limit, cursor.0.as_deref(), page.next_cursor.as_deref());
        let versions: Vec<ScopeVersionOut> = page
            .items
            .into_iter()
            .map(|v| ScopeVersionOut {
                version: v.version,
                description: v.description,
                created_at: v.created_at.into(),
            })
            .collect();
        Ok(Json(ScopeVersionsPage { links, size: versions.len(), embedded: EmbeddedVersions { versions } }))
    }
}

/// One version of a scope's text.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ScopeVersionOut {
    /// 1 for the text the scope was created with, one more per change.
    pub version: i32,
    /// The text of this version (absent when the scope had none).
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    /// When this version was made.
    pub created_at: Timestamp,
}

/// Embedded versions of a page.
#[derive(Clone, Debug, Object)]
pub struct EmbeddedVersions {
    /// The versions, newest first.
    pub versions: Vec<ScopeVersionOut>,
}

/// A page of a scope's text versions.
#[derive(Clone, Debug, Object)]
pub struct ScopeVersionsPage {
    /// `self` and, when there are more, `next`.
    #[oai(rename = "_links")]
    pub links: CollectionLinks,
    /// The versions.
    #[oai(rename = "_embedded")]
    pub embedded: EmbeddedVersions,
    /// Versions in this page.
    pub size: usize,
}
