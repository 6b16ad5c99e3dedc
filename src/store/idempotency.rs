//! Idempotency keys: claimed by the first request that sends one, answered once it finishes.

use chrono::{DateTime, Utc};
use entities::idempotency_key;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter};
use uuid::Uuid;

use super::reads::ReadExt;
use super::{Store, StoreError};
use crate::domain::ids::EnvironmentId;

/// How long a key is remembered after its first use.
pub const KEY_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// The answer kept for a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptAnswer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Location`.
    pub location: Option<String>,
    /// `ETag`.
    pub etag: Option<String>,
    /// The body.
    pub body: String,
}

/// What claiming a key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is this request's now.
    Claimed,
    /// Another request holds the key and has not finished.
    Running {
        /// What that request asked.
        fingerprint: String,
    },
    /// The key was answered.
    Answered {
        /// What that request asked.
        fingerprint: String,
        /// What it was answered.
        answer: KeptAnswer,
    },
}

/// When a key's row stops counting.
#[derive(Clone, Copy, Debug)]
pub struct KeyTimes {
    /// Now.
    pub now: DateTime<Utc>,
    /// Keys claimed before this are forgotten (their day is over).
    pub expired_before: DateTime<Utc>,
    /// Unfinished claims last touched before this belong to a request that died with its process.
    pub abandoned_before: DateTime<Utc>,
}

impl Store {
    /// Claims `key_digest` for the request `claim` asking `fingerprint`, or reports who has it.
    pub async fn claim_idempotency_key(
        &self,
        env: EnvironmentId,
        key_digest: &str,
        fingerprint: &str,
        claim: Uuid,
        times: KeyTimes,
    ) -> Result<KeyClaim, StoreError> {
        // Twice at most: a first attempt may only have cleared an expired row.
        for _ in 0..2 {
            let row = idempotency_key::Model {
                environment_id: env.as_uuid(),
                key_digest: key_digest.to_owned(),
                fingerprint: fingerprint.to_owned(),
                claim,
                completed: false,
                status: None,
                content_type: None,
                location: None,
                etag: None,
                body: None,
                created_at: times.now,
                updated_at: times.now,
            };
            let inserted = idempotency_key::Entity::insert(row.into_active_model())
                .on_conflict(
                    OnConflict::columns([idempotency_key::Column::EnvironmentId, idempotency_key::Column::KeyDigest])
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await?;
            if inserted == 1 {
                return Ok(KeyClaim::Claimed);
            }
            let Some(held) = self.idempotency_key(env, key_digest).await? else { continue };
            if held.created_at < times.expired_before {
                self.release_idempotency_key(env, key_digest, held.claim).await?;
                continue;
            }
            if held.completed {
                let answer = KeptAnswer {
                    status: u16::try_from(held.status.unwrap_or(500)).unwrap_or(500),
                    content_type: held.content_type,
                    location: held.location,
                    etag: held.etag,
                    body: held.body.unwrap_or_default(),
                };
                return Ok(KeyClaim::Answered { fingerprint: held.fingerprint, answer });
            }
            if held.updated_at < times.abandoned_before && held.fingerprint == fingerprint {
                // Its request can no longer be running (it would have timed out): take it over.
                let taken = idempotency_key::Entity::update_many()
                    .col_expr(idempotency_key::Column::Claim, Expr::value(claim))
                    .col_expr(idempotency_key::Column::UpdatedAt, Expr::value(times.now))
                    .filter(idempotency_key::Column::EnvironmentId.eq(env.as_uuid()))
                    .filter(idempotency_key::Column::KeyDigest.eq(key_digest))
                    .filter(idempotency_key::Column::Claim.eq(held.claim))
                    .filter(idempotency_key::Column::Completed.eq(false))
                    .exec(&self.db)
                    .await?;
                if taken.rows_affected == 1 {
                    return Ok(KeyClaim::Claimed);
                }
                continue;
            }
            return Ok(KeyClaim::Running { fingerprint: held.fingerprint });
        }
        Err(StoreError::Database("an idempotency key changed hands while it was being claimed".into()))
    }

    /// The key's row, if any.
    async fn idempotency_key(
        &self,
        env: EnvironmentId,
        key_digest: &str,
    ) -> Result<Option<idempotency_key::Model>, StoreError> {
        Ok(idempotency_key::Entity::find()
            .filter(idempotency_key::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(idempotency_key::Column::KeyDigest.eq(key_digest))
            .read_one(&self.reads)
            .await?)
    }

    /// Keeps `answer` for the key `claim` holds.
    pub async fn answer_idempotency_key(
        &self,
        env: EnvironmentId,
        key_digest: &str,
        claim: Uuid,
        answer: KeptAnswer,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::Completed, Expr::value(true))
            .col_expr(idempotency_key::Column::Status, Expr::value(i32::from(answer.status)))
            .col_expr(idempotency_key::Column::ContentType, Expr::value(answer.content_type))
            .col_expr(idempotency_key::Column::Location, Expr::value(answer.location))
            .col_expr(idempotency_key::Column::Etag, Expr::value(answer.etag))
            .col_expr(idempotency_key::Column::Body, Expr::value(answer.body))
            .col_expr(idempotency_key::Column::UpdatedAt, Expr::value(now))
            .filter(held_by(env, key_digest, claim))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Lets go of the key `claim` holds (its request changed nothing worth replaying).
    pub async fn release_idempotency_key(
        &self,
        env: EnvironmentId,
        key_digest: &str,
        claim: Uuid,
    ) -> Result<(), StoreError> {
        idempotency_key::Entity::delete_many().filter(held_by(env, key_digest, claim)).exec(&self.db).await?;
        Ok(())
    }

    /// Forgets the keys of every environment claimed before `cutoff`; answers how many.
    pub(super) async fn purge_idempotency_keys(
        &self,
        env: uuid::Uuid,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::EnvironmentId.eq(env))
            .filter(idempotency_key::Column::CreatedAt.lt(cutoff))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}

/// The row of `key_digest` while the request `claim` holds it.
fn held_by(env: EnvironmentId, key_digest: &str, claim: Uuid) -> Condition {
    Condition::all()
        .add(idempotency_key::Column::EnvironmentId.eq(env.as_uuid()))
        .add(idempotency_key::Column::KeyDigest.eq(key_digest))
        .add(idempotency_key::Column::Claim.eq(claim))
}
