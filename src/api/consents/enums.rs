//! The enumerations of the consent wire types: application type, decision, status, source and
//! what revoked a record.

use poem_openapi::Enum;

use crate::domain::consents::{ApplicationKind, ConsentSource, EffectiveStatus, RevokedBy};

/// Where the application is registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Deserialize, serde::Serialize)]
pub enum ApplicationType {
    /// An application of this environment, named by `id`.
    #[oai(rename = "PINGONE")]
    #[serde(rename = "PINGONE")]
    PingOne,
    /// An application outside the environment, named by `name`.
    #[oai(rename = "EXTERNAL")]
    #[serde(rename = "EXTERNAL")]
    External,
}

impl From<ApplicationType> for ApplicationKind {
    fn from(value: ApplicationType) -> Self {
        match value {
            ApplicationType::PingOne => ApplicationKind::PingOne,
            ApplicationType::External => ApplicationKind::External,
        }
    }
}

impl From<ApplicationKind> for ApplicationType {
    fn from(value: ApplicationKind) -> Self {
        match value {
            ApplicationKind::PingOne => ApplicationType::PingOne,
            ApplicationKind::External => ApplicationType::External,
        }
    }
}

/// The decision being recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Deserialize)]
#[oai(rename_all = "UPPERCASE")]
#[serde(rename_all = "UPPERCASE")]
pub enum Decision {
    /// The user agreed.
    Accepted,
    /// The user refused.
    Declined,
}

/// A record's status as read now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Serialize)]
#[oai(rename_all = "UPPERCASE")]
#[serde(rename_all = "UPPERCASE")]
pub enum StatusOut {
    /// Agreed and in force.
    Accepted,
    /// Refused.
    Declined,
    /// Withdrawn.
    Revoked,
    /// Agreed, but `expiresAt` has passed.
    Expired,
}

impl From<EffectiveStatus> for StatusOut {
    fn from(value: EffectiveStatus) -> Self {
        match value {
            EffectiveStatus::Accepted => StatusOut::Accepted,
            EffectiveStatus::Declined => StatusOut::Declined,
            EffectiveStatus::Revoked => StatusOut::Revoked,
            EffectiveStatus::Expired => StatusOut::Expired,
        }
    }
}

/// How a record came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Serialize)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SourceOut {
    /// Recorded by a client through this API.
    Api,
    /// The user decided on Assent's hosted consent page.
    ConsentPage,
    /// Nobody was asked: a trusted application, or only scopes whose consent policy is `IMPLICIT`.
    Implicit,
    /// The user decided in an external consent application (the Hydra-compatible API).
    ConsentApp,
}

impl From<ConsentSource> for SourceOut {
    fn from(value: ConsentSource) -> Self {
        match value {
            ConsentSource::Api => SourceOut::Api,
            ConsentSource::ConsentPage => SourceOut::ConsentPage,
            ConsentSource::Implicit => SourceOut::Implicit,
            ConsentSource::ConsentApp => SourceOut::ConsentApp,
        }
    }
}

/// What revoked a record (`revokedBy.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, serde::Serialize)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RevokedByType {
    /// The user, with their own token; `id` is the user's.
    User,
    /// An administrator, through this API; `id` is the worker application's.
    Administrator,
    /// A consent app deleting the user's consent sessions (Hydra-compatible API); `id` is the worker application's.
    ConsentSession,
    /// The application was deleted; `id` is the application's.
    ApplicationDeleted,
    /// The user was deleted; `id` is the user's.
    UserDeleted,
    /// Revoked before Assent kept who revoked records; no `id`.
    Unknown,
}

impl RevokedByType {
    /// The type and id of `by`.
    pub fn of(by: RevokedBy) -> (Self, Option<String>) {
        match by {
            RevokedBy::User(id) => (Self::User, Some(id.to_string())),
            RevokedBy::Administrator(id) => (Self::Administrator, Some(id.to_string())),
            RevokedBy::ConsentSession(id) => (Self::ConsentSession, Some(id.to_string())),
            RevokedBy::ApplicationDeleted(id) => (Self::ApplicationDeleted, Some(id.to_string())),
            RevokedBy::UserDeleted(id) => (Self::UserDeleted, Some(id.to_string())),
            RevokedBy::Unknown => (Self::Unknown, None),
        }
    }
}
