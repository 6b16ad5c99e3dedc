//! Authentication: secret and password hashing, signing keys, access tokens and the callers they identify.

pub mod claims;
pub mod jws;
pub mod jwt_provider;
pub mod keys;
pub mod password;
pub mod principal;
pub mod secrets;
pub mod tokens;
