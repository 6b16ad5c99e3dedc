//! `/v1/environments/{envId}/applications`: OAuth clients of an environment.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::json::JsonBody;
use super::security::BearerToken;
use super::types::{CollectionLinks, IdRef, Link, Timestamp, collection_links};
use super::{ApiTags, admin_env, resource_id};
use crate::domain::applications::{self as apps, Application, ApplicationDraft};
use crate::domain::ids::ApplicationId;
use crate::domain::paging::PageRequest;
use crate::error::ApiError;
use crate::state::AppState;

/// Declares a wire enum mirroring a domain enum, with conversions both ways.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident => $domain:path { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Deserialize, serde::Serialize)]
        #[oai(rename_all = "SCREAMING_SNAKE_CASE")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => <$domain>::$variant),+ }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => $name::$variant),+ }
            }
        }
    };
}

wire_enum!(
    /// The kind of application.
    AppType => apps::AppType {
        /// A back-end service using client credentials (may call the management API).
        Worker,
        /// A confidential server-side web application.
        WebApp,
        /// A public native application.
        NativeApp,
        /// A public browser application.
        SinglePageApp,
    }
);
wire_enum!(
    /// An OAuth 2.0 grant type.
    GrantType => apps::GrantType { AuthorizationCode, ClientCredentials, RefreshToken }
);
wire_enum!(
    /// An OAuth 2.0 response type.
    ResponseType => apps::ResponseType { Code }
);
wire_enum!(
    /// Token endpoint client authentication.
    TokenAuthMethod => apps::TokenAuthMethod { ClientSecretBasic, ClientSecretPost, None }
);
wire_enum!(
    /// PKCE policy at the authorization endpoint.
    PkceEnforcement => apps::PkceEnforcement { Optional, S256Required }
);

/// The application protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Deserialize)]
pub enum Protocol {
    /// OpenID Connect / OAuth 2.0.
    #[oai(rename = "OPENID_CONNECT")]
    #[serde(rename = "OPENID_CONNECT")]
    OpenIdConnect,
}

/// Settings of an application, for create (POST) and full replace (PUT).
#[derive(Clone, Debug, Object, serde::Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ApplicationIn {
    /// Display name, shown to users on the consent page.
    pub name: String,
    /// Free description.
    pub description: Option<String>,
    /// Defaults to `true`; disabled applications get no tokens.
    pub enabled: Option<bool>,
    /// Defaults to `OPENID_CONNECT`.
    pub protocol: Option<Protocol>,
    /// The kind of application.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub app_type: AppType,
    /// Defaults: `CLIENT_CREDENTIALS` for workers, `AUTHORIZATION_CODE` otherwise.
    pub grant_types: Option<Vec<GrantType>>,
    /// Defaults to `CODE` with the authorization code grant.
    pub response_types: Option<Vec<ResponseType>>,
    /// Exact redirect URIs; required with the authorization code grant.
    pub redirect_uris: Option<Vec<String>>,
    /// Defaults: `NONE` for native and single-page apps, `CLIENT_SECRET_BASIC` otherwise.
    pub token_endpoint_auth_method: Option<TokenAuthMethod>,
    /// Defaults: `S256_REQUIRED` for native and single-page apps, `OPTIONAL` otherwise.
    pub pkce_enforcement: Option<PkceEnforcement>,
}

/// Links of an application.
#[derive(Clone, Debug, Object)]
pub struct ApplicationLinks {
    /// This application.
    #[oai(rename = "self")]
    pub self_: Link,
    /// Its environment.
    pub environment: Link,
    /// Its client secret.
    pub secret: Link,
}

