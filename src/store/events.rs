//! The consent event log: appending to an environment's hash chain inside the transaction of the
//! ledger change it records, and reading it back in order.
//!
//! An append first upserts the environment's head row (`INSERT … ON CONFLICT DO UPDATE … RETURNING`):
//! that creates the head of a new chain, takes the row's write lock until commit (PostgreSQL) or
//! the database's write lock (SQLite), and answers the last sequence and hash in one statement. So
//! appends to one environment are serialised across connections and nodes, and an append rolled
//! back with its change leaves no gap.

use entities::{consent_event, consent_event_head};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Statement,
};

use super::reads::ReadExt;
use super::sqlite_writes::Outcome;
use super::{Store, StoreError};
use crate::domain::ids::EnvironmentId;
use crate::domain::proof::chain::chain;
use crate::domain::proof::{ChainedEvent, EventType, GENESIS, Head, NewEvent};

/// Event rows per `INSERT`: 8 columns each, well inside SQLite's bound-parameter limit.
const EVENTS_PER_STATEMENT: usize = 500;

/// Creates `env`'s head if it has none, locks it until the transaction ends, and answers it.
fn lock_head(backend: DbBackend, env: EnvironmentId) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO consent_event_heads (environment_id, sequence, hash) VALUES ($1, 0, $2) \
             ON CONFLICT (environment_id) DO UPDATE SET sequence = consent_event_heads.sequence \
             RETURNING environment_id, sequence, hash, expired_through, checkpoint_sequence, checkpoint_at"
        }
        _ => {
            "INSERT INTO consent_event_heads (environment_id, sequence, hash) VALUES (?, 0, ?) \
             ON CONFLICT (environment_id) DO UPDATE SET sequence = consent_event_heads.sequence \
             RETURNING environment_id, sequence, hash, expired_through, checkpoint_sequence, checkpoint_at"
        }
    };
    Statement::from_sql_and_values(backend, sql, [env.as_uuid().into(), GENESIS.into()])
}

/// The inserts of `events` and the move of their environment's head to `head`.
fn append_statements(backend: DbBackend, env: EnvironmentId, events: &[ChainedEvent], head: &Head) -> Vec<Statement> {
    let mut statements: Vec<Statement> = events
        .chunks(EVENTS_PER_STATEMENT)
        .map(|chunk| consent_event::Entity::insert_many(chunk.iter().map(row)).build(backend))
        .collect();
    let mut update = Query::update();
    update
        .table(consent_event_head::Entity)
        .value(consent_event_head::Column::Sequence, head.sequence)
        .value(consent_event_head::Column::Hash, head.hash.clone())
        .and_where(consent_event_head::Column::EnvironmentId.eq(env.as_uuid()));
    statements.push(backend.build(&update));
    statements
}

fn row(event: &ChainedEvent) -> consent_event::ActiveModel {
    consent_event::Model {
        environment_id: event.environment.as_uuid(),
        sequence: event.sequence,
        event_type: event.event.kind.name().to_owned(),
        occurred_at: event.event.at,
        subject_id: event.event.subject,
        digest: event.event.digest.clone(),
        previous_hash: event.previous_hash.clone(),
        hash: event.hash.clone(),
    }
    .into_active_model()
}

fn head_of(model: consent_event_head::Model) -> Head {
    Head { sequence: model.sequence, hash: model.hash }
}

/// Appends `events` to `env`'s chain inside the caller's transaction `db`; answers the new head.
pub(super) async fn append(
    db: &impl ConnectionTrait,
    env: EnvironmentId,
    events: Vec<NewEvent>,
) -> Result<Option<Head>, StoreError> {
    if events.is_empty() {
        return Ok(None);
    }
    let backend = db.get_database_backend();
    let locked = db.query_one_raw(lock_head(backend, env)).await?.ok_or(StoreError::NotFound)?;
    let head = head_of(consent_event_head::Model::from_query_result(&locked, "")?);
    let (chained, head) = chain(env, head, events);
    for statement in append_statements(backend, env, &chained, &head) {
        db.execute_raw(statement).await?;
    }
    Ok(Some(head))
}

