//! Browser sessions and pending authorization requests.

use std::net::IpAddr;

use super::reads::ReadExt;
use chrono::{DateTime, Utc};
use entities::{authorization_request, browser_session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::Value as Json;

use super::error::touched;
use super::{Store, StoreError};
use crate::domain::flow::{BrowserSession, Outcome, PendingAuthorization, PendingKind};
use crate::domain::ids::{ApplicationId, AuthorizationId, EnvironmentId, SessionId, UserId};
use crate::domain::users::User;

/// A user as the login form needs them: with the password hash.
#[derive(Clone, Debug)]
pub struct LoginAccount {
    /// The user.
    pub user: User,
    /// Argon2 PHC string, if a password was set.
    pub password_hash: Option<String>,
}

fn kind_name(kind: PendingKind) -> &'static str {
    match kind {
        PendingKind::Page => "PAGE",
        PendingKind::LoginChallenge => "LOGIN",
        PendingKind::ConsentChallenge => "CONSENT",
    }
}

/// A challenge as the external app sees it: the request, and its answer once there is one.
#[derive(Clone, Debug)]
pub struct StoredChallenge {
    /// The pending authorization.
    pub pending: PendingAuthorization,
    /// The app's answer.
    pub outcome: Option<Outcome>,
    /// Whether the browser came back with the verifier (the flow moved on).
    pub completed: bool,
}

pub(super) fn session_from(row: browser_session::Model) -> BrowserSession {
    BrowserSession {
        id: SessionId::from_uuid(row.id),
        user_id: row.user_id.map(UserId::from_uuid),
        authenticated_at: row.authenticated_at,
        created_at: row.created_at,
        expires_at: row.expires_at,
    }
}

fn pending_from(row: authorization_request::Model) -> Result<PendingAuthorization, StoreError> {
    let bad = |what: &str| StoreError::Database(format!("authorization request {} has an invalid {what}", row.id));
    let scopes: Vec<String> = serde_json::from_value(row.scopes.clone()).map_err(|_| bad("scope list"))?;
    let client_ip: IpAddr = row.client_ip.parse().map_err(|_| bad("client IP"))?;
    let kind = match row.kind.as_str() {
        "PAGE" => PendingKind::Page,
        "LOGIN" => PendingKind::LoginChallenge,
        "CONSENT" => PendingKind::ConsentChallenge,
        _ => return Err(bad("kind")),
    };
    Ok(PendingAuthorization {
        id: AuthorizationId::from_uuid(row.id),
        browser_session_id: SessionId::from_uuid(row.browser_session_id),
        client_id: ApplicationId::from_uuid(row.client_id),
        redirect_uri: row.redirect_uri,
        scopes,
        state: row.state,
        code_challenge: row.code_challenge,
        nonce: row.nonce,
        prompt: row.prompt,
        user_agent: row.user_agent,
        client_ip,
        created_at: row.created_at,
        expires_at: row.expires_at,
        kind,
        user_id: row.user_id.map(UserId::from_uuid),
        login_challenge: row.login_challenge,
    })
}

fn outcome_from(text: Option<&str>) -> Result<Option<Outcome>, StoreError> {
    text.map(|t| serde_json::from_str(t).map_err(|e| StoreError::Database(format!("stored outcome: {e}")))).transpose()
}

