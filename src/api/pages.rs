//! The hosted pages: server-rendered HTML without scripts or external assets, a per-response CSP
//! nonce for the inline stylesheet, no framing, and the browser session cookie.

use askama::Template;
use poem::http::{HeaderValue, StatusCode};
use poem::{Request, Response};

use crate::auth::secrets::random_token;
use crate::domain::applications::Application;
use crate::domain::flow::{PendingAuthorization, ScopeChoice};
use crate::domain::ids::EnvironmentId;

/// Name of the browser session cookie (scoped to one environment's `/as/` path).
pub const SESSION_COOKIE: &str = "assent_session";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    nonce: &'a str,
    action: &'a str,
    app_name: &'a str,
    handle: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    nonce: &'a str,
    action: &'a str,
    app_name: &'a str,
    handle: &'a str,
    client_id: String,
    redirect_uri: &'a str,
    state: Option<&'a str>,
    code_challenge: Option<&'a str>,
    choices: &'a [ScopeChoice],
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    nonce: &'a str,
    message: &'a str,
}

/// The session token the browser sent, if any.
pub fn session_cookie(request: &Request) -> Option<String> {
    cookie(request, SESSION_COOKIE)
}

/// The value of the cookie `name` the browser sent, if any.
pub fn cookie(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get_all("Cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value for a new session token: HttpOnly, SameSite=Lax, Secure behind HTTPS.
pub fn session_set_cookie(public_url: &str, env: EnvironmentId, token: &str) -> String {
    let secure = if public_url.starts_with("https://") { "; Secure" } else { "" };
    let max_age = crate::domain::flow::SESSION_LIFETIME.num_seconds();
    format!("{SESSION_COOKIE}={token}; Path=/{env}/as; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// Wraps rendered HTML with the security headers. `form_target` is where the page's form may
/// lead, including the redirect after it (CSP `form-action` also governs that redirect).
pub(crate) fn page(
    status: StatusCode,
    html: Result<String, askama::Error>,
    nonce: &str,
    form_target: &[&str],
) -> Response {
    let html = match html {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(%error, "rendering a page failed");
            return Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).body("The page could not be shown.");
        }
    };
    let form_action = if form_target.is_empty() { "'none'".to_owned() } else { form_target.join(" ") };
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; form-action {form_action}; frame-ancestors 'none'; \
         base-uri 'none'"
    );
    let mut response = Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header("X-Frame-Options", "DENY")
        .header("Referrer-Policy", "no-referrer")
        .header("Cache-Control", "no-store")
        .body(html);
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response.headers_mut().insert("Content-Security-Policy", value);
    }
    response
}

/// The origin of a redirect URI, for `form-action`; custom schemes (native apps) are allowed whole.
fn origin_of(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url.origin().ascii_serialization(),
        Ok(url) => format!("{}:", url.scheme()),
        Err(_) => "'none'".into(),
    }
}

/// The hosted login page.
pub fn login_page(
    issuer: &str,
    app: &Application,
    handle: &str,
    username: Option<&str>,
    error: Option<&str>,
) -> Response {
    let nonce = random_token(16);
    let action = format!("{issuer}/login");
    let html = LoginPage {
        nonce: &nonce,
        action: &action,
        app_name: &app.name,
        handle,
        username: username.unwrap_or_default(),
        error,
    }
    .render();
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    page(status, html, &nonce, &["'self'"])
}

/// The hosted consent page.
pub fn consent_page(
    issuer: &str,
    app: &Application,
    handle: &str,
    pending: &PendingAuthorization,
    choices: &[ScopeChoice],
) -> Response {
    let nonce = random_token(16);
    let action = format!("{issuer}/consent");
    let html = ConsentPage {
        nonce: &nonce,
        action: &action,
        app_name: &app.name,
        handle,
        client_id: app.id.to_string(),
        redirect_uri: &pending.redirect_uri,
        state: pending.state.as_deref(),
        code_challenge: pending.code_challenge.as_deref(),
        choices,
    }
    .render();
    let redirect_origin = origin_of(&pending.redirect_uri);
    page(StatusCode::OK, html, &nonce, &["'self'", &redirect_origin])
}

/// The page shown when a request cannot be sent back to its client.
pub fn error_page(message: &str) -> Response {
    let nonce = random_token(16);
    let html = ErrorPage { nonce: &nonce, message }.render();
    page(StatusCode::BAD_REQUEST, html, &nonce, &[])
}
