//! A few read-only `rusqlite` connections to the SQLite file, used on the calling thread, and the
//! translation between their values and SeaORM's (see `reads` for why).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::config::DbConfig;
use rusqlite::types::{Value as SqliteValue, ValueRef};
use rusqlite::{Connection, OpenFlags};
use sea_orm::{DbErr, Statement, Value};
use uuid::Uuid;

use super::stats::Counters;

/// Prepared statements kept per connection; the store has fewer distinct reads than this.
const STATEMENT_CACHE: usize = 128;

/// Read-only connections to one SQLite file, each used by one thread at a time.
#[derive(Debug)]
pub(crate) struct SqliteReads {
    connections: Vec<Mutex<Option<Connection>>>,
    /// Where the next caller starts looking for a free connection.
    next: AtomicUsize,
    closed: AtomicBool,
    /// The store's counters: statements run, waits for a connection.
    counters: Arc<Counters>,
}

impl SqliteReads {
    /// Opens `count` read-only connections to `file` (which the sqlx pool has already created and
    /// migrated), waiting at most `busy` for a lock in the rare cases a WAL reader needs one.
    pub(crate) fn open(file: &Path, count: usize, busy: Duration, counters: Arc<Counters>) -> Result<Self, DbErr> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let connections = (0..count.max(1))
            .map(|_| {
                let connection = Connection::open_with_flags(file, flags).map_err(database_error)?;
                connection.busy_timeout(busy).map_err(database_error)?;
                connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                connection.pragma_update(None, "query_only", true).map_err(database_error)?;
                // Plans must not depend on bound values: otherwise SQLite recompiles a cached
                // statement whenever a parameter its statistics could inform gets a new value,
                // which is every request (profiled: half of a read's time went to the parser).
                connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(database_error)?;
                Ok(Mutex::new(Some(connection)))
            })
            .collect::<Result<_, DbErr>>()?;
        Ok(Self { connections, next: AtomicUsize::new(0), closed: AtomicBool::new(false), counters })
    }

    /// Closes every connection; reads after this fail.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for slot in &self.connections {
            if let Ok(mut connection) = slot.lock() {
                connection.take();
            }
        }
    }

    /// A free connection if there is one, else waits for one (each is held for one statement only).
    fn connection(&self) -> Result<MutexGuard<'_, Option<Connection>>, DbErr> {
        if self.closed.load(Ordering::Acquire) {
            return Err(DbErr::Custom("the store is closed".into()));
        }
        let count = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        for offset in 0..count {
            if let Ok(guard) = self.connections[(start + offset) % count].try_lock() {
                return Ok(guard);
            }
        }
        self.counters.read_waits.fetch_add(1, Ordering::Relaxed);
        self.connections[start].lock().map_err(|_| DbErr::Custom("a SQLite read connection was poisoned".into()))
    }

    /// Runs `statement` and answers each column's name and kind, and every row's values.
    pub(crate) fn rows(&self, statement: &Statement) -> Result<Rows, DbErr> {
        let mut guard = self.connection()?;
        let connection = guard.as_mut().ok_or_else(|| DbErr::Custom("the store is closed".into()))?;
        self.counters.statements.fetch_add(1, Ordering::Relaxed);
        let mut prepared = connection.prepare_cached(&statement.sql).map_err(database_error)?;
        answer_rows(&mut prepared, bind(statement)?)
    }
}

/// A statement's parameters, encoded for SQLite (see [`parameter`]).
pub(crate) fn bind(statement: &Statement) -> Result<Vec<SqliteValue>, DbErr> {
    let parameters = statement.values.as_ref().map(|values| values.0.as_slice()).unwrap_or_default();
    parameters.iter().map(parameter).collect()
}

/// Runs a prepared statement and reads every row it answers.
pub(crate) fn answer_rows(
    prepared: &mut rusqlite::CachedStatement<'_>,
    parameters: Vec<SqliteValue>,
) -> Result<Rows, DbErr> {
    let columns: Vec<(String, ColumnKind)> = prepared
        .columns()
        .iter()
        .map(|column| (column.name().to_owned(), ColumnKind::of(column.decl_type())))
        .collect();
    let mut rows = prepared.query(rusqlite::params_from_iter(parameters)).map_err(database_error)?;
    let mut values = Vec::new();
    while let Some(row) = rows.next().map_err(database_error)? {
        let mut row_values = Vec::with_capacity(columns.len());
        for (index, (_, kind)) in columns.iter().enumerate() {
            row_values.push(kind.value(row.get_ref(index).map_err(database_error)?)?);
        }
        values.push(row_values);
    }
    Ok(Rows { columns, values })
}

