//! External login and consent applications, with Ory Hydra's challenge semantics: `/authorize`
//! sends the browser to the app with a challenge, the app answers through the admin API, and the
//! browser comes back with a verifier. Challenges are single-use, expire, and belong to one
//! environment and to the browser that started the flow. The decisions go into the same ledger.

mod answers;
mod resume;
mod sessions;

pub use answers::{accept_consent, accept_login, consent_request, login_request, reject_challenge};
pub(crate) use resume::{resume_consent, resume_login};
pub use sessions::{consent_sessions, end_login_sessions, revoke_consent_sessions};

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::{FlowContext, FlowError, PendingAuthorization, PendingKind, Step, redirect_with};
use crate::auth::secrets::{opaque_token, token_digest};
use crate::domain::applications::Application;
use crate::domain::consents::Consent;
use crate::domain::error::DomainError;
use crate::domain::grants::Claims;
use crate::domain::ids::AuthorizationId;
use crate::store::StoreError;

/// Longest `remember_for` an app may send: one year. Hydra sets no bound, but an unbounded one
/// overflowed the date arithmetic of the session or record it sets.
pub const MAX_REMEMBER_FOR_SECS: i64 = 365 * 24 * 60 * 60;

/// `remember_for` as a duration: 0 to [`MAX_REMEMBER_FOR_SECS`] seconds, else an invalid request.
fn remember_for(seconds: i64) -> Result<Duration, ChallengeError> {
    (0..=MAX_REMEMBER_FOR_SECS).contains(&seconds).then(|| Duration::try_seconds(seconds)).flatten().ok_or_else(|| {
        ChallengeError::Invalid(format!(
            "'remember_for' must be between 0 and {MAX_REMEMBER_FOR_SECS} seconds (one year)."
        ))
    })
}

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
            DomainError::Invalid(fields) => {
                ChallengeError::Invalid(fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join(" "))
            }
            DomainError::InvalidState(message) => ChallengeError::Invalid(message),
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
    /// The signed-in user's subject when `skip` (see [`crate::domain::users::User::subject`]).
    pub subject: Option<String>,
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
    /// The user's subject (see [`crate::domain::users::User::subject`]).
    pub subject: String,
}

/// The login app's acceptance.
#[derive(Clone, Debug, Default)]
pub struct AcceptLogin {
    /// The user's id, its subject, or its username; a new subject becomes an external user.
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
    /// The user's subject.
    pub subject: String,
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
    pending.expires_at = crate::domain::later(now, cx.pending_lifetime)?;
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
