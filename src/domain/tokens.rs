//! The token endpoint's grants and client authentication (RFC 6749 §2.3, §4.4, §5).

use super::applications::{AppType, Application, GrantType, TokenAuthMethod};
use super::error::DomainError;
use super::ids::{ApplicationId, EnvironmentId};
use crate::auth::password::{SecretCheck, SecretRefused};
use crate::auth::principal::{Permission, RESERVED_PREFIX};
use crate::auth::tokens::{TokenBasis, TokenService};
use crate::store::{Store, StoreError};

/// RFC 6749 §5.2 error codes, each with a description for the client developer.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Malformed request.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// Client authentication failed.
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    /// The grant (code, refresh token) is invalid.
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// The client may not use this grant type.
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    /// Unknown grant type.
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// A requested scope is unknown or not allowed.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// A guessing budget is spent: 429, retry after this many seconds.
    #[error("too many attempts; retry after {0} s")]
    TooManyRequests(u64),
    /// The server is saturated: 503, retry after this many seconds.
    #[error("busy; retry after {0} s")]
    Busy(u64),
    /// Something failed on our side; logged, not shown.
    #[error("server_error: {0}")]
    Server(String),
}

impl OAuthError {
    /// Seconds the client should wait before trying again, for the limits.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            OAuthError::TooManyRequests(seconds) | OAuthError::Busy(seconds) => Some(*seconds),
            _ => None,
        }
    }
}

impl From<DomainError> for OAuthError {
    fn from(error: DomainError) -> Self {
        OAuthError::Server(error.to_string())
    }
}

/// How the client presented its credentials.
#[derive(Clone, Debug, Default)]
pub struct ClientAuth {
    /// From `Authorization: Basic` (client_secret_basic).
    pub basic: Option<(String, String)>,
    /// `client_id` form parameter.
    pub form_client_id: Option<String>,
    /// `client_secret` form parameter (client_secret_post).
    pub form_client_secret: Option<String>,
    /// The address the request came from (behind trusted proxies), for guessing budgets.
    pub source: Option<std::net::IpAddr>,
}

/// A token request as received.
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `scope`, space-separated.
    pub scope: Option<String>,
    /// The client's credentials.
    pub client: ClientAuth,
    /// `code` (authorization_code).
    pub code: Option<String>,
    /// `redirect_uri` (authorization_code): must equal the authorization request's.
    pub redirect_uri: Option<String>,
    /// `code_verifier` (authorization_code with PKCE).
    pub code_verifier: Option<String>,
    /// `refresh_token` (refresh_token).
    pub refresh_token: Option<String>,
}

/// A successful token response.
#[derive(Clone, Debug)]
pub struct TokenGrant {
    /// The access token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// A refresh token, for clients allowed the refresh_token grant.
    pub refresh_token: Option<String>,
    /// An OpenID Connect ID token, when `openid` was granted.
    pub id_token: Option<String>,
}

/// Handles `POST /{envId}/as/token`.
pub async fn exchange(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    request: TokenRequest,
) -> Result<TokenGrant, OAuthError> {
    let grant_type = request.grant_type.as_deref().map(str::trim).unwrap_or_default();
    match grant_type {
        "" => Err(OAuthError::InvalidRequest("'grant_type' is required.".into())),
        "client_credentials" => client_credentials(store, tokens, env, request).await,
        "authorization_code" => super::grants::authorization_code(store, tokens, env, request).await,
        "refresh_token" => super::grants::refresh(store, tokens, env, request).await,
        other => Err(OAuthError::UnsupportedGrantType(format!("Unknown grant_type '{other}'."))),
    }
}

