//! `webhook_attempts`: every delivery attempt of an event to a subscription.

use sea_orm::entity::prelude::*;

/// One attempt.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    /// Time-ordered (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub subscription_id: Uuid,
    /// The event's sequence in its environment's chain.
    pub sequence: i64,
    pub event_type: String,
    pub attempted_at: DateTimeUtc,
    /// The destination's HTTP status, when it answered.
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    /// Why the attempt failed, when it did.
    pub error: Option<String>,
    pub delivered: bool,
    /// A replay asked for by an administrator.
    pub manual: bool,
    /// When the event is tried again, after a failure.
    pub next_attempt_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
