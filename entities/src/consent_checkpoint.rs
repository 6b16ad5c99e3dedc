//! `consent_checkpoints`: signed statements of an environment's chain head at a point in time.

use sea_orm::entity::prelude::*;

/// One checkpoint: the chain's `hash` at `sequence`, signed (compact JWS in `jws`) at `signed_at`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sequence: i64,
    pub hash: String,
    pub signed_at: DateTimeUtc,
    pub key_id: String,
    pub jws: String,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
