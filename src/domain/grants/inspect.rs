//! Looking at and ending tokens: revocation (RFC 7009), introspection (RFC 7662) and userinfo (OIDC Core §5.3).

use chrono::DateTime;

use super::{Claims, required, server};
use crate::auth::secrets::token_digest;
use crate::auth::tokens::{TokenError, TokenService};
use crate::domain::ids::EnvironmentId;
use crate::domain::tokens::{ClientAuth, OAuthError, authenticate_client};
use crate::store::{Store, StoreError};

/// Access tokens are JWTs (three dot-separated parts); refresh tokens are base64url, without dots.
fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// `POST /as/revoke` (RFC 7009): a refresh token ends its grant; an access token ends itself.
/// Unknown tokens and tokens of other clients are ignored, as §2.2 asks.
pub async fn revoke(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    client: ClientAuth,
    token: Option<String>,
) -> Result<(), OAuthError> {
    let app = authenticate_client(store, tokens, env, &client).await?;
    let token = required(&token, "token")?;
    let now = crate::domain::now();
    if !looks_like_jwt(token) {
        if let Some(stored) = store.refresh_token(env, &token_digest(token)).await.map_err(server)? {
            let grant = store.get_grant(env, stored.grant_id).await.map_err(server)?;
            if grant.client_id == app.id {
                store.revoke_grant(env, grant.id, now).await.map_err(server)?;
            }
        }
        return Ok(());
    }
    match tokens.verify(token).await {
        Ok(principal) if principal.environment_id == env && principal.client_id == app.id.to_string() => {
            let expires_at = DateTime::from_timestamp(principal.expires_at, 0).unwrap_or(now);
            store.revoke_access_token(env, &principal.token_id, expires_at).await.map_err(server)?;
            Ok(())
        }
        Ok(_) | Err(TokenError::Invalid(_) | TokenError::Expired | TokenError::Ended) => Ok(()),
        Err(TokenError::Unexpected(cause)) => Err(OAuthError::Server(cause)),
    }
}

/// An RFC 7662 introspection answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Introspection {
    /// Whether the token may be used now.
    pub active: bool,
    /// Granted scopes, space-separated.
    pub scope: Option<String>,
    /// The client it was issued to.
    pub client_id: Option<String>,
    /// Its subject.
    pub sub: Option<String>,
    /// `Bearer` or `refresh_token`.
    pub token_type: Option<String>,
    /// Expiry (seconds).
    pub exp: Option<i64>,
    /// Issued at (seconds).
    pub iat: Option<i64>,
    /// Issuer.
    pub iss: Option<String>,
    /// Audience.
    pub aud: Option<String>,
    /// Token id.
    pub jti: Option<String>,
    /// Claims an external consent app attached (`session.access_token`).
    pub ext: Option<Claims>,
}

