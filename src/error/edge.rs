//! Errors that reach the edge of the application: the framework's own, and the handlers'.

use poem::Response;
use poem::http::StatusCode;

use super::oauth::{framework_to_oauth, oauth_error_response};
use super::{ApiError, ErrorCode};

/// Turns any error that reached the edge into a response in the right format for its path.
pub fn error_response(error: poem::Error, oauth_path: bool) -> Response {
    // Unknown paths and methods are routing errors, answered in the API format everywhere.
    let routing = matches!(error.status(), StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED);
    if oauth_path && !routing && !error.is::<ApiError>() {
        return oauth_error_response(framework_to_oauth(error));
    }
    match error.downcast::<ApiError>() {
        Ok(api) => poem::error::ResponseError::as_response(&api),
        Err(other) => {
            let api = framework_to_api(other);
            poem::error::ResponseError::as_response(&api)
        }
    }
}

/// The 415 of a body sent as `sent` (`None`: no `Content-Type`), which is none of `accepted`.
pub fn unsupported_media_type(sent: Option<&str>, accepted: &[&str]) -> ApiError {
    let list = accepted.join(", ");
    let sent = match sent {
        Some(sent) => format!("The Content-Type '{}' is not accepted", sent.chars().take(100).collect::<String>()),
        None => "The request has no Content-Type".to_owned(),
    };
    let message = if accepted.is_empty() {
        format!("The request could not be completed. {sent}: this operation takes no request body.")
    } else {
        format!("The request could not be completed. {sent}: send the body as one of: {list}.")
    };
    let detail = if accepted.is_empty() {
        "This operation takes no request body.".to_owned()
    } else {
        format!("'Content-Type' must be one of: {list}.")
    };
    let inner =
        super::InnerError { allowed_values: accepted.iter().map(|s| (*s).to_owned()).collect(), ..Default::default() };
    ApiError::new(ErrorCode::UnsupportedMediaType).with_message(message).with_inner_detail(
        "INVALID_VALUE",
        Some("Content-Type"),
        detail,
        inner,
    )
}

/// Maps poem and poem-openapi's own errors (routing, parsing, auth) into the one format.
fn framework_to_api(error: poem::Error) -> ApiError {
    use poem_openapi::error::{ParseParamError, ParseRequestPayloadError};
    let status = error.status();
    if let Some(param) = error.downcast_ref::<ParseParamError>() {
        return ApiError::new(ErrorCode::InvalidRequest).with_detail(
            "INVALID_PARAMETER",
            Some(param.name),
            format!("Parameter '{}' is invalid: {}", param.name, param.reason),
        );
    }
    if let Some(payload) = error.downcast_ref::<ParseRequestPayloadError>() {
        return ApiError::new(ErrorCode::InvalidData).with_detail("INVALID_VALUE", None, payload.reason.clone());
    }
    match status {
        StatusCode::UNAUTHORIZED => ApiError::new(ErrorCode::AccessFailed).with_detail(
            "INVALID_TOKEN",
            None,
            "A valid 'Authorization: Bearer <access token>' header is required.",
        ),
        StatusCode::FORBIDDEN => ApiError::new(ErrorCode::Forbidden),
        StatusCode::NOT_FOUND => ApiError::new(ErrorCode::NotFound),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(ErrorCode::MethodNotAllowed),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(ErrorCode::PayloadTooLarge).with_detail(
            "SIZE_LIMIT_EXCEEDED",
            None,
            "The request body exceeds the configured limit.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(ErrorCode::UnsupportedMediaType)
            .with_message(format!("The request could not be completed. {error}.")),
        StatusCode::TOO_MANY_REQUESTS => ApiError::new(ErrorCode::RequestLimited),
        StatusCode::REQUEST_TIMEOUT => ApiError::new(ErrorCode::RequestTimeout),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            ApiError::new(ErrorCode::Unavailable).with_cause(error.to_string())
        }
        s if s.is_client_error() => ApiError::new(ErrorCode::InvalidRequest)
            .with_message(format!("The request could not be completed. {error}.")),
        _ => ApiError::unexpected(error.to_string()),
    }
}
