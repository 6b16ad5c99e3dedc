//! External users: the subject an external login app gave a user (unique per environment), the
//! same subject on the grants its tokens are issued under, and the digests of deleted users'
//! subjects, so that a deleted user's id, username or subject never names a new user.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    EnvironmentId,
    ExternalSubject,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    ExternalSubject,
}

#[derive(DeriveIden)]
enum RetiredSubjects {
    Table,
    EnvironmentId,
    SubjectDigest,
    RetiredAt,
}

const USERS_BY_SUBJECT: &str = "ux_users_environment_external_subject";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::ExternalSubject).string().null())
                    .to_owned(),
            )
            .await?;
        // Unique: two first sign-ins of one subject at once end with one user. NULLs (local users)
        // never collide.
        manager
            .create_index(
                Index::create()
                    .name(USERS_BY_SUBJECT)
                    .table(Users::Table)
                    .col(Users::EnvironmentId)
                    .col(Users::ExternalSubject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Grants::Table)
                    .add_column(ColumnDef::new(Grants::ExternalSubject).string().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RetiredSubjects::Table)
                    .col(ColumnDef::new(RetiredSubjects::EnvironmentId).uuid().not_null())
                    .col(ColumnDef::new(RetiredSubjects::SubjectDigest).string().not_null())
                    .col(ColumnDef::new(RetiredSubjects::RetiredAt).timestamp_with_time_zone().not_null())
                    .primary_key(
                        Index::create().col(RetiredSubjects::EnvironmentId).col(RetiredSubjects::SubjectDigest),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RetiredSubjects::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Grants::Table).drop_column(Grants::ExternalSubject).to_owned())
            .await?;
        manager.drop_index(Index::drop().name(USERS_BY_SUBJECT).table(Users::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::ExternalSubject).to_owned()).await
    }
}
