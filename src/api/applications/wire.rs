//! Wire shapes of applications: settings in, the resource out, and their enums.

use poem_openapi::{Enum, Object};

use crate::api::types::{CollectionLinks, IdRef, Link, Timestamp};
use crate::domain::applications::{self as apps, Application, ApplicationDraft};
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

wire_enum!(
    /// Whether users see a consent page.
    ConsentMethod => apps::ConsentMethod {
        /// No consent page; the grant is recorded as implicitly accepted.
        Trusted,
        /// Users are asked for the scopes that need consent.
        Required,
    }
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
    /// Defaults to `true`; disabled applications get no tokens, and disabling one ends every token
    /// it holds (enabling it again does not bring them back).
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
    /// Defaults to `S256_REQUIRED` for every application (RFC 9700 §2.1.1); `OPTIONAL` lets a
    /// confidential client go without PKCE.
    pub pkce_enforcement: Option<PkceEnforcement>,
    /// Defaults to `REQUIRED`: users are asked before the application gets scopes that need consent.
    pub consent_method: Option<ConsentMethod>,
    /// Names of this environment's scopes the application may request; duplicates are dropped.
    /// A worker also lists its permissions here: `p1:admin`, `p1:read:oauthConsents`,
    /// `p1:create:oauthConsents`, `p1:update:oauthConsents`; taking one away ends its tokens.
    /// Defaults: `["openid"]`, or `["p1:admin"]` for workers.
    pub scopes: Option<Vec<String>>,
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
    /// Whether users see a consent page.
    pub consent_method: ConsentMethod,
    /// Scopes the application may request (for a worker, with its permissions).
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl ApplicationOut {
    /// The resource of `app`, with links under the server's public URL.
    pub fn new(state: &AppState, app: Application) -> Self {
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
            consent_method: app.consent_method.into(),
            scopes: app.scopes,
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
            consent_method: input.consent_method.map(Into::into),
            scopes: input.scopes,
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
    /// Applications in the whole collection, when there are at most 1000; absent when there are more.
    #[oai(skip_serializing_if_is_none)]
    pub count: Option<u64>,
    /// Applications in this page.
    pub size: usize,
}

/// A client secret.
#[derive(Clone, Debug, Object)]
pub struct SecretOut {
    /// The secret, for client_secret_basic / client_secret_post.
    pub secret: String,
}
