//! Argon2id hashing of passwords and client secrets, off the async threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

use crate::domain::error::DomainError;

/// Hashes a secret into a PHC string (Argon2id, the crate's OWASP-recommended defaults).
pub async fn hash(secret: String) -> Result<String, DomainError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DomainError::Unexpected(format!("argon2 hash: {e}")))
    })
    .await
    .map_err(|e| DomainError::Unexpected(format!("hashing task: {e}")))?
}

/// Remembers secrets that verified against a stored hash, so a client authenticating again does not
/// pay for Argon2 each time. Keyed by SHA-256 of (stored hash, secret): rotating a secret changes the
/// stored hash, so old entries can never match again, on any node.
#[derive(Debug, Default)]
pub struct VerifiedSecrets {
    known: std::sync::RwLock<std::collections::HashSet<[u8; 32]>>,
}

/// Most remembered verifications.
const VERIFIED_CAPACITY: usize = 10_000;

impl VerifiedSecrets {
    /// Like [`verify`], answering from memory when this exact pair verified before.
    pub async fn verify(&self, phc: String, candidate: String) -> bool {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(phc.as_bytes());
        hasher.update([0u8]);
        hasher.update(candidate.as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        if self.known.read().is_ok_and(|known| known.contains(&key)) {
            return true;
        }
        let ok = verify(phc, candidate).await;
        if ok && let Ok(mut known) = self.known.write() {
            if known.len() >= VERIFIED_CAPACITY {
                known.clear();
            }
            known.insert(key);
        }
        ok
    }
}

/// Checks a candidate against a PHC string; a malformed stored hash counts as a mismatch.
pub async fn verify(phc: String, candidate: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&phc) {
        Ok(parsed) => Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    })
    .await
    .unwrap_or(false)
}
