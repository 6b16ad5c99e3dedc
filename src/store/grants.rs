//! Grants, the consent records they rest on, authorization codes, refresh tokens and revoked access tokens.

use super::reads::ReadExt;
use chrono::{DateTime, Utc};
use entities::{application, authorization_code, consent, grant, grant_consent, refresh_token, revoked_token, user};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, QueryTrait};

use super::grant_insert::grant_insert;
use super::{Store, StoreError};
use crate::domain::grants::{Claims, Grant, NewCode, StoredCode, StoredRefresh, Taken};
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, GrantId, UserId};

fn claims_from(text: Option<&str>) -> Result<Option<Claims>, StoreError> {
    text.map(|t| serde_json::from_str(t).map_err(|e| StoreError::Database(format!("stored claims: {e}")))).transpose()
}

pub(super) fn claims_to(claims: &Option<Claims>) -> Option<String> {
    claims.as_ref().map(|c| serde_json::Value::Object(c.clone()).to_string())
}

pub(super) fn grant_from(row: grant::Model) -> Result<Grant, StoreError> {
    let scopes: Vec<String> = serde_json::from_value(row.scopes.clone())
        .map_err(|_| StoreError::Database(format!("grant {} has an invalid scope list", row.id)))?;
    Ok(Grant {
        id: GrantId::from_uuid(row.id),
        client_id: ApplicationId::from_uuid(row.client_id),
        user_id: UserId::from_uuid(row.user_id),
        scopes,
        auth_time: row.auth_time,
        nonce: row.nonce,
        created_at: row.created_at,
        revoked_at: row.revoked_at,
        access_claims: claims_from(row.access_claims.as_deref())?,
        id_claims: claims_from(row.id_claims.as_deref())?,
        external_subject: row.external_subject,
    })
}

/// The grant `id` if it stands at `now`: not revoked, its user and client still there and enabled,
/// and none of its consent records revoked, declined or expired.
fn standing(env: EnvironmentId, id: GrantId, now: DateTime<Utc>) -> sea_orm::Select<grant::Entity> {
    let behind = Query::select()
        .column(grant_consent::Column::ConsentId)
        .from(grant_consent::Entity)
        .and_where(grant_consent::Column::EnvironmentId.eq(env.as_uuid()))
        .and_where(grant_consent::Column::GrantId.eq(id.as_uuid()))
        .to_owned();
    let withdrawn = Query::select()
        .expr(Expr::val(1))
        .from(consent::Entity)
        .and_where(consent::Column::EnvironmentId.eq(env.as_uuid()))
        .and_where(consent::Column::Id.in_subquery(behind))
        .cond_where(
            sea_orm::Condition::any()
                .add(consent::Column::Status.ne("ACCEPTED"))
                .add(consent::Column::ExpiresAt.lte(now)),
        )
        .to_owned();
    let user_enabled = Query::select()
        .expr(Expr::val(1))
        .from(user::Entity)
        .and_where(user::Column::EnvironmentId.eq(env.as_uuid()))
        .and_where(Expr::col((user::Entity, user::Column::Id)).equals((grant::Entity, grant::Column::UserId)))
        .and_where(user::Column::Enabled.eq(true))
        .to_owned();
    let client_enabled = Query::select()
        .expr(Expr::val(1))
        .from(application::Entity)
        .and_where(application::Column::EnvironmentId.eq(env.as_uuid()))
        .and_where(
            Expr::col((application::Entity, application::Column::Id)).equals((grant::Entity, grant::Column::ClientId)),
        )
        .and_where(application::Column::Enabled.eq(true))
        .to_owned();
    grant::Entity::find()
        .filter(grant::Column::EnvironmentId.eq(env.as_uuid()))
        .filter(grant::Column::Id.eq(id.as_uuid()))
        .filter(grant::Column::RevokedAt.is_null())
        .filter(Expr::exists(withdrawn).not())
        .filter(Expr::exists(user_enabled))
        .filter(Expr::exists(client_enabled))
}

