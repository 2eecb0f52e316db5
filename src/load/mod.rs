//! `discos-sim load`: a load generator for any DISCOS backend.
//!
//! Not written yet; see the issue "discos-sim load".

use std::process::ExitCode;

/// Command-line arguments of `discos-sim load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {}

/// Runs `discos-sim load`.
pub async fn run(_args: LoadArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("discos-sim load is not built yet")
}
