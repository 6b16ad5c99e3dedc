//! Scopes an environment's applications may request, each with a consent policy (as Okta configures it).

use super::proof::log::{EventsRequest, SequencePage};
use chrono::{DateTime, Utc};

use super::error::{DomainError, FieldError, Validator};
use super::ids::{EnvironmentId, ScopeId};
use super::paging::{COUNT_BOUND, Page, PageRequest, read_page};
use super::text::optional_text;
use crate::auth::principal::RESERVED_PREFIX;
use crate::store::Store;

/// Whether the user is asked before a scope is granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsentPolicy {
    /// Granted without asking.
    Implicit,
    /// The user must agree; the scope cannot be unticked on the consent page.
    Required,
    /// The user is asked and may untick it.
    Flexible,
}

/// A scope of an environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The scope's id.
    pub id: ScopeId,
    /// Its environment.
    pub environment_id: EnvironmentId,
    /// The scope string clients request, unique in the environment.
    pub name: String,
    /// What granting it allows, shown on the consent page.
    pub description: Option<String>,
    /// Consent policy.
    pub consent: ConsentPolicy,
    /// Refuse it to client_credentials requests when it needs a user's consent.
    pub block_services: bool,
    /// One of the OpenID Connect scopes every environment has; cannot be renamed or deleted.
    pub built_in: bool,
    /// The version of `description` (1 at creation, one more per change; every version is kept).
    pub text_version: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Scope {
    /// Whether a user must be asked before it is granted.
    pub fn needs_consent(&self) -> bool {
        self.consent != ConsentPolicy::Implicit
    }
}

/// Unvalidated settings of a scope (create, or full replace).
#[derive(Clone, Debug, Default)]
pub struct ScopeDraft {
    /// The scope string (required).
    pub name: Option<String>,
    /// Description for the consent page.
    pub description: Option<String>,
    /// Defaults to `REQUIRED`.
    pub consent: Option<ConsentPolicy>,
    /// Defaults to false.
    pub block_services: Option<bool>,
}

/// The scopes every environment starts with: OpenID Connect's (OIDC Core §5.4, §11) and the
/// self-service scopes that let users read and revoke their own consent records.
const BUILT_IN: [(&str, &str, ConsentPolicy); 8] = [
    ("openid", "Sign you in with your account", ConsentPolicy::Implicit),
    ("profile", "Read your name and basic profile", ConsentPolicy::Required),
    ("email", "Read your e-mail address", ConsentPolicy::Required),
    ("phone", "Read your phone number", ConsentPolicy::Required),
    ("address", "Read your postal address", ConsentPolicy::Required),
    ("offline_access", "Keep access while you are away", ConsentPolicy::Required),
    ("p1:read:oauthConsents", "See the consents you have given", ConsentPolicy::Required),
    ("p1:update:oauthConsents", "Withdraw consents you have given", ConsentPolicy::Required),
];

/// The built-in scopes of a new environment.
pub fn built_in_scopes(env: EnvironmentId, now: DateTime<Utc>) -> Vec<Scope> {
    BUILT_IN
        .iter()
        .map(|(name, description, consent)| Scope {
            id: ScopeId::new(),
            environment_id: env,
            name: (*name).to_owned(),
            description: Some((*description).to_owned()),
            consent: *consent,
            block_services: false,
            built_in: true,
            text_version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect()
}

/// One version of a scope's consent text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeText {
    /// The version's own id (version 1's is the scope's id).
    pub id: uuid::Uuid,
    /// The scope.
    pub scope_id: ScopeId,
    /// 1 at creation, one more per change.
    pub version: i32,
    /// The text (the scope's description) of this version.
    pub description: Option<String>,
    /// When this version was made.
    pub created_at: DateTime<Utc>,
}

impl ScopeText {
    /// The current version of `scope`'s text.
    pub fn current(scope: &Scope) -> Self {
        let id = if scope.text_version == 1 { scope.id.as_uuid() } else { uuid::Uuid::now_v7() };
        Self {
            id,
            scope_id: scope.id,
            version: scope.text_version,
            description: scope.description.clone(),
            created_at: scope.updated_at,
        }
    }
}

/// A page of the versions of a scope's text, newest first; the request's cursor names the version
/// the page starts below.
pub async fn scope_text_versions(
    store: &Store,
    env: EnvironmentId,
    id: ScopeId,
    request: EventsRequest,
) -> Result<SequencePage<ScopeText>, DomainError> {
    store.get_scope(env, id).await?;
    let before = (request.after > 0).then(|| i32::try_from(request.after).unwrap_or(i32::MAX));
    let versions = store.scope_text_versions(env, id, before, request.limit + 1).await?;
    Ok(SequencePage::of(versions, request, |v| i64::from(v.version)))
}

/// Scope strings are RFC 6749 §3.3 `scope-token`s: printable ASCII without space, `"` or `\`.
fn scope_name(value: Option<String>) -> Result<String, FieldError> {
    let name = value.ok_or_else(|| FieldError::required("name"))?;
    let valid = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
    if valid {
        Ok(name)
    } else {
        Err(FieldError::invalid(
            "name",
            "'name' must be 1 to 128 printable ASCII characters without spaces, quotes or backslashes.",
        ))
    }
}

struct Settings {
    name: String,
    description: Option<String>,
    consent: ConsentPolicy,
    block_services: bool,
}

/// The platform's own namespace: `p1:` names carry administrative or self-service power, so a
/// tenant may neither create one nor rename a scope into it (`current` is the scope's name today).
fn unreserved(name: String, current: Option<&str>) -> Result<String, FieldError> {
    let reserved = name.get(..RESERVED_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_PREFIX));
    if reserved && current != Some(name.as_str()) {
        Err(FieldError::invalid(
            "name",
            format!("Scope names starting with '{RESERVED_PREFIX}' are reserved for the platform."),
        ))
    } else {
        Ok(name)
    }
}

