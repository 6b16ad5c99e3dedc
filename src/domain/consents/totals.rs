//! Totals for auditors: how many records each application has in each effective status, counted
//! in the database in one grouped query.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::ApplicationKind;
use super::read::parse_filter;
use crate::domain::error::{DomainError, FieldError, Validator};
use crate::domain::ids::{ApplicationId, EnvironmentId};
use crate::store::Store;

/// Applications an answer lists when the caller gives no `limit`.
pub const DEFAULT_TOTALS_APPLICATIONS: u64 = 100;
/// Most applications one answer lists.
pub const MAX_TOTALS_APPLICATIONS: u64 = 1000;

/// What to count, as the caller sent it.
#[derive(Clone, Debug, Default)]
pub struct TotalsQuery {
    /// A SCIM `filter` expression, as for the audit list.
    pub filter: Option<String>,
    /// Count records consented at or after this instant (RFC 3339).
    pub since: Option<String>,
    /// Count records consented before this instant (RFC 3339).
    pub until: Option<String>,
    /// How many applications to list, most records first.
    pub limit: Option<i64>,
}

/// The `consentedAt` window: `since` inclusive, `until` exclusive; either end may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// First instant counted.
    pub since: Option<DateTime<Utc>>,
    /// First instant no longer counted.
    pub until: Option<DateTime<Utc>>,
}

/// Records of one application by effective status (`EXPIRED` as the list reads it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Accepted and not expired.
    pub accepted: u64,
    /// Declined.
    pub declined: u64,
    /// Revoked.
    pub revoked: u64,
    /// Accepted, with `expiresAt` passed.
    pub expired: u64,
}

impl StatusCounts {
    /// Records of every status.
    pub fn total(&self) -> u64 {
        self.accepted + self.declined + self.revoked + self.expired
    }
}

/// One application's counts, as the store answers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApplicationCounts {
    /// The application the records name.
    pub application_id: ApplicationId,
    /// Its records by status.
    pub counts: StatusCounts,
}

/// What the store counted: the grand totals, and the applications with most records first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountedApplications {
    /// Records matching, of every application.
    pub total: u64,
    /// Applications with matching records (may exceed `top.len()`).
    pub applications: u64,
    /// Up to the limit asked, most records first (ties by id).
    pub top: Vec<ApplicationCounts>,
}

/// An application as the totals name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedApplication {
    /// Its id (for external applications, the stable id of the name).
    pub id: ApplicationId,
    /// Current name of a registered application; the name on the records otherwise.
    pub name: String,
    /// Registered or external.
    pub kind: ApplicationKind,
}

/// One application's line of the totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationTotals {
    /// The application.
    pub application: NamedApplication,
    /// Its records by status.
    pub counts: StatusCounts,
}

/// The answer: grand totals and the busiest applications.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentTotals {
    /// Records matching, of every application.
    pub total: u64,
    /// Applications with matching records.
    pub application_count: u64,
    /// The applications with most records first, at most the limit asked.
    pub by_application: Vec<ApplicationTotals>,
    /// The instant `EXPIRED` was judged at.
    pub counted_at: DateTime<Utc>,
    /// The window counted.
    pub window: Window,
}

fn instant(target: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, FieldError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(text).map(|t| Some(t.with_timezone(&Utc))).map_err(|_| {
            FieldError::invalid(
                target,
                format!("'{target}' must be an RFC 3339 timestamp with an offset, e.g. 2026-11-23T10:00:00Z."),
            )
        }),
    }
}

fn limit(value: Option<i64>) -> Result<u64, FieldError> {
    match value {
        None => Ok(DEFAULT_TOTALS_APPLICATIONS),
        Some(n) if (1..=MAX_TOTALS_APPLICATIONS as i64).contains(&n) => Ok(n as u64),
        Some(_) => Err(FieldError::invalid(
            "limit",
            format!("'limit' (applications listed) must be between 1 and {MAX_TOTALS_APPLICATIONS}."),
        )),
    }
}

/// Validates the window and the limit together, so one answer names every problem.
fn validate(query: &TotalsQuery) -> Result<(Window, u64), DomainError> {
    let mut v = Validator::default();
    let since = v.check(instant("since", query.since.as_deref()));
    let until = v.check(instant("until", query.until.as_deref()));
    let limit = v.check(limit(query.limit));
    if let (Some(Some(since)), Some(Some(until))) = (since, until)
        && until <= since
    {
        v.push(FieldError::invalid("until", "'until' must be later than 'since'."));
    }
    v.finish(|| limit.map(|limit| (Window { since: since.flatten(), until: until.flatten() }, limit)))
}

