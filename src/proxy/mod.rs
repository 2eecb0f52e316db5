//! `discos-sim proxy`: a DISCOS-protocol proxy that sits between a client
//! (DISCOS, the console, `discos-sim send`) and a backend, passes every
//! line through unchanged, and on demand misbehaves the way real backends
//! and networks do.
//!
//! Every client gets its own connection to the backend (`link`), so the
//! backend sees exactly the clients it would see without the proxy. What
//! can go wrong is said in one syntax ([`fault`]), kept in one registry
//! that every link reads ([`engine`]) and that the control interface
//! changes while the proxy runs ([`control`]); what passed can be written
//! down as a feature in the step library's words ([`record`]).
//!
//! Bounded like the [server](crate::server): at most
//! [`Config::max_connections`] links, and their buffers all together
//! within [`Config::max_buffered`] (the server's own budget, half for
//! unfinished lines a fault holds, half for reading and queueing; a
//! direction with a full queue is not read, so a delayed client is held
//! back by TCP). Ending cleanly like the server: [`Proxy::shutdown`] stops
//! listening, lets every link pass on the requests that had arrived and
//! the replies owed to them, ends both sides, awaits the client's close
//! within the grace, and returns when every task has ended.

pub mod control;
pub mod engine;
pub mod fault;
mod link;
pub mod record;
mod shared;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use control::Control;
pub use engine::{Entry, Faults};
pub use fault::{Action, Direction, Fault, FaultError};
pub use record::Recorder;

use crate::protocol::{DEFAULT_MAX_LINE, Message};
use crate::server::budget::Pool;
use crate::server::{
    DEFAULT_MAX_BUFFERED, DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_GRACE, Drained,
};
use engine::DownState;
use link::{Ending, Link};
use shared::{Budget, Settings, Shared, Stats};

/// How long a link waits for the backend to accept its connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a proxy that came back tries its port again while another
/// program holds it.
const REBIND_EVERY: Duration = Duration::from_millis(50);

/// How a proxy listens, where it forwards, and what it tolerates.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen, `host:port`; port 0 picks a free one.
    pub address: String,
    /// The backend every client is linked to, `host:port`.
    pub backend: String,
    /// Links served at once; one more is told why and closed.
    pub max_connections: usize,
    /// The longest line a fault holds whole; a longer one passes as it
    /// comes, and no fault acts on it.
    pub max_line: usize,
    /// Bytes of buffers all links together may hold (see the module's
    /// documentation).
    pub max_buffered: usize,
    /// How long a shutdown waits for each client to take its replies and
    /// close; also how long a link a fault ended waits for both sides to
    /// close.
    pub shutdown_grace: Duration,
    /// How long a link waits for the backend to accept its connection.
    pub connect_timeout: Duration,
    /// The faults active from the start.
    pub faults: Vec<Fault>,
    /// Where what passes is written down, if anywhere.
    pub recorder: Option<Arc<Recorder>>,
}

