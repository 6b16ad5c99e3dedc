//! The hosted account page, `/{envId}/myaccount`: the applications a user has given access to, with
//! "Remove access", and the history of every decision. It is a first-party client of the
//! environment: it signs the user in through the hosted login (authorization code with PKCE, the
//! code exchanged in-process) and keeps the access token in an HttpOnly cookie of its own path.
//! Plain HTML forms, no scripts; the hosted pages' CSP, framing and caching headers.

mod views;

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem::http::{HeaderValue, StatusCode};
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use sha2::{Digest, Sha256};

use self::views::AccountUrls;
use super::flow::{first, form_pairs};
use super::pages::{cookie, error_page};
use super::resource_id;
use crate::auth::secrets::random_token;
use crate::domain::account::{self, ACCOUNT_SCOPES};
use crate::domain::consents::{self, ConsentListQuery};
use crate::domain::error::DomainError;
use crate::domain::ids::{ApplicationId, EnvironmentId, UserId};
use crate::domain::paging::PageRequest;
use crate::domain::tokens::{ClientAuth, TokenRequest};
use crate::error::ApiError;
use crate::state::AppState;

/// The cookie holding the page's access token.
const TOKEN_COOKIE: &str = "assent_account";
/// The cookie holding a sign-in in progress: its `state` and PKCE verifier.
const SIGN_IN_COOKIE: &str = "assent_account_sign_in";
/// How long a sign-in may take, in seconds (the hosted login page's own lifetime bounds it too).
const SIGN_IN_SECONDS: i64 = 600;
/// Records per history page.
const HISTORY_PAGE: i64 = 20;

fn base_path(env: EnvironmentId) -> String {
    format!("/{env}/myaccount")
}

fn urls(state: &AppState, env: EnvironmentId) -> AccountUrls {
    let base = state.url(&base_path(env));
    AccountUrls { history: format!("{base}/history"), remove: format!("{base}/remove"), apps: base }
}

fn callback_url(state: &AppState, env: EnvironmentId) -> String {
    state.url(&format!("{}/callback", base_path(env)))
}

/// A `Set-Cookie` for the page's path: HttpOnly, SameSite=Lax, Secure behind HTTPS; `max_age` 0 deletes it.
fn set_cookie(state: &AppState, env: EnvironmentId, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if state.public_url.starts_with("https://") { "; Secure" } else { "" };
    let path = base_path(env);
    HeaderValue::from_str(&format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"))
        .ok()
}

fn with_cookies(mut response: Response, cookies: impl IntoIterator<Item = Option<HeaderValue>>) -> Response {
    for value in cookies.into_iter().flatten() {
        response.headers_mut().append("Set-Cookie", value);
    }
    response
}

fn redirect(location: &str) -> Response {
    Response::builder().status(StatusCode::SEE_OTHER).header("Location", location).finish()
}

/// The form's CSRF token: derived from the page's access token, which a page of another site can
/// neither read (HttpOnly) nor guess.
fn csrf_token(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("assent-account-csrf\0{access_token}").as_bytes()))
}

/// A signed-in user of the page: a live token of the page's own application, for a user of `env`.
struct SignedIn {
    user: UserId,
    token: String,
}

async fn signed_in(state: &AppState, env: EnvironmentId, request: &Request) -> Option<SignedIn> {
    let token = cookie(request, TOKEN_COOKIE)?;
    let principal = state.tokens.authenticate(&token).await.ok()?;
    let own =
        principal.environment_id == env && principal.client_id == account::account_application_id(env).to_string();
    let user = principal.user_id.filter(|_| own)?;
    Some(SignedIn { user, token })
}

/// An error while showing a page: an HTML page a person can read, with the domain error's status.
fn page_failure(error: DomainError) -> poem::Result<Response> {
    match error {
        DomainError::NotFound => Err(ApiError::from(error).into()),
        other => {
            let api = ApiError::from(other);
            let mut response = error_page(api.body().message.as_str());
            response.set_status(api.status());
            Ok(response)
        }
    }
}

/// Sends the browser to the hosted login, as the page's own client with PKCE.
async fn start_sign_in(state: &AppState, env: EnvironmentId) -> poem::Result<Response> {
    let callback_uri = callback_url(state, env);
    let app = match account::account_application(&state.store, &state.secrets, env, &callback_uri).await {
        Ok(app) => app,
        Err(error) => return page_failure(error),
    };
    if !app.enabled {
        return Ok(error_page("The account page is switched off in this environment."));
    }
    let verifier = random_token(32);
    let sign_in_state = random_token(16);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut authorize = url::Url::parse(&format!("{}/authorize", state.tokens.issuer(env)))
        .map_err(|e| ApiError::unexpected(format!("the issuer is not a URL: {e}")))?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.id.to_string())
        .append_pair("redirect_uri", &callback_uri)
        .append_pair("scope", &ACCOUNT_SCOPES.join(" "))
        .append_pair("state", &sign_in_state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let pending = set_cookie(state, env, SIGN_IN_COOKIE, &format!("{sign_in_state}.{verifier}"), SIGN_IN_SECONDS);
    Ok(with_cookies(redirect(authorize.as_str()), [pending]))
}

/// The scopes' consent-page descriptions.
async fn descriptions(state: &AppState, env: EnvironmentId) -> Result<HashMap<String, String>, DomainError> {
    let scopes = crate::domain::scopes::all_scopes(&state.store, env).await?;
    Ok(scopes.into_iter().filter_map(|s| s.description.map(|d| (s.name, d))).collect())
}

