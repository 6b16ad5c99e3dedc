//! Ory Hydra's admin API for external login and consent apps, mounted per environment under
//! `/{envId}/admin/`: same paths, bodies and semantics, so apps written against Hydra's SDKs work
//! unchanged. Callers need a worker token of the environment.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};

use super::flow::context;
use crate::auth::tokens::TokenError;
use crate::domain::applications::{Application, GrantType, ResponseType, TokenAuthMethod};
use crate::domain::error::DomainError;
use crate::domain::flow::{self, AcceptConsent, AcceptLogin, ChallengeError, ConsentSession, PendingKind, Rejection};
use crate::domain::ids::{ConsentId, EnvironmentId};
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
    let not_found = || ChallengeError::NotFound("Unable to locate the resource.".into());
    let env = EnvironmentId::parse(env_id).ok_or_else(not_found)?;
    let token = request
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .ok_or_else(|| {
            ChallengeError::Unauthorized(
                "A worker access token of this environment is required (Authorization: Bearer).".into(),
            )
        })?;
    let principal = match state.tokens.verify(&token).await {
        Ok(principal) => principal,
        Err(TokenError::Unexpected(cause)) => return Err(ChallengeError::Unexpected(cause)),
        Err(refused) => return Err(ChallengeError::Unauthorized(format!("The access token was refused: {refused}."))),
    };
    match principal.require_admin(env) {
        Ok(()) => Ok(env),
        Err(DomainError::NotFound) => Err(not_found()),
        Err(_) => Err(ChallengeError::Forbidden("This needs a worker token (p1:admin).".into())),
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

/// `GET /{envId}/admin/oauth2/auth/requests/login?login_challenge=`
#[handler]
pub async fn get_login_request(state: Data<&AppState>, request: &Request, Path(env_id): Path<String>) -> Response {
    respond(
        async {
            let env = admit(&state, request, &env_id).await?;
            let challenge = required(&query(request), "login_challenge")?;
            let found = flow::login_request(&context(&state, env), &challenge).await?;
            let body = json!({
                "challenge": challenge,
                "client": client_json(&found.app),
                "request_url": found.request_url,
                "requested_scope": found.pending.scopes,
                "requested_access_token_audience": [],
                "skip": found.skip,
                "subject": found.subject.map(|s| s.to_string()).unwrap_or_default(),
                "session_id": found.pending.browser_session_id.to_string(),
                "oidc_context": {},
            });
            Ok(Reply::Json(body, None))
        }
        .await,
    )
}

/// The login app's acceptance (Hydra's `AcceptOAuth2LoginRequest`).
#[derive(Clone, Debug, Default, Deserialize)]
struct AcceptLoginBody {
    subject: Option<String>,
    #[serde(default)]
    remember: bool,
    #[serde(default)]
    remember_for: i64,
}

/// `PUT /{envId}/admin/oauth2/auth/requests/login/accept?login_challenge=`
#[handler]
pub async fn accept_login_request(
    state: Data<&AppState>,
    request: &Request,
    Path(env_id): Path<String>,
    raw: Body,
) -> Response {
    respond(
        async {
            let env = admit(&state, request, &env_id).await?;
            let challenge = required(&query(request), "login_challenge")?;
            let accepted: AcceptLoginBody = read_body(raw).await?;
            let subject = accepted
                .subject
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ChallengeError::Invalid("'subject' is required.".into()))?;
            let accept = AcceptLogin { subject, remember: accepted.remember, remember_for: accepted.remember_for };
            Ok(Reply::RedirectTo(flow::accept_login(&context(&state, env), &challenge, accept).await?))
        }
        .await,
    )
}

/// A rejection (Hydra's `RejectOAuth2Request`).
#[derive(Clone, Debug, Default, Deserialize)]
struct RejectBody {
    error: Option<String>,
    error_description: Option<String>,
    error_hint: Option<String>,
    status_code: Option<u16>,
}

