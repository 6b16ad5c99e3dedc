//! `/v1/environments/{envId}/users`: the people of an environment.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::json::JsonBody;
use super::security::BearerToken;
use super::types::{CollectionLinks, IdRef, Link, PageParts, Timestamp, page_parts};
use super::{ApiTags, admin_env, resource_id};
use crate::domain::ids::UserId;
use crate::domain::paging::PageRequest;
use crate::domain::users::{self, Change, User, UserDraft, UserPatch};
use crate::error::ApiError;
use crate::state::AppState;

/// A person's name.
#[derive(Clone, Debug, Default, Object, serde::Deserialize)]
pub struct Name {
    /// Given (first) name.
    #[oai(skip_serializing_if_is_none)]
    pub given: Option<String>,
    /// Family (last) name.
    #[oai(skip_serializing_if_is_none)]
    pub family: Option<String>,
}

/// A new user.
#[derive(Clone, Debug, Object, serde::Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct UserCreate {
    /// Sign-in name, unique in the environment, no spaces.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Given and family name.
    pub name: Option<Name>,
    /// Defaults to `true`; disabled users cannot sign in.
    pub enabled: Option<bool>,
    /// Initial password (8 to 256 characters); stored hashed, never returned.
    #[oai(write_only)]
    pub password: Option<String>,
}

/// A partial update: omitted attributes are kept, `null` removes a value.
#[derive(Clone, Debug, Default, Object, serde::Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct UserUpdate {
    /// New sign-in name.
    #[serde(default)]
    pub username: MaybeUndefined<String>,
    /// New e-mail address, or `null` to remove it.
    #[serde(default)]
    pub email: MaybeUndefined<String>,
    /// New name parts; `null` removes both.
    #[serde(default)]
    pub name: MaybeUndefined<NameUpdate>,
    /// Enable or disable the user. Disabling ends the user's grants, tokens and browser sessions at
    /// once; enabling again does not bring them back.
    #[serde(default)]
    pub enabled: MaybeUndefined<bool>,
    /// New password (refused for `EXTERNAL` users: they sign in through their login app only).
    #[oai(write_only)]
    #[serde(default)]
    pub password: MaybeUndefined<String>,
}

/// Name parts of a partial update.
#[derive(Clone, Debug, Default, Object, serde::Deserialize)]
pub struct NameUpdate {
    /// New given name, or `null` to remove it.
    #[serde(default)]
    pub given: MaybeUndefined<String>,
    /// New family name, or `null` to remove it.
    #[serde(default)]
    pub family: MaybeUndefined<String>,
}

/// Links of a user.
#[derive(Clone, Debug, Object)]
pub struct UserLinks {
    /// This user.
    #[oai(rename = "self")]
    pub self_: Link,
    /// The user's environment.
    pub environment: Link,
}

/// Where a user signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "UPPERCASE")]
pub enum IdentityProviderType {
    /// Created through this API; signs in to the hosted login page with its password.
    Local,
    /// Created by the environment's external login app the first time it signed in a subject that
    /// named no user (Hydra-compatible `PUT …/admin/oauth2/auth/requests/login/accept`); signs in
    /// through that app only, never with a password.
    External,
}

/// Where a user signs in.
#[derive(Clone, Debug, Object)]
pub struct IdentityProvider {
    /// `LOCAL`: created through this API; signs in to the hosted login page with its password.
    /// `EXTERNAL`: created by the environment's external login app the first time it signed in a
    /// subject that named no user; signs in through that app only.
    #[oai(rename = "type")]
    pub kind: IdentityProviderType,
}

/// A user.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct UserOut {
    /// HAL links.
    #[oai(rename = "_links")]
    pub links: UserLinks,
    /// The user's id.
    pub id: String,
    /// The user's environment.
    pub environment: IdRef,
    /// Sign-in name.
    pub username: String,
    /// E-mail address.
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    /// Name parts.
    pub name: Name,
    /// Whether the user may sign in.
    pub enabled: bool,
    /// Where the user signs in.
    pub identity_provider: IdentityProvider,
    /// For an `EXTERNAL` user: the subject its login app signs it in as, exactly as the app sent it.
    /// Its tokens carry it as `sub`; records and this API name the user by `id`.
    #[oai(skip_serializing_if_is_none)]
    pub external_id: Option<String>,
    /// When the user was created.
    pub created_at: Timestamp,
    /// When the user last changed.
    pub updated_at: Timestamp,
}

impl UserOut {
    pub(crate) fn new(state: &AppState, user: User) -> Self {
        let env_url = state.url(&format!("/v1/environments/{}", user.environment_id));
        Self {
            links: UserLinks {
                self_: Link::to(format!("{env_url}/users/{}", user.id)),
                environment: Link::to(env_url),
            },
            id: user.id.to_string(),
            environment: IdRef::to(user.environment_id),
            username: user.username,
            email: user.email,
            name: Name { given: user.given_name, family: user.family_name },
            enabled: user.enabled,
            identity_provider: IdentityProvider {
                kind: match user.external_subject {
                    Some(_) => IdentityProviderType::External,
                    None => IdentityProviderType::Local,
                },
            },
            external_id: user.external_subject,
            created_at: user.created_at.into(),
            updated_at: user.updated_at.into(),
        }
    }
}

/// Embedded users of a page.
#[derive(Clone, Debug, Object)]
pub struct EmbeddedUsers {
    /// The users of this page.
    pub users: Vec<UserOut>,
}

