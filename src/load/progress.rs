//! What a run has done so far, on stderr while it runs and as a partial
//! report when it is interrupted, so a long run is never silent.
//!
//! Connections publish their counts only when they are about to wait on the
//! socket anyway, so the figures cost the measured path one relaxed atomic
//! add per batch, not per request.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Runs shorter than this draw no progress line on a terminal.
const QUIET_FOR: Duration = Duration::from_secs(2);

/// How often a progress line is written where it cannot be redrawn (a
/// pipe, a CI log): rarely enough not to flood the log.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// How progress is shown while a run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    /// One line redrawn in place every second (stderr is a terminal).
    Redraw,
    /// A plain line every few seconds (stderr is a file or a pipe).
    Lines,
}

/// Counts every connection adds to.
#[derive(Debug, Default)]
pub struct Counters {
    pub(super) replies: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) connected: AtomicU64,
    pub(super) failed: AtomicU64,
    began: OnceLock<Instant>,
    started: OnceLock<Instant>,
}

impl Counters {
    /// Counters of a run beginning now.
    pub fn new() -> Counters {
        let counters = Counters::default();
        let _ = counters.began.set(Instant::now());
        counters
    }

    /// Marks the start of the active run, for the rate.
    pub(super) fn started(&self, at: Instant) {
        let _ = self.started.set(at);
    }

    /// The figures so far.
    pub fn so_far(&self) -> SoFar {
        let replies = self.replies.load(Ordering::Relaxed);
        let active = self.started.get().map(Instant::elapsed);
        SoFar {
            elapsed_seconds: self
                .began
                .get()
                .map_or(0.0, |at| at.elapsed().as_secs_f64()),
            connections_opened: self.connected.load(Ordering::Relaxed),
            failed_connections: self.failed.load(Ordering::Relaxed),
            replies,
            errors: self.errors.load(Ordering::Relaxed),
            requests_per_second: active
                .map(|active| replies as f64 / active.as_secs_f64().max(1e-9))
                .unwrap_or(0.0),
        }
    }
}

/// What a run had done at some moment: what an interrupted run reports.
/// Latency percentiles, CPU, memory and the idle sample are measured when a
/// run ends, so a run stopped early has none of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoFar {
    /// Since the run began, connecting included.
    pub elapsed_seconds: f64,
    /// Connections opened (active and idle), handshake read.
    pub connections_opened: u64,
    /// Connections that could not be opened.
    pub failed_connections: u64,
    /// Replies read, good or bad.
    pub replies: u64,
    /// Replies that were errors, and requests never answered.
    pub errors: u64,
    /// Replies per second of the active run (0 before it starts).
    pub requests_per_second: f64,
}

impl fmt::Display for SoFar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.1} s  {} connected  {} failed  {} replies  {} errors  {:.0} requests/s",
            self.elapsed_seconds,
            self.connections_opened,
            self.failed_connections,
            self.replies,
            self.errors,
            self.requests_per_second
        )
    }
}

/// A running progress display; [`Progress::finish`] stops it (and erases
/// a redrawn line).
pub(super) struct Progress {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Progress {
    /// Starts showing `counters` on stderr in `style`.
    pub(super) fn start(counters: Arc<Counters>, style: ProgressStyle) -> Progress {
        let (stop, mut stopped) = oneshot::channel();
        let (first, period) = match style {
            ProgressStyle::Redraw => (QUIET_FOR, Duration::from_secs(1)),
            ProgressStyle::Lines => (LINE_EVERY, LINE_EVERY),
        };
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval_at(tokio::time::Instant::now() + first, period);
            let mut drawn = false;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = every.tick() => {
                        let line = counters.so_far();
                        let mut stderr = std::io::stderr().lock();
                        let _ = match style {
                            ProgressStyle::Redraw => write!(stderr, "\r\x1b[K{line}"),
                            ProgressStyle::Lines => writeln!(stderr, "{line}"),
                        };
                        let _ = stderr.flush();
                        drawn = true;
                    }
                }
            }
            if drawn && style == ProgressStyle::Redraw {
                let mut stderr = std::io::stderr().lock();
                let _ = write!(stderr, "\r\x1b[K");
                let _ = stderr.flush();
            }
        });
        Progress { stop, task }
    }

    /// Stops, erasing a redrawn line.
    pub(super) async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
