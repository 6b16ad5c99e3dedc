//! `/v1/environments/{envId}/users/{userId}/export` and `/erase`: everything held about a user in
//! one document, and the erasure of their personal data.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::consents::{ConsentOut, LinkRights};
use super::events::ConsentEventOut;
use super::security::BearerToken;
use super::types::Timestamp;
use super::users::UserOut;
use super::{ApiTags, admin_env, resource_id};
use crate::domain::ids::UserId;
use crate::domain::user_data;
use crate::error::ApiError;
use crate::state::AppState;

/// A browser session of the user.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct SessionOut {
    /// The session's id.
    pub id: String,
    /// When it began.
    pub created_at: Timestamp,
    /// When the user signed in on it.
    #[oai(skip_serializing_if_is_none)]
    pub authenticated_at: Option<Timestamp>,
    /// When it ends (or ended).
    pub expires_at: Timestamp,
}

/// A grant the user gave an application (its tokens rest on it).
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct GrantOut {
    /// The grant's id.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was revoked.
    #[oai(skip_serializing_if_is_none)]
    pub revoked_at: Option<Timestamp>,
}

/// Everything held about a user.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct UserExportOut {
    /// When the export was read.
    pub exported_at: Timestamp,
    /// The profile.
    pub user: UserOut,
    /// Every consent record the user gave, newest first, as the records API shows them.
    pub oauth_consents: Vec<ConsentOut>,
    /// The events about the user and their records, in chain order.
    pub consent_events: Vec<ConsentEventOut>,
    /// Their browser sessions.
    pub sessions: Vec<SessionOut>,
    /// Their grants.
    pub grants: Vec<GrantOut>,
}

/// Answer of an erasure.
#[derive(ApiResponse)]
pub enum Erased {
    /// The user's personal data was erased.
    #[oai(status = 204)]
    Erased,
}

/// A user's data.
pub struct UserDataApi;

#[OpenApi(tag = "ApiTags::Users")]
impl UserDataApi {
    /// Export a user's data
    ///
    /// Everything held about the user in one JSON document: profile, consent records, the events
    /// about them, browser sessions and grants (GDPR Art. 15 and 20). At most 10,000 records; a user
    /// with more is refused with `400 INVALID_DATA` and exported through the audit list (`filter=user.id
    /// eq "…"`, streamed). **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/users/:userId/export", method = "get", operation_id = "users.export")]
    async fn export_user(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
    ) -> Result<Json<UserExportOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&user_id, UserId::parse)?;
        let data = user_data::export_user(&state.store, env, id).await?;
        let env_url = state.url(&format!("/v1/environments/{env}"));
        let at = data.at;
        Ok(Json(UserExportOut {
            exported_at: at.into(),
            user: UserOut::new(&state, data.user),
            oauth_consents: data
                .records
                .into_iter()
                .map(|record| ConsentOut::from_parts(&env_url, LinkRights::ALL, record, at))
                .collect(),
            consent_events: data.events.into_iter().map(Into::into).collect(),
            sessions: data
                .sessions
                .into_iter()
                .map(|s| SessionOut {
                    id: s.id.to_string(),
                    created_at: s.created_at.into(),
                    authenticated_at: s.authenticated_at.map(Into::into),
                    expires_at: s.expires_at.into(),
                })
                .collect(),
            grants: data
                .grants
                .into_iter()
                .map(|g| GrantOut {
                    id: g.id.to_string(),
                    application_id: g.client_id.to_string(),
                    scopes: g.scopes,
                    created_at: g.created_at.into(),
                    revoked_at: g.revoked_at.map(Into::into),
                })
                .collect(),
        }))
    }

    /// Erase a user's personal data
    ///
    /// Removes the user's username (it becomes `erased-{userId}`), e-mail address, name, password
    /// and external subject, and the IP address (`0.0.0.0` in its place), location, browser,
    /// operating system and device of every record they gave and every sign-in they made; ends
    /// their sessions, grants and tokens; disables them. Ids, times, scopes, statuses and the event
    /// chain stay, so `assent verify` still passes and receipts still prove what was agreed; a
    /// `user.erased` event is appended. Deleting a user erases the same data. **Permissions:** a
    /// worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/users/:userId/erase", method = "post", operation_id = "users.erase")]
    async fn erase_user(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
    ) -> Result<Erased, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&user_id, UserId::parse)?;
        user_data::erase_user(&state.store, env, id).await?;
        Ok(Erased::Erased)
    }
}