impl Config {
    /// A proxy on a free port of 127.0.0.1 in front of `backend`, with the
    /// server's limits and no fault.
    pub fn new(backend: impl Into<String>) -> Config {
        Config {
            address: "127.0.0.1:0".to_owned(),
            backend: backend.into(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_line: DEFAULT_MAX_LINE,
            max_buffered: DEFAULT_MAX_BUFFERED,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            faults: Vec::new(),
            recorder: None,
        }
    }

    /// Says what is wrong with the limits, if anything.
    pub fn check(&self) -> Result<(), String> {
        if self.max_connections == 0 {
            return Err("the connection limit must be at least 1".to_owned());
        }
        let half = self.max_line + 1 + 64 * 1024;
        if self.max_buffered / 2 < half {
            return Err(format!(
                "a buffer budget of {} bytes is too small: half of it must hold a longest line and a link's queue ({half} bytes), so at least {} bytes",
                self.max_buffered,
                2 * half
            ));
        }
        Ok(())
    }
}

/// A running proxy; dropping it cancels every task, [`Proxy::shutdown`]
/// also waits for them.
#[derive(Debug)]
pub struct Proxy {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Proxy {
    /// Binds `config.address` and starts linking clients to the backend in
    /// the background; once this returns, clients are accepted. The
    /// backend is not contacted until a client connects.
    pub async fn start(config: Config) -> std::io::Result<Proxy> {
        config
            .check()
            .map_err(|reason| std::io::Error::new(std::io::ErrorKind::InvalidInput, reason))?;
        let listener = TcpListener::bind(&config.address).await?;
        let local_addr = listener.local_addr()?;
        let faults = Arc::new(Faults::default());
        for fault in config.faults {
            faults.add(fault);
        }
        let shared = Arc::new(Shared {
            backend: config.backend,
            settings: Settings {
                max_line: config.max_line,
                shutdown_grace: config.shutdown_grace,
            },
            connect_timeout: config.connect_timeout,
            faults,
            budget: Budget {
                lines: Pool::new(config.max_buffered / 2),
                serving: Pool::new(config.max_buffered / 2),
            },
            stats: Stats::default(),
            recorder: config.recorder,
            listening: tokio::sync::watch::Sender::new(true),
        });
        let proxy = Proxy {
            local_addr,
            shared: shared.clone(),
            token: CancellationToken::new(),
            tracker: TaskTracker::new(),
        };
        let acceptor = Acceptor {
            listener: Some(listener),
            local_addr,
            shared,
            limit: Arc::new(Semaphore::new(config.max_connections)),
            max_connections: config.max_connections,
            token: proxy.token.clone(),
            tracker: proxy.tracker.clone(),
            next_link: 0,
        };
        proxy.tracker.spawn(acceptor.run());
        tracing::info!(%local_addr, backend = %proxy.shared.backend, "proxy listening");
        Ok(proxy)
    }

    /// The address clients connect to (with the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The backend clients are linked to.
    pub fn backend(&self) -> &str {
        &self.shared.backend
    }

    /// The faults, to change while the proxy runs.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.shared.faults
    }

    /// Links open now: clients connected through the proxy.
    pub fn open_links(&self) -> usize {
        self.shared.stats.open.load(Ordering::SeqCst)
    }

    /// Waits, at most `limit`, until no link is open, and says how many
    /// still are. A client that has closed may see its end of stream just
    /// before its link has finished: the backend had closed first, so the
    /// link's end of stream reached the client before the client's own
    /// close reached the link.
    pub async fn links_closed_within(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let closed = self.shared.stats.closed.notified();
            let open = self.open_links();
            if open == 0 || tokio::time::timeout_at(deadline, closed).await.is_err() {
                return self.open_links();
            }
        }
    }

    /// Whether the proxy listens now: false while a `down` holds it down.
    pub fn is_listening(&self) -> bool {
        *self.shared.listening.borrow()
    }

    /// Waits, at most `limit`, until the proxy listens (`wanted`) or has
    /// stopped listening, and says whether it came to that: a fault that
    /// takes the proxy down acts as soon as the acceptor sees it, which is
    /// an instant after it is added.
    pub async fn wait_until_listening(&self, wanted: bool, limit: Duration) -> bool {
        let mut listening = self.shared.listening.subscribe();
        tokio::time::timeout(limit, listening.wait_for(|now| *now == wanted))
            .await
            .is_ok_and(|seen| seen.is_ok())
    }

    /// Links accepted since the start, refused ones excluded.
    pub fn accepted_links(&self) -> u64 {
        self.shared.stats.accepted.load(Ordering::SeqCst)
    }

    /// Clients refused because the limit was reached.
    pub fn refused_links(&self) -> u64 {
        self.shared.stats.refused.load(Ordering::SeqCst)
    }

    /// Clients the backend could not be reached for.
    pub fn unreachable(&self) -> u64 {
        self.shared.stats.unreachable.load(Ordering::SeqCst)
    }

    /// Links a fault ended (drop, reset, garbage).
    pub fn faulted_links(&self) -> u64 {
        self.shared.stats.faulted.load(Ordering::SeqCst)
    }

    /// Writes made to clients since the start: a sliced reply takes several,
    /// merged replies share one.
    pub fn client_writes(&self) -> u64 {
        self.shared.stats.client_writes.load(Ordering::SeqCst)
    }

