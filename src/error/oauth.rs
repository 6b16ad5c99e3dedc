//! The RFC 6749 §5.2 error format of the OAuth endpoints under `/{envId}/as/`.

use poem::Response;
use poem::http::{HeaderValue, StatusCode};
use poem_openapi::Object;
use poem_openapi::types::ToJSON;
use uuid::Uuid;

use crate::domain::tokens::OAuthError;

/// RFC 6749 §5.2 error body.
#[derive(Clone, Debug, Object)]
pub struct OAuthErrorBody {
    /// The error code, e.g. `invalid_client`.
    pub error: String,
    /// A sentence for the client developer.
    pub error_description: String,
}

/// An OAuth error's status, body and whether it needs `WWW-Authenticate`.
pub fn oauth_error_parts(error: OAuthError) -> (StatusCode, OAuthErrorBody) {
    let (status, code, description) = match error {
        OAuthError::TooManyRequests(seconds) => (
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            format!("Too many attempts. Try again in {seconds} s."),
        ),
        OAuthError::Busy(seconds) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            format!("The server is busy. Try again in {seconds} s."),
        ),
        OAuthError::InvalidRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", d),
        OAuthError::InvalidClient(d) => (StatusCode::UNAUTHORIZED, "invalid_client", d),
        OAuthError::InvalidGrant(d) => (StatusCode::BAD_REQUEST, "invalid_grant", d),
        OAuthError::UnauthorizedClient(d) => (StatusCode::BAD_REQUEST, "unauthorized_client", d),
        OAuthError::UnsupportedGrantType(d) => (StatusCode::BAD_REQUEST, "unsupported_grant_type", d),
        OAuthError::InvalidScope(d) => (StatusCode::BAD_REQUEST, "invalid_scope", d),
        OAuthError::Server(cause) => {
            let id = Uuid::new_v4();
            tracing::error!(error.id = %id, cause = %cause, "oauth request failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "server_error", format!("An unexpected error occurred (id {id})."))
        }
    };
    (status, OAuthErrorBody { error: code.into(), error_description: description })
}

/// The full RFC 6749 error response, with `WWW-Authenticate` on 401 (§5.2) and no caching.
pub fn oauth_error_response(error: OAuthError) -> Response {
    let retry_after = error.retry_after();
    let (status, body) = oauth_error_parts(error);
    let mut response = Response::builder()
        .status(status)
        .content_type("application/json")
        .header("Cache-Control", "no-store")
        .body(body.to_json_string());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert("WWW-Authenticate", HeaderValue::from_static("Basic realm=\"assent\""));
    }
    if let Some(seconds) = retry_after {
        response.headers_mut().insert("Retry-After", HeaderValue::from(seconds));
    }
    response
}

pub(super) fn framework_to_oauth(error: poem::Error) -> OAuthError {
    match error.status() {
        s if s.is_server_error() => OAuthError::Server(error.to_string()),
        _ => OAuthError::InvalidRequest(error.to_string()),
    }
}
