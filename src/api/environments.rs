//! `/v1/environments/{envId}`: the tenant itself.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Object, OpenApi};

use super::json::JsonBody;
use super::security::BearerToken;
use super::types::{Link, Timestamp};
use super::users::to_change;
use super::{ApiTags, admin_env};
use crate::domain::environments::{self, Environment, EnvironmentChanges};
use crate::error::ApiError;
use crate::state::AppState;

/// Links of an environment.
#[derive(Clone, Debug, Object)]
pub struct EnvironmentLinks {
    /// This environment.
    #[oai(rename = "self")]
    pub self_: Link,
    /// Its users.
    pub users: Link,
    /// Its applications.
    pub applications: Link,
}

/// An environment (tenant).
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct EnvironmentOut {
    /// HAL links.
    #[oai(rename = "_links")]
    pub links: EnvironmentLinks,
    /// The environment's id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// An external login application (Ory Hydra-compatible). When set, `/{envId}/as/authorize` sends the
    /// browser there with `?login_challenge=` instead of showing the hosted login page.
    #[oai(skip_serializing_if_is_none)]
    pub login_url: Option<String>,
    /// An external consent application (Ory Hydra-compatible). When set, `/{envId}/as/authorize` sends the
    /// browser there with `?consent_challenge=` instead of showing the hosted consent page.
    #[oai(skip_serializing_if_is_none)]
    pub consent_url: Option<String>,
    /// Browser origins whose scripts may call the consent records API (`/v1/environments/{envId}/users/{userId}/oauthConsents…`)
    /// and `/{envId}/as/token`, `/as/userinfo` and `/as/revoke` (CORS). Empty: none.
    pub cors_origins: Vec<String>,
    /// The data controller answering for the environment's consents, as consent receipts name it.
    #[oai(skip_serializing_if_is_none)]
    pub controller_name: Option<String>,
    /// How to contact the controller (an e-mail address or an https URL).
    #[oai(skip_serializing_if_is_none)]
    pub controller_contact: Option<String>,
    /// The controller's privacy policy.
    #[oai(skip_serializing_if_is_none)]
    pub privacy_policy_url: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Changes to an environment: omitted attributes are kept, `null` removes a value.
#[derive(Clone, Debug, Default, Object, serde::Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentUpdate {
    /// The external login app's URL, or `null` to use the hosted login page.
    #[serde(default)]
    pub login_url: MaybeUndefined<String>,
    /// The external consent app's URL, or `null` to use the hosted consent page.
    #[serde(default)]
    pub consent_url: MaybeUndefined<String>,
    /// The allowed browser origins, replacing the list: each exactly `scheme://host[:port]` as
    /// browsers send it in `Origin` (`https://account.example.com`), at most 50; `[]` or `null`: none.
    #[serde(default)]
    pub cors_origins: MaybeUndefined<Vec<String>>,
    /// The data controller's name, as consent receipts give it (1 to 200 characters).
    #[serde(default)]
    pub controller_name: MaybeUndefined<String>,
    /// How to contact the controller: an e-mail address or an https URL.
    #[serde(default)]
    pub controller_contact: MaybeUndefined<String>,
    /// The controller's privacy policy: an https URL (http only to a loopback host).
    #[serde(default)]
    pub privacy_policy_url: MaybeUndefined<String>,
}

fn environment_out(state: &AppState, environment: Environment) -> EnvironmentOut {
    let self_url = state.url(&format!("/v1/environments/{}", environment.id));
    EnvironmentOut {
        links: EnvironmentLinks {
            users: Link::to(format!("{self_url}/users")),
            applications: Link::to(format!("{self_url}/applications")),
            self_: Link::to(self_url),
        },
        id: environment.id.to_string(),
        name: environment.name,
        login_url: environment.login_url,
        consent_url: environment.consent_url,
        cors_origins: environment.cors_origins,
        controller_name: environment.controller.name,
        controller_contact: environment.controller.contact,
        privacy_policy_url: environment.controller.privacy_policy_url,
        created_at: environment.created_at.into(),
        updated_at: environment.updated_at.into(),
    }
}

/// Environment reads and settings.
pub struct EnvironmentsApi;

#[OpenApi(tag = "ApiTags::Environments")]
impl EnvironmentsApi {
    /// Read one environment
    ///
    /// The environment the access token belongs to; any other id answers 404.
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId", method = "get", operation_id = "environments.read")]
    async fn read_environment(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
    ) -> Result<Json<EnvironmentOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let environment = environments::get_environment(&state.store, env).await?;
        Ok(Json(environment_out(&state, environment)))
    }

    /// Update an environment's settings
    ///
    /// Sets or removes the external login and consent applications (`loginUrl`, `consentUrl`) that
    /// replace the hosted pages; they drive the flow through the Hydra-compatible admin API under
    /// `/{envId}/admin/`. `corsOrigins` lists the browser origins allowed to call the records API
    /// and the token, userinfo and revocation endpoints from scripts (an account page on another
    /// site); requests from other origins get no CORS headers. **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId", method = "patch", operation_id = "environments.update")]
    async fn update_environment(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        body: JsonBody<EnvironmentUpdate>,
    ) -> Result<Json<EnvironmentOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let update = body.into_inner();
        let changes = EnvironmentChanges {
            login_url: to_change(update.login_url),
            consent_url: to_change(update.consent_url),
            cors_origins: to_change(update.cors_origins),
            controller_name: to_change(update.controller_name),
            controller_contact: to_change(update.controller_contact),
            privacy_policy_url: to_change(update.privacy_policy_url),
        };
        let environment = environments::update_environment(&state.store, env, changes).await?;
        Ok(Json(environment_out(&state, environment)))
    }
}
