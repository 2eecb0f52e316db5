//! The progress line on stderr, so a person watching a long run sees it move.
//!
//! Connections publish their counts only when they are about to wait on the
//! socket anyway, so the line costs the measured path one relaxed atomic add
//! per batch, not per request.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Runs shorter than this draw no progress line.
const QUIET_FOR: Duration = Duration::from_secs(2);

/// Counts every connection adds to.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) replies: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) connected: AtomicU64,
    started: OnceLock<Instant>,
}

impl Counters {
    /// Marks the start of the active run, for the rate on the line.
    pub(super) fn started(&self, at: Instant) {
        let _ = self.started.set(at);
    }
}

/// A running progress line; [`Progress::finish`] erases it.
pub(super) struct Progress {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Progress {
    /// Starts redrawing the line every second, from two seconds on.
    pub(super) fn start(counters: Arc<Counters>) -> Progress {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let began = Instant::now();
            let mut every = tokio::time::interval_at(
                tokio::time::Instant::now() + QUIET_FOR,
                Duration::from_secs(1),
            );
            let mut drawn = false;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = every.tick() => {
                        draw(&counters, began);
                        drawn = true;
                    }
                }
            }
            if drawn {
                let mut stderr = std::io::stderr().lock();
                let _ = write!(stderr, "\r\x1b[K");
                let _ = stderr.flush();
            }
        });
        Progress { stop, task }
    }

    /// Stops and erases the line.
    pub(super) async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn draw(counters: &Counters, began: Instant) {
    let replies = counters.replies.load(Ordering::Relaxed);
    let errors = counters.errors.load(Ordering::Relaxed);
    let connected = counters.connected.load(Ordering::Relaxed);
    let rate = counters
        .started
        .get()
        .map(|at| replies as f64 / at.elapsed().as_secs_f64().max(1e-9))
        .unwrap_or(0.0);
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "\r\x1b[K{:>6.1} s  {connected} connected  {replies} replies  {errors} errors  {rate:.0} requests/s",
        began.elapsed().as_secs_f64()
    );
    let _ = stderr.flush();
}
