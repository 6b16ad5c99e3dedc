//! Audit filters that pair an application with a status (`application.id eq … and status eq …`)
//! get an index that serves them newest first without walking every record of that status.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Consents {
    Table,
    EnvironmentId,
    ApplicationId,
    ApplicationName,
    Status,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_consents_application_status")
                    .table(Consents::Table)
                    .col(Consents::EnvironmentId)
                    .col(Consents::ApplicationId)
                    .col(Consents::Status)
                    .col(Consents::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_consents_application_name_status")
                    .table(Consents::Table)
                    .col(Consents::EnvironmentId)
                    .col(Consents::ApplicationName)
                    .col(Consents::Status)
                    .col(Consents::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_consents_application_name_status").table(Consents::Table).to_owned())
            .await?;
        manager.drop_index(Index::drop().name("ix_consents_application_status").table(Consents::Table).to_owned()).await
    }
}
