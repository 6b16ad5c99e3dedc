//! `consent_event_heads`: the last event of each environment's chain; its row lock serialises appends.

use sea_orm::entity::prelude::*;

/// One environment's chain head.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_event_heads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    /// The last sequence number appended (0: none yet).
    pub sequence: i64,
    pub hash: String,
    /// Records expiring up to this instant have had their `consent.expired` event appended.
    pub expired_through: Option<DateTimeUtc>,
    /// The sequence of the last signed checkpoint (0: none yet).
    pub checkpoint_sequence: i64,
    /// When the last checkpoint was signed.
    pub checkpoint_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
