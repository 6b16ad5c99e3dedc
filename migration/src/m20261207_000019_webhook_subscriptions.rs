//! Webhook subscriptions: where an environment's consent events are delivered (Standard Webhooks),
//! for which event types, and the secret deliveries are signed with (sealed: it is needed in clear
//! to sign, so it is encrypted under the master key rather than hashed).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookSubscriptions {
    Table,
    EnvironmentId,
    Id,
    Url,
    EventTypes,
    Enabled,
    SecretSealed,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookSubscriptions::Table)
                    .col(ColumnDef::new(WebhookSubscriptions::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(WebhookSubscriptions::Id).uuid().not_null())
                    .col(ColumnDef::new(WebhookSubscriptions::Url).text().not_null())
                    .col(ColumnDef::new(WebhookSubscriptions::EventTypes).json().not_null())
                    .col(ColumnDef::new(WebhookSubscriptions::Enabled).boolean().not_null())
                    .col(ColumnDef::new(WebhookSubscriptions::SecretSealed).binary().not_null())
                    .col(ColumnDef::new(WebhookSubscriptions::DisabledReason).text().null())
                    .col(ColumnDef::new(WebhookSubscriptions::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(WebhookSubscriptions::UpdatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(WebhookSubscriptions::EnvironmentId).col(WebhookSubscriptions::Id))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookSubscriptions::Table).to_owned()).await
    }
}
