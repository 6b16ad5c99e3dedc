//! Group commit for the consent ledger: one writer task commits concurrent inserts together.
//!
//! SQLite allows one writer at a time, and on either backend every commit costs an fsync. Requests that arrive while a
//! commit is in flight wait in the queue and go into the next transaction together, so one fsync
//! covers many records. A request is answered only after its own transaction has committed, so a
//! 201 still means durably stored.
//!
//! Environments are served fairly: each may have at most [`PER_ENVIRONMENT`] records waiting (its
//! further requests wait for room of their own, not in the shared queue), and every transaction
//! takes records from the waiting environments in turn. One tenant's flood therefore delays another
//! tenant's record by about one transaction, however deep the flood.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use sea_orm::DatabaseConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::StoreError;
use super::stats::Counters;
use crate::domain::consents::Consent;
use crate::domain::ids::EnvironmentId;
use crate::domain::proof::NewEvent;

/// Most records committed in one transaction.
const MAX_BATCH: usize = 512;
/// Records one environment may have waiting for the writer.
const PER_ENVIRONMENT: usize = 1024;
/// Shared queue length; with the per-environment bound, one environment never fills it alone.
const QUEUE: usize = 8 * PER_ENVIRONMENT;
/// Past this many known environments, idle ones are forgotten.
const ENVIRONMENTS_KEPT: usize = 1024;

struct Job {
    record: Consent,
    /// The record's `consent.recorded` event, digested by the caller rather than by this task.
    event: NewEvent,
    done: oneshot::Sender<Result<(), StoreError>>,
    /// The environment's room in the queue, given back once the record is answered.
    _room: OwnedSemaphorePermit,
}

/// Room per environment in the queue.
#[derive(Debug, Default)]
struct Rooms(Mutex<HashMap<EnvironmentId, Arc<Semaphore>>>);

impl Rooms {
    fn of(&self, env: EnvironmentId) -> Option<Arc<Semaphore>> {
        let mut rooms = self.0.lock().ok()?;
        if rooms.len() >= ENVIRONMENTS_KEPT {
            rooms.retain(|_, room| room.available_permits() < PER_ENVIRONMENT);
        }
        Some(rooms.entry(env).or_insert_with(|| Arc::new(Semaphore::new(PER_ENVIRONMENT))).clone())
    }
}

/// Where the writer commits its batches.
#[derive(Debug)]
pub(crate) enum Sink {
    /// SQLite's write thread (a SQLite file).
    Thread(Arc<super::sqlite_writes::SqliteWrites>),
    /// The pool (PostgreSQL, an in-memory SQLite database), and the event chain heads this writer
    /// last moved.
    Pool(DatabaseConnection, Arc<super::events::ChainHeads>),
}

impl Sink {
    /// Appends `records` and their events (`events[n]` is `records[n]`'s) in one transaction.
    async fn insert(&self, counters: &Counters, records: &[Consent], events: &[NewEvent]) -> Result<(), StoreError> {
        match self {
            Sink::Thread(thread) => {
                let statements = super::consents::insert_statements(sea_orm::DbBackend::Sqlite, records);
                let groups =
                    super::events::by_environment(records.iter().map(|r| r.environment_id).zip(events.iter().cloned()));
                let then: super::sqlite_writes::Then =
                    Box::new(move |run| super::events::append_on_thread(run, groups));
                thread.run_then(statements, Some(then)).await?;
                Ok(())
            }
            Sink::Pool(db, heads) => super::consents::insert_consents(db, counters, records, events, Some(heads)).await,
        }
    }
}

/// Handle on the writer task; dropping every handle stops the task.
#[derive(Debug)]
pub(crate) struct ConsentWriter {
    queue: mpsc::Sender<Job>,
    rooms: Rooms,
    /// Tells the task to stop taking records (once) and its handle, taken by [`ConsentWriter::close`].
    stop: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
    counters: Arc<Counters>,
}

impl ConsentWriter {
    /// Starts the writer task on `db`.
    pub(crate) fn spawn(sink: Sink, counters: Arc<Counters>, appended: Arc<tokio::sync::Notify>) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(sink, jobs, stopped, counters.clone(), appended));
        Self { queue, rooms: Rooms::default(), stop: Mutex::new(Some((stop, task))), counters }
    }

    /// Stops taking records and waits until every record already queued is committed and answered.
    pub(crate) async fn close(&self) {
        let Some((stop, task)) = self.stop.lock().ok().and_then(|mut slot| slot.take()) else { return };
        let _ = stop.send(());
        if let Err(error) = task.await {
            tracing::error!(%error, "the consent writer failed while closing");
        }
    }

    /// Queues `record` once its environment has room, and waits until its transaction has committed.
    pub(crate) async fn insert(&self, record: Consent, event: NewEvent) -> Result<(), StoreError> {
        let stopped = || StoreError::Database("consent writer stopped".into());
        let room = self.rooms.of(record.environment_id).ok_or_else(stopped)?;
        let room = room.acquire_owned().await.map_err(|_| stopped())?;
        let (done, committed) = oneshot::channel();
        // Counted before it is sent, so the writer never takes out more than was put in.
        self.counters.writer_queued.fetch_add(1, Ordering::Relaxed);
        if self.queue.send(Job { record, event, done, _room: room }).await.is_err() {
            self.counters.writer_queued.fetch_sub(1, Ordering::Relaxed);
            return Err(stopped());
        }
        committed.await.map_err(|_| StoreError::Database("consent writer dropped a record".into()))?
    }
}

