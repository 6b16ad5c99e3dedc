//! Translates a parsed SCIM filter into a SQL condition over the consent indexes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{application, application_name, consent, consent_scope, external_application};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::reads::ReadExt;
use super::{Store, StoreError};
use crate::domain::filter::{Attribute, Comparison, Filter, Operator, Value};
use crate::domain::ids::EnvironmentId;

/// How the records of an `application.name` value are found: those recorded under the name, and
/// every record of a registered application now so named. A single index lookup where the names
/// applications have had allow it (an `OR` of the two would make the database walk every record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum NameMatch {
    /// No registered application is now so named: the records recorded under the name.
    Recorded,
    /// These applications are now so named, and no other application (registered or external)
    /// ever was: their records, whatever name each was recorded under.
    Applications(Vec<Uuid>),
    /// The records recorded under the name, and those of these applications now so named.
    Either(Vec<Uuid>),
}

/// The [`NameMatch`] of every `application.name` value of a filter.
pub(super) type NameMatches = HashMap<String, NameMatch>;

/// A consent filter with its `application.name` values resolved ([`Store::resolve_filter`]).
#[derive(Clone, Debug, Default)]
pub struct ResolvedFilter {
    pub(super) filter: Option<Filter>,
    pub(super) names: NameMatches,
}

impl Store {
    /// Resolves what the `application.name` values of `filter` stand for (one read per distinct
    /// name), once for a page, its count, or every chunk of an export.
    pub async fn resolve_filter(
        &self,
        env: EnvironmentId,
        filter: Option<Filter>,
    ) -> Result<ResolvedFilter, StoreError> {
        let names = self.filter_names(env, filter.as_ref()).await?;
        Ok(ResolvedFilter { filter, names })
    }

    /// The applications an `application.name` in `filter` may mean (none without a filter).
    pub(super) async fn filter_names(
        &self,
        env: EnvironmentId,
        filter: Option<&Filter>,
    ) -> Result<NameMatches, StoreError> {
        match filter {
            Some(filter) => self.name_matches(env, filter).await,
            None => Ok(NameMatches::new()),
        }
    }

    /// Decides how each `application.name` value of `filter` is matched (one read per distinct name).
    pub(super) async fn name_matches(&self, env: EnvironmentId, filter: &Filter) -> Result<NameMatches, StoreError> {
        let mut names = Vec::new();
        application_names(filter, &mut names);
        let mut matches = NameMatches::new();
        for name in names {
            if !matches.contains_key(name) {
                let found = self.kept_name_match(env, name).await?;
                matches.insert(name.to_owned(), found);
            }
        }
        Ok(matches)
    }

    /// [`Self::name_match`], kept in the catalog (renames and new applications forget it).
    async fn kept_name_match(&self, env: EnvironmentId, name: &str) -> Result<NameMatch, StoreError> {
        if let Some(found) = self.catalog.name_match(env.as_uuid(), name) {
            return Ok(NameMatch::clone(&found));
        }
        let start = self.catalog.start();
        let found = self.name_match(env, name).await?;
        Ok(NameMatch::clone(&self.catalog.keep_name_match(start, env.as_uuid(), name, found)))
    }

