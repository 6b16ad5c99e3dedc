//! `/v1/environments/{envId}`: the tenant itself.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::security::BearerToken;
use super::types::{Link, Timestamp};
use super::{ApiTags, admin_env};
use crate::domain::environments;
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
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Environment reads.
pub struct EnvironmentsApi;

#[OpenApi(tag = "ApiTags::Environments")]
impl EnvironmentsApi {
    /// Read one environment
    ///
    /// The environment the access token belongs to; any other id answers 404.
    /// **Permissions:** a worker token of this environment.
    #[oai(path = "/v1/environments/:envId", method = "get", operation_id = "environments.read")]
    async fn read_environment(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
    ) -> Result<Json<EnvironmentOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let environment = environments::get_environment(&state.store, env).await?;
        let self_url = state.url(&format!("/v1/environments/{env}"));
        Ok(Json(EnvironmentOut {
            links: EnvironmentLinks {
                users: Link::to(format!("{self_url}/users")),
                applications: Link::to(format!("{self_url}/applications")),
                self_: Link::to(self_url),
            },
            id: environment.id.to_string(),
            name: environment.name,
            created_at: environment.created_at.into(),
            updated_at: environment.updated_at.into(),
        }))
    }
}
