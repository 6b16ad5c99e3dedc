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
    /// Browser origins (`https://host[:port]`) whose scripts may call the records API and the
    /// token, userinfo and revocation endpoints (CORS).
    pub cors_origins: Vec<String>,
    /// The data controller that consent receipts name.
    pub controller: Controller,
    /// When the environment was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The data controller (GDPR Art. 4(7)) answering for an environment's consents, as receipts name it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Controller {
    /// Its name.
    pub name: Option<String>,
    /// How to reach it: an e-mail address or an http(s) URL.
    pub contact: Option<String>,
    /// Its privacy policy (an http(s) URL).
    pub privacy_policy_url: Option<String>,
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
        cors_origins: Vec::new(),
        controller: Controller::default(),
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
    /// The allowed browser origins, replacing the list (`Clear`: none).
    pub cors_origins: Change<Vec<String>>,
    /// The controller's name.
    pub controller_name: Change<String>,
    /// The controller's contact.
    pub controller_contact: Change<String>,
    /// The controller's privacy policy.
    pub privacy_policy_url: Change<String>,
}

/// Longest controller name.
pub const MAX_CONTROLLER_NAME: usize = 200;
/// Longest controller contact or privacy-policy URL.
pub const MAX_CONTROLLER_URL: usize = 2048;

fn controller_name(value: String) -> Result<String, FieldError> {
    let name = value.trim();
    if name.is_empty() || name.chars().count() > MAX_CONTROLLER_NAME || name.chars().any(char::is_control) {
        return Err(FieldError::invalid(
            "controllerName",
            format!("'controllerName' must be 1 to {MAX_CONTROLLER_NAME} characters without control characters."),
        ));
    }
    Ok(name.to_owned())
}

/// An http(s) URL of at most [`MAX_CONTROLLER_URL`] bytes: https, or http to a loopback host.
fn web_url(value: &str) -> bool {
    value.len() <= MAX_CONTROLLER_URL
        && url::Url::parse(value).is_ok_and(|url| match url.scheme() {
            "https" => url.host().is_some(),
            "http" => matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
            _ => false,
        })
}

fn controller_contact(value: String) -> Result<String, FieldError> {
    let value = value.trim().to_owned();
    let email = value.len() <= 254
        && value
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'))
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    let mailto = value.strip_prefix("mailto:").is_some_and(|rest| rest.contains('@') && value.len() <= 254);
    if email || mailto || web_url(&value) {
        Ok(value)
    } else {
        Err(FieldError::invalid(
            "controllerContact",
            "'controllerContact' must be an e-mail address or an https URL (at most 2048 characters).",
        ))
    }
}

fn privacy_policy_url(value: String) -> Result<String, FieldError> {
    if web_url(&value) {
        Ok(value)
    } else {
        Err(FieldError::invalid(
            "privacyPolicyUrl",
            "'privacyPolicyUrl' must be an absolute https URL (http only to a loopback host), at most 2048 characters.",
        ))
    }
}

fn change(
    current: Option<String>,
    change: Change<String>,
    check: fn(String) -> Result<String, FieldError>,
    v: &mut Validator,
) -> Option<String> {
    match change {
        Change::Keep => current,
        Change::Clear => None,
        Change::Set(value) => v.check(check(value)),
    }
}

/// Most browser origins an environment may allow.
pub const MAX_CORS_ORIGINS: usize = 50;

/// An allowed origin is exactly an http(s) origin, `scheme://host[:port]`, written as browsers send
/// it in `Origin` (lower case, no default port, no path): anything else could never match.
fn cors_origin(index: usize, value: &str) -> Result<String, FieldError> {
    let field = format!("corsOrigins[{index}]");
    let refused = |why: &str| FieldError::invalid(&field, format!("'{value}' {why}"));
    if value.len() > 255 {
        return Err(refused("is longer than 255 characters."));
    }
    let url = url::Url::parse(value).map_err(|_| refused("is not an origin such as https://app.example.com."))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(refused("is not an http(s) origin such as https://app.example.com."));
    }
    let origin = url.origin().ascii_serialization();
    if origin != value {
        return Err(refused(&format!(
            "is not written as browsers send an origin (scheme, host and port only, lower case): '{origin}'."
        )));
    }
    Ok(origin)
}

/// Checks a new list of allowed origins: each one an origin, at most [`MAX_CORS_ORIGINS`], repeats dropped.
fn cors_origins(values: Vec<String>, v: &mut Validator) -> Option<Vec<String>> {
    if values.len() > MAX_CORS_ORIGINS {
        v.push(FieldError::invalid(
            "corsOrigins",
            format!("At most {MAX_CORS_ORIGINS} origins may be allowed; {} were given.", values.len()),
        ));
        return None;
    }
    let mut origins: Vec<String> = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        if let Some(origin) = v.check(cors_origin(index, value))
            && !origins.contains(&origin)
        {
            origins.push(origin);
        }
    }
    Some(origins)
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

/// Updates an environment's settings (the external login and consent apps, the allowed origins).
pub async fn update_environment(
    store: &Store,
    env: EnvironmentId,
    changes: EnvironmentChanges,
) -> Result<Environment, DomainError> {
    let mut environment = store.get_environment(env).await?;
    let mut v = Validator::default();
    let login_url = apply(environment.login_url.take(), changes.login_url, "loginUrl", &mut v);
    let consent_url = apply(environment.consent_url.take(), changes.consent_url, "consentUrl", &mut v);
    let origins = match changes.cors_origins {
        Change::Keep => Some(std::mem::take(&mut environment.cors_origins)),
        Change::Clear => Some(Vec::new()),
        Change::Set(values) => cors_origins(values, &mut v),
    };
    let controller = Controller {
        name: change(environment.controller.name.take(), changes.controller_name, controller_name, &mut v),
        contact: change(environment.controller.contact.take(), changes.controller_contact, controller_contact, &mut v),
        privacy_policy_url: change(
            environment.controller.privacy_policy_url.take(),
            changes.privacy_policy_url,
            privacy_policy_url,
            &mut v,
        ),
    };
    v.finish(|| Some(()))?;
    environment.controller = controller;
    environment.login_url = login_url;
    environment.consent_url = consent_url;
    environment.cors_origins = origins.unwrap_or_default();
    environment.updated_at = crate::domain::now();
    store.update_environment(&environment).await?;
    Ok(environment)
}
