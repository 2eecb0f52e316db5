//! The TCP server: accepts connections, runs one task per connection, and
//! shuts down so that nothing is left behind.
//!
//! Shutdown is part of the contract, because acceptance tests verify their
//! teardown: [`Server::shutdown`] stops listening, tells every connection
//! task to end, and returns only when every one of them has ended and closed
//! its socket. A test awaiting it can then assert that nothing leaked.

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

use crate::backend::Handler;
use crate::protocol::{DEFAULT_MAX_LINE, Message};

/// The most connections served at once unless configured otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

/// How a server listens and what it tolerates.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen, `host:port`; port 0 picks a free one.
    pub address: String,
    /// Connections served at once; one more is told so and closed.
    pub max_connections: usize,
    /// The longest request line, in bytes.
    pub max_line: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            address: "127.0.0.1:0".to_owned(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_line: DEFAULT_MAX_LINE,
        }
    }
}

/// Counters a teardown check reads.
#[derive(Debug, Default)]
struct Stats {
    open: AtomicUsize,
    accepted: AtomicU64,
    refused: AtomicU64,
}

/// A running server; dropping it cancels every task, [`Server::shutdown`]
/// also waits for them.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    token: CancellationToken,
    tracker: TaskTracker,
    stats: Arc<Stats>,
}

impl Server {
    /// Binds `config.address` and starts serving `handler` in the background;
    /// once this returns, connections are accepted.
    pub async fn start(config: Config, handler: Arc<dyn Handler>) -> std::io::Result<Server> {
        let listener = TcpListener::bind(&config.address).await?;
        let local_addr = listener.local_addr()?;
        let server = Server {
            local_addr,
            token: CancellationToken::new(),
            tracker: TaskTracker::new(),
            stats: Arc::default(),
        };
        let acceptor = Acceptor {
            listener,
            handler,
            limit: Arc::new(Semaphore::new(config.max_connections)),
            max_connections: config.max_connections,
            max_line: config.max_line,
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

    /// Stops listening, closes every connection, and returns when every task
    /// of the server has ended.
    pub async fn shutdown(self) {
        // No limit: tokio treats a timeout this long as never.
        let _ = self.shutdown_within(Duration::MAX).await;
    }

    /// As [`Server::shutdown`], but gives up after `limit` and says how many
    /// tasks were still alive: a teardown check must report a task that
    /// never ends, not hang on it.
    pub async fn shutdown_within(self, limit: Duration) -> Result<(), usize> {
        self.token.cancel();
        self.tracker.close();
        match tokio::time::timeout(limit, self.tracker.wait()).await {
            Ok(()) => {
                tracing::info!(local_addr = %self.local_addr, "shut down");
                Ok(())
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
    max_line: usize,
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
        let connection = connection::Connection::new(stream, self.handler.clone(), self.max_line);
        let token = self.token.clone();
        let stats = self.stats.clone();
        self.tracker.spawn(async move {
            tracing::debug!(%peer, "connection opened");
            let mut connection = connection;
            if let Err(error) = connection.run(token).await {
                tracing::debug!(%peer, %error, "connection ended by an error");
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
