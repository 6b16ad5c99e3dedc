//! Signed JWT access tokens: issuing with the environment's newest key, verifying against its published keys.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

pub use super::claims::{Claims, IdTokenClaims};
use super::keys::PublicJwk;
use super::principal::Principal;
use super::secrets::SecretBox;
use crate::domain::error::DomainError;
use crate::domain::ids::{EnvironmentId, UserId};
use crate::store::{Store, StoreError};

/// Why a bearer token was refused; every case is a 401 for the caller.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT of ours, bad signature, wrong issuer or audience.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Past its `exp`.
    #[error("the token has expired")]
    Expired,
    /// Revoked, or what it rests on (client, credentials, user, grant, consent) has ended.
    #[error("the token was revoked, or what it was issued under has ended")]
    Ended,
    /// Keys could not be loaded.
    #[error("unexpected: {0}")]
    Unexpected(String),
}

/// A freshly issued token.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
}

struct EnvKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    jwks: Vec<PublicJwk>,
}

/// A token whose signature was verified, and what is known of its standing.
#[derive(Clone)]
struct Verified {
    principal: Principal,
    standing: Standing,
}

/// Whether a verified token still stands, as last checked.
#[derive(Clone, Copy)]
enum Standing {
    /// Not checked yet.
    Unchecked,
    /// Found standing at `at`, when the store's ending count was `endings`; any later ending on
    /// this node forces a new check.
    Since { at: Instant, endings: u64 },
    /// Found ended: revoked, or what it rests on ended. That is final.
    Ended,
}

/// Issues and verifies tokens; keys are loaded once per environment and kept in memory.
pub struct TokenService {
    store: Store,
    secrets: SecretBox,
    public_url: String,
    lifetime_secs: i64,
    keys: RwLock<HashMap<EnvironmentId, Arc<EnvKeys>>>,
    /// Client secrets already verified against their stored hash.
    pub client_secrets: super::password::VerifiedSecrets,
    /// Guessing budgets for client authentication (shared with the rest of the server).
    pub limiters: Arc<crate::limits::Limiters>,
    /// Tokens already verified, by SHA-256 of the token, until they expire.
    verified: std::sync::RwLock<HashMap<[u8; 32], Verified>>,
    /// How long a token found standing is believed without asking the database again: the bound
    /// on how late another node's revocation takes effect here.
    recheck: Duration,
    /// Authentications answered from `verified` without asking the database, and the others.
    standing_hits: AtomicU64,
    standing_misses: AtomicU64,
}

/// Most verified tokens remembered; past that, expired ones are dropped (or all, if none expired).
const VERIFIED_CAPACITY: usize = 100_000;

#[derive(Deserialize)]
struct UnverifiedEnv {
    env: String,
}

impl TokenService {
    /// A service issuing tokens valid for `lifetime_secs`, re-checking standing tokens every `recheck`.
    pub fn new(
        store: Store,
        secrets: SecretBox,
        public_url: String,
        lifetime_secs: i64,
        recheck: Duration,
        limiters: Arc<crate::limits::Limiters>,
    ) -> Self {
        super::jwt_provider::install();
        Self {
            limiters,
            store,
            secrets,
            public_url,
            lifetime_secs,
            keys: RwLock::new(HashMap::new()),
            client_secrets: super::password::VerifiedSecrets::default(),
            verified: std::sync::RwLock::new(HashMap::new()),
            recheck,
            standing_hits: AtomicU64::new(0),
            standing_misses: AtomicU64::new(0),
        }
    }

    /// The issuer identifier of an environment.
    pub fn issuer(&self, env: EnvironmentId) -> String {
        format!("{}/{env}/as", self.public_url)
    }

    async fn keys(&self, env: EnvironmentId) -> Result<Arc<EnvKeys>, StoreError> {
        if let Some(keys) = self.keys.read().await.get(&env) {
            return Ok(keys.clone());
        }
        let stored = self.store.signing_keys(env).await?;
        let newest = stored.first().ok_or(StoreError::NotFound)?;
        let der = self.secrets.open_bytes(&newest.private_sealed).map_err(StoreError::Database)?;
        let mut decoding = HashMap::new();
        for key in &stored {
            let dk = DecodingKey::from_ec_components(&key.public.x, &key.public.y)
                .map_err(|e| StoreError::Database(format!("stored public key: {e}")))?;
            decoding.insert(key.public.kid.clone(), dk);
        }
        let keys = Arc::new(EnvKeys {
            kid: newest.public.kid.clone(),
            encoding: EncodingKey::from_ec_der(&der),
            decoding,
            jwks: stored.iter().map(|k| k.public.clone()).collect(),
        });
        self.keys.write().await.insert(env, keys.clone());
        Ok(keys)
    }

