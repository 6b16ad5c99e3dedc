//! Signed checkpoints of the event chains: which chains are due one, keeping them, listing them.

use chrono::{DateTime, Utc};
use entities::{consent_checkpoint, consent_event_head};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use super::reads::ReadExt;
use super::{Store, StoreError};
use crate::domain::ids::EnvironmentId;
use crate::domain::proof::Head;
use crate::domain::proof::checkpoints::Checkpoint;

fn to_domain(row: consent_checkpoint::Model) -> Checkpoint {
    Checkpoint {
        environment: EnvironmentId::from_uuid(row.environment_id),
        sequence: row.sequence,
        hash: row.hash,
        signed_at: row.signed_at,
        key_id: row.key_id,
        jws: row.jws,
    }
}

impl Store {
    /// Up to `limit` chains (of any environment) with events after their last checkpoint, and either
    /// `every_events` of them or no checkpoint since `older_than`; with their heads.
    pub async fn due_checkpoints(
        &self,
        every_events: i64,
        older_than: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<(EnvironmentId, Head)>, StoreError> {
        use consent_event_head::Column;
        let rows = consent_event_head::Entity::find()
            .filter(Expr::col(Column::Sequence).gt(Expr::col(Column::CheckpointSequence)))
            .filter(
                Condition::any()
                    .add(Expr::col(Column::Sequence).sub(Expr::col(Column::CheckpointSequence)).gte(every_events))
                    .add(Column::CheckpointAt.is_null())
                    .add(Column::CheckpointAt.lte(older_than)),
            )
            .limit(limit)
            .read_all(&self.reads)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (EnvironmentId::from_uuid(row.environment_id), Head { sequence: row.sequence, hash: row.hash }))
            .collect())
    }

    /// Keeps `checkpoint` (once: another node may have signed the same head) and marks its chain
    /// checkpointed up to it.
    pub async fn insert_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let row = consent_checkpoint::Model {
            environment_id: checkpoint.environment.as_uuid(),
            sequence: checkpoint.sequence,
            hash: checkpoint.hash.clone(),
            signed_at: checkpoint.signed_at,
            key_id: checkpoint.key_id.clone(),
            jws: checkpoint.jws.clone(),
        };
        let tx = self.begin().await?;
        let once =
            OnConflict::columns([consent_checkpoint::Column::EnvironmentId, consent_checkpoint::Column::Sequence])
                .do_nothing()
                .to_owned();
        consent_checkpoint::Entity::insert(row.into_active_model())
            .on_conflict(once)
            .exec_without_returning(&tx)
            .await?;
        consent_event_head::Entity::update_many()
            .col_expr(consent_event_head::Column::CheckpointSequence, Expr::value(checkpoint.sequence))
            .col_expr(consent_event_head::Column::CheckpointAt, Expr::value(checkpoint.signed_at))
            .filter(consent_event_head::Column::EnvironmentId.eq(checkpoint.environment.as_uuid()))
            .filter(consent_event_head::Column::CheckpointSequence.lt(checkpoint.sequence))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` of `env`'s checkpoints after sequence `after`, oldest first.
    pub async fn list_checkpoints(
        &self,
        env: EnvironmentId,
        after: i64,
        limit: u64,
    ) -> Result<Vec<Checkpoint>, StoreError> {
        let rows = consent_checkpoint::Entity::find()
            .filter(consent_checkpoint::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(consent_checkpoint::Column::Sequence.gt(after))
            .order_by_asc(consent_checkpoint::Column::Sequence)
            .limit(limit)
            .read_all(&self.reads)
            .await?;
        Ok(rows.into_iter().map(to_domain).collect())
    }
}
