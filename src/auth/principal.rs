//! The authenticated caller, the permissions a worker may be granted, and the checks that keep
//! both inside their own environment.

use crate::domain::error::DomainError;
use crate::domain::ids::{EnvironmentId, UserId};

/// Scope names under this prefix belong to the platform; tenants cannot create or rename into it.
pub const RESERVED_PREFIX: &str = "p1:";

/// Worker permission: full management of its own environment (every other permission included).
pub const ADMIN_SCOPE: &str = "p1:admin";
/// Reads consent records: on a user's token its own only; on a worker's, every user's and the audit list.
pub const READ_CONSENTS_SCOPE: &str = "p1:read:oauthConsents";
/// Worker permission: records consents for any user of its environment.
pub const CREATE_CONSENTS_SCOPE: &str = "p1:create:oauthConsents";
/// Revokes consent records: on a user's token its own only; on a worker's, any user's.
pub const UPDATE_CONSENTS_SCOPE: &str = "p1:update:oauthConsents";

/// What a caller may do in its environment. A worker application is granted a set of these by
/// listing their scopes in its `scopes`; its client_credentials tokens carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Everything: management of users, applications, scopes and the environment, the Hydra admin
    /// API, and every consent permission below.
    Admin,
    /// Reading consent records: any user's lists, records and effective consent, and the audit list.
    ReadConsents,
    /// Recording consents for any user.
    RecordConsents,
    /// Revoking any user's consent records.
    RevokeConsents,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 4] =
        [Permission::Admin, Permission::ReadConsents, Permission::RecordConsents, Permission::RevokeConsents];

    /// The scope that carries the permission.
    pub const fn scope(self) -> &'static str {
        match self {
            Permission::Admin => ADMIN_SCOPE,
            Permission::ReadConsents => READ_CONSENTS_SCOPE,
            Permission::RecordConsents => CREATE_CONSENTS_SCOPE,
            Permission::RevokeConsents => UPDATE_CONSENTS_SCOPE,
        }
    }

    /// The permission a scope carries, if it carries one.
    pub fn of_scope(scope: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.scope() == scope)
    }

    /// Whether a user's own token may hold it too, for that user's own records. The others are
    /// worker permissions only: no user token ever carries them.
    pub const fn is_self_service(self) -> bool {
        matches!(self, Permission::ReadConsents | Permission::RevokeConsents)
    }

    /// Why a caller without the permission is refused, naming it.
    fn refusal(self) -> DomainError {
        let scope = self.scope();
        DomainError::Forbidden(if self == Permission::Admin {
            format!("This operation needs the '{scope}' permission of a worker application.")
        } else if self.is_self_service() {
            format!(
                "This operation needs the '{scope}' permission: a worker application granted it (or \
                 '{ADMIN_SCOPE}'), or the user's own token with that scope."
            )
        } else {
            format!("This operation needs the '{scope}' permission of a worker application (or '{ADMIN_SCOPE}').")
        })
    }
}

/// Who is calling, as proven by a verified access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The environment the token was issued in.
    pub environment_id: EnvironmentId,
    /// The application the token was issued to.
    pub client_id: String,
    /// The token's subject: the client itself, or a user (its id, or its external subject).
    pub subject: String,
    /// The user a user token speaks for; `None` for a client's own token.
    pub user_id: Option<UserId>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
    /// The token's `jti`.
    pub token_id: String,
    /// The grant a user token was issued under; `None` for client_credentials tokens.
    pub grant_id: Option<String>,
    /// Issued at, seconds since the epoch.
    pub issued_at: i64,
    /// Claims an external consent app attached (`ext`).
    pub ext: Option<serde_json::Map<String, serde_json::Value>>,
    /// The client's credential version when the token was issued (client_credentials tokens).
    pub credential_version: i32,
}

impl Principal {
    /// Whether the token speaks for its client alone (client_credentials), with no user behind it.
    pub fn is_client_itself(&self) -> bool {
        self.grant_id.is_none() && self.subject == self.client_id
    }

    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Admits the caller to `env`; another environment's token sees exactly what a missing resource looks like.
    pub fn enter(&self, env: EnvironmentId) -> Result<(), DomainError> {
        if self.environment_id == env { Ok(()) } else { Err(DomainError::NotFound) }
    }

