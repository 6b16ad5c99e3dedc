//! Cross-cutting HTTP concerns: correlation ids, request spans, security headers and the error format.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use poem::error::ReadBodyError;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use super::routes::{Route, RouteTable};
use crate::error::{ApiError, ErrorCode, error_response, unsupported_media_type};

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
    /// A body still arriving after this is answered 408 and its connection closed.
    pub body_timeout: Duration,
}

/// The request wrapper for `limits`, refining routing errors with what `routes` knows.
pub fn wrapper<E: Endpoint + 'static>(
    limits: Limits,
    routes: Arc<RouteTable>,
) -> impl Fn(Arc<E>, Request) -> Pin<Box<dyn Future<Output = poem::Result<Response>> + Send>> + Send + Sync + 'static {
    move |next, request| Box::pin(around(next, request, limits, routes.clone()))
}

/// Query parameters of a documented management operation that it does not know: refused rather
/// than silently ignored, so a client never believes a filter or an order was applied.
fn unknown_parameters(request: &Request, routes: &RouteTable) -> Option<ApiError> {
    let path = request.uri().path();
    let query = request.uri().query()?;
    if !path.starts_with("/v1/") {
        return None;
    }
    let known = routes.find(path)?.query_parameters(request.method())?;
    let mut unknown: Vec<String> = Vec::new();
    for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
        if !known.iter().any(|k| *k == name) && !unknown.iter().any(|u| *u == name) {
            unknown.push(name.into_owned());
        }
    }
    if unknown.is_empty() {
        return None;
    }
    let supported = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
    Some(unknown.iter().fold(ApiError::new(ErrorCode::InvalidRequest), |error, name| {
        error.with_detail(
            "INVALID_PARAMETER",
            Some(name),
            format!("'{name}' is not a parameter of this operation; it takes: {supported}."),
        )
    }))
}

/// A routing error made specific: 405 with `Allow`, 415 naming the accepted media types.
fn refine_error(
    error: poem::Error,
    oauth: bool,
    (method, content_type): (&Method, Option<&str>),
    route: Option<&Route>,
) -> Response {
    match (error.status(), route) {
        (StatusCode::METHOD_NOT_ALLOWED, Some(route)) => {
            let mut response = error_response(error, oauth);
            if let Ok(allow) = HeaderValue::from_str(&route.allow()) {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            response
        }
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some(route)) if !oauth && !error.is::<ApiError>() => {
            unsupported_media_type(content_type, route.media_types(method)).into_response()
        }
        _ => error_response(error, oauth),
    }
}

/// Reads the body up front, within the size limit and the time limit, so no handler can be fed an
/// unbounded stream and no client can hold a request open by trickling its body.
async fn bounded_body(request: &mut Request, limits: Limits) -> Result<(), poem::Error> {
    let body = request.take_body();
    match tokio::time::timeout(limits.body_timeout, body.into_bytes_limit(limits.body_bytes)).await {
        Ok(Ok(bytes)) => {
            request.set_body(bytes);
            Ok(())
        }
        Ok(Err(ReadBodyError::PayloadTooLarge)) => Err(poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE)),
        Ok(Err(other)) => Err(poem::Error::from_string(other.to_string(), StatusCode::BAD_REQUEST)),
        Err(_) => Err(poem::Error::from_string(
            format!("The request body did not arrive within {} ms", limits.body_timeout.as_millis()),
            StatusCode::REQUEST_TIMEOUT,
        )),
    }
}

/// A handler's panic as a 500: its message is logged (with the request's correlation id, under the
/// error id) and never sent; the connection lives on.
fn panicked(payload: Box<dyn Any + Send>) -> poem::Error {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    poem::Error::from_string(format!("panic: {message}"), StatusCode::INTERNAL_SERVER_ERROR)
}

