//! Per-environment ES256 signing keys and their public JWK form.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey as EcKey;
use p256::pkcs8::EncodePrivateKey;
use rand::rngs::OsRng;

use crate::domain::ids::KeyId;

/// The public half of a signing key as a JSON Web Key (RFC 7517, EC P-256).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublicJwk {
    /// Key id, matched against the JWT `kid` header.
    pub kid: String,
    /// Base64url x coordinate.
    pub x: String,
    /// Base64url y coordinate.
    pub y: String,
}

/// A signing key: private PKCS#8 DER (sealed before storage) and its public JWK.
#[derive(Clone)]
pub struct SigningKey {
    /// The key id.
    pub id: KeyId,
    /// PKCS#8 DER of the private key.
    pub private_der: Vec<u8>,
    /// The public key.
    pub public: PublicJwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh P-256 key.
    pub fn generate() -> Result<Self, String> {
        let key = EcKey::random(&mut OsRng);
        let private_der = key.to_pkcs8_der().map_err(|e| format!("pkcs8: {e}"))?.as_bytes().to_vec();
        let point = key.verifying_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err("uncompressed point lacks coordinates".into());
        };
        let id = KeyId::new();
        let public = PublicJwk { kid: id.to_string(), x: URL_SAFE_NO_PAD.encode(x), y: URL_SAFE_NO_PAD.encode(y) };
        Ok(Self { id, private_der, public })
    }
}
