//! `TestApp`: starts Assent on 127.0.0.1:0 over a fresh SQLite file, or a fresh PostgreSQL database
//! when `ASSENT_TEST_POSTGRES_URL` is set, and bootstraps an environment with a worker token.

use std::sync::atomic::{AtomicBool, Ordering};

use assent::auth::secrets::generate_master_key;
use assent::config::{Config, Settings};
use assent::domain::environments::bootstrap;
use assent::startup::Application;
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

/// Where the test database lives; kept alive as long as the app.
pub enum TestDatabase {
    /// A SQLite file in a temporary directory.
    Sqlite(#[allow(dead_code)] TempDir),
    /// A PostgreSQL database created for this test.
    Postgres(#[allow(dead_code)] String),
}

/// A running server with one bootstrapped environment.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The bootstrapped environment.
    pub env_id: String,
    /// Its administrator worker.
    pub client_id: String,
    /// The worker's secret.
    pub client_secret: String,
    /// A worker access token.
    pub token: String,
    /// The settings the server runs with (to start a second server on the same database).
    pub settings: Settings,
    /// The database, dropped with the app (held for its lifetime only).
    #[allow(dead_code)]
    pub database: TestDatabase,
    /// The server's shared state (for seeding a second environment).
    pub state: assent::state::AppState,
}

/// A second environment in the same server.
pub struct OtherEnvironment {
    /// Its id.
    pub env_id: String,
    /// A worker token of it.
    pub token: String,
}

static POSTGRES_NOTICE: AtomicBool = AtomicBool::new(false);

/// A fresh database URL for one test: a SQLite file, or a new PostgreSQL database under `ASSENT_TEST_POSTGRES_URL`.
pub async fn fresh_database() -> (String, TestDatabase) {
    match std::env::var("ASSENT_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            if !POSTGRES_NOTICE.swap(true, Ordering::SeqCst) {
                eprintln!("tests run against PostgreSQL at {admin_url}");
            }
            let name = format!("assent_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(&admin_url).await.expect("connect to ASSENT_TEST_POSTGRES_URL");
            use sea_orm::ConnectionTrait;
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
            admin.close().await.ok();
            let base = admin_url.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin_url.clone());
            (format!("{base}/{name}"), TestDatabase::Postgres(name))
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("assent.db").display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

/// Settings for a test server on `database_url`.
pub fn test_settings(database_url: &str, secret_key: &str) -> Settings {
    test_config(database_url, secret_key).validate().expect("valid test settings")
}

/// The configuration of a test server on `database_url`, before validation.
pub fn test_config(database_url: &str, secret_key: &str) -> Config {
    Config {
        database_url: database_url.to_owned(),
        listen: "127.0.0.1:0".into(),
        secret_key: Some(secret_key.to_owned()),
        db_max_connections: 5,
        ..Config::default()
    }
}

/// Starts a server with `settings` and returns its base URL and state.
pub async fn start_server(settings: Settings) -> (String, assent::state::AppState) {
    assent::telemetry::init_for_tests();
    let app = Application::build(settings).await.expect("server builds");
    let base = app.public_url();
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    (base, state)
}

impl TestApp {
    /// A server over a fresh database with one bootstrapped environment.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`TestApp::spawn`], with configuration changes (trusted proxies, GeoIP database, …).
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        let (url, database) = fresh_database().await;
        let mut config = test_config(&url, &generate_master_key());
        configure(&mut config);
        let settings = config.validate().expect("valid test settings");
        let (base, state) = start_server(settings.clone()).await;
        let created = bootstrap(&state.store, &state.secrets, "Test environment".into()).await.expect("bootstrap");
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let mut app = TestApp {
            base,
            client,
            env_id: created.environment.id.to_string(),
            client_id: created.client_id,
            client_secret: created.client_secret,
            token: String::new(),
            settings,
            database,
            state,
        };
        app.token = app.worker_token(&app.env_id.clone(), &app.client_id.clone(), &app.client_secret.clone()).await;
        app
    }

    /// Bootstraps another environment in the same server.
    pub async fn other_environment(&self) -> OtherEnvironment {
        let created = bootstrap(&self.state.store, &self.state.secrets, "Other".into()).await.expect("bootstrap");
        let env_id = created.environment.id.to_string();
        let token = self.worker_token(&env_id, &created.client_id, &created.client_secret).await;
        OtherEnvironment { env_id, token }
    }

    /// A client_credentials token via HTTP Basic.
    pub async fn worker_token(&self, env_id: &str, client_id: &str, secret: &str) -> String {
        let response = self
            .client
            .post(format!("{}/{env_id}/as/token", self.base))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), StatusCode::OK, "token request failed");
        let body: Value = response.json().await.expect("token json");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// URL of a path in this environment's management API (`""` is the environment itself).
    pub fn env_url(&self, path: &str) -> String {
        format!("{}/v1/environments/{}{path}", self.base, self.env_id)
    }

    /// Sends a request with the worker token and checks the status; returns the JSON body (Null when empty).
    pub async fn call(&self, method: reqwest::Method, url: &str, body: Option<Value>, expected: u16) -> Value {
        call_with(&self.client, &self.token, method, url, body, expected).await
    }