    /// Whole lines written to clients since the start.
    pub fn client_lines(&self) -> u64 {
        self.shared.stats.client_lines.load(Ordering::SeqCst)
    }

    /// Tasks of this proxy still alive: the acceptor and one per link.
    pub fn live_tasks(&self) -> usize {
        self.tracker.len()
    }

    /// Bytes of the budget the links hold now.
    pub fn buffered_bytes(&self) -> usize {
        self.shared.budget.lines.in_use() + self.shared.budget.serving.in_use()
    }

    /// Stops listening, drains every link (within the grace) and returns
    /// when every task has ended.
    pub async fn shutdown(self) -> Drained {
        // No limit: tokio treats a timeout this long as never.
        self.shutdown_within(Duration::MAX)
            .await
            .unwrap_or_default()
    }

    /// As [`Proxy::shutdown`], but gives up after `limit` and says how many
    /// tasks were still alive.
    pub async fn shutdown_within(self, limit: Duration) -> Result<Drained, usize> {
        let open = self.open_links();
        if open > 0 {
            tracing::info!(
                local_addr = %self.local_addr,
                links = open,
                grace = %humantime::format_duration(self.shared.settings.shutdown_grace),
                "proxy shutting down: draining the links"
            );
        }
        self.token.cancel();
        self.tracker.close();
        match tokio::time::timeout(limit, self.tracker.wait()).await {
            Ok(()) => {
                let stats = &self.shared.stats;
                let drained = Drained {
                    drained: stats.drained.load(Ordering::SeqCst),
                    unclosed: stats.unclosed.load(Ordering::SeqCst),
                    cut: stats.cut.load(Ordering::SeqCst),
                };
                tracing::info!(
                    local_addr = %self.local_addr,
                    drained = drained.drained,
                    unclosed = drained.unclosed,
                    cut = drained.cut,
                    "proxy shut down"
                );
                Ok(drained)
            }
            Err(_) => Err(self.tracker.len()),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

struct Acceptor {
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    limit: Arc<Semaphore>,
    max_connections: usize,
    token: CancellationToken,
    tracker: TaskTracker,
    next_link: u64,
}

impl Acceptor {
    async fn run(mut self) {
        let mut down = self.shared.faults.watch_down();
        // Cancelled when the proxy goes down: every link of this spell of
        // being up ends with it.
        let mut spell = CancellationToken::new();
        loop {
            let state = *down.borrow_and_update();
            match state {
                DownState::Up => {
                    let Some(listener) = &self.listener else {
                        match self.listen_again().await {
                            Some(listener) => {
                                tracing::info!(local_addr = %self.local_addr, "proxy back up");
                                self.listener = Some(listener);
                                self.shared.listening.send_replace(true);
                                spell = CancellationToken::new();
                            }
                            None => return,
                        }
                        continue;
                    };
                    let accepted = tokio::select! {
                        biased;
                        () = self.token.cancelled() => return,
                        changed = down.changed() => {
                            if changed.is_err() {
                                return;
                            }
                            continue;
                        }
                        accepted = listener.accept() => accepted,
                    };
                    match accepted {
                        Ok((stream, peer)) => self.admit(stream, peer, &spell),
                        Err(error) => {
                            // Out of file descriptors, mostly: pause rather
                            // than spin.
                            tracing::warn!(%error, "proxy: accept failed");
                            tokio::select! {
                                () = self.token.cancelled() => return,
                                () = tokio::time::sleep(Duration::from_millis(10)) => {}
                            }
                        }
                    }
                }
                DownState::Down { id, until } => {
                    if self.listener.take().is_some() {
                        spell.cancel();
                        self.shared.listening.send_replace(false);
                        tracing::info!(local_addr = %self.local_addr, fault = id, "proxy down");
                    }
                    let back = async {
                        match until {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        biased;
                        () = self.token.cancelled() => return,
                        changed = down.changed() => {
                            if changed.is_err() {
                                return;
                            }
                        }
                        () = back => self.shared.faults.come_back(id),
                    }
                }
            }
        }
    }

    /// Binds the proxy's address again after it was down; `None` if the
    /// proxy shut down meanwhile.
    async fn listen_again(&self) -> Option<TcpListener> {
        let mut warned = false;
        loop {
            match TcpListener::bind(self.local_addr).await {
                Ok(listener) => return Some(listener),
                Err(error) => {
                    if !std::mem::replace(&mut warned, true) {
                        tracing::warn!(local_addr = %self.local_addr, %error, "proxy cannot listen again yet; trying every 50 ms");
                    }
                }
            }
            tokio::select! {
                () = self.token.cancelled() => return None,
                () = tokio::time::sleep(REBIND_EVERY) => {}
            }
        }
    }

    fn admit(&mut self, stream: TcpStream, peer: SocketAddr, spell: &CancellationToken) {
        let stats = &self.shared.stats;
        let Ok(permit) = self.limit.clone().try_acquire_owned() else {
            stats.refused.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(%peer, limit = self.max_connections, "proxy: connection refused at the limit");
            let refusal = Message::fail(
                "version",
                format!(
                    "too many connections to the proxy: the limit is {}",
                    self.max_connections
                ),
            );
            let _ = stream.try_write(&refusal.to_bytes());
            return;
        };
        stats.accepted.fetch_add(1, Ordering::SeqCst);
        stats.open.fetch_add(1, Ordering::SeqCst);
        self.next_link += 1;
        let id = self.next_link;
        let shared = self.shared.clone();
        let token = self.token.clone();
        let spell = spell.clone();
        self.tracker.spawn(async move {
            tracing::debug!(%peer, link = id, "link opened");
            let ending = serve_link(id, stream, &shared, &token, &spell).await;
            let stats = &shared.stats;
            match ending {
                Some(Ending::Drained) => {
                    stats.drained.fetch_add(1, Ordering::SeqCst);
                }
                Some(Ending::Unclosed) => {
                    stats.unclosed.fetch_add(1, Ordering::SeqCst);
                }
                Some(Ending::Cut) => {
                    stats.cut.fetch_add(1, Ordering::SeqCst);
                    tracing::warn!(%peer, link = id, "link cut: replies still unwritten at the end of the grace");
                }
                Some(Ending::Faulted) => {
                    stats.faulted.fetch_add(1, Ordering::SeqCst);
                }
                Some(Ending::Closed | Ending::Down) | None => {}
            }
            if let Some(recorder) = &shared.recorder {
                recorder.closed(id);
            }
            stats.open.fetch_sub(1, Ordering::SeqCst);
            stats.closed.notify_waiters();
            drop(permit);
            tracing::debug!(%peer, link = id, ?ending, "link closed");
        });
    }
}

/// Connects to the backend for a new client and serves the link; a backend
/// that cannot be reached is the client's first line, as a refusal.
async fn serve_link(
    id: u64,
    mut client: TcpStream,
    shared: &Arc<Shared>,
    token: &CancellationToken,
    spell: &CancellationToken,
) -> Option<Ending> {
    let connect = tokio::time::timeout(
        shared.connect_timeout,
        TcpStream::connect(shared.backend.as_str()),
    );
    let upstream = tokio::select! {
        () = token.cancelled() => return None,
        () = spell.cancelled() => return Some(Ending::Down),
        connected = connect => connected,
    };
    let upstream = match upstream {
        Ok(Ok(upstream)) => upstream,
        failed => {
            let reason = match failed {
                Ok(Err(error)) => error.to_string(),
                _ => format!(
                    "no answer within {}",
                    humantime::format_duration(shared.connect_timeout)
                ),
            };
            shared.stats.unreachable.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(link = id, backend = %shared.backend, %reason, "proxy: the backend cannot be reached");
            let refusal = Message::fail(
                "version",
                format!(
                    "the proxy cannot reach the backend at {}: {reason}",
                    shared.backend
                ),
            );
            let _ = client.write_all(&refusal.to_bytes()).await;
            let _ = client.shutdown().await;
            return None;
        }
    };
    if let Some(recorder) = &shared.recorder {
        recorder.opened(id);
    }
    let link = Link::new(id, client, upstream, shared.clone());
    Some(link.run(token, spell).await)
}