    async fn name_match(&self, env: EnvironmentId, name: &str) -> Result<NameMatch, StoreError> {
        // Every registered application that ever had the name, with its name now (none once deleted).
        let name_now = Query::select()
            .column(application::Column::Name)
            .from(application::Entity)
            .and_where(application::Column::EnvironmentId.eq(env.as_uuid()))
            .and_where(
                Expr::col((application::Entity, application::Column::Id))
                    .equals((application_name::Entity, application_name::Column::ApplicationId)),
            )
            .to_owned();
        let holders: Vec<(Uuid, Option<String>)> = application_name::Entity::find()
            .filter(application_name::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(application_name::Column::Name.eq(name))
            .select_only()
            .column(application_name::Column::ApplicationId)
            .expr(Expr::SubQuery(None, Box::new(name_now.into())))
            .read_tuples(&self.reads)
            .await?;
        let current: Vec<Uuid> =
            holders.iter().filter(|(_, now)| now.as_deref() == Some(name)).map(|(id, _)| *id).collect();
        if current.is_empty() {
            return Ok(NameMatch::Recorded);
        }
        if current.len() == holders.len() && !self.external_name_exists(env, name).await? {
            return Ok(NameMatch::Applications(current));
        }
        Ok(NameMatch::Either(current))
    }

    /// Whether records were ever given to an external application of this name (without creating one).
    async fn external_name_exists(&self, env: EnvironmentId, name: &str) -> Result<bool, StoreError> {
        let key = (env.as_uuid(), name.to_owned());
        if self.external_ids.read().is_ok_and(|ids| ids.contains_key(&key)) {
            return Ok(true);
        }
        Ok(external_application::Entity::find()
            .filter(external_application::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(external_application::Column::Name.eq(name))
            .read_one(&self.reads)
            .await?
            .is_some())
    }
}

/// The `application.name` values of `filter`, in order.
fn application_names<'a>(filter: &'a Filter, names: &mut Vec<&'a str>) {
    match filter {
        Filter::Compare(Comparison { attribute: Attribute::ApplicationName, value: Value::Text(name), .. }) => {
            names.push(name)
        }
        Filter::Compare(_) => {}
        Filter::And(left, right) | Filter::Or(left, right) => {
            application_names(left, names);
            application_names(right, names);
        }
    }
}

/// The condition for `filter` in `env`; `now` decides what `EXPIRED` means, `names` how each
/// `application.name` is matched (see [`Store::name_matches`]).
pub fn condition(env: EnvironmentId, filter: &Filter, now: DateTime<Utc>, names: &NameMatches) -> Condition {
    match filter {
        Filter::Compare(comparison) => comparison_condition(env, comparison, now, names),
        Filter::And(left, right) => {
            Condition::all().add(condition(env, left, now, names)).add(condition(env, right, now, names))
        }
        Filter::Or(left, right) => {
            Condition::any().add(condition(env, left, now, names)).add(condition(env, right, now, names))
        }
    }
}

fn comparison_condition(
    env: EnvironmentId,
    comparison: &Comparison,
    now: DateTime<Utc>,
    names: &NameMatches,
) -> Condition {
    use consent::Column;
    let value = &comparison.value;
    let single = |expr| Condition::all().add(expr);
    match (comparison.attribute, value) {
        (Attribute::ApplicationId, Value::Uuid(id)) => single(Column::ApplicationId.eq(*id)),
        (Attribute::UserId, Value::Uuid(id)) => single(Column::UserId.eq(*id)),
        // The name a record was given under, or a registered application's current name: after a
        // rename, both its older and newer records match.
        (Attribute::ApplicationName, Value::Text(name)) => match names.get(name) {
            None | Some(NameMatch::Recorded) => single(Column::ApplicationName.eq(name.as_str())),
            Some(NameMatch::Applications(ids)) => single(Column::ApplicationId.is_in(ids.iter().copied())),
            Some(NameMatch::Either(ids)) => Condition::any()
                .add(Column::ApplicationName.eq(name.as_str()))
                .add(Column::ApplicationId.is_in(ids.iter().copied())),
        },
        (Attribute::RevokedByType, Value::Text(kind)) => single(Column::RevokedByType.eq(kind.as_str())),
        (Attribute::Status, Value::Text(status)) => status_condition(status, now),
        // A correlated EXISTS probes the (environment, scope, record) key once per candidate row, so a
        // page stops early instead of first collecting every record that has the scope.
        (Attribute::Scope, Value::Text(scope)) => single(Expr::exists(
            Query::select()
                .expr(Expr::value(1))
                .from(consent_scope::Entity)
                .and_where(consent_scope::Column::EnvironmentId.eq(env.as_uuid()))
                .and_where(consent_scope::Column::Scope.eq(scope.as_str()))
                .and_where(
                    Expr::col((consent_scope::Entity, consent_scope::Column::ConsentId))
                        .equals((consent::Entity, Column::Id)),
                )
                .to_owned(),
        )),
        (Attribute::ConsentedAt, Value::Timestamp(at)) => {
            single(compare(Column::ConsentedAt, comparison.operator, *at))
        }
        (Attribute::UpdatedAt, Value::Timestamp(at)) => single(compare(Column::UpdatedAt, comparison.operator, *at)),
        (Attribute::ExpiresAt, Value::Timestamp(at)) => single(compare(Column::ExpiresAt, comparison.operator, *at)),
        (Attribute::RevokedAt, Value::Timestamp(at)) => single(compare(Column::RevokedAt, comparison.operator, *at)),
        // The parser only yields the value kinds above; anything else matches nothing rather than everything.
        _ => single(Expr::value(false)),
    }
}

/// `column operator at`; a NULL column (no expiry, never revoked) matches nothing.
fn compare(column: consent::Column, operator: Operator, at: DateTime<Utc>) -> sea_orm::sea_query::SimpleExpr {
    match operator {
        Operator::Eq => column.eq(at),
        Operator::Gt => column.gt(at),
        Operator::Ge => column.gte(at),
        Operator::Lt => column.lt(at),
        Operator::Le => column.lte(at),
    }
}

/// The records whose effective status at `now` is `status`: `EXPIRED` is stored as `ACCEPTED` with
/// `expires_at` not after `now`.
pub(super) fn status_condition(status: &str, now: DateTime<Utc>) -> Condition {
    use consent::Column;
    let not_expired = Condition::any().add(Column::ExpiresAt.is_null()).add(Column::ExpiresAt.gt(now));
    match status {
        "ACCEPTED" => Condition::all().add(Column::Status.eq("ACCEPTED")).add(not_expired),
        "EXPIRED" => Condition::all().add(Column::Status.eq("ACCEPTED")).add(Column::ExpiresAt.lte(now)),
        other => Condition::all().add(Column::Status.eq(other)),
    }
}
