//! Wire shapes of consent records, exactly as PingOne's oauthConsents resource has them.

use poem_openapi::Object;

pub use super::enums::*;
use super::links::{ConsentLinks, LinkRights};

use crate::api::json::MediaType;
use crate::api::types::{CollectionLinks, IdRef, Link, Required, Timestamp};
use crate::auth::principal::Principal;
use crate::domain::consents::{Consent, ConsentDraft, ConsentStatus, EffectiveStatus, SoftwareDraft};
use crate::enrich::Software;
use crate::state::AppState;

/// `application/vnd.pingidentity.consent.accept+json`.
pub struct AcceptMedia;

impl MediaType for AcceptMedia {
    const ESSENCE: &'static str = "application/vnd.pingidentity.consent.accept+json";
}

/// `application/vnd.pingidentity.consent.revoke+json`.
pub struct RevokeMedia;

impl MediaType for RevokeMedia {
    const ESSENCE: &'static str = "application/vnd.pingidentity.consent.revoke+json";
}

/// Which application the consent is for.
#[derive(Clone, Debug, Default, Object, serde::Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentApplicationIn {
    /// Id of an application of this environment (required for `PINGONE`; refused for `EXTERNAL`,
    /// whose id the service assigns).
    pub id: Option<String>,
    /// Name of an external application (required for `EXTERNAL`). For `PINGONE` it may be given
    /// only as the application's registered name.
    pub name: Option<String>,
    /// `PINGONE` or `EXTERNAL`; inferred from `id` / `name` when omitted.
    pub app_type: Option<ApplicationType>,
}

/// A browser or operating system.
#[derive(Clone, Debug, Default, Object, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SoftwareIo {
    /// Name, e.g. `Chrome`, `Mac OS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Version, e.g. `131.0.0.0`, `10.15.7`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl From<Software> for SoftwareIo {
    fn from(value: Software) -> Self {
        Self { name: Some(value.name), version: value.version }
    }
}

/// The device.
#[derive(Clone, Debug, Default, Object, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceIo {
    /// `desktop`, `mobile`, `tablet`, `bot`, or what the client says.
    #[oai(rename = "type")]
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
}

/// A consent to record. Fields the server sets (`id`, `consentedAt`, `updatedAt`, `location`,
/// `source`, …) and unknown fields are refused with `INVALID_VALUE`, every problem of the body in
/// one answer.
#[derive(Clone, Debug, Object, serde::Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentAcceptIn {
    /// The application consented to.
    #[serde(default)]
    pub application: Required<ConsentApplicationIn>,
    /// Scopes consented to (or declined); duplicates are dropped, order is kept. Defaults to none.
    pub scope: Option<Vec<String>>,
    /// `ACCEPTED` or `DECLINED`.
    #[serde(default)]
    pub status: Required<Decision>,
    /// The browser, when the client knows better than its User-Agent.
    pub browser: Option<SoftwareIo>,
    /// The operating system, when the client knows better than its User-Agent.
    pub operating_system: Option<SoftwareIo>,
    /// The device, when the client knows better than its User-Agent.
    pub device: Option<DeviceIo>,
    /// When an accepted consent stops counting (then reads as `EXPIRED`): in the future, and not after 9999-12-31T23:59:59.999Z.
    pub expires_at: Option<Timestamp>,
    /// The user; must match the path when given.
    pub user: Option<IdRef>,
}

impl ConsentAcceptIn {
    /// The draft the domain validates, carrying what could not be read from the body.
    pub fn into_draft(self, problems: Vec<crate::domain::error::FieldError>) -> ConsentDraft {
        let application = self.application.0;
        let named = application.is_some();
        let application = application.unwrap_or_default();
        ConsentDraft {
            application_named: named,
            application_id: application.id,
            application_name: application.name,
            application_kind: application.app_type.map(Into::into),
            scopes: self.scope,
            status: self.status.0.map(Into::into),
            browser: self.browser.map(|b| SoftwareDraft { name: b.name, version: b.version }),
            operating_system: self.operating_system.map(|o| SoftwareDraft { name: o.name, version: o.version }),
            device_type: self.device.and_then(|d| d.device_type),
            expires_at: self.expires_at.map(|t| t.0),
            body_user_id: self.user.map(|u| u.id),
            problems,
        }
    }
}

