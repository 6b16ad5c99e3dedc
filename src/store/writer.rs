//! Group commit for the consent ledger on SQLite: one writer task commits concurrent inserts together.
//!
//! SQLite allows one writer at a time and every commit costs an fsync. Requests that arrive while a
//! commit is in flight wait in the queue and go into the next transaction together, so one fsync
//! covers many records. A request is answered only after its own transaction has committed, so a
//! 201 still means durably stored.

use std::sync::Mutex;

use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::StoreError;
use crate::domain::consents::Consent;

/// Most records committed in one transaction.
const MAX_BATCH: usize = 512;
/// Queue length before callers wait for room.
const QUEUE: usize = 4096;

struct Job {
    record: Consent,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// Handle on the writer task; dropping every handle stops the task.
#[derive(Debug)]
pub(crate) struct ConsentWriter {
    queue: mpsc::Sender<Job>,
    /// Tells the task to stop taking records (once) and its handle, taken by [`ConsentWriter::close`].
    stop: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

impl ConsentWriter {
    /// Starts the writer task on `db`.
    pub(crate) fn spawn(db: DatabaseConnection) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(db, jobs, stopped));
        Self { queue, stop: Mutex::new(Some((stop, task))) }
    }

    /// Stops taking records and waits until every record already queued is committed and answered.
    pub(crate) async fn close(&self) {
        let Some((stop, task)) = self.stop.lock().ok().and_then(|mut slot| slot.take()) else { return };
        let _ = stop.send(());
        if let Err(error) = task.await {
            tracing::error!(%error, "the consent writer failed while closing");
        }
    }

    /// Queues `record` and waits until its transaction has committed.
    pub(crate) async fn insert(&self, record: Consent) -> Result<(), StoreError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Job { record, done })
            .await
            .map_err(|_| StoreError::Database("consent writer stopped".into()))?;
        committed.await.map_err(|_| StoreError::Database("consent writer dropped a record".into()))?
    }
}

async fn run(db: DatabaseConnection, mut jobs: mpsc::Receiver<Job>, mut stop: oneshot::Receiver<()>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut closing = false;
    loop {
        tokio::select! {
            // Queued records first: on close, everything already accepted is still written.
            biased;
            received = jobs.recv_many(&mut batch, MAX_BATCH) => if received == 0 { break },
            _ = &mut stop, if !closing => {
                // Refuse new records; the loop goes on until the queue is empty.
                jobs.close();
                closing = true;
                continue;
            }
        }
        // Take the records out of the jobs rather than copying them: this is the write hot path.
        let (records, answers): (Vec<Consent>, Vec<_>) = batch.drain(..).map(|job| (job.record, job.done)).unzip();
        match super::consents::insert_consents(&db, &records).await {
            Ok(()) => {
                for answer in answers {
                    let _ = answer.send(Ok(()));
                }
            }
            // One bad record must not fail its neighbours: retry each alone so each gets its own answer.
            Err(_) if records.len() > 1 => {
                for (record, answer) in records.iter().zip(answers) {
                    let result = super::consents::insert_consents(&db, std::slice::from_ref(record)).await;
                    let _ = answer.send(result);
                }
            }
            Err(error) => {
                for answer in answers {
                    let _ = answer.send(Err(StoreError::Database(error.to_string())));
                }
            }
        }
    }
}