/// `POST /as/introspect` (RFC 7662): a confidential client of the environment may ask (§2.1: the
/// endpoint is protected); a refresh token is described only to the client it was issued to. A
/// token that no longer stands (revoked, its client, user, grant or consent ended) is inactive.
pub async fn introspect(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    client: ClientAuth,
    token: Option<String>,
) -> Result<Introspection, OAuthError> {
    let caller = authenticate_client(store, tokens, env, &client).await?;
    if caller.is_public() {
        return Err(OAuthError::InvalidClient(
            "Introspection needs a confidential client (client_secret_basic or client_secret_post).".into(),
        ));
    }
    let token = required(&token, "token")?;
    let now = crate::domain::now();
    if !looks_like_jwt(token) {
        let Some(stored) = store.refresh_token(env, &token_digest(token)).await.map_err(server)? else {
            return Ok(Introspection::default());
        };
        let Some(grant) = store.standing_grant(env, stored.grant_id, now).await.map_err(server)? else {
            return Ok(Introspection::default());
        };
        let active = grant.client_id == caller.id && stored.used_at.is_none() && stored.expires_at > now;
        if !active {
            return Ok(Introspection::default());
        }
        return Ok(Introspection {
            active,
            scope: Some(grant.scopes.join(" ")),
            client_id: Some(grant.client_id.to_string()),
            sub: Some(grant.subject()),
            token_type: Some("refresh_token".into()),
            exp: Some(stored.expires_at.timestamp()),
            iat: Some(stored.created_at.timestamp()),
            iss: Some(tokens.issuer(env)),
            aud: None,
            jti: None,
            ext: grant.access_claims,
        });
    }
    // Verified once, then answered from the token service's cache like any bearer token.
    let principal = match tokens.authenticate(token).await {
        Ok(principal) if principal.environment_id == env => principal,
        Ok(_) | Err(TokenError::Invalid(_) | TokenError::Expired | TokenError::Ended) => {
            return Ok(Introspection::default());
        }
        Err(TokenError::Unexpected(cause)) => return Err(OAuthError::Server(cause)),
    };
    Ok(Introspection {
        active: true,
        scope: Some(principal.scopes.join(" ")),
        client_id: Some(principal.client_id),
        sub: Some(principal.subject),
        token_type: Some("Bearer".into()),
        exp: Some(principal.expires_at),
        iat: Some(principal.issued_at),
        iss: Some(tokens.issuer(env)),
        aud: Some(tokens.audience().to_owned()),
        jti: Some(principal.token_id),
        ext: principal.ext,
    })
}

/// Why a userinfo request was refused (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// Missing, malformed, expired or revoked token: 401.
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// The token lacks a needed scope: 403.
    #[error("insufficient_scope: {0}")]
    InsufficientScope(String),
    /// Our fault: 500.
    #[error("server_error: {0}")]
    Server(String),
}

/// The claims userinfo releases (OIDC Core §5.1), per granted scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user id (an external user's subject).
    pub sub: String,
    /// `profile`: username.
    pub preferred_username: Option<String>,
    /// `profile`: full name.
    pub name: Option<String>,
    /// `profile`: given name.
    pub given_name: Option<String>,
    /// `profile`: family name.
    pub family_name: Option<String>,
    /// `email`: e-mail address.
    pub email: Option<String>,
}

/// `GET /as/userinfo`: the signed-in user's claims for an `openid` access token of this environment.
pub async fn userinfo(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    bearer: Option<&str>,
) -> Result<UserInfo, BearerError> {
    let bearer = bearer.ok_or_else(|| BearerError::InvalidToken("An access token is required.".into()))?;
    // A token of another environment gets the same answer as any invalid token: nothing tells it
    // that it would be valid elsewhere.
    let invalid = || BearerError::InvalidToken("The access token is invalid, expired or revoked.".into());
    let principal = match tokens.authenticate(bearer).await {
        Ok(principal) if principal.environment_id == env => principal,
        Err(TokenError::Unexpected(cause)) => return Err(BearerError::Server(cause)),
        Ok(_) | Err(_) => return Err(invalid()),
    };
    if principal.grant_id.is_none() || !principal.has_scope("openid") {
        return Err(BearerError::InsufficientScope("userinfo needs a user's token with the 'openid' scope.".into()));
    }
    let gone = || BearerError::InvalidToken("The token's user no longer exists.".into());
    let user_id = principal.user_id.ok_or_else(gone)?;
    let user = match store.get_user(env, user_id).await {
        Ok(user) if user.enabled => user,
        Ok(_) | Err(StoreError::NotFound) => return Err(gone()),
        Err(e) => return Err(BearerError::Server(e.to_string())),
    };
    let mut info = UserInfo { sub: user.subject(), ..UserInfo::default() };
    if principal.has_scope("profile") {
        let name = [user.given_name.as_deref(), user.family_name.as_deref()].into_iter().flatten().collect::<Vec<_>>();
        info.name = (!name.is_empty()).then(|| name.join(" "));
        info.preferred_username = Some(user.username);
        info.given_name = user.given_name;
        info.family_name = user.family_name;
    }
    if principal.has_scope("email") {
        info.email = user.email;
    }
    Ok(info)
}
