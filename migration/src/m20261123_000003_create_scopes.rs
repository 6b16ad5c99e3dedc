//! Scopes of each environment, with Okta-style consent policies.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Scopes {
    Table,
    EnvironmentId,
    Id,
    Name,
    Description,
    Consent,
    BlockServices,
    BuiltIn,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Environments {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Scopes::Table)
                    .col(ColumnDef::new(Scopes::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(Scopes::Id).uuid().not_null())
                    .col(ColumnDef::new(Scopes::Name).string().not_null())
                    .col(ColumnDef::new(Scopes::Description).string().null())
                    .col(ColumnDef::new(Scopes::Consent).string().not_null())
                    .col(ColumnDef::new(Scopes::BlockServices).boolean().not_null())
                    .col(ColumnDef::new(Scopes::BuiltIn).boolean().not_null())
                    .col(ColumnDef::new(Scopes::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Scopes::UpdatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(Scopes::EnvironmentId).col(Scopes::Id))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Scopes::Table, Scopes::EnvironmentId)
                            .to(Environments::Table, Environments::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_scopes_environment_name")
                    .table(Scopes::Table)
                    .col(Scopes::EnvironmentId)
                    .col(Scopes::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Scopes::Table).to_owned()).await
    }
}
