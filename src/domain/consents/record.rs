//! Recording a consent: validate what the client sent, fill in what the server knows, append to the ledger.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::{ApplicationKind, Consent, ConsentSource, ConsentStatus};
use crate::domain::error::{DomainError, FieldError, Validator};
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};
use crate::domain::text::required_text;
use crate::enrich::{Enricher, Software};
use crate::store::{Store, StoreError};

/// Most scopes one record may hold.
pub(crate) const MAX_SCOPES: usize = 100;
/// Longest scope name.
const MAX_SCOPE_CHARS: usize = 256;
/// Longest browser / OS / device text.
const MAX_CLIENT_TEXT: usize = 128;
/// The last instant the wire format writes (9999-12-31T23:59:59.999Z) in Unix milliseconds: a later
/// `expiresAt` (an offset can carry 9999-12-31 into the year 10000) could not be read back.
const LATEST_EXPIRY_MILLIS: i64 = 253_402_300_799_999;

/// A browser or OS as the client described it.
#[derive(Clone, Debug, Default)]
pub struct SoftwareDraft {
    /// Name, e.g. `Chrome`.
    pub name: Option<String>,
    /// Version, e.g. `131`.
    pub version: Option<String>,
}

/// A consent as the client sent it.
#[derive(Clone, Debug, Default)]
pub struct ConsentDraft {
    /// Whether the body named an application at all.
    pub application_named: bool,
    /// `application.id`: required for `PINGONE`.
    pub application_id: Option<String>,
    /// `application.name`: required for `EXTERNAL`.
    pub application_name: Option<String>,
    /// `application.appType`; inferred from which of id / name is given when absent.
    pub application_kind: Option<ApplicationKind>,
    /// Scopes consented to (or declined).
    pub scopes: Option<Vec<String>>,
    /// `ACCEPTED` or `DECLINED`.
    pub status: Option<ConsentStatus>,
    /// Client-described browser; wins over the User-Agent.
    pub browser: Option<SoftwareDraft>,
    /// Client-described operating system; wins over the User-Agent.
    pub operating_system: Option<SoftwareDraft>,
    /// Client-described device type; wins over the User-Agent.
    pub device_type: Option<String>,
    /// When an accepted consent should stop counting.
    pub expires_at: Option<DateTime<Utc>>,
    /// `user.id` of the body, which must match the path when given.
    pub body_user_id: Option<String>,
    /// Problems found while reading the body, reported together with the draft's own.
    pub problems: Vec<FieldError>,
}

/// What the HTTP request says about the client, for enrichment.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The client address (after trusted-proxy resolution).
    pub client_ip: IpAddr,
}

/// Which application a valid draft names.
enum AppRef {
    Registered(ApplicationId),
    External(String),
}

struct Valid {
    app: AppRef,
    scopes: Vec<String>,
    status: ConsentStatus,
    browser: Option<Software>,
    operating_system: Option<Software>,
    device_type: Option<String>,
    expires_at: Option<DateTime<Utc>>,
}

fn scopes(value: Option<Vec<String>>) -> Result<Vec<String>, FieldError> {
    // PingOne marks `scope` optional: a consent to the application itself.
    let value = value.unwrap_or_default();
    let mut out: Vec<String> = Vec::with_capacity(value.len());
    for (index, scope) in value.into_iter().enumerate() {
        let target = format!("scope[{index}]");
        if scope.is_empty() || scope.chars().count() > MAX_SCOPE_CHARS {
            return Err(FieldError::invalid(target, format!("A scope must be 1 to {MAX_SCOPE_CHARS} characters.")));
        }
        if scope.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\') {
            return Err(FieldError::invalid(target, "A scope must not contain spaces, quotes or control characters."));
        }
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    if out.len() > MAX_SCOPES {
        return Err(FieldError::invalid("scope", format!("At most {MAX_SCOPES} scopes per record.")));
    }
    Ok(out)
}

