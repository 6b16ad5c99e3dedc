//! `authorization_codes`: single-use codes, stored as their SHA-256.

use sea_orm::entity::prelude::*;

/// One authorization code row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub grant_id: Uuid,
    pub client_id: Uuid,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
