//! The one error format, and the one place where errors of every layer become HTTP responses.
//!
//! Management API errors are `{id, code, message, details[]}` (PingOne's shape); errors on the OAuth
//! endpoints under `/{envId}/as/` use RFC 6749 §5.2 (`{error, error_description}`).

mod codes;
mod edge;
pub mod hydra;
mod oauth;

pub use codes::ErrorCode;
pub use edge::{error_response, unsupported_media_type};

pub use oauth::{OAuthErrorBody, oauth_error_parts, oauth_error_response};

use poem::http::{HeaderValue, StatusCode};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

use crate::domain::error::{DomainError, FieldError, FieldErrorKind};

/// Extra facts about a detail, e.g. what a filter may use.
#[derive(Clone, Debug, Default, Object)]
#[oai(rename_all = "camelCase")]
pub struct InnerError {
    /// Attributes the filter supports.
    #[oai(default, skip_serializing_if_is_empty)]
    pub supported_attributes: Vec<String>,
    /// Operators the filter supports (for the attribute the filter named, when it named one).
    #[oai(default, skip_serializing_if_is_empty)]
    pub supported_operators: Vec<String>,
    /// Values the target accepts, e.g. the media types of a body.
    #[oai(default, skip_serializing_if_is_empty)]
    pub allowed_values: Vec<String>,
}

/// One specific problem with the request.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Detail code: `REQUIRED_VALUE`, `INVALID_VALUE`, `UNIQUENESS_VIOLATION`, `INVALID_FILTER`, `INVALID_PARAMETER`, `INVALID_TOKEN`, `INSUFFICIENT_PERMISSIONS`, `SIZE_LIMIT_EXCEEDED`.
    pub code: String,
    /// The offending field or parameter.
    #[oai(skip_serializing_if_is_none)]
    pub target: Option<String>,
    /// What is wrong, for a developer.
    pub message: String,
    /// Extra facts for some codes.
    #[oai(skip_serializing_if_is_none)]
    pub inner_error: Option<InnerError>,
}

/// The body of every error response of the management API.
#[derive(Clone, Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Unique id of this error; quote it when reporting a problem (it is in our logs).
    pub id: Uuid,
    /// `INVALID_DATA`, `INVALID_REQUEST`, `ACCESS_FAILED`, `NOT_FOUND`, `REQUEST_LIMITED` or `UNEXPECTED_ERROR`.
    pub code: String,
    /// What went wrong, for a developer.
    pub message: String,
    /// Specific problems; empty when there is nothing more to say than `code` and `message`.
    pub details: Vec<ErrorDetail>,
}

/// An error on its way to the client; the cause of a 5xx is kept for the log only.
#[derive(Debug, thiserror::Error)]
#[error("{} {}", .body.code, .body.message)]
pub struct ApiError {
    status: StatusCode,
    // Boxed: `Result<_, ApiError>` travels through every handler and should stay small.
    body: Box<ErrorBody>,
    cause: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the code's standard message.
    pub fn new(code: ErrorCode) -> Self {
        let (status, wire, message) = code.parts();
        Self {
            status,
            body: Box::new(ErrorBody {
                id: Uuid::new_v4(),
                code: wire.into(),
                message: message.into(),
                details: vec![],
            }),
            cause: None,
            retry_after: None,
        }
    }

    /// Replaces the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.body.message = message.into();
        self
    }

    /// Adds a detail.
    pub fn with_detail(mut self, code: &str, target: Option<&str>, message: impl Into<String>) -> Self {
        self.body.details.push(ErrorDetail {
            code: code.into(),
            target: target.map(str::to_owned),
            message: message.into(),
            inner_error: None,
        });
        self
    }

    /// Adds a detail with extra facts.
    pub fn with_inner_detail(
        mut self,
        code: &str,
        target: Option<&str>,
        message: impl Into<String>,
        inner: InnerError,
    ) -> Self {
        self.body.details.push(ErrorDetail {
            code: code.into(),
            target: target.map(str::to_owned),
            message: message.into(),
            inner_error: Some(inner),
        });
        self
    }

    /// Adds a `Retry-After` header (seconds).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Keeps `cause` for the log (under the error id) of a 5xx; it is never sent.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// A 500 whose cause is logged under the error id and never sent.
    pub fn unexpected(cause: impl Into<String>) -> Self {
        Self { cause: Some(cause.into()), ..Self::new(ErrorCode::Unexpected) }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The wire body.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }

    /// Logs an error met after the response began (a streamed body), where no status can carry it.
    pub fn log_after_response(&self) {
        tracing::error!(
            error.id = %self.body.id,
            code = %self.body.code,
            cause = self.cause.as_deref().unwrap_or("-"),
            "the response body failed after its status was sent"
        );
    }

    fn log_if_server_error(&self) {
        if self.status.is_server_error() {
            tracing::error!(error.id = %self.body.id, cause = self.cause.as_deref().unwrap_or("-"), "request failed");
        }
    }
}

