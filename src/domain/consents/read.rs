//! Reading, revoking and summarising consent records.

use std::collections::HashMap;

use super::{ApplicationKind, Consent, ConsentStatus, EffectiveConsent, EffectiveStatus, Revocation, RevokedBy};
use crate::domain::applications::Application;
use crate::domain::error::DomainError;
use crate::domain::filter::{self, Filter};
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};
use crate::domain::paging::{COUNT_BOUND, Page, PageRequest, read_page};
use crate::store::Store;

/// What to list.
#[derive(Clone, Debug)]
pub struct ConsentListQuery {
    /// Only this user's records (the per-user collection); `None` for the environment-wide audit list.
    pub user: Option<UserId>,
    /// A SCIM `filter` expression.
    pub filter: Option<String>,
    /// Page size and cursor.
    pub page: PageRequest,
}

/// Parses a SCIM `filter`; absent or blank means none.
pub(super) fn parse_filter(text: Option<&str>) -> Result<Option<Filter>, DomainError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => filter::parse(text).map(Some).map_err(|e| DomainError::InvalidFilter {
            message: e.message,
            supported_attributes: e.supported_attributes.iter().map(|s| (*s).to_owned()).collect(),
            supported_operators: e.supported_operators.iter().map(|s| (*s).to_owned()).collect(),
        }),
    }
}

/// Lists records newest first, filtered in the database.
pub async fn list_consents(
    store: &Store,
    env: EnvironmentId,
    query: ConsentListQuery,
) -> Result<Page<Consent>, DomainError> {
    let filter = parse_filter(query.filter.as_deref())?;
    if let Some(user) = query.user {
        store.get_user(env, user).await?;
    }
    let now = crate::domain::now();
    // Resolved once: the page and its count read the same applications for each name.
    let filter = store.resolve_filter(env, filter).await?;
    let fetch = store.list_consents(env, query.user, &filter, query.page, now);
    let count = store.count_consents(env, query.user, &filter, now, COUNT_BOUND);
    Ok(read_page(query.page, |c: &Consent| c.id.as_uuid(), fetch, count).await?)
}

/// Reads one record of a user; a deleted user's records are not found here (the environment's
/// list still shows them).
pub async fn get_consent(
    store: &Store,
    env: EnvironmentId,
    user: UserId,
    id: ConsentId,
) -> Result<Consent, DomainError> {
    Ok(store.get_consent(env, user, id).await?)
}

/// Revokes an accepted (or expired) record on behalf of `by`. Revoking a revoked record changes
/// nothing (the first revocation's time and cause stay); a declined one cannot be revoked.
pub async fn revoke_consent(
    store: &Store,
    env: EnvironmentId,
    user: UserId,
    id: ConsentId,
    by: RevokedBy,
) -> Result<Consent, DomainError> {
    let now = crate::domain::now();
    // The conditional update is the decision, so two concurrent revokes cannot both "win".
    if store.revoke_consent(env, user, id, Revocation { at: now, by }).await? {
        // Tokens issued under the record die with it: refresh tokens at once, access tokens at introspection.
        let grants = store.revoke_grants_of_consent(env, id, now).await?;
        if grants > 0 {
            tracing::info!(consent = %id, grants, "revoked the grants of a revoked consent record");
        }
    }
    let record = store.get_consent(env, user, id).await?;
    match record.status {
        ConsentStatus::Revoked => Ok(record),
        ConsentStatus::Declined => {
            Err(DomainError::InvalidState("A DECLINED consent cannot be revoked: nothing was granted.".into()))
        }
        ConsentStatus::Accepted => Err(DomainError::Unexpected(format!("consent {id} still accepted after revoke"))),
    }
}

/// The scopes `user` has granted `application` now.
pub async fn effective_consent(
    store: &Store,
    env: EnvironmentId,
    user: UserId,
    application: ApplicationId,
) -> Result<EffectiveConsent, DomainError> {
    store.get_user(env, user).await?;
    let now = crate::domain::now();
    let records = store.accepted_consents(env, user, Some(application), now).await?;
    debug_assert!(records.iter().all(|r| r.status_at(now) == EffectiveStatus::Accepted));
    Ok(EffectiveConsent::from_records(application, user, &records))
}

/// Every application `user` has granted something to now, the most recently granted first, each
/// with its effective grant and the records behind it (newest first). What account pages show.
pub async fn effective_consents(
    store: &Store,
    env: EnvironmentId,
    user: UserId,
) -> Result<Vec<(EffectiveConsent, Vec<Consent>)>, DomainError> {
    store.get_user(env, user).await?;
    let now = crate::domain::now();
    let records = store.accepted_consents(env, user, None, now).await?;
    Ok(group_by_application(records)
        .into_iter()
        .map(|(application, records)| (EffectiveConsent::from_records(application, user, &records), records))
        .collect())
}

/// Groups records (newest first) by application, in the order each application first appears.
fn group_by_application(records: Vec<Consent>) -> Vec<(ApplicationId, Vec<Consent>)> {
    let mut groups: Vec<(ApplicationId, Vec<Consent>)> = Vec::new();
    let mut index: HashMap<ApplicationId, usize> = HashMap::new();
    for record in records {
        let slot = *index.entry(record.application_id).or_insert_with(|| {
            groups.push((record.application_id, Vec::new()));
            groups.len() - 1
        });
        groups[slot].1.push(record);
    }
    groups
}

/// The registered applications the records name, for `expand=applications`.
pub async fn consent_applications(
    store: &Store,
    env: EnvironmentId,
    records: &[Consent],
) -> Result<HashMap<ApplicationId, Application>, DomainError> {
    let mut ids: Vec<ApplicationId> =
        records.iter().filter(|r| r.application_kind == ApplicationKind::PingOne).map(|r| r.application_id).collect();
    ids.sort();
    ids.dedup();
    let apps = store.get_applications(env, &ids).await?;
    Ok(apps.into_iter().map(|a| (a.id, a)).collect())
}
