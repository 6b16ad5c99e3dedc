//! Environments (tenants) and their bootstrap: an environment with its first administrator application.

use chrono::{DateTime, Utc};

use super::applications::{self, AppType, ApplicationDraft, GrantType, NewApplication};
use super::error::{DomainError, FieldError, Validator};
use super::ids::EnvironmentId;
use super::text::required_text;
use super::users::Change;
use crate::auth::keys::SigningKey;
use crate::auth::secrets::SecretBox;
use crate::store::Store;

/// A tenant: nothing inside one is visible from another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// The environment's id.
    pub id: EnvironmentId,
    /// Display name.
    pub name: String,
    /// An external login application (Hydra-compatible); when set, `/authorize` sends browsers there.
    pub login_url: Option<String>,
    /// An external consent application (Hydra-compatible); when set, `/authorize` sends browsers there.
    pub consent_url: Option<String>,
    /// When the environment was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// What `bootstrap` created: the ids and the one-time clear secret of the admin worker.
#[derive(Clone, Debug)]
pub struct Bootstrapped {
    /// The new environment.
    pub environment: Environment,
    /// The administrator worker application's client id.
    pub client_id: String,
    /// Its client secret, in clear.
    pub client_secret: String,
}

/// Creates an environment, its first signing key and an administrator worker application, atomically.
pub async fn bootstrap(store: &Store, secrets: &SecretBox, name: String) -> Result<Bootstrapped, DomainError> {
    let mut v = Validator::default();
    let name = v.check(required_text("name", Some(name), 256));
    let name = v.finish(|| name)?;
    let now = crate::domain::now();
    let environment = Environment {
        id: EnvironmentId::new(),
        name,
        login_url: None,
        consent_url: None,
        created_at: now,
        updated_at: now,
    };
    let draft = ApplicationDraft {
        name: Some("Administrator".into()),
        description: Some("Worker application created by bootstrap".into()),
        app_type: Some(AppType::Worker),
        grant_types: Some(vec![GrantType::ClientCredentials]),
        ..ApplicationDraft::default()
    };
    let NewApplication { application, secret } = applications::prepare(environment.id, draft, &[], secrets).await?;
    let key = SigningKey::generate().map_err(DomainError::Unexpected)?;
    let client_secret = secret.clear.clone();
    let scopes = super::scopes::built_in_scopes(environment.id, now);
    store.insert_environment(&environment, &key, secrets, &application, &secret, &scopes).await?;
    Ok(Bootstrapped { client_id: application.id.to_string(), client_secret, environment })
}

/// Reads one environment.
pub async fn get_environment(store: &Store, env: EnvironmentId) -> Result<Environment, DomainError> {
    Ok(store.get_environment(env).await?)
}

/// Changes to an environment's settings.
#[derive(Clone, Debug)]
pub struct EnvironmentChanges {
    /// The external login app's URL.
    pub login_url: Change<String>,
    /// The external consent app's URL.
    pub consent_url: Change<String>,
}

/// External app URLs are absolute http(s) URLs without a fragment; challenges are appended to their query.
fn app_url(field: &str, value: String) -> Result<String, FieldError> {
    let valid = url::Url::parse(&value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none() && value.len() <= 2048);
    if valid.is_some() {
        Ok(value)
    } else {
        Err(FieldError::invalid(field, format!("'{field}' must be an absolute http(s) URL without a fragment.")))
    }
}

fn apply(current: Option<String>, change: Change<String>, field: &str, v: &mut Validator) -> Option<String> {
    match change {
        Change::Keep => current,
        Change::Clear => None,
        Change::Set(value) => v.check(app_url(field, value)),
    }
}

/// Updates an environment's settings (the external login and consent apps).
pub async fn update_environment(
    store: &Store,
    env: EnvironmentId,
    changes: EnvironmentChanges,
) -> Result<Environment, DomainError> {
    let mut environment = store.get_environment(env).await?;
    let mut v = Validator::default();
    let login_url = apply(environment.login_url.take(), changes.login_url, "loginUrl", &mut v);
    let consent_url = apply(environment.consent_url.take(), changes.consent_url, "consentUrl", &mut v);
    v.finish(|| Some(()))?;
    environment.login_url = login_url;
    environment.consent_url = consent_url;
    environment.updated_at = crate::domain::now();
    store.update_environment(&environment).await?;
    Ok(environment)
}
