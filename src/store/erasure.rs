//! Erasing a person's data (GDPR Art. 17): their profile, and the addresses, places and devices of
//! their consent records, sign-in requests and grants, go; ids, times, scopes, statuses and the event
//! chain (which never held personal data) stay, so the ledger still proves what was agreed.

use chrono::{DateTime, Utc};
use entities::{authorization_request, browser_session, consent, grant, idempotency_key, user};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use super::error::touched;
use super::{Store, StoreError};
use crate::domain::ids::{EnvironmentId, UserId};
use crate::domain::proof::EventType;
use crate::domain::proof::content::subject_event;

/// The address erased records and requests keep in place of the client's (the column is required).
pub const ERASED_IP: &str = "0.0.0.0";

/// Removes the personal data of user `id` from everything but the user row, inside the caller's
/// transaction, and appends the `user.erased` event.
pub(super) async fn erase_personal_data_of(
    db: &impl ConnectionTrait,
    env: EnvironmentId,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let no_text: Option<String> = None;
    consent::Entity::update_many()
        .col_expr(consent::Column::RemoteIp, Expr::value(ERASED_IP))
        .col_expr(consent::Column::City, Expr::value(no_text.clone()))
        .col_expr(consent::Column::State, Expr::value(no_text.clone()))
        .col_expr(consent::Column::Region, Expr::value(no_text.clone()))
        .col_expr(consent::Column::Country, Expr::value(no_text.clone()))
        .col_expr(consent::Column::BrowserName, Expr::value(no_text.clone()))
        .col_expr(consent::Column::BrowserVersion, Expr::value(no_text.clone()))
        .col_expr(consent::Column::OsName, Expr::value(no_text.clone()))
        .col_expr(consent::Column::OsVersion, Expr::value(no_text.clone()))
        .col_expr(consent::Column::DeviceType, Expr::value(no_text.clone()))
        .filter(consent::Column::EnvironmentId.eq(env.as_uuid()))
        .filter(consent::Column::UserId.eq(id.as_uuid()))
        .exec(db)
        .await?;
    let sessions = Query::select()
        .column(browser_session::Column::Id)
        .from(browser_session::Entity)
        .and_where(browser_session::Column::EnvironmentId.eq(env.as_uuid()))
        .and_where(browser_session::Column::UserId.eq(id.as_uuid()))
        .to_owned();
    authorization_request::Entity::update_many()
        .col_expr(authorization_request::Column::UserAgent, Expr::value(no_text.clone()))
        .col_expr(authorization_request::Column::ClientIp, Expr::value(ERASED_IP))
        .filter(authorization_request::Column::EnvironmentId.eq(env.as_uuid()))
        .filter(
            Condition::any()
                .add(authorization_request::Column::UserId.eq(id.as_uuid()))
                .add(authorization_request::Column::BrowserSessionId.in_subquery(sessions)),
        )
        .exec(db)
        .await?;
    // Claims a consent app added (names, e-mail addresses) and the external subject.
    grant::Entity::update_many()
        .col_expr(grant::Column::AccessClaims, Expr::value(no_text.clone()))
        .col_expr(grant::Column::IdClaims, Expr::value(no_text.clone()))
        .col_expr(grant::Column::ExternalSubject, Expr::value(no_text))
        .filter(grant::Column::EnvironmentId.eq(env.as_uuid()))
        .filter(grant::Column::UserId.eq(id.as_uuid()))
        .exec(db)
        .await?;
    // Kept answers to retried POSTs about the user (records they gave) repeat their data.
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::EnvironmentId.eq(env.as_uuid()))
        .filter(idempotency_key::Column::Body.contains(id.to_string()))
        .exec(db)
        .await?;
    super::events::append(db, env, vec![subject_event(EventType::UserErased, now, id.as_uuid())]).await?;
    Ok(())
}

impl Store {
    /// Erases user `id`'s personal data and ends what their sign-ins left standing, in one
    /// transaction: the user stays (disabled, without a password, named `erased-{id}`).
    pub async fn erase_user(&self, env: EnvironmentId, id: UserId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let no_text: Option<String> = None;
        let result = user::Entity::update_many()
            .col_expr(user::Column::Username, Expr::value(format!("erased-{id}")))
            .col_expr(user::Column::Email, Expr::value(no_text.clone()))
            .col_expr(user::Column::GivenName, Expr::value(no_text.clone()))
            .col_expr(user::Column::FamilyName, Expr::value(no_text.clone()))
            .col_expr(user::Column::PasswordHash, Expr::value(no_text.clone()))
            .col_expr(user::Column::ExternalSubject, Expr::value(no_text))
            .col_expr(user::Column::Enabled, Expr::value(false))
            .col_expr(user::Column::ErasedAt, Expr::value(now))
            .col_expr(user::Column::UpdatedAt, Expr::value(now))
            .filter(user::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(user::Column::Id.eq(id.as_uuid()))
            .exec(&tx)
            .await?;
        touched(result.rows_affected)?;
        super::users::end_everything_of(&tx, env, id, now).await?;
        erase_personal_data_of(&tx, env, id, now).await?;
        tx.commit().await?;
        self.ended();
        self.compact_after_erasure().await;
        Ok(())
    }

    /// On a SQLite file, folds the write-ahead log into the database and empties it, so the erased
    /// rows' earlier versions do not linger in its frames (`secure_delete` already zeroes the
    /// database's own freed space). Best effort: a reader holding an old snapshot defers it to the
    /// next checkpoint, which SQLite runs by itself.
    pub(crate) async fn compact_after_erasure(&self) {
        if self.writes.is_none() {
            return;
        }
        if let Err(error) = self.db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await {
            tracing::warn!(%error, "checkpointing the SQLite log after an erasure failed");
        }
    }
}
