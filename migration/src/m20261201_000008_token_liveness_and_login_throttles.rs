//! Trust: a credential version on applications (rotating the secret or disabling the application
//! ends the tokens issued before), and login throttles keyed by username digest, so known and
//! unknown usernames lock alike and attempts are counted atomically.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    CredentialVersion,
}

#[derive(DeriveIden)]
enum LoginThrottles {
    Table,
    EnvironmentId,
    KeyDigest,
    Attempts,
    LockedUntil,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Applications::Table)
                    .add_column(ColumnDef::new(Applications::CredentialVersion).integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginThrottles::Table)
                    .col(ColumnDef::new(LoginThrottles::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(LoginThrottles::KeyDigest).string().not_null())
                    .col(ColumnDef::new(LoginThrottles::Attempts).integer().not_null())
                    .col(ColumnDef::new(LoginThrottles::LockedUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(LoginThrottles::UpdatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(LoginThrottles::EnvironmentId).col(LoginThrottles::KeyDigest))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_login_throttles_updated_at")
                    .table(LoginThrottles::Table)
                    .col(LoginThrottles::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LoginThrottles::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table(Applications::Table).drop_column(Applications::CredentialVersion).to_owned(),
            )
            .await
    }
}
