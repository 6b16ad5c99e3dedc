//! The browser's side: coming back to `/authorize` with a verifier.

use chrono::Duration;

use super::super::authorize::{Authorized, after_login};
use super::super::decision::{CodeExtras, issue_code};
use super::super::{FlowContext, FlowError, PendingAuthorization, PendingKind, SESSION_LIFETIME, Step, error_redirect};
use super::*;
use crate::auth::secrets::{opaque_token, token_digest};
use crate::domain::consents::RequestContext;
use crate::domain::environments::Environment;
use crate::domain::error::DomainError;
use crate::domain::ids::{AuthorizationId, SessionId, UserId};

/// The answered challenge of `kind` a verifier names, if this browser started it; marks it used.
async fn take_answer(
    cx: &FlowContext<'_>,
    kind: PendingKind,
    verifier: &str,
    session_token: Option<&str>,
) -> Result<(PendingAuthorization, Outcome, SessionId), FlowError> {
    let now = crate::domain::now();
    let (pending, outcome) =
        cx.store.answered_challenge(cx.env, kind, &token_digest(verifier), now).await?.ok_or_else(|| {
            FlowError::ErrorPage("This sign-in step is unknown, was already used, or has expired.".into())
        })?;
    let session = match session_token {
        Some(token) => cx.store.browser_session(cx.env, &token_digest(token), now).await?,
        None => None,
    };
    let Some(session) = session.filter(|s| s.id == pending.browser_session_id) else {
        return Err(FlowError::ErrorPage("This sign-in was started in another browser.".into()));
    };
    if !cx.store.complete_authorization(cx.env, pending.id, now).await? {
        return Err(FlowError::ErrorPage("This sign-in step was already used.".into()));
    }
    Ok((pending, outcome, session.id))
}

fn rejected(cx: &FlowContext<'_>, pending: &PendingAuthorization, rejection: &Rejection) -> Step {
    let error = rejection.error.as_deref().filter(|e| !e.is_empty()).unwrap_or("access_denied");
    let mut description = rejection.error_description.clone().unwrap_or_else(|| "The request was rejected.".into());
    if let Some(hint) = &rejection.error_hint {
        description = format!("{description} {hint}");
    }
    Step::Redirect(error_redirect(&pending.redirect_uri, &cx.issuer, error, &description, pending.state.as_deref()))
}

/// `/authorize?login_verifier=`: the browser is back from the login app.
pub(crate) async fn resume_login(
    cx: &FlowContext<'_>,
    environment: &Environment,
    verifier: &str,
    session_token: Option<&str>,
    request: RequestContext,
) -> Result<Authorized, FlowError> {
    let (mut pending, outcome, session) = take_answer(cx, PendingKind::LoginChallenge, verifier, session_token).await?;
    let (user_id, remember, remember_for) = match outcome {
        Outcome::LoginAccepted { user_id, remember, remember_for } => (user_id, remember, remember_for),
        Outcome::Rejected(rejection) => {
            return Ok(Authorized { new_session_token: None, step: rejected(cx, &pending, &rejection) });
        }
        Outcome::ConsentAccepted { .. } => {
            return Err(FlowError::Domain(DomainError::Unexpected("a login challenge holds a consent answer".into())));
        }
    };
    let user = UserId::parse(&user_id).ok_or_else(|| DomainError::Unexpected("stored login subject".into()))?;
    let now = crate::domain::now();
    // Not remembered: signed in just long enough to finish this authorization. Answers stored before
    // remember_for was bounded can hold more than a year: they get a year.
    let lifetime = match (remember, remember_for) {
        (false, _) => cx.pending_lifetime,
        (true, 0) => SESSION_LIFETIME,
        (true, seconds) => Duration::try_seconds(seconds.min(MAX_REMEMBER_FOR_SECS)).unwrap_or(SESSION_LIFETIME),
    };
    let token = opaque_token();
    let until = crate::domain::later(now, lifetime)?;
    cx.store.sign_in(cx.env, session, user, now, &token_digest(&token), until).await?;
    let app = cx.store.get_application(cx.env, pending.client_id).await?;
    pending.kind = PendingKind::Page;
    pending.id = AuthorizationId::new();
    pending.created_at = now;
    pending.expires_at = crate::domain::later(now, cx.pending_lifetime)?;
    let step = after_login(cx, environment, app, pending, user, now, &request).await?;
    Ok(Authorized { new_session_token: Some(token), step })
}

/// `/authorize?consent_verifier=`: the browser is back from the consent app.
pub(crate) async fn resume_consent(
    cx: &FlowContext<'_>,
    verifier: &str,
    session_token: Option<&str>,
) -> Result<Authorized, FlowError> {
    let (pending, outcome, session) = take_answer(cx, PendingKind::ConsentChallenge, verifier, session_token).await?;
    let (grant_scope, access_claims, id_claims) = match outcome {
        Outcome::ConsentAccepted { grant_scope, access_claims, id_claims } => (grant_scope, access_claims, id_claims),
        Outcome::Rejected(rejection) => {
            return Ok(Authorized { new_session_token: None, step: rejected(cx, &pending, &rejection) });
        }
        Outcome::LoginAccepted { .. } => {
            return Err(FlowError::Domain(DomainError::Unexpected("a consent challenge holds a login answer".into())));
        }
    };
    let user = pending.user_id.ok_or_else(|| DomainError::Unexpected("consent challenge without a user".into()))?;
    if grant_scope.is_empty() {
        let step = rejected(
            cx,
            &pending,
            &Rejection { error_description: Some("No scope was granted.".into()), ..Rejection::default() },
        );
        return Ok(Authorized { new_session_token: None, step });
    }
    let app = cx.store.get_application(cx.env, pending.client_id).await?;
    let now = crate::domain::now();
    let auth_time =
        cx.store.browser_session_by_id(cx.env, session, now).await?.and_then(|s| s.authenticated_at).unwrap_or(now);
    let location = issue_code(
        cx,
        &app,
        user,
        grant_scope,
        auth_time,
        &pending,
        CodeExtras { claims: Some((access_claims, id_claims)), accepted: None },
    )
    .await?;
    Ok(Authorized { new_session_token: None, step: Step::Redirect(location) })
}
