//! The web console: a page where a person (or a browser driven by a
//! scenario) types request lines and watches a backend answer them.
//!
//! It exists so that "the user enters a line, hits send and sees the answer"
//! can be said about any DISCOS backend, in a real browser, without anything
//! but this binary: the page, its script and its style are compiled in
//! (`page`), and each page gets its own backend connection through the
//! project's [`Client`](crate::client::Client), relayed over a WebSocket
//! (`relay`).
//!
//! The console has no login: it is meant for this machine, and only its
//! own page may drive it (`security`). It caps the pages open at once and
//! the time a client may take to send its request headers (`http`), so
//! neither a runaway script nor a slow client can take the machine's
//! memory or the console's connections.
//!
//! Like the [server](crate::server), the console treats shutdown as part of
//! its contract: [`Console::shutdown`] stops listening, closes every
//! WebSocket and every backend connection, and returns only when every task
//! it started has ended, so a teardown check can prove nothing leaked.

mod args;
pub(crate) mod http;
mod page;
mod relay;
mod security;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::DEFAULT_REPLY_TIMEOUT;

pub use args::{ConsoleArgs, ConsoleOptions, parse_backend};
pub use security::{Origin, exposure_warning};

/// The most pages open at once unless configured otherwise: a console is
/// for a few people at a telescope, and each page holds a WebSocket and a
/// backend connection.
pub const DEFAULT_MAX_WEBSOCKETS: usize = 64;

/// The longest wait for a request's headers unless configured otherwise:
/// a browser sends them at once; a client still sending them after this is
/// slow on purpose, or idle on a kept-alive connection.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How a console listens and which backend it relays to.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen, `host:port`; port 0 picks a free one.
    pub address: String,
    /// The backend every page talks to, `host:port`.
    pub backend: String,
    /// Longest wait for the backend to connect or to answer one line; a
    /// backend silent for longer is reported on the page and disconnected,
    /// because a late reply would be shown against the wrong request.
    pub reply_timeout: Duration,
    /// Pages of other origins that may drive the console too, on purpose
    /// (a proxy or a tunnel in front of it); their hosts are accepted as
    /// the console's names.
    pub allowed_origins: Vec<Origin>,
    /// Pages (WebSockets) open at once; one more is refused with `503`.
    pub max_websockets: usize,
    /// Longest wait for a request's headers; the connection is closed after.
    pub header_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            address: "127.0.0.1:0".to_owned(),
            backend: "127.0.0.1:8978".to_owned(),
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            allowed_origins: Vec::new(),
            max_websockets: DEFAULT_MAX_WEBSOCKETS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
        }
    }
}

/// Counters a teardown check reads; kept by guards so that a task ending
/// any way at all (even by panic) still counts down.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) relays: AtomicUsize,
    pub(crate) backends: AtomicUsize,
    /// What the backend sent that the contract forbids.
    pub(crate) breaches: std::sync::Mutex<Breaches>,
    /// When a line from the backend last came, on any page's connection.
    pub(crate) last_heard: std::sync::Mutex<Option<std::time::Instant>>,
}

/// What a backend sent the console's connections that the contract
/// forbids: lines no page asked for, lines DISCOS would misread. The page
/// shows each as an event; these are kept for whoever judges the backend.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Breaches {
    /// The first [`Breaches::KEPT`], in the order they came.
    pub found: Vec<Breach>,
    /// How many more came.
    pub more: usize,
}

/// One thing a backend sent the console that the contract forbids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The identifier of the requirement it breaks (docs/protocol.md).
    pub requirement: &'static str,
    /// What came, in words, the line included.
    pub what: String,
    /// Whether it is the backend closing a page's connection, which a
    /// backend stopped on purpose does too.
    pub hung_up: bool,
}

impl Breaches {
    /// How many are kept: enough to show what went wrong, bounded against
    /// a backend that floods.
    pub const KEPT: usize = 16;

    pub(crate) fn note(&mut self, requirement: &'static str, what: String, hung_up: bool) {
        if self.found.len() < Self::KEPT {
            self.found.push(Breach {
                requirement,
                what,
                hung_up,
            });
        } else {
            self.more += 1;
        }
    }
}

/// Counts one thing open for as long as it lives.
#[derive(Debug)]
pub(crate) struct Open<'a>(&'a AtomicUsize);

