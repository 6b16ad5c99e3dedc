//! Checking a compact JWS offline against a set of public keys (a JWKS), as `assent verify` does
//! with checkpoints: nothing but the keys is trusted.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

use super::keys::PublicJwk;

/// The claims of `jws` when it is an ES256 JWS of type `typ` signed by one of `keys` (by `kid`);
/// otherwise what is wrong, in words.
pub fn verify_es256(jws: &str, typ: &str, keys: &[PublicJwk]) -> Result<Value, String> {
    super::jwt_provider::install();
    let header = decode_header(jws).map_err(|e| format!("not a JWS: {e}"))?;
    if header.alg != Algorithm::ES256 {
        return Err(format!("signed with {:?}, not ES256", header.alg));
    }
    if header.typ.as_deref() != Some(typ) {
        return Err(format!("its typ is {:?}, not {typ}", header.typ));
    }
    let kid = header.kid.ok_or("it names no key (kid)")?;
    let key = keys.iter().find(|key| key.kid == kid).ok_or_else(|| format!("key {kid} is not in the JWKS"))?;
    let decoding = DecodingKey::from_ec_components(&key.x, &key.y).map_err(|e| format!("key {kid}: {e}"))?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    decode::<Value>(jws, &decoding, &validation).map(|data| data.claims).map_err(|e| format!("signature: {e}"))
}
