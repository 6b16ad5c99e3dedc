//! The hosted login form: username and password of the environment's users, with failed attempts limited.

use chrono::Duration;
use tokio::sync::OnceCell;

use super::{FlowContext, FlowError, PendingAuthorization, SESSION_LIFETIME, Step};
use crate::auth::password;
use crate::auth::secrets::{opaque_token, token_digest};
use crate::domain::error::{DomainError, FieldError};
use crate::store::Admission;

/// Attempts evaluated before the name is locked for a while; the last of them already runs under
/// the lock it earns, so no more than this many are ever evaluated between locks.
const FREE_FAILURES: i32 = 5;
/// The first lock; each further attempt doubles it.
const FIRST_LOCK_SECS: i64 = 30;
/// The longest lock.
const MAX_LOCK_SECS: i64 = 900;

/// The login form as posted.
#[derive(Clone, Debug, Default)]
pub struct LoginInput {
    /// The CSRF token of the form, naming the pending authorization.
    pub handle: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
}

/// After a login attempt: what the browser sees, and the new session cookie after a success.
#[derive(Clone, Debug)]
pub struct LoggedIn {
    /// The login page again (with an error), or a redirect back into `/authorize`.
    pub step: Step,
    /// The rotated session token; set it as the cookie.
    pub new_session_token: Option<String>,
}

/// A hash to verify against when the username is unknown, so both cases take the same time.
async fn decoy_hash() -> Result<String, DomainError> {
    static DECOY: OnceCell<String> = OnceCell::const_new();
    DECOY.get_or_try_init(|| password::hash("assent-decoy-password".into())).await.cloned()
}

/// How long to lock after `failures` consecutive failures, if at all.
fn lock_for(failures: i32) -> Option<Duration> {
    if failures < FREE_FAILURES {
        return None;
    }
    let doublings = (failures - FREE_FAILURES).min(10) as u32;
    Some(Duration::seconds((FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS)))
}

/// The pending authorization a page form names, if it belongs to this browser and is still open.
pub(super) async fn pending_for_browser(
    cx: &FlowContext<'_>,
    handle: Option<&str>,
    field: &str,
    session_token: Option<&str>,
) -> Result<(PendingAuthorization, super::BrowserSession), DomainError> {
    let handle = handle.filter(|h| !h.is_empty()).ok_or_else(|| DomainError::field(FieldError::required(field)))?;
    let now = crate::domain::now();
    let stale = || {
        DomainError::InvalidState(
            "This form does not belong to a pending authorization of this browser, or it has expired. \
             Start again from the application."
                .into(),
        )
    };
    let pending = cx.store.open_authorization(cx.env, &token_digest(handle), now).await?.ok_or_else(stale)?;
    let session = match session_token {
        Some(token) => cx.store.browser_session(cx.env, &token_digest(token), now).await?,
        None => None,
    };
    match session {
        Some(session) if session.id == pending.browser_session_id => Ok((pending, session)),
        _ => Err(stale()),
    }
}

/// Checks a login attempt; on success signs the browser in and resumes the authorization.
pub async fn login(
    cx: &FlowContext<'_>,
    input: LoginInput,
    session_token: Option<&str>,
) -> Result<LoggedIn, FlowError> {
    let handle = input.handle.clone().unwrap_or_default();
    let (pending, session) = pending_for_browser(cx, input.handle.as_deref(), "authorization", session_token).await?;
    let app = cx.store.get_application(cx.env, pending.client_id).await?;
    let username = input.username.unwrap_or_default().trim().to_owned();
    let again = |error: &str, username: String| LoggedIn {
        step: Step::Login {
            handle: handle.clone(),
            app: Box::new(app.clone()),
            error: Some(error.into()),
            username: Some(username),
        },
        new_session_token: None,
    };
    let candidate = input.password.unwrap_or_default();
    if username.is_empty() || candidate.is_empty() {
        return Ok(again("Enter your username and password.", username));
    }
    let now = crate::domain::now();
    // Counted per name, whether or not a user has it, so a lock says nothing about who exists.
    let throttle = token_digest(&username.to_lowercase());
    let admission = cx.store.admit_login_attempt(cx.env, &throttle, now, |attempt| lock_for(attempt).map(|d| now + d));
    if let Admission::Locked { until } = admission.await? {
        return Err(DomainError::TooManyAttempts((until - now).num_seconds().max(1) as u64).into());
    }
    let account = cx.store.login_account(cx.env, &username).await?;
    let stored = account.as_ref().and_then(|a| a.password_hash.clone());
    let verified = password::verify(stored.clone().unwrap_or(decoy_hash().await?), candidate).await?;
    // An external user signs in through the login app only, whatever its row holds.
    let account = match account {
        Some(account)
            if verified && stored.is_some() && account.user.enabled && account.user.external_subject.is_none() =>
        {
            account
        }
        _ => return Ok(again("Incorrect username or password.", username)),
    };
    cx.store.clear_login_attempts(cx.env, &throttle).await?;
    if !cx.store.complete_authorization(cx.env, pending.id, now).await? {
        return Err(DomainError::InvalidState("This login form was already used.".into()).into());
    }
    let token = opaque_token();
    cx.store.sign_in(cx.env, session.id, account.user.id, now, &token_digest(&token), now + SESSION_LIFETIME).await?;
    let location = format!("{}/authorize?{}", cx.issuer, pending.resume_query());
    Ok(LoggedIn { step: Step::Redirect(location), new_session_token: Some(token) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_five_failures_and_double_up_to_fifteen_minutes() {
        assert_eq!(lock_for(4), None);
        assert_eq!(lock_for(5), Some(Duration::seconds(30)));
        assert_eq!(lock_for(6), Some(Duration::seconds(60)));
        assert_eq!(lock_for(9), Some(Duration::seconds(480)));
        assert_eq!(lock_for(10), Some(Duration::seconds(900)));
        assert_eq!(lock_for(60), Some(Duration::seconds(900)));
    }
}
