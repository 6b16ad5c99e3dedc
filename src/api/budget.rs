//! The per-environment request budget, applied before any handler runs, so one tenant's flood is
//! refused cheaply and cannot take the capacity another tenant's requests need.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Request, Response};

use crate::domain::ids::EnvironmentId;
use crate::domain::tokens::OAuthError;
use crate::error::{ApiError, ErrorCode, oauth_error_response};
use crate::limits::Limiters;

/// The environment a request is addressed to: `/v1/environments/{envId}/…` or `/{envId}/…`.
pub(crate) fn environment_of(path: &str) -> Option<EnvironmentId> {
    let mut segments = path.trim_start_matches('/').split('/');
    let first = segments.next()?;
    if first == "v1" {
        return match segments.next() {
            Some("environments") => segments.next().and_then(EnvironmentId::parse),
            _ => None,
        };
    }
    EnvironmentId::parse(first)
}

/// The budget layer: a request over its environment's budget is answered `429` with `Retry-After`,
/// in the RFC 6749 format on the OAuth endpoints and in the API's format elsewhere.
pub fn environment_budget<E: Endpoint + 'static>(
    limiters: Arc<Limiters>,
) -> impl Fn(Arc<E>, Request) -> Pin<Box<dyn Future<Output = poem::Result<Response>> + Send>> + Send + Sync + 'static {
    move |next, request| {
        let limiters = limiters.clone();
        Box::pin(async move {
            if let Some(env) = environment_of(request.uri().path())
                && let Err(limited) = limiters.environment_request(env)
            {
                if super::middleware::is_oauth_path(request.uri().path()) {
                    return Ok(oauth_error_response(OAuthError::TooManyRequests(limited.retry_after)));
                }
                return Ok(ApiError::new(ErrorCode::RequestLimited)
                    .with_message("This environment has used its request budget. Try again later.")
                    .with_retry_after(limited.retry_after)
                    .into_response());
            }
            next.call(request).await.map(IntoResponse::into_response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_is_read_from_either_path_shape() {
        let env = EnvironmentId::new();
        assert_eq!(environment_of(&format!("/v1/environments/{env}/users")), Some(env));
        assert_eq!(environment_of(&format!("/v1/environments/{env}")), Some(env));
        assert_eq!(environment_of(&format!("/{env}/as/token")), Some(env));
        assert_eq!(environment_of(&format!("/{env}/admin/oauth2/auth/requests/login")), Some(env));
        assert_eq!(environment_of("/v1/environments"), None);
        assert_eq!(environment_of("/health"), None);
        assert_eq!(environment_of("/v1/environments/not-an-id/users"), None);
    }
}
