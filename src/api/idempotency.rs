//! `Idempotency-Key` on every POST of the management API (IETF draft
//! `draft-ietf-httpapi-idempotency-key-header`): the first request with a key does the work and
//! its successful answer is kept for a day; a retry with the same key and the same request gets
//! that answer again (`Idempotent-Replayed: true`) instead of a second record, user or
//! application. The same key with a different request is refused with 422; a retry that arrives
//! while the first is still running waits for it, up to a bound, then gets 409.
//!
//! Keys are per environment. A request counts as "the same" when the same caller (client and
//! subject of the token) sends the same method, path, `Content-Type` and body.

use crate::domain::proof::chain::hex;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::budget::environment_of;
use super::security::bearer_token;
use crate::domain::ids::EnvironmentId;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::store::{KEY_LIFETIME, KeptAnswer, KeyClaim, KeyTimes};

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Set on an answer that is a replay.
pub const REPLAYED: &str = "Idempotent-Replayed";
/// Longest key accepted.
pub const MAX_KEY_CHARS: usize = 255;
/// How long a retry waits for the first request with its key to finish.
pub const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);
/// Largest answer kept for replay; a larger one is sent but not kept (the key is let go).
pub const MAX_KEPT_BODY: usize = 1024 * 1024;
/// How often a waiting retry looks again.
const POLL: Duration = Duration::from_millis(20);

/// The idempotency layer; `abandoned_after` is how long a claim may stay unanswered before it is
/// taken to belong to a request that died with its process (longer than any request may run).
pub fn idempotency_keys<E: Endpoint + 'static>(
    abandoned_after: Duration,
) -> impl Fn(Arc<E>, Request) -> Pin<Box<dyn Future<Output = poem::Result<Response>> + Send>> + Send + Sync + 'static {
    move |next, request| Box::pin(around(next, request, abandoned_after))
}

async fn around<E: Endpoint>(next: Arc<E>, mut request: Request, abandoned_after: Duration) -> poem::Result<Response> {
    let Some(raw_key) = request.headers().get(IDEMPOTENCY_KEY) else {
        return next.call(request).await.map(IntoResponse::into_response);
    };
    if request.method() != Method::POST || !request.uri().path().starts_with("/v1/") {
        return next.call(request).await.map(IntoResponse::into_response);
    }
    let key = match raw_key.to_str().ok().filter(|k| valid_key(k)) {
        Some(key) => key.to_owned(),
        None => return Ok(invalid_key().into_response()),
    };
    let (Some(env), Some(state)) = (environment_of(request.uri().path()), request.data::<AppState>().cloned()) else {
        return next.call(request).await.map(IntoResponse::into_response);
    };
    // Only a caller the handler would admit gets a key; everyone else hears from the handler.
    let caller = match bearer_token(&request) {
        Some(token) => match state.tokens.authenticate(token).await {
            Ok(principal) if principal.environment_id == env => principal,
            _ => return next.call(request).await.map(IntoResponse::into_response),
        },
        None => return next.call(request).await.map(IntoResponse::into_response),
    };
    let body = request.take_body().into_bytes().await?;
    let fingerprint = fingerprint(&request, (&caller.client_id, &caller.subject), &body);
    request.set_body(body);
    let key_digest = hex_digest(key.as_bytes());
    let claim = Uuid::now_v7();
    let waited_until = tokio::time::Instant::now() + WAIT_FOR_FIRST;
    loop {
        let now = Utc::now();
        let times = KeyTimes {
            now,
            expired_before: now - KEY_LIFETIME,
            abandoned_before: now - chrono::Duration::from_std(abandoned_after).unwrap_or(chrono::Duration::hours(1)),
        };
        match state.store.claim_idempotency_key(env, &key_digest, &fingerprint, claim, times).await {
            Err(error) => return Ok(ApiError::from(crate::domain::error::DomainError::from(error)).into_response()),
            Ok(KeyClaim::Claimed) => return first_request(next, request, &state, env, (&key_digest, claim)).await,
            Ok(KeyClaim::Answered { fingerprint: asked, .. } | KeyClaim::Running { fingerprint: asked })
                if asked != fingerprint =>
            {
                return Ok(reused_key().into_response());
            }
            Ok(KeyClaim::Answered { answer, .. }) => return Ok(replay(answer)),
            Ok(KeyClaim::Running { .. }) if tokio::time::Instant::now() >= waited_until => {
                return Ok(still_running().into_response());
            }
            Ok(KeyClaim::Running { .. }) => tokio::time::sleep(POLL).await,
        }
    }
}

