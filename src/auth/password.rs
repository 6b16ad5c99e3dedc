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

/// Checks a candidate against a PHC string; a malformed stored hash counts as a mismatch.
pub async fn verify(phc: String, candidate: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&phc) {
        Ok(parsed) => Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    })
    .await
    .unwrap_or(false)
}
