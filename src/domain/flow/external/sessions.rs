//! Hydra's consent and login sessions, read from and written to the ledger and the browser sessions.

use super::*;
use crate::domain::consents::{RevokedBy, revoke_consent};
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId};
use crate::domain::subjects;
use crate::domain::users::User;
use crate::store::Store;

/// The user `subject` names, after checking it is a subject at all.
async fn named_by(store: &Store, env: EnvironmentId, subject: &str) -> Result<Option<User>, ChallengeError> {
    subjects::check("subject", subject).map_err(DomainError::field)?;
    Ok(subjects::named_by(store, env, subject).await?)
}

/// `GET …/sessions/consent?subject=`: the user's remembered, accepted, unexpired records, newest
/// first, `limit` per page after the record `before`; answers the page and the next page's cursor.
pub async fn consent_sessions(
    store: &Store,
    env: EnvironmentId,
    subject: &str,
    limit: u64,
    before: Option<ConsentId>,
) -> Result<(Vec<ConsentSession>, Option<ConsentId>), ChallengeError> {
    let Some(user) = named_by(store, env, subject).await? else { return Ok((vec![], None)) };
    let mut records = store.remembered_consents(env, user.id, crate::domain::now(), before, limit + 1).await?;
    let next = (records.len() as u64 > limit).then(|| {
        records.truncate(limit as usize);
        records.last().map(|r| r.id)
    });
    let ids: Vec<ApplicationId> = records.iter().map(|r| r.application_id).collect();
    let apps = store.get_applications(env, &ids).await?;
    let sessions = records
        .into_iter()
        .map(|record| ConsentSession {
            subject: user.subject(),
            app: apps.iter().find(|a| a.id == record.application_id).cloned(),
            record,
        })
        .collect();
    Ok((sessions, next.flatten()))
}

/// `DELETE …/sessions/consent?subject=&client=` (or `&all=true`): revokes the records (and their
/// tokens) as `CONSENT_SESSION`, naming the worker `caller` whose token asked.
pub async fn revoke_consent_sessions(
    store: &Store,
    env: EnvironmentId,
    caller: ApplicationId,
    subject: &str,
    client: Option<&str>,
    all: bool,
) -> Result<usize, ChallengeError> {
    let client = match (client.filter(|c| !c.is_empty()), all) {
        (Some(client), _) => Some(
            ApplicationId::parse(client)
                .ok_or_else(|| ChallengeError::Invalid("'client' is not a client id.".into()))?,
        ),
        (None, true) => None,
        (None, false) => return Err(ChallengeError::Invalid("Name a 'client', or pass all=true.".into())),
    };
    let Some(user) = named_by(store, env, subject).await? else { return Ok(0) };
    let ids = store.accepted_consent_ids(env, user.id, client).await?;
    for id in &ids {
        revoke_consent(store, env, user.id, *id, RevokedBy::ConsentSession(caller)).await?;
    }
    Ok(ids.len())
}

/// `DELETE …/sessions/login?subject=`: signs the user out of every browser.
pub async fn end_login_sessions(store: &Store, env: EnvironmentId, subject: &str) -> Result<u64, ChallengeError> {
    let Some(user) = named_by(store, env, subject).await? else { return Ok(0) };
    Ok(store.end_browser_sessions(env, user.id, crate::domain::now()).await?)
}
