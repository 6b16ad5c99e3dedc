//! Versioned scope texts: what the consent page showed for a scope is kept, every version of it
//! (`scope_texts`); a scope names its current version; a record names the versions it was given on.
//! Existing scopes get their current description as version 1.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ScopeTexts {
    Table,
    EnvironmentId,
    Id,
    ScopeId,
    Version,
    Description,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Scopes {
    Table,
    TextVersion,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    ScopeTexts,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ScopeTexts::Table)
                    .col(ColumnDef::new(ScopeTexts::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(ScopeTexts::Id).uuid().not_null())
                    .col(ColumnDef::new(ScopeTexts::ScopeId).uuid().not_null())
                    .col(ColumnDef::new(ScopeTexts::Version).integer().not_null())
                    .col(ColumnDef::new(ScopeTexts::Description).text().null())
                    .col(ColumnDef::new(ScopeTexts::CreatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(ScopeTexts::EnvironmentId).col(ScopeTexts::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_scope_texts_version")
                    .table(ScopeTexts::Table)
                    .col(ScopeTexts::EnvironmentId)
                    .col(ScopeTexts::ScopeId)
                    .col(ScopeTexts::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let version = ColumnDef::new(Scopes::TextVersion).integer().not_null().default(1).to_owned();
        manager.alter_table(Table::alter().table(Scopes::Table).add_column(version).to_owned()).await?;
        let texts = ColumnDef::new(Consents::ScopeTexts).json().null().to_owned();
        manager.alter_table(Table::alter().table(Consents::Table).add_column(texts).to_owned()).await?;
        // Version 1 of every existing scope is its description now; its id is the scope's own.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO scope_texts (environment_id, id, scope_id, version, description, created_at) \
                 SELECT environment_id, id, id, 1, description, updated_at FROM scopes",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Consents::Table).drop_column(Consents::ScopeTexts).to_owned()).await?;
        manager.alter_table(Table::alter().table(Scopes::Table).drop_column(Scopes::TextVersion).to_owned()).await?;
        manager.drop_table(Table::drop().table(ScopeTexts::Table).to_owned()).await
    }
}
