//! CORS for the endpoints a browser application on another origin needs: a user's consent records
//! (`/v1/environments/{envId}/users/{userId}/oauthConsents…`) and the token, userinfo and
//! revocation endpoints. Only the origins the environment lists get CORS headers; every other
//! origin, and every other path, gets none, so the browser keeps the answer from the script.
//! Tokens travel in `Authorization`, never in cookies: credentials mode is not allowed.

use std::future::Future;
use std::pin::Pin;

use poem::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

use super::budget::environment_of;
use crate::domain::ids::EnvironmentId;
use crate::error::{ApiError, ErrorCode};
use crate::store::Store;

/// Request headers a cross-origin script may send.
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match";
/// Response headers a cross-origin script may read.
const EXPOSED_HEADERS: &str = "Correlation-Id, ETag, Idempotent-Replayed, Location, Retry-After, WWW-Authenticate";
/// How long a browser may keep a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The CORS-enabled endpoint a path names, with the methods it takes.
fn cors_methods(path: &str) -> Option<(EnvironmentId, &'static str)> {
    let env = environment_of(path)?;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1", "environments", _, "users", _, "oauthConsents"] => Some((env, "GET, POST")),
        ["v1", "environments", _, "users", _, "oauthConsents", "effective"] => Some((env, "GET")),
        ["v1", "environments", _, "users", _, "oauthConsents", _] => Some((env, "GET, PATCH")),
        [_, "as", "token" | "revoke"] => Some((env, "POST")),
        [_, "as", "userinfo"] => Some((env, "GET, POST")),
        _ => None,
    }
}

/// The CORS layer, outermost, so every answer (errors included) carries the headers.
pub fn cors<E: Endpoint + 'static>(
    store: Store,
) -> impl Fn(std::sync::Arc<E>, Request) -> Pin<Box<dyn Future<Output = poem::Result<Response>> + Send>>
+ Send
+ Sync
+ 'static {
    move |next, request| {
        let store = store.clone();
        Box::pin(async move {
            // The common case, a request without Origin (servers, same-origin pages), costs one lookup.
            let Some(origin) = request.headers().get(ORIGIN).cloned() else {
                return next.call(request).await.map(IntoResponse::into_response);
            };
            let Some((env, methods)) = cors_methods(request.uri().path()) else {
                return next.call(request).await.map(IntoResponse::into_response);
            };
            let allowed = allowed(&store, env, &origin).await;
            let preflight =
                request.method() == Method::OPTIONS && request.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
            if preflight {
                return Ok(preflight_answer(allowed.then_some(&origin), methods));
            }
            let mut response = next.call(request).await.map(IntoResponse::into_response)?;
            let headers = response.headers_mut();
            headers.append(VARY, HeaderValue::from_static("Origin"));
            if allowed {
                headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
            }
            Ok(response)
        })
    }
}

/// Whether `env` lists `origin`. An environment that cannot be read allows nothing.
async fn allowed(store: &Store, env: EnvironmentId, origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else { return false };
    match store.get_environment(env).await {
        Ok(environment) => environment.cors_origins.iter().any(|allowed| allowed == origin),
        Err(_) => false,
    }
}

/// A preflight's answer: `204` with the grant for a listed origin; `403` without any CORS header otherwise.
fn preflight_answer(origin: Option<&HeaderValue>, methods: &'static str) -> Response {
    let vary = HeaderValue::from_static("Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    let Some(origin) = origin else {
        let mut refused = ApiError::new(ErrorCode::Forbidden)
            .with_message("This origin is not allowed to call this environment from a browser.")
            .into_response();
        refused.headers_mut().insert(VARY, vary);
        return refused;
    };
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone())
        .header(ACCESS_CONTROL_ALLOW_METHODS, methods)
        .header(ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS)
        .header(ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE)
        .header(VARY, vary)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_records_api_and_three_oauth_endpoints_take_cors() {
        let env = EnvironmentId::new();
        let user = uuid::Uuid::new_v4();
        let consents = format!("/v1/environments/{env}/users/{user}/oauthConsents");
        assert_eq!(cors_methods(&consents), Some((env, "GET, POST")));
        assert_eq!(cors_methods(&format!("{consents}/{}", uuid::Uuid::new_v4())), Some((env, "GET, PATCH")));
        assert_eq!(cors_methods(&format!("{consents}/effective")), Some((env, "GET")));
        assert_eq!(cors_methods(&format!("/{env}/as/token")), Some((env, "POST")));
        assert_eq!(cors_methods(&format!("/{env}/as/revoke")), Some((env, "POST")));
        assert_eq!(cors_methods(&format!("/{env}/as/userinfo")), Some((env, "GET, POST")));
        for elsewhere in [
            format!("/v1/environments/{env}"),
            format!("/v1/environments/{env}/users"),
            format!("/v1/environments/{env}/oauthConsents"),
            format!("/v1/environments/{env}/applications"),
            format!("/{env}/as/introspect"),
            format!("/{env}/as/authorize"),
            format!("/{env}/admin/oauth2/auth/requests/consent"),
            "/v1/environments/not-an-id/users/x/oauthConsents".to_owned(),
        ] {
            assert_eq!(cors_methods(&elsewhere), None, "{elsewhere}");
        }
    }
}