/// Counts the environment's records per application and effective status.
pub async fn consent_totals(
    store: &Store,
    env: EnvironmentId,
    query: TotalsQuery,
) -> Result<ConsentTotals, DomainError> {
    let filter = parse_filter(query.filter.as_deref())?;
    let (window, limit) = validate(&query)?;
    let now = crate::domain::now();
    let counted = store.count_consents_by_application(env, filter.as_ref(), &window, now, limit).await?;
    let names = application_names(store, env, &counted.top).await?;
    let by_application = counted
        .top
        .iter()
        .map(|line| {
            let application = names.get(&line.application_id).cloned().unwrap_or_else(|| NamedApplication {
                id: line.application_id,
                name: String::new(),
                kind: ApplicationKind::PingOne,
            });
            ApplicationTotals { application, counts: line.counts }
        })
        .collect();
    Ok(ConsentTotals {
        total: counted.total,
        application_count: counted.applications,
        by_application,
        counted_at: now,
        window,
    })
}

/// Names the counted applications: registered ones by their current name, external ones by theirs,
/// and registered ones deleted since by the name on their newest record.
async fn application_names(
    store: &Store,
    env: EnvironmentId,
    lines: &[ApplicationCounts],
) -> Result<HashMap<ApplicationId, NamedApplication>, DomainError> {
    let ids: Vec<ApplicationId> = lines.iter().map(|line| line.application_id).collect();
    let mut names: HashMap<ApplicationId, NamedApplication> = store
        .get_applications(env, &ids)
        .await?
        .into_iter()
        .map(|app| (app.id, NamedApplication { id: app.id, name: app.name, kind: ApplicationKind::PingOne }))
        .collect();
    let unnamed: Vec<ApplicationId> = ids.iter().copied().filter(|id| !names.contains_key(id)).collect();
    for (id, name) in store.external_application_names(env, &unnamed).await? {
        names.insert(id, NamedApplication { id, name, kind: ApplicationKind::External });
    }
    for id in ids {
        if !names.contains_key(&id)
            && let Some(name) = store.newest_application_name(env, id).await?
        {
            names.insert(id, NamedApplication { id, name, kind: ApplicationKind::PingOne });
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(since: Option<&str>, until: Option<&str>, limit: Option<i64>) -> TotalsQuery {
        TotalsQuery { filter: None, since: since.map(Into::into), until: until.map(Into::into), limit }
    }

    fn targets(error: DomainError) -> Vec<String> {
        match error {
            DomainError::Invalid(fields) => fields.into_iter().map(|f| f.target).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn an_open_window_and_the_default_limit_are_accepted() {
        let (window, limit) = validate(&query(None, Some(""), None)).expect("valid");
        assert_eq!(window, Window::default());
        assert_eq!(limit, DEFAULT_TOTALS_APPLICATIONS);
    }

    #[test]
    fn the_window_is_read_in_utc() {
        let (window, _) = validate(&query(Some("2026-01-01T01:00:00+01:00"), Some("2026-02-01T00:00:00Z"), Some(1000)))
            .expect("valid");
        assert_eq!(window.since.map(|t| t.to_rfc3339()), Some("2026-01-01T00:00:00+00:00".into()));
    }

    #[test]
    fn every_bad_input_is_named_at_once() {
        let error = validate(&query(Some("yesterday"), Some("2026-13-01T00:00:00Z"), Some(0))).expect_err("invalid");
        assert_eq!(targets(error), ["since", "until", "limit"]);
        let error = validate(&query(None, None, Some(1001))).expect_err("invalid");
        assert_eq!(targets(error), ["limit"]);
    }

    #[test]
    fn an_empty_or_reversed_window_is_refused() {
        let at = "2026-01-01T00:00:00Z";
        assert_eq!(targets(validate(&query(Some(at), Some(at), None)).expect_err("empty")), ["until"]);
        let error = validate(&query(Some("2026-02-01T00:00:00Z"), Some(at), None)).expect_err("reversed");
        assert_eq!(targets(error), ["until"]);
    }
}
