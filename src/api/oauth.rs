//! `/{envId}/as/…`: the OAuth 2.0 authorization server endpoints (RFC 6749 error format).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{ApiTags, resource_id};
use crate::domain::ids::EnvironmentId;
use crate::domain::tokens::{self, ClientAuth, OAuthError, TokenRequest};
use crate::error::{ApiError, OAuthErrorBody, oauth_error_parts};
use crate::state::AppState;

/// Token request parameters (`application/x-www-form-urlencoded`).
#[derive(Clone, Debug, Object, serde::Deserialize)]
pub struct TokenForm {
    /// `client_credentials`.
    pub grant_type: Option<String>,
    /// Space-separated scopes; defaults to everything the application may get.
    pub scope: Option<String>,
    /// The client id (client_secret_post, or public clients).
    pub client_id: Option<String>,
    /// The client secret (client_secret_post).
    pub client_secret: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Clone, Debug, Object)]
pub struct TokenOut {
    /// The access token (a JWT signed with the environment's key, see `/as/jwks`).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Granted scopes, space-separated.
    pub scope: String,
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
    /// `server_error`.
    #[oai(status = 500)]
    ServerError(Json<OAuthErrorBody>, #[oai(header = "Cache-Control")] String),
}

impl From<OAuthError> for TokenResponse {
    fn from(error: OAuthError) -> Self {
        let no_store = || "no-store".to_string();
        let (status, body) = oauth_error_parts(error);
        match status.as_u16() {
            401 => TokenResponse::Unauthorized(Json(body), no_store(), "Basic realm=\"assent\"".into()),
            500 => TokenResponse::ServerError(Json(body), no_store()),
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

/// OAuth 2.0 endpoints.
pub struct OAuthApi;

/// Reads `Authorization: Basic` (RFC 6749 §2.3.1: both parts form-urlencoded).
fn basic_credentials(request: &Request) -> Result<Option<(String, String)>, OAuthError> {
    let Some(header) = request.headers().get("Authorization") else { return Ok(None) };
    let malformed = || OAuthError::InvalidClient("Malformed Basic authorization header.".into());
    let text = header.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = text.split_once(' ') else { return Err(malformed()) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidClient("Only Basic authorization is accepted here.".into()));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

#[OpenApi(tag = "ApiTags::OAuth")]
impl OAuthApi {
    /// Token endpoint
    ///
    /// Issues access tokens. `client_credentials` with `client_secret_basic` (HTTP Basic) or
    /// `client_secret_post` (`client_id` and `client_secret` in the form), as the application is registered.
    /// Errors follow RFC 6749 §5.2.
    #[oai(path = "/:envId/as/token", method = "post", operation_id = "oauth.token")]
    async fn token(
        &self,
        state: Data<&AppState>,
        request: &Request,
        #[oai(name = "envId")] env_id: Path<String>,
        form: Form<TokenForm>,
    ) -> TokenResponse {
        let Some(env) = EnvironmentId::parse(&env_id) else {
            return OAuthError::InvalidClient("Client authentication failed.".into()).into();
        };
        let basic = match basic_credentials(request) {
            Ok(basic) => basic,
            Err(error) => return error.into(),
        };
        let form = form.0;
        let token_request = TokenRequest {
            grant_type: form.grant_type,
            scope: form.scope,
            client: ClientAuth { basic, form_client_id: form.client_id, form_client_secret: form.client_secret },
        };
        match tokens::exchange(&state.store, &state.tokens, env, token_request).await {
            Ok(grant) => TokenResponse::Issued(
                Json(TokenOut {
                    access_token: grant.access_token,
                    token_type: "Bearer".into(),
                    expires_in: grant.expires_in,
                    scope: grant.scope,
                }),
                "no-store".into(),
            ),
            Err(error) => error.into(),
        }
    }

    /// JSON Web Key Set
    ///
    /// The public keys that verify this environment's access tokens. Public; no authentication.
    #[oai(path = "/:envId/as/jwks", method = "get", operation_id = "oauth.jwks")]
    async fn jwks(
        &self,
        state: Data<&AppState>,
        #[oai(name = "envId")] env_id: Path<String>,
    ) -> Result<Json<JwkSet>, ApiError> {
        let env = resource_id(&env_id, EnvironmentId::parse)?;
        let keys = state.tokens.jwks(env).await?;
        Ok(Json(JwkSet {
            keys: keys
                .into_iter()
                .map(|k| Jwk {
                    kty: "EC".into(),
                    crv: "P-256".into(),
                    use_: "sig".into(),
                    alg: "ES256".into(),
                    kid: k.kid,
                    x: k.x,
                    y: k.y,
                })
                .collect(),
        }))
    }
}
