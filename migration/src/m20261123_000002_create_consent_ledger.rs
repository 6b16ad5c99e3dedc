//! The consent ledger. On PostgreSQL `consents` and `consent_scopes` are hash-partitioned by
//! `environment_id` (primary keys lead with it, so the same schema can be distributed by tenant).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Hash partitions per partitioned table on PostgreSQL.
const PARTITIONS: u32 = 16;

#[derive(DeriveIden)]
enum Consents {
    Table,
    EnvironmentId,
    Id,
    UserId,
    ApplicationId,
    ApplicationName,
    ApplicationType,
    Scopes,
    Status,
    BrowserName,
    BrowserVersion,
    OsName,
    OsVersion,
    DeviceType,
    RemoteIp,
    City,
    State,
    Region,
    Country,
    ConsentedAt,
    UpdatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ConsentScopes {
    Table,
    EnvironmentId,
    Scope,
    ConsentId,
}

#[derive(DeriveIden)]
enum ExternalApplications {
    Table,
    EnvironmentId,
    Id,
    Name,
    CreatedAt,
}

const POSTGRES_TABLES: &str = r#"
CREATE TABLE consents (
    environment_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    application_id uuid NOT NULL,
    application_name text NOT NULL,
    application_type text NOT NULL,
    scopes json NOT NULL,
    status text NOT NULL,
    browser_name text, browser_version text, os_name text, os_version text, device_type text,
    remote_ip text NOT NULL,
    city text, state text, region text, country text,
    consented_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    expires_at timestamptz,
    PRIMARY KEY (environment_id, id)
) PARTITION BY HASH (environment_id);
CREATE TABLE consent_scopes (
    environment_id uuid NOT NULL,
    scope text NOT NULL,
    consent_id uuid NOT NULL,
    PRIMARY KEY (environment_id, scope, consent_id)
) PARTITION BY HASH (environment_id);
"#;

fn index(name: &str, table: impl IntoIden, columns: Vec<Consents>) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).to_owned();
    for column in columns {
        index.col(column);
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(POSTGRES_TABLES).await?;
            for table in ["consents", "consent_scopes"] {
                for n in 0..PARTITIONS {
                    db.execute_unprepared(&format!(
                        "CREATE TABLE {table}_p{n:02} PARTITION OF {table} FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {n})"
                    ))
                    .await?;
                }
            }
        } else {
            manager
                .create_table(
                    Table::create()
                        .table(Consents::Table)
                        .col(ColumnDef::new(Consents::EnvironmentId).uuid().not_null())
                        .col(ColumnDef::new(Consents::Id).uuid().not_null())
                        .col(ColumnDef::new(Consents::UserId).uuid().not_null())
                        .col(ColumnDef::new(Consents::ApplicationId).uuid().not_null())
                        .col(ColumnDef::new(Consents::ApplicationName).string().not_null())
                        .col(ColumnDef::new(Consents::ApplicationType).string().not_null())
                        .col(ColumnDef::new(Consents::Scopes).json().not_null())
                        .col(ColumnDef::new(Consents::Status).string().not_null())
                        .col(ColumnDef::new(Consents::BrowserName).string().null())
                        .col(ColumnDef::new(Consents::BrowserVersion).string().null())
                        .col(ColumnDef::new(Consents::OsName).string().null())
                        .col(ColumnDef::new(Consents::OsVersion).string().null())
                        .col(ColumnDef::new(Consents::DeviceType).string().null())
                        .col(ColumnDef::new(Consents::RemoteIp).string().not_null())
                        .col(ColumnDef::new(Consents::City).string().null())
                        .col(ColumnDef::new(Consents::State).string().null())
                        .col(ColumnDef::new(Consents::Region).string().null())
                        .col(ColumnDef::new(Consents::Country).string().null())
                        .col(ColumnDef::new(Consents::ConsentedAt).timestamp_with_time_zone().not_null())
                        .col(ColumnDef::new(Consents::UpdatedAt).timestamp_with_time_zone().not_null())
                        .col(ColumnDef::new(Consents::ExpiresAt).timestamp_with_time_zone().null())
                        .primary_key(Index::create().col(Consents::EnvironmentId).col(Consents::Id))
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(ConsentScopes::Table)
                        .col(ColumnDef::new(ConsentScopes::EnvironmentId).uuid().not_null())
                        .col(ColumnDef::new(ConsentScopes::Scope).string().not_null())
                        .col(ColumnDef::new(ConsentScopes::ConsentId).uuid().not_null())
                        .primary_key(
                            Index::create()
                                .col(ConsentScopes::EnvironmentId)
                                .col(ConsentScopes::Scope)
                                .col(ConsentScopes::ConsentId),
                        )
                        .to_owned(),
                )
                .await?;
        }
        use Consents as C;
        // Every index leads with the environment: each query is one tenant's slice of one index.
        for statement in [
            index("ix_consents_user", C::Table, vec![C::EnvironmentId, C::UserId, C::Id]),
            index("ix_consents_application", C::Table, vec![C::EnvironmentId, C::ApplicationId, C::Id]),
            index("ix_consents_application_name", C::Table, vec![C::EnvironmentId, C::ApplicationName, C::Id]),
            index("ix_consents_status", C::Table, vec![C::EnvironmentId, C::Status, C::Id]),
            index("ix_consents_consented_at", C::Table, vec![C::EnvironmentId, C::ConsentedAt]),
            index(
                "ix_consents_user_application",
                C::Table,
                vec![C::EnvironmentId, C::UserId, C::ApplicationId, C::Status],
            ),
        ] {
            manager.create_index(statement).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ExternalApplications::Table)
                    .col(ColumnDef::new(ExternalApplications::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(ExternalApplications::Id).uuid().not_null())
                    .col(ColumnDef::new(ExternalApplications::Name).string().not_null())
                    .col(ColumnDef::new(ExternalApplications::CreatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(ExternalApplications::EnvironmentId).col(ExternalApplications::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_external_applications_name")
                    .table(ExternalApplications::Table)
                    .col(ExternalApplications::EnvironmentId)
                    .col(ExternalApplications::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ExternalApplications::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ConsentScopes::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Consents::Table).to_owned()).await
    }
}
