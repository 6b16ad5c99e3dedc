//! Operations endpoints outside the API: liveness, readiness and Prometheus metrics.

use std::sync::Arc;

use poem::http::{StatusCode, header};
use poem::web::Data;
use poem::{Request, Response, handler};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorCode};
use crate::metrics::Metrics;
use crate::state::AppState;

/// The bearer token `/metrics` asks for, when configured.
#[derive(Clone)]
pub struct MetricsToken(pub Option<Arc<str>>);

/// Liveness: the process answers HTTP. It does not touch the database, so a database outage
/// does not get a healthy process restarted.
#[handler]
pub fn health() -> &'static str {
    "ok"
}

/// Readiness: the database answers and every migration this binary knows has been applied.
#[handler]
pub async fn ready(state: Data<&AppState>) -> poem::Result<Response> {
    match state.store.ready().await {
        Ok(()) => Ok(Response::builder().content_type("application/json").body(r#"{"status":"READY"}"#)),
        Err(error) => Err(ApiError::new(ErrorCode::Unavailable)
            .with_detail("NOT_READY", None, "The database is unreachable or its schema is not up to date.")
            .with_cause(error.to_string())
            .into()),
    }
}

/// Prometheus text exposition of this node's metrics.
#[handler]
pub fn metrics(
    request: &Request,
    state: Data<&AppState>,
    metrics: Data<&Arc<Metrics>>,
    token: Data<&MetricsToken>,
) -> poem::Result<Response> {
    if let Some(expected) = &token.0.0 {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Digests compared, so the time taken says nothing about how much of the token was right.
        if Sha256::digest(presented.as_bytes()) != Sha256::digest(expected.as_bytes()) {
            return Err(ApiError::new(ErrorCode::AccessFailed)
                .with_detail("INVALID_TOKEN", None, "`/metrics` needs 'Authorization: Bearer <ASSENT_METRICS_TOKEN>'.")
                .into());
        }
    }
    Ok(Response::builder()
        .status(StatusCode::OK)
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render(&state)))
}
