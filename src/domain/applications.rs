//! Applications (OAuth clients) of an environment and the rules that keep their settings coherent.

use chrono::{DateTime, Utc};

use super::error::{DomainError, FieldError, Validator};
use super::ids::{ApplicationId, EnvironmentId};
use super::paging::{Page, PageRequest};
use super::text::{optional_text, required_text};
use crate::auth::password;
use crate::auth::secrets::SecretBox;
use crate::store::Store;

/// The kind of client, which decides its defaults and what it may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppType {
    /// A back-end service calling the management API with client credentials.
    Worker,
    /// A confidential server-side web application.
    WebApp,
    /// A public native (mobile/desktop) application.
    NativeApp,
    /// A public browser application.
    SinglePageApp,
}

/// OAuth 2.0 grant types an application may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// RFC 6749 §4.1.
    AuthorizationCode,
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 6749 §6.
    RefreshToken,
}

/// OAuth 2.0 response types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseType {
    /// The authorization code response.
    Code,
}

/// How the application authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenAuthMethod {
    /// HTTP Basic with client id and secret.
    ClientSecretBasic,
    /// Client id and secret in the form body.
    ClientSecretPost,
    /// A public client without a secret.
    None,
}

/// Whether PKCE is required at the authorization endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PkceEnforcement {
    /// PKCE used when the client sends it (always for public clients).
    Optional,
    /// Every authorization request must carry an S256 code challenge.
    S256Required,
}

/// The protocol an application speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// OpenID Connect / OAuth 2.0.
    OpenIdConnect,
}

/// An application as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    /// The application's id, also its OAuth `client_id`.
    pub id: ApplicationId,
    /// The environment it belongs to.
    pub environment_id: EnvironmentId,
    /// Display name, shown on the consent page.
    pub name: String,
    /// Free description.
    pub description: Option<String>,
    /// Disabled applications get no tokens.
    pub enabled: bool,
    /// Always OpenID Connect for now.
    pub protocol: Protocol,
    /// The kind of client.
    pub app_type: AppType,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// Allowed response types.
    pub response_types: Vec<ResponseType>,
    /// Registered redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Token endpoint authentication method.
    pub token_endpoint_auth_method: TokenAuthMethod,
    /// PKCE policy.
    pub pkce_enforcement: PkceEnforcement,
    /// When the application was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Application {
    /// A public client cannot keep a secret.
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == TokenAuthMethod::None
    }
}

/// Unvalidated settings of an application (create, or full replace with PUT).
#[derive(Clone, Debug, Default)]
pub struct ApplicationDraft {
    /// Display name (required).
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Defaults to true.
    pub enabled: Option<bool>,
    /// Defaults to OpenID Connect.
    pub protocol: Option<Protocol>,
    /// Required.
    pub app_type: Option<AppType>,
    /// Defaults by type.
    pub grant_types: Option<Vec<GrantType>>,
    /// Defaults to `CODE` when the authorization code grant is allowed.
    pub response_types: Option<Vec<ResponseType>>,
    /// Required with the authorization code grant.
    pub redirect_uris: Option<Vec<String>>,
    /// Defaults by type.
    pub token_endpoint_auth_method: Option<TokenAuthMethod>,
    /// Defaults to S256 required for public clients.
    pub pkce_enforcement: Option<PkceEnforcement>,
}

/// A client secret in its three forms: clear (shown to the creator), hashed (to verify), sealed (to show again).
#[derive(Clone, Debug)]
pub struct ClientSecret {
    /// The secret itself.
    pub clear: String,
    /// Argon2 PHC string used to verify client authentication.
    pub hash: String,
    /// AES-GCM ciphertext, so administrators can read it back.
    pub sealed: Vec<u8>,
}

/// A validated new application and its fresh secret.
#[derive(Clone, Debug)]
pub struct NewApplication {
    /// The application.
    pub application: Application,
    /// Its secret.
    pub secret: ClientSecret,
}

const MAX_REDIRECT_URIS: usize = 100;
const MAX_URI_LENGTH: usize = 2048;

