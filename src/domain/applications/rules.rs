//! Rules that keep an application's settings coherent: defaults by type, grant and client consistency, redirect URIs
//! and requested scopes.

use super::{
    AppType, Application, ApplicationDraft, ConsentMethod, GrantType, PkceEnforcement, Protocol, ResponseType,
    TokenAuthMethod,
};
use crate::auth::principal::{ADMIN_SCOPE, Permission};
use crate::domain::error::{DomainError, FieldError, Validator};
use crate::domain::text::{optional_text, required_text};

/// The scope every environment has and non-worker applications get by default.
const OPENID: &str = "openid";

const MAX_REDIRECT_URIS: usize = 100;
const MAX_URI_LENGTH: usize = 2048;
const MAX_SCOPES: usize = 200;

/// Validated settings of an application; shared by create and replace.
pub(super) struct Settings {
    name: String,
    description: Option<String>,
    enabled: bool,
    protocol: Protocol,
    app_type: AppType,
    grant_types: Vec<GrantType>,
    response_types: Vec<ResponseType>,
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: TokenAuthMethod,
    pkce_enforcement: PkceEnforcement,
    consent_method: ConsentMethod,
    scopes: Vec<String>,
}

/// Validates a draft; `known_scopes` are the names among `draft.scopes` that exist in the environment.
pub(super) fn validate(draft: ApplicationDraft, known_scopes: &[String]) -> Result<Settings, DomainError> {
    let mut v = Validator::default();
    let name = v.check(required_text("name", draft.name, 256));
    let description = v.check(optional_text("description", draft.description, 1024));
    let app_type = v.check(draft.app_type.ok_or_else(|| FieldError::required("type")));
    let Some(app_type) = app_type else {
        return v.finish(|| None);
    };
    let public_by_default = matches!(app_type, AppType::NativeApp | AppType::SinglePageApp);
    let grant_types = dedup(draft.grant_types.unwrap_or_else(|| match app_type {
        AppType::Worker => vec![GrantType::ClientCredentials],
        _ => vec![GrantType::AuthorizationCode],
    }));
    let auth_method = draft.token_endpoint_auth_method.unwrap_or(if public_by_default {
        TokenAuthMethod::None
    } else {
        TokenAuthMethod::ClientSecretBasic
    });
    let code_flow = grant_types.contains(&GrantType::AuthorizationCode);
    let response_types =
        dedup(draft.response_types.unwrap_or_else(|| if code_flow { vec![ResponseType::Code] } else { vec![] }));
    // RFC 9700 §2.1.1: PKCE for every client, confidential ones included.
    let pkce = draft.pkce_enforcement.unwrap_or(PkceEnforcement::S256Required);
    if grant_types.is_empty() {
        v.push(FieldError::invalid("grantTypes", "'grantTypes' must name at least one grant type."));
    }
    if grant_types.contains(&GrantType::RefreshToken) && !code_flow {
        v.push(FieldError::invalid("grantTypes", "REFRESH_TOKEN requires AUTHORIZATION_CODE."));
    }
    if code_flow && response_types.is_empty() {
        v.push(FieldError::invalid("responseTypes", "AUTHORIZATION_CODE requires the CODE response type."));
    }
    if !code_flow && !response_types.is_empty() {
        v.push(FieldError::invalid("responseTypes", "CODE is only allowed with the AUTHORIZATION_CODE grant."));
    }
    if auth_method == TokenAuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
        v.push(FieldError::invalid("tokenEndpointAuthMethod", "A public client (NONE) cannot use CLIENT_CREDENTIALS."));
    }
    if app_type == AppType::SinglePageApp && auth_method != TokenAuthMethod::None {
        v.push(FieldError::invalid("tokenEndpointAuthMethod", "A SINGLE_PAGE_APP cannot keep a secret; use NONE."));
    }
    if app_type == AppType::Worker && auth_method == TokenAuthMethod::None {
        v.push(FieldError::invalid("tokenEndpointAuthMethod", "A WORKER must authenticate with a secret."));
    }
    let redirect_uris = draft.redirect_uris.unwrap_or_default();
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        v.push(FieldError::invalid("redirectUris", format!("At most {MAX_REDIRECT_URIS} redirect URIs.")));
    }
    for (index, uri) in redirect_uris.iter().enumerate() {
        if let Err(message) = check_redirect_uri(uri) {
            v.push(FieldError::invalid(format!("redirectUris[{index}]"), message));
        }
    }
    if code_flow && redirect_uris.is_empty() {
        v.push(FieldError::invalid("redirectUris", "AUTHORIZATION_CODE requires at least one redirect URI."));
    }
    let redirect_uris = dedup(redirect_uris);
    // The defaults need no look-up: every environment has the built-in `openid` scope, which cannot be deleted,
    // and permissions are the platform's. A worker is an administrator unless it is granted less.
    let scopes = match draft.scopes {
        Some(scopes) => {
            check_scopes(&mut v, &scopes, known_scopes, app_type);
            scopes
        }
        None if app_type == AppType::Worker => vec![ADMIN_SCOPE.to_owned()],
        None => vec![OPENID.to_owned()],
    };
    let scopes = dedup(scopes);
    v.finish(|| {
        Some(Settings {
            name: name?,
            description: description?,
            enabled: draft.enabled.unwrap_or(true),
            protocol: draft.protocol.unwrap_or(Protocol::OpenIdConnect),
            app_type,
            grant_types,
            response_types,
            redirect_uris,
            token_endpoint_auth_method: auth_method,
            pkce_enforcement: pkce,
            consent_method: draft.consent_method.unwrap_or(ConsentMethod::Required),
            scopes,
        })
    })
}

