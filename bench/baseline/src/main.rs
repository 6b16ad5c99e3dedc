//! `baseline`: answers `{"ok":true}` through Assent's request wrapper and nothing else (see bench/README.md).

use std::net::SocketAddr;
use std::time::Duration;

use assent::api::middleware::{self, Limits};
use assent::config::Config;
use assent::server::ConnectionLimits;
use clap::Parser;
use poem::{EndpointExt, Response, Route, get, handler};

/// Bare poem endpoint wrapped like Assent, for `bench/run` to divide by.
#[derive(Debug, Parser)]
#[command(name = "baseline", about, long_about = None)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "BASELINE_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
}

/// The only work the baseline does: a small JSON body.
#[handler]
fn ok() -> Response {
    Response::builder().content_type("application/json").body(r#"{"ok":true}"#)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Same ASSENT_* settings as the server: default limits and the same log subscriber unless overridden.
    let config = Config::load(None)?;
    let _telemetry = assent::telemetry::init(config.log_format, &config.log_level).map_err(anyhow::Error::msg)?;
    let limits = Limits {
        timeout: Duration::from_millis(config.request_timeout_ms),
        body_bytes: config.request_body_limit,
        body_timeout: Duration::from_millis(config.body_read_timeout_ms),
    };
    let app = Route::new()
        .at("/", get(ok).post(ok))
        .at("/*path", get(ok).post(ok))
        .around(middleware::wrapper(limits, Default::default()));
    // Served by the same connection handling as Assent.
    let connections = ConnectionLimits {
        header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
        idle_timeout: Duration::from_millis(config.idle_timeout_ms),
        max_connections: config.max_connections,
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!("baseline listening on {}", args.listen);
    let grace = Duration::from_millis(config.shutdown_grace_ms);
    assent::server::serve(listener, app, connections, grace, assent::server::shutdown_signal()).await?;
    Ok(())
}