async fn client_credentials(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    request: TokenRequest,
) -> Result<TokenGrant, OAuthError> {
    let app = authenticate_client(store, tokens, env, &request.client).await?;
    if !app.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(OAuthError::UnauthorizedClient("This application may not use client_credentials.".into()));
    }
    // A worker's permissions are the `p1:` permission scopes its application lists; no other client has any.
    let permissions: Vec<&str> = if app.app_type == AppType::Worker {
        app.scopes.iter().map(String::as_str).filter(|s| Permission::of_scope(s).is_some()).collect()
    } else {
        vec![]
    };
    let scopes: Vec<String> = match request.scope.as_deref().map(str::trim) {
        None | Some("") => permissions.iter().map(|s| (*s).to_owned()).collect(),
        Some(requested) => {
            let mut granted: Vec<String> = Vec::new();
            let mut environment_scopes = None;
            for scope in requested.split_whitespace() {
                if granted.iter().any(|g| g == scope) {
                    continue;
                }
                if scope.starts_with(RESERVED_PREFIX) && !permissions.contains(&scope) {
                    return Err(OAuthError::InvalidScope(reserved_refusal(&app, scope)));
                }
                if !permissions.contains(&scope) {
                    // Services get the environment scopes granted to them, unless one needs a user's consent and
                    // blocks services.
                    if environment_scopes.is_none() {
                        environment_scopes =
                            Some(store.all_scopes(env).await.map_err(|e| OAuthError::Server(e.to_string()))?);
                    }
                    let known = environment_scopes.iter().flatten().find(|s| s.name == scope);
                    match known {
                        None => {
                            return Err(OAuthError::InvalidScope(format!(
                                "Scope '{scope}' does not exist in this environment."
                            )));
                        }
                        Some(s) if s.built_in => {
                            return Err(OAuthError::InvalidScope(format!(
                                "Scope '{scope}' describes a user; client_credentials has none."
                            )));
                        }
                        Some(_) if !app.scopes.iter().any(|g| g == scope) => {
                            return Err(OAuthError::InvalidScope(format!(
                                "Scope '{scope}' is not granted to this application."
                            )));
                        }
                        Some(s) if s.needs_consent() && s.block_services => {
                            return Err(OAuthError::InvalidScope(format!(
                                "Scope '{scope}' needs a user's consent and is blocked for client_credentials."
                            )));
                        }
                        Some(_) => {}
                    }
                }
                granted.push(scope.to_owned());
            }
            granted
        }
    };
    let client_id = app.id.to_string();
    let basis = TokenBasis {
        client_id: &client_id,
        subject: &client_id,
        scopes: &scopes,
        credential_version: Some(app.credential_version),
        ..TokenBasis::default()
    };
    let issued = tokens.issue(env, basis).await?;
    Ok(TokenGrant {
        access_token: issued.token,
        expires_in: issued.expires_in,
        scope: scopes.join(" "),
        refresh_token: None,
        id_token: None,
    })
}

/// Why a client_credentials request for the platform scope `scope` is refused.
fn reserved_refusal(app: &Application, scope: &str) -> String {
    if app.app_type != AppType::Worker {
        format!("Scope '{scope}' is reserved: only WORKER applications get platform permissions.")
    } else if Permission::of_scope(scope).is_some() {
        format!("Permission '{scope}' is not granted to this application; list it in the application's 'scopes'.")
    } else {
        format!("Scope '{scope}' is reserved for the platform and is not a permission.")
    }
}

/// Authenticates the client with exactly one method, the one it is registered for.
pub async fn authenticate_client(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    auth: &ClientAuth,
) -> Result<Application, OAuthError> {
    let (client_id, secret, method) = match (&auth.basic, &auth.form_client_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::InvalidRequest("Use only one client authentication method.".into()));
        }
        (Some((id, secret)), None) => {
            if auth.form_client_id.as_ref().is_some_and(|form_id| form_id != id) {
                return Err(OAuthError::InvalidRequest("'client_id' does not match the Authorization header.".into()));
            }
            (id.clone(), Some(secret.clone()), TokenAuthMethod::ClientSecretBasic)
        }
        (None, Some(secret)) => {
            let id = auth
                .form_client_id
                .clone()
                .ok_or_else(|| OAuthError::InvalidRequest("'client_id' is required.".into()))?;
            (id, Some(secret.clone()), TokenAuthMethod::ClientSecretPost)
        }
        (None, None) => match &auth.form_client_id {
            Some(id) => (id.clone(), None, TokenAuthMethod::None),
            None => return Err(OAuthError::InvalidClient("Client authentication is required.".into())),
        },
    };
    let unknown = || OAuthError::InvalidClient("Client authentication failed.".into());
    let id = ApplicationId::parse(&client_id).ok_or_else(unknown)?;
    let (app, credentials) = match store.get_application_with_credentials(env, id).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Err(unknown()),
        Err(e) => return Err(OAuthError::Server(e.to_string())),
    };
    if app.token_endpoint_auth_method != method {
        return Err(OAuthError::InvalidClient(format!(
            "This client must authenticate with {}.",
            match app.token_endpoint_auth_method {
                TokenAuthMethod::ClientSecretBasic => "client_secret_basic",
                TokenAuthMethod::ClientSecretPost => "client_secret_post",
                TokenAuthMethod::None => "none (public client)",
            }
        )));
    }
    if let Some(secret) = secret {
        let check = SecretCheck { env, client_id: &client_id, source: auth.source };
        match tokens.client_secrets.verify(credentials.secret_hash, secret, check, &tokens.limiters).await {
            Ok(true) => {}
            Ok(false) => return Err(unknown()),
            Err(SecretRefused::Limited(limited)) => return Err(OAuthError::TooManyRequests(limited.retry_after)),
            Err(SecretRefused::Domain(DomainError::Busy(seconds))) => return Err(OAuthError::Busy(seconds)),
            Err(SecretRefused::Domain(other)) => return Err(other.into()),
        }
    }
    if !app.enabled {
        return Err(OAuthError::InvalidClient("This application is disabled.".into()));
    }
    Ok(app)
}
