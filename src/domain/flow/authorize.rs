//! `GET /{envId}/as/authorize` (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use chrono::{DateTime, Utc};

use super::decision::{CodeExtras, issue_code};
use super::external;
use super::plan::plan;
use super::{
    BrowserSession, FlowContext, FlowError, PendingAuthorization, PendingKind, SESSION_LIFETIME, Step, error_redirect,
};
use crate::auth::principal::Permission;
use crate::auth::secrets::{opaque_token, token_digest};
use crate::domain::applications::{Application, GrantType, PkceEnforcement, ResponseType};
use crate::domain::consents::{ConsentSource, ConsentStatus, FlowDecision, RequestContext, record_flow_decision};
use crate::domain::environments::Environment;
use crate::domain::ids::{ApplicationId, AuthorizationId, SessionId, UserId};
use crate::store::StoreError;

/// Longest `state` or `nonce` accepted; they travel in URLs and are stored with the request.
const MAX_ECHO_CHARS: usize = 1024;

/// The query parameters of `/authorize`, as sent.
#[derive(Clone, Debug, Default)]
pub struct AuthorizeParams {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The application id.
    pub client_id: Option<String>,
    /// One of the application's registered redirect URIs, exactly.
    pub redirect_uri: Option<String>,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// Opaque client value, returned unmodified.
    pub state: Option<String>,
    /// PKCE challenge (RFC 7636).
    pub code_challenge: Option<String>,
    /// Must be `S256` when a challenge is sent.
    pub code_challenge_method: Option<String>,
    /// `login`, `consent` or `none`.
    pub prompt: Option<String>,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// The browser is back from an external login app (Hydra's `login_verifier`).
    pub login_verifier: Option<String>,
    /// The browser is back from an external consent app (Hydra's `consent_verifier`).
    pub consent_verifier: Option<String>,
}

/// The outcome of `/authorize`: the next step, and a new session cookie when one was started.
#[derive(Clone, Debug)]
pub struct Authorized {
    /// Set this as the browser's session cookie.
    pub new_session_token: Option<String>,
    /// What the browser sees next.
    pub step: Step,
}

/// A request error that is reported to the client through its redirect URI.
struct Refusal {
    error: &'static str,
    description: String,
}

fn refuse(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal { error, description: description.into() }
}

struct Valid {
    scopes: Vec<String>,
    code_challenge: Option<String>,
    prompt: Vec<String>,
    nonce: Option<String>,
}

/// Finds the client and checks the redirect URI; failures here never redirect (RFC 6749 §4.1.2.1).
async fn client(cx: &FlowContext<'_>, params: &AuthorizeParams) -> Result<Application, FlowError> {
    let client_id = params.client_id.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| {
        FlowError::ErrorPage("The request has no client_id, so it cannot be sent back to the application.".into())
    })?;
    let unknown = || FlowError::ErrorPage("No application with this client_id exists in this environment.".into());
    let id = ApplicationId::parse(client_id).ok_or_else(unknown)?;
    let app = match cx.store.get_application(cx.env, id).await {
        Ok(app) => app,
        Err(StoreError::NotFound) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    };
    let redirect_uri = params
        .redirect_uri
        .as_deref()
        .ok_or_else(|| FlowError::ErrorPage("The request has no redirect_uri.".into()))?;
    if !app.redirect_uris.iter().any(|registered| registered == redirect_uri) {
        return Err(FlowError::ErrorPage(
            "The redirect_uri is not one registered for this application, so the request was stopped here.".into(),
        ));
    }
    Ok(app)
}

/// A PKCE S256 challenge is the base64url form of a SHA-256: 43 characters (RFC 7636 §4.2).
fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|bytes| bytes.len() == 32)
}

