//! Typed identifiers, so an environment id can never be passed where a user id is meant.

use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) identifier.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses the canonical text form; `None` when it is not a UUID.
            pub fn parse(text: &str) -> Option<Self> {
                Uuid::try_parse(text).ok().map(Self)
            }

            /// Wraps a UUID read from storage.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Identifies an environment (a tenant).
    EnvironmentId
);
id_type!(
    /// Identifies a user within an environment.
    UserId
);
id_type!(
    /// Identifies an application (OAuth client) within an environment; also its `client_id`.
    ApplicationId
);
id_type!(
    /// Identifies a signing key of an environment (the JWT `kid`).
    KeyId
);
id_type!(
    /// Identifies a consent record within an environment.
    ConsentId
);
id_type!(
    /// Identifies a scope within an environment.
    ScopeId
);
id_type!(
    /// Identifies a browser session within an environment (never the cookie value itself).
    SessionId
);
id_type!(
    /// Identifies a pending authorization request within an environment.
    AuthorizationId
);
id_type!(
    /// Identifies a grant: what one authorization gave one client, with its tokens.
    GrantId
);
id_type!(
    /// Identifies a webhook subscription within an environment.
    SubscriptionId
);
