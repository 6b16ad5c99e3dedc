//! Housekeeping: rows of the flow that can no longer be used are deleted a day after they expire.
//! Consent records and grants are never deleted; they are the audit trail. Webhook attempts are
//! kept for two weeks.

use super::reads::ReadExt;
use chrono::{DateTime, Duration, Utc};
use entities::{
    authorization_code, authorization_request, browser_session, environment, login_throttle, refresh_token,
    revoked_token,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{Store, StoreError};

/// How long expired rows are kept (a replayed code or refresh token is still recognised as a replay meanwhile).
const GRACE: Duration = Duration::days(1);
/// How long webhook delivery attempts are logged.
pub const ATTEMPTS_KEPT: Duration = Duration::days(14);

impl Store {
    /// Deletes sessions, pending authorizations, codes and refresh tokens that expired more than a
    /// day before `now`, and revoked access tokens past their expiry; answers how many rows went.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = now
            .checked_sub_signed(GRACE)
            .ok_or_else(|| StoreError::Database(format!("{now} - {GRACE} is out of range")))?;
        let environments: Vec<Uuid> =
            environment::Entity::find().select_only().column(environment::Column::Id).read_tuples(&self.reads).await?;
        let mut removed = 0;
        for env in environments {
            removed += browser_session::Entity::delete_many()
                .filter(browser_session::Column::EnvironmentId.eq(env))
                .filter(browser_session::Column::ExpiresAt.lt(cutoff))
                .exec(&self.db)
                .await?
                .rows_affected;
            removed += authorization_request::Entity::delete_many()
                .filter(authorization_request::Column::EnvironmentId.eq(env))
                .filter(authorization_request::Column::ExpiresAt.lt(cutoff))
                .exec(&self.db)
                .await?
                .rows_affected;
            removed += authorization_code::Entity::delete_many()
                .filter(authorization_code::Column::EnvironmentId.eq(env))
                .filter(authorization_code::Column::ExpiresAt.lt(cutoff))
                .exec(&self.db)
                .await?
                .rows_affected;
            removed += refresh_token::Entity::delete_many()
                .filter(refresh_token::Column::EnvironmentId.eq(env))
                .filter(refresh_token::Column::ExpiresAt.lt(cutoff))
                .exec(&self.db)
                .await?
                .rows_affected;
            // Attempts on a name idle for a day, whose lock (if any) ended, count for nothing more.
            removed += login_throttle::Entity::delete_many()
                .filter(login_throttle::Column::EnvironmentId.eq(env))
                .filter(login_throttle::Column::UpdatedAt.lt(cutoff))
                .filter(
                    sea_orm::Condition::any()
                        .add(login_throttle::Column::LockedUntil.is_null())
                        .add(login_throttle::Column::LockedUntil.lt(now)),
                )
                .exec(&self.db)
                .await?
                .rows_affected;
            let keys_cutoff = now
                .checked_sub_signed(super::idempotency::KEY_LIFETIME)
                .ok_or_else(|| StoreError::Database(format!("{now} is too early to purge keys")))?;
            removed += self.purge_idempotency_keys(env, keys_cutoff).await?;
            removed += self.purge_attempts(env, now - ATTEMPTS_KEPT).await?;
            removed += revoked_token::Entity::delete_many()
                .filter(revoked_token::Column::EnvironmentId.eq(env))
                .filter(revoked_token::Column::ExpiresAt.lt(now))
                .exec(&self.db)
                .await?
                .rows_affected;
        }
        Ok(removed)
    }
}

/// Purges expired flow rows every hour, for as long as the server runs.
pub async fn purge_every_hour(store: Store) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        match store.purge_expired(Utc::now()).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "purged expired sessions, requests, codes and tokens"),
            Err(error) => tracing::warn!(%error, "purging expired rows failed"),
        }
    }
}
