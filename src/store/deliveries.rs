//! Webhook delivery state: which subscriptions have events waiting, the lease one node takes to
//! deliver a subscription, the cursor it moves, and the attempt log.
//!
//! Finding waiting subscriptions is the one query here that spans environments (like the hourly
//! purge): a dispatcher serves every environment. Everything after it names the environment.

use chrono::{DateTime, Utc};
use entities::{webhook_attempt, webhook_subscription};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use uuid::Uuid;

use super::reads::ReadExt;
use super::{Store, StoreError};
use crate::domain::ids::{EnvironmentId, SubscriptionId};
use crate::domain::paging::{PageRequest, Position};
use crate::domain::proof::EventType;
use crate::domain::subscriptions::Subscription;
use crate::domain::webhooks::{Attempt, SealedSecrets};

/// Attempt rows per `INSERT`: 12 columns each.
const ATTEMPTS_PER_STATEMENT: usize = 500;

/// How a delivery run leaves its subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Every event up to here is delivered or not subscribed.
    pub delivered_through: i64,
    /// Failed attempts in a row at the next event.
    pub failures: u32,
    /// When that run of failures began.
    pub failing_since: Option<DateTime<Utc>>,
    /// Not tried again before this.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// `Some`: the lease is kept (renewed to this); `None`: released.
    pub lease_until: Option<DateTime<Utc>>,
    /// `Some`: the subscription is disabled, for this reason.
    pub disabled_reason: Option<String>,
}

fn attempt_row(attempt: &Attempt) -> webhook_attempt::ActiveModel {
    webhook_attempt::Model {
        environment_id: attempt.environment_id.as_uuid(),
        id: attempt.id,
        subscription_id: attempt.subscription_id.as_uuid(),
        sequence: attempt.sequence,
        event_type: attempt.event_type.name().to_owned(),
        attempted_at: attempt.attempted_at,
        status_code: attempt.status_code.map(i32::from),
        latency_ms: i64::try_from(attempt.latency.as_millis()).unwrap_or(i64::MAX),
        error: attempt.error.clone(),
        delivered: attempt.delivered,
        manual: attempt.manual,
        next_attempt_at: attempt.next_attempt_at,
    }
    .into_active_model()
}

fn to_attempt(row: webhook_attempt::Model) -> Result<Attempt, StoreError> {
    let event_type = EventType::from_name(&row.event_type)
        .ok_or_else(|| StoreError::Database(format!("attempt {} has an unknown event type", row.id)))?;
    Ok(Attempt {
        id: row.id,
        environment_id: EnvironmentId::from_uuid(row.environment_id),
        subscription_id: SubscriptionId::from_uuid(row.subscription_id),
        sequence: row.sequence,
        event_type,
        attempted_at: row.attempted_at,
        status_code: row.status_code.and_then(|code| u16::try_from(code).ok()),
        latency: std::time::Duration::from_millis(u64::try_from(row.latency_ms).unwrap_or(0)),
        error: row.error,
        delivered: row.delivered,
        manual: row.manual,
        next_attempt_at: row.next_attempt_at,
    })
}

fn sealed_secrets(row: &webhook_subscription::Model) -> SealedSecrets {
    SealedSecrets {
        current: row.secret_sealed.clone(),
        previous: row.previous_secret_sealed.clone().zip(row.previous_secret_until),
    }
}

fn one(env: EnvironmentId, id: SubscriptionId) -> Condition {
    Condition::all()
        .add(webhook_subscription::Column::EnvironmentId.eq(env.as_uuid()))
        .add(webhook_subscription::Column::Id.eq(id.as_uuid()))
}

