//! `/{envId}/as/…`: the OAuth 2.0 authorization server endpoints (RFC 6749 error format).

mod wire;

pub use wire::*;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poem::Request;
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use poem_openapi::payload::{Form, Json};

use super::client::request_context;
use super::security::bearer_token;
use super::{ApiTags, resource_id};
use crate::domain::grants::{self, BearerError};
use crate::domain::ids::EnvironmentId;
use crate::domain::tokens::{self, ClientAuth, OAuthError, TokenRequest};
use crate::error::ApiError;
use crate::state::AppState;

/// The environment, the client's credentials and the token of a revocation or introspection request.
fn token_call(
    state: &AppState,
    request: &Request,
    env_id: &str,
    form: TokenHintForm,
) -> Result<(EnvironmentId, ClientAuth, Option<String>), OAuthError> {
    let env = EnvironmentId::parse(env_id)
        .ok_or_else(|| OAuthError::InvalidClient("Client authentication failed.".into()))?;
    let client = client_auth(state, request, form.client_id, form.client_secret)?;
    Ok((env, client, form.token))
}

/// The client's credentials as presented, and the address they came from.
fn client_auth(
    state: &AppState,
    request: &Request,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<ClientAuth, OAuthError> {
    Ok(ClientAuth {
        basic: basic_credentials(request)?,
        form_client_id: client_id,
        form_client_secret: client_secret,
        source: Some(request_context(request, &state.trusted_proxies).client_ip),
    })
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
        let client = match client_auth(&state, request, form.client_id, form.client_secret) {
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
        let (env, client, token) = match token_call(&state, request, &env_id, form.0) {
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
    /// RFC 7662, for confidential clients of the environment (`client_secret_basic` or
    /// `client_secret_post`; a public client gets `invalid_client`). A token is active when it was
    /// issued here, has not expired or been revoked, its client is still enabled with the credentials
    /// it was issued under, and for a user's token the user is enabled and the consent records behind
    /// it are neither revoked nor expired. A refresh token is described only to the client it was
    /// issued to; any other client is told `{"active": false}`.
    #[oai(path = "/:envId/as/introspect", method = "post", operation_id = "oauth.introspect")]
    async fn introspect(
        &self,
        state: Data<&AppState>,
        request: &Request,
        #[oai(name = "envId")] env_id: Path<String>,
        form: Form<TokenHintForm>,
    ) -> ClientCallResponse<IntrospectionOut> {
        let (env, client, token) = match token_call(&state, request, &env_id, form.0) {
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
        match grants::userinfo(&state.store, &state.tokens, env, bearer_token(request)).await {
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
