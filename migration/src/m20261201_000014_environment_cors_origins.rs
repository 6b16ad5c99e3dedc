//! Each environment lists the browser origins allowed to call its records API and its token,
//! userinfo and revocation endpoints from JavaScript (CORS): none until an administrator adds some.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Environments {
    Table,
    CorsOrigins,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let column = ColumnDef::new(Environments::CorsOrigins).json().not_null().default("[]").to_owned();
        manager.alter_table(Table::alter().table(Environments::Table).add_column(column).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Environments::Table).drop_column(Environments::CorsOrigins).to_owned())
            .await
    }
}
