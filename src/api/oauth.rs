//! `/{envId}/as/…`: the OAuth 2.0 authorization server endpoints (RFC 6749 error format).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{ApiTags, resource_id};
use crate::domain::grants::{self, BearerError};
use crate::domain::ids::EnvironmentId;
use crate::domain::tokens::{self, ClientAuth, OAuthError, TokenRequest};
use crate::error::{ApiError, OAuthErrorBody, oauth_error_parts};
use crate::state::AppState;

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
    /// `server_error`.
    #[oai(status = 500)]
    ServerError(Json<OAuthErrorBody>, #[oai(header = "Cache-Control")] String),
}

impl<T: poem_openapi::types::ToJSON + Send + Sync> From<OAuthError> for ClientCallResponse<T> {
    fn from(error: OAuthError) -> Self {
        let no_store = || "no-store".to_string();
        let (status, body) = oauth_error_parts(error);
        match status.as_u16() {
            401 => ClientCallResponse::Unauthorized(Json(body), no_store(), "Basic realm=\"assent\"".into()),
            500 => ClientCallResponse::ServerError(Json(body), no_store()),
            _ => ClientCallResponse::BadRequest(Json(body), no_store()),
        }
    }
}

/// An empty JSON object (the revocation answer).
#[derive(Clone, Debug, Default, Object)]
pub struct Empty {}

/// The environment, the client's credentials and the token of a revocation or introspection request.
fn token_call(
    request: &Request,
    env_id: &str,
    form: TokenHintForm,
) -> Result<(EnvironmentId, ClientAuth, Option<String>), OAuthError> {
    let env = EnvironmentId::parse(env_id)
        .ok_or_else(|| OAuthError::InvalidClient("Client authentication failed.".into()))?;
    let client = client_auth(request, form.client_id, form.client_secret)?;
    Ok((env, client, form.token))
}

fn client_auth(
    request: &Request,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<ClientAuth, OAuthError> {
    Ok(ClientAuth { basic: basic_credentials(request)?, form_client_id: client_id, form_client_secret: client_secret })
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
    /// Issues access tokens. `authorization_code` (codes live 60 seconds and are single-use; a replayed code
    /// revokes every token issued from it; `redirect_uri` must match and, with PKCE, `code_verifier` must
    /// match the S256 challenge), `refresh_token` (rotated on each use; reusing an old one revokes the whole
    /// family) and `client_credentials`. Clients authenticate as registered: `client_secret_basic` (HTTP
    /// Basic), `client_secret_post` (`client_id` and `client_secret` in the form) or, for public clients,
    /// `client_id` alone. Errors follow RFC 6749 §5.2.
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
        let form = form.0;
        let client = match client_auth(request, form.client_id, form.client_secret) {
            Ok(client) => client,
            Err(error) => return error.into(),
        };
        let token_request = TokenRequest {
            grant_type: form.grant_type,
            scope: form.scope,
            client,
            code: form.code,
            redirect_uri: form.redirect_uri,
            code_verifier: form.code_verifier,
            refresh_token: form.refresh_token,
        };
        match tokens::exchange(&state.store, &state.tokens, env, token_request).await {
            Ok(grant) => TokenResponse::Issued(
                Json(TokenOut {
                    access_token: grant.access_token,
                    token_type: "Bearer".into(),
                    expires_in: grant.expires_in,
                    scope: grant.scope,
                    refresh_token: grant.refresh_token,
                    id_token: grant.id_token,
                }),
                "no-store".into(),
            ),
            Err(error) => error.into(),
        }
    }

    /// Token revocation
    ///
    /// RFC 7009. Revoking a refresh token revokes its grant: the refresh token family and the access tokens
    /// issued under it. Revoking an access token revokes that token. Answers 200 for unknown tokens and
    /// for tokens of other clients, which are left alone.
    #[oai(path = "/:envId/as/revoke", method = "post", operation_id = "oauth.revoke")]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        request: &Request,
        #[oai(name = "envId")] env_id: Path<String>,
        form: Form<TokenHintForm>,
    ) -> ClientCallResponse<Empty> {
        let (env, client, token) = match token_call(request, &env_id, form.0) {
            Ok(parts) => parts,
            Err(error) => return error.into(),
        };
        match grants::revoke(&state.store, &state.tokens, env, client, token).await {
            Ok(()) => ClientCallResponse::Ok(Json(Empty {}), "no-store".into()),
            Err(error) => error.into(),
        }
    }

    /// Token introspection
    ///
    /// RFC 7662, for any client of the environment. A token is active when it was issued here, has not
    /// expired or been revoked, and the consent record behind it is neither revoked nor expired.
    #[oai(path = "/:envId/as/introspect", method = "post", operation_id = "oauth.introspect")]
    async fn introspect(
        &self,
        state: Data<&AppState>,
        request: &Request,
        #[oai(name = "envId")] env_id: Path<String>,
        form: Form<TokenHintForm>,
    ) -> ClientCallResponse<IntrospectionOut> {
        let (env, client, token) = match token_call(request, &env_id, form.0) {
            Ok(parts) => parts,
            Err(error) => return error.into(),
        };
        match grants::introspect(&state.store, &state.tokens, env, client, token).await {
            Ok(found) => ClientCallResponse::Ok(
                Json(IntrospectionOut {
                    active: found.active,
                    scope: found.scope,
                    client_id: found.client_id,
                    sub: found.sub,
                    token_type: found.token_type,
                    exp: found.exp,
                    iat: found.iat,
                    iss: found.iss,
                    aud: found.aud,
                    jti: found.jti,
                    ext: found.ext.map(serde_json::Value::Object),
                }),
                "no-store".into(),
            ),
            Err(error) => error.into(),
        }
    }

    /// UserInfo
    ///
    /// OpenID Connect Core §5.3: the signed-in user's claims for an access token carrying `openid`:
    /// `sub`; with `profile` the names; with `email` the e-mail address. Send the token as
    /// `Authorization: Bearer`.
    #[oai(path = "/:envId/as/userinfo", method = "get", operation_id = "oauth.userinfo")]
    async fn userinfo(
        &self,
        state: Data<&AppState>,
        request: &Request,
        #[oai(name = "envId")] env_id: Path<String>,
    ) -> UserInfoResponse {
        let Some(env) = EnvironmentId::parse(&env_id) else {
            return BearerError::InvalidToken("Unknown environment.".into()).into();
        };
        let bearer = request
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        match grants::userinfo(&state.store, &state.tokens, env, bearer).await {
            Ok(info) => UserInfoResponse::Claims(
                Json(UserInfoOut {
                    sub: info.sub,
                    preferred_username: info.preferred_username,
                    name: info.name,
                    given_name: info.given_name,
                    family_name: info.family_name,
                    email: info.email,
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
