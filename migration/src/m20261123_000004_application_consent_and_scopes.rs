//! Applications get a consent method and the scopes they may request; existing rows become `REQUIRED` with no scopes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    ConsentMethod,
    Scopes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Applications::Table)
                    .add_column(ColumnDef::new(Applications::ConsentMethod).string().not_null().default("REQUIRED"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Applications::Table)
                    .add_column(ColumnDef::new(Applications::Scopes).json().not_null().default("[]"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Applications::Table).drop_column(Applications::Scopes).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Applications::Table).drop_column(Applications::ConsentMethod).to_owned())
            .await
    }
}
