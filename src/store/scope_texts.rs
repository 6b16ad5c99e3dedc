//! Versions of scope texts: each kept in the transaction that makes it, with its
//! `scope.text_changed` event, and read back for receipts, exports and the versions list.

use entities::scope_text;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::reads::ReadExt;
use super::{Store, StoreError};
use crate::domain::ids::{EnvironmentId, ScopeId};
use crate::domain::proof::content::scope_text_event;
use crate::domain::scopes::{Scope, ScopeText};

fn to_domain(row: scope_text::Model) -> ScopeText {
    ScopeText {
        id: row.id,
        scope_id: ScopeId::from_uuid(row.scope_id),
        version: row.version,
        description: row.description,
        created_at: row.created_at,
    }
}

/// Keeps the current version of `scope`'s text and appends its `scope.text_changed` event, inside
/// the caller's transaction.
pub(super) async fn keep_text(db: &impl ConnectionTrait, scopes: &[Scope]) -> Result<(), StoreError> {
    let Some(env) = scopes.first().map(|s| s.environment_id) else { return Ok(()) };
    let mut events = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let text = ScopeText::current(scope);
        events.push(scope_text_event(&text));
        scope_text::Model {
            environment_id: env.as_uuid(),
            id: text.id,
            scope_id: text.scope_id.as_uuid(),
            version: text.version,
            description: text.description,
            created_at: text.created_at,
        }
        .into_active_model()
        .insert(db)
        .await?;
    }
    super::events::append(db, env, events).await?;
    Ok(())
}

impl Store {
    /// Versions of a scope's text, newest first, older than `before` (all when `None`).
    pub async fn scope_text_versions(
        &self,
        env: EnvironmentId,
        scope: ScopeId,
        before: Option<i32>,
        limit: u64,
    ) -> Result<Vec<ScopeText>, StoreError> {
        let mut query = scope_text::Entity::find()
            .filter(scope_text::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(scope_text::Column::ScopeId.eq(scope.as_uuid()));
        if let Some(before) = before {
            query = query.filter(scope_text::Column::Version.lt(before));
        }
        let rows = query.order_by_desc(scope_text::Column::Version).limit(limit).read_all(&self.reads).await?;
        Ok(rows.into_iter().map(to_domain).collect())
    }

    /// The text versions of `env` among `ids`, in no particular order.
    pub async fn scope_texts_by_ids(&self, env: EnvironmentId, ids: &[Uuid]) -> Result<Vec<ScopeText>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = scope_text::Entity::find()
            .filter(scope_text::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(scope_text::Column::Id.is_in(ids.iter().copied()))
            .read_all(&self.reads)
            .await?;
        Ok(rows.into_iter().map(to_domain).collect())
    }

    /// The given versions (scope and version) of `env`'s scope texts, in no particular order.
    pub async fn scope_texts_at(
        &self,
        env: EnvironmentId,
        wanted: &[(ScopeId, i32)],
    ) -> Result<Vec<ScopeText>, StoreError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let scopes: Vec<Uuid> = wanted.iter().map(|(scope, _)| scope.as_uuid()).collect();
        let rows = scope_text::Entity::find()
            .filter(scope_text::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(scope_text::Column::ScopeId.is_in(scopes))
            .read_all(&self.reads)
            .await?;
        Ok(rows.into_iter().map(to_domain).filter(|text| wanted.contains(&(text.scope_id, text.version))).collect())
    }
}