impl Store {
    /// Up to `limit` enabled subscriptions, of any environment, with events after their cursor,
    /// due for an attempt and not leased by a live node at `now`; soonest due first.
    pub async fn waiting_subscriptions(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<(EnvironmentId, SubscriptionId)>, StoreError> {
        use webhook_subscription::Column;
        let behind = Expr::cust(
            "(SELECT h.sequence FROM consent_event_heads h \
             WHERE h.environment_id = webhook_subscriptions.environment_id) > webhook_subscriptions.delivered_through",
        );
        let rows: Vec<(Uuid, Uuid)> = webhook_subscription::Entity::find()
            .select_only()
            .column(Column::EnvironmentId)
            .column(Column::Id)
            .filter(Column::Enabled.eq(true))
            .filter(Condition::any().add(Column::LeaseUntil.is_null()).add(Column::LeaseUntil.lt(now)))
            .filter(Condition::any().add(Column::NextAttemptAt.is_null()).add(Column::NextAttemptAt.lte(now)))
            .filter(behind)
            .order_by_asc(Column::NextAttemptAt)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|(env, id)| (EnvironmentId::from_uuid(env), SubscriptionId::from_uuid(id))).collect())
    }

    /// Whether any environment has an enabled subscription.
    pub async fn any_enabled_subscription(&self) -> Result<bool, StoreError> {
        let found: Option<Uuid> = webhook_subscription::Entity::find()
            .select_only()
            .column(webhook_subscription::Column::Id)
            .filter(webhook_subscription::Column::Enabled.eq(true))
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(found.is_some())
    }

    /// Events after the cursors of every enabled subscription, of any type and environment (an
    /// upper bound on the messages waiting: events of types a subscription does not take count).
    pub async fn webhook_backlog(&self) -> Result<i64, StoreError> {
        let waiting = Expr::cust(
            "CAST(COALESCE(SUM((SELECT h.sequence FROM consent_event_heads h \
             WHERE h.environment_id = webhook_subscriptions.environment_id) - webhook_subscriptions.delivered_through), 0) \
             AS BIGINT)",
        );
        let total: Option<i64> = webhook_subscription::Entity::find()
            .select_only()
            .column_as(waiting, "waiting")
            .filter(webhook_subscription::Column::Enabled.eq(true))
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(total.unwrap_or(0))
    }

    /// Takes the lease of a subscription for `owner` until `until`, if it is enabled, due and not
    /// leased by another live node; answers it and its sealed secret, or `None` when another took it.
    pub async fn claim_subscription(
        &self,
        env: EnvironmentId,
        id: SubscriptionId,
        owner: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<(Subscription, SealedSecrets)>, StoreError> {
        use webhook_subscription::Column;
        let claimed = webhook_subscription::Entity::update_many()
            .col_expr(Column::LeaseOwner, Expr::value(owner))
            .col_expr(Column::LeaseUntil, Expr::value(until))
            .filter(one(env, id))
            .filter(Column::Enabled.eq(true))
            .filter(
                Condition::any()
                    .add(Column::LeaseUntil.is_null())
                    .add(Column::LeaseUntil.lt(now))
                    .add(Column::LeaseOwner.eq(owner)),
            )
            .filter(Condition::any().add(Column::NextAttemptAt.is_null()).add(Column::NextAttemptAt.lte(now)))
            .exec(&self.db)
            .await?;
        if claimed.rows_affected == 0 {
            return Ok(None);
        }
        let Some(row) = webhook_subscription::Entity::find().filter(one(env, id)).one(&self.db).await? else {
            return Ok(None);
        };
        let sealed = sealed_secrets(&row);
        Ok(Some((super::subscriptions::to_domain(row)?, sealed)))
    }

    /// Saves a delivery run's progress and its attempts in one transaction, while `owner` still
    /// holds the lease of an enabled subscription; answers false (saving nothing) when it does not
    /// (the lease expired and another node took it, or the subscription was disabled or deleted).
    pub async fn save_progress(
        &self,
        env: EnvironmentId,
        id: SubscriptionId,
        owner: Uuid,
        progress: &Progress,
        attempts: &[Attempt],
    ) -> Result<bool, StoreError> {
        use webhook_subscription::Column;
        let tx = self.begin().await?;
        let mut update = webhook_subscription::Entity::update_many()
            .col_expr(Column::DeliveredThrough, Expr::value(progress.delivered_through))
            .col_expr(Column::Failures, Expr::value(i32::try_from(progress.failures).unwrap_or(i32::MAX)))
            .col_expr(Column::FailingSince, Expr::value(progress.failing_since))
            .col_expr(Column::NextAttemptAt, Expr::value(progress.next_attempt_at))
            .col_expr(Column::LeaseUntil, Expr::value(progress.lease_until))
            .filter(one(env, id))
            .filter(Column::Enabled.eq(true))
            .filter(Column::LeaseOwner.eq(owner));
        if progress.lease_until.is_none() {
            update = update.col_expr(Column::LeaseOwner, Expr::value(Option::<Uuid>::None));
        }
        if let Some(reason) = &progress.disabled_reason {
            update = update
                .col_expr(Column::Enabled, Expr::value(false))
                .col_expr(Column::DisabledReason, Expr::value(reason.clone()))
                .col_expr(Column::UpdatedAt, Expr::value(crate::domain::now()));
        }
        if update.exec(&tx).await?.rows_affected == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        self.insert_attempts_in(&tx, attempts).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_attempts_in(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        attempts: &[Attempt],
    ) -> Result<(), StoreError> {
        for chunk in attempts.chunks(ATTEMPTS_PER_STATEMENT) {
            let insert = webhook_attempt::Entity::insert_many(chunk.iter().map(attempt_row));
            db.execute_raw(insert.build(db.get_database_backend())).await?;
        }
        Ok(())
    }

    /// Gives up every lease `owner` holds, in any environment.
    pub async fn release_leases(&self, owner: Uuid) -> Result<(), StoreError> {
        webhook_subscription::Entity::update_many()
            .col_expr(webhook_subscription::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
            .col_expr(webhook_subscription::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(webhook_subscription::Column::LeaseOwner.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Logs one attempt made outside a delivery run (a replay).
    pub async fn insert_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        self.insert_attempts_in(&self.db, std::slice::from_ref(attempt)).await
    }

    /// A subscription and its sealed secrets, from one read.
    pub async fn subscription_with_secrets(
        &self,
        env: EnvironmentId,
        id: SubscriptionId,
    ) -> Result<(Subscription, SealedSecrets), StoreError> {
        let row = webhook_subscription::Entity::find().filter(one(env, id)).read_one(&self.reads).await?;
        let row = row.ok_or(StoreError::NotFound)?;
        let sealed = sealed_secrets(&row);
        Ok((super::subscriptions::to_domain(row)?, sealed))
    }

    /// Up to `request.fetch()` of a subscription's attempts from the request's position: newest
    /// first, or, reading backwards, the nearest newer ones first.
    pub async fn list_attempts(
        &self,
        env: EnvironmentId,
        subscription: SubscriptionId,
        request: PageRequest,
    ) -> Result<Vec<Attempt>, StoreError> {
        use webhook_attempt::Column;
        let query = webhook_attempt::Entity::find()
            .filter(Column::EnvironmentId.eq(env.as_uuid()))
            .filter(Column::SubscriptionId.eq(subscription.as_uuid()));
        let query = match request.position {
            None => query.order_by_desc(Column::Id),
            Some(Position::After(id)) => query.filter(Column::Id.lt(id)).order_by_desc(Column::Id),
            Some(Position::Before(id)) => query.filter(Column::Id.gt(id)).order_by_asc(Column::Id),
        };
        query.limit(request.fetch()).read_all(&self.reads).await?.into_iter().map(to_attempt).collect()
    }

    /// Deletes `env`'s attempts made before `cutoff`; answers how many.
    pub(super) async fn purge_attempts(&self, env: Uuid, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(webhook_attempt::Entity::delete_many()
            .filter(webhook_attempt::Column::EnvironmentId.eq(env))
            .filter(webhook_attempt::Column::AttemptedAt.lt(cutoff))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}
