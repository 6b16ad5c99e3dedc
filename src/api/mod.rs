//! HTTP layer: poem-openapi operations and wire types. Handlers parse, call the domain, and shape answers.

pub mod account;
pub mod applications;
pub mod budget;
pub mod client;
pub mod consents;
pub mod cors;
pub mod deliveries;
pub mod discovery;
pub mod environments;
pub mod etag;
pub mod events;
pub mod flow;
pub mod hydra;
pub mod idempotency;
pub mod json;
pub mod middleware;
pub mod oauth;
pub mod ops;
pub mod pages;
pub mod receipts;
pub mod routes;
pub mod scopes;
pub mod security;
pub mod subscriptions;
pub mod types;
pub mod user_data;
pub mod users;

use poem_openapi::{OpenApiService, Tags};

use self::security::BearerToken;
use crate::auth::principal::Permission;
use crate::domain::ids::EnvironmentId;
use crate::error::{ApiError, ErrorCode};

/// Operation groups in the spec.
#[derive(Tags)]
pub enum ApiTags {
    /// Environments (tenants).
    Environments,
    /// Users of an environment.
    Users,
    /// Applications (OAuth clients) of an environment.
    Applications,
    /// Consent records: the ledger of what users agreed to.
    Consents,
    /// Scopes of an environment and their consent policies.
    Scopes,
    /// The OAuth 2.0 authorization server of an environment.
    #[oai(rename = "OAuth")]
    OAuth,
    /// Proof of consent: the hash-chained event log, its signed checkpoints, and receipts.
    Proof,
}

/// Every API of the service; the OpenAPI document is generated from this.
pub type Apis = (
    environments::EnvironmentsApi,
    users::UsersApi,
    user_data::UserDataApi,
    applications::ApplicationsApi,
    consents::ConsentsApi,
    consents::ConsentTotalsApi,
    scopes::ScopesApi,
    events::ConsentEventsApi,
    receipts::ReceiptsApi,
    subscriptions::SubscriptionsApi,
    deliveries::DeliveriesApi,
    oauth::OAuthApi,
    flow::ConsentDecisionApi,
    discovery::DiscoveryApi,
);

/// The OpenAPI service, with `server` as the documented base URL.
pub fn api_service(server: &str) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            environments::EnvironmentsApi,
            users::UsersApi,
            user_data::UserDataApi,
            applications::ApplicationsApi,
            consents::ConsentsApi,
            consents::ConsentTotalsApi,
            scopes::ScopesApi,
            events::ConsentEventsApi,
            receipts::ReceiptsApi,
            subscriptions::SubscriptionsApi,
            deliveries::DeliveriesApi,
            oauth::OAuthApi,
            flow::ConsentDecisionApi,
            discovery::DiscoveryApi,
        ),
        "Assent",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Multi-tenant consent service with a PingOne-style platform API. Calls need an access token of \
         the environment: a worker's (`POST /{envId}/as/token`, client_credentials) carries the \
         permissions its application was granted in `scopes`: `p1:admin` (everything), \
         `p1:read:oauthConsents` (read every user's consent records and the audit list), \
         `p1:create:oauthConsents` (record consents), `p1:update:oauthConsents` (revoke them). A \
         user's token with `p1:read:oauthConsents` or `p1:update:oauthConsents` reaches that user's \
         own records only. Each operation names the permission it needs. Errors are \
         `{id, code, message, details[]}`; OAuth endpoints answer RFC 6749 errors.",
    )
    .server(server)
}

/// Admits a caller holding `permission` in the environment named in the path; an unparseable id
/// is simply not found.
pub(crate) fn permitted_env(
    auth: &BearerToken,
    env_id: &str,
    permission: Permission,
) -> Result<EnvironmentId, ApiError> {
    let env = resource_id(env_id, EnvironmentId::parse)?;
    auth.0.require(env, permission)?;
    Ok(env)
}

/// Admits an administrator (`p1:admin`) of the environment named in the path.
pub(crate) fn admin_env(auth: &BearerToken, env_id: &str) -> Result<EnvironmentId, ApiError> {
    permitted_env(auth, env_id, Permission::Admin)
}

/// Parses an id from the path; anything that is not an id cannot name a resource, so it is a 404.
pub(crate) fn resource_id<T>(text: &str, parse: fn(&str) -> Option<T>) -> Result<T, ApiError> {
    parse(text).ok_or_else(|| ApiError::new(ErrorCode::NotFound))
}