/// Wraps every request: span, correlation id, limits, uniform errors, security headers.
async fn around<E: Endpoint>(
    next: Arc<E>,
    mut request: Request,
    limits: Limits,
    routes: Arc<RouteTable>,
) -> poem::Result<Response> {
    let correlation = correlation_id(&request);
    let oauth = is_oauth_path(request.uri().path());
    // Kept for refining a routing error after the request has gone to the handler (cheap clones:
    // the URI and the header value share the request's buffers).
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        correlation_id = %correlation,
        status = tracing::field::Empty,
    );
    async move {
        let body = bounded_body(&mut request, limits).await;
        // A body that was not read to its end (too slow, too large) may still be arriving: the
        // connection cannot carry another request.
        let close = body.is_err();
        let outcome = match body {
            Err(error) => Err(error),
            Ok(()) if let Some(unknown) = unknown_parameters(&request, &routes) => Err(unknown.into()),
            Ok(()) => {
                let call = AssertUnwindSafe(next.call(request)).catch_unwind();
                match tokio::time::timeout(limits.timeout, call).await {
                    Ok(Ok(outcome)) => outcome.map(IntoResponse::into_response),
                    Ok(Err(panic)) => Err(panicked(panic)),
                    Err(_) => Err(poem::Error::from_status(StatusCode::SERVICE_UNAVAILABLE)),
                }
            }
        };
        let mut response = match outcome {
            Ok(response) => response,
            Err(error) => {
                let content_type = content_type.as_ref().and_then(|value| value.to_str().ok());
                refine_error(error, oauth, (&method, content_type), routes.find(uri.path()))
            }
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
        if close {
            headers.insert("Connection", HeaderValue::from_static("close"));
        }
        headers.entry("Cache-Control").or_insert(HeaderValue::from_static("no-store"));
        Ok(response)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use poem::http::Uri;
    use poem::{EndpointExt, Route, handler};
    use serde_json::Value;

    use super::*;

    #[handler]
    fn boom() -> &'static str {
        panic!("boom: internal detail")
    }

    async fn call(path: &'static str) -> (Response, Value) {
        let limits = Limits { timeout: Duration::from_secs(5), body_bytes: 1024, body_timeout: Duration::from_secs(5) };
        let app = Route::new()
            .at("/v1/boom", poem::get(boom))
            .at("/env/as/token", poem::get(boom))
            .around(wrapper(limits, Arc::default()));
        let request = Request::builder().uri(Uri::from_static(path)).header(CORRELATION_ID, "trace-me").finish();
        let mut response = app.call(request).await.expect("the wrapper always answers");
        let body = response.take_body().into_string().await.expect("body");
        (response, serde_json::from_str(&body).expect("JSON error body"))
    }

    /// The two panic tests reach the same `error!` callsite; tracing computes a callsite's interest
    /// once, racing with a scoped subscriber set on another thread, so they take turns.
    static PANIC_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    /// Log output of everything logged on this thread while `log` lives.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_500_in_the_error_format_with_its_correlation_id() {
        let _turn = PANIC_TESTS.lock().await;
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        let (response, body) = call("/v1/boom").await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers().get(CORRELATION_ID).and_then(|v| v.to_str().ok()), Some("trace-me"));
        assert_eq!(body["code"], "UNEXPECTED_ERROR", "{body}");
        assert!(body["id"].as_str().and_then(|id| uuid::Uuid::parse_str(id).ok()).is_some(), "{body}");
        assert!(!body.to_string().contains("internal detail"), "the panic message is logged, not sent: {body}");
        let logged = String::from_utf8(log.0.lock().expect("log buffer").clone()).expect("UTF-8 log");
        let line = logged.lines().find(|l| l.contains("boom: internal detail")).expect("the panic is logged");
        assert!(line.contains("trace-me"), "with the correlation id: {line}");
        assert!(line.contains(body["id"].as_str().unwrap_or("?")), "under the error id: {line}");
    }

    #[tokio::test]
    async fn a_panic_on_an_oauth_endpoint_is_an_rfc_6749_server_error() {
        let _turn = PANIC_TESTS.lock().await;
        let (response, body) = call("/env/as/token").await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "server_error", "{body}");
        assert!(!body.to_string().contains("internal detail"), "{body}");
    }
}
