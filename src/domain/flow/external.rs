//! External login and consent applications, with Ory Hydra's challenge semantics: `/authorize`
//! sends the browser to the app with a challenge, the app answers through the admin API, and the
//! browser comes back with a verifier. Challenges are single-use, expire, and belong to one
//! environment and to the browser that started the flow. The decisions go into the same ledger.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::authorize::{Authorized, after_login};
use super::decision::{backing_records, issue_code};
use super::plan::plan;
use super::{
    FlowContext, FlowError, PendingAuthorization, PendingKind, SESSION_LIFETIME, Step, error_redirect, redirect_with,
};
use crate::auth::secrets::{opaque_token, token_digest};
use crate::domain::applications::Application;
use crate::domain::consents::{
    Consent, ConsentSource, ConsentStatus, RequestContext, record_remembered_decision, revoke_consent,
};
use crate::domain::environments::Environment;
use crate::domain::error::DomainError;
use crate::domain::grants::Claims;
use crate::domain::ids::{ApplicationId, AuthorizationId, ConsentId, EnvironmentId, SessionId, UserId};
use crate::store::{Store, StoreError, StoredChallenge};

/// An app's answer to a challenge, kept until the browser comes back with the verifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outcome {
    /// The login app authenticated the user.
    LoginAccepted {
        /// The user's id.
        user_id: String,
        /// Keep the browser signed in.
        remember: bool,
        /// For how many seconds (0: the default session lifetime).
        remember_for: i64,
    },
    /// The consent app granted scopes.
    ConsentAccepted {
        /// The scopes granted.
        grant_scope: Vec<String>,
        /// `session.access_token` claims.
        access_claims: Option<Claims>,
        /// `session.id_token` claims.
        id_claims: Option<Claims>,
    },
    /// The app refused.
    Rejected(Rejection),
}

/// A refusal, sent on to the client as an RFC 6749 error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The OAuth error code; `access_denied` when absent.
    pub error: Option<String>,
    /// For the client developer.
    pub error_description: Option<String>,
    /// More detail, appended to the description.
    pub error_hint: Option<String>,
    /// The HTTP status the app meant (recorded, not used: the browser is always redirected).
    pub status_code: Option<u16>,
}

/// Why an admin call about a challenge failed.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    /// No valid worker token.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// A token without the administrator scope.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Unknown (in this environment) or expired.
    #[error("not found: {0}")]
    NotFound(String),
    /// Already answered and used; the request can only be started again at `request_url`.
    #[error("already handled")]
    Gone {
        /// Where the browser may start again.
        request_url: String,
    },
    /// Already answered (not yet used).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The body breaks a rule.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Our fault.
    #[error("unexpected: {0}")]
    Unexpected(String),
}

impl From<StoreError> for ChallengeError {
    fn from(error: StoreError) -> Self {
        ChallengeError::Unexpected(error.to_string())
    }
}

impl From<DomainError> for ChallengeError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound => ChallengeError::NotFound("Not found.".into()),
            DomainError::Invalid(_) | DomainError::InvalidState(_) => ChallengeError::Invalid(error.to_string()),
            other => ChallengeError::Unexpected(other.to_string()),
        }
    }
}

/// A login challenge as the login app reads it.
#[derive(Clone, Debug)]
pub struct LoginRequest {
    /// The pending authorization behind it.
    pub pending: PendingAuthorization,
    /// The client.
    pub app: Application,
    /// The `/authorize` URL the flow started at.
    pub request_url: String,
    /// The browser is signed in already: accept with `subject` without asking.
    pub skip: bool,
    /// The signed-in user's id when `skip`.
    pub subject: Option<UserId>,
}

/// A consent challenge as the consent app reads it.
#[derive(Clone, Debug)]
pub struct ConsentRequest {
    /// The pending authorization behind it.
    pub pending: PendingAuthorization,
    /// The client.
    pub app: Application,
    /// The `/authorize` URL the flow started at.
    pub request_url: String,
    /// Remembered consent covers every requested scope.
    pub skip: bool,
    /// The user.
    pub subject: UserId,
}

