//! Webhook subscriptions, scoped by environment.

use entities::{webhook_attempt, webhook_subscription};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder};

use super::error::touched;
use super::reads::ReadExt;
use super::{Store, StoreError};
use crate::domain::ids::{EnvironmentId, SubscriptionId};
use crate::domain::proof::EventType;
use crate::domain::subscriptions::{DeliveryState, Subscription};

pub(super) fn to_domain(row: webhook_subscription::Model) -> Result<Subscription, StoreError> {
    let names: Vec<String> = serde_json::from_value(row.event_types.clone())
        .map_err(|_| StoreError::Database(format!("subscription {} has an invalid event type list", row.id)))?;
    Ok(Subscription {
        id: SubscriptionId::from_uuid(row.id),
        environment_id: EnvironmentId::from_uuid(row.environment_id),
        url: row.url,
        event_types: names.iter().filter_map(|name| EventType::from_name(name)).collect(),
        enabled: row.enabled,
        disabled_reason: row.disabled_reason,
        created_at: row.created_at,
        updated_at: row.updated_at,
        delivery: DeliveryState {
            delivered_through: row.delivered_through,
            failures: u32::try_from(row.failures).unwrap_or(0),
            failing_since: row.failing_since,
            next_attempt_at: row.next_attempt_at,
        },
    })
}

fn names(subscription: &Subscription) -> serde_json::Value {
    serde_json::Value::Array(subscription.event_types.iter().map(|k| k.name().into()).collect())
}

fn scoped(env: EnvironmentId) -> sea_orm::Select<webhook_subscription::Entity> {
    webhook_subscription::Entity::find().filter(webhook_subscription::Column::EnvironmentId.eq(env.as_uuid()))
}

impl Store {
    /// Inserts a subscription with its sealed secret.
    pub async fn insert_subscription(&self, s: &Subscription, secret_sealed: &[u8]) -> Result<(), StoreError> {
        webhook_subscription::Model {
            environment_id: s.environment_id.as_uuid(),
            id: s.id.as_uuid(),
            url: s.url.clone(),
            event_types: names(s),
            enabled: s.enabled,
            secret_sealed: secret_sealed.to_vec(),
            disabled_reason: s.disabled_reason.clone(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            delivered_through: s.delivery.delivered_through,
            failures: 0,
            failing_since: None,
            next_attempt_at: None,
            lease_owner: None,
            lease_until: None,
            previous_secret_sealed: None,
            previous_secret_until: None,
        }
        .into_active_model()
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// How many subscriptions the environment has.
    pub async fn count_subscriptions(&self, env: EnvironmentId) -> Result<u64, StoreError> {
        Ok(scoped(env).count(&self.db).await?)
    }

    /// The environment's subscriptions, oldest first.
    pub async fn list_subscriptions(&self, env: EnvironmentId) -> Result<Vec<Subscription>, StoreError> {
        let rows = scoped(env).order_by_asc(webhook_subscription::Column::Id).read_all(&self.reads).await?;
        rows.into_iter().map(to_domain).collect()
    }

    /// One subscription.
    pub async fn get_subscription(&self, env: EnvironmentId, id: SubscriptionId) -> Result<Subscription, StoreError> {
        let row = scoped(env).filter(webhook_subscription::Column::Id.eq(id.as_uuid())).read_one(&self.reads).await?;
        to_domain(row.ok_or(StoreError::NotFound)?)
    }

    /// Writes a subscription's settings and its failure state (not its place in the log, which
    /// only the dispatcher moves).
    pub async fn update_subscription(&self, s: &Subscription) -> Result<(), StoreError> {
        let result = webhook_subscription::Entity::update_many()
            .col_expr(webhook_subscription::Column::Url, Expr::value(s.url.clone()))
            .col_expr(webhook_subscription::Column::EventTypes, Expr::value(names(s)))
            .col_expr(webhook_subscription::Column::Enabled, Expr::value(s.enabled))
            .col_expr(webhook_subscription::Column::DisabledReason, Expr::value(s.disabled_reason.clone()))
            .col_expr(webhook_subscription::Column::UpdatedAt, Expr::value(s.updated_at))
            .col_expr(webhook_subscription::Column::Failures, Expr::value(s.delivery.failures as i32))
            .col_expr(webhook_subscription::Column::FailingSince, Expr::value(s.delivery.failing_since))
            .col_expr(webhook_subscription::Column::NextAttemptAt, Expr::value(s.delivery.next_attempt_at))
            .filter(webhook_subscription::Column::EnvironmentId.eq(s.environment_id.as_uuid()))
            .filter(webhook_subscription::Column::Id.eq(s.id.as_uuid()))
            .exec(&self.db)
            .await?;
        touched(result.rows_affected)
    }

    /// Replaces a subscription's sealed secret; the one it replaces keeps signing until
    /// `previous_until`.
    pub async fn replace_subscription_secret(
        &self,
        env: EnvironmentId,
        id: SubscriptionId,
        secret_sealed: &[u8],
        now: chrono::DateTime<chrono::Utc>,
        previous_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        // Assignments read the row as it was, so the previous secret is the one being replaced.
        let result = webhook_subscription::Entity::update_many()
            .col_expr(
                webhook_subscription::Column::PreviousSecretSealed,
                Expr::col(webhook_subscription::Column::SecretSealed),
            )
            .col_expr(webhook_subscription::Column::PreviousSecretUntil, Expr::value(previous_until))
            .col_expr(webhook_subscription::Column::SecretSealed, Expr::value(secret_sealed.to_vec()))
            .col_expr(webhook_subscription::Column::UpdatedAt, Expr::value(now))
            .filter(webhook_subscription::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(webhook_subscription::Column::Id.eq(id.as_uuid()))
            .exec(&self.db)
            .await?;
        touched(result.rows_affected)
    }

    /// Deletes a subscription and its attempt log.
    pub async fn delete_subscription(&self, env: EnvironmentId, id: SubscriptionId) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let result = webhook_subscription::Entity::delete_many()
            .filter(webhook_subscription::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(webhook_subscription::Column::Id.eq(id.as_uuid()))
            .exec(&tx)
            .await?;
        touched(result.rows_affected)?;
        webhook_attempt::Entity::delete_many()
            .filter(webhook_attempt::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(webhook_attempt::Column::SubscriptionId.eq(id.as_uuid()))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