    /// The public keys of an environment, for `/as/jwks`.
    pub async fn jwks(&self, env: EnvironmentId) -> Result<Vec<PublicJwk>, DomainError> {
        Ok(self.keys(env).await?.jwks.clone())
    }

    /// Signs a token for `subject` of `client_id` in `env` with `scopes`: tied to its grant when a
    /// user granted it, to the client's credential version when the client asked for itself.
    pub async fn issue(&self, env: EnvironmentId, basis: TokenBasis<'_>) -> Result<IssuedToken, DomainError> {
        let TokenBasis { client_id, subject, user_id, scopes, grant, ext, credential_version } = basis;
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer(env),
            sub: subject.to_owned(),
            uid: user_id,
            aud: self.public_url.clone(),
            env: env.to_string(),
            client_id: client_id.to_owned(),
            scope: scopes.join(" "),
            iat: now,
            exp: now + self.lifetime_secs,
            jti: uuid::Uuid::now_v7().to_string(),
            gid: grant,
            ext,
            cver: credential_version,
        };
        let token = self.sign(env, &claims).await?;
        Ok(IssuedToken { token, expires_in: self.lifetime_secs })
    }

    /// Signs an ID token for `user` and `client_id`, valid as long as access tokens.
    pub async fn issue_id_token(
        &self,
        env: EnvironmentId,
        client_id: &str,
        user: &str,
        auth_time: i64,
        nonce: Option<String>,
        extra: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<String, DomainError> {
        const RESERVED: [&str; 7] = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce"];
        let extra = extra
            .map(|claims| claims.iter().filter(|(k, _)| !RESERVED.contains(&k.as_str())))
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let now = chrono::Utc::now().timestamp();
        let claims = IdTokenClaims {
            iss: self.issuer(env),
            sub: user.to_owned(),
            aud: client_id.to_owned(),
            exp: now + self.lifetime_secs,
            iat: now,
            auth_time,
            nonce,
            extra,
        };
        self.sign(env, &claims).await
    }

    /// Signs `claims` as a compact JWS (ES256) whose `typ` header is `typ`, with the environment's
    /// current key; answers the JWS and the key's id (`kid`, published in the environment's JWKS).
    pub async fn sign_typed<T: Serialize>(
        &self,
        env: EnvironmentId,
        typ: &str,
        claims: &T,
    ) -> Result<(String, String), DomainError> {
        let keys = self.keys(env).await?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(keys.kid.clone());
        header.typ = Some(typ.to_owned());
        let jws = jsonwebtoken::encode(&header, claims, &keys.encoding)
            .map_err(|e| DomainError::Unexpected(format!("signing: {e}")))?;
        Ok((jws, keys.kid.clone()))
    }

    async fn sign<T: Serialize>(&self, env: EnvironmentId, claims: &T) -> Result<String, DomainError> {
        let keys = self.keys(env).await?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(keys.kid.clone());
        jsonwebtoken::encode(&header, claims, &keys.encoding)
            .map_err(|e| DomainError::Unexpected(format!("signing: {e}")))
    }

    /// The audience of every access token: the API base URL.
    pub fn audience(&self) -> &str {
        &self.public_url
    }

    /// Verifies signature, issuer, audience and expiry; the environment comes from the token itself.
    /// Says nothing of whether it was revoked since: that is [`TokenService::authenticate`].
    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let key = cache_key(token);
        match self.cached(&key)? {
            Some(verified) => Ok(verified.principal),
            None => self.verify_and_remember(token, key).await,
        }
    }

    /// Verifies the token and that it still stands: not revoked, its client enabled with the same
    /// credentials, and for a user's token its user, grant and consent records. A standing token is
    /// believed for `recheck` at most, and not at all after this node ended anything.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, TokenError> {
        let key = cache_key(token);
        let endings = self.store.endings();
        let principal = match self.cached(&key)? {
            Some(Verified { standing: Standing::Ended, .. }) => return Err(TokenError::Ended),
            Some(Verified { principal, standing: Standing::Since { at, endings: seen } })
                if seen == endings && at.elapsed() < self.recheck =>
            {
                self.standing_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(principal);
            }
            Some(Verified { principal, .. }) => principal,
            None => self.verify_and_remember(token, key).await?,
        };
        self.standing_misses.fetch_add(1, Ordering::Relaxed);
        let standing = crate::domain::grants::token_active(&self.store, &principal)
            .await
            .map_err(|e| TokenError::Unexpected(e.to_string()))?;
        if let Ok(mut cache) = self.verified.write()
            && let Some(entry) = cache.get_mut(&key)
        {
            entry.standing = if standing { Standing::Since { at: Instant::now(), endings } } else { Standing::Ended };
        }
        if standing { Ok(principal) } else { Err(TokenError::Ended) }
    }

    /// Authentications answered from the cache, and those that asked the database.
    pub fn standing_cache(&self) -> (u64, u64) {
        (self.standing_hits.load(Ordering::Relaxed), self.standing_misses.load(Ordering::Relaxed))
    }

    /// The remembered verification of a token, if any; an expired one is refused.
    fn cached(&self, key: &[u8; 32]) -> Result<Option<Verified>, TokenError> {
        let found = self.verified.read().ok().and_then(|cache| cache.get(key).cloned());
        match found {
            Some(verified) if verified.principal.expires_at <= chrono::Utc::now().timestamp() => {
                Err(TokenError::Expired)
            }
            other => Ok(other),
        }
    }

    async fn verify_and_remember(&self, token: &str, key: [u8; 32]) -> Result<Principal, TokenError> {
        let now = chrono::Utc::now().timestamp();
        let (env, claims) = self.verify_signature(token).await?;
        // A user token's user: its `uid` when `sub` is an external subject, else `sub` itself
        // (unless the token is its client's own).
        let user_id = match &claims.uid {
            Some(uid) => UserId::parse(uid),
            None if claims.sub != claims.client_id => UserId::parse(&claims.sub),
            None => None,
        };
        let principal = Principal {
            environment_id: env,
            client_id: claims.client_id,
            subject: claims.sub,
            user_id,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            expires_at: claims.exp,
            token_id: claims.jti,
            grant_id: claims.gid,
            issued_at: claims.iat,
            ext: claims.ext,
            credential_version: claims.cver.unwrap_or(0),
        };
        if let Ok(mut cache) = self.verified.write() {
            if cache.len() >= VERIFIED_CAPACITY {
                cache.retain(|_, v| v.principal.expires_at > now);
                if cache.len() >= VERIFIED_CAPACITY {
                    cache.clear();
                }
            }
            // Never checked yet: `authenticate` checks standing before believing it.
            cache.entry(key).or_insert(Verified { principal: principal.clone(), standing: Standing::Unchecked });
        }
        Ok(principal)
    }

    async fn verify_signature(&self, token: &str) -> Result<(EnvironmentId, Claims), TokenError> {
        let env =
            unverified_env(token).ok_or_else(|| TokenError::Invalid("not an access token of this service".into()))?;
        let header = jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        let keys = match self.keys(env).await {
            Ok(keys) => keys,
            Err(StoreError::NotFound) => return Err(TokenError::Invalid("unknown issuer".into())),
            Err(e) => return Err(TokenError::Unexpected(e.to_string())),
        };
        let kid = header.kid.unwrap_or_default();
        let key = keys.decoding.get(&kid).ok_or_else(|| TokenError::Invalid("unknown signing key".into()))?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[&self.public_url]);
        validation.set_issuer(&[self.issuer(env)]);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid(e.to_string()),
        })?;
        Ok((env, data.claims))
    }
}

fn cache_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What a token is issued on.
#[derive(Clone, Debug, Default)]
pub struct TokenBasis<'a> {
    /// The client it is issued to.
    pub client_id: &'a str,
    /// The user (its id, or its external subject), or the client itself.
    pub subject: &'a str,
    /// The user's id when `subject` is the user's external subject.
    pub user_id: Option<String>,
    /// Granted scopes.
    pub scopes: &'a [String],
    /// The grant, for a user's token.
    pub grant: Option<String>,
    /// Claims an external consent app attached.
    pub ext: Option<serde_json::Map<String, serde_json::Value>>,
    /// The client's credential version, for a client_credentials token.
    pub credential_version: Option<i32>,
}

/// Reads the `env` claim before verification, to know whose keys verify the signature.
fn unverified_env(token: &str) -> Option<EnvironmentId> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: UnverifiedEnv = serde_json::from_slice(&bytes).ok()?;
    EnvironmentId::parse(&claims.env)
}
