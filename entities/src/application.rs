//! `applications`: OAuth clients of an environment.

use sea_orm::entity::prelude::*;

/// One application row; list-valued settings are JSON arrays of wire names.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub protocol: String,
    pub app_type: String,
    pub grant_types: Json,
    pub response_types: Json,
    pub redirect_uris: Json,
    pub token_endpoint_auth_method: String,
    pub pkce_enforcement: String,
    pub consent_method: String,
    pub scopes: Json,
    pub secret_hash: String,
    pub secret_sealed: Vec<u8>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub credential_version: i32,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
