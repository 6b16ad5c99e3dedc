//! The top-level error codes of the management API: HTTP status, wire code and standard message.

use poem::http::StatusCode;

/// Top-level error codes, with their HTTP status and standard message in one table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the body or a parameter breaks a rule.
    InvalidData,
    /// 400 (or 405/413/415): the request itself is malformed or not supported.
    InvalidRequest,
    /// 401: no valid access token.
    AccessFailed,
    /// 403: the token lacks the permission.
    Forbidden,
    /// 404: nothing there (or nothing the caller may know about).
    NotFound,
    /// 405: the method is not supported on this resource.
    MethodNotAllowed,
    /// 412: an `If-Match` precondition failed.
    PreconditionFailed,
    /// 409: the request conflicts with another (an idempotency key in use or reused).
    Conflict,
    /// 422: an idempotency key was reused for a different request.
    KeyReused,
    /// 406: none of the media types in `Accept` can be produced.
    NotAcceptable,
    /// 408: the request body did not arrive in time.
    RequestTimeout,
    /// 413: the body is too large.
    PayloadTooLarge,
    /// 415: the `Content-Type` is not accepted.
    UnsupportedMediaType,
    /// 429: too many requests.
    RequestLimited,
    /// 500: our fault; details are in the logs under the error id.
    Unexpected,
    /// 503: the request did not finish in time or a dependency is down.
    Unavailable,
}

impl ErrorCode {
    /// HTTP status, wire code and the default message.
    pub fn parts(self) -> (StatusCode, &'static str, &'static str) {
        use ErrorCode::*;
        match self {
            InvalidData => (
                StatusCode::BAD_REQUEST,
                "INVALID_DATA",
                "The request could not be completed. One or more validation errors were in the request.",
            ),
            InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "The request could not be completed. The request was malformed or invalid.",
            ),
            AccessFailed => (
                StatusCode::UNAUTHORIZED,
                "ACCESS_FAILED",
                "The request could not be completed. You do not have access to this resource.",
            ),
            Forbidden => (
                StatusCode::FORBIDDEN,
                "ACCESS_FAILED",
                "The request could not be completed. You do not have permission to perform this operation.",
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "The request could not be completed. The requested resource was not found.",
            ),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "INVALID_REQUEST",
                "The request could not be completed. The HTTP method is not supported for this resource.",
            ),
            PreconditionFailed => (
                StatusCode::PRECONDITION_FAILED,
                "INVALID_REQUEST",
                "The request could not be completed. A precondition of the request was not met.",
            ),
            Conflict => (
                StatusCode::CONFLICT,
                "REQUEST_FAILED",
                "The request could not be completed. It conflicts with another request.",
            ),
            KeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_REQUEST",
                "The request could not be completed. Its idempotency key belongs to another request.",
            ),
            NotAcceptable => (
                StatusCode::NOT_ACCEPTABLE,
                "INVALID_REQUEST",
                "The request could not be completed. None of the media types in Accept can be produced.",
            ),
            RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "INVALID_REQUEST",
                "The request could not be completed. The request body did not arrive in time.",
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "INVALID_REQUEST",
                "The request could not be completed. The request body is too large.",
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "INVALID_REQUEST",
                "The request could not be completed. The Content-Type is not supported.",
            ),
            RequestLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "REQUEST_LIMITED",
                "The request could not be completed. Too many requests; retry later.",
            ),
            Unexpected => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNEXPECTED_ERROR",
                "The request could not be completed. An unexpected error occurred.",
            ),
            Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "UNEXPECTED_ERROR",
                "The request could not be completed. The service is temporarily unavailable.",
            ),
        }
    }
}