/// The login app's acceptance.
#[derive(Clone, Debug, Default)]
pub struct AcceptLogin {
    /// The user's id (or username).
    pub subject: String,
    /// Keep the browser signed in.
    pub remember: bool,
    /// For how many seconds (0: the default).
    pub remember_for: i64,
}

/// The consent app's acceptance.
#[derive(Clone, Debug, Default)]
pub struct AcceptConsent {
    /// Scopes granted, a subset of those requested.
    pub grant_scope: Vec<String>,
    /// Let later authorizations skip consent for these scopes.
    pub remember: bool,
    /// Seconds until the consent expires (0: never).
    pub remember_for: i64,
    /// Claims for access tokens.
    pub access_claims: Option<Claims>,
    /// Claims for ID tokens.
    pub id_claims: Option<Claims>,
}

/// One remembered consent, as Hydra lists consent sessions.
#[derive(Clone, Debug)]
pub struct ConsentSession {
    /// The record.
    pub record: Consent,
    /// The application, when it still exists.
    pub app: Option<Application>,
}

fn request_url(cx: &FlowContext<'_>, pending: &PendingAuthorization) -> String {
    format!("{}/authorize?{}", cx.issuer, pending.resume_query())
}

/// Stores `pending` as a challenge of `kind` and sends the browser to the app.
async fn to_app(
    cx: &FlowContext<'_>,
    app_url: &str,
    mut pending: PendingAuthorization,
    kind: PendingKind,
    parameter: &str,
) -> Result<Step, FlowError> {
    let now = crate::domain::now();
    pending.id = AuthorizationId::new();
    pending.kind = kind;
    pending.created_at = now;
    pending.expires_at = now + cx.pending_lifetime;
    let challenge = opaque_token();
    cx.store.insert_authorization(cx.env, &pending, &token_digest(&challenge)).await?;
    Ok(Step::Redirect(redirect_with(app_url, &[(parameter, &challenge)])))
}

/// Sends the browser to the environment's login app.
pub(super) async fn to_login_app(
    cx: &FlowContext<'_>,
    login_url: &str,
    pending: PendingAuthorization,
) -> Result<Step, FlowError> {
    to_app(cx, login_url, pending, PendingKind::LoginChallenge, "login_challenge").await
}

/// Sends the browser to the environment's consent app.
pub(super) async fn to_consent_app(
    cx: &FlowContext<'_>,
    consent_url: &str,
    pending: PendingAuthorization,
) -> Result<Step, FlowError> {
    to_app(cx, consent_url, pending, PendingKind::ConsentChallenge, "consent_challenge").await
}

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
    let subject = signed_in_user(cx, &stored.pending).await?;
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
    if accept.remember_for < 0 {
        return Err(ChallengeError::Invalid("'remember_for' must not be negative.".into()));
    }
    let user = match cx.store.user_by_id_or_username(cx.env, &accept.subject).await? {
        Some(user) if user.enabled => user,
        _ => return Err(ChallengeError::Invalid("'subject' is not an enabled user of this environment.".into())),
    };
    if let Some(signed_in) = signed_in_user(cx, &stored.pending).await?
        && signed_in != user.id
    {
        return Err(ChallengeError::Invalid(
            "'subject' differs from the user this browser is signed in as (skip was true).".into(),
        ));
    }
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
    if accept.remember_for < 0 {
        return Err(ChallengeError::Invalid("'remember_for' must not be negative.".into()));
    }
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
        let expires_at =
            (accept.remember_for > 0).then(|| crate::domain::now() + Duration::seconds(accept.remember_for));
        record_remembered_decision(
            cx.store,
            cx.enricher,
            &app,
            user,
            new,
            ConsentStatus::Accepted,
            ConsentSource::ConsentApp,
            &context_of(&pending),
            accept.remember,
            expires_at,
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
        record_remembered_decision(
            cx.store,
            cx.enricher,
            &app,
            user,
            declined,
            ConsentStatus::Declined,
            ConsentSource::ConsentApp,
            &context_of(&pending),
            true,
            None,
        )
        .await?;
    }
    Ok(redirect_to)
}

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
pub(super) async fn resume_login(
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
    // Not remembered: signed in just long enough to finish this authorization.
    let lifetime = match (remember, remember_for) {
        (false, _) => cx.pending_lifetime,
        (true, 0) => SESSION_LIFETIME,
        (true, seconds) => Duration::seconds(seconds),
    };
    let token = opaque_token();
    cx.store.sign_in(cx.env, session, user, now, &token_digest(&token), now + lifetime).await?;
    let app = cx.store.get_application(cx.env, pending.client_id).await?;
    pending.kind = PendingKind::Page;
    pending.id = AuthorizationId::new();
    pending.created_at = now;
    pending.expires_at = now + cx.pending_lifetime;
    let step = after_login(cx, environment, app, pending, user, now, &request).await?;
    Ok(Authorized { new_session_token: Some(token), step })
}