fn field_detail(field: FieldError) -> ErrorDetail {
    let code = match field.kind {
        FieldErrorKind::Required => "REQUIRED_VALUE",
        FieldErrorKind::Invalid => "INVALID_VALUE",
        FieldErrorKind::Uniqueness => "UNIQUENESS_VIOLATION",
        FieldErrorKind::InvalidFilter => "INVALID_FILTER",
    };
    let target = (!field.target.is_empty()).then_some(field.target);
    ErrorDetail { code: code.into(), target, message: field.message, inner_error: None }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid(fields) => {
                let mut api = ApiError::new(ErrorCode::InvalidData);
                api.body.details = fields.into_iter().map(field_detail).collect();
                api
            }
            DomainError::InvalidFilter { message, supported_attributes, supported_operators } => {
                let mut api = ApiError::new(ErrorCode::InvalidData);
                api.body.details.push(ErrorDetail {
                    code: "INVALID_FILTER".into(),
                    target: Some("filter".into()),
                    message,
                    inner_error: Some(InnerError {
                        supported_attributes,
                        supported_operators,
                        ..InnerError::default()
                    }),
                });
                api
            }
            DomainError::InvalidState(message) => ApiError::new(ErrorCode::InvalidData).with_message(message),
            DomainError::NotFound => ApiError::new(ErrorCode::NotFound),
            DomainError::Forbidden(message) => {
                ApiError::new(ErrorCode::Forbidden).with_detail("INSUFFICIENT_PERMISSIONS", None, message)
            }
            DomainError::TooManyAttempts(seconds) => ApiError::new(ErrorCode::RequestLimited)
                .with_message("Too many failed attempts. Try again later.")
                .with_retry_after(seconds),
            DomainError::Busy(seconds) => ApiError::new(ErrorCode::Unavailable)
                .with_message("The server is busy. Try again shortly.")
                .with_retry_after(seconds),
            DomainError::Unexpected(cause) => ApiError::unexpected(cause),
        }
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.log_if_server_error();
        let mut response =
            Response::builder().status(self.status).content_type("application/json").body(self.body.to_json_string());
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert("Retry-After", value);
        }
        // RFC 6750 §3: a refused bearer token is answered with a challenge.
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                "WWW-Authenticate",
                HeaderValue::from_static("Bearer realm=\"assent\", error=\"invalid_token\""),
            );
        }
        response
    }
}

/// Documents the error statuses every management operation can answer, all with [`ErrorBody`].
impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let statuses: [(u16, &'static str); 7] = [
            (
                400,
                "Invalid request or data: `INVALID_DATA` / `INVALID_REQUEST`, with `details[].target` naming the field.",
            ),
            (401, "`ACCESS_FAILED`: missing, malformed or expired access token."),
            (403, "`ACCESS_FAILED`: the token lacks the permission."),
            (404, "`NOT_FOUND`: no such resource in this environment (also for another environment's resources)."),
            (415, "`INVALID_REQUEST`: the `Content-Type` is not accepted."),
            (429, "`REQUEST_LIMITED`: too many requests; see `Retry-After`."),
            (500, "`UNEXPECTED_ERROR`: quote the error `id` when reporting it."),
        ];
        MetaResponses {
            responses: statuses
                .into_iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType { content_type: "application/json", schema: ErrorBody::schema_ref() }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

/// Lets handlers answer with a prepared response type.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        poem::error::ResponseError::as_response(&self)
    }
}