fn validate(app: &Application, params: &AuthorizeParams) -> Result<Valid, Refusal> {
    if !app.enabled {
        return Err(refuse("unauthorized_client", "This application is disabled."));
    }
    match params.response_type.as_deref() {
        None | Some("") => return Err(refuse("invalid_request", "'response_type' is required.")),
        Some("code") => {}
        Some(other) => {
            return Err(refuse("unsupported_response_type", format!("response_type '{other}' is not supported.")));
        }
    }
    if !app.grant_types.contains(&GrantType::AuthorizationCode) || !app.response_types.contains(&ResponseType::Code) {
        return Err(refuse("unauthorized_client", "This application may not use the authorization code flow."));
    }
    if params.state.as_ref().is_some_and(|s| s.chars().count() > MAX_ECHO_CHARS)
        || params.nonce.as_ref().is_some_and(|s| s.chars().count() > MAX_ECHO_CHARS)
    {
        return Err(refuse(
            "invalid_request",
            format!("'state' and 'nonce' are limited to {MAX_ECHO_CHARS} characters."),
        ));
    }
    let mut scopes: Vec<String> = Vec::new();
    for scope in params.scope.as_deref().unwrap_or_default().split_whitespace() {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(refuse("invalid_scope", "'scope' is required."));
    }
    if scopes.len() > crate::domain::consents::MAX_SCOPES {
        return Err(refuse("invalid_scope", "Too many scopes."));
    }
    if let Some(denied) = scopes.iter().find(|s| !app.scopes.contains(s)) {
        return Err(refuse("invalid_scope", format!("Scope '{denied}' is not granted to this application.")));
    }
    // A worker's own permissions are granted by client_credentials alone; no user can pass them on.
    if let Some(denied) = scopes.iter().find(|s| Permission::of_scope(s).is_some_and(|p| !p.is_self_service())) {
        return Err(refuse(
            "invalid_scope",
            format!("'{denied}' is a worker permission, granted by client_credentials only."),
        ));
    }
    let code_challenge = match (params.code_challenge.as_deref(), params.code_challenge_method.as_deref()) {
        (None, Some(_)) => return Err(refuse("invalid_request", "'code_challenge_method' without 'code_challenge'.")),
        (None, None) if app.is_public() => {
            return Err(refuse("invalid_request", "Public clients must use PKCE: send an S256 'code_challenge'."));
        }
        (None, None) if app.pkce_enforcement == PkceEnforcement::S256Required => {
            return Err(refuse("invalid_request", "This application requires PKCE: send an S256 'code_challenge'."));
        }
        (None, None) => None,
        (Some(_), None | Some("plain")) => {
            return Err(refuse(
                "invalid_request",
                "The 'plain' PKCE method is not supported; use code_challenge_method=S256.",
            ));
        }
        (Some(challenge), Some("S256")) => {
            if !valid_challenge(challenge) {
                return Err(refuse("invalid_request", "'code_challenge' must be 43 base64url characters (S256)."));
            }
            Some(challenge.to_owned())
        }
        (Some(_), Some(other)) => {
            return Err(refuse("invalid_request", format!("code_challenge_method '{other}' is not supported.")));
        }
    };
    let prompt: Vec<String> =
        params.prompt.as_deref().unwrap_or_default().split_whitespace().map(str::to_owned).collect();
    if let Some(unknown) = prompt.iter().find(|p| !matches!(p.as_str(), "login" | "consent" | "none")) {
        return Err(refuse("invalid_request", format!("prompt '{unknown}' is not supported.")));
    }
    if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
        return Err(refuse("invalid_request", "prompt=none cannot be combined with other values."));
    }
    Ok(Valid { scopes, code_challenge, prompt, nonce: params.nonce.clone().filter(|n| !n.is_empty()) })
}

/// The browser's session, or a new anonymous one (with the token to set as its cookie).
pub(super) async fn session(
    cx: &FlowContext<'_>,
    token: Option<&str>,
) -> Result<(BrowserSession, Option<String>), FlowError> {
    let now = crate::domain::now();
    if let Some(token) = token
        && let Some(session) = cx.store.browser_session(cx.env, &token_digest(token), now).await?
    {
        return Ok((session, None));
    }
    let session = BrowserSession {
        id: SessionId::new(),
        user_id: None,
        authenticated_at: None,
        created_at: now,
        expires_at: crate::domain::later(now, SESSION_LIFETIME)?,
    };
    let token = opaque_token();
    cx.store.insert_browser_session(cx.env, &session, &token_digest(&token)).await?;
    Ok((session, Some(token)))
}