fn software(target: &str, draft: SoftwareDraft) -> Result<Option<Software>, FieldError> {
    let name = crate::domain::text::optional_text(&format!("{target}.name"), draft.name, MAX_CLIENT_TEXT)?;
    let version = crate::domain::text::optional_text(&format!("{target}.version"), draft.version, MAX_CLIENT_TEXT)?;
    match (name, version) {
        (Some(name), version) => Ok(Some(Software { name, version })),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(FieldError::required(format!("{target}.name"))),
    }
}

fn validate(draft: ConsentDraft, user: UserId, now: DateTime<Utc>) -> Result<Valid, DomainError> {
    let mut v = Validator::with_problems(draft.problems);
    let kind = draft.application_kind.or(match (&draft.application_id, &draft.application_name) {
        (Some(_), _) => Some(ApplicationKind::PingOne),
        (None, Some(_)) => Some(ApplicationKind::External),
        (None, None) => None,
    });
    let app = match kind {
        None if draft.application_named => {
            v.push(FieldError::required("application.id"));
            None
        }
        None => {
            v.push(FieldError::required("application"));
            None
        }
        Some(ApplicationKind::External) if draft.application_id.is_some() => {
            v.push(FieldError::invalid(
                "application.id",
                "An EXTERNAL application is named by 'application.name'; the service assigns its id.",
            ));
            None
        }
        Some(ApplicationKind::PingOne) => match draft.application_id.as_deref() {
            None => {
                v.push(FieldError::required("application.id"));
                None
            }
            Some(text) => match ApplicationId::parse(text) {
                Some(id) => Some(AppRef::Registered(id)),
                None => {
                    v.push(FieldError::invalid("application.id", "'application.id' is not an application id."));
                    None
                }
            },
        },
        Some(ApplicationKind::External) => {
            v.check(required_text("application.name", draft.application_name, 256)).map(AppRef::External)
        }
    };
    let scopes = v.check(scopes(draft.scopes));
    let status = match draft.status {
        None => {
            v.push(FieldError::required("status"));
            None
        }
        Some(ConsentStatus::Revoked) => {
            v.push(FieldError::invalid("status", "A new record is ACCEPTED or DECLINED; revoke with PATCH."));
            None
        }
        Some(status) => Some(status),
    };
    if let Some(at) = draft.expires_at {
        if at <= now {
            v.push(FieldError::invalid("expiresAt", "'expiresAt' must be in the future."));
        } else if at.timestamp_millis() > LATEST_EXPIRY_MILLIS {
            v.push(FieldError::invalid("expiresAt", "'expiresAt' must not be after 9999-12-31T23:59:59.999Z."));
        }
    }
    if let Some(body_user) = draft.body_user_id.as_deref()
        && UserId::parse(body_user) != Some(user)
    {
        v.push(FieldError::invalid("user.id", "'user.id' must match the user in the path (or be omitted)."));
    }
    let browser = match draft.browser {
        Some(b) => v.check(software("browser", b)),
        None => Some(None),
    };
    let operating_system = match draft.operating_system {
        Some(os) => v.check(software("operatingSystem", os)),
        None => Some(None),
    };
    let device_type = v.check(crate::domain::text::optional_text("device.type", draft.device_type, MAX_CLIENT_TEXT));
    v.finish(|| {
        Some(Valid {
            app: app?,
            scopes: scopes?,
            status: status?,
            browser: browser?,
            operating_system: operating_system?,
            device_type: device_type?,
            expires_at: draft.expires_at,
        })
    })
}

/// Checks a draft as [`record_consent`] would before touching the store (for fuzzing and tools).
pub fn check_draft(draft: ConsentDraft, user: UserId, now: DateTime<Utc>) -> Result<(), DomainError> {
    validate(draft, user, now).map(|_| ())
}