/// A statement's answer: column names with their kinds, then one value per column per row.
pub(crate) struct Rows {
    pub(crate) columns: Vec<(String, ColumnKind)>,
    pub(crate) values: Vec<Vec<Value>>,
}

/// What a column holds, from the type the migrations declared for it; SeaORM wants each value
/// in the variant of the entity field's Rust type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ColumnKind {
    Uuid,
    Timestamp,
    Boolean,
    Integer,
    Json,
    Bytes,
    Text,
    /// An expression (`COUNT(*)`, say): taken by its storage class.
    Computed,
}

impl ColumnKind {
    fn of(declared: Option<&str>) -> Self {
        let Some(declared) = declared else { return Self::Computed };
        match declared.to_ascii_lowercase().as_str() {
            "uuid_text" | "uuid" => Self::Uuid,
            "timestamp_with_timezone_text" => Self::Timestamp,
            "boolean" => Self::Boolean,
            "integer" => Self::Integer,
            "json_text" => Self::Json,
            kind if kind.starts_with("blob") => Self::Bytes,
            _ => Self::Text,
        }
    }

    pub(crate) fn value(self, stored: ValueRef<'_>) -> Result<Value, DbErr> {
        let unexpected = || DbErr::Type(format!("SQLite value {stored:?} in a column of kind {self:?}"));
        Ok(match (self, stored) {
            (Self::Uuid, ValueRef::Null) => Value::Uuid(None),
            (Self::Uuid, ValueRef::Blob(bytes)) => {
                Value::Uuid(Some(Uuid::from_slice(bytes).map_err(|_| unexpected())?))
            }
            (Self::Uuid, ValueRef::Text(text)) => Value::Uuid(Some(
                std::str::from_utf8(text).ok().and_then(|t| Uuid::parse_str(t).ok()).ok_or_else(unexpected)?,
            )),
            (Self::Timestamp, ValueRef::Null) => Value::ChronoDateTimeUtc(None),
            (Self::Timestamp, ValueRef::Text(text)) => Value::ChronoDateTimeUtc(Some(
                std::str::from_utf8(text).ok().and_then(timestamp).ok_or_else(unexpected)?,
            )),
            (Self::Boolean, ValueRef::Null) => Value::Bool(None),
            (Self::Boolean, ValueRef::Integer(number)) => Value::Bool(Some(number != 0)),
            (Self::Integer, ValueRef::Null) => Value::Int(None),
            (Self::Integer, ValueRef::Integer(number)) => match i32::try_from(number) {
                Ok(small) => Value::Int(Some(small)),
                Err(_) => Value::BigInt(Some(number)),
            },
            (Self::Json, ValueRef::Null) => Value::Json(None),
            (Self::Json, ValueRef::Text(text)) => {
                Value::Json(Some(Box::new(serde_json::from_slice(text).map_err(|_| unexpected())?)))
            }
            (Self::Bytes, ValueRef::Null) => Value::Bytes(None),
            (_, ValueRef::Null) => Value::String(None),
            (Self::Bytes | Self::Computed, ValueRef::Blob(bytes)) => Value::Bytes(Some(bytes.to_vec())),
            (Self::Text | Self::Computed, ValueRef::Text(text)) => {
                Value::String(Some(std::str::from_utf8(text).map_err(|_| unexpected())?.to_owned()))
            }
            (Self::Computed, ValueRef::Integer(number)) => Value::BigInt(Some(number)),
            (Self::Computed, ValueRef::Real(number)) => Value::Double(Some(number)),
            _ => return Err(unexpected()),
        })
    }
}

/// A timestamp as sqlx writes it (RFC 3339), or as SQLite's own functions do.
fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
        ["%F %T%.f%:z", "%F %T%.f"].iter().find_map(|format| {
            DateTime::parse_from_str(text, format)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| NaiveDateTime::parse_from_str(text, format).ok().map(|t| t.and_utc()))
        })
    })
}

