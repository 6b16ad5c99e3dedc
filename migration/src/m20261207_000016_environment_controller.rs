//! Each environment names its data controller for consent receipts: the controller's name, how to
//! contact them, and their privacy policy. None until an administrator sets them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Environments {
    Table,
    ControllerName,
    ControllerContact,
    PrivacyPolicyUrl,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [Environments::ControllerName, Environments::ControllerContact, Environments::PrivacyPolicyUrl] {
            let column = ColumnDef::new(column).string().null().to_owned();
            manager.alter_table(Table::alter().table(Environments::Table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Environments::ControllerName, Environments::ControllerContact, Environments::PrivacyPolicyUrl] {
            manager.alter_table(Table::alter().table(Environments::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
