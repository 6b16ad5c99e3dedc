//! Consent records: the ledger of what each user agreed to (or declined), with where and on what device.

mod export;
mod read;
mod record;
mod totals;

pub use export::{ConsentExport, EXPORT_CHUNK};
pub use read::{
    ConsentListQuery, consent_applications, effective_consent, effective_consents, get_consent, list_consents,
    revoke_consent,
};
pub(crate) use record::MAX_SCOPES;
pub use record::{
    ConsentDraft, FlowDecision, RequestContext, SoftwareDraft, check_draft, record_consent, record_flow_decision,
};
pub use totals::{
    ApplicationCounts, ApplicationTotals, ConsentTotals, CountedApplications, DEFAULT_TOTALS_APPLICATIONS,
    MAX_TOTALS_APPLICATIONS, NamedApplication, StatusCounts, TotalsQuery, Window, consent_totals,
};

use chrono::{DateTime, Utc};

use super::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};
use crate::enrich::{Location, Software};

/// The stored decision. `EXPIRED` is never stored: it is read from `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsentStatus {
    /// The user agreed.
    Accepted,
    /// The user refused.
    Declined,
    /// Withdrawn: see [`Consent::revocation`] for when and by whom.
    Revoked,
}

/// The status as callers see it at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EffectiveStatus {
    /// Accepted and not expired.
    Accepted,
    /// Declined.
    Declined,
    /// Revoked.
    Revoked,
    /// Accepted, but `expiresAt` has passed.
    Expired,
}

/// Who or what revoked a record. Expiry is not a revocation: an expired record reads as `EXPIRED`
/// with its `expiresAt`, and has no revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevokedBy {
    /// The user, with their own token.
    User(UserId),
    /// An administrator: the worker application whose token revoked it.
    Administrator(ApplicationId),
    /// A consent app deleting the user's consent sessions (the Hydra-compatible API), with the
    /// worker application whose token it used.
    ConsentSession(ApplicationId),
    /// The application it was given to was deleted.
    ApplicationDeleted(ApplicationId),
    /// The user who gave it was deleted.
    UserDeleted(UserId),
    /// Revoked before Assent kept who revoked records.
    Unknown,
}

/// When and by whom a record was revoked; written once, with the status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Revocation {
    /// When.
    pub at: DateTime<Utc>,
    /// By whom, or why.
    pub by: RevokedBy,
}

/// How a record came to be: who asked the user, or why nobody had to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsentSource {
    /// Recorded by a client through the consent records API.
    Api,
    /// The user decided on Assent's hosted consent page.
    ConsentPage,
    /// Nobody was asked: a trusted application, or only scopes whose policy is `IMPLICIT`.
    Implicit,
    /// The user decided in an external consent application (the Hydra-compatible challenge API).
    ConsentApp,
}

/// Whether the application is registered in the environment or known only by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApplicationKind {
    /// An application of this environment.
    PingOne,
    /// An application outside the environment, identified by name.
    External,
}

/// One consent record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// The record's id.
    pub id: ConsentId,
    /// Its environment.
    pub environment_id: EnvironmentId,
    /// Whose consent it is.
    pub user_id: UserId,
    /// The application consented to (for EXTERNAL ones, a stable id per environment and name).
    pub application_id: ApplicationId,
    /// The application's name when the consent was recorded.
    pub application_name: String,
    /// Registered or external.
    pub application_kind: ApplicationKind,
    /// Scopes, deduplicated, in the order given.
    pub scopes: Vec<String>,
    /// The stored decision.
    pub status: ConsentStatus,
    /// Browser used.
    pub browser: Option<Software>,
    /// Operating system used.
    pub operating_system: Option<Software>,
    /// Device type (`desktop`, `mobile`, `tablet`, `bot`, or what the client said).
    pub device_type: Option<String>,
    /// Where the request came from.
    pub location: Location,
    /// When the decision was recorded.
    pub consented_at: DateTime<Utc>,
    /// When the record last changed (its revocation, if any).
    pub updated_at: DateTime<Utc>,
    /// When an accepted consent stops counting.
    pub expires_at: Option<DateTime<Utc>>,
    /// How the record came to be.
    pub source: ConsentSource,
    /// Whether later authorizations may rely on it without asking again (false when an external
    /// consent app accepted with `remember: false`).
    pub remembered: bool,
    /// Present exactly when `status` is `Revoked`.
    pub revocation: Option<Revocation>,
    /// The versions of the scope texts the user was shown (hosted consent page); `None` when none
    /// were kept (the records API, external consent apps, implicit consent).
    pub scope_texts: Option<Vec<ShownText>>,
}

