//! `scope_texts`: every version of every scope's consent text, kept for as long as records name it.

use sea_orm::entity::prelude::*;

/// One version of a scope's text.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scope_texts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: Uuid,
    /// This version's own id (the subject of its `scope.text_changed` event).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub scope_id: Uuid,
    /// 1 for the text the scope was created with, then one more per change.
    pub version: i32,
    pub description: Option<String>,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
