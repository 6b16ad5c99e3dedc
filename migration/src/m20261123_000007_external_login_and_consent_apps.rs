//! External login and consent applications (the Hydra-compatible challenge API): environment
//! settings, challenge state on pending authorizations, session claims on grants, and whether a
//! consent may be remembered.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Environments {
    Table,
    LoginUrl,
    ConsentUrl,
}

#[derive(DeriveIden)]
enum AuthorizationRequests {
    Table,
    Kind,
    VerifierHash,
    Outcome,
    UserId,
    LoginChallenge,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    AccessClaims,
    IdClaims,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Remembered,
}

async fn add(manager: &SchemaManager<'_>, table: impl IntoIden, column: ColumnDef) -> Result<(), DbErr> {
    // SQLite alters one column per statement.
    let mut column = column;
    manager.alter_table(Table::alter().table(table).add_column(&mut column).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AuthorizationRequests as R;
        add(manager, Environments::Table, ColumnDef::new(Environments::LoginUrl).string().null().to_owned()).await?;
        add(manager, Environments::Table, ColumnDef::new(Environments::ConsentUrl).string().null().to_owned()).await?;
        add(manager, R::Table, ColumnDef::new(R::Kind).string().not_null().default("PAGE").to_owned()).await?;
        add(manager, R::Table, ColumnDef::new(R::VerifierHash).string().null().to_owned()).await?;
        add(manager, R::Table, ColumnDef::new(R::Outcome).text().null().to_owned()).await?;
        add(manager, R::Table, ColumnDef::new(R::UserId).uuid().null().to_owned()).await?;
        add(manager, R::Table, ColumnDef::new(R::LoginChallenge).string().null().to_owned()).await?;
        add(manager, Grants::Table, ColumnDef::new(Grants::AccessClaims).text().null().to_owned()).await?;
        add(manager, Grants::Table, ColumnDef::new(Grants::IdClaims).text().null().to_owned()).await?;
        add(
            manager,
            Consents::Table,
            ColumnDef::new(Consents::Remembered).boolean().not_null().default(true).to_owned(),
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_authorization_requests_verifier")
                    .table(R::Table)
                    .col(R::Kind)
                    .col(R::VerifierHash)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AuthorizationRequests as R;
        manager.drop_index(Index::drop().name("ix_authorization_requests_verifier").table(R::Table).to_owned()).await?;
        let drops: [(DynIden, DynIden); 10] = [
            (Consents::Table.into_iden(), Consents::Remembered.into_iden()),
            (Grants::Table.into_iden(), Grants::IdClaims.into_iden()),
            (Grants::Table.into_iden(), Grants::AccessClaims.into_iden()),
            (R::Table.into_iden(), R::LoginChallenge.into_iden()),
            (R::Table.into_iden(), R::UserId.into_iden()),
            (R::Table.into_iden(), R::Outcome.into_iden()),
            (R::Table.into_iden(), R::VerifierHash.into_iden()),
            (R::Table.into_iden(), R::Kind.into_iden()),
            (Environments::Table.into_iden(), Environments::ConsentUrl.into_iden()),
            (Environments::Table.into_iden(), Environments::LoginUrl.into_iden()),
        ];
        for (table, column) in drops {
            manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
