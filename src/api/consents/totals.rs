//! `GET /v1/environments/{envId}/oauthConsents/totals`: how many records each application has in
//! each status, for auditors.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{Object, OpenApi};

use super::ApplicationType;
use super::wire::SelfLink;
use crate::api::json::JsonOut;
use crate::api::security::BearerToken;
use crate::api::types::{Link, Timestamp, urlencode};
use crate::api::{ApiTags, permitted_env};
use crate::auth::principal::Permission;
use crate::domain::consents::{self, ApplicationTotals, ConsentTotals, StatusCounts, TotalsQuery};
use crate::error::ApiError;
use crate::state::AppState;

/// Records by status, as the list reads them.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct StatusCountsOut {
    /// Accepted and in force.
    #[oai(rename = "ACCEPTED")]
    #[serde(rename = "ACCEPTED")]
    pub accepted: u64,
    /// Declined.
    #[oai(rename = "DECLINED")]
    #[serde(rename = "DECLINED")]
    pub declined: u64,
    /// Revoked.
    #[oai(rename = "REVOKED")]
    #[serde(rename = "REVOKED")]
    pub revoked: u64,
    /// Accepted, with `expiresAt` passed at `countedAt` (what `status eq "EXPIRED"` lists).
    #[oai(rename = "EXPIRED")]
    #[serde(rename = "EXPIRED")]
    pub expired: u64,
}

impl From<StatusCounts> for StatusCountsOut {
    fn from(value: StatusCounts) -> Self {
        Self { accepted: value.accepted, declined: value.declined, revoked: value.revoked, expired: value.expired }
    }
}

/// The application counted.
#[derive(Clone, Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct TotalsApplication {
    /// Its id (for `EXTERNAL` applications, the stable id of the name).
    pub id: String,
    /// Current name of a registered application (for a deleted one, the name on its newest record);
    /// the name of an external one.
    pub name: String,
    /// `PINGONE` or `EXTERNAL`.
    pub application_type: ApplicationType,
}

/// One application's records.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct ApplicationTotalsOut {
    /// The application.
    pub application: TotalsApplication,
    /// Its records, of every status.
    pub total: u64,
    /// Its records by status.
    pub counts: StatusCountsOut,
}

impl From<ApplicationTotals> for ApplicationTotalsOut {
    fn from(value: ApplicationTotals) -> Self {
        Self {
            application: TotalsApplication {
                id: value.application.id.to_string(),
                name: value.application.name,
                application_type: value.application.kind.into(),
            },
            total: value.counts.total(),
            counts: value.counts.into(),
        }
    }
}

/// Totals of the environment's records.
#[derive(Clone, Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ConsentTotalsOut {
    /// This answer.
    #[oai(rename = "_links")]
    #[serde(rename = "_links")]
    pub links: SelfLink,
    /// Records matching the filter and window, of every application.
    pub total: u64,
    /// Applications with matching records; `byApplication` lists at most `limit` of them.
    pub application_count: u64,
    /// Applications with most records first (ties by id).
    pub by_application: Vec<ApplicationTotalsOut>,
    /// The instant statuses were read at.
    pub counted_at: Timestamp,
    /// Start of the window counted (inclusive), when given.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// End of the window counted (exclusive), when given.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

impl ConsentTotalsOut {
    fn new(self_url: String, totals: ConsentTotals) -> Self {
        Self {
            links: SelfLink { self_: Link::to(self_url) },
            total: totals.total,
            application_count: totals.application_count,
            by_application: totals.by_application.into_iter().map(Into::into).collect(),
            counted_at: totals.counted_at.into(),
            since: totals.window.since.map(Into::into),
            until: totals.window.until.map(Into::into),
        }
    }
}

/// Totals of consent records.
pub struct ConsentTotalsApi;

#[OpenApi(tag = "ApiTags::Consents")]
impl ConsentTotalsApi {
    /// Count consents per application and status
    ///
    /// How many records each application has, by status, counted in the database: `ACCEPTED`,
    /// `DECLINED`, `REVOKED` and `EXPIRED` (an accepted record whose `expiresAt` has passed, as the
    /// list reads it). `filter` takes the audit list's SCIM filter; `since` (inclusive) and `until`
    /// (exclusive) bound `consentedAt`. `total` counts every matching record;
    /// `byApplication` lists the `limit` applications with most records (default 100, at most 1000)
    /// and `applicationCount` says how many there are. **Permissions:** a worker token of this
    /// environment.
    #[oai(path = "/v1/environments/:envId/oauthConsents/totals", method = "get", operation_id = "consents.totals")]
    #[allow(clippy::too_many_arguments)]
    async fn consent_totals(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        /// SCIM filter expression, as for the audit list.
        filter: Query<Option<String>>,
        /// Count records consented at or after this instant (RFC 3339).
        since: Query<Option<String>>,
        /// Count records consented before this instant (RFC 3339); later than `since`.
        until: Query<Option<String>>,
        /// Applications listed, 1 to 1000 (default 100).
        limit: Query<Option<i64>>,
    ) -> Result<JsonOut<ConsentTotalsOut>, ApiError> {
        let env = permitted_env(&auth, &env_id, Permission::ReadConsents)?;
        let mut self_url = state.url(&format!("/v1/environments/{env}/oauthConsents/totals"));
        let given = [("filter", filter.as_deref()), ("since", since.as_deref()), ("until", until.as_deref())];
        let mut separator = '?';
        for (name, value) in given.into_iter().filter_map(|(name, value)| value.map(|v| (name, v))) {
            self_url.push_str(&format!("{separator}{name}={}", urlencode(value)));
            separator = '&';
        }
        if let Some(limit) = limit.0 {
            self_url.push_str(&format!("{separator}limit={limit}"));
        }
        let query = TotalsQuery { filter: filter.0, since: since.0, until: until.0, limit: limit.0 };
        let totals = consents::consent_totals(&state.store, env, query).await?;
        Ok(JsonOut(ConsentTotalsOut::new(self_url, totals)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use poem_openapi::types::ToJSON;

    use super::*;
    use crate::domain::consents::{ApplicationKind, NamedApplication, Window};
    use crate::domain::ids::ApplicationId;

    #[test]
    fn totals_serialise_the_same_both_ways() {
        let line = ApplicationTotals {
            application: NamedApplication {
                id: ApplicationId::new(),
                name: "Printer".into(),
                kind: ApplicationKind::External,
            },
            counts: StatusCounts { accepted: 3, declined: 2, revoked: 1, expired: 4 },
        };
        for window in [Window::default(), Window { since: Some(Utc::now()), until: Some(Utc::now()) }] {
            let totals = ConsentTotals {
                total: 10,
                application_count: 1,
                by_application: vec![line.clone()],
                counted_at: Utc::now(),
                window,
            };
            let out = ConsentTotalsOut::new("http://x/totals".into(), totals);
            assert_eq!(serde_json::to_value(&out).expect("serde"), out.to_json().expect("to_json"));
        }
    }
}
