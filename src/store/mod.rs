//! Storage: the only module that speaks SeaORM. Every query is scoped by environment id first.

mod applications;
mod catalog;
mod checkpoints;
mod consent_filter;
mod consent_revocations;
mod consent_rows;
mod consent_totals;
mod consents;
mod deliveries;
mod environments;
mod erasure;
mod error;
mod events;
mod flow;
mod grant_insert;
mod grants;
mod idempotency;
mod login_throttles;
mod maintenance;
mod paging;
mod reads;
mod scope_texts;
mod scopes;
mod sqlite_reads;
mod sqlite_writes;
mod stats;
mod subscriptions;
mod user_data;
mod users;
mod writer;
mod writes;

pub use applications::ClientCredentials;
pub use consent_filter::ResolvedFilter;
pub use deliveries::Progress;
pub use error::StoreError;
pub use flow::{LoginAccount, StoredChallenge};
pub use idempotency::{KEY_LIFETIME, KeptAnswer, KeyClaim, KeyTimes};
pub use login_throttles::Admission;
pub use maintenance::purge_every_hour;
pub use stats::StoreStats;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use uuid::Uuid;

use crate::domain::ids::EnvironmentId;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

/// Connection settings taken from the configuration.
#[derive(Clone, Debug)]
pub struct StoreSettings {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// How long a query may wait for a pooled connection.
    pub acquire_timeout: Duration,
    /// PostgreSQL `statement_timeout`; SQLite's busy timeout.
    pub statement_timeout: Duration,
    /// How long environments, applications and scope lists are kept on this node (zero: not at all);
    /// the bound on how late another node's change to them is seen here.
    pub cache_ttl: Duration,
}

/// Key of the PostgreSQL advisory lock that serialises migrations of nodes starting together.
const MIGRATION_LOCK: i64 = 0x6173_7365_6e74; // "assent"

/// Runs migrations on one dedicated connection holding an advisory lock, so nodes starting at the
/// same time do not apply the same migration twice.
async fn migrate_exclusively(url: &str) -> Result<(), StoreError> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(1).min_connections(1).sqlx_logging(false);
    let db = Database::connect(options).await?;
    let lock =
        Statement::from_sql_and_values(DbBackend::Postgres, "SELECT pg_advisory_lock($1)", [MIGRATION_LOCK.into()]);
    db.execute_raw(lock).await?;
    let migrated = Migrator::up(&db, None).await;
    let unlock =
        Statement::from_sql_and_values(DbBackend::Postgres, "SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK.into()]);
    let unlocked = db.execute_raw(unlock).await;
    db.close().await?;
    migrated?;
    unlocked?;
    Ok(())
}

/// The file a SQLite URL names (`sqlite://FILE?…`, `sqlite:FILE`); `None` for in-memory databases.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || query.split('&').any(|pair| pair == "mode=memory");
    (!in_memory).then(|| PathBuf::from(path))
}

/// Takes an exclusive lock on `FILE-migrate.lock` beside the database file (created if missing, never
/// removed); it is released when the returned file is dropped, or when the process ends.
async fn lock_beside(database: PathBuf) -> Result<std::fs::File, StoreError> {
    let mut name = database.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push("-migrate.lock");
    let path = database.with_file_name(name);
    let locked = tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| StoreError::Database(format!("migration lock: {e}")))?;
    locked.map_err(|e| StoreError::Database(format!("migration lock beside {}: {e}", database.display())))
}

/// Takes the file lock under which a SQLite file is opened and migrated, so processes starting
/// together on one new file (a server and `assent bootstrap`, say) neither race to switch it to
/// WAL (a change SQLite cannot wait for: the loser gets "database is locked") nor apply the same
/// migration twice; the PostgreSQL counterpart is [`migrate_exclusively`]. An in-memory database
/// belongs to one process and needs none.
async fn sqlite_setup_lock(url: &str) -> Result<Option<std::fs::File>, StoreError> {
    match sqlite_file(url) {
        Some(path) => Ok(Some(lock_beside(path).await?)),
        None => Ok(None),
    }
}

