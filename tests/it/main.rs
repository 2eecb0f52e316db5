//! The integration tests, one binary with a module per area (one binary
//! links the crate and its dependencies once, where a file per area linked
//! them once each). `cargo test --test it server::` runs one area.
//!
//! Two tests stay binaries of their own: `tests/acceptance.rs`, the
//! features' runner (`harness = false`), and `tests/steps.rs`, a crate that
//! depends on this one as a downstream crate's steps do and adds step
//! definitions of its own, which would change every run here.

// A test reads top to bottom as the story it checks (start, act, look,
// assert); the 80-line limit is for the product's functions.
#![allow(clippy::too_many_lines)]

mod acceptance_runner;
mod browser_support;
mod cli;
mod client;
mod conformance;
mod console;
mod console_browser;
mod events;
mod load;
mod misbehaving;
mod orchestration;
mod protocol;
mod proxy;
mod report;
mod report_browser;
mod server;

/// Runs of the features take over the process's panic hook while they
/// run (a failing step's panic is its message, printed once); one at a
/// time, whichever area's test starts it.
static ONE_RUN_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
