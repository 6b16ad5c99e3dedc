//! The insert of a grant, which takes the user's external subject from the user row itself.

use entities::{grant, user};
use sea_orm::sea_query::{Expr, InsertStatement, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, IntoActiveModel, Iterable};
use serde_json::Value as Json;

use super::StoreError;
use super::grants::claims_to;
use crate::domain::grants::Grant;
use crate::domain::ids::EnvironmentId;

/// The insert of a grant. Its external subject is copied from its user's row by the same
/// statement, so tokens name the user as the login app did without a read on the way.
pub(super) fn grant_insert(env: EnvironmentId, g: &Grant) -> Result<InsertStatement, StoreError> {
    let row = grant::Model {
        environment_id: env.as_uuid(),
        id: g.id.as_uuid(),
        client_id: g.client_id.as_uuid(),
        user_id: g.user_id.as_uuid(),
        scopes: Json::Array(g.scopes.iter().cloned().map(Json::String).collect()),
        auth_time: g.auth_time,
        nonce: g.nonce.clone(),
        created_at: g.created_at,
        revoked_at: g.revoked_at,
        access_claims: claims_to(&g.access_claims),
        id_claims: claims_to(&g.id_claims),
        external_subject: None,
    }
    .into_active_model();
    let subject_of_user = Query::select()
        .column(user::Column::ExternalSubject)
        .from(user::Entity)
        .and_where(user::Column::EnvironmentId.eq(env.as_uuid()))
        .and_where(user::Column::Id.eq(g.user_id.as_uuid()))
        .to_owned();
    let columns: Vec<grant::Column> = grant::Column::iter().collect();
    let mut values = Vec::with_capacity(columns.len());
    for column in &columns {
        values.push(match column {
            grant::Column::ExternalSubject => Expr::from(subject_of_user.clone()),
            other => Expr::Value(
                row.get(*other)
                    .into_value()
                    .ok_or_else(|| StoreError::Database(format!("grant column {other:?} has no value")))?,
            ),
        });
    }
    let mut insert = Query::insert();
    insert
        .into_table(grant::Entity)
        .columns(columns)
        .values(values)
        .map_err(|e| StoreError::Database(format!("grant insert: {e}")))?;
    Ok(insert)
}
