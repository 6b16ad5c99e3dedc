//! The `authorization_code` (RFC 6749 §4.1.3, RFC 7636) and `refresh_token` (RFC 6749 §6) grants.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Grant, REFRESH_LIFETIME, Taken, required, server};
use crate::auth::secrets::{opaque_token, token_digest};
use crate::auth::tokens::{TokenBasis, TokenService};
use crate::domain::applications::{Application, GrantType};
use crate::domain::ids::{EnvironmentId, GrantId};
use crate::domain::tokens::{OAuthError, TokenGrant, TokenRequest, authenticate_client};
use crate::store::Store;

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
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
    // An external user's tokens name it as its login app did; `uid` keeps the user id for Assent.
    let user = grant.subject();
    let access = tokens
        .issue(
            env,
            TokenBasis {
                client_id: &client_id,
                subject: &user,
                user_id: grant.external_subject.is_some().then(|| grant.user_id.to_string()),
                scopes: &scopes,
                grant: Some(grant.id.to_string()),
                ext: grant.access_claims.clone(),
                credential_version: None,
            },
        )
        .await?;
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
    let Some(grant) = store.standing_grant(env, stored.grant_id, now).await.map_err(server)? else {
        return Err(OAuthError::InvalidGrant("The consent behind this code was withdrawn.".into()));
    };
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
    let Some(grant) = store.standing_grant(env, stored.grant_id, now).await.map_err(server)? else {
        return Err(OAuthError::InvalidGrant("The consent behind this token was withdrawn or has expired.".into()));
    };
    if grant.client_id != app.id || stored.expires_at <= now {
        return Err(invalid());
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
