//! The TCP server: accepts connections, runs one task per connection, and
//! shuts down so that nothing is left behind and nothing is lost.
//!
//! Shutdown is part of the contract, because acceptance tests verify their
//! teardown and clients must not lose replies: [`Server::shutdown`] stops
//! listening, drains every connection (every request that had arrived is
//! answered, every reply written, then the server's side is shut down and
//! the client's close awaited, for at most [`Config::shutdown_grace`]) and
//! returns only when every connection task has ended and closed its socket.
//! A test awaiting it can then assert that nothing leaked. The connection
//! module tells the drain step by step.
//!
//! # Memory
//!
//! A connection waiting for its client costs its task and socket state,
//! about 2.8 KB (10 000 idle connections: 27.5 MB for the whole server),
//! plus what it keeps of an unfinished line. One being served also holds a
//! read of 8 KiB and up to 17 KiB of replies until they are written
//! ([`BATCH_ROOM`]). At most, then, a connection holds its line limit plus
//! 25 KiB; times 16 384 connections at the default 64 KiB limit, 1.5 GiB.
//! A limit per connection small enough to bound that would refuse real
//! lines, so the bound is server-wide: all connections together hold at
//! most [`Config::max_buffered`] bytes of buffers (default 128 MiB), half
//! for unfinished lines (a line that does not fit is answered `invalid` and
//! discarded) and half for connections being served (a connection waits
//! for room before reading; its bytes wait in TCP). With the defaults, one
//! client however it spreads lines and unread replies over its connections
//! brings the server to about 180 MB at most: 16 384 × 2.8 KB + 128 MiB,
//! plus the runtime. A line begun and not finished within
//! [`Config::line_timeout`] is answered `invalid` and discarded, so a
//! stalled line gives its room back.

pub(crate) mod budget;
mod connection;
mod panic;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use budget::Pool;
use connection::{Budget, Connection, Ending, Settings};
pub(crate) use connection::{discard_ready, unread_bytes};

use crate::backend::Handler;
use crate::protocol::{DEFAULT_MAX_LINE, Message};

/// The most connections served at once unless configured otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;
/// The default buffer budget: half for unfinished lines, half for batches
/// being served.
pub const DEFAULT_MAX_BUFFERED: usize = 128 * 1024 * 1024;
/// How long a line may take to arrive unless configured otherwise: far
/// longer than any program takes to send one, long enough for a person
/// typing into a raw terminal.
pub const DEFAULT_LINE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a shutdown waits for clients to read their replies and close,
/// unless configured otherwise.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The most a connection being served holds besides its unfinished line: a
/// read and the replies to it, until they are written.
pub const BATCH_ROOM: usize = connection::SERVING_ROOM;
/// The shortest line limit the contract allows a backend (docs/protocol.md,
/// "Line limit"): a file name must fit.
pub const MIN_LINE_LIMIT: usize = 4 * 1024;
/// The longest line limit the contract allows a backend.
pub const MAX_LINE_LIMIT: usize = 1024 * 1024;

/// How a server listens and what it tolerates.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen, `host:port`; port 0 picks a free one.
    pub address: String,
    /// Connections served at once; one more is told so and closed.
    pub max_connections: usize,
    /// The longest request line, in bytes.
    pub max_line: usize,
    /// Bytes of buffers all connections together may hold: half for
    /// unfinished lines, half for batches being served (see the module's
    /// documentation).
    pub max_buffered: usize,
    /// How long a line may take to arrive once begun; then it is answered
    /// `invalid` and discarded up to its end.
    pub line_timeout: Duration,
    /// How long a shutdown waits for each client to read its replies and
    /// close, before cutting it off.
    pub shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            address: "127.0.0.1:0".to_owned(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_line: DEFAULT_MAX_LINE,
            max_buffered: DEFAULT_MAX_BUFFERED,
            line_timeout: DEFAULT_LINE_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

impl Config {
    /// Says what is wrong with the limits, if anything: each half of the
    /// buffer budget must hold what one connection may need of it, or that
    /// connection could never be served.
    pub fn check(&self) -> Result<(), String> {
        if self.max_connections == 0 {
            return Err("the connection limit must be at least 1".to_owned());
        }
        if self.max_line == 0 {
            return Err("the line limit must be at least 1 byte".to_owned());
        }
        let half = (self.max_line + 1).max(BATCH_ROOM);
        if self.max_buffered / 2 < half {
            return Err(format!(
                "a buffer budget of {} bytes is too small: half of it must hold a longest line ({} bytes) and half a batch being served ({BATCH_ROOM} bytes), so at least {} bytes",
                self.max_buffered,
                self.max_line + 1,
                2 * half
            ));
        }
        Ok(())
    }
}

/// What a shutdown did with the connections it found open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    /// Connections whose every owed reply was written and whose client then
    /// closed, within the grace.
    pub drained: u64,
    /// Connections whose every owed reply was written, but whose client had
    /// not closed when the grace ended; closed then, their replies still on
    /// their way.
    pub unclosed: u64,
    /// Connections reset when the grace ended with replies unwritten, their
    /// client not reading them: the only ones that lost replies.
    pub cut: u64,
}

