//! Ory Hydra's error shape (`{error, error_description, status_code}`), which its SDKs parse, for the
//! challenge API under `/{envId}/admin/`.

use poem::Response;
use poem::http::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::domain::flow::ChallengeError;

/// A Hydra-style error answer.
fn hydra_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description, "status_code": status.as_u16()});
    Response::builder().status(status).content_type("application/json").body(body.to_string())
}

/// The one mapping of challenge errors to HTTP.
pub fn challenge_error_response(error: ChallengeError) -> Response {
    match error {
        ChallengeError::Unauthorized(description) => {
            hydra_error(StatusCode::UNAUTHORIZED, "request_unauthorized", &description)
        }
        ChallengeError::Forbidden(description) => hydra_error(StatusCode::FORBIDDEN, "request_forbidden", &description),
        ChallengeError::NotFound(description) => hydra_error(StatusCode::NOT_FOUND, "not_found", &description),
        ChallengeError::Gone { request_url } => Response::builder()
            .status(StatusCode::GONE)
            .content_type("application/json")
            .body(json!({"redirect_to": request_url}).to_string()),
        ChallengeError::Conflict(description) => hydra_error(StatusCode::CONFLICT, "request_conflict", &description),
        ChallengeError::Invalid(description) => hydra_error(StatusCode::BAD_REQUEST, "invalid_request", &description),
        ChallengeError::Unexpected(cause) => {
            let id = Uuid::new_v4();
            tracing::error!(error.id = %id, cause = %cause, "challenge request failed");
            hydra_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                &format!("An unexpected error occurred (id {id})."),
            )
        }
    }
}
