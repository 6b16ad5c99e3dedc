//! SQLite writes on one thread of their own, committed in groups.
//!
//! Each write is a job: the statements of one logical change (SeaORM builds them). The thread
//! takes every job waiting, runs them in one transaction, each inside a savepoint so a failing job
//! is rolled back alone, and commits once: one fsync for the group, and one hand-off per job
//! rather than one per statement as with sqlx. Nothing else in the process writes those tables'
//! rows concurrently through this path, so jobs see each other's effects in queue order.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sea_orm::{DbErr, Statement};
use tokio::sync::oneshot;

use super::sqlite_reads::{Rows, answer_rows, bind};
use super::stats::Counters;

/// Most jobs committed together.
const GROUP: usize = 256;

/// What one statement of a job produced.
pub(crate) enum Outcome {
    /// Done, for statements that return no rows.
    Done,
    /// The rows a statement returned (`RETURNING`, `SELECT`).
    Rows(Rows),
}

/// Work a job does inside its transaction after its statements, deciding what to run from what
/// earlier statements answered (the event chain's head, say); `run` executes statements there.
pub(crate) type Then = Box<dyn FnOnce(super::events::Run<'_>) -> Result<(), DbErr> + Send>;

struct Job {
    statements: Vec<Statement>,
    then: Option<Then>,
    done: oneshot::Sender<Result<Vec<Outcome>, DbErr>>,
}

/// Handle on the writing thread; the thread ends when every handle is dropped.
#[derive(Debug)]
pub(crate) struct SqliteWrites {
    queue: mpsc::Sender<Job>,
}

impl SqliteWrites {
    /// Opens the write connection to `file` (already created and migrated) and starts its thread.
    pub(crate) fn open(file: &Path, busy: Duration, counters: Arc<Counters>) -> Result<Self, DbErr> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let connection = Connection::open_with_flags(file, flags).map_err(failed)?;
        connection.busy_timeout(busy).map_err(failed)?;
        connection.set_prepared_statement_cache_capacity(128);
        // As the sqlx pool: WAL, every commit durable, foreign keys enforced.
        connection
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
            )
            .map_err(failed)?;
        let (queue, jobs) = mpsc::channel();
        std::thread::Builder::new()
            .name("assent-sqlite-writes".into())
            .spawn(move || serve(connection, jobs, counters))
            .map_err(|e| DbErr::Custom(format!("starting the SQLite write thread: {e}")))?;
        Ok(Self { queue })
    }

    /// Runs `statements` as one all-or-nothing change, committed with whatever else is waiting.
    pub(crate) async fn run(&self, statements: Vec<Statement>) -> Result<Vec<Outcome>, DbErr> {
        self.run_then(statements, None).await
    }

    /// [`Self::run`], then `then` in the same transaction (rolled back with the statements if it fails).
    pub(crate) async fn run_then(&self, statements: Vec<Statement>, then: Option<Then>) -> Result<Vec<Outcome>, DbErr> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Job { statements, then, done })
            .map_err(|_| DbErr::Custom("the SQLite write thread stopped".into()))?;
        answer.await.map_err(|_| DbErr::Custom("the SQLite write thread dropped a write".into()))?
    }
}

fn serve(mut connection: Connection, jobs: mpsc::Receiver<Job>, counters: Arc<Counters>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < GROUP
            && let Ok(job) = jobs.try_recv()
        {
            group.push(job);
        }
        let count = |n: u64| counters.statements.fetch_add(n, Ordering::Relaxed);
        let alone = group.len() == 1;
        if alone && group[0].statements.len() == 1 && group[0].then.is_none() {
            // One statement on its own commits by itself (autocommit), as it would through the pool.
            let job = group.remove(0);
            count(1);
            let _ = job.done.send(run_job(&connection, &job.statements));
            continue;
        }
        count(2); // BEGIN and COMMIT (or ROLLBACK)
        let results = match connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Err(error) => group.iter().map(|_| Err(failed(error.clone_message()))).collect::<Vec<_>>(),
            Ok(tx) => {
                let mut results = Vec::with_capacity(group.len());
                for job in &mut group {
                    // Its statements, and its SAVEPOINT and RELEASE when it shares the transaction.
                    count(job.statements.len() as u64 + if alone { 0 } else { 2 });
                    let then = job.then.take();
                    results.push(if alone {
                        run_then(&tx, &job.statements, then, &counters)
                    } else {
                        in_savepoint(&tx, &job.statements, then, &counters)
                    });
                }
                match tx.commit() {
                    Ok(()) => results,
                    Err(error) => group.iter().map(|_| Err(failed(error.clone_message()))).collect(),
                }
            }
        };
        for (job, result) in group.into_iter().zip(results) {
            let _ = job.done.send(result);
        }
    }
}

