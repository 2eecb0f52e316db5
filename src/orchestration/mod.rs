//! Process orchestration for acceptance tests: start the processes a scenario
//! needs, wait until each is *really* ready (a banner line, a port accepting,
//! an HTTP status, a socket, a pid file — never a sleep), stop them with
//! everything they spawned, and prove through `/proc` that nothing is left.
//!
//! The idea is mirakuru's (and summon_process's before it): one executor per
//! readiness signal over a shared base, and the same start/stop interface for
//! one process ([`Executor`]) and for many ([`Orchestrator`]), both behind
//! [`Service`].
//!
//! Hygiene is not optional: every child leads its own process group, is tied
//! to its parent's death on Linux (`PR_SET_PDEATHSIG`), carries a mark in its
//! environment that its descendants inherit, and is killed with its group and
//! its marked descendants when its executor is dropped, so a panicking test
//! leaks nothing. Whatever ends the process itself — even SIGKILL — the
//! [`reaper`](mod@reaper)'s watchdog kills what is left and removes registered scratch
//! directories.

mod cgroup;
mod error;
mod executor;
mod group;
mod orchestrator;
mod output;
mod readiness;
pub mod reaper;
mod service;

pub use cgroup::Confinement;
pub(crate) use error::quote;
pub use error::{LAST_LINES, OrchestrationError};
pub use executor::{
    DEFAULT_GRACE, DEFAULT_OUTPUT_CAPACITY, DEFAULT_TIMEOUT, Executor, StoppedGuard,
};
pub use group::{command_line, processes_in_group};
pub use nix::sys::signal::Signal;
pub use orchestrator::{Orchestrated, Orchestrator, orchestrated};
pub use output::{KEPT_BYTES, LONGEST_OUTPUT_LINE, Written};
pub use readiness::{FAST_PHASE, FIRST_BACKOFF, MAX_BACKOFF, Readiness};
pub use reaper::{REAPER_ENV, Reaped, Reaper, reaper};
pub use service::Service;

/// A local TCP port free at the moment of the call, for a service that must
/// be told its port up front. Another process may take it before the service
/// binds it; on loopback in a test run that is rare, and the service's start
/// then fails loudly rather than silently.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
