//! Scopes, scoped by environment.

use super::reads::ReadExt;
use entities::scope;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use super::error::{conflict_on, touched};
use super::{Store, StoreError};
use crate::domain::ids::{EnvironmentId, ScopeId};
use crate::domain::paging::PageRequest;
use crate::domain::scopes::{ConsentPolicy, Scope};

fn policy_name(policy: ConsentPolicy) -> &'static str {
    match policy {
        ConsentPolicy::Implicit => "IMPLICIT",
        ConsentPolicy::Required => "REQUIRED",
        ConsentPolicy::Flexible => "FLEXIBLE",
    }
}

/// The row of a scope.
pub(super) fn to_row(s: &Scope) -> scope::Model {
    scope::Model {
        environment_id: s.environment_id.as_uuid(),
        id: s.id.as_uuid(),
        name: s.name.clone(),
        description: s.description.clone(),
        consent: policy_name(s.consent).to_owned(),
        block_services: s.block_services,
        built_in: s.built_in,
        text_version: s.text_version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

fn to_domain(row: scope::Model) -> Result<Scope, StoreError> {
    let consent = match row.consent.as_str() {
        "IMPLICIT" => ConsentPolicy::Implicit,
        "REQUIRED" => ConsentPolicy::Required,
        "FLEXIBLE" => ConsentPolicy::Flexible,
        other => return Err(StoreError::Database(format!("scope {} has unknown consent policy '{other}'", row.id))),
    };
    Ok(Scope {
        id: ScopeId::from_uuid(row.id),
        environment_id: EnvironmentId::from_uuid(row.environment_id),
        name: row.name,
        description: row.description,
        consent,
        block_services: row.block_services,
        built_in: row.built_in,
        text_version: row.text_version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn scoped(env: EnvironmentId) -> sea_orm::Select<scope::Entity> {
    scope::Entity::find().filter(scope::Column::EnvironmentId.eq(env.as_uuid()))
}

impl Store {
    /// Inserts a scope and version 1 of its text (with its event); a taken name is a conflict on `name`.
    pub async fn insert_scope(&self, env: EnvironmentId, s: &Scope) -> Result<(), StoreError> {
        debug_assert_eq!(env, s.environment_id);
        let tx = self.begin().await?;
        to_row(s).into_active_model().insert(&tx).await.map_err(conflict_on("name"))?;
        super::scope_texts::keep_text(&tx, std::slice::from_ref(s)).await?;
        tx.commit().await?;
        self.changed(env);
        Ok(())
    }

    /// Reads one scope.
    pub async fn get_scope(&self, env: EnvironmentId, id: ScopeId) -> Result<Scope, StoreError> {
        let row = scoped(env).filter(scope::Column::Id.eq(id.as_uuid())).read_one(&self.reads).await?;
        to_domain(row.ok_or(StoreError::NotFound)?)
    }

    /// Every scope of the environment, in creation order, from the catalog while it is fresh.
    pub async fn all_scopes(&self, env: EnvironmentId) -> Result<Vec<Scope>, StoreError> {
        let rows = match self.catalog.scopes(env.as_uuid()) {
            Some(rows) => rows,
            None => {
                let start = self.catalog.start();
                let rows = scoped(env).order_by_asc(scope::Column::Id).read_all(&self.reads).await?;
                self.catalog.keep_scopes(start, env.as_uuid(), rows)
            }
        };
        rows.iter().cloned().map(to_domain).collect()
    }

    /// Up to `limit` scopes after the cursor id, in creation order.
    pub async fn list_scopes(&self, env: EnvironmentId, page: PageRequest) -> Result<Vec<Scope>, StoreError> {
        let query = super::paging::keyset(scoped(env), scope::Column::Id, false, page);
        query.read_all(&self.reads).await?.into_iter().map(to_domain).collect()
    }

    /// How many scopes the environment has, counting no further than `bound + 1`.
    pub async fn count_scopes(&self, env: EnvironmentId, bound: u64) -> Result<u64, StoreError> {
        Ok(scoped(env).read_count_upto(&self.reads, bound).await?)
    }

    /// The names among `names` that are scopes of the environment.
    pub async fn existing_scope_names(&self, env: EnvironmentId, names: &[String]) -> Result<Vec<String>, StoreError> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        let rows = scoped(env)
            .select_only()
            .column(scope::Column::Name)
            .filter(scope::Column::Name.is_in(names.iter().cloned()))
            .read_tuples::<String>(&self.reads)
            .await?;
        Ok(rows)
    }

    /// Writes every setting of `s`; when `text_changed`, keeps its new text version (with its event).
    pub async fn update_scope(&self, env: EnvironmentId, s: &Scope, text_changed: bool) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let result = scope::Entity::update_many()
            .col_expr(scope::Column::Name, Expr::value(s.name.clone()))
            .col_expr(scope::Column::Description, Expr::value(s.description.clone()))
            .col_expr(scope::Column::Consent, Expr::value(policy_name(s.consent)))
            .col_expr(scope::Column::BlockServices, Expr::value(s.block_services))
            .col_expr(scope::Column::TextVersion, Expr::value(s.text_version))
            .col_expr(scope::Column::UpdatedAt, Expr::value(s.updated_at))
            .filter(scope::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(scope::Column::Id.eq(s.id.as_uuid()))
            .exec(&tx)
            .await
            .map_err(conflict_on("name"))?;
        touched(result.rows_affected)?;
        if text_changed {
            super::scope_texts::keep_text(&tx, std::slice::from_ref(s)).await?;
        }
        tx.commit().await?;
        self.changed(env);
        Ok(())
    }

    /// Deletes a scope.
    pub async fn delete_scope(&self, env: EnvironmentId, id: ScopeId) -> Result<(), StoreError> {
        let result = scope::Entity::delete_many()
            .filter(scope::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(scope::Column::Id.eq(id.as_uuid()))
            .exec(&self.db)
            .await;
        self.changed(env);
        touched(result?.rows_affected)
    }
}
