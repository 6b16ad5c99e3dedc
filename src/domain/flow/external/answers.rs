//! The apps' side: reading challenges and answering them through the admin API.

use super::super::plan::plan;
use super::super::{FlowContext, PendingAuthorization, PendingKind};
use super::*;
use crate::auth::secrets::{opaque_token, token_digest};
use crate::domain::consents::{ConsentSource, ConsentStatus, FlowDecision, RequestContext, record_flow_decision};
use crate::domain::error::DomainError;
use crate::domain::ids::UserId;
use crate::domain::subjects;
use crate::store::{StoreError, StoredChallenge};

/// A challenge that exists in this environment, whatever its state.
async fn find(cx: &FlowContext<'_>, kind: PendingKind, challenge: &str) -> Result<StoredChallenge, ChallengeError> {
    if challenge.is_empty() {
        return Err(ChallengeError::Invalid("The challenge is required.".into()));
    }
    let found = cx.store.challenge(cx.env, kind, &token_digest(challenge)).await?;
    let stored = found.ok_or_else(|| ChallengeError::NotFound("No such challenge in this environment.".into()))?;
    if stored.completed {
        return Err(ChallengeError::Gone { request_url: request_url(cx, &stored.pending) });
    }
    if stored.pending.expires_at <= crate::domain::now() {
        return Err(ChallengeError::NotFound("The challenge has expired.".into()));
    }
    Ok(stored)
}

/// A challenge the app may still answer.
async fn open(cx: &FlowContext<'_>, kind: PendingKind, challenge: &str) -> Result<StoredChallenge, ChallengeError> {
    let stored = find(cx, kind, challenge).await?;
    if stored.outcome.is_some() {
        return Err(ChallengeError::Conflict("The challenge was already answered.".into()));
    }
    Ok(stored)
}

/// Records the answer once and answers the URL the app sends the browser to.
async fn answer(
    cx: &FlowContext<'_>,
    pending: &PendingAuthorization,
    outcome: &Outcome,
    verifier_name: &str,
) -> Result<String, ChallengeError> {
    let verifier = opaque_token();
    if !cx.store.answer_challenge(cx.env, pending.id, outcome, &token_digest(&verifier)).await? {
        return Err(ChallengeError::Conflict("The challenge was already answered.".into()));
    }
    Ok(format!("{}&{verifier_name}={verifier}", request_url(cx, pending)))
}

/// The signed-in user of the browser behind `pending`, unless the request asks to sign in again.
async fn signed_in_user(cx: &FlowContext<'_>, pending: &PendingAuthorization) -> Result<Option<UserId>, StoreError> {
    if pending.prompt.as_deref().is_some_and(|p| p.split_whitespace().any(|v| v == "login")) {
        return Ok(None);
    }
    let session = cx.store.browser_session_by_id(cx.env, pending.browser_session_id, crate::domain::now()).await?;
    Ok(session.and_then(|s| s.authenticated_at.and(s.user_id)))
}

