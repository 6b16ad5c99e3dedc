//! The authorization-code flow that asks users for consent: `/authorize`, the hosted login and
//! consent pages, and the decision that writes a consent record and issues a code.

mod authorize;
mod decision;
mod external;
mod login;
mod plan;

pub use authorize::{AuthorizeParams, authorize};
pub use decision::{Decision, DecisionInput, decide};
pub use external::{
    AcceptConsent, AcceptLogin, ChallengeError, ConsentRequest, ConsentSession, LoginRequest, Outcome, Rejection,
    accept_consent, accept_login, consent_request, consent_sessions, end_login_sessions, login_request,
    reject_challenge, revoke_consent_sessions,
};
pub use login::{LoginInput, login};
pub use plan::ScopeChoice;

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use super::applications::Application;
use super::ids::{ApplicationId, AuthorizationId, EnvironmentId, SessionId, UserId};

/// How long a browser stays signed in.
pub const SESSION_LIFETIME: Duration = Duration::hours(8);

/// A browser known to this environment, signed in once `user_id` is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowserSession {
    /// Internal id (the cookie holds a separate random token).
    pub id: SessionId,
    /// The signed-in user.
    pub user_id: Option<UserId>,
    /// When the user signed in.
    pub authenticated_at: Option<DateTime<Utc>>,
    /// When the session was created.
    pub created_at: DateTime<Utc>,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

/// What a pending authorization waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PendingKind {
    /// A hosted page's form (its handle is the form's CSRF token).
    Page,
    /// An external login app's answer (its handle is the `login_challenge`).
    LoginChallenge,
    /// An external consent app's answer (its handle is the `consent_challenge`).
    ConsentChallenge,
}

/// A validated `/authorize` request waiting for the user (login or consent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAuthorization {
    /// Its id.
    pub id: AuthorizationId,
    /// The browser that started it; only that browser may continue it.
    pub browser_session_id: SessionId,
    /// The client.
    pub client_id: ApplicationId,
    /// The registered redirect URI the request named.
    pub redirect_uri: String,
    /// Requested scopes, deduplicated.
    pub scopes: Vec<String>,
    /// The client's `state`, returned unmodified.
    pub state: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// OpenID Connect nonce, echoed in the ID token.
    pub nonce: Option<String>,
    /// `prompt` values, space-separated.
    pub prompt: Option<String>,
    /// The browser's User-Agent, for enriching records written later.
    pub user_agent: Option<String>,
    /// The browser's address, for enriching records written later.
    pub client_ip: IpAddr,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its forms stop being accepted.
    pub expires_at: DateTime<Utc>,
    /// What it waits for.
    pub kind: PendingKind,
    /// The signed-in user, for consent challenges.
    pub user_id: Option<UserId>,
    /// The login challenge that came before a consent challenge.
    pub login_challenge: Option<String>,
}

impl PendingAuthorization {
    /// The `/authorize` query that resumes this request, minus `prompt=login` (the login just happened).
    pub fn resume_query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("response_type", "code");
        query.append_pair("client_id", &self.client_id.to_string());
        query.append_pair("redirect_uri", &self.redirect_uri);
        query.append_pair("scope", &self.scopes.join(" "));
        if let Some(state) = &self.state {
            query.append_pair("state", state);
        }
        if let Some(challenge) = &self.code_challenge {
            query.append_pair("code_challenge", challenge);
            query.append_pair("code_challenge_method", "S256");
        }
        if let Some(nonce) = &self.nonce {
            query.append_pair("nonce", nonce);
        }
        let prompt: Vec<&str> =
            self.prompt.iter().flat_map(|p| p.split_whitespace()).filter(|p| *p != "login").collect();
        if !prompt.is_empty() {
            query.append_pair("prompt", &prompt.join(" "));
        }
        query.finish()
    }
}

/// What the browser should see next.
#[derive(Clone, Debug)]
pub enum Step {
    /// The hosted login page; `handle` goes in its form.
    Login {
        /// The form's CSRF token, naming the pending authorization.
        handle: String,
        /// The client asking.
        app: Box<Application>,
        /// A message after a failed attempt.
        error: Option<String>,
        /// The username typed last time.
        username: Option<String>,
    },
    /// The hosted consent page.
    Consent {
        /// The form's CSRF token, naming the pending authorization.
        handle: String,
        /// The client asking.
        app: Box<Application>,
        /// The pending authorization, echoed into the form.
        pending: Box<PendingAuthorization>,
        /// The scopes to ask about.
        choices: Vec<ScopeChoice>,
    },
    /// Back to the client (a code or an error) or on to the next page.
    Redirect(String),
}

/// `/authorize` and the page forms fail in three ways the browser must see differently.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The client or its redirect URI cannot be trusted: show an error page, never redirect.
    #[error("{0}")]
    ErrorPage(String),
    /// Anything else in the domain's terms (400 invalid request, 404, 429, 500).
    #[error(transparent)]
    Domain(#[from] super::error::DomainError),
}

impl From<crate::store::StoreError> for FlowError {
    fn from(error: crate::store::StoreError) -> Self {
        FlowError::Domain(error.into())
    }
}

/// Appends `pairs` to a redirect URI's query (keeping a registered query), for codes and errors.
pub fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (key, value) in pairs {
                    query.append_pair(key, value);
                }
            }
            url.to_string()
        }
        // Registered URIs are validated as absolute URLs, so this cannot happen; keep the URI as it is.
        Err(_) => redirect_uri.to_owned(),
    }
}

/// The RFC 6749 §4.1.2.1 error redirect, with `state` unmodified and the issuer (RFC 9207).
pub fn error_redirect(redirect_uri: &str, issuer: &str, error: &str, description: &str, state: Option<&str>) -> String {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    redirect_with(redirect_uri, &pairs)
}

/// Everything the flow's use cases need from the server.
pub struct FlowContext<'a> {
    /// The database.
    pub store: &'a crate::store::Store,
    /// Enrichment of the records the flow writes.
    pub enricher: &'a crate::enrich::Enricher,
    /// The environment's issuer identifier.
    pub issuer: String,
    /// The environment.
    pub env: EnvironmentId,
    /// How long authorization codes live (at most a minute).
    pub code_lifetime: Duration,
    /// How long a login or consent page, or an external app's challenge, stays valid.
    pub pending_lifetime: Duration,
}