/// Gives SQLite's planner table statistics. Without them it cannot tell that `application_name`
/// narrows a tenant's records more than `status` does, and may walk the wrong index (the audit
/// list with both filters was 8x slower at 1M records). `analysis_limit` keeps this to a sample.
async fn optimize_sqlite(db: &DatabaseConnection) -> Result<(), StoreError> {
    db.execute_unprepared("PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002;").await?;
    Ok(())
}

/// SQLite's advice for long-lived connections: run `PRAGMA optimize` periodically.
async fn keep_sqlite_statistics_fresh(db: DatabaseConnection) {
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    every_hour.tick().await;
    loop {
        every_hour.tick().await;
        if let Err(error) = db.execute_unprepared("PRAGMA analysis_limit=1000; PRAGMA optimize;").await {
            tracing::warn!(%error, "refreshing SQLite statistics failed");
        }
    }
}

/// Handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// Writes, transactions, and every read on PostgreSQL or an in-memory SQLite database.
    db: DatabaseConnection,
    /// Reads outside transactions: on a SQLite file, run on the calling thread (see `reads`).
    reads: reads::Reads,
    /// On a SQLite file: the thread that commits flow writes and consent batches in groups.
    writes: Option<Arc<sqlite_writes::SqliteWrites>>,
    /// What this store has done, for `/metrics`.
    counters: Arc<stats::Counters>,
    /// Environments, applications and scope lists kept for a short while (see `catalog`).
    catalog: Arc<catalog::Catalog>,
    /// The group-commit writer of the consent ledger.
    writer: Arc<writer::ConsentWriter>,
    /// Ids of external applications by (environment, name); they never change once assigned.
    external_ids: Arc<RwLock<HashMap<(Uuid, String), Uuid>>>,
    /// Bumped after every committed write that may end a token (revocations, disabling, deleting,
    /// rotating), so this node's token caches re-check at once.
    endings: Arc<AtomicU64>,
    /// Woken after this node commits events (records, revocations, removals), so the webhook
    /// dispatcher need not wait for its next poll.
    appended: Arc<tokio::sync::Notify>,
}

