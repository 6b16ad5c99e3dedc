//! Translates a parsed SCIM filter into a SQL condition over the consent indexes.

use chrono::{DateTime, Utc};
use entities::{consent, consent_scope};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition};

use crate::domain::filter::{Attribute, Comparison, Filter, Operator, Value};
use crate::domain::ids::EnvironmentId;

/// The condition for `filter` in `env`; `now` decides what `EXPIRED` means.
pub fn condition(env: EnvironmentId, filter: &Filter, now: DateTime<Utc>) -> Condition {
    match filter {
        Filter::Compare(comparison) => comparison_condition(env, comparison, now),
        Filter::And(left, right) => Condition::all().add(condition(env, left, now)).add(condition(env, right, now)),
        Filter::Or(left, right) => Condition::any().add(condition(env, left, now)).add(condition(env, right, now)),
    }
}

fn comparison_condition(env: EnvironmentId, comparison: &Comparison, now: DateTime<Utc>) -> Condition {
    use consent::Column;
    let value = &comparison.value;
    let single = |expr| Condition::all().add(expr);
    match (comparison.attribute, value) {
        (Attribute::ApplicationId, Value::Uuid(id)) => single(Column::ApplicationId.eq(*id)),
        (Attribute::UserId, Value::Uuid(id)) => single(Column::UserId.eq(*id)),
        (Attribute::ApplicationName, Value::Text(name)) => single(Column::ApplicationName.eq(name.as_str())),
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
        (Attribute::ConsentedAt, Value::Timestamp(at)) => single(match comparison.operator {
            Operator::Eq => Column::ConsentedAt.eq(*at),
            Operator::Gt => Column::ConsentedAt.gt(*at),
            Operator::Ge => Column::ConsentedAt.gte(*at),
            Operator::Lt => Column::ConsentedAt.lt(*at),
            Operator::Le => Column::ConsentedAt.lte(*at),
        }),
        // The parser only yields the value kinds above; anything else matches nothing rather than everything.
        _ => single(Expr::value(false)),
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