/// Revocation request: `{"status": "REVOKED"}`.
#[derive(Clone, Debug, Object, serde::Deserialize)]
pub struct ConsentRevokeIn {
    /// Must be `REVOKED`.
    pub status: String,
}

/// Where the consent was given. All five keys are always present; those the GeoIP database cannot
/// tell are `null`.
#[derive(Clone, Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct LocationOut {
    /// Client IP address (the TCP peer, or the forwarded address behind a trusted proxy).
    pub remote_ip: String,
    /// City.
    #[oai(nullable)]
    pub city: Option<String>,
    /// First-level subdivision: state, province, or a country of the United Kingdom.
    #[oai(nullable)]
    pub state: Option<String>,
    /// Second-level subdivision (county, district) when the GeoIP database has one.
    #[oai(nullable)]
    pub region: Option<String>,
    /// Country.
    #[oai(nullable)]
    pub country: Option<String>,
}

/// The application, embedded with `expand=applications`.
#[derive(Clone, Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedApplication {
    /// The application's id.
    pub id: String,
    /// Its name (current name for registered applications).
    pub name: String,
    /// `PINGONE` or `EXTERNAL`.
    pub application_type: ApplicationType,
    /// Kind of registered application (`WORKER`, `WEB_APP`, …); absent for external or deleted ones.
    #[oai(rename = "type", skip_serializing_if_is_none)]
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub app_type: Option<crate::api::applications::AppType>,
    /// Whether the registered application is enabled.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Link to the registered application.
    #[oai(rename = "_links", skip_serializing_if_is_none)]
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<SelfLink>,
}

/// A lone `self` link.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct SelfLink {
    /// The resource.
    #[oai(rename = "self")]
    #[serde(rename = "self")]
    pub self_: Link,
}

/// Who or what revoked a record.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct RevokedByOut {
    /// `USER`, `ADMINISTRATOR`, `CONSENT_SESSION`, `APPLICATION_DELETED`, `USER_DELETED` or `UNKNOWN`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: RevokedByType,
    /// The user's id (`USER`, `USER_DELETED`), the worker application's (`ADMINISTRATOR`,
    /// `CONSENT_SESSION`) or the deleted application's (`APPLICATION_DELETED`); absent for `UNKNOWN`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Embedded resources of a record.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct ConsentEmbedded {
    /// The application.
    pub application: EmbeddedApplication,
}

/// A consent record.
#[derive(Clone, Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ConsentOut {
    /// HAL links.
    #[oai(rename = "_links")]
    #[serde(rename = "_links")]
    pub links: ConsentLinks,
    /// The record's id.
    pub id: String,
    /// The application (`id` only).
    pub application: IdRef,
    /// The application's name when the consent was given.
    pub application_name: String,
    /// `PINGONE` or `EXTERNAL`.
    pub application_type: ApplicationType,
    /// The environment.
    pub environment: IdRef,
    /// The user.
    pub user: IdRef,
    /// Scopes.
    pub scope: Vec<String>,
    /// Browser.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<SoftwareIo>,
    /// Operating system.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operating_system: Option<SoftwareIo>,
    /// Device.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceIo>,
    /// Where the consent was given.
    pub location: LocationOut,
    /// `ACCEPTED`, `DECLINED`, `REVOKED` or `EXPIRED`.
    pub status: StatusOut,
    /// When the decision was recorded.
    pub consented_at: Timestamp,
    /// When the record last changed (its revocation, if any).
    pub updated_at: Timestamp,
    /// When an accepted consent stops counting.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// When the record was revoked; present exactly when `status` is `REVOKED`. An `EXPIRED`
    /// record was not revoked: it ended at `expiresAt`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    /// Who or what revoked it; present exactly when `status` is `REVOKED`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<RevokedByOut>,
    /// How the record came to be: `API`, `CONSENT_PAGE`, `IMPLICIT` (nobody was asked) or `CONSENT_APP`.
    pub source: SourceOut,
    /// With `expand=applications`.
    #[oai(rename = "_embedded", skip_serializing_if_is_none)]
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<ConsentEmbedded>,
}