/// Records a consent for `user`: each call appends a new record; nothing is overwritten.
pub async fn record_consent(
    store: &Store,
    enricher: &Enricher,
    env: EnvironmentId,
    user: UserId,
    draft: ConsentDraft,
    context: RequestContext,
) -> Result<Consent, DomainError> {
    let now = crate::domain::now();
    let given_name = draft.application_name.clone();
    let valid = validate(draft, user, now)?;
    store.get_user(env, user).await?;
    let (application_id, application_name, application_kind) = match valid.app {
        AppRef::Registered(id) => match store.get_application(env, id).await {
            Ok(app) if given_name.as_ref().is_some_and(|given| *given != app.name) => {
                return Err(DomainError::field(FieldError::invalid(
                    "application.name",
                    "A PINGONE application's name comes from its registration; omit 'application.name' or give that name.",
                )));
            }
            Ok(app) => (app.id, app.name, ApplicationKind::PingOne),
            Err(StoreError::NotFound) => {
                return Err(DomainError::field(FieldError::invalid(
                    "application.id",
                    "No application with this id exists in the environment.",
                )));
            }
            Err(e) => return Err(e.into()),
        },
        AppRef::External(name) => {
            let id = store.external_application_id(env, &name).await?;
            (id, name, ApplicationKind::External)
        }
    };
    // The client's own description wins; the User-Agent fills in what it left out.
    let detected = enricher.device(context.user_agent.as_deref());
    let consent = Consent {
        id: ConsentId::new(),
        environment_id: env,
        user_id: user,
        application_id,
        application_name,
        application_kind,
        scopes: valid.scopes,
        status: valid.status,
        browser: valid.browser.or(detected.browser),
        operating_system: valid.operating_system.or(detected.operating_system),
        device_type: valid.device_type.or(detected.device_type),
        location: enricher.locate(context.client_ip),
        consented_at: now,
        updated_at: now,
        expires_at: valid.expires_at,
        source: ConsentSource::Api,
        remembered: true,
        revocation: None,
        scope_texts: None,
    };
    store.insert_consent(&consent).await?;
    Ok(consent)
}

/// A decision taken in the authorization flow, for a registered application.
#[derive(Clone, Debug)]
pub struct FlowDecision<'a> {
    /// The application.
    pub app: &'a crate::domain::applications::Application,
    /// The user.
    pub user: UserId,
    /// The scopes decided on.
    pub scopes: Vec<String>,
    /// `ACCEPTED` or `DECLINED`.
    pub status: ConsentStatus,
    /// Who asked: the consent page, nobody (implicit), or an external consent app.
    pub source: ConsentSource,
    /// Whether later authorizations may rely on it without asking again.
    pub remembered: bool,
    /// When it ends.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The current text versions of the environment's registered scopes among `scopes` that the
/// consent page shows (implicit scopes are granted without being shown).
async fn shown_texts(
    store: &Store,
    env: crate::domain::ids::EnvironmentId,
    scopes: &[String],
) -> Result<Vec<super::ShownText>, DomainError> {
    let registered = store.all_scopes(env).await?;
    Ok(scopes
        .iter()
        .filter_map(|name| registered.iter().find(|s| &s.name == name))
        .filter(|s| s.consent != crate::domain::scopes::ConsentPolicy::Implicit)
        .map(|s| super::ShownText { scope: s.name.clone(), scope_id: s.id, version: s.text_version })
        .collect())
}

/// Records a flow decision, enriched from the browser's request exactly as the records API enriches
/// a client's.
pub async fn record_flow_decision(
    store: &Store,
    enricher: &Enricher,
    decision: FlowDecision<'_>,
    context: &RequestContext,
) -> Result<Consent, DomainError> {
    let now = crate::domain::now();
    let detected = enricher.device(context.user_agent.as_deref());
    let app = decision.app;
    // The hosted consent page showed each registered scope's current text: keep which versions.
    let scope_texts = match decision.source {
        ConsentSource::ConsentPage => Some(shown_texts(store, app.environment_id, &decision.scopes).await?),
        _ => None,
    };
    let consent = Consent {
        id: ConsentId::new(),
        environment_id: app.environment_id,
        user_id: decision.user,
        application_id: app.id,
        application_name: app.name.clone(),
        application_kind: ApplicationKind::PingOne,
        scopes: decision.scopes,
        status: decision.status,
        browser: detected.browser,
        operating_system: detected.operating_system,
        device_type: detected.device_type,
        location: enricher.locate(context.client_ip),
        consented_at: now,
        updated_at: now,
        expires_at: decision.expires_at,
        source: decision.source,
        remembered: decision.remembered,
        revocation: None,
        scope_texts,
    };
    store.insert_consent(&consent).await?;
    Ok(consent)
}