/// `GET /{envId}/myaccount`: the applications with access to the user's account.
#[handler]
pub async fn apps(state: Data<&AppState>, request: &Request, Path(env_id): Path<String>) -> poem::Result<Response> {
    let env = resource_id(&env_id, EnvironmentId::parse)?;
    let Some(session) = signed_in(&state, env, request).await else { return start_sign_in(&state, env).await };
    let user = session.user;
    let shown = async {
        let grants = account::access_grants(&state.store, env, user).await?;
        let descriptions = descriptions(&state, env).await?;
        Ok::<_, DomainError>(views::app_views(&grants, &descriptions, account::account_application_id(env)))
    };
    match shown.await {
        Ok(apps) => Ok(views::apps_page(&urls(&state, env), &csrf_token(&session.token), &apps)),
        Err(error) => page_failure(error),
    }
}

/// `GET /{envId}/myaccount/history`: every record of the user, newest first, a page at a time.
#[handler]
pub async fn history(state: Data<&AppState>, request: &Request, Path(env_id): Path<String>) -> poem::Result<Response> {
    let env = resource_id(&env_id, EnvironmentId::parse)?;
    let Some(session) = signed_in(&state, env, request).await else { return start_sign_in(&state, env).await };
    let user = session.user;
    let cursor = query_value(request, "cursor");
    let page = match PageRequest::parse(Some(HISTORY_PAGE), cursor.as_deref()) {
        Ok(page) => page,
        Err(error) => return page_failure(error),
    };
    let query = ConsentListQuery { user: Some(user), filter: None, page };
    let page = match consents::list_consents(&state.store, env, query).await {
        Ok(page) => page,
        Err(error) => return page_failure(error),
    };
    let urls = urls(&state, env);
    let link = |cursor: &str| format!("{}?cursor={}", urls.history, super::types::urlencode(cursor));
    let newer = page.prev_cursor.as_deref().map(link);
    let older = page.next_cursor.as_deref().map(link);
    // The texts each decision was shown, as they were then.
    let texts = match crate::domain::proof::receipt::shown_texts(&state.store, env, &page.items).await {
        Ok(texts) => texts,
        Err(error) => return page_failure(error),
    };
    let records = views::record_views(&page.items, &texts, chrono::Utc::now());
    Ok(views::history_page(&urls, &records, newer.as_deref(), older.as_deref()))
}

fn query_value(request: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `GET /{envId}/myaccount/callback`: back from the hosted login with a code; exchanged in-process.
#[handler]
pub async fn callback(state: Data<&AppState>, request: &Request, Path(env_id): Path<String>) -> poem::Result<Response> {
    let env = resource_id(&env_id, EnvironmentId::parse)?;
    let forget = set_cookie(&state, env, SIGN_IN_COOKIE, "", 0);
    let pending = cookie(request, SIGN_IN_COOKIE);
    let Some((expected, verifier)) = pending.as_deref().and_then(|p| p.split_once('.')) else {
        return Ok(with_cookies(
            error_page("This sign-in was not started here, or took too long. Open your account page again."),
            [forget],
        ));
    };
    if query_value(request, "state").as_deref() != Some(expected) {
        return Ok(with_cookies(
            error_page("This sign-in answer does not belong to this browser. Open your account page again."),
            [forget],
        ));
    }
    if let Some(error) = query_value(request, "error") {
        let why = query_value(request, "error_description").unwrap_or(error);
        return Ok(with_cookies(error_page(&format!("Signing in did not finish: {why}")), [forget]));
    }
    let exchange = TokenRequest {
        grant_type: Some("authorization_code".into()),
        client: ClientAuth {
            form_client_id: Some(account::account_application_id(env).to_string()),
            ..ClientAuth::default()
        },
        code: query_value(request, "code"),
        redirect_uri: Some(callback_url(&state, env)),
        code_verifier: Some(verifier.to_owned()),
        ..TokenRequest::default()
    };
    match crate::domain::tokens::exchange(&state.store, &state.tokens, env, exchange).await {
        Ok(granted) => {
            let token = set_cookie(&state, env, TOKEN_COOKIE, &granted.access_token, granted.expires_in);
            Ok(with_cookies(redirect(&urls(&state, env).apps), [token, forget]))
        }
        Err(refused) => Ok(with_cookies(error_page(&format!("Signing in did not finish: {refused}")), [forget])),
    }
}

/// `POST /{envId}/myaccount/remove`: removes an application's access (form: `csrf_token`, `application`).
#[handler]
pub async fn remove(
    state: Data<&AppState>,
    request: &Request,
    Path(env_id): Path<String>,
    body: poem::Body,
) -> poem::Result<Response> {
    let env = resource_id(&env_id, EnvironmentId::parse)?;
    let Some(session) = signed_in(&state, env, request).await else { return start_sign_in(&state, env).await };
    let user = session.user;
    let form = form_pairs(&body.into_bytes().await?);
    if first(&form, "csrf_token").as_deref() != Some(csrf_token(&session.token).as_str()) {
        let mut refused = error_page("This form has expired. Go back to your account page and try again.");
        refused.set_status(StatusCode::FORBIDDEN);
        return Ok(refused);
    }
    let Some(application) = first(&form, "application").as_deref().and_then(ApplicationId::parse) else {
        return Ok(error_page("Choose an application whose access to remove."));
    };
    match account::remove_access(&state.store, env, user, application).await {
        Ok(removed) => {
            let urls = urls(&state, env);
            // Removing the page's own access ended its token: say so, and drop the cookie.
            if application == account::account_application_id(env) {
                let forget = set_cookie(&state, env, TOKEN_COOKIE, "", 0);
                return Ok(with_cookies(views::removed_page(&urls, &removed.name, true), [forget]));
            }
            Ok(views::removed_page(&urls, &removed.name, false))
        }
        Err(DomainError::NotFound) => Ok(error_page("That application has no access to your account.")),
        Err(error) => page_failure(error),
    }
}
