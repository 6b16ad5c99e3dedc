//! Ory Hydra's admin API for external login and consent apps, mounted per environment under
//! `/{envId}/admin/`: same paths, bodies and semantics, so apps written against Hydra's SDKs work
//! unchanged. Callers need a worker token of the environment with `p1:admin`.

mod requests;
mod sessions;

pub use requests::*;
pub use sessions::*;

use poem::http::StatusCode;
use poem::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::routes::RouteTable;
use super::security::bearer_token;
use crate::auth::principal::Permission;
use crate::auth::tokens::TokenError;
use crate::domain::applications::{Application, GrantType, ResponseType, TokenAuthMethod};
use crate::domain::error::DomainError;
use crate::domain::flow::ChallengeError;
use crate::domain::ids::{ApplicationId, EnvironmentId};
use crate::error::hydra::challenge_error_response;
use crate::state::AppState;

/// Most consent sessions per page, and the default (Hydra's).
const MAX_PAGE_SIZE: u64 = 500;
const DEFAULT_PAGE_SIZE: u64 = 250;

fn query(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes()).into_owned().collect()
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// Admits a worker of the environment in the path; another environment's token finds nothing.
async fn admit(state: &AppState, request: &Request, env_id: &str) -> Result<EnvironmentId, ChallengeError> {
    admit_worker(state, request, env_id).await.map(|(env, _)| env)
}

/// Like [`admit`], also answering the worker application whose token it is.
async fn admit_worker(
    state: &AppState,
    request: &Request,
    env_id: &str,
) -> Result<(EnvironmentId, ApplicationId), ChallengeError> {
    let not_found = || ChallengeError::NotFound("Unable to locate the resource.".into());
    let env = EnvironmentId::parse(env_id).ok_or_else(not_found)?;
    let token = bearer_token(request).ok_or_else(|| {
        ChallengeError::Unauthorized(
            "A worker access token of this environment is required (Authorization: Bearer).".into(),
        )
    })?;
    let principal = match state.tokens.authenticate(token).await {
        Ok(principal) => principal,
        Err(TokenError::Unexpected(cause)) => return Err(ChallengeError::Unexpected(cause)),
        Err(refused) => return Err(ChallengeError::Unauthorized(format!("The access token was refused: {refused}."))),
    };
    match principal.require(env, Permission::Admin) {
        Ok(()) => ApplicationId::parse(&principal.client_id)
            .map(|worker| (env, worker))
            .ok_or_else(|| ChallengeError::Unexpected(format!("worker client id '{}'", principal.client_id))),
        Err(DomainError::NotFound) => Err(not_found()),
        Err(_) => {
            Err(ChallengeError::Forbidden("This needs the 'p1:admin' permission of a worker application.".into()))
        }
    }
}

/// What a successful call answers.
enum Reply {
    /// 200 with a JSON body (and a `Link` header for pages).
    Json(Value, Option<String>),
    /// 200 `{redirect_to}`.
    RedirectTo(String),
    /// 204.
    NoContent,
}

/// The one place a call's outcome becomes a response.
fn respond(result: Result<Reply, ChallengeError>) -> Response {
    let json = |body: Value| {
        Response::builder().status(StatusCode::OK).content_type("application/json").body(body.to_string())
    };
    match result {
        Ok(Reply::Json(body, link)) => {
            let mut response = json(body);
            if let Some(value) = link.and_then(|l| l.parse().ok()) {
                response.headers_mut().insert("Link", value);
            }
            response
        }
        Ok(Reply::RedirectTo(location)) => json(json!({"redirect_to": location})),
        Ok(Reply::NoContent) => Response::builder().status(StatusCode::NO_CONTENT).finish(),
        Err(error) => challenge_error_response(error),
    }
}

/// A JSON body; an empty body is the type's default.
async fn read_body<T: for<'de> Deserialize<'de> + Default>(body: Body) -> Result<T, ChallengeError> {
    let bytes =
        body.into_bytes().await.map_err(|e| ChallengeError::Invalid(format!("The body could not be read: {e}.")))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| ChallengeError::Invalid(format!("The JSON body is invalid: {e}.")))
}

/// A required query parameter.
fn required(pairs: &[(String, String)], name: &str) -> Result<String, ChallengeError> {
    param(pairs, name)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ChallengeError::Invalid(format!("The '{name}' query parameter is required.")))
}

/// Hydra's `OAuth2Client`, as far as Assent has it.
fn client_json(app: &Application) -> Value {
    let grant_types: Vec<&str> = app
        .grant_types
        .iter()
        .map(|g| match g {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        })
        .collect();
    let response_types: Vec<&str> = app.response_types.iter().map(|ResponseType::Code| "code").collect();
    let auth_method = match app.token_endpoint_auth_method {
        TokenAuthMethod::ClientSecretBasic => "client_secret_basic",
        TokenAuthMethod::ClientSecretPost => "client_secret_post",
        TokenAuthMethod::None => "none",
    };
    json!({
        "client_id": app.id.to_string(),
        "client_name": app.name,
        "redirect_uris": app.redirect_uris,
        "grant_types": grant_types,
        "response_types": response_types,
        "scope": app.scopes.join(" "),
        "token_endpoint_auth_method": auth_method,
        "created_at": app.created_at.to_rfc3339(),
        "updated_at": app.updated_at.to_rfc3339(),
    })
}

/// Where the challenge API lives.
const BASE: &str = "/:envId/admin/oauth2/auth";

/// The challenge API's routes and methods, as [`routes`] registers them, for `Allow` and 415 answers.
pub fn route_table(table: RouteTable) -> RouteTable {
    use poem::http::Method;
    const JSON: &[&str] = &["application/json"];
    table
        .with(&format!("{BASE}/requests/login"), &[Method::GET], &[])
        .with(&format!("{BASE}/requests/login/accept"), &[Method::PUT], JSON)
        .with(&format!("{BASE}/requests/login/reject"), &[Method::PUT], JSON)
        .with(&format!("{BASE}/requests/consent"), &[Method::GET], &[])
        .with(&format!("{BASE}/requests/consent/accept"), &[Method::PUT], JSON)
        .with(&format!("{BASE}/requests/consent/reject"), &[Method::PUT], JSON)
        .with(&format!("{BASE}/sessions/consent"), &[Method::GET, Method::DELETE], &[])
        .with(&format!("{BASE}/sessions/login"), &[Method::DELETE], &[])
}

/// Adds the challenge API's routes under `/{envId}/admin/oauth2/auth/`.
pub fn routes(route: poem::Route) -> poem::Route {
    use poem::{get, put};
    route
        .at(format!("{BASE}/requests/login"), get(get_login_request))
        .at(format!("{BASE}/requests/login/accept"), put(accept_login_request))
        .at(format!("{BASE}/requests/login/reject"), put(reject_login_request))
        .at(format!("{BASE}/requests/consent"), get(get_consent_request))
        .at(format!("{BASE}/requests/consent/accept"), put(accept_consent_request))
        .at(format!("{BASE}/requests/consent/reject"), put(reject_consent_request))
        .at(format!("{BASE}/sessions/consent"), get(list_consent_sessions).delete(revoke_consent_sessions))
        .at(format!("{BASE}/sessions/login"), poem::delete(revoke_login_sessions))
}
