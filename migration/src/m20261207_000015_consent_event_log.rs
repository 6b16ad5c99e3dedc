//! The consent event log: every change to the ledger appended, per environment, as a hash chain
//! (`consent_events`), the head of each environment's chain (`consent_event_heads`, whose row lock
//! serialises appends), and signed checkpoints of the chain (`consent_checkpoints`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConsentEvents {
    Table,
    EnvironmentId,
    Sequence,
    EventType,
    OccurredAt,
    SubjectId,
    Digest,
    PreviousHash,
    Hash,
}

#[derive(DeriveIden)]
enum ConsentEventHeads {
    Table,
    EnvironmentId,
    Sequence,
    Hash,
    ExpiredThrough,
    CheckpointSequence,
    CheckpointAt,
}

#[derive(DeriveIden)]
enum ConsentCheckpoints {
    Table,
    EnvironmentId,
    Sequence,
    Hash,
    SignedAt,
    KeyId,
    Jws,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConsentEvents::Table)
                    .col(ColumnDef::new(ConsentEvents::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(ConsentEvents::Sequence).big_integer().not_null())
                    .col(ColumnDef::new(ConsentEvents::EventType).string_len(64).not_null())
                    .col(ColumnDef::new(ConsentEvents::OccurredAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(ConsentEvents::SubjectId).uuid().not_null())
                    .col(ColumnDef::new(ConsentEvents::Digest).string_len(64).not_null())
                    .col(ColumnDef::new(ConsentEvents::PreviousHash).string_len(64).not_null())
                    .col(ColumnDef::new(ConsentEvents::Hash).string_len(64).not_null())
                    .primary_key(Index::create().col(ConsentEvents::EnvironmentId).col(ConsentEvents::Sequence))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_consent_events_subject")
                    .table(ConsentEvents::Table)
                    .col(ConsentEvents::EnvironmentId)
                    .col(ConsentEvents::SubjectId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConsentEventHeads::Table)
                    .col(ColumnDef::new(ConsentEventHeads::EnvironmentId).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ConsentEventHeads::Sequence).big_integer().not_null())
                    .col(ColumnDef::new(ConsentEventHeads::Hash).string_len(64).not_null())
                    .col(ColumnDef::new(ConsentEventHeads::ExpiredThrough).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(ConsentEventHeads::CheckpointSequence).big_integer().not_null().default(0))
                    .col(ColumnDef::new(ConsentEventHeads::CheckpointAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConsentCheckpoints::Table)
                    .col(ColumnDef::new(ConsentCheckpoints::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(ConsentCheckpoints::Sequence).big_integer().not_null())
                    .col(ColumnDef::new(ConsentCheckpoints::Hash).string_len(64).not_null())
                    .col(ColumnDef::new(ConsentCheckpoints::SignedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(ConsentCheckpoints::KeyId).string().not_null())
                    .col(ColumnDef::new(ConsentCheckpoints::Jws).text().not_null())
                    .primary_key(
                        Index::create().col(ConsentCheckpoints::EnvironmentId).col(ConsentCheckpoints::Sequence),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ConsentCheckpoints::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ConsentEventHeads::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ConsentEvents::Table).to_owned()).await
    }
}
