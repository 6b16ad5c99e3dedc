//! `POST /{envId}/as/consent`: the user's answer on the consent page, and issuing the code.

use chrono::{DateTime, Utc};

use super::login::pending_for_browser;
use super::plan::plan;
use super::{FlowContext, FlowError, PendingAuthorization, error_redirect, redirect_with};
use crate::auth::secrets::{opaque_token, token_digest};
use crate::domain::applications::Application;
use crate::domain::consents::{
    Consent, ConsentSource, ConsentStatus, FlowDecision, RequestContext, record_flow_decision,
};
use crate::domain::error::{DomainError, FieldError};
use crate::domain::grants::{Claims, Grant, NewCode};
use crate::domain::ids::{ApplicationId, ConsentId, GrantId, UserId};
use crate::store::StoreError;

/// The user's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Grant the ticked scopes.
    Approve,
    /// Grant nothing.
    Deny,
}

/// The consent form (or its JSON equivalent) as posted.
#[derive(Clone, Debug, Default)]
pub struct DecisionInput {
    /// The form's CSRF token, naming the pending authorization.
    pub csrf_token: Option<String>,
    /// Must match the pending authorization.
    pub client_id: Option<String>,
    /// Must match the pending authorization.
    pub redirect_uri: Option<String>,
    /// Scopes granted (the ticked boxes); absent means every scope asked for.
    pub scope: Option<Vec<String>>,
    /// Must match the pending authorization.
    pub state: Option<String>,
    /// Must match the pending authorization.
    pub code_challenge: Option<String>,
    /// `S256` when there is a challenge.
    pub code_challenge_method: Option<String>,
    /// `approve` or `deny`.
    pub decision: Option<String>,
    /// `true` (approve) or `false` (deny), the alternative spelling.
    pub approval: Option<bool>,
}

fn decision(input: &DecisionInput) -> Result<Decision, FieldError> {
    match (input.decision.as_deref(), input.approval) {
        (Some("approve"), None | Some(true)) | (None, Some(true)) => Ok(Decision::Approve),
        (Some("deny"), None | Some(false)) | (None, Some(false)) => Ok(Decision::Deny),
        (None, None) => Err(FieldError::required("decision")),
        (Some("approve" | "deny"), Some(_)) => {
            Err(FieldError::invalid("approval", "'approval' contradicts 'decision'."))
        }
        (Some(_), _) => Err(FieldError::invalid("decision", "'decision' must be 'approve' or 'deny'.")),
    }
}

/// Each echoed field must equal what `/authorize` received.
fn check_echo(input: &DecisionInput, pending: &PendingAuthorization) -> Result<(), DomainError> {
    let mut mismatched = Vec::new();
    if input.redirect_uri.as_deref() != Some(pending.redirect_uri.as_str()) {
        mismatched.push("redirect_uri");
    }
    if input.state.as_deref().filter(|s| !s.is_empty()) != pending.state.as_deref() {
        mismatched.push("state");
    }
    if input.code_challenge.as_deref().filter(|s| !s.is_empty()) != pending.code_challenge.as_deref() {
        mismatched.push("code_challenge");
    }
    let method = input.code_challenge_method.as_deref().filter(|s| !s.is_empty());
    if pending.code_challenge.is_some() && method != Some("S256") {
        mismatched.push("code_challenge_method");
    }
    if mismatched.is_empty() {
        return Ok(());
    }
    Err(DomainError::Invalid(
        mismatched
            .into_iter()
            .map(|field| FieldError::invalid(field, format!("'{field}' does not match the pending authorization.")))
            .collect(),
    ))
}

