//! The request and guessing budgets of the configuration.

use std::collections::HashMap;

use super::{Config, ConfigError};
use crate::domain::ids::EnvironmentId;
use crate::limits::LimitSettings;

impl Config {
    /// The request and guessing budgets these settings ask for.
    pub(crate) fn limit_settings(&self) -> Result<LimitSettings, ConfigError> {
        let bad = |name: &str, why: &str| ConfigError(format!("ASSENT_{} {why}", name.to_uppercase()));
        for (name, value) in [
            ("env_requests_per_sec", self.env_requests_per_sec),
            ("env_request_burst", self.env_request_burst),
            ("client_secret_checks_per_min", self.client_secret_checks_per_min),
            ("address_secret_checks_per_min", self.address_secret_checks_per_min),
            ("address_logins_per_min", self.address_logins_per_min),
        ] {
            if value == 0 {
                return Err(bad(name, "must be at least 1"));
            }
        }
        let mut environment_overrides = HashMap::new();
        for entry in self.env_request_overrides.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parsed = entry.split_once('=').and_then(|(env, rate)| {
                Some((EnvironmentId::parse(env.trim())?, rate.trim().parse::<u32>().ok().filter(|r| *r > 0)?))
            });
            let (env, rate) = parsed.ok_or_else(|| {
                bad("env_request_overrides", &format!("('{entry}') must be ENVIRONMENT_ID=REQUESTS_PER_SECOND"))
            })?;
            environment_overrides.insert(env, rate);
        }
        Ok(LimitSettings {
            environment_requests_per_sec: self.env_requests_per_sec,
            environment_burst: self.env_request_burst,
            environment_overrides,
            client_checks_per_client_per_min: self.client_secret_checks_per_min,
            client_checks_per_address_per_min: self.address_secret_checks_per_min,
            logins_per_address_per_min: self.address_logins_per_min,
        })
    }
}
