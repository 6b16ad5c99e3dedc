//! Users of an environment: the people consents belong to and who sign in to the hosted pages.

use chrono::{DateTime, Utc};

use super::error::{DomainError, FieldError, Validator};
use super::ids::{EnvironmentId, UserId};
use super::paging::{COUNT_BOUND, Page, PageRequest, read_page};
use super::subjects;
use super::text::{email, optional_text, required_text};
use crate::auth::password;
use crate::store::Store;

/// A user as stored; the password hash never leaves the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The environment the user belongs to.
    pub environment_id: EnvironmentId,
    /// Sign-in name, unique within the environment.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Given (first) name.
    pub given_name: Option<String>,
    /// Family (last) name.
    pub family_name: Option<String>,
    /// Disabled users cannot sign in.
    pub enabled: bool,
    /// For an external user, the subject the environment's login app signs it in as; `None` for a
    /// user created through the users API.
    pub external_subject: Option<String>,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// When the user last changed.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// What tokens (`sub`) and the Hydra-compatible API call the user: an external user's subject,
    /// else the user id.
    pub fn subject(&self) -> String {
        self.external_subject.clone().unwrap_or_else(|| self.id.to_string())
    }
}

/// Unvalidated fields of a new user, as the caller sent them.
#[derive(Clone, Debug, Default)]
pub struct UserDraft {
    /// Sign-in name (required).
    pub username: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Defaults to true.
    pub enabled: Option<bool>,
    /// Initial password, hashed before storage.
    pub password: Option<String>,
}

/// A partial update: each field is kept, cleared or set.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    /// New sign-in name (cannot be cleared).
    pub username: Change<String>,
    /// New e-mail address.
    pub email: Change<String>,
    /// New given name.
    pub given_name: Change<String>,
    /// New family name.
    pub family_name: Change<String>,
    /// Enable or disable the user (cannot be cleared).
    pub enabled: Change<bool>,
    /// Set a new password (cannot be cleared).
    pub password: Change<String>,
}

/// What a PATCH says about one attribute: omitted keeps it, `null` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Change<T> {
    /// Attribute omitted: keep the current value.
    #[default]
    Keep,
    /// Attribute sent as `null`: remove the value.
    Clear,
    /// Attribute sent with a value.
    Set(T),
}

/// Longest username accepted.
const USERNAME_MAX: usize = 128;
/// Shortest password accepted (NIST SP 800-63B minimum).
const PASSWORD_MIN: usize = 8;
/// Longest password accepted; bounds the hashing work a request can cause.
const PASSWORD_MAX: usize = 256;

fn username(value: Option<String>) -> Result<String, FieldError> {
    let name = required_text("username", value, USERNAME_MAX)?;
    if name.contains(char::is_whitespace) {
        return Err(FieldError::invalid("username", "'username' must not contain spaces."));
    }
    Ok(name)
}

fn password_rule(value: String) -> Result<String, FieldError> {
    let length = value.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Err(FieldError::invalid(
            "password",
            format!("'password' must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long."),
        ));
    }
    Ok(value)
}

/// Creates a user; the username must be free in the environment.
pub async fn create_user(store: &Store, env: EnvironmentId, draft: UserDraft) -> Result<User, DomainError> {
    let mut v = Validator::default();
    let username = v.check(username(draft.username));
    let email = v.check(email("email", draft.email));
    let given_name = v.check(optional_text("name.given", draft.given_name, 256));
    let family_name = v.check(optional_text("name.family", draft.family_name, 256));
    let password = match draft.password {
        Some(p) => v.check(password_rule(p)).map(Some),
        None => Some(None),
    };
    let now = crate::domain::now();
    let (user, password) = v.finish(|| {
        let user = User {
            id: UserId::new(),
            environment_id: env,
            username: username?,
            email: email?,
            given_name: given_name?,
            family_name: family_name?,
            enabled: draft.enabled.unwrap_or(true),
            external_subject: None,
            created_at: now,
            updated_at: now,
        };
        Some((user, password?))
    })?;
    let hash = match password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    store.insert_user(env, &user, hash.as_deref()).await?;
    Ok(user)
}

/// Reads one user.
pub async fn get_user(store: &Store, env: EnvironmentId, id: UserId) -> Result<User, DomainError> {
    Ok(store.get_user(env, id).await?)
}

/// Lists users in creation order; with `external_subject`, only the external user of that subject.
pub async fn list_users(
    store: &Store,
    env: EnvironmentId,
    page: PageRequest,
    external_subject: Option<&str>,
) -> Result<Page<User>, DomainError> {
    if let Some(subject) = external_subject {
        subjects::check("externalId", subject).map_err(DomainError::field)?;
    }
    let fetch = store.list_users(env, external_subject, page);
    let count = store.count_users(env, external_subject, COUNT_BOUND);
    Ok(read_page(page, |u: &User| u.id.as_uuid(), fetch, count).await?)
}

/// Applies a partial update.
pub async fn update_user(store: &Store, env: EnvironmentId, id: UserId, patch: UserPatch) -> Result<User, DomainError> {
    let mut user = store.get_user(env, id).await?;
    let mut v = Validator::default();
    match patch.username {
        Change::Keep => {}
        Change::Clear => v.push(FieldError::invalid("username", "'username' cannot be removed.")),
        Change::Set(name) => {
            if let Some(name) = v.check(username(Some(name))) {
                user.username = name;
            }
        }
    }
    apply_optional(&mut v, &mut user.email, patch.email, |s| email("email", Some(s)));
    apply_optional(&mut v, &mut user.given_name, patch.given_name, |s| optional_text("name.given", Some(s), 256));
    apply_optional(&mut v, &mut user.family_name, patch.family_name, |s| optional_text("name.family", Some(s), 256));
    match patch.enabled {
        Change::Keep => {}
        Change::Clear => v.push(FieldError::invalid("enabled", "'enabled' cannot be removed.")),
        Change::Set(enabled) => user.enabled = enabled,
    }
    let password = match patch.password {
        Change::Keep => None,
        Change::Clear => {
            v.push(FieldError::invalid("password", "'password' cannot be removed."));
            None
        }
        // An external user signs in through the login app only; a password would open the hosted login.
        Change::Set(_) if user.external_subject.is_some() => {
            v.push(FieldError::invalid(
                "password",
                "An external user signs in through the login app; it has no password.",
            ));
            None
        }
        Change::Set(p) => v.check(password_rule(p)),
    };
    v.finish(|| Some(()))?;
    let hash = match password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    user.updated_at = crate::domain::now();
    store.update_user(env, &user, hash.as_deref()).await?;
    Ok(user)
}

fn apply_optional(
    v: &mut Validator,
    slot: &mut Option<String>,
    change: Change<String>,
    parse: impl FnOnce(String) -> Result<Option<String>, FieldError>,
) {
    match change {
        Change::Keep => {}
        Change::Clear => *slot = None,
        Change::Set(value) => {
            if let Some(value) = v.check(parse(value)) {
                *slot = value;
            }
        }
    }
}

/// Deletes a user, ending their grants, tokens and browser sessions. Their consent records stay in
/// the ledger as evidence; the accepted, unexpired ones become `REVOKED` (`USER_DELETED`), since a
/// consent cannot outlive the account that gave it. The user's id, username and external subject
/// are retired: a login app naming them later is refused instead of creating somebody new.
pub async fn delete_user(store: &Store, env: EnvironmentId, id: UserId) -> Result<(), DomainError> {
    let user = store.get_user(env, id).await?;
    Ok(store.delete_user(env, id, &subjects::retired_names(&user), crate::domain::now()).await?)
}
