//! Environments, signing keys, users and applications. Tenant tables lead their keys with `environment_id`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Environments {
    Table,
    Id,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    EnvironmentId,
    Id,
    PrivateKeySealed,
    PublicX,
    PublicY,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    EnvironmentId,
    Id,
    Username,
    Email,
    GivenName,
    FamilyName,
    Enabled,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Applications {
    Table,
    EnvironmentId,
    Id,
    Name,
    Description,
    Enabled,
    Protocol,
    AppType,
    GrantTypes,
    ResponseTypes,
    RedirectUris,
    TokenEndpointAuthMethod,
    PkceEnforcement,
    SecretHash,
    SecretSealed,
    CreatedAt,
    UpdatedAt,
}

fn env_fk<T: IntoIden + 'static>(table: T, column: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Environments::Table, Environments::Id)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Environments::Table)
                    .col(ColumnDef::new(Environments::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Environments::Name).string().not_null())
                    .col(ColumnDef::new(Environments::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Environments::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(ColumnDef::new(SigningKeys::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(SigningKeys::Id).uuid().not_null())
                    .col(ColumnDef::new(SigningKeys::PrivateKeySealed).binary().not_null())
                    .col(ColumnDef::new(SigningKeys::PublicX).string().not_null())
                    .col(ColumnDef::new(SigningKeys::PublicY).string().not_null())
                    .col(ColumnDef::new(SigningKeys::CreatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(SigningKeys::EnvironmentId).col(SigningKeys::Id))
                    .foreign_key(&mut env_fk(SigningKeys::Table, SigningKeys::EnvironmentId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(Users::Id).uuid().not_null())
                    .col(ColumnDef::new(Users::Username).string().not_null())
                    .col(ColumnDef::new(Users::Email).string().null())
                    .col(ColumnDef::new(Users::GivenName).string().null())
                    .col(ColumnDef::new(Users::FamilyName).string().null())
                    .col(ColumnDef::new(Users::Enabled).boolean().not_null())
                    .col(ColumnDef::new(Users::PasswordHash).string().null())
                    .col(ColumnDef::new(Users::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Users::UpdatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(Users::EnvironmentId).col(Users::Id))
                    .foreign_key(&mut env_fk(Users::Table, Users::EnvironmentId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_users_environment_username")
                    .table(Users::Table)
                    .col(Users::EnvironmentId)
                    .col(Users::Username)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Applications::Table)
                    .col(ColumnDef::new(Applications::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(Applications::Id).uuid().not_null())
                    .col(ColumnDef::new(Applications::Name).string().not_null())
                    .col(ColumnDef::new(Applications::Description).string().null())
                    .col(ColumnDef::new(Applications::Enabled).boolean().not_null())
                    .col(ColumnDef::new(Applications::Protocol).string().not_null())
                    .col(ColumnDef::new(Applications::AppType).string().not_null())
                    .col(ColumnDef::new(Applications::GrantTypes).json().not_null())
                    .col(ColumnDef::new(Applications::ResponseTypes).json().not_null())
                    .col(ColumnDef::new(Applications::RedirectUris).json().not_null())
                    .col(ColumnDef::new(Applications::TokenEndpointAuthMethod).string().not_null())
                    .col(ColumnDef::new(Applications::PkceEnforcement).string().not_null())
                    .col(ColumnDef::new(Applications::SecretHash).string().not_null())
                    .col(ColumnDef::new(Applications::SecretSealed).binary().not_null())
                    .col(ColumnDef::new(Applications::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Applications::UpdatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(Applications::EnvironmentId).col(Applications::Id))
                    .foreign_key(&mut env_fk(Applications::Table, Applications::EnvironmentId))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Applications::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Users::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(SigningKeys::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Environments::Table).to_owned()).await
    }
}
