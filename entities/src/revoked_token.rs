//! `revoked_tokens`: access tokens revoked before their expiry (RFC 7009), by `jti`.

use sea_orm::entity::prelude::*;

/// One revoked access token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revoked_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    pub expires_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