/// Runs the request that holds the key, and keeps its answer when it succeeded.
async fn first_request<E: Endpoint>(
    next: Arc<E>,
    request: Request,
    state: &AppState,
    env: EnvironmentId,
    (key_digest, claim): (&str, Uuid),
) -> poem::Result<Response> {
    let response = match next.call(request).await {
        Ok(response) => response.into_response(),
        Err(error) => {
            // Nothing was done: let the key go so a retry runs again.
            release(state, env, key_digest, claim).await;
            return Err(error);
        }
    };
    if !response.status().is_success() {
        release(state, env, key_digest, claim).await;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = body.into_bytes().await?;
    let header_text =
        |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let kept = match std::str::from_utf8(&bytes) {
        Ok(text) if bytes.len() <= MAX_KEPT_BODY => Some(KeptAnswer {
            status: parts.status.as_u16(),
            content_type: header_text(header::CONTENT_TYPE),
            location: header_text(header::LOCATION),
            etag: header_text(header::ETAG),
            body: text.to_owned(),
        }),
        _ => None,
    };
    match kept {
        Some(answer) => {
            if let Err(error) = state.store.answer_idempotency_key(env, key_digest, claim, answer, Utc::now()).await {
                // The work is done and answered; a retry will find the claim abandoned and run again.
                tracing::warn!(%error, "keeping an idempotent answer failed");
            }
        }
        None => release(state, env, key_digest, claim).await,
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

async fn release(state: &AppState, env: EnvironmentId, key_digest: &str, claim: Uuid) {
    if let Err(error) = state.store.release_idempotency_key(env, key_digest, claim).await {
        tracing::warn!(%error, "letting an idempotency key go failed");
    }
}

/// The kept answer, marked as a replay.
fn replay(answer: KeptAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = Response::builder().status(status).body(answer.body);
    let headers = response.headers_mut();
    for (name, value) in
        [(header::CONTENT_TYPE, answer.content_type), (header::LOCATION, answer.location), (header::ETAG, answer.etag)]
    {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// A key is 1 to 255 printable ASCII characters.
fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_CHARS).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
}

/// What a request asks, as a digest: the caller, method, path and query, media type and body.
fn fingerprint(request: &Request, (client, subject): (&str, &str), body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    let content_type = request.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes()).unwrap_or_default();
    for part in [
        client.as_bytes(),
        subject.as_bytes(),
        request.method().as_str().as_bytes(),
        request.uri().path().as_bytes(),
        request.uri().query().unwrap_or_default().as_bytes(),
        content_type,
        body,
    ] {
        // Length-prefixed, so no two different requests run together into the same bytes.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

fn hex_digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn invalid_key() -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest).with_detail(
        "INVALID_VALUE",
        Some(IDEMPOTENCY_KEY),
        format!("'{IDEMPOTENCY_KEY}' must be 1 to {MAX_KEY_CHARS} printable ASCII characters."),
    )
}

fn reused_key() -> ApiError {
    ApiError::new(ErrorCode::KeyReused).with_detail(
        "INVALID_VALUE",
        Some(IDEMPOTENCY_KEY),
        "This idempotency key was used for a different request; use a new key for a new request.",
    )
}

fn still_running() -> ApiError {
    ApiError::new(ErrorCode::Conflict)
        .with_detail(
            "INVALID_VALUE",
            Some(IDEMPOTENCY_KEY),
            "The first request with this idempotency key is still running; retry shortly.",
        )
        .with_retry_after(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_printable_ascii() {
        assert!(valid_key("4f2a-9c"));
        assert!(valid_key(&"k".repeat(MAX_KEY_CHARS)));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(MAX_KEY_CHARS + 1)));
        assert!(!valid_key("tab\there"));
        assert!(!valid_key("clé"));
    }

    #[test]
    fn the_fingerprint_tells_callers_paths_and_bodies_apart() {
        let request = |path: &str| Request::builder().method(Method::POST).uri(path.parse().unwrap()).finish();
        let a = fingerprint(&request("/v1/x"), ("c", "s"), b"{}");
        assert_eq!(a, fingerprint(&request("/v1/x"), ("c", "s"), b"{}"));
        assert_ne!(a, fingerprint(&request("/v1/y"), ("c", "s"), b"{}"));
        assert_ne!(a, fingerprint(&request("/v1/x"), ("c2", "s"), b"{}"));
        assert_ne!(a, fingerprint(&request("/v1/x"), ("c", "s"), b"{ }"));
        // Parts cannot slide into one another.
        assert_ne!(fingerprint(&request("/v1/x"), ("ab", "c"), b""), fingerprint(&request("/v1/x"), ("a", "bc"), b""));
    }
}
