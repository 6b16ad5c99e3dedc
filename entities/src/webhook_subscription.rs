//! `webhook_subscriptions`: where an environment's consent events are delivered.

use sea_orm::entity::prelude::*;

/// One subscription.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub url: String,
    /// Event type names (a JSON array of strings).
    pub event_types: Json,
    pub enabled: bool,
    /// The signing secret's bytes, sealed under the master key.
    pub secret_sealed: Vec<u8>,
    /// Why the subscription was disabled, when the service disabled it.
    pub disabled_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The last event sequence delivered (or skipped as not subscribed).
    pub delivered_through: i64,
    /// Failed attempts in a row at the event after `delivered_through`.
    pub failures: i32,
    /// When the current run of failures began.
    pub failing_since: Option<DateTimeUtc>,
    /// Not before this is the next attempt made.
    pub next_attempt_at: Option<DateTimeUtc>,
    /// The node delivering it now.
    pub lease_owner: Option<Uuid>,
    /// Until when that node holds it.
    pub lease_until: Option<DateTimeUtc>,
    /// The secret before the last rotation, sealed; it signs too until `previous_secret_until`.
    pub previous_secret_sealed: Option<Vec<u8>>,
    pub previous_secret_until: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
