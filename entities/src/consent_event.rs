//! `consent_events`: the append-only, hash-chained log of every change to an environment's ledger.

use sea_orm::entity::prelude::*;

/// One event; `hash` covers every other column and the previous event's hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sequence: i64,
    pub event_type: String,
    pub occurred_at: DateTimeUtc,
    /// The record (or user, application, scope) the event is about.
    pub subject_id: Uuid,
    pub digest: String,
    pub previous_hash: String,
    pub hash: String,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