async fn reject(
    state: &AppState,
    request: &Request,
    env_id: &str,
    raw: Body,
    kind: PendingKind,
) -> Result<Reply, ChallengeError> {
    let env = admit(state, request, env_id).await?;
    let name = if kind == PendingKind::LoginChallenge { "login_challenge" } else { "consent_challenge" };
    let challenge = required(&query(request), name)?;
    let rejected: RejectBody = read_body(raw).await?;
    let rejection = Rejection {
        error: rejected.error,
        error_description: rejected.error_description,
        error_hint: rejected.error_hint,
        status_code: rejected.status_code,
    };
    Ok(Reply::RedirectTo(flow::reject_challenge(&context(state, env), kind, &challenge, rejection).await?))
}

/// `PUT /{envId}/admin/oauth2/auth/requests/login/reject?login_challenge=`
#[handler]
pub async fn reject_login_request(
    state: Data<&AppState>,
    request: &Request,
    Path(env_id): Path<String>,
    raw: Body,
) -> Response {
    respond(reject(&state, request, &env_id, raw, PendingKind::LoginChallenge).await)
}

/// `GET /{envId}/admin/oauth2/auth/requests/consent?consent_challenge=`
#[handler]
pub async fn get_consent_request(state: Data<&AppState>, request: &Request, Path(env_id): Path<String>) -> Response {
    respond(
        async {
            let env = admit(&state, request, &env_id).await?;
            let challenge = required(&query(request), "consent_challenge")?;
            let found = flow::consent_request(&context(&state, env), &challenge).await?;
            let body = json!({
                "challenge": challenge,
                "consent_request_id": found.pending.id.to_string(),
                "client": client_json(&found.app),
                "request_url": found.request_url,
                "requested_scope": found.pending.scopes,
                "requested_access_token_audience": [],
                "skip": found.skip,
                "subject": found.subject.to_string(),
                "login_session_id": found.pending.browser_session_id.to_string(),
                "oidc_context": {},
                "context": {},
            });
            Ok(Reply::Json(body, None))
        }
        .await,
    )
}

/// `session` of an acceptance: claims for the access and ID tokens.
#[derive(Clone, Debug, Default, Deserialize)]
struct SessionBody {
    access_token: Option<serde_json::Map<String, Value>>,
    id_token: Option<serde_json::Map<String, Value>>,
}

/// The consent app's acceptance (Hydra's `AcceptOAuth2ConsentRequest`).
#[derive(Clone, Debug, Default, Deserialize)]
struct AcceptConsentBody {
    #[serde(default)]
    grant_scope: Vec<String>,
    #[serde(default)]
    remember: bool,
    #[serde(default)]
    remember_for: i64,
    #[serde(default)]
    session: Option<SessionBody>,
}

/// `PUT /{envId}/admin/oauth2/auth/requests/consent/accept?consent_challenge=`
#[handler]
pub async fn accept_consent_request(
    state: Data<&AppState>,
    request: &Request,
    Path(env_id): Path<String>,
    raw: Body,
) -> Response {
    respond(
        async {
            let env = admit(&state, request, &env_id).await?;
            let challenge = required(&query(request), "consent_challenge")?;
            let accepted: AcceptConsentBody = read_body(raw).await?;
            let session = accepted.session.unwrap_or_default();
            let accept = AcceptConsent {
                grant_scope: accepted.grant_scope,
                remember: accepted.remember,
                remember_for: accepted.remember_for,
                access_claims: session.access_token.filter(|c| !c.is_empty()),
                id_claims: session.id_token.filter(|c| !c.is_empty()),
            };
            Ok(Reply::RedirectTo(flow::accept_consent(&context(&state, env), &challenge, accept).await?))
        }
        .await,
    )
}

/// `PUT /{envId}/admin/oauth2/auth/requests/consent/reject?consent_challenge=`
#[handler]
pub async fn reject_consent_request(
    state: Data<&AppState>,
    request: &Request,
    Path(env_id): Path<String>,
    raw: Body,
) -> Response {
    respond(reject(&state, request, &env_id, raw, PendingKind::ConsentChallenge).await)
}

