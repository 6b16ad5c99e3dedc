//! Proof of consent: the hash-chained event log of every ledger change, its signed checkpoints, and
//! their offline verification.

pub mod chain;
pub mod checkpoints;
pub mod content;
pub mod log;
pub mod receipt;
pub mod verify;

pub use chain::{ChainedEvent, EventType, GENESIS, Head, NewEvent};
