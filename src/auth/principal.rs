//! The authenticated caller, and the checks that keep it inside its own environment.

use crate::domain::error::DomainError;
use crate::domain::ids::{EnvironmentId, UserId};

/// Scope names under this prefix belong to the platform; tenants cannot create or rename into it.
pub const RESERVED_PREFIX: &str = "p1:";

/// Scope of worker tokens: full management of their own environment.
pub const ADMIN_SCOPE: &str = "p1:admin";

/// Self-service scope: read one's own consent records.
pub const READ_CONSENTS_SCOPE: &str = "p1:read:oauthConsents";
/// Self-service scope: revoke one's own consent records.
pub const UPDATE_CONSENTS_SCOPE: &str = "p1:update:oauthConsents";

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
}

impl Principal {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Admits the caller to `env`; another environment's token sees exactly what a missing resource looks like.
    pub fn enter(&self, env: EnvironmentId) -> Result<(), DomainError> {
        if self.environment_id == env { Ok(()) } else { Err(DomainError::NotFound) }
    }

    /// Whether the token carries administrative power: the admin scope on a client_credentials
    /// token (only WORKER applications get it). A token that carries a user never does, whatever
    /// scopes it names.
    pub fn is_admin(&self) -> bool {
        self.is_client_itself() && self.has_scope(ADMIN_SCOPE)
    }

    /// Admits an administrator (worker) of `env`.
    pub fn require_admin(&self, env: EnvironmentId) -> Result<(), DomainError> {
        self.enter(env)?;
        if self.is_admin() {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "This operation needs the '{ADMIN_SCOPE}' scope of a worker application."
            )))
        }
    }

    /// Admits an administrator of `env`, or `user` themself holding `scope`. Other users' records
    /// look exactly like missing ones.
    pub fn require_admin_or_self(&self, env: EnvironmentId, user: UserId, scope: &str) -> Result<(), DomainError> {
        self.enter(env)?;
        if self.is_admin() {
            return Ok(());
        }
        if self.user_id != Some(user) {
            return Err(DomainError::NotFound);
        }
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!("This operation needs the '{scope}' scope.")))
        }
    }
}