fn session_json(session: &ConsentSession) -> Value {
    let record = &session.record;
    let remember_for = record.expires_at.map_or(0, |at| (at - record.consented_at).num_seconds().max(0));
    let client = session.app.as_ref().map_or_else(
        || json!({"client_id": record.application_id.to_string(), "client_name": record.application_name}),
        client_json,
    );
    json!({
        "consent_request_id": record.id.to_string(),
        "consent_request": {
            "challenge": record.id.to_string(),
            "consent_request_id": record.id.to_string(),
            "client": client,
            "requested_scope": record.scopes,
            "requested_access_token_audience": [],
            "subject": record.user_id.to_string(),
            "skip": false,
        },
        "grant_scope": record.scopes,
        "grant_access_token_audience": [],
        "remember": true,
        "remember_for": remember_for,
        "handled_at": record.consented_at.to_rfc3339(),
        "session": {"access_token": {}, "id_token": {}},
    })
}

/// The `page_size` of a list: 1 to 500, Hydra's default 250.
fn page_size(pairs: &[(String, String)]) -> Result<u64, ChallengeError> {
    match param(pairs, "page_size").map(|s| s.parse::<u64>()) {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(Ok(n)) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(_) => Err(ChallengeError::Invalid(format!("'page_size' must be between 1 and {MAX_PAGE_SIZE}."))),
    }
}

/// `GET /{envId}/admin/oauth2/auth/sessions/consent?subject=` (paged with `page_size`, `page_token`
/// and a `Link` header, as Hydra does).
#[handler]
pub async fn list_consent_sessions(state: Data<&AppState>, request: &Request, Path(env_id): Path<String>) -> Response {
    respond(
        async {
            let env = admit(&state, request, &env_id).await?;
            let pairs = query(request);
            let subject = required(&pairs, "subject")?;
            let page_size = page_size(&pairs)?;
            let before = match param(&pairs, "page_token").filter(|t| !t.is_empty()) {
                None => None,
                Some(token) => Some(
                    ConsentId::parse(&token)
                        .ok_or_else(|| ChallengeError::Invalid("'page_token' is not valid.".into()))?,
                ),
            };
            let (sessions, next) = flow::consent_sessions(&state.store, env, &subject, page_size, before).await?;
            let base = state.url(&format!("/{env}/admin/oauth2/auth/sessions/consent"));
            let link = |token: Option<String>, rel: &str| {
                let mut url = url::form_urlencoded::Serializer::new(String::new());
                url.append_pair("subject", &subject).append_pair("page_size", &page_size.to_string());
                if let Some(token) = token {
                    url.append_pair("page_token", &token);
                }
                format!("<{base}?{}>; rel=\"{rel}\"", url.finish())
            };
            let mut links = vec![link(None, "first")];
            if let Some(next) = next {
                links.push(link(Some(next.to_string()), "next"));
            }
            Ok(Reply::Json(Value::Array(sessions.iter().map(session_json).collect()), Some(links.join(", "))))
        }
        .await,
    )
}

/// `DELETE /{envId}/admin/oauth2/auth/sessions/consent?subject=&client=` (or `&all=true`): revokes
/// the records in the ledger and every token issued under them.
#[handler]
pub async fn revoke_consent_sessions(
    state: Data<&AppState>,
    request: &Request,
    Path(env_id): Path<String>,
) -> Response {
    respond(
        async {
            let env = admit(&state, request, &env_id).await?;
            let pairs = query(request);
            let subject = required(&pairs, "subject")?;
            let all = param(&pairs, "all").as_deref() == Some("true");
            let client = param(&pairs, "client");
            flow::revoke_consent_sessions(&state.store, env, &subject, client.as_deref(), all).await?;
            Ok(Reply::NoContent)
        }
        .await,
    )
}

/// `DELETE /{envId}/admin/oauth2/auth/sessions/login?subject=`: signs the user out of every browser.
#[handler]
pub async fn revoke_login_sessions(state: Data<&AppState>, request: &Request, Path(env_id): Path<String>) -> Response {
    respond(
        async {
            let env = admit(&state, request, &env_id).await?;
            let subject = required(&query(request), "subject")?;
            flow::end_login_sessions(&state.store, env, &subject).await?;
            Ok(Reply::NoContent)
        }
        .await,
    )
}

/// Adds the challenge API's routes under `/{envId}/admin/oauth2/auth/`.
pub fn routes(route: poem::Route) -> poem::Route {
    use poem::{get, put};
    const BASE: &str = "/:envId/admin/oauth2/auth";
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
