//! The browser side of the authorization-code flow: `/authorize`, the login form and the consent decision.

use poem::http::{HeaderValue, StatusCode};
use poem::web::{Data, Path};
use poem::{Request, RequestBody, Response, handler};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiRequest, ApiResponse, Object, OpenApi};

use super::client::request_context;
use super::json::JsonBody;
use super::pages::{consent_page, error_page, login_page, session_cookie, session_set_cookie};
use super::{ApiTags, resource_id};
use crate::domain::error::DomainError;
use crate::domain::flow::{self, AuthorizeParams, DecisionInput, FlowContext, FlowError, LoginInput, Step};
use crate::domain::ids::EnvironmentId;
use crate::error::ApiError;
use crate::state::AppState;

/// What the flow's use cases need, for `env`.
pub(crate) fn context(state: &AppState, env: EnvironmentId) -> FlowContext<'_> {
    FlowContext {
        store: &state.store,
        enricher: &state.enricher,
        issuer: state.tokens.issuer(env),
        env,
        code_lifetime: state.code_lifetime,
        pending_lifetime: state.pending_lifetime,
    }
}

/// Form fields with repeats kept in order (`scope=a&scope=b`), as HTML forms send them.
pub(crate) fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// The first value of the field `name`.
pub(crate) fn first(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone())
}

/// Renders a flow step; redirects after a form post are 303 (RFC 9110 §15.4.4), after GET 302.
fn respond(
    state: &AppState,
    env: EnvironmentId,
    step: Step,
    new_session: Option<String>,
    redirect: StatusCode,
) -> Response {
    let issuer = state.tokens.issuer(env);
    let mut response = match step {
        Step::Login { handle, app, error, username } => {
            login_page(&issuer, &app, &handle, username.as_deref(), error.as_deref())
        }
        Step::Consent { handle, app, pending, choices } => consent_page(&issuer, &app, &handle, &pending, &choices),
        Step::Redirect(location) => Response::builder().status(redirect).header("Location", location).finish(),
    };
    if let Some(token) = new_session
        && let Ok(cookie) = HeaderValue::from_str(&session_set_cookie(&state.public_url, env, &token))
    {
        response.headers_mut().append("Set-Cookie", cookie);
    }
    response
}

/// An error page is an answer of its own; other failures go through the one error format.
fn failure(error: FlowError) -> poem::Result<Response> {
    match error {
        FlowError::ErrorPage(message) => Ok(error_page(&message)),
        FlowError::Domain(error) => Err(ApiError::from(error).into()),
    }
}

/// `GET /{envId}/as/authorize`: the authorization endpoint (RFC 6749 §4.1.1).
#[handler]
pub async fn authorize(
    state: Data<&AppState>,
    request: &Request,
    Path(env_id): Path<String>,
) -> poem::Result<Response> {
    let env = resource_id(&env_id, EnvironmentId::parse)?;
    let pairs = form_pairs(request.uri().query().unwrap_or_default().as_bytes());
    let params = AuthorizeParams {
        response_type: first(&pairs, "response_type"),
        client_id: first(&pairs, "client_id"),
        redirect_uri: first(&pairs, "redirect_uri"),
        scope: first(&pairs, "scope"),
        state: first(&pairs, "state"),
        code_challenge: first(&pairs, "code_challenge"),
        code_challenge_method: first(&pairs, "code_challenge_method"),
        prompt: first(&pairs, "prompt"),
        nonce: first(&pairs, "nonce"),
        login_verifier: first(&pairs, "login_verifier"),
        consent_verifier: first(&pairs, "consent_verifier"),
    };
    let cookie = session_cookie(request);
    let browser = request_context(request, &state.trusted_proxies);
    match flow::authorize(&context(&state, env), params, cookie.as_deref(), browser).await {
        Ok(authorized) => Ok(respond(&state, env, authorized.step, authorized.new_session_token, StatusCode::FOUND)),
        Err(error) => failure(error),
    }
}

/// `POST /{envId}/as/login`: the hosted login form.
#[handler]
pub async fn login(
    state: Data<&AppState>,
    request: &Request,
    Path(env_id): Path<String>,
    body: poem::Body,
) -> poem::Result<Response> {
    let env = resource_id(&env_id, EnvironmentId::parse)?;
    // Guessing from one address is bounded whatever usernames it tries.
    let source = request_context(request, &state.trusted_proxies).client_ip;
    if let Err(limited) = state.limiters.login_attempt(source) {
        return failure(DomainError::TooManyAttempts(limited.retry_after).into());
    }
    let pairs = form_pairs(&body.into_bytes().await?);
    let input = LoginInput {
        handle: first(&pairs, "authorization"),
        username: first(&pairs, "username"),
        password: first(&pairs, "password"),
    };
    let cookie = session_cookie(request);
    match flow::login(&context(&state, env), input, cookie.as_deref()).await {
        Ok(done) => Ok(respond(&state, env, done.step, done.new_session_token, StatusCode::SEE_OTHER)),
        Err(error) => failure(error),
    }
}