/// Each listed scope must be one of the environment's or, for a worker, a permission; errors name
/// the index as sent.
fn check_scopes(v: &mut Validator, scopes: &[String], known_scopes: &[String], app_type: AppType) {
    if scopes.len() > MAX_SCOPES {
        v.push(FieldError::invalid("scopes", format!("At most {MAX_SCOPES} scopes.")));
        return;
    }
    for (index, name) in scopes.iter().enumerate() {
        let permission = Permission::of_scope(name);
        if permission.is_some() && app_type == AppType::Worker {
            continue;
        }
        if permission.is_some_and(|p| !p.is_self_service()) {
            v.push(FieldError::invalid(
                format!("scopes[{index}]"),
                format!("'{name}' is a worker permission: only WORKER applications may list it."),
            ));
        } else if !known_scopes.contains(name) {
            v.push(FieldError::invalid(
                format!("scopes[{index}]"),
                format!("'{name}' is not a scope of this environment."),
            ));
        }
    }
}

/// Redirect URIs are absolute, fragment-free and compared byte for byte (RFC 6749 §3.1.2).
fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_URI_LENGTH {
        return Err(format!("A redirect URI must be at most {MAX_URI_LENGTH} characters."));
    }
    // The parser drops tabs and newlines and trims spaces and controls, yet the URI is stored and compared as sent.
    if uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("A redirect URI must not contain spaces or control characters.".into());
    }
    let parsed = url::Url::parse(uri).map_err(|e| format!("'{uri}' is not an absolute URI: {e}."))?;
    if parsed.fragment().is_some() {
        return Err("A redirect URI must not contain a fragment.".into());
    }
    if matches!(parsed.scheme(), "javascript" | "data" | "vbscript" | "file") {
        return Err(format!("The '{}' scheme is not allowed in a redirect URI.", parsed.scheme()));
    }
    Ok(())
}

/// The distinct names worth looking up: the list is refused anyway when it is longer than allowed.
pub(super) fn bounded(names: &[String]) -> Vec<String> {
    dedup(names.iter().take(MAX_SCOPES + 1).cloned().collect())
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Whether `after` may get less by client_credentials than `before` could: a scope (a worker's
/// permission included) is no longer listed, the grant was taken away, or the type changed.
pub(super) fn narrows_client_credentials(before: &Application, after: &Application) -> bool {
    let had_grant = before.grant_types.contains(&GrantType::ClientCredentials);
    had_grant
        && (!after.grant_types.contains(&GrantType::ClientCredentials)
            || before.app_type != after.app_type
            || before.scopes.iter().any(|scope| !after.scopes.contains(scope)))
}

/// Writes validated settings onto an application.
pub(super) fn apply(app: &mut Application, s: Settings) {
    app.name = s.name;
    app.description = s.description;
    app.enabled = s.enabled;
    app.protocol = s.protocol;
    app.app_type = s.app_type;
    app.grant_types = s.grant_types;
    app.response_types = s.response_types;
    app.redirect_uris = s.redirect_uris;
    app.token_endpoint_auth_method = s.token_endpoint_auth_method;
    app.pkce_enforcement = s.pkce_enforcement;
    app.consent_method = s.consent_method;
    app.scopes = s.scopes;
}
