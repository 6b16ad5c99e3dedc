//! Worker permissions: a worker application's power is the permission scopes its `scopes` lists
//! (`p1:admin`, `p1:read:oauthConsents`, `p1:create:oauthConsents`, `p1:update:oauthConsents`).
//! Every worker was an administrator until now, so each existing worker gets `p1:admin` listed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Appends `p1:admin` to the scopes of every worker that does not list it yet.
const SQLITE_GRANT_ADMIN: &str = "UPDATE applications SET scopes = json_insert(scopes, '$[#]', 'p1:admin') \
     WHERE app_type = 'WORKER' \
     AND NOT EXISTS (SELECT 1 FROM json_each(applications.scopes) WHERE json_each.value = 'p1:admin')";

/// The same on PostgreSQL, where `scopes` is `json` (without containment operators of its own).
const POSTGRES_GRANT_ADMIN: &str = "UPDATE applications SET scopes = (scopes::jsonb || '[\"p1:admin\"]'::jsonb)::json \
     WHERE app_type = 'WORKER' AND NOT (scopes::jsonb @> '[\"p1:admin\"]'::jsonb)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statement = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_GRANT_ADMIN,
            _ => SQLITE_GRANT_ADMIN,
        };
        manager.get_connection().execute_unprepared(statement).await?;
        Ok(())
    }

    /// Keeps the listed `p1:admin`: earlier versions grant it to every worker anyway.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
