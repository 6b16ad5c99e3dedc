//! The consent ledger: append records and read them newest first (revoking is in `consent_revocations`).

use super::reads::ReadExt;
use super::stats::Counters;
use chrono::{DateTime, Utc};
use entities::{consent, consent_scope, external_application};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement, TransactionTrait,
};
use serde_json::Value as Json;
use uuid::Uuid;

use super::consent_filter::{NameMatches, ResolvedFilter, condition};
use super::consent_revocations::{revoked_by_columns, revoked_by_from, user_exists};
use super::{Store, StoreError};
use crate::domain::consents::{
    ApplicationKind, Consent, ConsentSource, ConsentStatus, Revocation, RevokedBy, ShownText,
};
use crate::domain::filter::Filter;
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, ScopeId, UserId};
use crate::domain::paging::PageRequest;
use crate::domain::proof::NewEvent;
use crate::domain::proof::content::recorded_event;
use crate::enrich::{Location, Software};

fn status_name(status: ConsentStatus) -> &'static str {
    match status {
        ConsentStatus::Accepted => "ACCEPTED",
        ConsentStatus::Declined => "DECLINED",
        ConsentStatus::Revoked => "REVOKED",
    }
}

fn source_name(source: ConsentSource) -> &'static str {
    match source {
        ConsentSource::Api => "API",
        ConsentSource::ConsentPage => "CONSENT_PAGE",
        ConsentSource::Implicit => "IMPLICIT",
        ConsentSource::ConsentApp => "CONSENT_APP",
    }
}

fn kind_name(kind: ApplicationKind) -> &'static str {
    match kind {
        ApplicationKind::PingOne => "PINGONE",
        ApplicationKind::External => "EXTERNAL",
    }
}

fn to_row(c: &Consent) -> consent::Model {
    let (browser_name, browser_version) = split(&c.browser);
    let (os_name, os_version) = split(&c.operating_system);
    let revoked_by = c.revocation.map(|r| revoked_by_columns(r.by));
    consent::Model {
        environment_id: c.environment_id.as_uuid(),
        id: c.id.as_uuid(),
        user_id: c.user_id.as_uuid(),
        application_id: c.application_id.as_uuid(),
        application_name: c.application_name.clone(),
        application_type: kind_name(c.application_kind).to_owned(),
        scopes: Json::Array(c.scopes.iter().cloned().map(Json::String).collect()),
        status: status_name(c.status).to_owned(),
        browser_name,
        browser_version,
        os_name,
        os_version,
        device_type: c.device_type.clone(),
        remote_ip: c.location.remote_ip.to_string(),
        city: c.location.city.clone(),
        state: c.location.state.clone(),
        region: c.location.region.clone(),
        country: c.location.country.clone(),
        consented_at: c.consented_at,
        updated_at: c.updated_at,
        expires_at: c.expires_at,
        source: source_name(c.source).to_owned(),
        remembered: c.remembered,
        revoked_at: c.revocation.map(|r| r.at),
        revoked_by_type: revoked_by.map(|(kind, _)| kind.to_owned()),
        revoked_by_id: revoked_by.and_then(|(_, id)| id),
        scope_texts: c.scope_texts.as_ref().map(|texts| {
            Json::Array(
                texts
                    .iter()
                    .map(|t| serde_json::json!({"scope": t.scope, "scopeId": t.scope_id.as_uuid(), "version": t.version}))
                    .collect(),
            )
        }),
    }
}

fn split(software: &Option<Software>) -> (Option<String>, Option<String>) {
    match software {
        Some(s) => (Some(s.name.clone()), s.version.clone()),
        None => (None, None),
    }
}

fn join(name: Option<String>, version: Option<String>) -> Option<Software> {
    name.map(|name| Software { name, version })
}

