//! Applications (OAuth clients) of an environment: their settings and use cases; the rules live in [`rules`].

mod rules;

use chrono::{DateTime, Utc};

use super::error::DomainError;
use super::ids::{ApplicationId, EnvironmentId};
use super::paging::{COUNT_BOUND, Page, PageRequest, read_page};
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

/// Whether users see a consent page before the application gets their scopes (Okta's `consent_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsentMethod {
    /// A first-party application: no consent page; the grant is still recorded as implicitly accepted.
    Trusted,
    /// Users are asked for the scopes that need consent.
    Required,
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
    /// Whether users are asked for consent.
    pub consent_method: ConsentMethod,
    /// Names of the environment's scopes the application may request, in the order given.
    pub scopes: Vec<String>,
    /// When the application was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Moves on when the secret is rotated or the application disabled; client_credentials tokens
    /// carry the version they were issued under and stand only while it is current.
    pub credential_version: i32,
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
    /// Defaults to `Required`.
    pub consent_method: Option<ConsentMethod>,
    /// Defaults by type; each must be a scope of the environment.
    pub scopes: Option<Vec<String>>,
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

/// Validates a draft and mints the application's secret, without storing anything.
///
/// `known_scopes` are the names among `draft.scopes` that exist in the environment.
pub async fn prepare(
    env: EnvironmentId,
    draft: ApplicationDraft,
    known_scopes: &[String],
    secrets: &SecretBox,
) -> Result<NewApplication, DomainError> {
    let settings = rules::validate(draft, known_scopes)?;
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
        consent_method: ConsentMethod::Required,
        scopes: vec![],
        created_at: now,
        updated_at: now,
        credential_version: 0,
    };
    rules::apply(&mut application, settings);
    let secret = mint_secret(secrets).await?;
    Ok(NewApplication { application, secret })
}

async fn mint_secret(secrets: &SecretBox) -> Result<ClientSecret, DomainError> {
    let clear = crate::auth::secrets::random_token(32);
    let sealed = secrets.seal(&clear).map_err(DomainError::Unexpected)?;
    let hash = password::hash(clear.clone()).await?;
    Ok(ClientSecret { clear, hash, sealed })
}

/// The names among the draft's scopes that exist in the environment.
async fn known_scopes(store: &Store, env: EnvironmentId, draft: &ApplicationDraft) -> Result<Vec<String>, DomainError> {
    match draft.scopes.as_deref() {
        None | Some([]) => Ok(vec![]),
        Some(names) => Ok(store.existing_scope_names(env, &rules::bounded(names)).await?),
    }
}

/// Creates an application with a fresh client secret.
pub async fn create_application(
    store: &Store,
    secrets: &SecretBox,
    env: EnvironmentId,
    draft: ApplicationDraft,
) -> Result<Application, DomainError> {
    let known = known_scopes(store, env, &draft).await?;
    let new = prepare(env, draft, &known, secrets).await?;
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
    let fetch = store.list_applications(env, page);
    let count = store.count_applications(env, COUNT_BOUND);
    Ok(read_page(page, |a: &Application| a.id.as_uuid(), fetch, count).await?)
}

/// Replaces every setting (PUT): omitted settings take their defaults again. Taking a scope (a
/// worker's permission included) or the client_credentials grant away ends the tokens the
/// application got by client_credentials.
pub async fn replace_application(
    store: &Store,
    env: EnvironmentId,
    id: ApplicationId,
    draft: ApplicationDraft,
) -> Result<Application, DomainError> {
    let before = store.get_application(env, id).await?;
    let known = known_scopes(store, env, &draft).await?;
    let settings = rules::validate(draft, &known)?;
    let mut application = before.clone();
    rules::apply(&mut application, settings);
    application.updated_at = crate::domain::now();
    let ends_client_tokens = rules::narrows_client_credentials(&before, &application);
    store.update_application(env, &application, ends_client_tokens).await?;
    Ok(application)
}

/// Deletes an application, ending its grants and tokens. Consent records naming it stay in the
/// ledger; the accepted, unexpired ones become `REVOKED` (`APPLICATION_DELETED`): they no longer grant anything.
pub async fn delete_application(store: &Store, env: EnvironmentId, id: ApplicationId) -> Result<(), DomainError> {
    Ok(store.delete_application(env, id, crate::domain::now()).await?)
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
