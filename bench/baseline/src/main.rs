//! `baseline`: answers `{"ok":true}` through Assent's request wrapper and nothing else (see bench/README.md).

use std::net::SocketAddr;
use std::time::Duration;

use assent::api::middleware::{self, Limits};
use assent::config::Config;
use clap::Parser;
use poem::listener::TcpListener;
use poem::{EndpointExt, Response, Route, Server, get, handler};

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
    let limits =
        Limits { timeout: Duration::from_millis(config.request_timeout_ms), body_bytes: config.request_body_limit };
    let app = Route::new().at("/", get(ok).post(ok)).at("/*path", get(ok).post(ok)).around(middleware::wrapper(limits));
    eprintln!("baseline listening on {}", args.listen);
    Server::new(TcpListener::bind(args.listen))
        .run_with_graceful_shutdown(
            app,
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
            None,
        )
        .await?;
    Ok(())
}
