//! Building and running the server: bind, wire state and routes, serve until stopped.

use std::net::SocketAddr;
use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route};
use tokio::net::TcpListener;

use crate::api::api_service;
use crate::api::middleware::{self, Limits};
use crate::auth::tokens::TokenService;
use crate::config::Settings;
use crate::domain::environments::{self, Bootstrapped};
use crate::enrich::Enricher;
use crate::limits::Limiters;
use crate::state::AppState;
use crate::store::Store;

/// A bound, ready-to-serve server.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    settings: Settings,
}

/// Derives the public URL from the bound address when none is configured.
fn public_url(settings: &Settings, address: SocketAddr) -> String {
    settings.public_url.clone().unwrap_or_else(|| {
        let host = if address.ip().is_unspecified() { "127.0.0.1".to_string() } else { address.ip().to_string() };
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        format!("http://{host}:{}", address.port())
    })
}

/// Opens the store (running migrations) and builds the shared state.
async fn state(settings: &Settings, public_url: String) -> anyhow::Result<AppState> {
    let store = Store::connect(&settings.store)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database (ASSENT_DATABASE_URL): {e}"))?;
    let limiters = Arc::new(Limiters::new(&settings.limits));
    crate::auth::password::configure_gate(settings.argon2_workers, settings.argon2_queue);
    let tokens = TokenService::new(
        store.clone(),
        settings.secrets.clone(),
        public_url.clone(),
        settings.token_lifetime_secs,
        settings.token_recheck,
        limiters.clone(),
    );
    Ok(AppState {
        store,
        tokens: Arc::new(tokens),
        secrets: settings.secrets.clone(),
        public_url: public_url.into(),
        enricher: Arc::new(Enricher::new(settings.geoip.clone())),
        trusted_proxies: Arc::new(settings.trusted_proxies.clone()),
        limiters,
        code_lifetime: settings.code_lifetime,
        pending_lifetime: settings.challenge_lifetime,
        webhook_destinations: settings.webhook_destinations,
        webhook_sender: crate::delivery::sender::Sender::new(settings.webhook_destinations, settings.delivery.timeout)
            .map_err(|e| anyhow::anyhow!(e))?,
        delivery_stats: crate::delivery::DeliveryStats::new(),
    })
}

/// Answers 404 in place of an endpoint that is switched off.
struct NotServed;

impl<E: Endpoint> poem::Middleware<E> for NotServed {
    type Output = poem::endpoint::BoxEndpoint<'static>;

    fn transform(&self, _: E) -> Self::Output {
        poem::endpoint::make(|_| async { Err::<poem::Response, _>(poem::error::NotFoundError) }).boxed()
    }
}

/// Every route [`app`] serves, for the answers to wrong methods and media types.
fn route_table() -> crate::api::routes::RouteTable {
    use poem::http::Method;
    let documented = crate::api::routes::RouteTable::from_meta(<crate::api::Apis as poem_openapi::OpenApi>::meta());
    crate::api::hydra::route_table(documented)
        .with("/:envId/as/authorize", &[Method::GET], &[])
        .with("/:envId/as/login", &[Method::POST], &["application/x-www-form-urlencoded"])
        .with("/:envId/myaccount", &[Method::GET], &[])
        .with("/:envId/myaccount/history", &[Method::GET], &[])
        .with("/:envId/myaccount/callback", &[Method::GET], &[])
        .with("/:envId/myaccount/remove", &[Method::POST], &["application/x-www-form-urlencoded"])
        .with("/openapi.yaml", &[Method::GET], &[])
        .with("/health", &[Method::GET], &[])
        .with("/ready", &[Method::GET], &[])
        .with("/metrics", &[Method::GET], &[])
}

