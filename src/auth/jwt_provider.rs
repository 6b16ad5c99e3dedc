//! jsonwebtoken's aws-lc backend, with ES256 signing keys parsed once.
//!
//! `jsonwebtoken::encode` asks the process's `CryptoProvider` for a signer on every call, and the
//! stock aws-lc provider parses and validates the PKCS#8 key each time, which costs about as much
//! as the signature (profiled on `/as/token`: the elliptic-curve work was ~45 % of the request).
//! This provider keeps each parsed ES256 key, by SHA-256 of its bytes, and leaves every other
//! algorithm and all verification to the stock provider.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, EncodingKey};
use sha2::{Digest, Sha256};

/// Parsed keys kept at most; past that the cache starts afresh (each environment has one or two).
const KEYS_KEPT: usize = 10_000;

static PARSED: LazyLock<RwLock<HashMap<[u8; 32], Arc<EcdsaKeyPair>>>> = LazyLock::new(RwLock::default);

static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
    signer_factory: signer,
    verifier_factory: DEFAULT_PROVIDER.verifier_factory,
    key_utils: DEFAULT_PROVIDER.key_utils.clone(),
});

/// Makes this the process's provider; a no-op when one is already installed (tests start many
/// servers in one process).
pub fn install() {
    let _ = PROVIDER.install_default();
}

struct Es256(Arc<EcdsaKeyPair>);

impl signature::Signer<Vec<u8>> for Es256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let signed = self.0.sign(&SystemRandom::new(), message).map_err(signature::Error::from_source)?;
        Ok(signed.as_ref().to_vec())
    }
}

impl JwtSigner for Es256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::ES256 {
        return (DEFAULT_PROVIDER.signer_factory)(algorithm, key);
    }
    let id: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    if let Some(parsed) = PARSED.read().ok().and_then(|keys| keys.get(&id).cloned()) {
        return Ok(Box::new(Es256(parsed)));
    }
    let parsed = Arc::new(
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key.as_bytes())
            .map_err(|_| ErrorKind::InvalidEcdsaKey)?,
    );
    if let Ok(mut keys) = PARSED.write() {
        if keys.len() >= KEYS_KEPT {
            keys.clear();
        }
        keys.insert(id, parsed.clone());
    }
    Ok(Box::new(Es256(parsed)))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, KeyPair, UnparsedPublicKey};

    use super::*;

    #[test]
    fn an_es256_key_is_parsed_once_and_its_signatures_verify() {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let public = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .unwrap_or_else(|e| panic!("{e}"))
            .public_key()
            .as_ref()
            .to_vec();
        let key = EncodingKey::from_ec_der(pkcs8.as_ref());
        let first = signer(&Algorithm::ES256, &key).unwrap_or_else(|e| panic!("{e}"));
        let signed = first.try_sign(b"header.claims").unwrap_or_else(|e| panic!("{e}"));
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
            .verify(b"header.claims", &signed)
            .unwrap_or_else(|e| panic!("signature does not verify: {e}"));
        let id: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let kept = PARSED.read().ok().and_then(|keys| keys.get(&id).cloned());
        let again = signer(&Algorithm::ES256, &key).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.algorithm(), Algorithm::ES256);
        let still = PARSED.read().ok().and_then(|keys| keys.get(&id).cloned());
        assert!(kept.zip(still).is_some_and(|(a, b)| Arc::ptr_eq(&a, &b)), "the second signer reuses the parsed key");
        assert!(signer(&Algorithm::ES256, &EncodingKey::from_ec_der(b"not a key")).is_err());
    }
}
