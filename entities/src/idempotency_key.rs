//! `idempotency_keys`: the first answer to a POST sent with an `Idempotency-Key`, per environment.

use sea_orm::entity::prelude::*;

/// A key in use (`completed = false`: its request is still running) or answered.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    /// SHA-256 of the key, hex: the key itself is the client's and is not kept.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_digest: String,
    /// SHA-256 of what the request asked (caller, method, path, body), hex.
    pub fingerprint: String,
    /// Which request holds the key while it runs.
    pub claim: Uuid,
    pub completed: bool,
    pub status: Option<i32>,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub etag: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub body: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
