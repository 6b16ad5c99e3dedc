//! Revoking consent records: by one user or administrator, or all of a deleted user's or
//! application's at once. Each revocation says when and by whom, and is written once.

use entities::{consent, user};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Store, StoreError};
use crate::domain::consents::{Revocation, RevokedBy};
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};
use crate::domain::proof::EventType;
use crate::domain::proof::content::{revoked_event, subject_event};

/// The stored type name and id of a revocation's cause; the names are the API's `revokedBy.type`.
pub(super) fn revoked_by_columns(by: RevokedBy) -> (&'static str, Option<Uuid>) {
    by.parts()
}

/// The cause stored as `kind` and `id`; `None` when they do not make one.
pub(super) fn revoked_by_from(kind: &str, id: Option<Uuid>) -> Option<RevokedBy> {
    Some(match (kind, id) {
        ("USER", Some(id)) => RevokedBy::User(UserId::from_uuid(id)),
        ("ADMINISTRATOR", Some(id)) => RevokedBy::Administrator(ApplicationId::from_uuid(id)),
        ("CONSENT_SESSION", Some(id)) => RevokedBy::ConsentSession(ApplicationId::from_uuid(id)),
        ("APPLICATION_DELETED", Some(id)) => RevokedBy::ApplicationDeleted(ApplicationId::from_uuid(id)),
        ("USER_DELETED", Some(id)) => RevokedBy::UserDeleted(UserId::from_uuid(id)),
        ("UNKNOWN", _) => RevokedBy::Unknown,
        _ => return None,
    })
}

/// The user still exists: a deleted user's records are reached only through the environment's list.
pub(super) fn user_exists(env: EnvironmentId, user: UserId) -> sea_orm::sea_query::SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::value(1))
            .from(user::Entity)
            .and_where(user::Column::EnvironmentId.eq(env.as_uuid()))
            .and_where(user::Column::Id.eq(user.as_uuid()))
            .to_owned(),
    )
}

/// Whose records a deletion revokes.
#[derive(Clone, Copy, Debug)]
pub(super) enum ConsentsOf {
    /// Every record a user gave.
    User(UserId),
    /// Every record given to a registered application.
    Application(ApplicationId),
}

/// Records revoked per statement when a deletion revokes many: each statement stays well inside
/// the database statement timeout (PostgreSQL revoked about 7,000 records a second on the
/// development machine, with every index of the ledger to update).
const REVOKED_PER_STATEMENT: u64 = 5_000;

/// Revokes the `ACCEPTED`, unexpired records of a deleted user or application inside the caller's
/// transaction (an expired record already ended by itself and keeps reading `EXPIRED`), in
/// statements of at most [`REVOKED_PER_STATEMENT`] records, and appends an event for each and one
/// for the deletion; answers how many.
pub(super) async fn revoke_consents_of(
    db: &impl ConnectionTrait,
    env: EnvironmentId,
    of: ConsentsOf,
    revocation: Revocation,
) -> Result<u64, StoreError> {
    let whose = match of {
        ConsentsOf::User(id) => consent::Column::UserId.eq(id.as_uuid()),
        ConsentsOf::Application(id) => consent::Column::ApplicationId.eq(id.as_uuid()),
    };
    let unexpired =
        Condition::any().add(consent::Column::ExpiresAt.is_null()).add(consent::Column::ExpiresAt.gt(revocation.at));
    let mut revoked: Vec<Uuid> = Vec::new();
    loop {
        // The newest record of this statement's share, oldest first; none once fewer are left.
        let last: Option<Uuid> = consent::Entity::find()
            .filter(consent::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(consent::Column::Status.eq("ACCEPTED"))
            .filter(whose.clone())
            .filter(unexpired.clone())
            .select_only()
            .column(consent::Column::Id)
            .order_by_asc(consent::Column::Id)
            .offset(REVOKED_PER_STATEMENT - 1)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        let mut update = revoke(env, revocation).filter(whose.clone()).filter(unexpired.clone());
        if let Some(last) = last {
            update = update.filter(consent::Column::Id.lte(last));
        }
        let changed = update.exec_with_returning(db).await?;
        revoked.extend(changed.into_iter().map(|row| row.id));
        if last.is_none() {
            break;
        }
    }
    let count = revoked.len() as u64;
    let deleted = match of {
        ConsentsOf::User(id) => subject_event(EventType::UserDeleted, revocation.at, id.as_uuid()),
        ConsentsOf::Application(id) => subject_event(EventType::ApplicationDeleted, revocation.at, id.as_uuid()),
    };
    let events = revoked.into_iter().map(|id| revoked_event(id, revocation)).chain([deleted]).collect();
    super::events::append(db, env, events).await?;
    Ok(count)
}

/// Marks the environment's `ACCEPTED` records (narrowed by the caller) `REVOKED` with `revocation`.
/// Only accepted records change, so a revoked record never changes again.
fn revoke(env: EnvironmentId, revocation: Revocation) -> sea_orm::UpdateMany<consent::Entity> {
    let (kind, id) = revoked_by_columns(revocation.by);
    consent::Entity::update_many()
        .col_expr(consent::Column::Status, Expr::value("REVOKED"))
        .col_expr(consent::Column::UpdatedAt, Expr::value(revocation.at))
        .col_expr(consent::Column::RevokedAt, Expr::value(revocation.at))
        .col_expr(consent::Column::RevokedByType, Expr::value(kind))
        .col_expr(consent::Column::RevokedById, Expr::value(id))
        .filter(consent::Column::EnvironmentId.eq(env.as_uuid()))
        .filter(consent::Column::Status.eq("ACCEPTED"))
}

impl Store {
    /// Marks an `ACCEPTED` record of an existing user `REVOKED` with `revocation`, and appends its
    /// `consent.revoked` event in the same transaction; true when this call changed it.
    pub async fn revoke_consent(
        &self,
        env: EnvironmentId,
        user: UserId,
        id: ConsentId,
        revocation: Revocation,
    ) -> Result<bool, StoreError> {
        let tx = self.begin().await?;
        let result = revoke(env, revocation)
            .filter(consent::Column::UserId.eq(user.as_uuid()))
            .filter(consent::Column::Id.eq(id.as_uuid()))
            .filter(user_exists(env, user))
            .exec(&tx)
            .await?;
        let changed = result.rows_affected > 0;
        if changed {
            super::events::append(&tx, env, vec![revoked_event(id.as_uuid(), revocation)]).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::filter::REVOKED_BY_VALUES;

    #[test]
    fn every_cause_is_stored_under_a_filterable_name_and_read_back() {
        let causes = [
            RevokedBy::User(UserId::new()),
            RevokedBy::Administrator(ApplicationId::new()),
            RevokedBy::ConsentSession(ApplicationId::new()),
            RevokedBy::ApplicationDeleted(ApplicationId::new()),
            RevokedBy::UserDeleted(UserId::new()),
            RevokedBy::Unknown,
        ];
        let names: Vec<&str> = causes.iter().map(|by| revoked_by_columns(*by).0).collect();
        assert_eq!(names, REVOKED_BY_VALUES);
        for by in causes {
            let (kind, id) = revoked_by_columns(by);
            assert_eq!(revoked_by_from(kind, id), Some(by));
        }
        assert_eq!(revoked_by_from("USER", None), None, "a user's revocation names the user");
        assert_eq!(revoked_by_from("EXPIRED", None), None);
    }
}
