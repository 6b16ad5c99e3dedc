//! Login and consent requests: read, accept, reject.

use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::flow::context;
use super::*;
use crate::domain::flow::{self, AcceptConsent, AcceptLogin, ChallengeError, PendingKind, Rejection};
use crate::state::AppState;

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
                "subject": found.subject.unwrap_or_default(),
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
                "subject": found.subject,
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