impl Store {
    /// Stores a grant, the records behind it and its authorization code, in one transaction.
    pub async fn insert_grant_with_code(
        &self,
        env: EnvironmentId,
        g: &Grant,
        consent_ids: &[ConsentId],
        code: NewCode<'_>,
    ) -> Result<(), StoreError> {
        let backend = self.backend();
        let mut statements = vec![backend.build(&grant_insert(env, g)?)];
        if !consent_ids.is_empty() {
            statements.push(
                grant_consent::Entity::insert_many(consent_ids.iter().map(|c| {
                    grant_consent::Model {
                        environment_id: env.as_uuid(),
                        consent_id: c.as_uuid(),
                        grant_id: g.id.as_uuid(),
                    }
                    .into_active_model()
                }))
                .build(backend),
            );
        }
        statements.push(
            authorization_code::Entity::insert(
                authorization_code::Model {
                    environment_id: env.as_uuid(),
                    code_hash: code.digest.to_owned(),
                    grant_id: g.id.as_uuid(),
                    client_id: g.client_id.as_uuid(),
                    redirect_uri: code.redirect_uri.to_owned(),
                    code_challenge: code.code_challenge.map(str::to_owned),
                    created_at: g.created_at,
                    expires_at: code.expires_at,
                    used_at: None,
                }
                .into_active_model(),
            )
            .build(backend),
        );
        self.write(statements).await
    }

