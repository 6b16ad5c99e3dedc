//! `build-geoip`: builds the GeoIP2-City `.mmdb` that Assent bundles from `cities.csv`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: build-geoip <cities.csv> <out.mmdb>";

fn main() -> ExitCode {
    // One readable line instead of anyhow's multi-line report (and backtrace when
    // RUST_BACKTRACE is set): a data error is the user's, not the program's.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("build-geoip: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(input), Some(output), None) = (args.next(), args.next(), args.next()) else {
        bail!(USAGE);
    };
    let (input, output) = (PathBuf::from(input), PathBuf::from(output));

    let text = std::fs::read_to_string(&input).with_context(|| format!("cannot read {}", input.display()))?;
    let rows = assent_geoip::parse_cities(&text).with_context(|| input.display().to_string())?;
    let bytes = assent_geoip::build_database(&rows).with_context(|| input.display().to_string())?;
    write_atomically(&output, &bytes)?;
    println!(
        "wrote {}: {} networks, {} bytes, {} built {}",
        output.display(),
        rows.len(),
        bytes.len(),
        assent_geoip::DATABASE_TYPE,
        assent_geoip::BUILD_EPOCH_SECS
    );
    Ok(())
}

/// Writes next to the target and renames, so an interrupted run never leaves half a database.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))
}
