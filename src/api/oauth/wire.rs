//! Wire types of the OAuth endpoints: forms, token, introspection and userinfo answers.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use crate::domain::grants::BearerError;
use crate::domain::tokens::OAuthError;
use crate::error::{OAuthErrorBody, oauth_error_parts};

/// Token request parameters (`application/x-www-form-urlencoded`).
#[derive(Clone, Debug, Object, serde::Deserialize)]
pub struct TokenForm {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: Option<String>,
    /// Space-separated scopes; defaults to everything the application may get.
    pub scope: Option<String>,
    /// The client id (client_secret_post, or public clients).
    pub client_id: Option<String>,
    /// The client secret (client_secret_post).
    pub client_secret: Option<String>,
    /// The authorization code (authorization_code).
    pub code: Option<String>,
    /// The redirect URI of the authorization request (authorization_code).
    pub redirect_uri: Option<String>,
    /// The PKCE code verifier (authorization_code).
    pub code_verifier: Option<String>,
    /// The refresh token (refresh_token).
    pub refresh_token: Option<String>,
}

/// Parameters of revocation and introspection (`application/x-www-form-urlencoded`).
#[derive(Clone, Debug, Object, serde::Deserialize)]
pub struct TokenHintForm {
    /// The token.
    pub token: Option<String>,
    /// `access_token` or `refresh_token`; a hint only, both kinds are recognised without it.
    pub token_type_hint: Option<String>,
    /// The client id (client_secret_post, or public clients).
    pub client_id: Option<String>,
    /// The client secret (client_secret_post).
    pub client_secret: Option<String>,
}

/// An introspection answer (RFC 7662 §2.2). Inactive tokens carry `active: false` only.
#[derive(Clone, Debug, Object)]
pub struct IntrospectionOut {
    /// Whether the token may be used now: signed here, unexpired, not revoked, and the consent behind it
    /// neither revoked nor expired.
    pub active: bool,
    /// Granted scopes, space-separated.
    #[oai(skip_serializing_if_is_none)]
    pub scope: Option<String>,
    /// The client it was issued to.
    #[oai(skip_serializing_if_is_none)]
    pub client_id: Option<String>,
    /// The user (or, for client_credentials, the client).
    #[oai(skip_serializing_if_is_none)]
    pub sub: Option<String>,
    /// `Bearer` or `refresh_token`.
    #[oai(skip_serializing_if_is_none)]
    pub token_type: Option<String>,
    /// Expiry, seconds since the epoch.
    #[oai(skip_serializing_if_is_none)]
    pub exp: Option<i64>,
    /// Issued at, seconds since the epoch.
    #[oai(skip_serializing_if_is_none)]
    pub iat: Option<i64>,
    /// Issuer.
    #[oai(skip_serializing_if_is_none)]
    pub iss: Option<String>,
    /// Audience.
    #[oai(skip_serializing_if_is_none)]
    pub aud: Option<String>,
    /// Token id.
    #[oai(skip_serializing_if_is_none)]
    pub jti: Option<String>,
    /// Claims an external consent app attached to the grant (`session.access_token`).
    #[oai(skip_serializing_if_is_none)]
    pub ext: Option<serde_json::Value>,
}

/// The user's claims (OIDC Core §5.3.2), per granted scope.
#[derive(Clone, Debug, Object)]
pub struct UserInfoOut {
    /// The user id.
    pub sub: String,
    /// With `profile`: the username.
    #[oai(skip_serializing_if_is_none)]
    pub preferred_username: Option<String>,
    /// With `profile`: the full name.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// With `profile`: the given name.
    #[oai(skip_serializing_if_is_none)]
    pub given_name: Option<String>,
    /// With `profile`: the family name.
    #[oai(skip_serializing_if_is_none)]
    pub family_name: Option<String>,
    /// With `email`: the e-mail address.
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
}