/// A version of a scope's text that was shown when consent was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownText {
    /// The scope string.
    pub scope: String,
    /// The scope.
    pub scope_id: crate::domain::ids::ScopeId,
    /// The version of its text.
    pub version: i32,
}

impl ConsentSource {
    /// The source's name, as stored and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ConsentSource::Api => "API",
            ConsentSource::ConsentPage => "CONSENT_PAGE",
            ConsentSource::Implicit => "IMPLICIT",
            ConsentSource::ConsentApp => "CONSENT_APP",
        }
    }
}

impl ApplicationKind {
    /// The kind's name, as stored and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ApplicationKind::PingOne => "PINGONE",
            ApplicationKind::External => "EXTERNAL",
        }
    }
}

impl RevokedBy {
    /// The cause's name (the API's `revokedBy.type`) and the id of who revoked, when known.
    pub fn parts(self) -> (&'static str, Option<uuid::Uuid>) {
        match self {
            RevokedBy::User(id) => ("USER", Some(id.as_uuid())),
            RevokedBy::Administrator(id) => ("ADMINISTRATOR", Some(id.as_uuid())),
            RevokedBy::ConsentSession(id) => ("CONSENT_SESSION", Some(id.as_uuid())),
            RevokedBy::ApplicationDeleted(id) => ("APPLICATION_DELETED", Some(id.as_uuid())),
            RevokedBy::UserDeleted(id) => ("USER_DELETED", Some(id.as_uuid())),
            RevokedBy::Unknown => ("UNKNOWN", None),
        }
    }
}

impl Consent {
    /// The status at `now`.
    pub fn status_at(&self, now: DateTime<Utc>) -> EffectiveStatus {
        match self.status {
            ConsentStatus::Accepted if self.expires_at.is_some_and(|at| at <= now) => EffectiveStatus::Expired,
            ConsentStatus::Accepted => EffectiveStatus::Accepted,
            ConsentStatus::Declined => EffectiveStatus::Declined,
            ConsentStatus::Revoked => EffectiveStatus::Revoked,
        }
    }
}

/// What a user has granted an application right now: the union of its accepted, unexpired records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveConsent {
    /// The application.
    pub application_id: ApplicationId,
    /// The user.
    pub user_id: UserId,
    /// Granted scopes, in the order first granted.
    pub scopes: Vec<String>,
    /// The records that grant them, newest first.
    pub consent_ids: Vec<ConsentId>,
    /// When the first of those records expires, if any does.
    pub expires_at: Option<DateTime<Utc>>,
}

impl EffectiveConsent {
    /// Folds accepted, unexpired records (newest first) into the effective grant.
    pub fn from_records(application_id: ApplicationId, user_id: UserId, records: &[Consent]) -> Self {
        let mut scopes: Vec<String> = Vec::new();
        // Oldest first, so scopes keep the order in which they were first granted.
        for record in records.iter().rev() {
            for scope in &record.scopes {
                if !scopes.contains(scope) {
                    scopes.push(scope.clone());
                }
            }
        }
        Self {
            application_id,
            user_id,
            scopes,
            consent_ids: records.iter().map(|r| r.id).collect(),
            expires_at: records.iter().filter_map(|r| r.expires_at).min(),
        }
    }
}

#[cfg(test)]
mod tests;
