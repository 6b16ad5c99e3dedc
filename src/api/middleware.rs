//! Cross-cutting HTTP concerns: correlation ids, request spans, security headers and the error format.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use poem::error::ReadBodyError;
use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use crate::error::error_response;

/// Header carrying the id that ties a request to its log lines.
pub const CORRELATION_ID: &str = "Correlation-Id";

/// A caller-supplied correlation id is kept when it is short and printable; otherwise a new one is made.
fn correlation_id(request: &Request) -> String {
    request
        .headers()
        .get(CORRELATION_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 100 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// OAuth endpoints answer errors in RFC 6749 form; the browser-facing pages and forms do not.
pub(crate) fn is_oauth_path(path: &str) -> bool {
    let mut segments = path.split('/').skip(2);
    segments.next() == Some("as") && !matches!(segments.next(), Some("authorize" | "login" | "consent"))
}

/// Limits every request is held to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A request running longer is answered 503.
    pub timeout: Duration,
    /// A larger body is answered 413 before any handler sees it.
    pub body_bytes: usize,
}

/// The request wrapper for `limits`.
pub fn wrapper<E: Endpoint + 'static>(
    limits: Limits,
) -> impl Fn(Arc<E>, Request) -> Pin<Box<dyn Future<Output = poem::Result<Response>> + Send>> + Send + Sync + 'static {
    move |next, request| Box::pin(around(next, request, limits))
}

/// Reads the body up front, within the limit, so no handler can be fed an unbounded stream.
async fn bounded_body(request: &mut Request, limit: usize) -> Result<(), poem::Error> {
    let body = request.take_body();
    match body.into_bytes_limit(limit).await {
        Ok(bytes) => {
            request.set_body(bytes);
            Ok(())
        }
        Err(ReadBodyError::PayloadTooLarge) => Err(poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE)),
        Err(other) => Err(poem::Error::from_string(other.to_string(), StatusCode::BAD_REQUEST)),
    }
}

/// Wraps every request: span, correlation id, limits, uniform errors, security headers.
async fn around<E: Endpoint>(next: Arc<E>, mut request: Request, limits: Limits) -> poem::Result<Response> {
    let correlation = correlation_id(&request);
    let oauth = is_oauth_path(request.uri().path());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        correlation_id = %correlation,
        status = tracing::field::Empty,
    );
    async move {
        let outcome = match bounded_body(&mut request, limits.body_bytes).await {
            Err(error) => Err(error),
            Ok(()) => match tokio::time::timeout(limits.timeout, next.call(request)).await {
                Ok(outcome) => outcome.map(IntoResponse::into_response),
                Err(_) => Err(poem::Error::from_status(StatusCode::SERVICE_UNAVAILABLE)),
            },
        };
        let mut response = match outcome {
            Ok(response) => response,
            Err(error) => error_response(error, oauth),
        };
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        if status.is_server_error() {
            tracing::warn!("answered {status}");
        } else {
            tracing::debug!("answered {status}");
        }
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&correlation) {
            headers.insert(CORRELATION_ID, value);
        }
        headers.insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
        headers.entry("Cache-Control").or_insert(HeaderValue::from_static("no-store"));
        Ok(response)
    }
    .instrument(span)
    .await
}
