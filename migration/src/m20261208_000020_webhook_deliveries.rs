//! Webhook delivery from the event log: each subscription keeps its own cursor into its
//! environment's chain (`delivered_through`), its retry state, and a lease that lets one node at a
//! time deliver it; every attempt is logged in `webhook_attempts`. A rotated-out secret is kept,
//! sealed, while it still signs beside the new one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookSubscriptions {
    Table,
    DeliveredThrough,
    Failures,
    FailingSince,
    NextAttemptAt,
    LeaseOwner,
    LeaseUntil,
    PreviousSecretSealed,
    PreviousSecretUntil,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    EnvironmentId,
    Id,
    SubscriptionId,
    Sequence,
    EventType,
    AttemptedAt,
    StatusCode,
    LatencyMs,
    Error,
    Delivered,
    Manual,
    NextAttemptAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let columns = [
            ColumnDef::new(WebhookSubscriptions::DeliveredThrough).big_integer().not_null().default(0).to_owned(),
            ColumnDef::new(WebhookSubscriptions::Failures).integer().not_null().default(0).to_owned(),
            ColumnDef::new(WebhookSubscriptions::FailingSince).timestamp_with_time_zone().null().to_owned(),
            ColumnDef::new(WebhookSubscriptions::NextAttemptAt).timestamp_with_time_zone().null().to_owned(),
            ColumnDef::new(WebhookSubscriptions::LeaseOwner).uuid().null().to_owned(),
            ColumnDef::new(WebhookSubscriptions::LeaseUntil).timestamp_with_time_zone().null().to_owned(),
            // After a rotation the old secret signs beside the new one for a while.
            ColumnDef::new(WebhookSubscriptions::PreviousSecretSealed).binary().null().to_owned(),
            ColumnDef::new(WebhookSubscriptions::PreviousSecretUntil).timestamp_with_time_zone().null().to_owned(),
        ];
        for column in columns {
            manager
                .alter_table(Table::alter().table(WebhookSubscriptions::Table).add_column(column).to_owned())
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(ColumnDef::new(WebhookAttempts::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(WebhookAttempts::Id).uuid().not_null())
                    .col(ColumnDef::new(WebhookAttempts::SubscriptionId).uuid().not_null())
                    .col(ColumnDef::new(WebhookAttempts::Sequence).big_integer().not_null())
                    .col(ColumnDef::new(WebhookAttempts::EventType).string().not_null())
                    .col(ColumnDef::new(WebhookAttempts::AttemptedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(WebhookAttempts::StatusCode).integer().null())
                    .col(ColumnDef::new(WebhookAttempts::LatencyMs).big_integer().not_null())
                    .col(ColumnDef::new(WebhookAttempts::Error).text().null())
                    .col(ColumnDef::new(WebhookAttempts::Delivered).boolean().not_null())
                    .col(ColumnDef::new(WebhookAttempts::Manual).boolean().not_null())
                    .col(ColumnDef::new(WebhookAttempts::NextAttemptAt).timestamp_with_time_zone().null())
                    .primary_key(Index::create().col(WebhookAttempts::EnvironmentId).col(WebhookAttempts::Id))
                    .to_owned(),
            )
            .await?;
        // A subscription's attempts, newest first (ids are time-ordered UUIDv7).
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_attempts_subscription")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::EnvironmentId)
                    .col(WebhookAttempts::SubscriptionId)
                    .col(WebhookAttempts::Id)
                    .to_owned(),
            )
            .await?;
        // The hourly purge of old attempts.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_attempts_attempted_at")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::AttemptedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookAttempts::Table).to_owned()).await?;
        for column in [
            WebhookSubscriptions::PreviousSecretUntil,
            WebhookSubscriptions::PreviousSecretSealed,
            WebhookSubscriptions::LeaseUntil,
            WebhookSubscriptions::LeaseOwner,
            WebhookSubscriptions::NextAttemptAt,
            WebhookSubscriptions::FailingSince,
            WebhookSubscriptions::Failures,
            WebhookSubscriptions::DeliveredThrough,
        ] {
            manager
                .alter_table(Table::alter().table(WebhookSubscriptions::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
