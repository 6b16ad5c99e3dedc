//! Subjects, as an external login app names users through the Hydra-compatible admin API: which
//! user a subject names, and the external user a new subject becomes on its first sign-in.
//!
//! A subject names, in this order: the user whose id it is, the external user created for it, the
//! user whose username it is. Anything else becomes a new external user of the environment, unless
//! it once named a user who was deleted since: deletion retires the user's id, username and
//! subject (as SHA-256 digests), so a deleted user never comes back as somebody new.

use super::error::{DomainError, FieldError};
use super::ids::{EnvironmentId, UserId};
use super::users::User;
use crate::auth::secrets::token_digest;
use crate::store::{Store, StoreError};

/// Longest subject accepted, in characters: an opaque id, not a document.
pub const MAX_SUBJECT_CHARS: usize = 255;

/// A subject Assent accepts: 1 to [`MAX_SUBJECT_CHARS`] characters, no control characters. It is
/// compared exactly as sent (no trimming, no case folding): it is the login app's opaque id.
pub fn check(target: &str, subject: &str) -> Result<(), FieldError> {
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(FieldError::invalid(
            target,
            format!("'{target}' must be 1 to {MAX_SUBJECT_CHARS} characters long."),
        ));
    }
    if subject.chars().any(char::is_control) {
        return Err(FieldError::invalid(target, format!("'{target}' must not contain control characters.")));
    }
    Ok(())
}

/// The user `subject` names in `env`, whether enabled or not; `None` when it names nobody.
pub async fn named_by(store: &Store, env: EnvironmentId, subject: &str) -> Result<Option<User>, StoreError> {
    let id = UserId::parse(subject);
    let candidates = store.users_named_by(env, id, subject).await?;
    let by_id = candidates.iter().position(|u| Some(u.id) == id);
    let by_subject = candidates.iter().position(|u| u.external_subject.as_deref() == Some(subject));
    let by_username = candidates.iter().position(|u| u.username == subject);
    Ok(by_id.or(by_subject).or(by_username).and_then(|at| candidates.into_iter().nth(at)))
}

/// The digests under which a deleted user's names are retired.
pub fn retired_names(user: &User) -> Vec<String> {
    let mut names = vec![user.id.to_string(), user.username.clone()];
    names.extend(user.external_subject.clone());
    names.sort();
    names.dedup();
    names.iter().map(|name| token_digest(name)).collect()
}

/// The digests a new subject is checked against: the subject, and its canonical id form when it
/// parses as one (a deleted user's id in another spelling is still that user's).
fn digests_of(subject: &str) -> Vec<String> {
    let mut digests = vec![token_digest(subject)];
    if let Some(id) = UserId::parse(subject) {
        digests.push(token_digest(&id.to_string()));
    }
    digests
}

fn refused(message: &str) -> DomainError {
    DomainError::InvalidState(message.into())
}

/// The enabled user an external login app signs in as `subject`, creating an external user on the
/// subject's first use. A disabled user, or a subject that named a deleted user, is refused.
pub async fn sign_in_as(store: &Store, env: EnvironmentId, subject: &str) -> Result<User, DomainError> {
    check("subject", subject).map_err(DomainError::field)?;
    if let Some(user) = named_by(store, env, subject).await? {
        return enabled(user);
    }
    if store.subject_retired(env, &digests_of(subject)).await? {
        return Err(refused("'subject' names a deleted user of this environment."));
    }
    let now = crate::domain::now();
    let user = User {
        id: UserId::new(),
        environment_id: env,
        username: subject.to_owned(),
        email: None,
        given_name: None,
        family_name: None,
        enabled: true,
        external_subject: Some(subject.to_owned()),
        created_at: now,
        updated_at: now,
    };
    match store.insert_user(env, &user, None).await {
        Ok(()) => Ok(user),
        // Someone else took the subject (or the username) first: one user, whoever created it.
        Err(StoreError::Conflict(_)) => match named_by(store, env, subject).await? {
            Some(user) => enabled(user),
            None => Err(DomainError::Unexpected(format!("subject '{subject}' conflicts with no user"))),
        },
        Err(other) => Err(other.into()),
    }
}

fn enabled(user: User) -> Result<User, DomainError> {
    if user.enabled { Ok(user) } else { Err(refused("'subject' names a disabled user of this environment.")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_one_to_255_characters_without_control_characters() {
        assert!(check("subject", "ext|4f2a").is_ok());
        assert!(check("subject", " spaced out ").is_ok(), "opaque: spaces are the app's business");
        assert!(check("subject", &"é".repeat(MAX_SUBJECT_CHARS)).is_ok(), "characters, not bytes");
        assert!(check("subject", &"a".repeat(MAX_SUBJECT_CHARS + 1)).is_err());
        assert!(check("subject", "").is_err());
        assert!(check("subject", "a\u{0}b").is_err());
        assert!(check("subject", "line\nbreak").is_err());
        assert!(check("subject", "del\u{7f}").is_err());
    }

    #[test]
    fn a_deleted_users_id_is_retired_in_its_canonical_spelling() {
        let id = UserId::new();
        let upper = id.to_string().to_uppercase();
        assert!(digests_of(&upper).contains(&token_digest(&id.to_string())));
        assert_eq!(digests_of("ext|4f2a"), vec![token_digest("ext|4f2a")]);
    }
}