/// A page of users.
#[derive(Clone, Debug, Object)]
pub struct UsersPage {
    /// `self` and, when there are more, `next`.
    #[oai(rename = "_links")]
    pub links: CollectionLinks,
    /// The users.
    #[oai(rename = "_embedded")]
    pub embedded: EmbeddedUsers,
    /// Users in the whole collection, when there are at most 1000; absent when there are more.
    #[oai(skip_serializing_if_is_none)]
    pub count: Option<u64>,
    /// Users in this page.
    pub size: usize,
}

/// Answer of user creation.
#[derive(ApiResponse)]
pub enum CreatedUser {
    /// The user was created.
    #[oai(status = 201)]
    Created(Json<UserOut>, #[oai(header = "Location")] String),
}

/// Answer of user deletion.
#[derive(ApiResponse)]
pub enum DeletedUser {
    /// The user was deleted.
    #[oai(status = 204)]
    Deleted,
}

/// User management.
pub struct UsersApi;

/// A PATCH attribute: omitted keeps, `null` clears, a value sets.
pub(crate) fn to_change<T>(value: MaybeUndefined<T>) -> Change<T> {
    match value {
        MaybeUndefined::Undefined => Change::Keep,
        MaybeUndefined::Null => Change::Clear,
        MaybeUndefined::Value(v) => Change::Set(v),
    }
}

#[OpenApi(tag = "ApiTags::Users")]
impl UsersApi {
    /// Create a user
    ///
    /// Creates a user in the environment. `username` must be unique in the environment
    /// (`UNIQUENESS_VIOLATION` otherwise). **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/users", method = "post", operation_id = "users.create")]
    async fn create_user(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        body: JsonBody<UserCreate>,
    ) -> Result<CreatedUser, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let input = body.into_inner();
        let name = input.name.unwrap_or_default();
        let draft = UserDraft {
            username: Some(input.username),
            email: input.email,
            given_name: name.given,
            family_name: name.family,
            enabled: input.enabled,
            password: input.password,
        };
        let user = users::create_user(&state.store, env, draft).await?;
        let out = UserOut::new(&state, user);
        let location = out.links.self_.href.clone();
        Ok(CreatedUser::Created(Json(out), location))
    }

    /// List users
    ///
    /// Users in creation order, `limit` per page (default 100, at most 1000). Follow `_links.next`
    /// verbatim for the next page. `externalId` finds the `EXTERNAL` user that the environment's
    /// login app signs in as that subject. **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/users", method = "get", operation_id = "users.list")]
    async fn list_users(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        /// Page size, at least 1 (default 100); above 1000, 1000 are served.
        limit: Query<Option<i64>>,
        /// Opaque cursor from a `next` or `prev` link.
        cursor: Query<Option<String>>,
        /// Only the `EXTERNAL` user with this `externalId` (exact match, at most 255 characters).
        #[oai(name = "externalId")]
        external_id: Query<Option<String>>,
    ) -> Result<Json<UsersPage>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let page_request = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let external_id = external_id.0;
        let page = users::list_users(&state.store, env, page_request, external_id.as_deref()).await?;
        let base = state.url(&format!("/v1/environments/{env}/users"));
        let filter: Vec<(&str, &str)> = external_id.as_deref().map(|id| ("externalId", id)).into_iter().collect();
        let parts = page_parts(&base, page_request, cursor.0.as_deref(), page, &filter, |u| UserOut::new(&state, u));
        let PageParts { links, items, count, size } = parts;
        Ok(Json(UsersPage { links, embedded: EmbeddedUsers { users: items }, count, size }))
    }

    /// Read one user
    ///
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/users/:userId", method = "get", operation_id = "users.read")]
    async fn read_user(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
    ) -> Result<Json<UserOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&user_id, UserId::parse)?;
        let user = users::get_user(&state.store, env, id).await?;
        Ok(Json(UserOut::new(&state, user)))
    }

    /// Update a user
    ///
    /// Partial update: omitted attributes are kept, `null` removes an optional value.
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/users/:userId", method = "patch", operation_id = "users.update")]
    async fn update_user(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
        body: JsonBody<UserUpdate>,
    ) -> Result<Json<UserOut>, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&user_id, UserId::parse)?;
        let input = body.into_inner();
        let (given_name, family_name) = match input.name {
            MaybeUndefined::Undefined => (Change::Keep, Change::Keep),
            MaybeUndefined::Null => (Change::Clear, Change::Clear),
            MaybeUndefined::Value(name) => (to_change(name.given), to_change(name.family)),
        };
        let patch = UserPatch {
            username: to_change(input.username),
            email: to_change(input.email),
            given_name,
            family_name,
            enabled: to_change(input.enabled),
            password: to_change(input.password),
        };
        let user = users::update_user(&state.store, env, id, patch).await?;
        Ok(Json(UserOut::new(&state, user)))
    }

    /// Delete a user
    ///
    /// Removes the user and ends everything they signed in to: their grants, refresh and access
    /// tokens and browser sessions. Consent records of the user are kept as evidence.
    /// **Permissions:** a worker token with `p1:admin`.
    #[oai(path = "/v1/environments/:envId/users/:userId", method = "delete", operation_id = "users.delete")]
    async fn delete_user(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
    ) -> Result<DeletedUser, ApiError> {
        let env = admin_env(&auth, &env_id)?;
        let id = resource_id(&user_id, UserId::parse)?;
        users::delete_user(&state.store, env, id).await?;
        Ok(DeletedUser::Deleted)
    }
}
