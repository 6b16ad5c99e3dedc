//! `/v1/environments/{envId}/applications`: OAuth clients of an environment.

mod wire;

pub use wire::*;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::json::JsonBody;
use super::security::BearerToken;
use super::types::{PageParts, page_parts};
use super::{ApiTags, admin_env, resource_id};
use crate::domain::applications as apps;
use crate::domain::ids::ApplicationId;
use crate::domain::paging::PageRequest;
use crate::error::ApiError;
use crate::state::AppState;

/// Answer of application creation.
#[derive(ApiResponse)]
pub enum CreatedApplication {
    /// The application was created; read its secret from `_links.secret`.
    #[oai(status = 201)]
    Created(Json<ApplicationOut>, #[oai(header = "Location")] String),
}

/// Answer of application deletion.
#[derive(ApiResponse)]
pub enum DeletedApplication {
    /// The application was deleted.
    #[oai(status = 204)]
    Deleted,
}

/// Application management.
pub struct ApplicationsApi;

#[OpenApi(tag = "ApiTags::Applications")]
impl ApplicationsApi {
    /// Create an application
    ///
    /// Registers an OAuth client; its id is the `client_id`. A secret is generated and can be read
    /// at `_links.secret`. **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/applications", method = "post", operation_id = "applications.create")]
    async fn create_application(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        body: JsonBody<ApplicationIn>,
    ) -> Result<CreatedApplication, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let app = apps::create_application(&state.store, &state.secrets, env, body.into_inner().into()).await?;
        let out = ApplicationOut::new(&state, app);
        let location = out.links.self_.href.clone();
        Ok(CreatedApplication::Created(Json(out), location))
    }

    /// List applications
    ///
    /// Applications in creation order with `limit`/`cursor` paging. **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/applications", method = "get", operation_id = "applications.list")]
    async fn list_applications(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        /// Page size, at least 1 (default 100); above 1000, 1000 are served.
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` or `prev` link.
        cursor: Query<Option<String>>,
    ) -> Result<Json<ApplicationsPage>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let page_request = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let page = apps::list_applications(&state.store, env, page_request).await?;
        let base = state.url(&format!("/v1/environments/{env}/applications"));
        let parts = page_parts(&base, page_request, cursor.0.as_deref(), page, &[], |a| ApplicationOut::new(&state, a));
        let PageParts { links, items, count, size } = parts;
        Ok(Json(ApplicationsPage { links, embedded: EmbeddedApplications { applications: items }, count, size }))
    }

    /// Read one application
    ///
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/applications/:appId", method = "get", operation_id = "applications.read")]
    async fn read_application(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "appId")] app_id: Path<String>,
    ) -> Result<Json<ApplicationOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&app_id, ApplicationId::parse)?;
        let app = apps::get_application(&state.store, env, id).await?;
        Ok(Json(ApplicationOut::new(&state, app)))
    }

    /// Replace an application
    ///
    /// Full replace: omitted settings return to their defaults. The secret is kept.
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/applications/:appId", method = "put", operation_id = "applications.replace")]
    async fn replace_application(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "appId")] app_id: Path<String>,
        body: JsonBody<ApplicationIn>,
    ) -> Result<Json<ApplicationOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&app_id, ApplicationId::parse)?;
        let app = apps::replace_application(&state.store, env, id, body.into_inner().into()).await?;
        Ok(Json(ApplicationOut::new(&state, app)))
    }

    /// Delete an application
    ///
    /// Ends every token of the application at once: its own `client_credentials` tokens and the
    /// grants, refresh and access tokens its users gave it. Consent records naming the application
    /// are kept. **Permissions:** a worker token with `p1:admin`.
    #[oai(
        path = "/v1/environments/:envId/applications/:appId",
        method = "delete",
        operation_id = "applications.delete"
    )]
    async fn delete_application(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "appId")] app_id: Path<String>,
    ) -> Result<DeletedApplication, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&app_id, ApplicationId::parse)?;
        apps::delete_application(&state.store, env, id).await?;
        Ok(DeletedApplication::Deleted)
    }

    /// Read the client secret
    ///
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(
        path = "/v1/environments/:envId/applications/:appId/secret",
        method = "get",
        operation_id = "applications.secret.read"
    )]
    async fn read_secret(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "appId")] app_id: Path<String>,
    ) -> Result<Json<SecretOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&app_id, ApplicationId::parse)?;
        let secret = apps::read_secret(&state.store, &state.secrets, env, id).await?;
        Ok(Json(SecretOut { secret }))
    }

    /// Rotate the client secret
    ///
    /// Generates a new secret; the old one stops working at once, and so do the access tokens the
    /// application obtained with `client_credentials` before the rotation. Tokens users granted it are
    /// kept. **Permissions:** a worker token with `p1:admin`.
    #[oai(
        path = "/v1/environments/:envId/applications/:appId/secret",
        method = "post",
        operation_id = "applications.secret.rotate"
    )]
    async fn rotate_secret(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "appId")] app_id: Path<String>,
    ) -> Result<Json<SecretOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&app_id, ApplicationId::parse)?;
        let secret = apps::rotate_secret(&state.store, &state.secrets, env, id).await?;
        Ok(Json(SecretOut { secret }))
    }
}