/// `/authorize?consent_verifier=`: the browser is back from the consent app.
pub(super) async fn resume_consent(
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
    // Every granted scope must rest on a record in the ledger before a code is issued.
    let backing = backing_records(cx, &app, user, &grant_scope, now).await?;
    let records = cx.store.accepted_consents(cx.env, user, app.id, now).await?;
    let covered = grant_scope.iter().all(|s| records.iter().any(|r| backing.contains(&r.id) && r.scopes.contains(s)));
    if !covered {
        return Err(FlowError::ErrorPage("The consent behind this sign-in is no longer in force.".into()));
    }
    let auth_time =
        cx.store.browser_session_by_id(cx.env, session, now).await?.and_then(|s| s.authenticated_at).unwrap_or(now);
    let location =
        issue_code(cx, &app, user, grant_scope, auth_time, &pending, Some((access_claims, id_claims))).await?;
    Ok(Authorized { new_session_token: None, step: Step::Redirect(location) })
}

/// `GET …/sessions/consent?subject=`: the user's remembered, accepted, unexpired records, newest
/// first, `limit` per page after the record `before`; answers the page and the next page's cursor.
pub async fn consent_sessions(
    store: &Store,
    env: EnvironmentId,
    subject: &str,
    limit: u64,
    before: Option<ConsentId>,
) -> Result<(Vec<ConsentSession>, Option<ConsentId>), ChallengeError> {
    let Some(user) = store.user_by_id_or_username(env, subject).await? else { return Ok((vec![], None)) };
    let mut records = store.remembered_consents(env, user.id, crate::domain::now(), before, limit + 1).await?;
    let next = (records.len() as u64 > limit).then(|| {
        records.truncate(limit as usize);
        records.last().map(|r| r.id)
    });
    let ids: Vec<ApplicationId> = records.iter().map(|r| r.application_id).collect();
    let apps = store.get_applications(env, &ids).await?;
    let sessions = records
        .into_iter()
        .map(|record| ConsentSession { app: apps.iter().find(|a| a.id == record.application_id).cloned(), record })
        .collect();
    Ok((sessions, next.flatten()))
}

/// `DELETE …/sessions/consent?subject=&client=` (or `&all=true`): revokes the records (and their tokens).
pub async fn revoke_consent_sessions(
    store: &Store,
    env: EnvironmentId,
    subject: &str,
    client: Option<&str>,
    all: bool,
) -> Result<usize, ChallengeError> {
    let client = match (client.filter(|c| !c.is_empty()), all) {
        (Some(client), _) => Some(
            ApplicationId::parse(client)
                .ok_or_else(|| ChallengeError::Invalid("'client' is not a client id.".into()))?,
        ),
        (None, true) => None,
        (None, false) => return Err(ChallengeError::Invalid("Name a 'client', or pass all=true.".into())),
    };
    let Some(user) = store.user_by_id_or_username(env, subject).await? else { return Ok(0) };
    let ids = store.accepted_consent_ids(env, user.id, client).await?;
    for id in &ids {
        revoke_consent(store, env, user.id, *id).await?;
    }
    Ok(ids.len())
}

/// `DELETE …/sessions/login?subject=`: signs the user out of every browser.
pub async fn end_login_sessions(store: &Store, env: EnvironmentId, subject: &str) -> Result<u64, ChallengeError> {
    let Some(user) = store.user_by_id_or_username(env, subject).await? else { return Ok(0) };
    Ok(store.end_browser_sessions(env, user.id, crate::domain::now()).await?)
}
