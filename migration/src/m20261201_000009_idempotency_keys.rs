//! Idempotency keys: the first answer to a POST sent with an `Idempotency-Key`, kept for a day so
//! that a retry gets the same answer instead of doing the work again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    EnvironmentId,
    KeyDigest,
    Fingerprint,
    Claim,
    Completed,
    Status,
    ContentType,
    Location,
    Etag,
    Body,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(ColumnDef::new(IdempotencyKeys::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::KeyDigest).string().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::Fingerprint).string().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::Claim).uuid().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::Completed).boolean().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::Status).integer().null())
                    .col(ColumnDef::new(IdempotencyKeys::ContentType).string().null())
                    .col(ColumnDef::new(IdempotencyKeys::Location).string().null())
                    .col(ColumnDef::new(IdempotencyKeys::Etag).string().null())
                    .col(ColumnDef::new(IdempotencyKeys::Body).text().null())
                    .col(ColumnDef::new(IdempotencyKeys::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::UpdatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(IdempotencyKeys::EnvironmentId).col(IdempotencyKeys::KeyDigest))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_created_at")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned()).await
    }
}