/// Most chain heads a writer remembers; past that it starts afresh.
const HEADS_KEPT: usize = 10_000;

/// The chain heads one writer last moved, by environment: on PostgreSQL a batch first tries to
/// append after the remembered head in one statement that moves the head only if it is still that
/// one (sequence and hash), and inserts the events only then. Another node's append (or a rolled
/// back transaction of this one) makes that statement change nothing, and the batch falls back to
/// [`append`], which locks and reads the head. One round trip per batch instead of three.
#[derive(Debug, Default)]
pub(crate) struct ChainHeads(std::sync::Mutex<std::collections::HashMap<EnvironmentId, Head>>);

impl ChainHeads {
    fn get(&self, env: EnvironmentId) -> Option<Head> {
        self.0.lock().ok()?.get(&env).cloned()
    }

    fn set(&self, env: EnvironmentId, head: Option<Head>) {
        let Ok(mut heads) = self.0.lock() else { return };
        match head {
            Some(head) => {
                if heads.len() >= HEADS_KEPT {
                    heads.clear();
                }
                heads.insert(env, head);
            }
            None => {
                heads.remove(&env);
            }
        }
    }
}

/// One PostgreSQL statement: moves `env`'s head from `known` to `head` and inserts `events`, or,
/// when the head is no longer `known`, does neither.
fn append_after(env: EnvironmentId, known: &Head, events: &[ChainedEvent], head: &Head) -> Statement {
    let mut values: Vec<sea_orm::Value> = vec![
        head.sequence.into(),
        head.hash.clone().into(),
        env.as_uuid().into(),
        known.sequence.into(),
        known.hash.clone().into(),
    ];
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let n = values.len();
        rows.push(format!(
            "(${}::uuid, ${}::bigint, ${}::varchar, ${}::timestamptz, ${}::uuid, ${}::varchar, ${}::varchar, ${}::varchar)",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6,
            n + 7,
            n + 8
        ));
        values.extend([
            event.environment.as_uuid().into(),
            event.sequence.into(),
            event.event.kind.name().into(),
            event.event.at.into(),
            event.event.subject.into(),
            event.event.digest.clone().into(),
            event.previous_hash.clone().into(),
            event.hash.clone().into(),
        ]);
    }
    let sql = format!(
        "WITH moved AS (UPDATE consent_event_heads SET sequence = $1, hash = $2 \
         WHERE environment_id = $3 AND sequence = $4 AND hash = $5 RETURNING 1) \
         INSERT INTO consent_events (environment_id, sequence, event_type, occurred_at, subject_id, digest, previous_hash, hash) \
         SELECT * FROM (VALUES {}) AS appended WHERE EXISTS (SELECT 1 FROM moved)",
        rows.join(", ")
    );
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// [`append`], first trying the head `heads` remembers for `env` (PostgreSQL; elsewhere it locks).
pub(super) async fn append_after_known_head(
    db: &impl ConnectionTrait,
    heads: &ChainHeads,
    env: EnvironmentId,
    events: Vec<NewEvent>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    if let Some(known) = heads.get(env).filter(|_| postgres && events.len() <= EVENTS_PER_STATEMENT) {
        let (chained, head) = chain(env, known.clone(), events.clone());
        let inserted = db.execute_raw(append_after(env, &known, &chained, &head)).await?.rows_affected();
        if inserted == chained.len() as u64 {
            heads.set(env, Some(head));
            return Ok(());
        }
    }
    let head = append(db, env, events).await?;
    heads.set(env, head);
    Ok(())
}

/// Statements run inside a job's transaction on SQLite's write thread.
pub(super) type Run<'a> = &'a mut dyn FnMut(&[Statement]) -> Result<Vec<Outcome>, DbErr>;