/// Validates a draft into settings; shared by create and replace.
struct Settings {
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
}

fn validate(draft: ApplicationDraft) -> Result<Settings, DomainError> {
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
    let pkce = draft.pkce_enforcement.unwrap_or(if public_by_default {
        PkceEnforcement::S256Required
    } else {
        PkceEnforcement::Optional
    });
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
        })
    })
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

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn apply(app: &mut Application, s: Settings) {
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
}

/// Validates a draft and mints the application's secret, without storing anything.
pub async fn prepare(
    env: EnvironmentId,
    draft: ApplicationDraft,
    secrets: &SecretBox,
) -> Result<NewApplication, DomainError> {
    let settings = validate(draft)?;
    let now = crate::domain::now();
    let mut application = Application {
        id: ApplicationId::new(),
        environment_id: env,
        name: String::new(),
        description: None,
        enabled: true,
        protocol: Protocol::OpenIdConnect,
        app_type: AppType::Worker,
        grant_types: vec![],
        response_types: vec![],
        redirect_uris: vec![],
        token_endpoint_auth_method: TokenAuthMethod::ClientSecretBasic,
        pkce_enforcement: PkceEnforcement::Optional,
        created_at: now,
        updated_at: now,
    };
    apply(&mut application, settings);
    let secret = mint_secret(secrets).await?;
    Ok(NewApplication { application, secret })
}

async fn mint_secret(secrets: &SecretBox) -> Result<ClientSecret, DomainError> {
    let clear = crate::auth::secrets::random_token(32);
    let sealed = secrets.seal(&clear).map_err(DomainError::Unexpected)?;
    let hash = password::hash(clear.clone()).await?;
    Ok(ClientSecret { clear, hash, sealed })
}

/// Creates an application with a fresh client secret.
pub async fn create_application(
    store: &Store,
    secrets: &SecretBox,
    env: EnvironmentId,
    draft: ApplicationDraft,
) -> Result<Application, DomainError> {
    let new = prepare(env, draft, secrets).await?;
    store.insert_application(env, &new.application, &new.secret).await?;
    Ok(new.application)
}

/// Reads one application.
pub async fn get_application(store: &Store, env: EnvironmentId, id: ApplicationId) -> Result<Application, DomainError> {
    Ok(store.get_application(env, id).await?)
}

/// Lists applications in creation order.
pub async fn list_applications(
    store: &Store,
    env: EnvironmentId,
    page: PageRequest,
) -> Result<Page<Application>, DomainError> {
    let items = store.list_applications(env, page.after, page.limit + 1).await?;
    Ok(Page::from_overfetch(items, page.limit, |a| a.id.as_uuid()))
}

/// Replaces every setting (PUT): omitted settings take their defaults again.
pub async fn replace_application(
    store: &Store,
    env: EnvironmentId,
    id: ApplicationId,
    draft: ApplicationDraft,
) -> Result<Application, DomainError> {
    let mut application = store.get_application(env, id).await?;
    let settings = validate(draft)?;
    apply(&mut application, settings);
    application.updated_at = crate::domain::now();
    store.update_application(env, &application).await?;
    Ok(application)
}

/// Deletes an application. Consent records naming it stay in the ledger.
pub async fn delete_application(store: &Store, env: EnvironmentId, id: ApplicationId) -> Result<(), DomainError> {
    Ok(store.delete_application(env, id).await?)
}

/// Reads the application's client secret back in clear.
pub async fn read_secret(
    store: &Store,
    secrets: &SecretBox,
    env: EnvironmentId,
    id: ApplicationId,
) -> Result<String, DomainError> {
    let credentials = store.get_client_credentials(env, id).await?;
    secrets.open(&credentials.sealed_secret).map_err(DomainError::Unexpected)
}

/// Replaces the client secret; the old one stops working at once.
pub async fn rotate_secret(
    store: &Store,
    secrets: &SecretBox,
    env: EnvironmentId,
    id: ApplicationId,
) -> Result<String, DomainError> {
    let secret = mint_secret(secrets).await?;
    store.replace_client_secret(env, id, &secret).await?;
    Ok(secret.clear)
}
