//! `discos-sim console`: a web console for any DISCOS backend.
//!
//! Not written yet; see the issue "Web console".

use std::process::ExitCode;

/// Command-line arguments of `discos-sim console`.
#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {}

/// Runs `discos-sim console`.
pub async fn run(_args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("discos-sim console is not built yet")
}
