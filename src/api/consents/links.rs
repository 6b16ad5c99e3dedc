//! A record's HAL links, and which of them a caller may follow.

use poem_openapi::Object;

use crate::api::types::Link;
use crate::auth::principal::{Permission, Principal};
use crate::domain::consents::Consent;

/// Links of a record. Each is present only when the caller's token may follow it.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct ConsentLinks {
    /// This record.
    #[oai(rename = "self")]
    #[serde(rename = "self")]
    pub self_: Link,
    /// Its environment; for administrators (`p1:admin`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Link>,
    /// Its user; for administrators (`p1:admin`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Link>,
    /// PATCH here with `application/vnd.pingidentity.consent.revoke+json` to revoke; present while
    /// `ACCEPTED` and the caller may revoke it (`p1:update:oauthConsents` or `p1:admin` on a worker,
    /// the user's own token with `p1:update:oauthConsents`). Never on a deleted application's or
    /// user's records: they are `REVOKED`.
    #[oai(rename = "consent.revoke", skip_serializing_if_is_none)]
    #[serde(rename = "consent.revoke", skip_serializing_if = "Option::is_none")]
    pub revoke: Option<Link>,
}

/// Which of a record's links a caller may follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkRights {
    /// The environment and user resources (administrators only).
    pub manage: bool,
    /// Revoking the record.
    pub revoke: bool,
}

impl LinkRights {
    /// Every link: administrators, and exports (which only auditors and administrators read).
    pub const ALL: LinkRights = LinkRights { manage: true, revoke: true };

    /// What a worker (a client's own token) may follow on any record of its environment.
    pub fn of_worker(caller: &Principal) -> Self {
        LinkRights { manage: caller.holds(Permission::Admin), revoke: caller.holds(Permission::RevokeConsents) }
    }

    /// What `caller` may follow on `consent`.
    pub fn of(caller: &Principal, consent: &Consent) -> Self {
        LinkRights {
            manage: caller.holds(Permission::Admin),
            revoke: caller
                .require_for_user(consent.environment_id, consent.user_id, Permission::RevokeConsents)
                .is_ok(),
        }
    }
}
