//! Delivery of the consent event log to the outside: webhook subscriptions (Standard Webhooks),
//! read from the log itself (the log is the outbox) by a dispatcher on every node.

pub mod dispatcher;
pub mod sender;

use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge};

use crate::domain::webhooks::RetryPolicy;

pub use dispatcher::{Dispatcher, replay};

/// How deliveries are made.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliverySettings {
    /// When failing destinations are tried again and given up on.
    pub retry: RetryPolicy,
    /// The longest one request may take.
    pub timeout: Duration,
    /// How long a node holds a subscription it delivers before another may take it over.
    pub lease: Duration,
    /// How often each node looks for waiting events committed by other nodes.
    pub poll: Duration,
    /// Subscriptions one node delivers at once.
    pub concurrency: usize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            concurrency: 16,
        }
    }
}

/// Upper bounds of the lag buckets, in seconds: from an event's time to its delivery.
const LAG_BUCKETS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0, 3600.0];

/// What this node's deliveries came to, for `/metrics`.
#[derive(Clone, Debug)]
pub struct DeliveryStats {
    /// Events a destination took.
    pub delivered: IntCounter,
    /// Attempts that failed.
    pub failed: IntCounter,
    /// Subscriptions disabled after failing too long.
    pub disabled: IntCounter,
    /// From an event's time to its first successful delivery.
    pub lag: Histogram,
    /// Events after the enabled subscriptions' cursors, all environments (read each poll interval).
    pub backlog: IntGauge,
}

impl DeliveryStats {
    /// Every count at zero.
    pub fn new() -> Self {
        let counter = |name: &str, help: &str| {
            IntCounter::new(name, help).unwrap_or_else(|_| unreachable!("valid metric name {name}"))
        };
        let lag = Histogram::with_opts(
            HistogramOpts::new(
                "assent_webhook_delivery_lag_seconds",
                "From an event's time to its delivery (a 2xx answer), replays not counted.",
            )
            .buckets(LAG_BUCKETS.to_vec()),
        )
        .unwrap_or_else(|_| unreachable!("valid histogram"));
        Self {
            delivered: counter("assent_webhook_deliveries_total", "Webhook messages a destination took (2xx)."),
            failed: counter("assent_webhook_failures_total", "Webhook attempts that failed (no answer, or not 2xx)."),
            disabled: counter(
                "assent_webhook_subscriptions_disabled_total",
                "Subscriptions this node disabled after they failed for too long.",
            ),
            lag,
            backlog: IntGauge::new(
                "assent_webhook_backlog_events",
                "Events after the cursors of the enabled subscriptions, of every environment: an upper bound on \
                 the messages waiting (read each ASSENT_WEBHOOK_POLL_MS).",
            )
            .unwrap_or_else(|_| unreachable!("valid metric name")),
        }
    }

    /// The collectors, to register with a registry.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.delivered.clone()),
            Box::new(self.failed.clone()),
            Box::new(self.disabled.clone()),
            Box::new(self.lag.clone()),
            Box::new(self.backlog.clone()),
        ]
    }
}

impl Default for DeliveryStats {
    fn default() -> Self {
        Self::new()
    }
}
