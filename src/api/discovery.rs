//! Public, unauthenticated metadata of an environment's authorization server.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::scopes::Consent;
use super::{ApiTags, resource_id};
use crate::domain::ids::EnvironmentId;
use crate::domain::scopes;
use crate::error::ApiError;
use crate::state::AppState;

/// A scope as clients see it.
#[derive(Clone, Debug, Object)]
pub struct PublicScope {
    /// The scope string.
    pub name: String,
    /// What granting it allows.
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    /// Whether users are asked: `IMPLICIT`, `REQUIRED` or `FLEXIBLE`.
    pub consent: Consent,
}

/// The scopes an application may request.
#[derive(Clone, Debug, Object)]
pub struct PublicScopes {
    /// Every scope of the environment.
    pub scopes: Vec<PublicScope>,
}

/// Authorization server metadata (RFC 8414; the OpenID Connect Discovery subset Assent serves).
#[derive(Clone, Debug, Object)]
pub struct ServerMetadata {
    /// Issuer identifier; the `iss` of every token.
    pub issuer: String,
    /// Authorization endpoint (code flow with PKCE, hosted login and consent pages).
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// Token revocation (RFC 7009).
    pub revocation_endpoint: String,
    /// Token introspection (RFC 7662).
    pub introspection_endpoint: String,
    /// OpenID Connect UserInfo.
    pub userinfo_endpoint: String,
    /// JSON Web Key Set.
    pub jwks_uri: String,
    /// Public list of scopes with their consent policies.
    pub scopes_endpoint: String,
    /// Every scope of the environment.
    pub scopes_supported: Vec<String>,
    /// Grant types the token endpoint accepts today.
    pub grant_types_supported: Vec<String>,
    /// Client authentication methods at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Signing algorithms of access tokens.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// PKCE methods (only S256: `plain` is refused).
    pub code_challenge_methods_supported: Vec<String>,
    /// `code`.
    pub response_types_supported: Vec<String>,
    /// `query`.
    pub response_modes_supported: Vec<String>,
    /// `login`, `consent`, `none`.
    pub prompt_values_supported: Vec<String>,
    /// `public`: subjects are user ids, or an external user's subject from the login app.
    pub subject_types_supported: Vec<String>,
    /// ID token signing algorithms.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Claims userinfo can release.
    pub claims_supported: Vec<String>,
    /// Authentication methods at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// Authentication methods at the introspection endpoint.
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// Authorization responses carry `iss` (RFC 9207).
    pub authorization_response_iss_parameter_supported: bool,
}

/// Discovery endpoints.
pub struct DiscoveryApi;

async fn metadata(state: &AppState, env_id: &str) -> Result<Json<ServerMetadata>, ApiError> {
    let env = resource_id(env_id, EnvironmentId::parse)?;
    let scopes = scopes::all_scopes(&state.store, env).await?;
    let issuer = state.tokens.issuer(env);
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    Ok(Json(ServerMetadata {
        authorization_endpoint: format!("{issuer}/authorize"),
        token_endpoint: format!("{issuer}/token"),
        revocation_endpoint: format!("{issuer}/revoke"),
        introspection_endpoint: format!("{issuer}/introspect"),
        userinfo_endpoint: format!("{issuer}/userinfo"),
        jwks_uri: format!("{issuer}/jwks"),
        scopes_endpoint: format!("{issuer}/scopes"),
        scopes_supported: scopes.into_iter().map(|s| s.name).collect(),
        grant_types_supported: strings(&["authorization_code", "refresh_token", "client_credentials"]),
        token_endpoint_auth_methods_supported: strings(&["client_secret_basic", "client_secret_post", "none"]),
        token_endpoint_auth_signing_alg_values_supported: strings(&["ES256"]),
        code_challenge_methods_supported: strings(&["S256"]),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        prompt_values_supported: strings(&["login", "consent", "none"]),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&["ES256"]),
        claims_supported: strings(&[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "preferred_username",
            "name",
            "given_name",
            "family_name",
            "email",
        ]),
        revocation_endpoint_auth_methods_supported: strings(&["client_secret_basic", "client_secret_post", "none"]),
        introspection_endpoint_auth_methods_supported: strings(&["client_secret_basic", "client_secret_post"]),
        authorization_response_iss_parameter_supported: true,
        issuer,
    }))
}

#[OpenApi(tag = "ApiTags::OAuth")]
impl DiscoveryApi {
    /// Authorization server metadata
    ///
    /// RFC 8414 metadata of this environment's authorization server. Public; no authentication.
    #[oai(path = "/:envId/as/.well-known/oauth-authorization-server", method = "get", operation_id = "oauth.metadata")]
    async fn oauth_metadata(
        &self,
        state: Data<&AppState>,
        #[oai(name = "envId")] env_id: Path<String>,
    ) -> Result<Json<ServerMetadata>, ApiError> {
        metadata(&state, &env_id).await
    }

    /// OpenID Connect discovery
    ///
    /// The same metadata at the OpenID Connect Discovery location. Public; no authentication.
    #[oai(
        path = "/:envId/as/.well-known/openid-configuration",
        method = "get",
        operation_id = "oauth.openid_configuration"
    )]
    async fn openid_configuration(
        &self,
        state: Data<&AppState>,
        #[oai(name = "envId")] env_id: Path<String>,
    ) -> Result<Json<ServerMetadata>, ApiError> {
        metadata(&state, &env_id).await
    }

    /// Scopes an application may request
    ///
    /// Every scope of the environment with its description and consent policy. Public; no authentication.
    #[oai(path = "/:envId/as/scopes", method = "get", operation_id = "oauth.scopes")]
    async fn public_scopes(
        &self,
        state: Data<&AppState>,
        #[oai(name = "envId")] env_id: Path<String>,
    ) -> Result<Json<PublicScopes>, ApiError> {
        let env = resource_id(&env_id, EnvironmentId::parse)?;
        let scopes = scopes::all_scopes(&state.store, env).await?;
        Ok(Json(PublicScopes {
            scopes: scopes
                .into_iter()
                .map(|s| PublicScope { name: s.name, description: s.description, consent: s.consent.into() })
                .collect(),
        }))
    }
}
