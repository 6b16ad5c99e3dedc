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
    /// Token endpoint.
    pub token_endpoint: String,
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
}

/// Discovery endpoints.
pub struct DiscoveryApi;

async fn metadata(state: &AppState, env_id: &str) -> Result<Json<ServerMetadata>, ApiError> {
    let env = resource_id(env_id, EnvironmentId::parse)?;
    let scopes = scopes::all_scopes(&state.store, env).await?;
    let issuer = state.tokens.issuer(env);
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    Ok(Json(ServerMetadata {
        token_endpoint: format!("{issuer}/token"),
        jwks_uri: format!("{issuer}/jwks"),
        scopes_endpoint: format!("{issuer}/scopes"),
        scopes_supported: scopes.into_iter().map(|s| s.name).collect(),
        grant_types_supported: strings(&["client_credentials"]),
        token_endpoint_auth_methods_supported: strings(&["client_secret_basic", "client_secret_post"]),
        token_endpoint_auth_signing_alg_values_supported: strings(&["ES256"]),
        code_challenge_methods_supported: strings(&["S256"]),
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
