//! Configuration: compiled-in defaults, then an optional TOML file, then `ASSENT_*` environment variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::auth::secrets::SecretBox;
use crate::enrich::{GeoIpSource, TrustedProxies};
use crate::server::ConnectionLimits;
use crate::store::StoreSettings;

/// Log output style.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Every setting, as read; [`Config::validate`] turns it into [`Settings`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `ASSENT_DATABASE_URL`: `sqlite://FILE?mode=rwc` or `postgres://…`.
    pub database_url: String,
    /// `ASSENT_LISTEN`: address and port to listen on.
    pub listen: String,
    /// `ASSENT_PUBLIC_URL`: base of absolute links and token issuers; default `http://{listen}`.
    pub public_url: Option<String>,
    /// `ASSENT_LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
    /// `ASSENT_LOG_LEVEL`: a tracing filter such as `info` or `assent=debug,info`.
    pub log_level: String,
    /// `ASSENT_SECRET_KEY`: base64 32-byte master key sealing stored secrets; default read from `secret_key_file`.
    pub secret_key: Option<String>,
    /// `ASSENT_SECRET_KEY_FILE`: where the master key lives when `secret_key` is unset (created on first run).
    pub secret_key_file: String,
    /// `ASSENT_TOKEN_LIFETIME_SECS`: access token lifetime.
    pub token_lifetime_secs: i64,
    /// `ASSENT_TOKEN_RECHECK_MS`: how long a node believes a token still stands before asking the
    /// database again (0 to 1000); the bound on how late another node's revocation takes effect.
    pub token_recheck_ms: u64,
    /// `ASSENT_CODE_LIFETIME_SECS`: authorization code lifetime (1 to 60).
    pub code_lifetime_secs: i64,
    /// `ASSENT_CHALLENGE_LIFETIME_SECS`: how long login and consent pages and external challenges stay valid.
    pub challenge_lifetime_secs: i64,
    /// `ASSENT_DB_MAX_CONNECTIONS`: connection pool size.
    pub db_max_connections: u32,
    /// `ASSENT_DB_ACQUIRE_TIMEOUT_MS`: wait for a pooled connection.
    pub db_acquire_timeout_ms: u64,
    /// `ASSENT_DB_STATEMENT_TIMEOUT_MS`: PostgreSQL statement timeout / SQLite busy timeout.
    pub db_statement_timeout_ms: u64,
    /// `ASSENT_REQUEST_BODY_LIMIT`: largest request body in bytes.
    pub request_body_limit: usize,
    /// `ASSENT_REQUEST_TIMEOUT_MS`: a request taking longer is answered 503.
    pub request_timeout_ms: u64,
    /// `ASSENT_HEADER_READ_TIMEOUT_MS`: a request head must arrive within this (from the connection's
    /// start or the head's first byte); the connection is closed otherwise.
    pub header_read_timeout_ms: u64,
    /// `ASSENT_BODY_READ_TIMEOUT_MS`: a request body must arrive within this once its head has; 408 otherwise.
    pub body_read_timeout_ms: u64,
    /// `ASSENT_IDLE_TIMEOUT_MS`: a connection with no request in progress is closed after this long without a byte.
    pub idle_timeout_ms: u64,
    /// `ASSENT_MAX_CONNECTIONS`: connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// `ASSENT_SHUTDOWN_GRACE_MS`: on SIGTERM or Ctrl-C, how long requests in flight may take to finish.
    pub shutdown_grace_ms: u64,
    /// `ASSENT_TRUSTED_PROXIES`: comma-separated CIDRs whose `X-Forwarded-For` is believed.
    pub trusted_proxies: String,
    /// `ASSENT_GEOIP_DB`: path of a GeoIP2/GeoLite2-City `.mmdb`; unset = the bundled database, `none` = no GeoIP.
    pub geoip_db: Option<String>,
    /// `ASSENT_ENV_REQUESTS_PER_SEC`: sustained requests per second each environment may send (per node).
    pub env_requests_per_sec: u32,
    /// `ASSENT_ENV_REQUEST_BURST`: requests an environment may send at once above that rate.
    pub env_request_burst: u32,
    /// `ASSENT_ENV_REQUEST_OVERRIDES`: environments with a budget of their own, `ENV_ID=RATE,…`
    /// (requests per second; burst twice the rate).
    pub env_request_overrides: String,
    /// `ASSENT_CLIENT_SECRET_CHECKS_PER_MIN`: client-secret checks (not already known good) per client per minute.
    pub client_secret_checks_per_min: u32,
    /// `ASSENT_ADDRESS_SECRET_CHECKS_PER_MIN`: client-secret checks per source address per minute.
    pub address_secret_checks_per_min: u32,
    /// `ASSENT_ADDRESS_LOGINS_PER_MIN`: sign-in attempts per source address per minute.
    pub address_logins_per_min: u32,
    /// `ASSENT_ARGON2_WORKERS`: password hashes computed at once; 0 = one per core.
    pub argon2_workers: usize,
    /// `ASSENT_ARGON2_QUEUE`: callers that may wait for a password hash; more are answered 503.
    pub argon2_queue: usize,
    /// `ASSENT_METRICS_TOKEN`: when set (16 to 256 characters), `/metrics` asks for it as a bearer token.
    pub metrics_token: Option<String>,
    /// `ASSENT_METRICS`: `false` turns request metrics and `/metrics` off (to measure what they cost).
    pub metrics: bool,
    /// `ASSENT_CHECKPOINT_EVERY_EVENTS`: sign a checkpoint of an environment's event chain once this
    /// many events were appended since the last (1 to 1,000,000).
    pub checkpoint_every_events: u64,
    /// `ASSENT_CHECKPOINT_INTERVAL_MS`: sign one at least this often while events are appended
    /// (100 ms to one day).
    pub checkpoint_interval_ms: u64,
    /// `ASSENT_WEBHOOK_ALLOW_PRIVATE`: `true` lets webhook subscriptions use http and addresses on
    /// loopback, private and link-local networks (tests, labs); never in production.
    pub webhook_allow_private: bool,
    /// `ASSENT_WEBHOOK_RETRY_SCHEDULE_MS`: waits before each retry of a failing destination,
    /// comma-separated milliseconds (the last repeats; each ±20 %).
    #[serde(deserialize_with = "webhooks::text")]
    pub webhook_retry_schedule_ms: String,
    /// `ASSENT_WEBHOOK_DISABLE_AFTER_MS`: a subscription failing this long is disabled (1 s to 30 days).
    pub webhook_disable_after_ms: u64,
    /// `ASSENT_WEBHOOK_TIMEOUT_MS`: the longest one delivery may take (100 ms to 60 s).
    pub webhook_timeout_ms: u64,
    /// `ASSENT_WEBHOOK_LEASE_MS`: how long a node holds a subscription it delivers; after a crash,
    /// another node resumes it this much later (1 s to 10 min, above the timeout).
    pub webhook_lease_ms: u64,
    /// `ASSENT_WEBHOOK_POLL_MS`: how often a node looks for events other nodes committed (50 ms to 60 s).
    pub webhook_poll_ms: u64,
    /// `ASSENT_WEBHOOK_CONCURRENCY`: subscriptions one node delivers at once (1 to 256).
    pub webhook_concurrency: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://assent.db?mode=rwc".into(),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            secret_key: None,
            secret_key_file: "assent.key".into(),
            token_lifetime_secs: 3600,
            token_recheck_ms: 1000,
            code_lifetime_secs: 60,
            challenge_lifetime_secs: 600,
            db_max_connections: 16,
            db_acquire_timeout_ms: 5_000,
            db_statement_timeout_ms: 10_000,
            request_body_limit: 64 * 1024,
            request_timeout_ms: 30_000,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            idle_timeout_ms: 75_000,
            max_connections: 1024,
            shutdown_grace_ms: 20_000,
            trusted_proxies: String::new(),
            geoip_db: None,
            env_requests_per_sec: 50_000,
            env_request_burst: 100_000,
            env_request_overrides: String::new(),
            client_secret_checks_per_min: 20,
            address_secret_checks_per_min: 60,
            address_logins_per_min: 60,
            argon2_workers: 0,
            argon2_queue: crate::auth::password::DEFAULT_QUEUE,
            metrics_token: None,
            metrics: true,
            checkpoint_every_events: 1000,
            checkpoint_interval_ms: 60_000,
            webhook_allow_private: false,
            webhook_retry_schedule_ms: "5000,300000,1800000,7200000,18000000,36000000".into(),
            webhook_disable_after_ms: 5 * 86_400_000,
            webhook_timeout_ms: 10_000,
            webhook_lease_ms: 30_000,
            webhook_poll_ms: 1_000,
            webhook_concurrency: 16,
        }
    }
}