/// Handles `/authorize`: validates, then shows the login page, the consent page, or redirects with a code.
pub async fn authorize(
    cx: &FlowContext<'_>,
    params: AuthorizeParams,
    session_token: Option<&str>,
    request: RequestContext,
) -> Result<Authorized, FlowError> {
    let environment = cx.store.get_environment(cx.env).await?;
    if let Some(verifier) = params.login_verifier.as_deref() {
        return external::resume_login(cx, &environment, verifier, session_token, request).await;
    }
    if let Some(verifier) = params.consent_verifier.as_deref() {
        return external::resume_consent(cx, verifier, session_token).await;
    }
    let app = client(cx, &params).await?;
    let redirect_uri = params.redirect_uri.clone().unwrap_or_default();
    let state = params.state.clone();
    let back = |refusal: Refusal| {
        error_redirect(&redirect_uri, &cx.issuer, refusal.error, &refusal.description, state.as_deref())
    };
    let valid = match validate(&app, &params) {
        Ok(valid) => valid,
        Err(refusal) => return Ok(Authorized { new_session_token: None, step: Step::Redirect(back(refusal)) }),
    };
    let (session, new_session_token) = session(cx, session_token).await?;
    let now = crate::domain::now();
    let pending = PendingAuthorization {
        id: AuthorizationId::new(),
        browser_session_id: session.id,
        client_id: app.id,
        redirect_uri: redirect_uri.clone(),
        scopes: valid.scopes.clone(),
        state: state.clone(),
        code_challenge: valid.code_challenge.clone(),
        nonce: valid.nonce.clone(),
        prompt: (!valid.prompt.is_empty()).then(|| valid.prompt.join(" ")),
        user_agent: request.user_agent.clone(),
        client_ip: request.client_ip,
        created_at: now,
        expires_at: crate::domain::later(now, cx.pending_lifetime)?,
        kind: PendingKind::Page,
        user_id: None,
        login_challenge: None,
    };
    let prompt = |value: &str| valid.prompt.iter().any(|p| p == value);
    let signed_in = match (session.user_id, session.authenticated_at) {
        (Some(user), Some(at)) if !prompt("login") => match cx.store.get_user(cx.env, user).await {
            Ok(user) if user.enabled => Some((user, at)),
            Ok(_) | Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        _ => None,
    };
    if signed_in.is_none() && prompt("none") {
        let refusal = refuse("login_required", "The user is not signed in and prompt=none forbids a login page.");
        return Ok(Authorized { new_session_token, step: Step::Redirect(back(refusal)) });
    }
    if let Some(login_url) = &environment.login_url {
        let step = external::to_login_app(cx, login_url, pending).await?;
        return Ok(Authorized { new_session_token, step });
    }
    let Some((user, auth_time)) = signed_in else {
        let handle = opaque_token();
        cx.store.insert_authorization(cx.env, &pending, &token_digest(&handle)).await?;
        let step = Step::Login { handle, app: Box::new(app), error: None, username: None };
        return Ok(Authorized { new_session_token, step });
    };
    let step = after_login(cx, &environment, app, pending, user.id, auth_time, &request).await?;
    Ok(Authorized { new_session_token, step })
}

/// The signed-in part of `/authorize`: an external consent app, the consent page, or a code at once.
pub(super) async fn after_login(
    cx: &FlowContext<'_>,
    environment: &Environment,
    app: Application,
    mut pending: PendingAuthorization,
    user: UserId,
    auth_time: DateTime<Utc>,
    request: &RequestContext,
) -> Result<Step, FlowError> {
    let prompt = |value: &str| pending.prompt.as_deref().is_some_and(|p| p.split_whitespace().any(|v| v == value));
    let plan = plan(cx.store, cx.env, &app, user, &pending.scopes, prompt("consent")).await?;
    if !plan.ask.is_empty() && prompt("none") {
        let description = "The user has not consented and prompt=none forbids a consent page.";
        let location = error_redirect(
            &pending.redirect_uri,
            &cx.issuer,
            "consent_required",
            description,
            pending.state.as_deref(),
        );
        return Ok(Step::Redirect(location));
    }
    if let Some(consent_url) = &environment.consent_url {
        pending.user_id = Some(user);
        return external::to_consent_app(cx, consent_url, pending).await;
    }
    if !plan.ask.is_empty() {
        let handle = opaque_token();
        cx.store.insert_authorization(cx.env, &pending, &token_digest(&handle)).await?;
        return Ok(Step::Consent { handle, app: Box::new(app), pending: Box::new(pending), choices: plan.ask });
    }
    // Nothing to ask: what is not on record yet is granted implicitly, and recorded as such.
    let wrote_record = !plan.implicit.is_empty();
    if wrote_record {
        record_flow_decision(
            cx.store,
            cx.enricher,
            FlowDecision {
                app: &app,
                user,
                scopes: plan.implicit.clone(),
                status: ConsentStatus::Accepted,
                source: ConsentSource::Implicit,
                remembered: true,
                expires_at: None,
            },
            request,
        )
        .await?;
    }
    let scopes = plan.token_scopes(&pending.scopes, &[]);
    let extras = CodeExtras { accepted: (!wrote_record).then_some(plan.accepted), ..CodeExtras::default() };
    let location = issue_code(cx, &app, user, scopes, auth_time, &pending, extras).await?;
    Ok(Step::Redirect(location))
}
