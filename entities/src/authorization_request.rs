//! `authorization_requests`: a validated `/authorize` request waiting for login and consent.

use sea_orm::entity::prelude::*;

/// One pending authorization; its handle (the consent form's CSRF token) is stored as its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub handle_hash: String,
    pub browser_session_id: Uuid,
    pub client_id: Uuid,
    pub redirect_uri: String,
    pub scopes: Json,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub user_agent: Option<String>,
    pub client_ip: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub kind: String,
    pub verifier_hash: Option<String>,
    pub outcome: Option<String>,
    pub user_id: Option<Uuid>,
    pub login_challenge: Option<String>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
