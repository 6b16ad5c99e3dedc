//! Command line: `assent serve` (the default), `assent bootstrap`, `assent seed` and `assent verify`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Assent: a multi-tenant consent service. Settings come from ASSENT_* environment variables
/// (ASSENT_DATABASE_URL, ASSENT_LISTEN, ASSENT_PUBLIC_URL, …) over compiled-in defaults.
#[derive(Debug, Parser)]
#[command(name = "assent", version, about, long_about = None)]
pub struct Cli {
    /// Optional TOML config file (also ASSENT_CONFIG); environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (default).
    Serve,
    /// Create an environment and its administrator worker application; prints
    /// {"environmentId", "clientId", "clientSecret"} as one JSON object on stdout.
    Bootstrap {
        /// Name of the new environment.
        #[arg(long)]
        name: String,
    },
    /// Fill an environment with users and consent records (benchmarks, demos); prints a JSON summary.
    Seed {
        /// The environment to fill.
        #[arg(long)]
        environment: String,
        /// Users to create; records are spread over them.
        #[arg(long, default_value_t = 1000)]
        users: usize,
        /// Consent records to create.
        #[arg(long)]
        consents: usize,
    },
    /// Check an export of an environment's consent event log (`GET …/consentEvents/export`) offline:
    /// every content against its digest, every hash link, every checkpoint's signature. Prints a
    /// JSON report; exits 1 naming the first broken sequence number, 2 when the input is unusable.
    Verify {
        /// The NDJSON export file.
        #[arg(long, value_name = "FILE")]
        export: PathBuf,
        /// The environment's JWKS: a file, or its URL (`https://…/{envId}/as/jwks`).
        #[arg(long, value_name = "FILE|URL")]
        jwks: String,
    },
}
