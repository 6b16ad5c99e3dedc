//! `environments`: the tenants.

use sea_orm::entity::prelude::*;

/// One environment row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "environments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub login_url: Option<String>,
    pub consent_url: Option<String>,
    /// Browser origins allowed to call the records and token endpoints (a JSON array of strings).
    pub cors_origins: Json,
    /// The data controller named in consent receipts, how to contact them, their privacy policy.
    pub controller_name: Option<String>,
    pub controller_contact: Option<String>,
    pub privacy_policy_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