    /// GET with the worker token.
    pub async fn get(&self, url: &str, expected: u16) -> Value {
        self.call(reqwest::Method::GET, url, None, expected).await
    }

    /// POST JSON with the worker token.
    pub async fn post(&self, url: &str, body: Value, expected: u16) -> Value {
        self.call(reqwest::Method::POST, url, Some(body), expected).await
    }

    /// Creates a user and returns its body.
    pub async fn create_user(&self, username: &str) -> Value {
        self.post(&self.env_url("/users"), serde_json::json!({"username": username}), 201).await
    }

    /// Creates an application and returns its body.
    pub async fn create_app(&self, body: Value) -> Value {
        self.post(&self.env_url("/applications"), body, 201).await
    }
}

/// Sends a request with `token` and checks the status.
pub async fn call_with(
    client: &reqwest::Client,
    token: &str,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let mut request = client.request(method.clone(), url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body read");
    assert_eq!(status, expected, "{method} {url} answered {status}: {text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON body") }
}

/// Checks the one error format and returns the body.
pub fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["code"], code, "error body: {body}");
    let id = body["id"].as_str().expect("error id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "id is a UUID: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "message present: {body}");
}

/// The detail of an error with `code` and `target`, if present.
pub fn has_detail(body: &Value, code: &str, target: &str) -> bool {
    body["details"].as_array().is_some_and(|details| details.iter().any(|d| d["code"] == code && d["target"] == target))
}

/// The detail of an error with `code` (whatever its target), if present.
pub fn has_detail_code(body: &Value, code: &str) -> bool {
    body["details"].as_array().is_some_and(|details| details.iter().any(|d| d["code"] == code))
}

/// A raw answer, for tests that look at headers or at bodies that are not JSON.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body text.
    pub text: String,
}

impl Answer {
    /// Sends `request` and reads the whole answer.
    pub async fn of(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        Answer { status, headers, text }
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("JSON body expected ({e}): {}", self.text))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// `POST /{env_id}/as/token` with `form`, and HTTP Basic credentials when given.
    pub async fn token_request(&self, env_id: &str, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Answer {
        let mut request = self.client.post(format!("{}/{env_id}/as/token", self.base)).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        Answer::of(request).await
    }

    /// Reads an application's client secret.
    pub async fn app_secret(&self, app_id: &str) -> String {
        let body = self.get(&self.env_url(&format!("/applications/{app_id}/secret")), 200).await;
        body["secret"].as_str().expect("secret").to_owned()
    }
}

/// Checks an RFC 6749 §5.2 error answer (status, `error`, `error_description`, no caching) and returns its body.
pub fn assert_oauth_error(answer: &Answer, status: u16, error: &str) -> Value {
    assert_eq!(answer.status, status, "answer: {}", answer.text);
    let body = answer.json();
    assert_eq!(body["error"], error, "body: {body}");
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "error_description: {body}");
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 2, "only error and error_description: {body}");
    assert_eq!(answer.header("Cache-Control"), Some("no-store"));
    if status == 401 {
        let challenge = answer.header("WWW-Authenticate").expect("WWW-Authenticate on 401");
        assert!(challenge.starts_with("Basic"), "challenge: {challenge}");
    }
    body
}

/// The `assent` binary on `database_url`, with nothing else from the test's environment.
pub fn assent_command(database_url: &str, secret_key: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_assent"));
    command
        .env_clear()
        .env("ASSENT_DATABASE_URL", database_url)
        .env("ASSENT_SECRET_KEY", secret_key)
        .env("ASSENT_LISTEN", "127.0.0.1:0")
        .env("ASSENT_LOG_FORMAT", "json")
        .env("ASSENT_LOG_LEVEL", "info");
    command
}

/// The environment variable naming the file where skipping tests list themselves (`scripts/test` sets it).
pub const SKIP_LOG_VAR: &str = "ASSENT_TEST_SKIP_LOG";

/// Records that the running test skips itself, and why: on stderr, and as one line appended to the
/// file named by [`SKIP_LOG_VAR`] when set, so a green run can tell what it did not cover. The
/// caller returns right after.
#[track_caller]
pub fn skip(reason: &str) {
    use std::io::Write;
    eprintln!("skipped: {reason}");
    let Some(log) = std::env::var_os(SKIP_LOG_VAR).filter(|path| !path.is_empty()) else { return };
    // libtest runs each test on a thread named after it; the call site stands in otherwise.
    let current = std::thread::current();
    let test = match current.name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => std::panic::Location::caller().to_string(),
    };
    let database = match std::env::var("ASSENT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => "PostgreSQL",
        _ => "SQLite",
    };
    let line = format!("{test} ({database}): {}\n", reason.replace('\n', " "));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap_or_else(|e| panic!("{SKIP_LOG_VAR} names a file that cannot be opened ({e}): {}", log.display()));
    // One write of the whole line, under an exclusive lock: lines of tests skipping on parallel
    // threads (or in parallel processes) never interleave.
    file.lock().expect("lock the skip log");
    file.write_all(line.as_bytes()).expect("append to the skip log");
}
