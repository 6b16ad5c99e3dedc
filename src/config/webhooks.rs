//! The webhook delivery settings of the configuration.

use std::time::Duration;

use super::{Config, ConfigError};
use crate::delivery::DeliverySettings;
use crate::domain::webhooks::RetryPolicy;

/// A text setting that may look like a number (`ASSENT_WEBHOOK_RETRY_SCHEDULE_MS=100`, which the
/// environment provider reads as one).
pub(super) fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        Unsigned(u64),
        Signed(i64),
    }
    Ok(match <Given as serde::Deserialize>::deserialize(deserializer)? {
        Given::Text(text) => text,
        Given::Unsigned(n) => n.to_string(),
        Given::Signed(n) => n.to_string(),
    })
}

/// Most waits in a retry schedule.
const MAX_SCHEDULE: usize = 20;
const DAY_MS: u64 = 86_400_000;

impl Config {
    /// The webhook delivery settings these settings ask for.
    pub(crate) fn delivery_settings(&self) -> Result<DeliverySettings, ConfigError> {
        let bad = |name: &str, why: String| ConfigError(format!("ASSENT_{} {why}", name.to_uppercase()));
        let within = |name: &str, value: u64, low: u64, high: u64| {
            if (low..=high).contains(&value) {
                Ok(Duration::from_millis(value))
            } else {
                Err(bad(name, format!("({value}) must be between {low} and {high}")))
            }
        };
        let mut schedule = Vec::new();
        for wait in self.webhook_retry_schedule_ms.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let ms = wait.parse::<u64>().map_err(|_| {
                bad("webhook_retry_schedule_ms", format!("('{wait}') must be milliseconds, separated by commas"))
            })?;
            schedule.push(within("webhook_retry_schedule_ms", ms, 10, DAY_MS)?);
        }
        if schedule.is_empty() || schedule.len() > MAX_SCHEDULE {
            return Err(bad("webhook_retry_schedule_ms", format!("must list 1 to {MAX_SCHEDULE} waits")));
        }
        let timeout = within("webhook_timeout_ms", self.webhook_timeout_ms, 100, 60_000)?;
        let lease = within("webhook_lease_ms", self.webhook_lease_ms, 1_000, 600_000)?;
        if lease < timeout + Duration::from_secs(1) {
            return Err(bad("webhook_lease_ms", "must be at least ASSENT_WEBHOOK_TIMEOUT_MS + 1000".into()));
        }
        if !(1..=256).contains(&self.webhook_concurrency) {
            return Err(bad(
                "webhook_concurrency",
                format!("({}) must be between 1 and 256", self.webhook_concurrency),
            ));
        }
        Ok(DeliverySettings {
            retry: RetryPolicy {
                schedule,
                disable_after: within("webhook_disable_after_ms", self.webhook_disable_after_ms, 1_000, 30 * DAY_MS)?,
            },
            timeout,
            lease,
            poll: within("webhook_poll_ms", self.webhook_poll_ms, 50, 60_000)?,
            concurrency: self.webhook_concurrency,
        })
    }
}
