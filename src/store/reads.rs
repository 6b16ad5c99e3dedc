//! Reads outside transactions, without a thread hop on SQLite.
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each query and each row
//! across a channel; for an indexed read that hand-off costs more than the read. On a SQLite file
//! the store therefore runs reads on the runtime thread that asks, over read-only `rusqlite`
//! connections: SeaORM still builds every statement (`QueryTrait::build`) and the entity's own
//! `ActiveModel` turns the values into its `Model` (`try_set`, `try_into_model`), so entities and
//! the query builder stay SeaORM's. Writes and transactions stay on the sqlx pool and the
//! group-commit writer; in WAL mode a reader sees the last commit and never waits for the writer.
//! On PostgreSQL (and in-memory SQLite) the same calls go through the pool unchanged.
//!
//! SeaORM's own hook for this, `ProxyDatabaseTrait`, does not compile together with `sqlx-sqlite`
//! in sea-orm 2.0.4 (its row conversion still boxes values that sea-query 1.0 no longer boxes).

use std::str::FromStr;
use std::sync::Arc;

use sea_orm::sea_query::{Alias, Expr, Query, ValueType};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, PaginatorTrait, QuerySelect,
    QueryTrait, Select, TryGetableMany, TryIntoModel, Value,
};

use super::sqlite_reads::{Rows, SqliteReads};

/// Where reads outside transactions run.
#[derive(Clone, Debug)]
pub(crate) enum Reads {
    /// On the calling thread, over read-only connections to the SQLite file.
    Local(Arc<SqliteReads>),
    /// Through the pool (PostgreSQL, in-memory SQLite).
    Pool(DatabaseConnection),
}

/// Rows decoded from positional values: one value, or a tuple.
pub(crate) trait FromValues: Sized {
    /// Decodes one row.
    fn from_values(values: Vec<Value>) -> Result<Self, DbErr>;
}

fn decode<T: ValueType>(value: Option<Value>) -> Result<T, DbErr> {
    let value = value.ok_or_else(|| DbErr::Type("a selected column is missing".into()))?;
    T::try_from(value).map_err(|e| DbErr::Type(e.to_string()))
}

macro_rules! single_values {
    ($($t:ty),*) => {$(
        impl FromValues for $t {
            fn from_values(values: Vec<Value>) -> Result<Self, DbErr> {
                decode(values.into_iter().next())
            }
        }
    )*};
}
single_values!(uuid::Uuid, String, bool, i32, i64, chrono::DateTime<chrono::Utc>);

macro_rules! tuple_values {
    ($($t:ident),+) => {
        impl<$($t: ValueType),+> FromValues for ($($t,)+) {
            fn from_values(values: Vec<Value>) -> Result<Self, DbErr> {
                let mut values = values.into_iter();
                Ok(($(decode::<$t>(values.next())?,)+))
            }
        }
    };
}
tuple_values!(A, B);
tuple_values!(A, B, C, D, E, F, G, H);

/// Reads of a SeaORM `Select` through [`Reads`]; named apart from SeaORM's `one`/`all` so a call
/// site says which path it takes.
pub(crate) trait ReadExt<E: EntityTrait> {
    /// The first matching model.
    async fn read_one(self, reads: &Reads) -> Result<Option<E::Model>, DbErr>;
    /// Every matching model.
    async fn read_all(self, reads: &Reads) -> Result<Vec<E::Model>, DbErr>;
    /// How many rows match (for a query without `LIMIT`: on SQLite the count replaces the selection).
    async fn read_count(self, reads: &Reads) -> Result<u64, DbErr>;
    /// How many rows match, counting no further than `bound + 1` (so the cost is bounded too).
    async fn read_count_upto(self, reads: &Reads, bound: u64) -> Result<u64, DbErr>;
    /// The selected columns (after `select_only().column(…)`) of every matching row.
    async fn read_tuples<T: FromValues + TryGetableMany + Send + Sync>(self, reads: &Reads) -> Result<Vec<T>, DbErr>;
}

