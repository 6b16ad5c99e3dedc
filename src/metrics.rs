//! Prometheus metrics: requests by route template and status with latency histograms, counted as
//! they happen; the store's, the caches' and the budgets' own counters, read when scraped.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, PathPattern, Request, Response, Result};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds: from a cached read to a request timing out.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The route label of requests no route matched, so unknown paths cannot grow the label set.
const UNMATCHED: &str = "unmatched";

/// One server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Counters mirrored from the components' own atomics at each scrape.
    scraped: Mutex<Mirrored>,
}

/// Counters kept by other components, copied into the registry when scraped.
struct Mirrored {
    statements: IntCounter,
    read_waits: IntCounter,
    writer_batches: IntCounter,
    writer_records: IntCounter,
    writer_queued: IntGauge,
    pool: IntGaugeVec,
    token_cache: IntCounterVec,
    refusals: IntCounterVec,
}

fn registered<C: prometheus::core::Collector + Clone + 'static>(registry: &Registry, collector: C) -> C {
    // Names are fixed and distinct, so registering cannot fail; a failure would only lose a metric.
    if let Err(error) = registry.register(Box::new(collector.clone())) {
        tracing::error!(%error, "a metric could not be registered");
    }
    collector
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    registered(registry, IntCounter::new(name, help).unwrap_or_else(|_| unreachable!("valid metric name {name}")))
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let made = IntCounterVec::new(Opts::new(name, help), labels);
    registered(registry, made.unwrap_or_else(|_| unreachable!("valid metric name {name}")))
}

/// Moves a mirrored counter up to `total` (counters only grow; the source only grows too).
fn advance(counter: &IntCounter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = counter_vec(
            &registry,
            "assent_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            &["method", "route", "status"],
        );
        let latency = HistogramVec::new(
            HistogramOpts::new("assent_http_request_duration_seconds", "Time to answer, by method and route template.")
                .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        );
        let latency = registered(&registry, latency.unwrap_or_else(|_| unreachable!("valid histogram")));
        let gauge = |name: &str, help: &str| {
            registered(&registry, IntGauge::new(name, help).unwrap_or_else(|_| unreachable!("valid metric name")))
        };
        let pool = IntGaugeVec::new(
            Opts::new("assent_db_pool_connections", "Pooled database connections (sqlx), by state."),
            &["state"],
        );
        let mirrored = Mirrored {
            statements: counter(&registry, "assent_db_statements_total", "SQL statements run, reads and writes."),
            read_waits: counter(
                &registry,
                "assent_db_read_waits_total",
                "SQLite reads that waited because every read connection was busy.",
            ),
            writer_batches: counter(
                &registry,
                "assent_writer_batches_total",
                "Transactions committed by the SQLite group-commit writer.",
            ),
            writer_records: counter(
                &registry,
                "assent_writer_batch_records_total",
                "Consent records in those transactions (divide by batches for the mean batch size).",
            ),
            writer_queued: gauge(
                "assent_writer_queued_records",
                "Consent records waiting for the group-commit writer.",
            ),
            pool: registered(&registry, pool.unwrap_or_else(|_| unreachable!("valid gauge"))),
            token_cache: counter_vec(
                &registry,
                "assent_token_standing_cache_total",
                "Token authentications answered from the cache (hit) or by asking the database (miss).",
                &["result"],
            ),
            refusals: counter_vec(
                &registry,
                "assent_rate_limited_total",
                "Requests refused by a budget (429) or by the full Argon2 queue (503), by budget.",
                &["budget"],
            ),
        };
        Self { registry, requests, latency, scraped: Mutex::new(mirrored) }
    }

    /// Registers collectors kept by other components (the webhook dispatcher's).
    pub fn register(&self, collectors: Vec<Box<dyn prometheus::core::Collector>>) {
        for collector in collectors {
            if let Err(error) = self.registry.register(collector) {
                tracing::error!(%error, "a metric could not be registered");
            }
        }
    }

    /// Counts one answered request.
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let digits = itoa_status(status);
        let status = std::str::from_utf8(&digits).unwrap_or("000");
        self.requests.with_label_values(&[method, route, status]).inc();
        self.latency.with_label_values(&[method, route]).observe(seconds);
    }

    /// The text exposition of every metric, after reading the components' counters.
    pub fn render(&self, state: &AppState) -> String {
        if let Ok(mirrored) = self.scraped.lock() {
            let store = state.store.stats();
            advance(&mirrored.statements, store.statements);
            advance(&mirrored.read_waits, store.read_waits);
            advance(&mirrored.writer_batches, store.writer_batches);
            advance(&mirrored.writer_records, store.writer_records);
            mirrored.writer_queued.set(i64::try_from(store.writer_queued).unwrap_or(i64::MAX));
            let in_use = store.pool_size.saturating_sub(store.pool_idle);
            mirrored.pool.with_label_values(&["in_use"]).set(i64::try_from(in_use).unwrap_or(i64::MAX));
            mirrored.pool.with_label_values(&["idle"]).set(i64::try_from(store.pool_idle).unwrap_or(i64::MAX));
            let (hits, misses) = state.tokens.standing_cache();
            advance(&mirrored.token_cache.with_label_values(&["hit"]), hits);
            advance(&mirrored.token_cache.with_label_values(&["miss"]), misses);
            for (budget, refused) in state.limiters.refusals() {
                advance(&mirrored.refusals.with_label_values(&[budget.name()]), refused);
            }
            advance(&mirrored.refusals.with_label_values(&["argon2_queue"]), crate::auth::password::argon2_refusals());
        }
        let mut text = Vec::new();
        if let Err(error) = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            tracing::error!(%error, "encoding metrics failed");
        }
        String::from_utf8(text).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The method label: the standard methods by name, anything else as `other`, so clients cannot
/// grow the label set.
fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A status code as three ASCII digits, without allocating on the request path.
fn itoa_status(status: u16) -> [u8; 3] {
    let status = status.min(999);
    [b'0' + (status / 100) as u8, b'0' + (status / 10 % 10) as u8, b'0' + (status % 10) as u8]
}

/// Middleware counting every request under the route template that answered it.
pub struct RequestMetrics(pub Arc<Metrics>);

impl<E: Endpoint> Middleware<E> for RequestMetrics {
    type Output = RequestMetricsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestMetricsEndpoint { inner, metrics: self.0.clone() }
    }
}

/// [`RequestMetrics`] around an endpoint.
pub struct RequestMetricsEndpoint<E> {
    inner: E,
    metrics: Arc<Metrics>,
}

impl<E: Endpoint> Endpoint for RequestMetricsEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> Result<Response> {
        let started = Instant::now();
        let method = method_label(request.method());
        let answered = self.inner.call(request).await.map(IntoResponse::into_response);
        let (status, pattern) = match &answered {
            Ok(response) => (response.status(), response.data::<PathPattern>()),
            Err(error) => (error.status(), error.data::<PathPattern>()),
        };
        // Poem names a route's parameters `:param0`, `:param1`…; no route matched gives none (or "").
        let route = pattern.map(|p| &*p.0).filter(|p| !p.is_empty()).unwrap_or(UNMATCHED);
        self.metrics.observe(method, route, status.as_u16(), started.elapsed().as_secs_f64());
        answered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_three_digits() {
        assert_eq!(&itoa_status(200), b"200");
        assert_eq!(&itoa_status(404), b"404");
        assert_eq!(&itoa_status(1234), b"999");
    }
}