fn validate(draft: ScopeDraft, current: Option<&str>) -> Result<Settings, DomainError> {
    let mut v = Validator::default();
    let name = v.check(scope_name(draft.name).and_then(|name| unreserved(name, current)));
    let description = v.check(optional_text("description", draft.description, 512));
    v.finish(|| {
        Some(Settings {
            name: name?,
            description: description?,
            consent: draft.consent.unwrap_or(ConsentPolicy::Required),
            block_services: draft.block_services.unwrap_or(false),
        })
    })
}

/// Creates a scope; its name must be free in the environment.
pub async fn create_scope(store: &Store, env: EnvironmentId, draft: ScopeDraft) -> Result<Scope, DomainError> {
    let settings = validate(draft, None)?;
    let now = super::now();
    let scope = Scope {
        id: ScopeId::new(),
        environment_id: env,
        name: settings.name,
        description: settings.description,
        consent: settings.consent,
        block_services: settings.block_services,
        built_in: false,
        text_version: 1,
        created_at: now,
        updated_at: now,
    };
    store.insert_scope(env, &scope).await?;
    Ok(scope)
}

/// Reads one scope.
pub async fn get_scope(store: &Store, env: EnvironmentId, id: ScopeId) -> Result<Scope, DomainError> {
    Ok(store.get_scope(env, id).await?)
}

/// Lists scopes in creation order.
pub async fn list_scopes(store: &Store, env: EnvironmentId, page: PageRequest) -> Result<Page<Scope>, DomainError> {
    let fetch = store.list_scopes(env, page);
    let count = store.count_scopes(env, COUNT_BOUND);
    Ok(read_page(page, |s: &Scope| s.id.as_uuid(), fetch, count).await?)
}

/// Every scope of the environment, for discovery and the consent page.
pub async fn all_scopes(store: &Store, env: EnvironmentId) -> Result<Vec<Scope>, DomainError> {
    store.get_environment(env).await?;
    Ok(store.all_scopes(env).await?)
}

/// Replaces a scope's settings; built-in scopes keep their name.
pub async fn replace_scope(
    store: &Store,
    env: EnvironmentId,
    id: ScopeId,
    draft: ScopeDraft,
) -> Result<Scope, DomainError> {
    let mut scope = store.get_scope(env, id).await?;
    let settings = validate(draft, Some(&scope.name))?;
    if scope.built_in && settings.name != scope.name {
        return Err(DomainError::field(FieldError::invalid(
            "name",
            "A built-in OpenID Connect scope cannot be renamed.",
        )));
    }
    if settings.name != scope.name {
        let users = store.count_applications_with_scope(env, &scope.name).await?;
        if users > 0 {
            return Err(DomainError::field(FieldError::invalid("name", in_use(&scope.name, users, "renamed"))));
        }
    }
    scope.name = settings.name;
    let text_changed = settings.description != scope.description;
    if text_changed {
        scope.text_version += 1;
    }
    scope.description = settings.description;
    scope.consent = settings.consent;
    scope.block_services = settings.block_services;
    scope.updated_at = super::now();
    store.update_scope(env, &scope, text_changed).await?;
    Ok(scope)
}

/// Deletes a scope that is not built in and that no application lists.
pub async fn delete_scope(store: &Store, env: EnvironmentId, id: ScopeId) -> Result<(), DomainError> {
    let scope = store.get_scope(env, id).await?;
    if scope.built_in {
        return Err(DomainError::InvalidState(format!(
            "'{}' is a built-in OpenID Connect scope and cannot be deleted.",
            scope.name
        )));
    }
    let users = store.count_applications_with_scope(env, &scope.name).await?;
    if users > 0 {
        return Err(DomainError::InvalidState(in_use(&scope.name, users, "deleted")));
    }
    Ok(store.delete_scope(env, id).await?)
}

/// Why a scope that applications list cannot change its name or go away.
fn in_use(name: &str, applications: u64, action: &str) -> String {
    let listed = if applications == 1 {
        "1 application lists it".to_owned()
    } else {
        format!("{applications} applications list it")
    };
    format!("Scope '{name}' cannot be {action}: {listed}; remove it from their 'scopes' first.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_follow_rfc_6749() {
        for good in ["openid", "p1:read:user", "https://api.example.com/photos.read", "a!#$%&'()*+,-./"] {
            assert!(scope_name(Some(good.into())).is_ok(), "{good}");
        }
        for bad in ["", "two words", "quo\"te", "back\\slash", "ümlaut", &"x".repeat(129)] {
            assert!(scope_name(Some(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_environment_starts_with_the_openid_scopes() {
        let scopes = built_in_scopes(EnvironmentId::new(), Utc::now());
        let names: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "openid",
                "profile",
                "email",
                "phone",
                "address",
                "offline_access",
                "p1:read:oauthConsents",
                "p1:update:oauthConsents"
            ]
        );
        assert!(scopes.iter().all(|s| s.built_in));
        assert!(!scopes[0].needs_consent(), "openid itself is implicit");
        assert!(scopes[1..].iter().all(Scope::needs_consent));
    }
}
