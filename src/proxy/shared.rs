//! What the links of one proxy share with it: the settings every link is
//! given, the buffer budget they draw from, and the counters the proxy
//! reports. Apart from the proxy and its links, so that neither imports the
//! other.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;

use super::engine::Faults;
use super::record::Recorder;
use crate::server::budget::Pool;

/// What every link of a proxy is allowed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) max_line: usize,
    pub(super) shutdown_grace: Duration,
}

/// The budget all links share.
#[derive(Debug)]
pub(super) struct Budget {
    pub(super) lines: Pool,
    pub(super) serving: Pool,
}

/// Counters the teardown checks and the fault steps read.
#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) open: AtomicUsize,
    /// Told whenever a link has ended.
    pub(super) closed: tokio::sync::Notify,
    pub(super) accepted: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) unreachable: AtomicU64,
    pub(super) drained: AtomicU64,
    pub(super) unclosed: AtomicU64,
    pub(super) cut: AtomicU64,
    pub(super) faulted: AtomicU64,
    pub(super) client_writes: AtomicU64,
    pub(super) client_lines: AtomicU64,
}

/// What the links of one proxy share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) backend: String,
    pub(super) settings: Settings,
    pub(super) connect_timeout: Duration,
    pub(super) faults: Arc<Faults>,
    pub(super) budget: Budget,
    pub(super) stats: Stats,
    pub(super) recorder: Option<Arc<Recorder>>,
    /// Whether the proxy is listening now (not while it is down).
    pub(super) listening: tokio::sync::watch::Sender<bool>,
}