/// A query parameter, encoded exactly as sqlx encodes it for SQLite, so comparisons with stored
/// values (UUIDs as 16-byte blobs, timestamps as RFC 3339 text) behave the same on both paths.
fn parameter(value: &Value) -> Result<SqliteValue, DbErr> {
    Ok(match value {
        Value::Bool(v) => v.map_or(SqliteValue::Null, |b| SqliteValue::Integer(b.into())),
        Value::TinyInt(v) => v.map_or(SqliteValue::Null, |n| SqliteValue::Integer(n.into())),
        Value::SmallInt(v) => v.map_or(SqliteValue::Null, |n| SqliteValue::Integer(n.into())),
        Value::Int(v) => v.map_or(SqliteValue::Null, |n| SqliteValue::Integer(n.into())),
        Value::BigInt(v) => v.map_or(SqliteValue::Null, SqliteValue::Integer),
        Value::TinyUnsigned(v) => v.map_or(SqliteValue::Null, |n| SqliteValue::Integer(n.into())),
        Value::SmallUnsigned(v) => v.map_or(SqliteValue::Null, |n| SqliteValue::Integer(n.into())),
        Value::Unsigned(v) => v.map_or(SqliteValue::Null, |n| SqliteValue::Integer(n.into())),
        Value::BigUnsigned(v) => match v {
            None => SqliteValue::Null,
            Some(n) => SqliteValue::Integer(
                i64::try_from(*n).map_err(|_| DbErr::Custom(format!("parameter {n} does not fit SQLite")))?,
            ),
        },
        Value::Float(v) => v.map_or(SqliteValue::Null, |n| SqliteValue::Real(n.into())),
        Value::Double(v) => v.map_or(SqliteValue::Null, SqliteValue::Real),
        Value::String(v) => v.as_ref().map_or(SqliteValue::Null, |s| SqliteValue::Text(s.clone())),
        Value::Char(v) => v.map_or(SqliteValue::Null, |c| SqliteValue::Text(c.to_string())),
        Value::Bytes(v) => v.as_ref().map_or(SqliteValue::Null, |b| SqliteValue::Blob(b.clone())),
        Value::Uuid(v) => v.map_or(SqliteValue::Null, |u| SqliteValue::Blob(u.as_bytes().to_vec())),
        Value::ChronoDateTimeUtc(v) => {
            v.map_or(SqliteValue::Null, |t| SqliteValue::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false)))
        }
        Value::Json(v) => v.as_ref().map_or(SqliteValue::Null, |j| SqliteValue::Text(j.to_string())),
        other => return Err(DbErr::Custom(format!("no SQLite encoding for parameter {other:?}"))),
    })
}

fn database_error(error: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("SQLite read: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_back_in_every_format_sqlite_holds() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T17:03:45.752+00:00").map(|t| t.with_timezone(&Utc)).ok();
        assert_eq!(timestamp("2026-12-01T17:03:45.752+00:00"), at);
        assert_eq!(timestamp("2026-12-01 17:03:45.752+00:00"), at);
        assert_eq!(timestamp("2026-12-01 17:03:45.752"), at);
        assert_eq!(timestamp("yesterday"), None);
    }

    #[test]
    fn parameters_are_encoded_as_sqlx_encodes_them() {
        let id = Uuid::now_v7();
        assert_eq!(parameter(&Value::Uuid(Some(id))).ok(), Some(SqliteValue::Blob(id.as_bytes().to_vec())));
        let at = DateTime::parse_from_rfc3339("2026-12-01T17:03:45.752Z").map(|t| t.with_timezone(&Utc)).ok();
        assert_eq!(
            parameter(&Value::ChronoDateTimeUtc(at)).ok(),
            Some(SqliteValue::Text("2026-12-01T17:03:45.752+00:00".into()))
        );
        assert_eq!(parameter(&Value::Bool(Some(true))).ok(), Some(SqliteValue::Integer(1)));
        assert_eq!(parameter(&Value::String(None)).ok(), Some(SqliteValue::Null));
    }

    #[test]
    fn declared_kinds_decide_the_variant_seaorm_is_given() {
        let id = Uuid::now_v7();
        assert_eq!(
            ColumnKind::of(Some("uuid_text")).value(ValueRef::Blob(id.as_bytes())).ok(),
            Some(Value::Uuid(Some(id)))
        );
        assert_eq!(ColumnKind::of(Some("boolean")).value(ValueRef::Integer(0)).ok(), Some(Value::Bool(Some(false))));
        assert_eq!(ColumnKind::of(Some("integer")).value(ValueRef::Integer(7)).ok(), Some(Value::Int(Some(7))));
        assert_eq!(ColumnKind::of(None).value(ValueRef::Integer(7)).ok(), Some(Value::BigInt(Some(7))));
        assert_eq!(ColumnKind::of(Some("varchar")).value(ValueRef::Null).ok(), Some(Value::String(None)));
        // A nullable blob (a rotated-out secret) is bytes or none, never text.
        assert_eq!(ColumnKind::of(Some("blob")).value(ValueRef::Null).ok(), Some(Value::Bytes(None)));
        assert!(ColumnKind::of(Some("uuid_text")).value(ValueRef::Blob(b"short")).is_err());
    }
}