/// The consent decision.
#[derive(Clone, Debug, Default, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    /// The CSRF token of the consent page (its hidden `csrf_token` field).
    pub csrf_token: Option<String>,
    /// The application's id, as in the authorization request.
    pub client_id: Option<String>,
    /// As in the authorization request.
    pub redirect_uri: Option<String>,
    /// The scopes granted. In a form, one `scope` field per ticked box; in JSON, a space-separated
    /// string. Absent in JSON: every scope asked for. Scopes the user cannot untick are granted anyway.
    pub scope: Option<String>,
    /// As in the authorization request.
    pub state: Option<String>,
    /// As in the authorization request.
    pub code_challenge: Option<String>,
    /// `S256` when there is a code challenge.
    pub code_challenge_method: Option<String>,
    /// `approve` or `deny`.
    pub decision: Option<String>,
    /// `true` (approve) or `false` (deny), accepted instead of `decision`.
    pub approval: Option<bool>,
}

impl From<DecisionIn> for DecisionInput {
    fn from(value: DecisionIn) -> Self {
        DecisionInput {
            csrf_token: value.csrf_token,
            client_id: value.client_id,
            redirect_uri: value.redirect_uri,
            scope: value.scope.map(|s| s.split_whitespace().map(str::to_owned).collect()),
            state: value.state,
            code_challenge: value.code_challenge,
            code_challenge_method: value.code_challenge_method,
            decision: value.decision,
            approval: value.approval,
        }
    }
}

/// The consent form as an HTML form posts it (`application/x-www-form-urlencoded`).
pub struct DecisionForm(DecisionInput);

impl Payload for DecisionForm {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(m) if m.essence_str() == Self::CONTENT_TYPE)
    }

    fn schema_ref() -> MetaSchemaRef {
        DecisionIn::schema_ref()
    }

    fn register(registry: &mut Registry) {
        DecisionIn::register(registry);
    }
}

impl ParsePayload for DecisionForm {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let pairs = form_pairs(&body.take()?.into_bytes().await?);
        let approval = match first(&pairs, "approval").as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                return Err(ApiError::from(crate::domain::error::DomainError::field(
                    crate::domain::error::FieldError::invalid("approval", "'approval' must be true or false."),
                ))
                .into());
            }
        };
        // In a form, unticked boxes are simply not sent: no `scope` field means none was ticked.
        let scope: Vec<String> = pairs
            .iter()
            .filter(|(key, _)| key == "scope")
            .flat_map(|(_, value)| value.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        Ok(Self(DecisionInput {
            csrf_token: first(&pairs, "csrf_token"),
            client_id: first(&pairs, "client_id"),
            redirect_uri: first(&pairs, "redirect_uri"),
            scope: Some(scope),
            state: first(&pairs, "state"),
            code_challenge: first(&pairs, "code_challenge"),
            code_challenge_method: first(&pairs, "code_challenge_method"),
            decision: first(&pairs, "decision"),
            approval,
        }))
    }
}

/// The consent decision as a form or as JSON.
#[derive(ApiRequest)]
pub enum DecisionBody {
    /// The hosted consent page's form.
    Form(DecisionForm),
    /// The same fields in JSON.
    Json(JsonBody<DecisionIn>),
}

/// Answers of the consent decision.
#[derive(ApiResponse)]
pub enum DecisionResponse {
    /// Back to the application: `code` and `state` on approval, `error=access_denied` and `state` on denial.
    #[oai(status = 303)]
    Redirect(#[oai(header = "Location")] String, #[oai(header = "Cache-Control")] String),
}

/// The consent decision endpoint.
pub struct ConsentDecisionApi;

#[OpenApi(tag = "ApiTags::OAuth")]
impl ConsentDecisionApi {
    /// Consent decision
    ///
    /// The user's answer on the hosted consent page, bound to the browser's signed-in session (cookie)
    /// and the page's `csrf_token`. Approving writes an `ACCEPTED` consent record with the granted
    /// scopes (enriched from this browser's User-Agent and address) and redirects to the application
    /// with a code; denying writes a `DECLINED` record and redirects with `error=access_denied`.
    /// A request not tied to a pending authorization of this browser answers 400; an unknown
    /// client 404.
    #[oai(path = "/:envId/as/consent", method = "post", operation_id = "oauth.consent")]
    async fn consent(
        &self,
        state: Data<&AppState>,
        request: &Request,
        #[oai(name = "envId")] env_id: poem_openapi::param::Path<String>,
        body: DecisionBody,
    ) -> Result<DecisionResponse, ApiError> {
        let env = resource_id(&env_id, EnvironmentId::parse)?;
        let input = match body {
            DecisionBody::Form(form) => form.0,
            DecisionBody::Json(json) => json.into_inner().into(),
        };
        let cookie = session_cookie(request);
        let browser = request_context(request, &state.trusted_proxies);
        match flow::decide(&context(&state, env), input, cookie.as_deref(), browser).await {
            Ok(location) => Ok(DecisionResponse::Redirect(location, "no-store".into())),
            Err(FlowError::Domain(error)) => Err(error.into()),
            Err(FlowError::ErrorPage(message)) => {
                Err(ApiError::new(crate::error::ErrorCode::InvalidRequest).with_message(message))
            }
        }
    }
}
