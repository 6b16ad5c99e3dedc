//! `browser_sessions`: one per browser that started an authorization; signed in once `user_id` is set.

use sea_orm::entity::prelude::*;

/// One browser session row; the cookie value is stored only as its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "browser_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub token_hash: String,
    pub user_id: Option<Uuid>,
    pub authenticated_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