impl<'a> Open<'a> {
    pub(crate) fn new(counter: &'a AtomicUsize) -> Open<'a> {
        counter.fetch_add(1, Ordering::SeqCst);
        Open(counter)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What every request handler of one console shares.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) backend: String,
    pub(crate) reply_timeout: Duration,
    pub(crate) token: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) stats: Arc<Stats>,
    /// One permit per page that may open; held by its relay.
    pub(crate) pages: Arc<Semaphore>,
    pub(crate) max_websockets: usize,
}

/// A running console; dropping it cancels every task, [`Console::shutdown`]
/// also waits for them.
#[derive(Debug)]
pub struct Console {
    local_addr: SocketAddr,
    shared: Shared,
}

impl Console {
    /// Binds `config.address` and serves the console in the background; once
    /// this returns, the page can be loaded. The backend is not contacted
    /// until a page opens its WebSocket, so a console can be started before
    /// its backend.
    pub async fn start(config: Config) -> std::io::Result<Console> {
        if config.max_websockets == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "max_websockets must be at least 1: no page could open",
            ));
        }
        let listener = TcpListener::bind(&config.address).await?;
        let local_addr = listener.local_addr()?;
        let shared = Shared {
            backend: config.backend,
            reply_timeout: config.reply_timeout,
            token: CancellationToken::new(),
            tracker: TaskTracker::new(),
            stats: Arc::default(),
            pages: Arc::new(Semaphore::new(config.max_websockets)),
            max_websockets: config.max_websockets,
        };
        let guard = security::Guard::new(local_addr.port(), &config.allowed_origins);
        let router = Router::new()
            .route("/", get(page::index))
            .route("/console.js", get(page::script))
            .route("/console.css", get(page::style))
            .route("/status", get(page::status))
            .route("/ws", get(relay::upgrade))
            .with_state(shared.clone())
            // Outermost, so that it also sees what no route matched.
            .layer(axum::middleware::from_fn_with_state(guard, security::guard));
        shared.tracker.spawn(http::serve(
            listener,
            router,
            config.header_timeout,
            shared.token.clone(),
        ));
        tracing::info!(%local_addr, backend = %shared.backend, "console listening");
        Ok(Console { local_addr, shared })
    }

    /// The address the console listens on (with the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The page's address, what a person or a browser opens.
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }

    /// The backend the console relays to.
    pub fn backend(&self) -> &str {
        &self.shared.backend
    }

    /// WebSocket relays open now: one per open page.
    pub fn open_relays(&self) -> usize {
        self.shared.stats.relays.load(Ordering::SeqCst)
    }

    /// Backend connections the console holds now; a teardown check expects
    /// 0 once every page is closed.
    pub fn backend_connections(&self) -> usize {
        self.shared.stats.backends.load(Ordering::SeqCst)
    }

    /// What the backend sent the pages' connections so far that the
    /// contract forbids. The page shows each as an event, as a console
    /// should; the acceptance world, which reads this, fails the scenario.
    pub fn breaches(&self) -> Breaches {
        self.shared
            .stats
            .breaches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// When a line from the backend last came, on any page's connection:
    /// from when a judge listens a while for lines nobody asked for.
    pub fn last_heard(&self) -> Option<std::time::Instant> {
        *self
            .shared
            .stats
            .last_heard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tasks of this console still alive: the HTTP server and one per relay.
    pub fn live_tasks(&self) -> usize {
        self.shared.tracker.len()
    }

    /// Stops listening, closes every WebSocket (telling its page why) and
    /// every backend connection, and returns when every task has ended.
    pub async fn shutdown(self) {
        // No limit: tokio treats a timeout this long as never.
        let _ = self.shutdown_within(Duration::MAX).await;
    }

    /// As [`Console::shutdown`], but gives up after `limit` and says how many
    /// tasks were still alive: a teardown check must report a task that
    /// never ends, not hang on it.
    pub async fn shutdown_within(self, limit: Duration) -> Result<(), usize> {
        self.shared.token.cancel();
        self.shared.tracker.close();
        match tokio::time::timeout(limit, self.shared.tracker.wait()).await {
            Ok(()) => {
                tracing::info!(local_addr = %self.local_addr, "console shut down");
                Ok(())
            }
            Err(_) => Err(self.shared.tracker.len()),
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.shared.token.cancel();
    }
}