/// A configuration problem, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads defaults, then `file` (or `ASSENT_CONFIG`) if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let file = file.map(Path::to_path_buf).or_else(|| std::env::var_os("ASSENT_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!("config file {} does not exist", path.display())));
            }
            figment = figment.merge(Toml::file(path));
        }
        // ASSENT_TEST_* belong to the test suite, not to the server (keys keep the case they were
        // set in, hence the lowercasing).
        figment = figment.merge(
            Env::prefixed("ASSENT_")
                .filter(|key| key != "config" && !key.as_str().to_ascii_lowercase().starts_with("test_")),
        );
        figment.extract().map_err(|e| ConfigError(describe(e)))
    }

    /// Checks every setting and resolves the master key.
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let bad = |name: &str, why: String| ConfigError(format!("ASSENT_{} {why}", name.to_uppercase()));
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(bad(
                "database_url",
                format!("('{}') must start with sqlite: or postgres://", self.database_url),
            ));
        }
        let listen: SocketAddr = self
            .listen
            .parse()
            .map_err(|_| bad("listen", format!("('{}') is not an address like 127.0.0.1:8080", self.listen)))?;
        let public_url = match self.public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let parsed =
                    url::Url::parse(text).map_err(|e| bad("public_url", format!("('{text}') is not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https")
                    || parsed.query().is_some()
                    || parsed.fragment().is_some()
                {
                    return Err(bad(
                        "public_url",
                        format!("('{text}') must be an http(s) URL without query or fragment"),
                    ));
                }
                Some(text.trim_end_matches('/').to_owned())
            }
        };
        if !(60..=86_400).contains(&self.token_lifetime_secs) {
            return Err(bad("token_lifetime_secs", "must be between 60 and 86400".into()));
        }
        if self.token_recheck_ms > 1000 {
            return Err(bad("token_recheck_ms", "must be between 0 and 1000".into()));
        }
        if !(1..=60).contains(&self.code_lifetime_secs) {
            return Err(bad("code_lifetime_secs", "must be between 1 and 60".into()));
        }
        if !(1..=3600).contains(&self.challenge_lifetime_secs) {
            return Err(bad("challenge_lifetime_secs", "must be between 1 and 3600".into()));
        }
        if self.db_max_connections == 0 {
            return Err(bad("db_max_connections", "must be at least 1".into()));
        }
        if self.request_body_limit < 1024 {
            return Err(bad("request_body_limit", "must be at least 1024 bytes".into()));
        }
        for (name, value) in [
            ("request_timeout_ms", self.request_timeout_ms),
            ("db_acquire_timeout_ms", self.db_acquire_timeout_ms),
            ("db_statement_timeout_ms", self.db_statement_timeout_ms),
        ] {
            if value == 0 {
                return Err(bad(name, "must be greater than 0".into()));
            }
        }
        for (name, value, range) in [
            ("header_read_timeout_ms", self.header_read_timeout_ms, 100..=600_000),
            ("body_read_timeout_ms", self.body_read_timeout_ms, 100..=600_000),
            ("idle_timeout_ms", self.idle_timeout_ms, 100..=3_600_000),
            ("shutdown_grace_ms", self.shutdown_grace_ms, 0..=600_000),
        ] {
            if !range.contains(&value) {
                return Err(bad(name, format!("({value}) must be between {} and {}", range.start(), range.end())));
            }
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(bad("max_connections", format!("({}) must be between 1 and 1000000", self.max_connections)));
        }
        let trusted_proxies =
            TrustedProxies::parse(&self.trusted_proxies).map_err(|why| bad("trusted_proxies", why))?;
        let geoip = match self.geoip_db.as_deref().map(str::trim) {
            None | Some("") => GeoIpSource::Bundled,
            Some(off) if off.eq_ignore_ascii_case("none") => GeoIpSource::Disabled,
            Some(path) => GeoIpSource::File(PathBuf::from(path)),
        };
        let limits = self.limit_settings()?;
        let delivery = self.delivery_settings()?;
        if self.argon2_queue == 0 {
            return Err(bad("argon2_queue", "must be at least 1".into()));
        }
        let metrics_token = match self.metrics_token.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(token) if (16..=256).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic()) => {
                Some(token.to_owned())
            }
            Some(_) => return Err(bad("metrics_token", "must be 16 to 256 visible ASCII characters".into())),
        };
        if !(1..=1_000_000).contains(&self.checkpoint_every_events) {
            return Err(bad(
                "checkpoint_every_events",
                format!("({}) must be between 1 and 1000000", self.checkpoint_every_events),
            ));
        }
        if !(100..=86_400_000).contains(&self.checkpoint_interval_ms) {
            return Err(bad(
                "checkpoint_interval_ms",
                format!("({}) must be between 100 and 86400000", self.checkpoint_interval_ms),
            ));
        }
        let secrets = match self.secret_key.as_deref() {
            Some(key) => SecretBox::from_base64(key).map_err(|why| bad("secret_key", why))?,
            None => load_or_create_key_file(Path::new(&self.secret_key_file))?,
        };
        Ok(Settings {
            store: StoreSettings {
                url: self.database_url,
                max_connections: self.db_max_connections,
                acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
                statement_timeout: Duration::from_millis(self.db_statement_timeout_ms),
                cache_ttl: Duration::from_millis(self.token_recheck_ms),
            },
            listen,
            public_url,
            log_format: self.log_format,
            log_level: self.log_level,
            secrets,
            token_lifetime_secs: self.token_lifetime_secs,
            token_recheck: Duration::from_millis(self.token_recheck_ms),
            code_lifetime: chrono::Duration::seconds(self.code_lifetime_secs),
            challenge_lifetime: chrono::Duration::seconds(self.challenge_lifetime_secs),
            request_body_limit: self.request_body_limit,
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            body_read_timeout: Duration::from_millis(self.body_read_timeout_ms),
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
                idle_timeout: Duration::from_millis(self.idle_timeout_ms),
                max_connections: self.max_connections,
            },
            shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
            trusted_proxies,
            geoip,
            limits,
            argon2_workers: self.argon2_workers,
            argon2_queue: self.argon2_queue,
            metrics_token,
            metrics: self.metrics,
            checkpoints: crate::domain::proof::checkpoints::CheckpointPolicy {
                every_events: self.checkpoint_every_events,
                every: Duration::from_millis(self.checkpoint_interval_ms),
            },
            webhook_destinations: crate::domain::subscriptions::DestinationPolicy {
                allow_private: self.webhook_allow_private,
            },
            delivery,
        })
    }
}

/// Names the setting the way an operator sets it.
fn describe(error: figment::Error) -> String {
    let key = error.path.join(".");
    let setting = if key.is_empty() { "configuration".to_string() } else { format!("ASSENT_{}", key.to_uppercase()) };
    format!("{setting}: {}", error.kind)
}

mod key_file;
mod limits;
mod settings;
#[cfg(test)]
mod tests;
mod webhooks;

use key_file::load_or_create_key_file;
pub use settings::Settings;
