//! Users, scoped by environment.

use super::reads::ReadExt;
use chrono::{DateTime, Utc};
use entities::{browser_session, retired_subject, user};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
};

use super::consent_revocations::{ConsentsOf, revoke_consents_of};
use super::error::{conflict_on, touched};
use super::grants::{GrantsOf, revoke_grants_of};
use super::{Store, StoreError};
use crate::domain::consents::{Revocation, RevokedBy};
use crate::domain::ids::{EnvironmentId, UserId};
use crate::domain::paging::PageRequest;
use crate::domain::users::User;

pub(super) fn to_domain(row: user::Model) -> User {
    User {
        id: UserId::from_uuid(row.id),
        environment_id: EnvironmentId::from_uuid(row.environment_id),
        username: row.username,
        email: row.email,
        given_name: row.given_name,
        family_name: row.family_name,
        enabled: row.enabled,
        external_subject: row.external_subject,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// `query` narrowed to the external user of `subject`, when given.
fn with_subject(query: sea_orm::Select<user::Entity>, subject: Option<&str>) -> sea_orm::Select<user::Entity> {
    match subject {
        Some(subject) => query.filter(user::Column::ExternalSubject.eq(subject)),
        None => query,
    }
}

fn scoped(env: EnvironmentId) -> sea_orm::Select<user::Entity> {
    user::Entity::find().filter(user::Column::EnvironmentId.eq(env.as_uuid()))
}

impl Store {
    /// Inserts a user; a taken username (or external subject) is a conflict on `username`.
    pub async fn insert_user(
        &self,
        env: EnvironmentId,
        u: &User,
        password_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        user::Model {
            environment_id: env.as_uuid(),
            id: u.id.as_uuid(),
            username: u.username.clone(),
            email: u.email.clone(),
            given_name: u.given_name.clone(),
            family_name: u.family_name.clone(),
            enabled: u.enabled,
            password_hash: password_hash.map(str::to_owned),
            failed_logins: 0,
            locked_until: None,
            created_at: u.created_at,
            updated_at: u.updated_at,
            external_subject: u.external_subject.clone(),
            erased_at: None,
        }
        .into_active_model()
        .insert(&self.db)
        .await
        .map_err(conflict_on("username"))?;
        Ok(())
    }

    /// Reads one user.
    pub async fn get_user(&self, env: EnvironmentId, id: UserId) -> Result<User, StoreError> {
        scoped(env)
            .filter(user::Column::Id.eq(id.as_uuid()))
            .read_one(&self.reads)
            .await?
            .map(to_domain)
            .ok_or(StoreError::NotFound)
    }

    /// One page of users in id (creation) order; only the external user of `external_subject` when given.
    pub async fn list_users(
        &self,
        env: EnvironmentId,
        external_subject: Option<&str>,
        page: PageRequest,
    ) -> Result<Vec<User>, StoreError> {
        let query = super::paging::keyset(with_subject(scoped(env), external_subject), user::Column::Id, false, page);
        Ok(query.read_all(&self.reads).await?.into_iter().map(to_domain).collect())
    }

    /// How many users [`Self::list_users`] pages through, counting no further than `bound + 1`.
    pub async fn count_users(
        &self,
        env: EnvironmentId,
        external_subject: Option<&str>,
        bound: u64,
    ) -> Result<u64, StoreError> {
        Ok(with_subject(scoped(env), external_subject).read_count_upto(&self.reads, bound).await?)
    }

    /// The users `subject` may name, in one query: the one with id `id`, the external user of
    /// `subject`, the one with username `subject` (each unique in the environment).
    pub async fn users_named_by(
        &self,
        env: EnvironmentId,
        id: Option<UserId>,
        subject: &str,
    ) -> Result<Vec<User>, StoreError> {
        let mut names =
            Condition::any().add(user::Column::ExternalSubject.eq(subject)).add(user::Column::Username.eq(subject));
        if let Some(id) = id {
            names = names.add(user::Column::Id.eq(id.as_uuid()));
        }
        Ok(scoped(env).filter(names).limit(3).read_all(&self.reads).await?.into_iter().map(to_domain).collect())
    }

    /// Whether any of `digests` names a deleted user of the environment.
    pub async fn subject_retired(&self, env: EnvironmentId, digests: &[String]) -> Result<bool, StoreError> {
        let found = retired_subject::Entity::find()
            .filter(retired_subject::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(retired_subject::Column::SubjectDigest.is_in(digests.iter().cloned()))
            .limit(1)
            .read_all(&self.reads)
            .await?;
        Ok(!found.is_empty())
    }

    /// Writes every attribute of `u`; the password only when a new hash is given. A disabled user's
    /// grants and browser sessions end in the same transaction.
    pub async fn update_user(
        &self,
        env: EnvironmentId,
        u: &User,
        password_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut update = user::Entity::update_many()
            .col_expr(user::Column::Username, Expr::value(u.username.clone()))
            .col_expr(user::Column::Email, Expr::value(u.email.clone()))
            .col_expr(user::Column::GivenName, Expr::value(u.given_name.clone()))
            .col_expr(user::Column::FamilyName, Expr::value(u.family_name.clone()))
            .col_expr(user::Column::Enabled, Expr::value(u.enabled))
            .col_expr(user::Column::UpdatedAt, Expr::value(u.updated_at));
        if let Some(hash) = password_hash {
            update = update.col_expr(user::Column::PasswordHash, Expr::value(hash.to_owned()));
        }
        let tx = self.begin().await?;
        let result = update
            .filter(user::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(user::Column::Id.eq(u.id.as_uuid()))
            .exec(&tx)
            .await
            .map_err(conflict_on("username"))?;
        touched(result.rows_affected)?;
        if !u.enabled {
            end_everything_of(&tx, env, u.id, u.updated_at).await?;
        }
        tx.commit().await?;
        if !u.enabled {
            self.ended();
        }
        Ok(())
    }

    /// Deletes a user, ending their grants and browser sessions, revoking their accepted, unexpired
    /// consent records (`USER_DELETED`) and retiring the digests of what named them, in one
    /// transaction. The records stay.
    pub async fn delete_user(
        &self,
        env: EnvironmentId,
        id: UserId,
        retired: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let result = user::Entity::delete_many()
            .filter(user::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(user::Column::Id.eq(id.as_uuid()))
            .exec(&tx)
            .await?;
        touched(result.rows_affected)?;
        end_everything_of(&tx, env, id, now).await?;
        if !retired.is_empty() {
            let rows = retired.iter().map(|digest| {
                retired_subject::Model {
                    environment_id: env.as_uuid(),
                    subject_digest: digest.clone(),
                    retired_at: now,
                }
                .into_active_model()
            });
            let retired_before =
                OnConflict::columns([retired_subject::Column::EnvironmentId, retired_subject::Column::SubjectDigest])
                    .do_nothing()
                    .to_owned();
            retired_subject::Entity::insert_many(rows).on_conflict(retired_before).exec_without_returning(&tx).await?;
        }
        let revocation = Revocation { at: now, by: RevokedBy::UserDeleted(id) };
        revoke_consents_of(&tx, env, ConsentsOf::User(id), revocation).await?;
        super::erasure::erase_personal_data_of(&tx, env, id, now).await?;
        tx.commit().await?;
        self.ended();
        self.compact_after_erasure().await;
        Ok(())
    }
}

/// Ends what a user's sign-ins and grants left standing: grants (with their refresh and access
/// tokens) and browser sessions.
pub(super) async fn end_everything_of(
    db: &impl ConnectionTrait,
    env: EnvironmentId,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    revoke_grants_of(db, env, GrantsOf::User(id), now).await?;
    browser_session::Entity::update_many()
        .col_expr(browser_session::Column::ExpiresAt, Expr::value(now))
        .filter(browser_session::Column::EnvironmentId.eq(env.as_uuid()))
        .filter(browser_session::Column::UserId.eq(id.as_uuid()))
        .filter(browser_session::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(())
}
