//! The authorization-code flow: browser sessions, pending authorization requests, grants with the
//! consent records behind them, codes, refresh tokens and revoked access tokens. Consent records
//! learn where they came from; users learn how many logins failed in a row.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BrowserSessions {
    Table,
    EnvironmentId,
    Id,
    TokenHash,
    UserId,
    AuthenticatedAt,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuthorizationRequests {
    Table,
    EnvironmentId,
    Id,
    HandleHash,
    BrowserSessionId,
    ClientId,
    RedirectUri,
    Scopes,
    State,
    CodeChallenge,
    Nonce,
    Prompt,
    UserAgent,
    ClientIp,
    CreatedAt,
    ExpiresAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    EnvironmentId,
    Id,
    ClientId,
    UserId,
    Scopes,
    AuthTime,
    Nonce,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum GrantConsents {
    Table,
    EnvironmentId,
    ConsentId,
    GrantId,
}

#[derive(DeriveIden)]
enum AuthorizationCodes {
    Table,
    EnvironmentId,
    CodeHash,
    GrantId,
    ClientId,
    RedirectUri,
    CodeChallenge,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    EnvironmentId,
    TokenHash,
    GrantId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum RevokedTokens {
    Table,
    EnvironmentId,
    Jti,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Source,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    FailedLogins,
    LockedUntil,
}

fn ts<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().not_null().to_owned()
}

fn ts_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().null().to_owned()
}

fn uuid<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().to_owned()
}

fn text<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).string().not_null().to_owned()
}

fn text_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).string().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AuthorizationCodes as C;
        use AuthorizationRequests as R;
        use BrowserSessions as S;
        use Grants as G;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(uuid(S::EnvironmentId))
                    .col(uuid(S::Id))
                    .col(text(S::TokenHash))
                    .col(ColumnDef::new(S::UserId).uuid().null())
                    .col(ts_null(S::AuthenticatedAt))
                    .col(ts(S::CreatedAt))
                    .col(ts(S::ExpiresAt))
                    .primary_key(Index::create().col(S::EnvironmentId).col(S::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_browser_sessions_token")
                    .table(S::Table)
                    .col(S::EnvironmentId)
                    .col(S::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(uuid(R::EnvironmentId))
                    .col(uuid(R::Id))
                    .col(text(R::HandleHash))
                    .col(uuid(R::BrowserSessionId))
                    .col(uuid(R::ClientId))
                    .col(text(R::RedirectUri))
                    .col(ColumnDef::new(R::Scopes).json().not_null())
                    .col(text_null(R::State))
                    .col(text_null(R::CodeChallenge))
                    .col(text_null(R::Nonce))
                    .col(text_null(R::Prompt))
                    .col(text_null(R::UserAgent))
                    .col(text(R::ClientIp))
                    .col(ts(R::CreatedAt))
                    .col(ts(R::ExpiresAt))
                    .col(ts_null(R::CompletedAt))
                    .primary_key(Index::create().col(R::EnvironmentId).col(R::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_authorization_requests_handle")
                    .table(R::Table)
                    .col(R::EnvironmentId)
                    .col(R::HandleHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(G::Table)
                    .col(uuid(G::EnvironmentId))
                    .col(uuid(G::Id))
                    .col(uuid(G::ClientId))
                    .col(uuid(G::UserId))
                    .col(ColumnDef::new(G::Scopes).json().not_null())
                    .col(ts(G::AuthTime))
                    .col(text_null(G::Nonce))
                    .col(ts(G::CreatedAt))
                    .col(ts_null(G::RevokedAt))
                    .primary_key(Index::create().col(G::EnvironmentId).col(G::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GrantConsents::Table)
                    .col(uuid(GrantConsents::EnvironmentId))
                    .col(uuid(GrantConsents::ConsentId))
                    .col(uuid(GrantConsents::GrantId))
                    .primary_key(
                        Index::create()
                            .col(GrantConsents::EnvironmentId)
                            .col(GrantConsents::ConsentId)
                            .col(GrantConsents::GrantId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(uuid(C::EnvironmentId))
                    .col(text(C::CodeHash))
                    .col(uuid(C::GrantId))
                    .col(uuid(C::ClientId))
                    .col(text(C::RedirectUri))
                    .col(text_null(C::CodeChallenge))
                    .col(ts(C::CreatedAt))
                    .col(ts(C::ExpiresAt))
                    .col(ts_null(C::UsedAt))
                    .primary_key(Index::create().col(C::EnvironmentId).col(C::CodeHash))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(uuid(RefreshTokens::EnvironmentId))
                    .col(text(RefreshTokens::TokenHash))
                    .col(uuid(RefreshTokens::GrantId))
                    .col(ts(RefreshTokens::CreatedAt))
                    .col(ts(RefreshTokens::ExpiresAt))
                    .col(ts_null(RefreshTokens::UsedAt))
                    .primary_key(Index::create().col(RefreshTokens::EnvironmentId).col(RefreshTokens::TokenHash))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RevokedTokens::Table)
                    .col(uuid(RevokedTokens::EnvironmentId))
                    .col(text(RevokedTokens::Jti))
                    .col(ts(RevokedTokens::ExpiresAt))
                    .primary_key(Index::create().col(RevokedTokens::EnvironmentId).col(RevokedTokens::Jti))
                    .to_owned(),
            )
            .await?;
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Consents::Table)
                    .add_column(ColumnDef::new(Consents::Source).string().not_null().default("API"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::FailedLogins).integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::LockedUntil).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::LockedUntil).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::FailedLogins).to_owned()).await?;
        manager.alter_table(Table::alter().table(Consents::Table).drop_column(Consents::Source).to_owned()).await?;
        for table in [
            RevokedTokens::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            AuthorizationCodes::Table.into_iden(),
            GrantConsents::Table.into_iden(),
            Grants::Table.into_iden(),
            AuthorizationRequests::Table.into_iden(),
            BrowserSessions::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
