//! Encryption at rest for secrets the service must read back (client secrets, signing keys).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

const NONCE_LEN: usize = 12;

/// AES-256-GCM with the service's master key; each sealed value carries its own random nonce.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// Builds the box from a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)) }
    }

    /// Parses a base64url (or standard base64) encoded 32-byte key.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
            .map_err(|_| "not base64".to_string())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "must decode to exactly 32 bytes".to_string())?;
        Ok(Self::new(&key))
    }

    /// Encrypts `clear`; output is nonce followed by ciphertext and tag.
    pub fn seal(&self, clear: &str) -> Result<Vec<u8>, String> {
        self.seal_bytes(clear.as_bytes())
    }

    /// Encrypts raw bytes.
    pub fn seal_bytes(&self, clear: &[u8]) -> Result<Vec<u8>, String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        let sealed = self.cipher.encrypt(&Nonce::from(nonce), clear).map_err(|_| "encryption failed".to_string())?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts a value sealed by [`SecretBox::seal`] as UTF-8.
    pub fn open(&self, sealed: &[u8]) -> Result<String, String> {
        String::from_utf8(self.open_bytes(sealed)?).map_err(|_| "sealed value is not UTF-8".to_string())
    }

    /// Decrypts raw bytes; fails when the master key differs from the one that sealed them.
    pub fn open_bytes(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        if sealed.len() < NONCE_LEN {
            return Err("sealed value too short".into());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| "sealed value too short".to_string())?;
        self.cipher
            .decrypt(&Nonce::from(nonce), body)
            .map_err(|_| "cannot decrypt a stored secret: was ASSENT_SECRET_KEY changed?".to_string())
    }
}

/// A random URL-safe token carrying `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The stored form of an opaque token (cookie, code, refresh token, CSRF handle): hex SHA-256.
/// Tokens carry 256 random bits, so a plain hash is enough; a stolen table yields nothing usable.
pub fn token_digest(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh opaque token of 256 random bits.
pub fn opaque_token() -> String {
    random_token(32)
}

/// A fresh random master key, base64url-encoded.
pub fn generate_master_key() -> String {
    random_token(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_key_only() {
        let key = generate_master_key();
        let a = SecretBox::from_base64(&key).unwrap();
        let sealed = a.seal("s3cret").unwrap();
        assert_eq!(a.open(&sealed).unwrap(), "s3cret");
        let b = SecretBox::from_base64(&generate_master_key()).unwrap();
        assert!(b.open(&sealed).is_err());
        assert!(a.open(&sealed[..5]).is_err());
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(SecretBox::from_base64("c2hvcnQ").is_err());
        assert!(SecretBox::from_base64("!!!").is_err());
    }
}
