//! Auditors' totals (records per application and effective status) read only the
//! `(environment, application, status, id)` index, once it also carries `expires_at`: `ACCEPTED`
//! and `EXPIRED` differ by expiry alone. The column goes after `id`, so the index still serves
//! `application.id eq … and status eq …` newest first, and it replaces the old one instead of
//! adding a second index to every record write.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Consents {
    Table,
    EnvironmentId,
    ApplicationId,
    Status,
    Id,
    ExpiresAt,
}

const OLD: &str = "ix_consents_application_status";
const NEW: &str = "ix_consents_application_status_expiry";

fn application_status(name: &str, with_expiry: bool) -> IndexCreateStatement {
    let mut index = Index::create()
        .name(name)
        .table(Consents::Table)
        .col(Consents::EnvironmentId)
        .col(Consents::ApplicationId)
        .col(Consents::Status)
        .col(Consents::Id)
        .to_owned();
    if with_expiry {
        index.col(Consents::ExpiresAt);
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The new index first: queries keep an index while the old one goes.
        manager.create_index(application_status(NEW, true)).await?;
        manager.drop_index(Index::drop().name(OLD).table(Consents::Table).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(application_status(OLD, false)).await?;
        manager.drop_index(Index::drop().name(NEW).table(Consents::Table).to_owned()).await
    }
}