impl ConsentOut {
    /// The wire form of `consent` as read at `now`, with the links `caller` may follow.
    pub fn new(state: &AppState, caller: &Principal, consent: Consent, now: chrono::DateTime<chrono::Utc>) -> Self {
        let env_url = state.url(&format!("/v1/environments/{}", consent.environment_id));
        let rights = LinkRights::of(caller, &consent);
        Self::from_parts(&env_url, rights, consent, now)
    }

    /// The wire form of `consent`, with the links `rights` allows under `env_url`.
    pub fn from_parts(env_url: &str, rights: LinkRights, consent: Consent, now: chrono::DateTime<chrono::Utc>) -> Self {
        let env_url = env_url.to_owned();
        let user_url = format!("{env_url}/users/{}", consent.user_id);
        let self_url = format!("{user_url}/oauthConsents/{}", consent.id);
        let status = consent.status_at(now);
        let revoked_by = consent.revocation.map(|r| {
            let (kind, id) = RevokedByType::of(r.by);
            RevokedByOut { kind, id }
        });
        Self {
            links: ConsentLinks {
                revoke: (rights.revoke && status == EffectiveStatus::Accepted).then(|| Link::to(self_url.clone())),
                self_: Link::to(self_url),
                environment: rights.manage.then(|| Link::to(env_url)),
                user: rights.manage.then(|| Link::to(user_url)),
            },
            id: consent.id.to_string(),
            application: IdRef::to(consent.application_id),
            application_name: consent.application_name,
            application_type: consent.application_kind.into(),
            environment: IdRef::to(consent.environment_id),
            user: IdRef::to(consent.user_id),
            scope: consent.scopes,
            browser: consent.browser.map(Into::into),
            operating_system: consent.operating_system.map(Into::into),
            device: consent.device_type.map(|t| DeviceIo { device_type: Some(t) }),
            location: LocationOut {
                remote_ip: consent.location.remote_ip.to_string(),
                city: consent.location.city,
                state: consent.location.state,
                region: consent.location.region,
                country: consent.location.country,
            },
            status: status.into(),
            consented_at: consent.consented_at.into(),
            updated_at: consent.updated_at.into(),
            expires_at: consent.expires_at.map(Into::into),
            revoked_at: consent.revocation.map(|r| r.at.into()),
            revoked_by,
            source: consent.source.into(),
            embedded: None,
        }
    }
}

/// Embedded records of a page.
#[derive(Clone, Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedConsents {
    /// The records of this page, newest first.
    pub oauth_consents: Vec<ConsentOut>,
}

/// A page of consent records.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct ConsentsPage {
    /// `self`, and `next` / `prev` when there are pages after / before this one.
    #[oai(rename = "_links")]
    #[serde(rename = "_links")]
    pub links: CollectionLinks,
    /// The records.
    #[oai(rename = "_embedded")]
    #[serde(rename = "_embedded")]
    pub embedded: EmbeddedConsents,
    /// Records the filter matches in all pages, when there are at most 1000; absent when there are more.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Records in this page.
    pub size: usize,
}

/// The decision of a new record.
impl From<Decision> for ConsentStatus {
    fn from(value: Decision) -> Self {
        match value {
            Decision::Accepted => ConsentStatus::Accepted,
            Decision::Declined => ConsentStatus::Declined,
        }
    }
}
