//! Who revoked a consent record, and when: `revoked_at`, `revoked_by_type` and `revoked_by_id`,
//! written once with the status. Records revoked before this migration get `revoked_at` from their
//! `updated_at` (revoking was the only change a record could undergo) and the type `UNKNOWN`.
//! A partial index serves `revokedAt` filters (only revoked rows are indexed).
//!
//! `application_names` keeps every name a registered application has had (filled here from the
//! applications and the names their records were recorded under), so `application.name` filters
//! can tell when a name stands for exactly one application and look its records up by id.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Consents {
    Table,
    EnvironmentId,
    Status,
    UpdatedAt,
    RevokedAt,
    RevokedByType,
    RevokedById,
}

#[derive(DeriveIden)]
enum ApplicationNames {
    Table,
    EnvironmentId,
    Name,
    ApplicationId,
}

/// Names of today's applications, and those their records were given under (also of applications
/// deleted since); `UNION` drops the duplicates.
const BACKFILL_NAMES: &str = r#"
INSERT INTO application_names (environment_id, name, application_id)
SELECT environment_id, name, id FROM applications
UNION
SELECT environment_id, application_name, application_id FROM consents WHERE application_type = 'PINGONE'
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [
            ColumnDef::new(Consents::RevokedAt).timestamp_with_time_zone().null().to_owned(),
            ColumnDef::new(Consents::RevokedByType).string().null().to_owned(),
            ColumnDef::new(Consents::RevokedById).uuid().null().to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Consents::Table).add_column(column).to_owned()).await?;
        }
        manager
            .exec_stmt(
                Query::update()
                    .table(Consents::Table)
                    .value(Consents::RevokedAt, Expr::col(Consents::UpdatedAt))
                    .value(Consents::RevokedByType, "UNKNOWN")
                    .and_where(Expr::col(Consents::Status).eq("REVOKED"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_consents_revoked_at")
                    .table(Consents::Table)
                    .col(Consents::EnvironmentId)
                    .col(Consents::RevokedAt)
                    .and_where(Expr::col(Consents::RevokedAt).is_not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApplicationNames::Table)
                    .col(ColumnDef::new(ApplicationNames::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(ApplicationNames::Name).string().not_null())
                    .col(ColumnDef::new(ApplicationNames::ApplicationId).uuid().not_null())
                    .primary_key(
                        Index::create()
                            .col(ApplicationNames::EnvironmentId)
                            .col(ApplicationNames::Name)
                            .col(ApplicationNames::ApplicationId),
                    )
                    .to_owned(),
            )
            .await?;
        manager.get_connection().execute_unprepared(BACKFILL_NAMES).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApplicationNames::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_consents_revoked_at").table(Consents::Table).to_owned()).await?;
        for column in [Consents::RevokedById, Consents::RevokedByType, Consents::RevokedAt] {
            manager.alter_table(Table::alter().table(Consents::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