/// Waiting items by environment, handed out in turn.
struct Fair<T> {
    waiting: HashMap<EnvironmentId, VecDeque<T>>,
    turns: VecDeque<EnvironmentId>,
}

impl<T> Default for Fair<T> {
    fn default() -> Self {
        Self { waiting: HashMap::new(), turns: VecDeque::new() }
    }
}

impl<T> Fair<T> {
    fn push(&mut self, env: EnvironmentId, item: T) {
        let queue = self.waiting.entry(env).or_default();
        if queue.is_empty() {
            self.turns.push_back(env);
        }
        queue.push_back(item);
    }

    fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// Up to `max` items, one environment after another.
    fn next_batch(&mut self, max: usize) -> Vec<T> {
        let mut batch = Vec::with_capacity(max.min(64));
        while batch.len() < max
            && let Some(env) = self.turns.pop_front()
        {
            let Some(queue) = self.waiting.get_mut(&env) else { continue };
            if let Some(item) = queue.pop_front() {
                batch.push(item);
            }
            if queue.is_empty() {
                self.waiting.remove(&env);
            } else {
                self.turns.push_back(env);
            }
        }
        batch
    }
}

async fn run(
    db: Sink,
    mut jobs: mpsc::Receiver<Job>,
    mut stop: oneshot::Receiver<()>,
    counters: Arc<Counters>,
    appended: Arc<tokio::sync::Notify>,
) {
    let mut incoming: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut fair: Fair<Job> = Fair::default();
    let mut closing = false;
    loop {
        if fair.is_empty() {
            tokio::select! {
                // Queued records first: on close, everything already accepted is still written.
                biased;
                received = jobs.recv_many(&mut incoming, QUEUE) => if received == 0 { break },
                _ = &mut stop, if !closing => {
                    // Refuse new records; the loop goes on until the queue is empty.
                    jobs.close();
                    closing = true;
                    continue;
                }
            }
        } else {
            // Records are waiting: take whatever else has arrived, without waiting for more.
            while incoming.len() < QUEUE
                && let Ok(job) = jobs.try_recv()
            {
                incoming.push(job);
            }
        }
        for job in incoming.drain(..) {
            fair.push(job.record.environment_id, job);
        }
        let batch = fair.next_batch(MAX_BATCH);
        let size = batch.len() as u64;
        commit(&db, &counters, batch).await;
        appended.notify_one();
        counters.writer_batches.fetch_add(1, Ordering::Relaxed);
        counters.writer_records.fetch_add(size, Ordering::Relaxed);
        counters.writer_queued.fetch_sub(size, Ordering::Relaxed);
    }
}

/// Commits one batch and answers each of its records.
async fn commit(db: &Sink, counters: &Counters, batch: Vec<Job>) {
    // Take the records out of the jobs rather than copying them: this is the write hot path.
    let mut records = Vec::with_capacity(batch.len());
    let mut events = Vec::with_capacity(batch.len());
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        records.push(job.record);
        events.push(job.event);
        answers.push((job.done, job._room));
    }
    match db.insert(counters, &records, &events).await {
        Ok(()) => {
            for (answer, _room) in answers {
                let _ = answer.send(Ok(()));
            }
        }
        // One bad record must not fail its neighbours: retry each alone so each gets its own answer.
        Err(_) if records.len() > 1 => {
            for ((record, event), (answer, _room)) in records.iter().zip(&events).zip(answers) {
                let result = db.insert(counters, std::slice::from_ref(record), std::slice::from_ref(event)).await;
                let _ = answer.send(result);
            }
        }
        Err(error) => {
            for (answer, _room) in answers {
                let _ = answer.send(Err(StoreError::Database(error.to_string())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flooding_environment_does_not_push_another_out_of_the_next_batch() {
        let (flood, quiet, third) = (EnvironmentId::new(), EnvironmentId::new(), EnvironmentId::new());
        let mut fair = Fair::default();
        for n in 0..1000 {
            fair.push(flood, ("flood", n));
        }
        fair.push(quiet, ("quiet", 0));
        fair.push(third, ("third", 0));
        fair.push(third, ("third", 1));
        let batch = fair.next_batch(4);
        assert_eq!(batch, vec![("flood", 0), ("quiet", 0), ("third", 0), ("flood", 1)]);
        let batch = fair.next_batch(3);
        assert_eq!(batch, vec![("third", 1), ("flood", 2), ("flood", 3)]);
        let rest = fair.next_batch(10_000);
        assert_eq!(rest.len(), 996);
        assert!(fair.is_empty());
        assert!(fair.next_batch(10).is_empty());
    }
}
