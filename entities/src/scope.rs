//! `scopes`: OAuth scopes of an environment with their consent policy.

use sea_orm::entity::prelude::*;

/// One scope row; `consent` is `IMPLICIT`, `REQUIRED` or `FLEXIBLE`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scopes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub consent: String,
    pub block_services: bool,
    pub built_in: bool,
    /// The version of `description` in `scope_texts`.
    pub text_version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