/// `GET …/requests/login?login_challenge=`.
pub async fn login_request(cx: &FlowContext<'_>, challenge: &str) -> Result<LoginRequest, ChallengeError> {
    let stored = find(cx, PendingKind::LoginChallenge, challenge).await?;
    let app = cx.store.get_application(cx.env, stored.pending.client_id).await.map_err(DomainError::from)?;
    let subject = match signed_in_user(cx, &stored.pending).await? {
        Some(id) => match cx.store.get_user(cx.env, id).await {
            Ok(user) => Some(user.subject()),
            Err(StoreError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    Ok(LoginRequest {
        request_url: request_url(cx, &stored.pending),
        pending: stored.pending,
        app,
        skip: subject.is_some(),
        subject,
    })
}

/// `PUT …/requests/login/accept`.
pub async fn accept_login(
    cx: &FlowContext<'_>,
    challenge: &str,
    accept: AcceptLogin,
) -> Result<String, ChallengeError> {
    let stored = open(cx, PendingKind::LoginChallenge, challenge).await?;
    remember_for(accept.remember_for)?;
    subjects::check("subject", &accept.subject).map_err(DomainError::field)?;
    // Checked before a new subject can become a user: a refused answer creates nobody.
    if let Some(signed_in) = signed_in_user(cx, &stored.pending).await?
        && subjects::named_by(cx.store, cx.env, &accept.subject).await?.map(|u| u.id) != Some(signed_in)
    {
        return Err(ChallengeError::Invalid(
            "'subject' differs from the user this browser is signed in as (skip was true).".into(),
        ));
    }
    let user = subjects::sign_in_as(cx.store, cx.env, &accept.subject).await?;
    let outcome = Outcome::LoginAccepted {
        user_id: user.id.to_string(),
        remember: accept.remember,
        remember_for: accept.remember_for,
    };
    answer(cx, &stored.pending, &outcome, "login_verifier").await
}

/// `GET …/requests/consent?consent_challenge=`.
pub async fn consent_request(cx: &FlowContext<'_>, challenge: &str) -> Result<ConsentRequest, ChallengeError> {
    let stored = find(cx, PendingKind::ConsentChallenge, challenge).await?;
    let pending = stored.pending;
    let app = cx.store.get_application(cx.env, pending.client_id).await.map_err(DomainError::from)?;
    let subject =
        pending.user_id.ok_or_else(|| ChallengeError::Unexpected("consent challenge without a user".into()))?;
    let always_ask = pending.prompt.as_deref().is_some_and(|p| p.split_whitespace().any(|v| v == "consent"));
    let plan = plan(cx.store, cx.env, &app, subject, &pending.scopes, always_ask).await?;
    let subject = cx.store.get_user(cx.env, subject).await.map_err(DomainError::from)?.subject();
    Ok(ConsentRequest { request_url: request_url(cx, &pending), pending, app, skip: plan.ask.is_empty(), subject })
}

fn context_of(pending: &PendingAuthorization) -> RequestContext {
    // The consent app's own browser context is unknown: the record describes the end user's browser
    // as it was at /authorize.
    RequestContext { user_agent: pending.user_agent.clone(), client_ip: pending.client_ip }
}

/// `PUT …/requests/consent/accept`: answers the challenge, then records what was newly granted.
pub async fn accept_consent(
    cx: &FlowContext<'_>,
    challenge: &str,
    accept: AcceptConsent,
) -> Result<String, ChallengeError> {
    let stored = open(cx, PendingKind::ConsentChallenge, challenge).await?;
    let pending = stored.pending;
    if let Some(extra) = accept.grant_scope.iter().find(|s| !pending.scopes.contains(s)) {
        return Err(ChallengeError::Invalid(format!("'grant_scope' names '{extra}', which was not requested.")));
    }
    // Everything that can refuse the answer is checked before the challenge is marked answered.
    let kept_for = remember_for(accept.remember_for)?;
    let expires_at =
        if kept_for.is_zero() { None } else { Some(crate::domain::later(crate::domain::now(), kept_for)?) };
    let user = pending.user_id.ok_or_else(|| ChallengeError::Unexpected("consent challenge without a user".into()))?;
    let app = cx.store.get_application(cx.env, pending.client_id).await.map_err(DomainError::from)?;
    let plan = plan(cx.store, cx.env, &app, user, &pending.scopes, false).await?;
    let mut grant_scope: Vec<String> = Vec::new();
    for scope in accept.grant_scope {
        if !grant_scope.contains(&scope) {
            grant_scope.push(scope);
        }
    }
    let outcome = Outcome::ConsentAccepted {
        grant_scope: grant_scope.clone(),
        access_claims: accept.access_claims,
        id_claims: accept.id_claims,
    };
    let redirect_to = answer(cx, &pending, &outcome, "consent_verifier").await?;
    let new: Vec<String> = grant_scope.into_iter().filter(|s| !plan.covered.contains(s)).collect();
    if !new.is_empty() {
        record_flow_decision(
            cx.store,
            cx.enricher,
            FlowDecision {
                app: &app,
                user,
                scopes: new,
                status: ConsentStatus::Accepted,
                source: ConsentSource::ConsentApp,
                remembered: accept.remember,
                expires_at,
            },
            &context_of(&pending),
        )
        .await?;
    }
    Ok(redirect_to)
}

/// `PUT …/requests/{login,consent}/reject`. A rejected consent is recorded as `DECLINED`.
pub async fn reject_challenge(
    cx: &FlowContext<'_>,
    kind: PendingKind,
    challenge: &str,
    rejection: Rejection,
) -> Result<String, ChallengeError> {
    let stored = open(cx, kind, challenge).await?;
    let pending = stored.pending;
    let verifier_name = if kind == PendingKind::ConsentChallenge { "consent_verifier" } else { "login_verifier" };
    let redirect_to = answer(cx, &pending, &Outcome::Rejected(rejection), verifier_name).await?;
    if kind == PendingKind::ConsentChallenge
        && let Some(user) = pending.user_id
    {
        let app = cx.store.get_application(cx.env, pending.client_id).await.map_err(DomainError::from)?;
        let plan = plan(cx.store, cx.env, &app, user, &pending.scopes, true).await?;
        let declined: Vec<String> = plan.ask.into_iter().map(|c| c.name).collect();
        let declined = if declined.is_empty() { pending.scopes.clone() } else { declined };
        record_flow_decision(
            cx.store,
            cx.enricher,
            FlowDecision {
                app: &app,
                user,
                scopes: declined,
                status: ConsentStatus::Declined,
                source: ConsentSource::ConsentApp,
                remembered: true,
                expires_at: None,
            },
            &context_of(&pending),
        )
        .await?;
    }
    Ok(redirect_to)
}
