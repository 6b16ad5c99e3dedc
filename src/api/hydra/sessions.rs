//! Consent sessions (the ledger's remembered records) and login sessions.

use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use serde_json::{Value, json};

use super::*;
use crate::domain::flow::{self, ChallengeError, ConsentSession};
use crate::domain::ids::ConsentId;
use crate::state::AppState;

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
            "subject": session.subject,
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
/// the records in the ledger (`revokedBy` `CONSENT_SESSION`, the calling worker) and every token
/// issued under them.
#[handler]
pub async fn revoke_consent_sessions(
    state: Data<&AppState>,
    request: &Request,
    Path(env_id): Path<String>,
) -> Response {
    respond(
        async {
            let (env, worker) = admit_worker(&state, request, &env_id).await?;
            let pairs = query(request);
            let subject = required(&pairs, "subject")?;
            let all = param(&pairs, "all").as_deref() == Some("true");
            let client = param(&pairs, "client");
            flow::revoke_consent_sessions(&state.store, env, worker, &subject, client.as_deref(), all).await?;
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
