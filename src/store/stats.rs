//! Counters the store keeps for `/metrics`: plain atomics, read when scraped.

use std::sync::atomic::{AtomicU64, Ordering};

/// What the store has done since the process started.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// SQL statements run, on either path (reads, writes, transaction control).
    pub(crate) statements: AtomicU64,
    /// Reads that found every SQLite read connection busy and waited for one.
    pub(crate) read_waits: AtomicU64,
    /// Records handed to the group-commit writer and not yet answered.
    pub(crate) writer_queued: AtomicU64,
    /// Transactions the group-commit writer has committed (or tried to).
    pub(crate) writer_batches: AtomicU64,
    /// Records in those transactions.
    pub(crate) writer_records: AtomicU64,
}

/// A reading of the store's counters and its connection pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// SQL statements run so far.
    pub statements: u64,
    /// Reads that waited for a SQLite read connection.
    pub read_waits: u64,
    /// Records waiting for the group-commit writer now.
    pub writer_queued: u64,
    /// Group-commit transactions so far.
    pub writer_batches: u64,
    /// Records committed by those transactions.
    pub writer_records: u64,
    /// Connections the sqlx pool holds now.
    pub pool_size: u64,
    /// Of which idle.
    pub pool_idle: u64,
}

impl Counters {
    /// Counts a transaction's BEGIN and COMMIT (or ROLLBACK), which SeaORM does not report.
    pub(crate) fn transaction(&self) {
        self.statements.fetch_add(2, Ordering::Relaxed);
    }

    pub(crate) fn read(&self) -> StoreStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StoreStats {
            statements: get(&self.statements),
            read_waits: get(&self.read_waits),
            writer_queued: get(&self.writer_queued),
            writer_batches: get(&self.writer_batches),
            writer_records: get(&self.writer_records),
            pool_size: 0,
            pool_idle: 0,
        }
    }
}