impl<E> ReadExt<E> for Select<E>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    E::ActiveModel: TryIntoModel<E::Model>,
{
    async fn read_one(self, reads: &Reads) -> Result<Option<E::Model>, DbErr> {
        match reads {
            Reads::Local(local) => Ok(models::<E>(local.rows(&self.limit(1).build(DbBackend::Sqlite))?)?.pop()),
            Reads::Pool(db) => self.one(db).await,
        }
    }

    async fn read_all(self, reads: &Reads) -> Result<Vec<E::Model>, DbErr> {
        match reads {
            Reads::Local(local) => models::<E>(local.rows(&self.build(DbBackend::Sqlite))?),
            Reads::Pool(db) => self.all(db).await,
        }
    }

    async fn read_count(self, reads: &Reads) -> Result<u64, DbErr> {
        match reads {
            Reads::Local(local) => {
                let counted = self.select_only().column_as(Expr::cust("COUNT(*)"), "n").build(DbBackend::Sqlite);
                let rows = local.rows(&counted)?.values.into_iter().next().unwrap_or_default();
                let count: i64 = decode(rows.into_iter().next())?;
                <u64 as TryFrom<i64>>::try_from(count).map_err(|e| DbErr::Type(e.to_string()))
            }
            Reads::Pool(db) => PaginatorTrait::count(self, db).await,
        }
    }

    async fn read_count_upto(self, reads: &Reads, bound: u64) -> Result<u64, DbErr> {
        // SELECT COUNT(*) FROM (SELECT 1 FROM … WHERE … LIMIT bound + 1) AS bounded
        let inner = self.select_only().expr(Expr::val(1)).limit(bound.saturating_add(1)).into_query();
        let outer = Query::select().expr(Expr::cust("COUNT(*)")).from_subquery(inner, Alias::new("bounded")).to_owned();
        let count: i64 = match reads {
            Reads::Local(local) => {
                let rows = local.rows(&DbBackend::Sqlite.build(&outer))?.values.into_iter().next().unwrap_or_default();
                decode(rows.into_iter().next())?
            }
            Reads::Pool(db) => match db.query_one(&outer).await? {
                Some(row) => row.try_get_by_index(0)?,
                None => 0,
            },
        };
        <u64 as TryFrom<i64>>::try_from(count).map_err(|e| DbErr::Type(e.to_string()))
    }

    async fn read_tuples<T: FromValues + TryGetableMany + Send + Sync>(self, reads: &Reads) -> Result<Vec<T>, DbErr> {
        match reads {
            Reads::Local(local) => {
                local.rows(&self.build(DbBackend::Sqlite))?.values.into_iter().map(T::from_values).collect()
            }
            Reads::Pool(db) => self.into_tuple::<T>().all(db).await,
        }
    }
}

/// Models of `E` from rows selecting its columns by name.
pub(crate) fn models<E>(rows: Rows) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: TryIntoModel<E::Model>,
{
    let columns: Vec<E::Column> = rows
        .columns
        .iter()
        .map(|(name, _)| E::Column::from_str(name).map_err(|_| DbErr::Type(format!("no column {name} in this entity"))))
        .collect::<Result<_, _>>()?;
    rows.values
        .into_iter()
        .map(|values| {
            let mut model = <E::ActiveModel as ActiveModelTrait>::default();
            for (column, value) in columns.iter().zip(values) {
                match value {
                    // SQLite declares 32- and 64-bit integer columns alike (`integer`): a small
                    // number read for an `i64` field is widened.
                    Value::Int(number) => match model.try_set(*column, Value::Int(number)) {
                        Ok(()) => {}
                        Err(_) => model.try_set(*column, Value::BigInt(number.map(i64::from)))?,
                    },
                    value => model.try_set(*column, value)?,
                }
            }
            model.try_into_model()
        })
        .collect()
}