/// Counters a teardown check reads.
#[derive(Debug, Default)]
struct Stats {
    open: AtomicUsize,
    accepted: AtomicU64,
    refused: AtomicU64,
    drained: AtomicU64,
    unclosed: AtomicU64,
    cut: AtomicU64,
}

/// A running server; dropping it cancels every task, [`Server::shutdown`]
/// also waits for them.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    token: CancellationToken,
    tracker: TaskTracker,
    stats: Arc<Stats>,
    budget: Arc<Budget>,
    shutdown_grace: Duration,
}

impl Server {
    /// Binds `config.address` and starts serving `handler` in the background;
    /// once this returns, connections are accepted. Limits that cannot work
    /// ([`Config::check`]) are an `InvalidInput` error.
    pub async fn start(config: Config, handler: Arc<dyn Handler>) -> std::io::Result<Server> {
        config
            .check()
            .map_err(|reason| std::io::Error::new(std::io::ErrorKind::InvalidInput, reason))?;
        let listener = TcpListener::bind(&config.address).await?;
        let local_addr = listener.local_addr()?;
        let server = Server {
            local_addr,
            token: CancellationToken::new(),
            tracker: TaskTracker::new(),
            stats: Arc::default(),
            budget: Arc::new(Budget {
                lines: Pool::new(config.max_buffered / 2),
                serving: Pool::new(config.max_buffered / 2),
            }),
            shutdown_grace: config.shutdown_grace,
        };
        let acceptor = Acceptor {
            listener,
            handler,
            limit: Arc::new(Semaphore::new(config.max_connections)),
            max_connections: config.max_connections,
            settings: Settings {
                max_line: config.max_line,
                line_timeout: config.line_timeout,
                shutdown_grace: config.shutdown_grace,
            },
            budget: server.budget.clone(),
            token: server.token.clone(),
            tracker: server.tracker.clone(),
            stats: server.stats.clone(),
        };
        server.tracker.spawn(acceptor.run());
        tracing::info!(%local_addr, "listening");
        Ok(server)
    }

    /// The address the server listens on (with the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections open now, as the server sees them.
    pub fn open_connections(&self) -> usize {
        self.stats.open.load(Ordering::SeqCst)
    }

    /// Connections accepted since the start, refused ones excluded.
    pub fn accepted_connections(&self) -> u64 {
        self.stats.accepted.load(Ordering::SeqCst)
    }

    /// Connections refused because the limit was reached.
    pub fn refused_connections(&self) -> u64 {
        self.stats.refused.load(Ordering::SeqCst)
    }

    /// Tasks of this server still alive: the acceptor and one per connection.
    pub fn live_tasks(&self) -> usize {
        self.tracker.len()
    }

    /// Bytes of unfinished lines the connections hold now.
    pub fn unfinished_line_bytes(&self) -> usize {
        self.budget.lines.in_use()
    }

    /// Connections with bytes to read that wait for room in the budget.
    pub fn connections_waiting_for_room(&self) -> usize {
        self.budget.serving.waiting()
    }