/// An application.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ApplicationOut {
    /// HAL links.
    #[oai(rename = "_links")]
    pub links: ApplicationLinks,
    /// The application's id, also its OAuth `client_id`.
    pub id: String,
    /// Its environment.
    pub environment: IdRef,
    /// Display name.
    pub name: String,
    /// Description.
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    /// Whether it may get tokens.
    pub enabled: bool,
    /// Protocol.
    pub protocol: Protocol,
    /// Kind of application.
    #[oai(rename = "type")]
    pub app_type: AppType,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// Allowed response types.
    pub response_types: Vec<ResponseType>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Token endpoint authentication method.
    pub token_endpoint_auth_method: TokenAuthMethod,
    /// PKCE policy.
    pub pkce_enforcement: PkceEnforcement,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl ApplicationOut {
    fn new(state: &AppState, app: Application) -> Self {
        let env_url = state.url(&format!("/v1/environments/{}", app.environment_id));
        let self_url = format!("{env_url}/applications/{}", app.id);
        Self {
            links: ApplicationLinks {
                secret: Link::to(format!("{self_url}/secret")),
                self_: Link::to(self_url),
                environment: Link::to(env_url),
            },
            id: app.id.to_string(),
            environment: IdRef::to(app.environment_id),
            name: app.name,
            description: app.description,
            enabled: app.enabled,
            protocol: Protocol::OpenIdConnect,
            app_type: app.app_type.into(),
            grant_types: app.grant_types.into_iter().map(Into::into).collect(),
            response_types: app.response_types.into_iter().map(Into::into).collect(),
            redirect_uris: app.redirect_uris,
            token_endpoint_auth_method: app.token_endpoint_auth_method.into(),
            pkce_enforcement: app.pkce_enforcement.into(),
            created_at: app.created_at.into(),
            updated_at: app.updated_at.into(),
        }
    }
}

impl From<ApplicationIn> for ApplicationDraft {
    fn from(input: ApplicationIn) -> Self {
        ApplicationDraft {
            name: Some(input.name),
            description: input.description,
            enabled: input.enabled,
            protocol: input.protocol.map(|_| apps::Protocol::OpenIdConnect),
            app_type: Some(input.app_type.into()),
            grant_types: input.grant_types.map(|v| v.into_iter().map(Into::into).collect()),
            response_types: input.response_types.map(|v| v.into_iter().map(Into::into).collect()),
            redirect_uris: input.redirect_uris,
            token_endpoint_auth_method: input.token_endpoint_auth_method.map(Into::into),
            pkce_enforcement: input.pkce_enforcement.map(Into::into),
        }
    }
}

/// Embedded applications of a page.
#[derive(Clone, Debug, Object)]
pub struct EmbeddedApplications {
    /// The applications of this page.
    pub applications: Vec<ApplicationOut>,
}

/// A page of applications.
#[derive(Clone, Debug, Object)]
pub struct ApplicationsPage {
    /// `self` and, when there are more, `next`.
    #[oai(rename = "_links")]
    pub links: CollectionLinks,
    /// The applications.
    #[oai(rename = "_embedded")]
    pub embedded: EmbeddedApplications,
    /// Applications in this page.
    pub count: usize,
    /// Applications in this page.
    pub size: usize,
}

/// A client secret.
#[derive(Clone, Debug, Object)]
pub struct SecretOut {
    /// The secret, for client_secret_basic / client_secret_post.
    pub secret: String,
}

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
    /// at `_links.secret`. **Permissions:** a worker token of this environment.
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
    /// Applications in creation order with `limit`/`cursor` paging. **Permissions:** a worker token of this environment.
    #[oai(path = "/v1/environments/:envId/applications", method = "get", operation_id = "applications.list")]
    async fn list_applications(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        /// Page size, 1 to 1000.
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` link.
        cursor: Query<Option<String>>,
    ) -> Result<Json<ApplicationsPage>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let page_request = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let page = apps::list_applications(&state.store, env, page_request).await?;
        let base = state.url(&format!("/v1/environments/{env}/applications"));
        let links = collection_links(&base, page_request.limit, cursor.0.as_deref(), page.next_cursor.as_deref(), &[]);
        let items: Vec<ApplicationOut> = page.items.into_iter().map(|a| ApplicationOut::new(&state, a)).collect();
        let count = items.len();
        Ok(Json(ApplicationsPage { links, embedded: EmbeddedApplications { applications: items }, count, size: count }))
    }

    /// Read one application
    ///
    /// **Permissions:** a worker token of this environment.
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
    /// **Permissions:** a worker token of this environment.
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
    /// Consent records naming the application are kept. **Permissions:** a worker token of this environment.
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
    /// **Permissions:** a worker token of this environment.
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
    /// Generates a new secret; the old one stops working at once. **Permissions:** a worker token of this environment.
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