/// A job inside a savepoint, so its failure leaves the rest of the group alone.
fn in_savepoint(
    tx: &rusqlite::Transaction<'_>,
    statements: &[Statement],
    then: Option<Then>,
    counters: &Counters,
) -> Result<Vec<Outcome>, DbErr> {
    tx.execute_batch("SAVEPOINT job").map_err(failed)?;
    match run_then(tx, statements, then, counters) {
        Ok(outcomes) => {
            tx.execute_batch("RELEASE job").map_err(failed)?;
            Ok(outcomes)
        }
        Err(error) => {
            tx.execute_batch("ROLLBACK TO job; RELEASE job").map_err(failed)?;
            Err(error)
        }
    }
}

/// A job's statements, then its follow-up work.
fn run_then(
    tx: &Connection,
    statements: &[Statement],
    then: Option<Then>,
    counters: &Counters,
) -> Result<Vec<Outcome>, DbErr> {
    let outcomes = run_job(tx, statements)?;
    if let Some(then) = then {
        then(&mut |more: &[Statement]| {
            counters.statements.fetch_add(more.len() as u64, Ordering::Relaxed);
            run_job(tx, more)
        })?;
    }
    Ok(outcomes)
}

fn run_job(tx: &Connection, statements: &[Statement]) -> Result<Vec<Outcome>, DbErr> {
    statements
        .iter()
        .map(|statement| {
            let mut prepared = tx.prepare_cached(&statement.sql).map_err(failed)?;
            let parameters = bind(statement)?;
            if prepared.column_count() > 0 {
                answer_rows(&mut prepared, parameters).map(Outcome::Rows)
            } else {
                prepared.execute(rusqlite::params_from_iter(parameters)).map_err(failed)?;
                Ok(Outcome::Done)
            }
        })
        .collect()
}

/// Keeps SQLite's own message (constraint names included) for the store's error mapping.
fn failed(error: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("SQLite write: {error}"))
}

/// Errors are not `Clone`; their messages are.
trait CloneMessage {
    fn clone_message(&self) -> String;
}

impl CloneMessage for rusqlite::Error {
    fn clone_message(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::DbBackend;

    use super::*;

    fn statement(sql: &str) -> Statement {
        Statement::from_string(DbBackend::Sqlite, sql)
    }

    #[test]
    fn a_failing_job_is_rolled_back_alone_and_its_neighbours_commit() {
        let mut connection = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        connection.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY)").unwrap_or_else(|e| panic!("{e}"));
        let tx = connection.transaction().unwrap_or_else(|e| panic!("{e}"));
        let counters = Counters::default();
        assert!(in_savepoint(&tx, &[statement("INSERT INTO t VALUES (1)")], None, &counters).is_ok());
        let clash = [statement("INSERT INTO t VALUES (2)"), statement("INSERT INTO t VALUES (1)")];
        assert!(in_savepoint(&tx, &clash, None, &counters).is_err(), "a duplicate key fails its job");
        let then: Then = Box::new(|run| {
            run(&[statement("INSERT INTO t VALUES (5)"), statement("INSERT INTO t VALUES (1)")]).map(|_| ())
        });
        assert!(
            in_savepoint(&tx, &[statement("INSERT INTO t VALUES (4)")], Some(then), &counters).is_err(),
            "a failing follow-up fails its job"
        );
        assert!(in_savepoint(&tx, &[statement("INSERT INTO t VALUES (3)")], None, &counters).is_ok());
        tx.commit().unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<i64> = connection
            .prepare("SELECT id FROM t ORDER BY id")
            .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ids, vec![1, 3], "the failed jobs' inserts (2, 4, 5) were rolled back with them");
    }

    #[tokio::test]
    async fn the_thread_answers_returned_rows_and_commits() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("w.db");
        Connection::open(&file)
            .and_then(|c| c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, used INTEGER)"))
            .unwrap_or_else(|e| panic!("{e}"));
        let counters = Arc::new(Counters::default());
        let writes =
            SqliteWrites::open(&file, Duration::from_secs(1), counters.clone()).unwrap_or_else(|e| panic!("{e}"));
        writes.run(vec![statement("INSERT INTO t VALUES (7, 0)")]).await.unwrap_or_else(|e| panic!("{e}"));
        let claimed = writes
            .run(vec![statement("UPDATE t SET used = 1 WHERE id = 7 AND used = 0 RETURNING id")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        match claimed.as_slice() {
            [Outcome::Rows(rows)] => assert_eq!(rows.values.len(), 1),
            _ => panic!("expected the claimed row"),
        }
        let again = writes
            .run(vec![statement("UPDATE t SET used = 1 WHERE id = 7 AND used = 0 RETURNING id")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(again.as_slice(), [Outcome::Rows(rows)] if rows.values.is_empty()), "claimed once only");
        assert_eq!(counters.statements.load(Ordering::Relaxed), 3);
    }
}