    /// Stops listening, drains every connection (within the grace), and
    /// returns when every task of the server has ended.
    pub async fn shutdown(self) -> Drained {
        // No limit: tokio treats a timeout this long as never. The grace
        // bounds the drain; only a handler that never returns could hang it.
        self.shutdown_within(Duration::MAX)
            .await
            .unwrap_or_default()
    }

    /// As [`Server::shutdown`], but gives up after `limit` and says how many
    /// tasks were still alive: a teardown check must report a task that
    /// never ends, not hang on it. Connections whose client already closed
    /// end at once, so a teardown that closed its clients first is quick.
    pub async fn shutdown_within(self, limit: Duration) -> Result<Drained, usize> {
        let open = self.open_connections();
        if open > 0 {
            tracing::info!(
                local_addr = %self.local_addr,
                connections = open,
                grace = %humantime::format_duration(self.shutdown_grace),
                "shutting down: draining the connections"
            );
        }
        self.token.cancel();
        self.tracker.close();
        match tokio::time::timeout(limit, self.tracker.wait()).await {
            Ok(()) => {
                let drained = Drained {
                    drained: self.stats.drained.load(Ordering::SeqCst),
                    unclosed: self.stats.unclosed.load(Ordering::SeqCst),
                    cut: self.stats.cut.load(Ordering::SeqCst),
                };
                tracing::info!(
                    local_addr = %self.local_addr,
                    drained = drained.drained,
                    unclosed = drained.unclosed,
                    cut = drained.cut,
                    "shut down"
                );
                Ok(drained)
            }
            Err(_) => Err(self.tracker.len()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

struct Acceptor {
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    limit: Arc<Semaphore>,
    max_connections: usize,
    settings: Settings,
    budget: Arc<Budget>,
    token: CancellationToken,
    tracker: TaskTracker,
    stats: Arc<Stats>,
}

impl Acceptor {
    async fn run(self) {
        loop {
            let accepted = tokio::select! {
                biased;
                () = self.token.cancelled() => return,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => self.admit(stream, peer),
                Err(error) => {
                    // Out of file descriptors, mostly: the connections being
                    // served matter more than the ones waiting, so pause and
                    // let some close instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::select! {
                        () = self.token.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_millis(10)) => {}
                    }
                }
            }
        }
    }

    fn admit(&self, stream: TcpStream, peer: SocketAddr) {
        let Ok(permit) = self.limit.clone().try_acquire_owned() else {
            self.stats.refused.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(%peer, limit = self.max_connections, "connection refused: at the limit");
            // Say why in place of the handshake, so the client's error names
            // the cause; a full socket buffer just loses the courtesy.
            let refusal = Message::fail(
                "version",
                format!(
                    "too many connections: the limit is {}",
                    self.max_connections
                ),
            );
            let _ = stream.try_write(&refusal.to_bytes());
            return;
        };
        self.stats.accepted.fetch_add(1, Ordering::SeqCst);
        self.stats.open.fetch_add(1, Ordering::SeqCst);
        let connection = Connection::new(
            stream,
            self.handler.clone(),
            self.settings,
            self.budget.clone(),
        );
        let token = self.token.clone();
        let stats = self.stats.clone();
        self.tracker.spawn(async move {
            tracing::debug!(%peer, "connection opened");
            let mut connection = connection;
            match connection.run(&token).await {
                Ok(Ending::Closed) => {}
                Ok(Ending::Drained) => {
                    stats.drained.fetch_add(1, Ordering::SeqCst);
                }
                Ok(Ending::Unclosed) => {
                    stats.unclosed.fetch_add(1, Ordering::SeqCst);
                    tracing::debug!(%peer, "connection closed at the end of the grace, every reply written");
                }
                Ok(Ending::Cut) => {
                    stats.cut.fetch_add(1, Ordering::SeqCst);
                    tracing::warn!(%peer, "connection cut: replies still unwritten at the end of the grace");
                }
                Err(error) => tracing::debug!(%peer, %error, "connection ended by an error"),
            }
            // Count the connection closed before its socket closes, so a
            // client that saw the close also sees the count.
            stats.open.fetch_sub(1, Ordering::SeqCst);
            drop(connection);
            drop(permit);
            tracing::debug!(%peer, "connection closed");
        });
    }
}
