//! What users granted clients through the flow, and the tokens that live and die with it:
//! the `authorization_code` and `refresh_token` grants, revocation (RFC 7009), introspection
//! (RFC 7662) and userinfo (OIDC Core §5.3).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::applications::{Application, GrantType};
use super::ids::{ApplicationId, ConsentId, EnvironmentId, GrantId, UserId};
use super::tokens::{ClientAuth, OAuthError, TokenGrant, TokenRequest, authenticate_client};
use crate::auth::principal::Principal;
use crate::auth::secrets::{opaque_token, token_digest};
use crate::auth::tokens::{TokenError, TokenService};
use crate::store::{Store, StoreError};

/// How long a refresh token family lives from the first code exchange; rotation does not extend it.
pub const REFRESH_LIFETIME: Duration = Duration::days(30);

/// One authorization: what a user granted a client, and the consent records it rests on.
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
    /// The consent records behind the scopes; revoking any of them ends the grant.
    pub consent_ids: Vec<ConsentId>,
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

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
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

/// Whether a user token may still be used: not revoked itself, and its grant still standing.
pub async fn token_active(store: &Store, principal: &Principal) -> Result<bool, StoreError> {
    let Some(grant) = principal.grant_id.as_deref() else { return Ok(true) };
    let env = principal.environment_id;
    let Some(grant) = GrantId::parse(grant) else { return Ok(false) };
    Ok(!store.access_token_revoked(env, &principal.token_id).await? && grant_active(store, env, grant).await?)
}

/// Access token, a rotated refresh token when the client may refresh, and an ID token for `openid`.
async fn tokens_for(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    app: &Application,
    grant: &Grant,
    scopes: Vec<String>,
    refresh_expires_at: DateTime<Utc>,
) -> Result<TokenGrant, OAuthError> {
    let client_id = app.id.to_string();
    let user = grant.user_id.to_string();
    let access =
        tokens.issue(env, &client_id, &user, &scopes, Some(grant.id.to_string()), grant.access_claims.clone()).await?;
    let refresh_token = if app.grant_types.contains(&GrantType::RefreshToken) {
        let token = opaque_token();
        store
            .insert_refresh_token(env, grant.id, &token_digest(&token), crate::domain::now(), refresh_expires_at)
            .await
            .map_err(server)?;
        Some(token)
    } else {
        None
    };
    let id_token = if scopes.iter().any(|s| s == "openid") {
        let auth_time = grant.auth_time.timestamp();
        Some(
            tokens
                .issue_id_token(env, &client_id, &user, auth_time, grant.nonce.clone(), grant.id_claims.as_ref())
                .await?,
        )
    } else {
        None
    };
    Ok(TokenGrant {
        access_token: access.token,
        expires_in: access.expires_in,
        scope: scopes.join(" "),
        refresh_token,
        id_token,
    })
}

/// A replayed code or refresh token: refuse it, and end everything issued from its grant.
async fn replayed(store: &Store, env: EnvironmentId, grant: GrantId, what: &str) -> OAuthError {
    if let Err(error) = store.revoke_grant(env, grant, crate::domain::now()).await {
        return server(error);
    }
    tracing::warn!(grant = %grant, "{what} replayed; its grant is revoked");
    OAuthError::InvalidGrant(format!("This {what} was already used; every token issued from it is now revoked."))
}

/// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
pub async fn authorization_code(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    request: TokenRequest,
) -> Result<TokenGrant, OAuthError> {
    let app = authenticate_client(store, tokens, env, &request.client).await?;
    if !app.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(OAuthError::UnauthorizedClient("This application may not use authorization_code.".into()));
    }
    let code = required(&request.code, "code")?;
    let now = crate::domain::now();
    let invalid = || OAuthError::InvalidGrant("The code is invalid or expired.".into());
    let stored = match store.take_code(env, &token_digest(code), now).await.map_err(server)? {
        Taken::Fresh(stored) => stored,
        Taken::Replayed(grant) => return Err(replayed(store, env, grant, "code").await),
        Taken::Unknown => return Err(invalid()),
    };
    if stored.client_id != app.id || stored.expires_at <= now {
        return Err(invalid());
    }
    if request.redirect_uri.as_deref() != Some(stored.redirect_uri.as_str()) {
        return Err(OAuthError::InvalidGrant("'redirect_uri' does not match the authorization request.".into()));
    }
    match (&stored.code_challenge, request.code_verifier.as_deref()) {
        (Some(_), None) => return Err(OAuthError::InvalidGrant("'code_verifier' is required (PKCE).".into())),
        (Some(challenge), Some(verifier)) => {
            if !valid_verifier(verifier) || !pkce_matches(verifier, challenge) {
                return Err(OAuthError::InvalidGrant("'code_verifier' does not match the code challenge.".into()));
            }
        }
        (None, Some(_)) => {
            return Err(OAuthError::InvalidGrant("The authorization request carried no code_challenge.".into()));
        }
        (None, None) => {}
    }
    let grant = store.get_grant(env, stored.grant_id).await.map_err(server)?;
    if !grant_active(store, env, grant.id).await.map_err(server)? {
        return Err(OAuthError::InvalidGrant("The consent behind this code was withdrawn.".into()));
    }
    let scopes = grant.scopes.clone();
    tokens_for(store, tokens, env, &app, &grant, scopes, now + REFRESH_LIFETIME).await
}

