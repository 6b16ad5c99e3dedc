//! The consent ledger: append records and read them newest first (revoking is in `consent_revocations`).

use super::reads::ReadExt;
use super::stats::Counters;
use chrono::{DateTime, Utc};
use entities::{consent, consent_scope, external_application};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement, TransactionTrait,
};
use uuid::Uuid;

use super::consent_filter::{NameMatches, ResolvedFilter, condition};
use super::consent_revocations::user_exists;
use super::consent_rows::{to_domain, to_row};
use super::{Store, StoreError};
use crate::domain::consents::Consent;
use crate::domain::filter::Filter;
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};
use crate::domain::paging::PageRequest;
use crate::domain::proof::NewEvent;
use crate::domain::proof::content::recorded_event;

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
        insert_consents(&self.db, &self.counters, batch, &events, None).await
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

/// Appends records and their events (`events[n]` is `batch[n]`'s) in one transaction of the pool;
/// with `heads`, the chain heads this node last moved are tried first (see [`super::events::ChainHeads`]).
pub(super) async fn insert_consents(
    db: &DatabaseConnection,
    counters: &Counters,
    batch: &[Consent],
    events: &[NewEvent],
    heads: Option<&super::events::ChainHeads>,
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
        match heads {
            Some(heads) => super::events::append_after_known_head(&tx, heads, env, events).await?,
            None => {
                super::events::append(&tx, env, events).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}