/// [`append`] on SQLite's write thread, one environment after another (in id order).
pub(super) fn append_on_thread(run: Run<'_>, groups: Vec<(EnvironmentId, Vec<NewEvent>)>) -> Result<(), DbErr> {
    for (env, events) in groups {
        if events.is_empty() {
            continue;
        }
        let Some(Outcome::Rows(rows)) = run(&[lock_head(DbBackend::Sqlite, env)])?.pop() else {
            return Err(DbErr::Custom("locking the event chain's head answered no row".into()));
        };
        let head = head_from_rows(rows)?;
        let (chained, head) = chain(env, head, events);
        run(&append_statements(DbBackend::Sqlite, env, &chained, &head))?;
    }
    Ok(())
}

/// The head in the rows of [`lock_head`] on SQLite's write thread, where a small `sequence` comes
/// back as a 32-bit integer (its declared type is SQLite's `integer`).
fn head_from_rows(rows: super::sqlite_reads::Rows) -> Result<Head, DbErr> {
    use sea_orm::Value;
    let missing = || DbErr::Custom("locking the event chain's head answered no row".into());
    let row = rows.values.into_iter().next().ok_or_else(missing)?;
    let mut head = Head::empty();
    for ((name, _), value) in rows.columns.iter().zip(row) {
        match (name.as_str(), value) {
            ("sequence", Value::Int(Some(n))) => head.sequence = i64::from(n),
            ("sequence", Value::BigInt(Some(n))) => head.sequence = n,
            ("hash", Value::String(Some(hash))) => head.hash = hash,
            ("sequence" | "hash", other) => return Err(DbErr::Type(format!("chain head {name}: {other:?}"))),
            _ => {}
        }
    }
    Ok(head)
}

/// `events` by environment, in environment id order (so transactions lock heads in one order).
pub(super) fn by_environment(
    events: impl IntoIterator<Item = (EnvironmentId, NewEvent)>,
) -> Vec<(EnvironmentId, Vec<NewEvent>)> {
    let mut groups: std::collections::BTreeMap<EnvironmentId, Vec<NewEvent>> = Default::default();
    for (env, event) in events {
        groups.entry(env).or_default().push(event);
    }
    groups.into_iter().collect()
}

pub(super) fn to_chained(row: consent_event::Model) -> Result<ChainedEvent, StoreError> {
    let kind = EventType::from_name(&row.event_type)
        .ok_or_else(|| StoreError::Database(format!("event {} has an unknown type", row.sequence)))?;
    Ok(ChainedEvent {
        environment: EnvironmentId::from_uuid(row.environment_id),
        sequence: row.sequence,
        event: NewEvent { kind, at: row.occurred_at, subject: row.subject_id, digest: row.digest },
        previous_hash: row.previous_hash,
        hash: row.hash,
    })
}

impl Store {
    /// Up to `limit` of `env`'s events after sequence `after`, in chain order.
    pub async fn list_events(
        &self,
        env: EnvironmentId,
        after: i64,
        limit: u64,
    ) -> Result<Vec<ChainedEvent>, StoreError> {
        consent_event::Entity::find()
            .filter(consent_event::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(consent_event::Column::Sequence.gt(after))
            .order_by_asc(consent_event::Column::Sequence)
            .limit(limit)
            .read_all(&self.reads)
            .await?
            .into_iter()
            .map(to_chained)
            .collect()
    }

    /// The head of `env`'s chain (empty before its first event).
    pub async fn event_head(&self, env: EnvironmentId) -> Result<Head, StoreError> {
        let head = consent_event_head::Entity::find()
            .filter(consent_event_head::Column::EnvironmentId.eq(env.as_uuid()))
            .read_one(&self.reads)
            .await?;
        Ok(head.map(head_of).unwrap_or_else(Head::empty))
    }
}
