//! Signed checkpoints: every so many events, or every so often, the head of each environment's
//! chain (sequence and hash) is signed with the environment's key. A verifier holding the public
//! JWKS can then tell an edited, reordered or truncated log from the one that was signed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::chain::instant;
use crate::auth::tokens::TokenService;
use crate::domain::error::DomainError;
use crate::domain::ids::EnvironmentId;
use crate::store::Store;

/// The JWS `typ` of a checkpoint.
pub const CHECKPOINT_TYP: &str = "assent-checkpoint+jwt";

/// A signed statement of a chain's head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The environment.
    pub environment: EnvironmentId,
    /// The sequence number of the event it covers up to.
    pub sequence: i64,
    /// That event's hash.
    pub hash: String,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
    /// The signing key's id.
    pub key_id: String,
    /// The compact JWS (ES256) of [`CheckpointClaims`].
    pub jws: String,
}

/// What a checkpoint's JWS says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointClaims {
    /// The environment's issuer.
    pub iss: String,
    /// The environment's id.
    pub sub: String,
    /// The sequence number covered.
    pub seq: i64,
    /// The hash of that event.
    pub hash: String,
    /// When it was signed (seconds since the epoch).
    pub iat: i64,
}

/// When checkpoints are signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// Sign once this many events were appended since the last checkpoint.
    pub every_events: u64,
    /// Sign once this long has passed since the last checkpoint, if any event was appended.
    pub every: Duration,
}

/// One export line of `checkpoint`.
pub fn checkpoint_line(checkpoint: &Checkpoint) -> Value {
    json!({
        "kind": "checkpoint",
        "sequence": checkpoint.sequence,
        "hash": checkpoint.hash,
        "signedAt": instant(checkpoint.signed_at),
        "keyId": checkpoint.key_id,
        "jws": checkpoint.jws,
    })
}

/// Signs a checkpoint for every environment whose chain is due one; answers how many were signed.
pub async fn sign_due(store: &Store, tokens: &TokenService, policy: CheckpointPolicy) -> Result<usize, DomainError> {
    let now = crate::domain::now();
    let older = chrono::Duration::from_std(policy.every).unwrap_or(chrono::Duration::MAX);
    let due = store.due_checkpoints(policy.every_events as i64, now - older, 100).await?;
    let mut signed = 0;
    for (env, head) in due {
        let claims = CheckpointClaims {
            iss: tokens.issuer(env),
            sub: env.to_string(),
            seq: head.sequence,
            hash: head.hash.clone(),
            iat: now.timestamp(),
        };
        let (jws, key_id) = tokens.sign_typed(env, CHECKPOINT_TYP, &claims).await?;
        let checkpoint =
            Checkpoint { environment: env, sequence: head.sequence, hash: head.hash, signed_at: now, key_id, jws };
        store.insert_checkpoint(&checkpoint).await?;
        signed += 1;
    }
    Ok(signed)
}

/// Signs due checkpoints for as long as the server runs, looking every second (or every
/// `policy.every`, if shorter).
pub async fn sign_checkpoints(store: Store, tokens: std::sync::Arc<TokenService>, policy: CheckpointPolicy) {
    let mut ticks = tokio::time::interval(policy.every.min(Duration::from_secs(1)).max(Duration::from_millis(50)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = sign_due(&store, &tokens, policy).await {
            tracing::warn!(%error, "signing consent event checkpoints failed");
        }
    }
}
