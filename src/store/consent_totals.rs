//! Counts of the consent ledger per application and effective status, in one grouped query, and
//! the names of the applications they count.

use chrono::{DateTime, Utc};
use entities::{consent, external_application};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::consent_filter::{condition, status_condition};
use super::reads::ReadExt;
use super::{Store, StoreError};
use crate::domain::consents::{ApplicationCounts, CountedApplications, StatusCounts, Window};
use crate::domain::filter::Filter;
use crate::domain::ids::{ApplicationId, EnvironmentId};

/// One application's row: id, records, then ACCEPTED, DECLINED, REVOKED, EXPIRED, then the
/// totals over every group (records, applications), the same on each row.
type CountRow = (Uuid, i64, i64, i64, i64, i64, i64, i64);

fn count(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Database(format!("a count of {value} records")))
}

impl Store {
    /// Counts the environment's records matching `filter` and `window` per application and
    /// effective status at `now`; lists the `limit` applications with most records.
    pub async fn count_consents_by_application(
        &self,
        env: EnvironmentId,
        filter: Option<&Filter>,
        window: &Window,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<CountedApplications, StoreError> {
        use consent::Column;
        // The status buckets are the filter's own conditions, so `EXPIRED` counts what `status eq
        // "EXPIRED"` lists.
        let of_status = |status: &str| Func::count(Expr::case(status_condition(status, now), Expr::cust("1")));
        let mut query = consent::Entity::find()
            .select_only()
            .column(Column::ApplicationId)
            .expr_as(Expr::cust("COUNT(*)"), "records")
            .expr_as(of_status("ACCEPTED"), "accepted")
            .expr_as(of_status("DECLINED"), "declined")
            .expr_as(of_status("REVOKED"), "revoked")
            .expr_as(of_status("EXPIRED"), "expired")
            // Window functions run after grouping and before LIMIT: the grand totals come with the rows.
            .expr_as(Expr::cust("CAST(SUM(COUNT(*)) OVER () AS BIGINT)"), "all_records")
            .expr_as(Expr::cust("COUNT(*) OVER ()"), "all_applications")
            .filter(Column::EnvironmentId.eq(env.as_uuid()));
        let names = self.filter_names(env, filter).await?;
        if let Some(filter) = filter {
            query = query.filter(condition(env, filter, now, &names));
        }
        if let Some(since) = window.since {
            query = query.filter(Column::ConsentedAt.gte(since));
        }
        if let Some(until) = window.until {
            query = query.filter(Column::ConsentedAt.lt(until));
        }
        let rows: Vec<CountRow> = query
            .group_by(Column::ApplicationId)
            .order_by(Expr::cust("COUNT(*)"), Order::Desc)
            .order_by_asc(Column::ApplicationId)
            .limit(limit)
            .read_tuples(&self.reads)
            .await?;
        let mut counted = CountedApplications::default();
        if let Some(&(_, _, _, _, _, _, records, applications)) = rows.first() {
            counted.total = count(records)?;
            counted.applications = count(applications)?;
        }
        for (id, _, accepted, declined, revoked, expired, _, _) in rows {
            let counts = StatusCounts {
                accepted: count(accepted)?,
                declined: count(declined)?,
                revoked: count(revoked)?,
                expired: count(expired)?,
            };
            counted.top.push(ApplicationCounts { application_id: ApplicationId::from_uuid(id), counts });
        }
        Ok(counted)
    }

    /// The names of the external applications among `ids`.
    pub async fn external_application_names(
        &self,
        env: EnvironmentId,
        ids: &[ApplicationId],
    ) -> Result<Vec<(ApplicationId, String)>, StoreError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<(Uuid, String)> = external_application::Entity::find()
            .filter(external_application::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(external_application::Column::Id.is_in(ids.iter().map(ApplicationId::as_uuid)))
            .select_only()
            .column(external_application::Column::Id)
            .column(external_application::Column::Name)
            .read_tuples(&self.reads)
            .await?;
        Ok(rows.into_iter().map(|(id, name)| (ApplicationId::from_uuid(id), name)).collect())
    }

    /// The application name on the newest record naming `application`, if any record does.
    pub async fn newest_application_name(
        &self,
        env: EnvironmentId,
        application: ApplicationId,
    ) -> Result<Option<String>, StoreError> {
        let names: Vec<String> = consent::Entity::find()
            .filter(consent::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(consent::Column::ApplicationId.eq(application.as_uuid()))
            .select_only()
            .column(consent::Column::ApplicationName)
            .order_by_desc(consent::Column::Id)
            .limit(1)
            .read_tuples(&self.reads)
            .await?;
        Ok(names.into_iter().next())
    }
}