/// Answers of userinfo.
#[derive(ApiResponse)]
pub enum UserInfoResponse {
    /// The claims.
    #[oai(status = 200)]
    Claims(Json<UserInfoOut>, #[oai(header = "Cache-Control")] String),
    /// `invalid_token`: missing, expired or revoked, or its consent withdrawn.
    #[oai(status = 401)]
    Unauthorized(Json<OAuthErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// `insufficient_scope`: not a user's token with `openid`.
    #[oai(status = 403)]
    Forbidden(Json<OAuthErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// `server_error`.
    #[oai(status = 500)]
    ServerError(Json<OAuthErrorBody>),
}

impl From<BearerError> for UserInfoResponse {
    fn from(error: BearerError) -> Self {
        let challenge = |code: &str, description: &str| {
            format!(
                "Bearer realm=\"assent\", error=\"{code}\", error_description=\"{}\"",
                description.replace('"', "'")
            )
        };
        let body =
            |code: &str, description: String| OAuthErrorBody { error: code.into(), error_description: description };
        match error {
            BearerError::InvalidToken(d) => {
                UserInfoResponse::Unauthorized(Json(body("invalid_token", d.clone())), challenge("invalid_token", &d))
            }
            BearerError::InsufficientScope(d) => UserInfoResponse::Forbidden(
                Json(body("insufficient_scope", d.clone())),
                challenge("insufficient_scope", &d),
            ),
            BearerError::Server(cause) => {
                let (_, body) = oauth_error_parts(OAuthError::Server(cause));
                UserInfoResponse::ServerError(Json(body))
            }
        }
    }
}

/// Answers of revocation and introspection.
#[derive(ApiResponse)]
pub enum ClientCallResponse<T: poem_openapi::types::ToJSON + Send + Sync> {
    /// Done (revocation answers 200 for unknown tokens too, RFC 7009 §2.2).
    #[oai(status = 200)]
    Ok(Json<T>, #[oai(header = "Cache-Control")] String),
    /// `invalid_request`.
    #[oai(status = 400)]
    BadRequest(Json<OAuthErrorBody>, #[oai(header = "Cache-Control")] String),
    /// `invalid_client`: client authentication failed.
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "WWW-Authenticate")] String,
    ),
    /// `temporarily_unavailable`: too many failed client authentications from this client or
    /// address; try again after `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<OAuthErrorBody>, #[oai(header = "Cache-Control")] String, #[oai(header = "Retry-After")] u64),
    /// `server_error`.
    #[oai(status = 500)]
    ServerError(Json<OAuthErrorBody>, #[oai(header = "Cache-Control")] String),
    /// `temporarily_unavailable`: the server is saturated; try again after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(Json<OAuthErrorBody>, #[oai(header = "Cache-Control")] String, #[oai(header = "Retry-After")] u64),
}

impl<T: poem_openapi::types::ToJSON + Send + Sync> From<OAuthError> for ClientCallResponse<T> {
    fn from(error: OAuthError) -> Self {
        let no_store = || "no-store".to_string();
        let retry_after = error.retry_after().unwrap_or(1);
        let (status, body) = oauth_error_parts(error);
        match status.as_u16() {
            401 => ClientCallResponse::Unauthorized(Json(body), no_store(), "Basic realm=\"assent\"".into()),
            429 => ClientCallResponse::TooManyRequests(Json(body), no_store(), retry_after),
            500 => ClientCallResponse::ServerError(Json(body), no_store()),
            503 => ClientCallResponse::Unavailable(Json(body), no_store(), retry_after),
            _ => ClientCallResponse::BadRequest(Json(body), no_store()),
        }
    }
}

/// An empty JSON object (the revocation answer).
#[derive(Clone, Debug, Default, Object)]
pub struct Empty {}

/// A successful token response (RFC 6749 §5.1).
#[derive(Clone, Debug, Object)]
pub struct TokenOut {
    /// The access token (a JWT signed with the environment's key, see `/as/jwks`).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Granted scopes, space-separated: what the user consented to, which may be less than asked.
    pub scope: String,
    /// A refresh token (rotated on each use), for applications allowed the refresh_token grant.
    #[oai(skip_serializing_if_is_none)]
    pub refresh_token: Option<String>,
    /// An OpenID Connect ID token, when `openid` was granted.
    #[oai(skip_serializing_if_is_none)]
    pub id_token: Option<String>,
}

/// Answers of the token endpoint.
#[derive(ApiResponse)]
pub enum TokenResponse {
    /// A token was issued.
    #[oai(status = 200)]
    Issued(Json<TokenOut>, #[oai(header = "Cache-Control")] String),
    /// `invalid_request`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type` or `invalid_scope`.
    #[oai(status = 400)]
    BadRequest(Json<OAuthErrorBody>, #[oai(header = "Cache-Control")] String),
    /// `invalid_client`: client authentication failed.
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "WWW-Authenticate")] String,
    ),
    /// `temporarily_unavailable`: too many failed client authentications from this client or
    /// address; try again after `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<OAuthErrorBody>, #[oai(header = "Cache-Control")] String, #[oai(header = "Retry-After")] u64),
    /// `server_error`.
    #[oai(status = 500)]
    ServerError(Json<OAuthErrorBody>, #[oai(header = "Cache-Control")] String),
    /// `temporarily_unavailable`: the server is saturated; try again after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(Json<OAuthErrorBody>, #[oai(header = "Cache-Control")] String, #[oai(header = "Retry-After")] u64),
}

impl From<OAuthError> for TokenResponse {
    fn from(error: OAuthError) -> Self {
        let no_store = || "no-store".to_string();
        let retry_after = error.retry_after().unwrap_or(1);
        let (status, body) = oauth_error_parts(error);
        match status.as_u16() {
            401 => TokenResponse::Unauthorized(Json(body), no_store(), "Basic realm=\"assent\"".into()),
            429 => TokenResponse::TooManyRequests(Json(body), no_store(), retry_after),
            500 => TokenResponse::ServerError(Json(body), no_store()),
            503 => TokenResponse::Unavailable(Json(body), no_store(), retry_after),
            _ => TokenResponse::BadRequest(Json(body), no_store()),
        }
    }
}

/// A public key (RFC 7517).
#[derive(Clone, Debug, Object)]
pub struct Jwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// `sig`.
    #[oai(rename = "use")]
    pub use_: String,
    /// `ES256`.
    pub alg: String,
    /// Key id, as in the JWT header.
    pub kid: String,
    /// X coordinate.
    pub x: String,
    /// Y coordinate.
    pub y: String,
}

/// A JWK set.
#[derive(Clone, Debug, Object)]
pub struct JwkSet {
    /// The environment's token signing keys.
    pub keys: Vec<Jwk>,
}
