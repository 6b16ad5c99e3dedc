//! What users granted clients through the flow, and the tokens that live and die with it:
//! the `authorization_code` and `refresh_token` grants ([`exchange`]), revocation (RFC 7009),
//! introspection (RFC 7662) and userinfo (OIDC Core §5.3) ([`inspect`]).

mod exchange;
mod inspect;

pub use exchange::{authorization_code, refresh};
pub use inspect::{BearerError, Introspection, UserInfo, introspect, revoke, userinfo};

use chrono::{DateTime, Duration, Utc};

use super::ids::{ApplicationId, EnvironmentId, GrantId, UserId};
use super::tokens::OAuthError;
use crate::auth::principal::Principal;
use crate::store::{Store, StoreError};

/// How long a refresh token family lives from the first code exchange; rotation does not extend it.
pub const REFRESH_LIFETIME: Duration = Duration::days(30);

/// One authorization: what a user granted a client (the consent records it rests on are linked
/// to it in the store; revoking any of them ends it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Its id (the `gid` claim of its access tokens).
    pub id: GrantId,
    /// The client.
    pub client_id: ApplicationId,
    /// The user.
    pub user_id: UserId,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When the user signed in.
    pub auth_time: DateTime<Utc>,
    /// OIDC nonce for the ID token.
    pub nonce: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Claims an external consent app added to access tokens (`session.access_token`), shown as `ext`.
    pub access_claims: Option<Claims>,
    /// Claims an external consent app added to ID tokens (`session.id_token`).
    pub id_claims: Option<Claims>,
    /// The user's external subject, copied from the user when the grant is stored (whatever this
    /// holds then); tokens name it as `sub` instead of the user id.
    pub external_subject: Option<String>,
}

impl Grant {
    /// The `sub` of the grant's tokens: the user's external subject, else the user id.
    pub fn subject(&self) -> String {
        self.external_subject.clone().unwrap_or_else(|| self.user_id.to_string())
    }
}

/// An authorization code to store with its grant.
#[derive(Clone, Copy, Debug)]
pub struct NewCode<'a> {
    /// SHA-256 of the code.
    pub digest: &'a str,
    /// The redirect URI of the authorization request.
    pub redirect_uri: &'a str,
    /// Its PKCE challenge, if any.
    pub code_challenge: Option<&'a str>,
    /// When it stops being exchangeable.
    pub expires_at: DateTime<Utc>,
}

/// Extra token claims set by an external consent app.
pub type Claims = serde_json::Map<String, serde_json::Value>;

/// Taking a single-use value (code, refresh token) out of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taken<T> {
    /// First use: here it is.
    Fresh(T),
    /// Used before: a replay of the grant's value.
    Replayed(GrantId),
    /// Never issued here.
    Unknown,
}

/// A stored authorization code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCode {
    /// The grant it was issued for.
    pub grant_id: GrantId,
    /// The client it was issued to.
    pub client_id: ApplicationId,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// A stored refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRefresh {
    /// Its grant.
    pub grant_id: GrantId,
    /// When it (and its family) expires.
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for its successor.
    pub used_at: Option<DateTime<Utc>>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
}

fn server(error: StoreError) -> OAuthError {
    OAuthError::Server(error.to_string())
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::InvalidRequest(format!("'{name}' is required.")))
}

/// Whether a grant still stands: not revoked, and every consent record behind it accepted and unexpired.
pub async fn grant_active(store: &Store, env: EnvironmentId, grant: GrantId) -> Result<bool, StoreError> {
    store.grant_active(env, grant, crate::domain::now()).await
}

/// Whether an access token may still be used: not revoked itself, its client still there and
/// enabled and, for a user's token, its grant still standing (which also needs its user); a
/// client_credentials token also needs the credential version it was issued under.
pub async fn token_active(store: &Store, principal: &Principal) -> Result<bool, StoreError> {
    let env = principal.environment_id;
    if store.access_token_revoked(env, &principal.token_id).await? {
        return Ok(false);
    }
    match principal.grant_id.as_deref() {
        None => {
            let Some(client) = ApplicationId::parse(&principal.client_id) else { return Ok(false) };
            Ok(match store.client_standing(env, client).await? {
                Some((enabled, version)) => enabled && version == principal.credential_version,
                None => false,
            })
        }
        Some(grant) => match GrantId::parse(grant) {
            Some(grant) => grant_active(store, env, grant).await,
            None => Ok(false),
        },
    }
}