/// `grant_type=refresh_token` (RFC 6749 §6), rotating the token; a reused one revokes the family.
pub async fn refresh(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    request: TokenRequest,
) -> Result<TokenGrant, OAuthError> {
    let app = authenticate_client(store, tokens, env, &request.client).await?;
    if !app.grant_types.contains(&GrantType::RefreshToken) {
        return Err(OAuthError::UnauthorizedClient("This application may not use refresh_token.".into()));
    }
    let token = required(&request.refresh_token, "refresh_token")?;
    let now = crate::domain::now();
    let invalid = || OAuthError::InvalidGrant("The refresh token is invalid or expired.".into());
    let stored = match store.take_refresh_token(env, &token_digest(token), now).await.map_err(server)? {
        Taken::Fresh(stored) => stored,
        Taken::Replayed(grant) => return Err(replayed(store, env, grant, "refresh token").await),
        Taken::Unknown => return Err(invalid()),
    };
    let grant = store.get_grant(env, stored.grant_id).await.map_err(server)?;
    if grant.client_id != app.id || stored.expires_at <= now {
        return Err(invalid());
    }
    if !grant_active(store, env, grant.id).await.map_err(server)? {
        return Err(OAuthError::InvalidGrant("The consent behind this token was withdrawn or has expired.".into()));
    }
    let scopes = match request.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => grant.scopes.clone(),
        Some(asked) => {
            let asked: Vec<String> = asked.split_whitespace().map(str::to_owned).collect();
            if let Some(extra) = asked.iter().find(|s| !grant.scopes.contains(s)) {
                return Err(OAuthError::InvalidScope(format!("Scope '{extra}' was not granted.")));
            }
            grant.scopes.iter().filter(|s| asked.contains(s)).cloned().collect()
        }
    };
    tokens_for(store, tokens, env, &app, &grant, scopes, stored.expires_at).await
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
    if let Some(stored) = store.refresh_token(env, &token_digest(token)).await.map_err(server)? {
        let grant = store.get_grant(env, stored.grant_id).await.map_err(server)?;
        if grant.client_id == app.id {
            store.revoke_grant(env, grant.id, now).await.map_err(server)?;
        }
        return Ok(());
    }
    match tokens.verify_claims(token).await {
        Ok(claims) if claims.env == env.to_string() && claims.client_id == app.id.to_string() => {
            let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or(now);
            store.revoke_access_token(env, &claims.jti, expires_at).await.map_err(server)?;
            Ok(())
        }
        Ok(_) | Err(TokenError::Invalid(_) | TokenError::Expired) => Ok(()),
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

/// `POST /as/introspect` (RFC 7662): any client of the environment may ask; a token whose consent
/// record was revoked or has expired is inactive.
pub async fn introspect(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    client: ClientAuth,
    token: Option<String>,
) -> Result<Introspection, OAuthError> {
    authenticate_client(store, tokens, env, &client).await?;
    let token = required(&token, "token")?;
    let now = crate::domain::now();
    if let Some(stored) = store.refresh_token(env, &token_digest(token)).await.map_err(server)? {
        let grant = store.get_grant(env, stored.grant_id).await.map_err(server)?;
        let active = stored.used_at.is_none()
            && stored.expires_at > now
            && grant_active(store, env, grant.id).await.map_err(server)?;
        if !active {
            return Ok(Introspection::default());
        }
        return Ok(Introspection {
            active,
            scope: Some(grant.scopes.join(" ")),
            client_id: Some(grant.client_id.to_string()),
            sub: Some(grant.user_id.to_string()),
            token_type: Some("refresh_token".into()),
            exp: Some(stored.expires_at.timestamp()),
            iat: Some(stored.created_at.timestamp()),
            iss: Some(tokens.issuer(env)),
            aud: None,
            jti: None,
            ext: grant.access_claims,
        });
    }
    let claims = match tokens.verify_claims(token).await {
        Ok(claims) if claims.env == env.to_string() => claims,
        Ok(_) | Err(TokenError::Invalid(_) | TokenError::Expired) => return Ok(Introspection::default()),
        Err(TokenError::Unexpected(cause)) => return Err(OAuthError::Server(cause)),
    };
    if store.access_token_revoked(env, &claims.jti).await.map_err(server)? {
        return Ok(Introspection::default());
    }
    if let Some(grant) = claims.gid.as_deref() {
        let live = match GrantId::parse(grant) {
            Some(grant) => grant_active(store, env, grant).await.map_err(server)?,
            None => false,
        };
        if !live {
            return Ok(Introspection::default());
        }
    }
    Ok(Introspection {
        active: true,
        scope: Some(claims.scope),
        client_id: Some(claims.client_id),
        sub: Some(claims.sub),
        token_type: Some("Bearer".into()),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        iss: Some(claims.iss),
        aud: Some(claims.aud),
        jti: Some(claims.jti),
        ext: claims.ext,
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
    /// The user id.
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
    let principal = match tokens.verify(bearer).await {
        Ok(principal) if principal.environment_id == env => principal,
        Ok(_) => return Err(BearerError::InvalidToken("The token belongs to another environment.".into())),
        Err(TokenError::Unexpected(cause)) => return Err(BearerError::Server(cause)),
        Err(refused) => return Err(BearerError::InvalidToken(refused.to_string())),
    };
    if principal.grant_id.is_none() || !principal.has_scope("openid") {
        return Err(BearerError::InsufficientScope("userinfo needs a user's token with the 'openid' scope.".into()));
    }
    if !token_active(store, &principal).await.map_err(|e| BearerError::Server(e.to_string()))? {
        return Err(BearerError::InvalidToken("The token was revoked, or the consent behind it withdrawn.".into()));
    }
    let gone = || BearerError::InvalidToken("The token's user no longer exists.".into());
    let user_id = UserId::parse(&principal.subject).ok_or_else(gone)?;
    let user = match store.get_user(env, user_id).await {
        Ok(user) if user.enabled => user,
        Ok(_) | Err(StoreError::NotFound) => return Err(gone()),
        Err(e) => return Err(BearerError::Server(e.to_string())),
    };
    let mut info = UserInfo { sub: user.id.to_string(), ..UserInfo::default() };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(valid_verifier(verifier));
        assert!(pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
    }

    #[test]
    fn verifiers_are_43_to_128_unreserved_characters() {
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(valid_verifier(&"a".repeat(128)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", "a".repeat(43))));
    }
}