    /// One grant with its consent record ids.
    pub async fn get_grant(&self, env: EnvironmentId, id: GrantId) -> Result<Grant, StoreError> {
        let row = grant::Entity::find()
            .filter(grant::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(grant::Column::Id.eq(id.as_uuid()))
            .read_one(&self.reads)
            .await?
            .ok_or(StoreError::NotFound)?;
        grant_from(row)
    }

    /// A grant if it stands at `now` (see [`Store::grant_active`]), in one query.
    pub async fn standing_grant(
        &self,
        env: EnvironmentId,
        id: GrantId,
        now: DateTime<Utc>,
    ) -> Result<Option<Grant>, StoreError> {
        standing(env, id, now).read_one(&self.reads).await?.map(grant_from).transpose()
    }

    /// Whether a grant stands at `now`: not revoked, its user and client still there and enabled,
    /// and none of its consent records revoked, declined or expired. One query.
    pub async fn grant_active(&self, env: EnvironmentId, id: GrantId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let standing = standing(env, id, now)
            .select_only()
            .column(grant::Column::Id)
            .limit(1)
            .read_tuples::<uuid::Uuid>(&self.reads)
            .await?;
        Ok(!standing.is_empty())
    }

    /// Revokes a grant (its refresh tokens stop working; its access tokens introspect inactive).
    pub async fn revoke_grant(&self, env: EnvironmentId, id: GrantId, now: DateTime<Utc>) -> Result<(), StoreError> {
        grant::Entity::update_many()
            .col_expr(grant::Column::RevokedAt, Expr::value(now))
            .filter(grant::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(grant::Column::Id.eq(id.as_uuid()))
            .filter(grant::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        self.ended();
        Ok(())
    }

    /// Revokes every grant resting on a consent record; answers how many.
    pub async fn revoke_grants_of_consent(
        &self,
        env: EnvironmentId,
        consent: ConsentId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let grants = Query::select()
            .column(grant_consent::Column::GrantId)
            .from(grant_consent::Entity)
            .and_where(grant_consent::Column::EnvironmentId.eq(env.as_uuid()))
            .and_where(grant_consent::Column::ConsentId.eq(consent.as_uuid()))
            .to_owned();
        let result = grant::Entity::update_many()
            .col_expr(grant::Column::RevokedAt, Expr::value(now))
            .filter(grant::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(grant::Column::Id.in_subquery(grants))
            .filter(grant::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        self.ended();
        Ok(result.rows_affected)
    }

    /// Takes an authorization code: the first call gets it, later calls learn it was replayed.
    pub async fn take_code(
        &self,
        env: EnvironmentId,
        code_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Taken<StoredCode>, StoreError> {
        // Claim and read in one statement; only a refused claim asks whether the code was ever issued.
        let claim = authorization_code::Entity::update_many()
            .col_expr(authorization_code::Column::UsedAt, Expr::value(now))
            .filter(authorization_code::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(authorization_code::Column::CodeHash.eq(code_digest))
            .filter(authorization_code::Column::UsedAt.is_null())
            .into_query();
        let claimed = self.update_returning::<authorization_code::Entity>(claim).await?;
        let Some(row) = claimed.into_iter().next() else {
            let issued = authorization_code::Entity::find()
                .filter(authorization_code::Column::EnvironmentId.eq(env.as_uuid()))
                .filter(authorization_code::Column::CodeHash.eq(code_digest))
                .read_one(&self.reads)
                .await?;
            return Ok(issued.map_or(Taken::Unknown, |row| Taken::Replayed(GrantId::from_uuid(row.grant_id))));
        };
        Ok(Taken::Fresh(StoredCode {
            grant_id: GrantId::from_uuid(row.grant_id),
            client_id: ApplicationId::from_uuid(row.client_id),
            redirect_uri: row.redirect_uri,
            code_challenge: row.code_challenge,
            expires_at: row.expires_at,
        }))
    }

    /// Stores a refresh token of a grant.
    pub async fn insert_refresh_token(
        &self,
        env: EnvironmentId,
        grant: GrantId,
        token_digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let insert = refresh_token::Entity::insert(
            refresh_token::Model {
                environment_id: env.as_uuid(),
                token_hash: token_digest.to_owned(),
                grant_id: grant.as_uuid(),
                created_at: now,
                expires_at,
                used_at: None,
            }
            .into_active_model(),
        );
        self.write(vec![insert.build(self.backend())]).await
    }

    /// A refresh token as stored, used or not.
    pub async fn refresh_token(
        &self,
        env: EnvironmentId,
        token_digest: &str,
    ) -> Result<Option<StoredRefresh>, StoreError> {
        let row = refresh_token::Entity::find()
            .filter(refresh_token::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(refresh_token::Column::TokenHash.eq(token_digest))
            .read_one(&self.reads)
            .await?;
        Ok(row.map(|row| StoredRefresh {
            grant_id: GrantId::from_uuid(row.grant_id),
            expires_at: row.expires_at,
            used_at: row.used_at,
            created_at: row.created_at,
        }))
    }

    /// Takes a refresh token for rotation: the first call gets it, later calls learn it was reused.
    pub async fn take_refresh_token(
        &self,
        env: EnvironmentId,
        token_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Taken<StoredRefresh>, StoreError> {
        // Claim and read in one statement; only a refused claim asks whether the token was ever issued.
        let claim = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(refresh_token::Column::TokenHash.eq(token_digest))
            .filter(refresh_token::Column::UsedAt.is_null())
            .into_query();
        let claimed = self.update_returning::<refresh_token::Entity>(claim).await?;
        let Some(row) = claimed.into_iter().next() else {
            let issued = self.refresh_token(env, token_digest).await?;
            return Ok(issued.map_or(Taken::Unknown, |stored| Taken::Replayed(stored.grant_id)));
        };
        // As it was before this claim: unused.
        Ok(Taken::Fresh(StoredRefresh {
            grant_id: GrantId::from_uuid(row.grant_id),
            expires_at: row.expires_at,
            used_at: None,
            created_at: row.created_at,
        }))
    }

    /// Remembers a revoked access token until it would have expired anyway.
    pub async fn revoke_access_token(
        &self,
        env: EnvironmentId,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        revoked_token::Entity::insert(
            revoked_token::Model { environment_id: env.as_uuid(), jti: jti.to_owned(), expires_at }.into_active_model(),
        )
        .on_conflict(
            OnConflict::columns([revoked_token::Column::EnvironmentId, revoked_token::Column::Jti])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        self.ended();
        Ok(())
    }

    /// Whether an access token was revoked.
    pub async fn access_token_revoked(&self, env: EnvironmentId, jti: &str) -> Result<bool, StoreError> {
        Ok(revoked_token::Entity::find()
            .filter(revoked_token::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(revoked_token::Column::Jti.eq(jti))
            .read_one(&self.reads)
            .await?
            .is_some())
    }
}

/// Whose grants to end.
#[derive(Clone, Copy, Debug)]
pub(super) enum GrantsOf {
    /// Every grant a user gave.
    User(UserId),
    /// Every grant given to a client.
    Client(ApplicationId),
}

/// Revokes every standing grant of a user or of a client, inside the caller's transaction.
pub(super) async fn revoke_grants_of(
    db: &impl ConnectionTrait,
    env: EnvironmentId,
    of: GrantsOf,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let whose = match of {
        GrantsOf::User(user_id) => grant::Column::UserId.eq(user_id.as_uuid()),
        GrantsOf::Client(client_id) => grant::Column::ClientId.eq(client_id.as_uuid()),
    };
    let update = grant::Entity::update_many()
        .col_expr(grant::Column::RevokedAt, Expr::value(now))
        .filter(grant::Column::EnvironmentId.eq(env.as_uuid()))
        .filter(grant::Column::RevokedAt.is_null())
        .filter(whose);
    Ok(update.exec(db).await?.rows_affected)
}
