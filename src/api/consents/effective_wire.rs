//! Wire shapes of a user's effective consent: what they have granted one application now, or
//! every application with access and the records behind each grant (what account pages show).

use poem_openapi::Object;

use super::{ApplicationType, EmbeddedConsents, SelfLink};
use crate::api::types::{IdRef, Timestamp};

/// What a user has granted an application now.
#[derive(Clone, Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct EffectiveConsentOut {
    /// The application.
    pub application: IdRef,
    /// The user.
    pub user: IdRef,
    /// Union of the scopes of the accepted, unexpired, unrevoked records.
    pub scope: Vec<String>,
    /// Ids of the records that grant them, newest first.
    pub consent_ids: Vec<String>,
    /// When the first of those records expires.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// An application a user has granted something to now, as account pages show it.
#[derive(Clone, Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct GrantedApplicationOut {
    /// The application.
    pub application: IdRef,
    /// Its name: a registered application's current name, otherwise the name on its newest record.
    pub application_name: String,
    /// `PINGONE` (registered) or `EXTERNAL`.
    pub application_type: ApplicationType,
    /// The user.
    pub user: IdRef,
    /// Union of the scopes of the accepted, unexpired, unrevoked records.
    pub scope: Vec<String>,
    /// Ids of the records that grant them, newest first.
    pub consent_ids: Vec<String>,
    /// When the first of those records expires.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// The records themselves, newest first, each with the links the caller may follow (its
    /// `consent.revoke` among them).
    #[oai(rename = "_embedded")]
    #[serde(rename = "_embedded")]
    pub embedded: EmbeddedConsents,
}

/// The applications of a grant list.
#[derive(Clone, Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedGrants {
    /// The applications, the most recently granted first.
    pub effective_consents: Vec<GrantedApplicationOut>,
}

/// Every application a user has granted something to now.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct EffectiveConsentsOut {
    /// `self`.
    #[oai(rename = "_links")]
    #[serde(rename = "_links")]
    pub links: SelfLink,
    /// The applications.
    #[oai(rename = "_embedded")]
    #[serde(rename = "_embedded")]
    pub embedded: EmbeddedGrants,
    /// Applications listed (all of them: this list has no pages).
    pub count: usize,
    /// The same as `count`.
    pub size: usize,
}

/// The effective consent: of one application (with `application.id`), or of every application
/// the user has granted something to (without it).
#[derive(Clone, Debug, poem_openapi::Union, serde::Serialize)]
#[oai(one_of)]
#[serde(untagged)]
pub enum EffectiveAnswer {
    /// With `application.id`.
    Application(EffectiveConsentOut),
    /// Without `application.id`.
    Every(EffectiveConsentsOut),
}