/// Handles the consent decision; answers the URL to send the browser to.
pub async fn decide(
    cx: &FlowContext<'_>,
    input: DecisionInput,
    session_token: Option<&str>,
    request: RequestContext,
) -> Result<String, FlowError> {
    let client_id = input.client_id.as_deref().ok_or_else(|| DomainError::field(FieldError::required("client_id")))?;
    let app_id = ApplicationId::parse(client_id).ok_or(DomainError::NotFound)?;
    let app = cx.store.get_application(cx.env, app_id).await?;
    let (pending, session) = pending_for_browser(cx, input.csrf_token.as_deref(), "csrf_token", session_token).await?;
    // The consent page is only shown to a signed-in browser; a login form's token is no consent form's.
    let (Some(user), Some(auth_time)) = (session.user_id, session.authenticated_at) else {
        return Err(DomainError::InvalidState("This browser is not signed in.".into()).into());
    };
    if pending.created_at < auth_time || pending.client_id != app.id {
        return Err(
            DomainError::InvalidState("This form does not belong to this application's consent page.".into()).into()
        );
    }
    check_echo(&input, &pending)?;
    let decision = decision(&input).map_err(DomainError::field)?;
    if let Some(granted) = &input.scope
        && let Some((index, unknown)) = granted.iter().enumerate().find(|(_, s)| !pending.scopes.contains(s))
    {
        return Err(DomainError::field(FieldError::invalid(
            format!("scope[{index}]"),
            format!("'{unknown}' was not requested."),
        ))
        .into());
    }
    let now = crate::domain::now();
    if !cx.store.complete_authorization(cx.env, pending.id, now).await? {
        return Err(DomainError::InvalidState("This consent form was already submitted.".into()).into());
    }
    let always_ask = pending.prompt.as_deref().is_some_and(|p| p.split_whitespace().any(|v| v == "consent"));
    let plan = plan(cx.store, cx.env, &app, user, &pending.scopes, always_ask).await?;
    let context = RequestContext { user_agent: request.user_agent, client_ip: request.client_ip };
    let asked: Vec<String> = plan.ask.iter().map(|c| c.name.clone()).collect();
    if decision == Decision::Deny {
        if !asked.is_empty() {
            record_flow_decision(
                cx.store,
                cx.enricher,
                FlowDecision {
                    app: &app,
                    user,
                    scopes: asked,
                    status: ConsentStatus::Declined,
                    source: ConsentSource::ConsentPage,
                    remembered: true,
                    expires_at: None,
                },
                &context,
            )
            .await?;
        }
        let description = "The user denied the request.";
        return Ok(error_redirect(
            &pending.redirect_uri,
            &cx.issuer,
            "access_denied",
            description,
            pending.state.as_deref(),
        ));
    }
    // Scopes that cannot be unticked are granted with the approval; flexible ones only when ticked.
    let granted_now: Vec<String> = plan
        .ask
        .iter()
        .filter(|c| !c.flexible || input.scope.as_ref().is_none_or(|granted| granted.contains(&c.name)))
        .map(|c| c.name.clone())
        .collect();
    let recorded: Vec<String> =
        pending.scopes.iter().filter(|s| granted_now.contains(s) || plan.implicit.contains(s)).cloned().collect();
    if !recorded.is_empty() {
        record_flow_decision(
            cx.store,
            cx.enricher,
            FlowDecision {
                app: &app,
                user,
                scopes: recorded,
                status: ConsentStatus::Accepted,
                source: ConsentSource::ConsentPage,
                remembered: true,
                expires_at: None,
            },
            &context,
        )
        .await?;
    }
    let scopes = plan.token_scopes(&pending.scopes, &granted_now);
    if scopes.is_empty() {
        let description = "The user granted none of the requested scopes.";
        return Ok(error_redirect(
            &pending.redirect_uri,
            &cx.issuer,
            "access_denied",
            description,
            pending.state.as_deref(),
        ));
    }
    issue_code(cx, &app, user, scopes, auth_time, &pending, CodeExtras::default()).await
}

/// The records that grant `scopes`: for every scope, the newest accepted record holding it; `None`
/// when some scope has no record behind it (it was revoked or expired meanwhile).
async fn backing_records(
    cx: &FlowContext<'_>,
    app: &Application,
    user: UserId,
    scopes: &[String],
    now: DateTime<Utc>,
    known: Option<Vec<Consent>>,
) -> Result<Option<Vec<ConsentId>>, StoreError> {
    let records = match known {
        Some(records) => records,
        None => cx.store.accepted_consents(cx.env, user, Some(app.id), now).await?,
    };
    let mut ids: Vec<ConsentId> = Vec::new();
    for scope in scopes {
        let Some(record) = records.iter().find(|r| r.scopes.contains(scope)) else { return Ok(None) };
        if !ids.contains(&record.id) {
            ids.push(record.id);
        }
    }
    Ok(Some(ids))
}

/// What a code may carry beyond the grant itself.
#[derive(Default)]
pub(super) struct CodeExtras {
    /// Token claims an external consent app added: (access token, ID token).
    pub claims: Option<(Option<Claims>, Option<Claims>)>,
    /// The user's accepted records for the application, when already read in this request and no
    /// record was written since; `None` reads them.
    pub accepted: Option<Vec<Consent>>,
}

/// Creates the grant behind a new authorization code and answers the redirect carrying the code.
pub(super) async fn issue_code(
    cx: &FlowContext<'_>,
    app: &Application,
    user: UserId,
    scopes: Vec<String>,
    auth_time: DateTime<Utc>,
    pending: &PendingAuthorization,
    extras: CodeExtras,
) -> Result<String, FlowError> {
    let now = crate::domain::now();
    let claims = extras.claims;
    // Every granted scope rests on a record in the ledger, or no code is issued.
    let Some(consent_ids) = backing_records(cx, app, user, &scopes, now, extras.accepted).await? else {
        return Err(FlowError::ErrorPage("The consent behind this sign-in is no longer in force.".into()));
    };
    let grant = Grant {
        id: GrantId::new(),
        client_id: app.id,
        user_id: user,
        scopes,
        auth_time,
        nonce: pending.nonce.clone(),
        created_at: now,
        revoked_at: None,
        access_claims: claims.clone().and_then(|c| c.0),
        id_claims: claims.and_then(|c| c.1),
        external_subject: None,
    };
    let code = opaque_token();
    cx.store
        .insert_grant_with_code(
            cx.env,
            &grant,
            &consent_ids,
            NewCode {
                digest: &token_digest(&code),
                redirect_uri: &pending.redirect_uri,
                code_challenge: pending.code_challenge.as_deref(),
                expires_at: crate::domain::later(now, cx.code_lifetime)?,
            },
        )
        .await?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = &pending.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &cx.issuer));
    Ok(redirect_with(&pending.redirect_uri, &pairs))
}
