//! A user's data, out and erased (GDPR Art. 15, 17 and 20): one document of everything held about
//! them, and the erasure of their personal data that keeps the proof of what they agreed to.

use chrono::{DateTime, Utc};

use super::consents::Consent;
use super::error::DomainError;
use super::flow::BrowserSession;
use super::grants::Grant;
use super::ids::{EnvironmentId, UserId};
use super::paging::{PageRequest, Position};
use super::proof::ChainedEvent;
use super::users::User;
use crate::store::Store;

/// Most records one user's export holds; a user with more is exported through the audit list
/// (`filter=user.id eq "…"`, streamed).
pub const MAX_EXPORTED_RECORDS: usize = 10_000;

/// Everything held about one user.
#[derive(Clone, Debug)]
pub struct UserData {
    /// When the export was read.
    pub at: DateTime<Utc>,
    /// Their profile.
    pub user: User,
    /// Their consent records, newest first.
    pub records: Vec<Consent>,
    /// The events about them and their records, in chain order.
    pub events: Vec<ChainedEvent>,
    /// Their browser sessions.
    pub sessions: Vec<BrowserSession>,
    /// Their grants.
    pub grants: Vec<Grant>,
}

/// Everything held about user `id` of `env`.
pub async fn export_user(store: &Store, env: EnvironmentId, id: UserId) -> Result<UserData, DomainError> {
    let at = super::now();
    let user = store.get_user(env, id).await?;
    let everything = store.resolve_filter(env, None).await?;
    let mut records: Vec<Consent> = Vec::new();
    loop {
        let page = PageRequest { limit: 1000, position: records.last().map(|r| Position::After(r.id.as_uuid())) };
        let chunk = store.list_consents(env, Some(id), &everything, page, at).await?;
        let done = chunk.len() < 1000;
        records.extend(chunk);
        if records.len() > MAX_EXPORTED_RECORDS {
            return Err(DomainError::InvalidState(format!(
                "This user has more than {MAX_EXPORTED_RECORDS} consent records: export them through the audit \
                 list (GET /v1/environments/{env}/oauthConsents?filter=user.id eq \"{id}\" with Accept: \
                 application/x-ndjson)."
            )));
        }
        if done {
            break;
        }
    }
    let mut subjects: Vec<uuid::Uuid> = records.iter().map(|r| r.id.as_uuid()).collect();
    subjects.push(id.as_uuid());
    let events = store.events_about_any(env, &subjects).await?;
    let sessions = store.sessions_of(env, id).await?;
    let grants = store.grants_of(env, id).await?;
    Ok(UserData { at, user, records, events, sessions, grants })
}

/// Erases user `id`'s personal data: see [`Store::erase_user`].
pub async fn erase_user(store: &Store, env: EnvironmentId, id: UserId) -> Result<(), DomainError> {
    store.get_user(env, id).await?;
    Ok(store.erase_user(env, id, super::now()).await?)
}