impl Store {
    /// Stores a new browser session under the digest of its cookie token.
    pub async fn insert_browser_session(
        &self,
        env: EnvironmentId,
        session: &BrowserSession,
        token_digest: &str,
    ) -> Result<(), StoreError> {
        browser_session::Model {
            environment_id: env.as_uuid(),
            id: session.id.as_uuid(),
            token_hash: token_digest.to_owned(),
            user_id: session.user_id.map(|u| u.as_uuid()),
            authenticated_at: session.authenticated_at,
            created_at: session.created_at,
            expires_at: session.expires_at,
        }
        .into_active_model()
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The unexpired session whose cookie token has this digest.
    pub async fn browser_session(
        &self,
        env: EnvironmentId,
        token_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let row = browser_session::Entity::find()
            .filter(browser_session::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(browser_session::Column::TokenHash.eq(token_digest))
            .filter(browser_session::Column::ExpiresAt.gt(now))
            .read_one(&self.reads)
            .await?;
        Ok(row.map(session_from))
    }

    /// Signs a session in as `user`, replacing its cookie token (no session fixation).
    pub async fn sign_in(
        &self,
        env: EnvironmentId,
        session: SessionId,
        user: UserId,
        now: DateTime<Utc>,
        new_token_digest: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = browser_session::Entity::update_many()
            .col_expr(browser_session::Column::UserId, Expr::value(user.as_uuid()))
            .col_expr(browser_session::Column::AuthenticatedAt, Expr::value(now))
            .col_expr(browser_session::Column::TokenHash, Expr::value(new_token_digest.to_owned()))
            .col_expr(browser_session::Column::ExpiresAt, Expr::value(expires_at))
            .filter(browser_session::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(browser_session::Column::Id.eq(session.as_uuid()))
            .exec(&self.db)
            .await?;
        touched(result.rows_affected)
    }

    /// Stores a pending authorization under the digest of its form handle.
    pub async fn insert_authorization(
        &self,
        env: EnvironmentId,
        pending: &PendingAuthorization,
        handle_digest: &str,
    ) -> Result<(), StoreError> {
        authorization_request::Model {
            environment_id: env.as_uuid(),
            id: pending.id.as_uuid(),
            handle_hash: handle_digest.to_owned(),
            browser_session_id: pending.browser_session_id.as_uuid(),
            client_id: pending.client_id.as_uuid(),
            redirect_uri: pending.redirect_uri.clone(),
            scopes: Json::Array(pending.scopes.iter().cloned().map(Json::String).collect()),
            state: pending.state.clone(),
            code_challenge: pending.code_challenge.clone(),
            nonce: pending.nonce.clone(),
            prompt: pending.prompt.clone(),
            user_agent: pending.user_agent.clone(),
            client_ip: pending.client_ip.to_string(),
            created_at: pending.created_at,
            expires_at: pending.expires_at,
            completed_at: None,
            kind: kind_name(pending.kind).to_owned(),
            verifier_hash: None,
            outcome: None,
            user_id: pending.user_id.map(|u| u.as_uuid()),
            login_challenge: pending.login_challenge.clone(),
        }
        .into_active_model()
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The pending authorization with this handle digest, if it is neither completed nor expired.
    pub async fn open_authorization(
        &self,
        env: EnvironmentId,
        handle_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        let row = authorization_request::Entity::find()
            .filter(authorization_request::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(authorization_request::Column::HandleHash.eq(handle_digest))
            .filter(authorization_request::Column::Kind.eq(kind_name(PendingKind::Page)))
            .filter(authorization_request::Column::CompletedAt.is_null())
            .filter(authorization_request::Column::ExpiresAt.gt(now))
            .read_one(&self.reads)
            .await?;
        row.map(pending_from).transpose()
    }

    /// A login or consent challenge of `kind` by its digest, answered or not, expired or not.
    pub async fn challenge(
        &self,
        env: EnvironmentId,
        kind: PendingKind,
        challenge_digest: &str,
    ) -> Result<Option<StoredChallenge>, StoreError> {
        let row = authorization_request::Entity::find()
            .filter(authorization_request::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(authorization_request::Column::HandleHash.eq(challenge_digest))
            .filter(authorization_request::Column::Kind.eq(kind_name(kind)))
            .read_one(&self.reads)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let outcome = outcome_from(row.outcome.as_deref())?;
        let completed = row.completed_at.is_some();
        Ok(Some(StoredChallenge { pending: pending_from(row)?, outcome, completed }))
    }

    /// Records the app's answer to a challenge, once: false when it was already answered.
    pub async fn answer_challenge(
        &self,
        env: EnvironmentId,
        id: AuthorizationId,
        outcome: &Outcome,
        verifier_digest: &str,
    ) -> Result<bool, StoreError> {
        let text = serde_json::to_string(outcome).map_err(|e| StoreError::Database(format!("outcome: {e}")))?;
        let result = authorization_request::Entity::update_many()
            .col_expr(authorization_request::Column::Outcome, Expr::value(text))
            .col_expr(authorization_request::Column::VerifierHash, Expr::value(verifier_digest.to_owned()))
            .filter(authorization_request::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(authorization_request::Column::Id.eq(id.as_uuid()))
            .filter(authorization_request::Column::Outcome.is_null())
            .filter(authorization_request::Column::CompletedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// An answered, open challenge of `kind` by the digest of its verifier.
    pub async fn answered_challenge(
        &self,
        env: EnvironmentId,
        kind: PendingKind,
        verifier_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(PendingAuthorization, Outcome)>, StoreError> {
        let row = authorization_request::Entity::find()
            .filter(authorization_request::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(authorization_request::Column::Kind.eq(kind_name(kind)))
            .filter(authorization_request::Column::VerifierHash.eq(verifier_digest))
            .filter(authorization_request::Column::CompletedAt.is_null())
            .filter(authorization_request::Column::ExpiresAt.gt(now))
            .read_one(&self.reads)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let Some(outcome) = outcome_from(row.outcome.as_deref())? else { return Ok(None) };
        Ok(Some((pending_from(row)?, outcome)))
    }

    /// The session a pending authorization belongs to, if it has not expired.
    pub async fn browser_session_by_id(
        &self,
        env: EnvironmentId,
        id: SessionId,
        now: DateTime<Utc>,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let row = browser_session::Entity::find()
            .filter(browser_session::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(browser_session::Column::Id.eq(id.as_uuid()))
            .filter(browser_session::Column::ExpiresAt.gt(now))
            .read_one(&self.reads)
            .await?;
        Ok(row.map(session_from))
    }

    /// Ends every browser session of a user (they must sign in again).
    pub async fn end_browser_sessions(
        &self,
        env: EnvironmentId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let result = browser_session::Entity::update_many()
            .col_expr(browser_session::Column::ExpiresAt, Expr::value(now))
            .filter(browser_session::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(browser_session::Column::UserId.eq(user.as_uuid()))
            .filter(browser_session::Column::ExpiresAt.gt(now))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    /// Marks a pending authorization completed; false when it already was (a second submission).
    pub async fn complete_authorization(
        &self,
        env: EnvironmentId,
        id: AuthorizationId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = authorization_request::Entity::update_many()
            .col_expr(authorization_request::Column::CompletedAt, Expr::value(now))
            .filter(authorization_request::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(authorization_request::Column::Id.eq(id.as_uuid()))
            .filter(authorization_request::Column::CompletedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// The user with this username, for the login form.
    pub async fn login_account(&self, env: EnvironmentId, username: &str) -> Result<Option<LoginAccount>, StoreError> {
        let row = user::Entity::find()
            .filter(user::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(user::Column::Username.eq(username))
            .read_one(&self.reads)
            .await?;
        Ok(row.map(|row| LoginAccount { password_hash: row.password_hash.clone(), user: super::users::to_domain(row) }))
    }
}
