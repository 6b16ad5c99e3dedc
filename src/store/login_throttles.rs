//! Failed-login counting per (environment, username digest). Every attempt is admitted by an atomic
//! compare-and-set on the count, so however many attempts arrive at once, each admitted one sees its
//! own number and the lock it earns is in force before the next is admitted.

use super::reads::ReadExt;
use chrono::{DateTime, Utc};
use entities::login_throttle;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

use super::{Store, StoreError};
use crate::domain::ids::EnvironmentId;

/// Whether a login attempt may be evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Evaluate it: it is attempt number `attempt` since the last success.
    Admitted {
        /// Its number, from 1.
        attempt: i32,
    },
    /// Refuse it unevaluated: the name is locked until then.
    Locked {
        /// When the lock ends.
        until: DateTime<Utc>,
    },
}

/// Compare-and-set rounds before an attempt is refused as contended.
const ROUNDS: usize = 32;

impl Store {
    /// Admits one login attempt for `key` at `now`, or refuses it while a lock stands. `lock_after`
    /// gives the lock the n-th attempt earns the moment it is admitted (so it already holds while
    /// that attempt is evaluated); a success ends it with [`Store::clear_login_attempts`].
    pub async fn admit_login_attempt(
        &self,
        env: EnvironmentId,
        key: &str,
        now: DateTime<Utc>,
        lock_after: impl Fn(i32) -> Option<DateTime<Utc>>,
    ) -> Result<Admission, StoreError> {
        let one = || {
            login_throttle::Entity::find()
                .filter(login_throttle::Column::EnvironmentId.eq(env.as_uuid()))
                .filter(login_throttle::Column::KeyDigest.eq(key))
        };
        for _ in 0..ROUNDS {
            let Some(row) = one().read_one(&self.reads).await? else {
                let first = login_throttle::Model {
                    environment_id: env.as_uuid(),
                    key_digest: key.to_owned(),
                    attempts: 1,
                    locked_until: lock_after(1),
                    updated_at: now,
                };
                let inserted = login_throttle::Entity::insert(first.into_active_model())
                    .on_conflict(
                        OnConflict::columns([login_throttle::Column::EnvironmentId, login_throttle::Column::KeyDigest])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(&self.db)
                    .await?;
                if inserted == 1 {
                    return Ok(Admission::Admitted { attempt: 1 });
                }
                continue;
            };
            if let Some(until) = row.locked_until.filter(|until| *until > now) {
                return Ok(Admission::Locked { until });
            }
            let attempt = row.attempts.saturating_add(1);
            let claimed = login_throttle::Entity::update_many()
                .col_expr(login_throttle::Column::Attempts, Expr::value(attempt))
                .col_expr(login_throttle::Column::LockedUntil, Expr::value(lock_after(attempt)))
                .col_expr(login_throttle::Column::UpdatedAt, Expr::value(now))
                .filter(login_throttle::Column::EnvironmentId.eq(env.as_uuid()))
                .filter(login_throttle::Column::KeyDigest.eq(key))
                .filter(login_throttle::Column::Attempts.eq(row.attempts))
                .exec(&self.db)
                .await?;
            if claimed.rows_affected == 1 {
                return Ok(Admission::Admitted { attempt });
            }
        }
        // Lost every round to concurrent attempts on the same name: refuse this one briefly.
        Ok(Admission::Locked { until: now + chrono::Duration::seconds(1) })
    }

    /// Forgets the attempts on `key` after a successful login.
    pub async fn clear_login_attempts(&self, env: EnvironmentId, key: &str) -> Result<(), StoreError> {
        login_throttle::Entity::delete_many()
            .filter(login_throttle::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(login_throttle::Column::KeyDigest.eq(key))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
