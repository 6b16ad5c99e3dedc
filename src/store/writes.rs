//! Writes built as SeaORM statements, run on SQLite's write thread or through the pool.

use sea_orm::sea_query::UpdateStatement;
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, Statement};

use super::sqlite_writes::Outcome;
use super::{Store, StoreError};

impl Store {
    /// The backend statements must be built for.
    pub(crate) fn backend(&self) -> sea_orm::DbBackend {
        self.db.get_database_backend()
    }

    /// Runs `statements` as one all-or-nothing change: on a SQLite file through the write thread
    /// (committed with whatever else is waiting), otherwise in a transaction of the pool.
    pub(crate) async fn write(&self, mut statements: Vec<Statement>) -> Result<(), StoreError> {
        if let Some(writes) = &self.writes {
            writes.run(statements).await?;
            return Ok(());
        }
        if statements.len() == 1
            && let Some(statement) = statements.pop()
        {
            // One statement commits by itself.
            self.db.execute_raw(statement).await?;
            return Ok(());
        }
        let tx = self.begin().await?;
        for statement in statements {
            tx.execute_raw(statement).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs `update` with `RETURNING` every column, alone, and answers the rows it changed.
    pub(crate) async fn update_returning<E>(&self, mut update: UpdateStatement) -> Result<Vec<E::Model>, StoreError>
    where
        E: EntityTrait,
        E::ActiveModel: sea_orm::TryIntoModel<E::Model>,
    {
        let statement = self.backend().build(update.returning_all());
        match &self.writes {
            Some(writes) => match writes.run(vec![statement]).await?.pop() {
                Some(Outcome::Rows(rows)) => Ok(super::reads::models::<E>(rows)?),
                _ => Err(StoreError::Database("UPDATE … RETURNING answered no rows".into())),
            },
            None => {
                let rows = self.db.query_all_raw(statement).await?;
                Ok(rows.iter().map(|row| E::Model::from_query_result(row, "")).collect::<Result<_, _>>()?)
            }
        }
    }
}
