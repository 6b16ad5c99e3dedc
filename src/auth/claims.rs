//! What Assent's tokens say: the claims of access tokens and of OpenID Connect ID tokens.

use serde::{Deserialize, Serialize};

/// The claims of an Assent access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: `{publicUrl}/{envId}/as`.
    pub iss: String,
    /// Subject: the client id, or for user tokens the user id (an external user's subject).
    pub sub: String,
    /// The user id, when `sub` is an external user's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Audience: the API base URL.
    pub aud: String,
    /// The environment the token belongs to.
    pub env: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Space-separated granted scopes.
    #[serde(default)]
    pub scope: String,
    /// Issued at (seconds).
    pub iat: i64,
    /// Expires at (seconds).
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// The grant (user authorization) the token was issued under; absent for client_credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// Claims an external consent app attached (Hydra's `session.access_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext: Option<serde_json::Map<String, serde_json::Value>>,
    /// The client's credential version at issue (client_credentials tokens); rotating the secret
    /// or disabling the client moves it on, and older tokens stop standing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cver: Option<i32>,
}

/// The claims of an OpenID Connect ID token (OIDC Core §2).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The user id (an external user's subject).
    pub sub: String,
    /// The client id.
    pub aud: String,
    /// Expires at (seconds).
    pub exp: i64,
    /// Issued at (seconds).
    pub iat: i64,
    /// When the user signed in (seconds).
    pub auth_time: i64,
    /// The `nonce` of the authorization request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Claims an external consent app added (Hydra's `session.id_token`); they never replace the above.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}
