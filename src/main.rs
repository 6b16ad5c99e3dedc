//! The `assent` binary: parse the command line, load settings, then serve or bootstrap.

use anyhow::Context;
use assent::cli::{Cli, Command};
use assent::config::Config;
use assent::startup::{Application, bootstrap, seed};
use assent::verify;
use clap::Parser;

// glibc malloc showed up as the largest cost under load (lock contention, consolidation).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Verification is offline: no settings, no database, no key file.
    if let Some(Command::Verify { export, jwks }) = cli.command {
        // On a thread of its own: fetching a JWKS URL blocks, which the async runtime's threads may not.
        let code = std::thread::spawn(move || assent::verify::run(&export, &jwks)).join().unwrap_or(verify::UNUSABLE);
        std::process::exit(code);
    }
    let settings = Config::load(cli.config.as_deref())?.validate()?;
    let _telemetry = assent::telemetry::init(settings.log_format, &settings.log_level).map_err(anyhow::Error::msg)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until(assent::server::shutdown_signal()).await
        }
        Command::Bootstrap { name } => {
            let created = bootstrap(&settings, name).await?;
            let out = serde_json::json!({
                "environmentId": created.environment.id.to_string(),
                "clientId": created.client_id,
                "clientSecret": created.client_secret,
            });
            println!("{}", serde_json::to_string(&out).context("printing the result")?);
            Ok(())
        }
        Command::Seed { environment, users, consents } => {
            let seeded = seed(&settings, &environment, users, consents).await?;
            println!("{}", serde_json::to_string(&seeded).context("printing the result")?);
            Ok(())
        }
        Command::Verify { .. } => Ok(()),
    }
}