impl Store {
    /// Connects and brings the schema up to date.
    pub async fn connect(settings: &StoreSettings) -> Result<Self, StoreError> {
        let mut options = ConnectOptions::new(settings.url.clone());
        options
            .max_connections(settings.max_connections)
            .min_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .sqlx_logging(false);
        let is_postgres = settings.url.starts_with("postgres");
        if is_postgres {
            let ms = settings.statement_timeout.as_millis();
            options.map_sqlx_postgres_opts(move |o| o.options([("statement_timeout", ms.to_string())]));
        } else {
            let busy = settings.statement_timeout;
            // WAL lets readers proceed while one writer commits; FULL sync keeps every commit durable.
            options.map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(busy)
                    .create_if_missing(true)
                    // Erased personal data is overwritten, not left in freed space (see `erasure`).
                    .pragma("secure_delete", "ON")
            });
        }
        let setup_lock = if is_postgres { None } else { sqlite_setup_lock(&settings.url).await? };
        let mut db = Database::connect(options).await?;
        let counters = Arc::new(stats::Counters::default());
        let counted = counters.clone();
        db.set_metric_callback(move |_| {
            counted.statements.fetch_add(1, Ordering::Relaxed);
        });
        if is_postgres {
            migrate_exclusively(&settings.url).await?;
        } else {
            Migrator::up(&db, None).await?;
            drop(setup_lock);
            optimize_sqlite(&db).await?;
            tokio::spawn(keep_sqlite_statistics_fresh(db.clone()));
        }
        let writes = match sqlite_file(&settings.url) {
            Some(file) if !is_postgres => {
                Some(Arc::new(sqlite_writes::SqliteWrites::open(&file, settings.statement_timeout, counters.clone())?))
            }
            _ => None,
        };
        // Records are committed in groups on both backends: one commit (one fsync) for many.
        let sink = match &writes {
            Some(thread) => writer::Sink::Thread(thread.clone()),
            None => writer::Sink::Pool(db.clone(), Arc::new(events::ChainHeads::default())),
        };
        let appended = Arc::new(tokio::sync::Notify::new());
        let writer = Arc::new(writer::ConsentWriter::spawn(sink, counters.clone(), appended.clone()));
        let reads = match sqlite_file(&settings.url) {
            Some(file) if !is_postgres => {
                // One per runtime thread, twice over: a read holds its connection for one statement.
                let threads = std::thread::available_parallelism().map_or(2, usize::from);
                let local =
                    sqlite_reads::SqliteReads::open(&file, 2 * threads, settings.statement_timeout, counters.clone())?;
                reads::Reads::Local(Arc::new(local))
            }
            _ => reads::Reads::Pool(db.clone()),
        };
        Ok(Self {
            db,
            reads,
            writes,
            counters,
            catalog: Arc::new(catalog::Catalog::new(settings.cache_ttl)),
            writer,
            external_ids: Arc::default(),
            endings: Arc::default(),
            appended,
        })
    }

    /// The store's counters and its connection pool now.
    pub fn stats(&self) -> StoreStats {
        let mut stats = self.counters.read();
        let (size, idle) = match self.db.get_database_backend() {
            DbBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        stats.pool_size = size.into();
        stats.pool_idle = idle as u64;
        stats
    }

    /// How many token-ending writes this node has committed; a change means cached token verdicts are stale.
    pub fn endings(&self) -> u64 {
        self.endings.load(Ordering::Acquire)
    }

    /// Starts a transaction, counted as two statements (its BEGIN and its COMMIT or ROLLBACK).
    pub(crate) async fn begin(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        self.counters.transaction();
        sea_orm::TransactionTrait::begin(&self.db).await
    }

    /// Forgets what the catalog keeps of `env`: call after every write to it, its applications or scopes.
    pub(crate) fn changed(&self, env: EnvironmentId) {
        self.catalog.forget(env.as_uuid());
    }

    /// Marks that a write which may end tokens has committed (such writes append events too).
    pub(crate) fn ended(&self) {
        self.endings.fetch_add(1, Ordering::AcqRel);
        self.appended.notify_one();
    }

    /// Woken (at most one waiter, the dispatcher) after this node commits events.
    pub fn events_appended(&self) -> Arc<tokio::sync::Notify> {
        self.appended.clone()
    }

    /// Refreshes the query planner's statistics now (after bulk loads such as `assent seed`).
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        match self.db.get_database_backend() {
            DbBackend::Sqlite => optimize_sqlite(&self.db).await,
            _ => {
                // VACUUM also marks the loaded pages all-visible, as autovacuum would in time, so
                // index-only scans (the auditors' totals) need not visit the table.
                self.db.execute_unprepared("VACUUM (ANALYZE)").await?;
                Ok(())
            }
        }
    }

    /// `postgres` or `sqlite`, for logs.
    pub fn backend_name(&self) -> &'static str {
        match self.db.get_database_backend() {
            DbBackend::Postgres => "postgres",
            DbBackend::Sqlite => "sqlite",
            _ => "other",
        }
    }

    /// Readiness: the database answers, on every path, and no migration of this binary is pending.
    pub async fn ready(&self) -> Result<(), StoreError> {
        if let reads::Reads::Local(local) = &self.reads {
            local.rows(&Statement::from_string(DbBackend::Sqlite, "SELECT 1"))?;
        }
        self.db.ping().await?;
        let pending = Migrator::get_pending_migrations(&self.db).await?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Database(format!("{} migration(s) not applied", pending.len())))
        }
    }

    /// Commits the records already queued for the group-commit writer (SQLite), refusing new ones,
    /// then closes the pool. Every clone of this store is closed with it.
    pub async fn close(self) -> Result<(), StoreError> {
        self.writer.close().await;
        if let reads::Reads::Local(local) = &self.reads {
            local.close();
        }
        self.db.close().await.map_err(StoreError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file_and_memory_names_none() {
        assert_eq!(sqlite_file("sqlite:///tmp/a/assent.db?mode=rwc"), Some(PathBuf::from("/tmp/a/assent.db")));
        assert_eq!(sqlite_file("sqlite://assent.db?mode=rwc"), Some(PathBuf::from("assent.db")));
        assert_eq!(sqlite_file("sqlite:data.db"), Some(PathBuf::from("data.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://:memory:"), None);
        assert_eq!(sqlite_file("sqlite://shared?mode=memory&cache=shared"), None);
        assert_eq!(sqlite_file("postgres://localhost/db"), None);
    }
}
