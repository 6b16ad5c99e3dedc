//! Bearer-token authentication for the management API.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use crate::auth::principal::Principal;
use crate::auth::tokens::TokenError;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// An access token from `POST /{envId}/as/token`, sent as `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "verify_bearer")]
pub struct BearerToken(pub Principal);

async fn verify_bearer(request: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state =
        request.data::<AppState>().ok_or_else(|| ApiError::unexpected("application state missing from request"))?;
    // A token lives only as long as what it was issued under: its client, credentials, user, grant and consent.
    match state.tokens.authenticate(&bearer.token).await {
        Ok(principal) => Ok(principal),
        Err(TokenError::Unexpected(cause)) => Err(ApiError::unexpected(cause).into()),
        Err(refused) => Err(ApiError::new(ErrorCode::AccessFailed)
            .with_detail("INVALID_TOKEN", None, format!("The access token was refused: {refused}."))
            .into()),
    }
}

/// The token of an `Authorization: Bearer` header, for endpoints outside the management API's
/// security scheme (userinfo, the Hydra-compatible admin API).
pub fn bearer_token(request: &Request) -> Option<&str> {
    request
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}
