//! `grant_consents`: the consent records a grant rests on; revoking one of them ends the grant.

use sea_orm::entity::prelude::*;

/// One (consent record, grant) pair.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "grant_consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub consent_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub grant_id: Uuid,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
