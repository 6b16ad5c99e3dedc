//! `consents`: the consent ledger (hash-partitioned by environment on PostgreSQL).

use sea_orm::entity::prelude::*;

/// One consent record row; `scopes` is a JSON array kept in the order given.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub application_id: Uuid,
    pub application_name: String,
    pub application_type: String,
    pub scopes: Json,
    pub status: String,
    pub browser_name: Option<String>,
    pub browser_version: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub device_type: Option<String>,
    pub remote_ip: String,
    pub city: Option<String>,
    pub state: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub consented_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub source: String,
    pub remembered: bool,
    /// When the record was revoked; set once, with the status.
    pub revoked_at: Option<DateTimeUtc>,
    /// What revoked it (`USER`, `ADMINISTRATOR`, …); `UNKNOWN` for records revoked before it was kept.
    pub revoked_by_type: Option<String>,
    /// Who revoked it (a user, a worker or a deleted application), when known.
    pub revoked_by_id: Option<Uuid>,
    /// The scope text versions shown when consent was given (`[{scope, scopeId, version}]`); null
    /// when none were kept (records of the API, of external consent apps, or made before versions).
    pub scope_texts: Option<Json>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