    /// Whether the token holds `permission` over its whole environment: a client_credentials token
    /// carrying the permission's scope, or `p1:admin`, which holds every permission. Only WORKER
    /// applications get `p1:` scopes by client_credentials. A token that carries a user never
    /// does, whatever scopes it names.
    pub fn holds(&self, permission: Permission) -> bool {
        self.is_client_itself() && (self.has_scope(ADMIN_SCOPE) || self.has_scope(permission.scope()))
    }

    /// Admits a worker of `env` holding `permission`.
    pub fn require(&self, env: EnvironmentId, permission: Permission) -> Result<(), DomainError> {
        self.enter(env)?;
        if self.holds(permission) { Ok(()) } else { Err(permission.refusal()) }
    }

    /// Admits, on `user`'s records, a worker of `env` holding `permission`, or `user` themself when
    /// the permission is self-service and their token carries its scope. Other users' records look
    /// exactly like missing ones to a user's token.
    pub fn require_for_user(
        &self,
        env: EnvironmentId,
        user: UserId,
        permission: Permission,
    ) -> Result<(), DomainError> {
        self.enter(env)?;
        if self.holds(permission) {
            return Ok(());
        }
        if self.is_client_itself() {
            return Err(permission.refusal());
        }
        if self.user_id != Some(user) {
            return Err(DomainError::NotFound);
        }
        if permission.is_self_service() && self.has_scope(permission.scope()) {
            Ok(())
        } else {
            Err(permission.refusal())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(env: EnvironmentId, subject: &str, grant: Option<&str>, scopes: &[&str]) -> Principal {
        Principal {
            environment_id: env,
            client_id: "client".into(),
            subject: subject.into(),
            user_id: UserId::parse(subject),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            expires_at: 0,
            token_id: "jti".into(),
            grant_id: grant.map(str::to_owned),
            issued_at: 0,
            ext: None,
            credential_version: 0,
        }
    }

    #[test]
    fn each_permission_is_carried_by_its_own_scope() {
        for permission in Permission::ALL {
            assert_eq!(Permission::of_scope(permission.scope()), Some(permission));
        }
        assert_eq!(Permission::of_scope("p1:superuser"), None);
        assert_eq!(Permission::of_scope("P1:ADMIN"), None, "scopes are case-sensitive");
    }

    #[test]
    fn admin_holds_every_permission_and_the_others_only_their_own() {
        let env = EnvironmentId::new();
        let admin = principal(env, "client", None, &[ADMIN_SCOPE]);
        assert!(Permission::ALL.into_iter().all(|p| admin.holds(p)));
        let auditor = principal(env, "client", None, &[READ_CONSENTS_SCOPE]);
        let held: Vec<Permission> = Permission::ALL.into_iter().filter(|p| auditor.holds(*p)).collect();
        assert_eq!(held, [Permission::ReadConsents]);
    }

    #[test]
    fn a_token_that_carries_a_user_holds_no_permission_whatever_it_names() {
        let env = EnvironmentId::new();
        let user = UserId::new();
        let all: Vec<&str> = Permission::ALL.iter().map(|p| p.scope()).collect();
        let token = principal(env, &user.to_string(), Some("grant"), &all);
        assert!(Permission::ALL.into_iter().all(|p| !token.holds(p)));
        assert!(token.require(env, Permission::ReadConsents).is_err());
        // On its own records, only the self-service permissions.
        assert!(token.require_for_user(env, user, Permission::ReadConsents).is_ok());
        assert!(token.require_for_user(env, user, Permission::RevokeConsents).is_ok());
        assert!(matches!(
            token.require_for_user(env, user, Permission::RecordConsents),
            Err(DomainError::Forbidden(_))
        ));
        assert!(matches!(
            token.require_for_user(env, UserId::new(), Permission::ReadConsents),
            Err(DomainError::NotFound)
        ));
    }

    #[test]
    fn a_refusal_names_the_missing_permission() {
        let env = EnvironmentId::new();
        let recorder = principal(env, "client", None, &[CREATE_CONSENTS_SCOPE]);
        for permission in [Permission::Admin, Permission::ReadConsents, Permission::RevokeConsents] {
            match recorder.require_for_user(env, UserId::new(), permission) {
                Err(DomainError::Forbidden(message)) => assert!(message.contains(permission.scope()), "{message}"),
                other => panic!("{permission:?}: {other:?}"),
            }
        }
        assert!(matches!(
            recorder.require(EnvironmentId::new(), Permission::RecordConsents),
            Err(DomainError::NotFound)
        ));
    }
}