/// The whole HTTP application for `state`.
pub fn app(state: AppState, settings: &Settings) -> impl Endpoint + use<> {
    let service = api_service(&state.public_url);
    let routes = Arc::new(route_table());
    let spec = service.spec_endpoint_yaml();
    let metrics = Arc::new(crate::metrics::Metrics::new());
    metrics.register(state.delivery_stats.collectors());
    let metrics_token = crate::api::ops::MetricsToken(settings.metrics_token.as_deref().map(Arc::from));
    let store = state.store.clone();
    crate::api::hydra::routes(Route::new())
        .nest("/", service)
        .at("/:envId/as/authorize", poem::get(crate::api::flow::authorize))
        .at("/:envId/as/login", poem::post(crate::api::flow::login))
        .at("/:envId/myaccount", poem::get(crate::api::account::apps))
        .at("/:envId/myaccount/history", poem::get(crate::api::account::history))
        .at("/:envId/myaccount/callback", poem::get(crate::api::account::callback))
        .at("/:envId/myaccount/remove", poem::post(crate::api::account::remove))
        .at("/openapi.yaml", spec)
        .at("/health", poem::get(crate::api::ops::health))
        .at("/ready", poem::get(crate::api::ops::ready))
        .at("/metrics", poem::get(crate::api::ops::metrics).with_if(!settings.metrics, NotServed))
        // A claim unanswered for twice the longest a request may run belongs to a request that died.
        .around(crate::api::idempotency::idempotency_keys(settings.request_timeout.saturating_mul(2)))
        .around(crate::api::budget::environment_budget(state.limiters.clone()))
        .with_if(settings.metrics, crate::metrics::RequestMetrics(metrics.clone()))
        .data(state)
        .data(metrics)
        .data(metrics_token)
        .around(middleware::wrapper(
            Limits {
                timeout: settings.request_timeout,
                body_bytes: settings.request_body_limit,
                body_timeout: settings.body_read_timeout,
            },
            routes,
        ))
        // Outermost: preflights are answered before routing, and every answer to a listed origin,
        // the wrapper's errors included, carries the CORS headers.
        .around(crate::api::cors::cors(store))
}

impl Application {
    /// Binds the listen address (port 0 picks a free port) and prepares the state.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {} (ASSENT_LISTEN): {e}", settings.listen))?;
        let address = listener.local_addr().map_err(|e| anyhow::anyhow!("listener has no socket address: {e}"))?;
        let state = state(&settings, public_url(&settings, address)).await?;
        Ok(Self { listener, address, state, settings })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The public base URL links are built from.
    pub fn public_url(&self) -> String {
        self.state.public_url.to_string()
    }

    /// The shared state (tests use it to bootstrap environments).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets requests in flight finish within
    /// the grace period (`ASSENT_SHUTDOWN_GRACE_MS`), commits the records still queued and closes the
    /// database.
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()> + Send) -> anyhow::Result<()> {
        let Self { listener, address, state, settings } = self;
        tracing::info!(address = %address, public_url = %state.public_url, database = state.store.backend_name(), "assent listening");
        crate::server::warn_if_file_limit_is_low(
            settings.connections.max_connections,
            settings.store.max_connections as usize + 64,
        );
        let app = app(state.clone(), &settings);
        let purge = tokio::spawn(crate::store::purge_every_hour(state.store.clone()));
        let forget = tokio::spawn(crate::limits::forget_idle_every_minute(state.limiters.clone()));
        let checkpoints = tokio::spawn(crate::domain::proof::checkpoints::sign_checkpoints(
            state.store.clone(),
            state.tokens.clone(),
            settings.checkpoints,
        ));
        let dispatcher = Arc::new(crate::delivery::Dispatcher::new(
            state.store.clone(),
            state.secrets.clone(),
            state.webhook_sender.clone(),
            settings.delivery.clone(),
            state.delivery_stats.clone(),
        ));
        let deliveries = tokio::spawn(dispatcher.clone().run());
        let served = crate::server::serve(listener, app, settings.connections, settings.shutdown_grace, shutdown).await;
        purge.abort();
        forget.abort();
        checkpoints.abort();
        deliveries.abort();
        // Another node (or this one restarted) takes over at once rather than after the lease.
        dispatcher.release_leases().await;
        let closed = state.store.close().await;
        served?;
        closed.map_err(|e| anyhow::anyhow!("closing the database: {e}"))?;
        tracing::info!("assent stopped");
        Ok(())
    }
}

/// `assent bootstrap`: creates an environment with an administrator worker application.
pub async fn bootstrap(settings: &Settings, name: String) -> anyhow::Result<Bootstrapped> {
    let state = state(settings, public_url(settings, settings.listen)).await?;
    let created = environments::bootstrap(&state.store, &state.secrets, name)
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap failed: {e}"))?;
    state.store.close().await.map_err(|e| anyhow::anyhow!("closing the database: {e}"))?;
    Ok(created)
}

/// `assent seed`: fills an environment with users and consent records.
pub async fn seed(
    settings: &Settings,
    environment: &str,
    users: usize,
    consents: usize,
) -> anyhow::Result<crate::seed::Seeded> {
    let env = crate::domain::ids::EnvironmentId::parse(environment)
        .ok_or_else(|| anyhow::anyhow!("--environment ('{environment}') is not an environment id"))?;
    let store = Store::connect(&settings.store)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database (ASSENT_DATABASE_URL): {e}"))?;
    let seeded =
        crate::seed::seed(&store, env, users, consents).await.map_err(|e| anyhow::anyhow!("seed failed: {e}"))?;
    store.close().await.map_err(|e| anyhow::anyhow!("closing the database: {e}"))?;
    Ok(seeded)
}