fn to_domain(row: consent::Model) -> Result<Consent, StoreError> {
    let bad = |what: &str| StoreError::Database(format!("consent {} has an invalid {what}", row.id));
    let status = match row.status.as_str() {
        "ACCEPTED" => ConsentStatus::Accepted,
        "DECLINED" => ConsentStatus::Declined,
        "REVOKED" => ConsentStatus::Revoked,
        _ => return Err(bad("status")),
    };
    let kind = match row.application_type.as_str() {
        "PINGONE" => ApplicationKind::PingOne,
        "EXTERNAL" => ApplicationKind::External,
        _ => return Err(bad("application type")),
    };
    let source = match row.source.as_str() {
        "API" => ConsentSource::Api,
        "CONSENT_PAGE" => ConsentSource::ConsentPage,
        "IMPLICIT" => ConsentSource::Implicit,
        "CONSENT_APP" => ConsentSource::ConsentApp,
        _ => return Err(bad("source")),
    };
    let scopes: Vec<String> = serde_json::from_value(row.scopes.clone()).map_err(|_| bad("scope list"))?;
    let remote_ip = row.remote_ip.parse().map_err(|_| bad("remote IP"))?;
    let scope_texts = match &row.scope_texts {
        None => None,
        Some(Json::Array(items)) => Some(
            items
                .iter()
                .map(|item| {
                    Some(ShownText {
                        scope: item.get("scope")?.as_str()?.to_owned(),
                        scope_id: ScopeId::from_uuid(item.get("scopeId")?.as_str()?.parse().ok()?),
                        version: i32::try_from(item.get("version")?.as_i64()?).ok()?,
                    })
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("scope text list"))?,
        ),
        Some(_) => return Err(bad("scope text list")),
    };
    let revocation = match (status, row.revoked_at, row.revoked_by_type.as_deref()) {
        (ConsentStatus::Revoked, Some(at), Some(kind)) => {
            Some(Revocation { at, by: revoked_by_from(kind, row.revoked_by_id).ok_or_else(|| bad("revokedBy"))? })
        }
        // Revoked by a node that did not yet keep the cause: its update time is when.
        (ConsentStatus::Revoked, _, _) => Some(Revocation { at: row.updated_at, by: RevokedBy::Unknown }),
        _ => None,
    };
    Ok(Consent {
        id: ConsentId::from_uuid(row.id),
        environment_id: EnvironmentId::from_uuid(row.environment_id),
        user_id: UserId::from_uuid(row.user_id),
        application_id: ApplicationId::from_uuid(row.application_id),
        application_name: row.application_name,
        application_kind: kind,
        scopes,
        status,
        browser: join(row.browser_name, row.browser_version),
        operating_system: join(row.os_name, row.os_version),
        device_type: row.device_type,
        location: Location { remote_ip, city: row.city, state: row.state, region: row.region, country: row.country },
        consented_at: row.consented_at,
        updated_at: row.updated_at,
        expires_at: row.expires_at,
        source,
        remembered: row.remembered,
        revocation,
        scope_texts,
    })
}

fn scoped(env: EnvironmentId) -> sea_orm::Select<consent::Entity> {
    consent::Entity::find().filter(consent::Column::EnvironmentId.eq(env.as_uuid()))
}

impl Store {
    /// Appends a record and its scope index rows through the group-commit writer.
    /// Its `consent.recorded` event is appended to the environment's chain in the same transaction.
    pub async fn insert_consent(&self, c: &Consent) -> Result<(), StoreError> {
        self.writer.insert(c.clone(), recorded_event(c)).await
    }

    /// Appends many records, and their events, in one transaction (one commit, one fsync).
    pub async fn insert_consents(&self, batch: &[Consent]) -> Result<(), StoreError> {
        let events: Vec<_> = batch.iter().map(recorded_event).collect();
        insert_consents(&self.db, &self.counters, batch, &events).await
    }

    /// The stable id of an external application named `name`, created on first use.
    pub async fn external_application_id(&self, env: EnvironmentId, name: &str) -> Result<ApplicationId, StoreError> {
        let key = (env.as_uuid(), name.to_owned());
        if let Some(id) = self.external_ids.read().ok().and_then(|ids| ids.get(&key).copied()) {
            return Ok(ApplicationId::from_uuid(id));
        }
        let id = self.lookup_or_create_external_application(env, name).await?;
        if let Ok(mut ids) = self.external_ids.write() {
            // Bounded: a flood of distinct names must not grow memory without limit.
            if ids.len() >= 100_000 {
                ids.clear();
            }
            ids.insert(key, id.as_uuid());
        }
        Ok(id)
    }

    async fn lookup_or_create_external_application(
        &self,
        env: EnvironmentId,
        name: &str,
    ) -> Result<ApplicationId, StoreError> {
        let find = || {
            external_application::Entity::find()
                .filter(external_application::Column::EnvironmentId.eq(env.as_uuid()))
                .filter(external_application::Column::Name.eq(name))
        };
        if let Some(row) = find().read_one(&self.reads).await? {
            return Ok(ApplicationId::from_uuid(row.id));
        }
        // Two first uses racing: the unique index keeps one; both then read the winner.
        let row = external_application::Model {
            environment_id: env.as_uuid(),
            id: Uuid::now_v7(),
            name: name.to_owned(),
            created_at: crate::domain::now(),
        };
        external_application::Entity::insert(row.into_active_model())
            .on_conflict_do_nothing_on([
                external_application::Column::EnvironmentId,
                external_application::Column::Name,
            ])
            .exec(&self.db)
            .await?;
        // A new external name can change what an `application.name` filter value stands for.
        self.changed(env);
        let row = find().read_one(&self.reads).await?.ok_or(StoreError::NotFound)?;
        Ok(ApplicationId::from_uuid(row.id))
    }

    /// One page of the records (newest first) of a user or of the environment, as `filter` keeps them.
    pub async fn list_consents(
        &self,
        env: EnvironmentId,
        user: Option<UserId>,
        filter: &ResolvedFilter,
        page: PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Vec<Consent>, StoreError> {
        let matching = matching(env, user, filter.filter.as_ref(), now, &filter.names);
        let query = super::paging::keyset(matching, consent::Column::Id, true, page);
        query.read_all(&self.reads).await?.into_iter().map(to_domain).collect()
    }

    /// How many records [`Self::list_consents`] pages through, counting no further than `bound + 1`.
    pub async fn count_consents(
        &self,
        env: EnvironmentId,
        user: Option<UserId>,
        filter: &ResolvedFilter,
        now: DateTime<Utc>,
        bound: u64,
    ) -> Result<u64, StoreError> {
        let matching = matching(env, user, filter.filter.as_ref(), now, &filter.names);
        Ok(matching.read_count_upto(&self.reads, bound).await?)
    }

    /// One record of one user, while the user exists (one statement).
    pub async fn get_consent(&self, env: EnvironmentId, user: UserId, id: ConsentId) -> Result<Consent, StoreError> {
        let row = scoped(env)
            .filter(consent::Column::UserId.eq(user.as_uuid()))
            .filter(consent::Column::Id.eq(id.as_uuid()))
            .filter(user_exists(env, user))
            .read_one(&self.reads)
            .await?
            .ok_or(StoreError::NotFound)?;
        to_domain(row)
    }

    /// The records of `env` among `ids` (whoever's they are), in no particular order.
    pub async fn consents_by_ids(&self, env: EnvironmentId, ids: &[uuid::Uuid]) -> Result<Vec<Consent>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = scoped(env).filter(consent::Column::Id.is_in(ids.iter().copied())).read_all(&self.reads).await?;
        rows.into_iter().map(to_domain).collect()
    }

    /// The user's remembered, accepted, unexpired records of registered applications, newest first,
    /// older than `before`.
    pub async fn remembered_consents(
        &self,
        env: EnvironmentId,
        user: UserId,
        now: DateTime<Utc>,
        before: Option<ConsentId>,
        limit: u64,
    ) -> Result<Vec<Consent>, StoreError> {
        let mut query = scoped(env)
            .filter(consent::Column::UserId.eq(user.as_uuid()))
            .filter(consent::Column::Status.eq("ACCEPTED"))
            .filter(consent::Column::Remembered.eq(true))
            .filter(consent::Column::ApplicationType.eq("PINGONE"))
            .filter(
                sea_orm::Condition::any()
                    .add(consent::Column::ExpiresAt.is_null())
                    .add(consent::Column::ExpiresAt.gt(now)),
            )
            .order_by_desc(consent::Column::Id)
            .limit(limit);
        if let Some(before) = before {
            query = query.filter(consent::Column::Id.lt(before.as_uuid()));
        }
        query.read_all(&self.reads).await?.into_iter().map(to_domain).collect()
    }

    /// Ids of the user's accepted records, of one application or of all.
    pub async fn accepted_consent_ids(
        &self,
        env: EnvironmentId,
        user: UserId,
        application: Option<ApplicationId>,
    ) -> Result<Vec<ConsentId>, StoreError> {
        let mut query = scoped(env)
            .filter(consent::Column::UserId.eq(user.as_uuid()))
            .filter(consent::Column::Status.eq("ACCEPTED"));
        if let Some(application) = application {
            query = query.filter(consent::Column::ApplicationId.eq(application.as_uuid()));
        }
        let ids: Vec<Uuid> = query.select_only().column(consent::Column::Id).read_tuples(&self.reads).await?;
        Ok(ids.into_iter().map(ConsentId::from_uuid).collect())
    }

    /// The user's accepted, unexpired records (for one application, or for every one), newest first.
    pub async fn accepted_consents(
        &self,
        env: EnvironmentId,
        user: UserId,
        application: Option<ApplicationId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Consent>, StoreError> {
        let mut query = scoped(env).filter(consent::Column::UserId.eq(user.as_uuid()));
        if let Some(application) = application {
            query = query.filter(consent::Column::ApplicationId.eq(application.as_uuid()));
        }
        let rows = query
            .filter(consent::Column::Status.eq("ACCEPTED"))
            .filter(
                sea_orm::Condition::any()
                    .add(consent::Column::ExpiresAt.is_null())
                    .add(consent::Column::ExpiresAt.gt(now)),
            )
            .order_by_desc(consent::Column::Id)
            .read_all(&self.reads)
            .await?;
        rows.into_iter().map(to_domain).collect()
    }
}

/// The records of a user (or of the environment) that `filter` keeps.
fn matching(
    env: EnvironmentId,
    user: Option<UserId>,
    filter: Option<&Filter>,
    now: DateTime<Utc>,
    names: &NameMatches,
) -> sea_orm::Select<consent::Entity> {
    let mut query = scoped(env);
    if let Some(user) = user {
        query = query.filter(consent::Column::UserId.eq(user.as_uuid()));
    }
    if let Some(filter) = filter {
        query = query.filter(condition(env, filter, now, names));
    }
    query
}

/// The statements appending `batch`: its records and their scope index rows, in statements small
/// enough for SQLite's bound-parameter limit.
pub(super) fn insert_statements(backend: DbBackend, batch: &[Consent]) -> Vec<Statement> {
    const ROWS_PER_STATEMENT: usize = 500;
    let mut statements = Vec::new();
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        statements
            .push(consent::Entity::insert_many(chunk.iter().map(|c| to_row(c).into_active_model())).build(backend));
        let scope_rows: Vec<consent_scope::ActiveModel> = chunk
            .iter()
            .flat_map(|c| {
                c.scopes.iter().map(|scope| {
                    consent_scope::Model {
                        environment_id: c.environment_id.as_uuid(),
                        scope: scope.clone(),
                        consent_id: c.id.as_uuid(),
                    }
                    .into_active_model()
                })
            })
            .collect();
        for rows in scope_rows.chunks(ROWS_PER_STATEMENT * 2) {
            statements.push(consent_scope::Entity::insert_many(rows.to_vec()).build(backend));
        }
    }
    statements
}

/// Appends records and their events (`events[n]` is `batch[n]`'s) in one transaction of the pool.
pub(super) async fn insert_consents(
    db: &DatabaseConnection,
    counters: &Counters,
    batch: &[Consent],
    events: &[NewEvent],
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    counters.transaction();
    let tx = db.begin().await?;
    for statement in insert_statements(db.get_database_backend(), batch) {
        tx.execute_raw(statement).await?;
    }
    let groups = super::events::by_environment(batch.iter().map(|r| r.environment_id).zip(events.iter().cloned()));
    for (env, events) in groups {
        super::events::append(&tx, env, events).await?;
    }
    tx.commit().await?;
    Ok(())
}
