//! Who revoked a consent record, and when: `revoked_at`, `revoked_by_type` and `revoked_by_id`,
//! written once with the status. Records revoked before this migration get `revoked_at` from their
//! `updated_at` (revoking was the only change a record could undergo) and the type `UNKNOWN`.
//! Indexes serve `revokedAt` filters (only revoked rows are indexed) and `application.name`
//! filters that look applications up by their current name.

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
enum Applications {
    Table,
    EnvironmentId,
    Name,
}

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
            .create_index(
                Index::create()
                    .name("ix_applications_name")
                    .table(Applications::Table)
                    .col(Applications::EnvironmentId)
                    .col(Applications::Name)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_applications_name").table(Applications::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_consents_revoked_at").table(Consents::Table).to_owned()).await?;
        for column in [Consents::RevokedById, Consents::RevokedByType, Consents::RevokedAt] {
            manager.alter_table(Table::alter().table(Consents::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
