//! Storage errors, sorted into the few cases the domain distinguishes.

use sea_orm::{DbErr, SqlErr};

/// What a store call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row matched (within the environment).
    #[error("not found")]
    NotFound,
    /// A unique constraint rejected the write; carries the wire name of the field.
    #[error("conflict on {0}")]
    Conflict(String),
    /// Anything else; the text is logged, never shown to clients.
    #[error("database: {0}")]
    Database(String),
}

impl From<DbErr> for StoreError {
    fn from(error: DbErr) -> Self {
        match error {
            DbErr::RecordNotFound(_) => StoreError::NotFound,
            other => StoreError::Database(other.to_string()),
        }
    }
}

/// Maps a unique violation of a write to a conflict on `field`; other errors pass through.
pub(crate) fn conflict_on(field: &str) -> impl FnOnce(DbErr) -> StoreError + '_ {
    move |error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(field.to_owned()),
        _ => StoreError::from(error),
    }
}

/// An update or delete that touched no row means the row was not there (in this environment).
pub(crate) fn touched(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
