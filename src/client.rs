//! The protocol client: the only one in the project, used by the acceptance
//! steps, the console relay, the load tool and `discos-sim send`.
//!
//! It keeps a [`Transcript`] of everything sent and received with timings,
//! because when a scenario fails, the exchange is what a person needs to see;
//! the load tool turns it off.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::protocol::{
    Code, DEFAULT_MAX_LINE, LineCodec, Message, ProtocolError, TextError, latin1, request_from_text,
};

/// How long to wait for a reply (or the handshake, or a connection) unless
/// configured otherwise: long enough for any sane backend, short enough that
/// a scenario against a silent one fails instead of hanging.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// How a client behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Longest wait for a connection, the handshake or a reply.
    pub reply_timeout: Duration,
    /// Longest reply line accepted, in bytes.
    pub max_line: usize,
    /// Whether to record a transcript (off for load generation).
    pub transcript: bool,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            max_line: DEFAULT_MAX_LINE,
            transcript: true,
        }
    }
}

/// What went wrong talking to a backend.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TCP connection could not be made.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// The address tried.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The backend answered nothing in time.
    #[error("waited {after:?} for {waiting_for} from {peer}; none came")]
    Timeout {
        /// What was awaited: the handshake, a reply to some request.
        waiting_for: String,
        /// The backend.
        peer: String,
        /// How long it was awaited.
        after: Duration,
    },
    /// The backend closed the connection while a reply was awaited.
    #[error("{peer} closed the connection while waiting for {waiting_for}")]
    Closed {
        /// What was awaited.
        waiting_for: String,
        /// The backend.
        peer: String,
    },
    /// The backend refused the connection in its first line.
    #[error("{peer} refused the connection: {reason}")]
    Refused {
        /// The backend.
        peer: String,
        /// Its reason.
        reason: String,
    },
    /// The first line was not the `!version,ok,…` handshake.
    #[error("{peer} did not open with the handshake !version,ok,1.4 but with {got}")]
    Handshake {
        /// The backend.
        peer: String,
        /// What it sent instead.
        got: String,
    },
    /// The backend sent a line that is not a message.
    #[error("{peer} sent a malformed line: {error}")]
    Malformed {
        /// The backend.
        peer: String,
        /// What is wrong with the line, and the line.
        error: ProtocolError,
    },
    /// The backend sent a request where a reply was due.
    #[error("{peer} sent a request where a reply was due: {message}")]
    NotAReply {
        /// The backend.
        peer: String,
        /// What it sent.
        message: Message,
    },
    /// The text to send is not a well-formed request.
    #[error("cannot send {text:?}: {error}")]
    BadRequest {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        error: TextError,
    },
    /// The connection was already closed by [`Client::close`].
    #[error("the connection to {peer} is already closed")]
    AlreadyClosed {
        /// The backend.
        peer: String,
    },
    /// Reading or writing the socket failed.
    #[error("talking to {peer}: {source}")]
    Io {
        /// The backend.
        peer: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Which way a transcript line went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the backend.
    Sent,
    /// From the backend to the client.
    Received,
    /// Something that happened to the connection (closed, timed out).
    Event,
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Time since the connection was opened.
    pub at: Duration,
    /// Which way it went.
    pub direction: Direction,
    /// The line, without its line end, with control bytes escaped.
    pub text: String,
}

/// Everything a client sent and received, in order, with timings.
#[derive(Debug, Clone)]
pub struct Transcript {
    started: Instant,
    enabled: bool,
    entries: Vec<Entry>,
}

impl Transcript {
    fn new(enabled: bool) -> Transcript {
        Transcript {
            started: Instant::now(),
            enabled,
            entries: Vec::new(),
        }
    }

    fn record(&mut self, direction: Direction, text: impl FnOnce() -> String) {
        if self.enabled {
            self.entries.push(Entry {
                at: self.started.elapsed(),
                direction,
                text: text(),
            });
        }
    }

    /// When the connection was opened; entries count from here.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The lines, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for entry in &self.entries {
            let arrow = match entry.direction {
                Direction::Sent => "->",
                Direction::Received => "<-",
                Direction::Event => "--",
            };
            writeln!(f, "{:>9.3}s {arrow} {}", entry.at.as_secs_f64(), entry.text)?;
        }
        Ok(())
    }
}

/// Shows latin-1 text as a person can read it: printable characters as they
/// are, CR, LF, tab and other control characters escaped.
pub fn escape_line(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' => escaped.push_str("\\r"),
            '\n' => escaped.push_str("\\n"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_control() => escaped.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A connection to a DISCOS backend, past its handshake.
#[derive(Debug)]
pub struct Client {
    framed: Framed<TcpStream, LineCodec>,
    peer: String,
    options: ClientOptions,
    handshake: Message,
    transcript: Transcript,
    closed: bool,
}

impl Client {
    /// Connects with default options and checks the handshake.
    pub async fn connect(address: impl Into<String>) -> Result<Client, ClientError> {
        Client::connect_with(address, ClientOptions::default()).await
    }

    /// Connects, reads the first line and checks it is `!version,ok,…`.
    pub async fn connect_with(
        address: impl Into<String>,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        let address = address.into();
        let connect = TcpStream::connect(address.as_str());
        let stream = match tokio::time::timeout(options.reply_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => return Err(ClientError::Connect { address, source }),
            Err(_) => {
                return Err(ClientError::Connect {
                    address,
                    source: std::io::ErrorKind::TimedOut.into(),
                });
            }
        };
        stream.set_nodelay(true).map_err(|source| ClientError::Io {
            peer: address.clone(),
            source,
        })?;
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| address.clone());
        let mut client = Client {
            framed: Framed::new(stream, LineCodec::new(options.max_line)),
            peer,
            transcript: Transcript::new(options.transcript),
            options,
            handshake: Message::ok("version", Vec::<String>::new()),
            closed: false,
        };
        let first = client.receive_for("the handshake").await?;
        match (first.name.as_str(), first.code()) {
            ("version", Some(Code::Ok)) if !first.arguments.is_empty() => {
                client.handshake = first;
                Ok(client)
            }
            ("version", Some(Code::Fail)) => Err(ClientError::Refused {
                peer: client.peer,
                reason: first.reason().unwrap_or("no reason given").to_owned(),
            }),
            _ => Err(ClientError::Handshake {
                peer: client.peer,
                got: first.to_string(),
            }),
        }
    }

    /// The backend's address.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// The local address of this connection.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.framed.get_ref().local_addr().ok()
    }

    /// The backend's first line, e.g. `!version,ok,1.4`.
    pub fn handshake(&self) -> &Message {
        &self.handshake
    }

    /// The protocol version the backend announced.
    pub fn version(&self) -> &str {
        self.handshake.arguments.first().map_or("", String::as_str)
    }

    /// Everything sent and received so far.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Sends one request and waits for its reply.
    pub async fn request(&mut self, request: &Message) -> Result<Message, ClientError> {
        self.send(request).await?;
        self.receive_for(&format!("reply to {request}")).await
    }

    /// Sends a request typed as text (the `?` may be left out) and waits for
    /// its reply.
    pub async fn request_text(&mut self, text: &str) -> Result<Message, ClientError> {
        let request = request_from_text(text).map_err(|error| ClientError::BadRequest {
            text: text.to_owned(),
            error,
        })?;
        self.request(&request).await
    }

    /// Sends all requests at once, then reads their replies, in order.
    pub async fn pipeline(&mut self, requests: &[Message]) -> Result<Vec<Message>, ClientError> {
        for request in requests {
            self.feed(request).await?;
        }
        self.flush().await?;
        let mut replies = Vec::with_capacity(requests.len());
        for request in requests {
            replies.push(self.receive_for(&format!("reply to {request}")).await?);
        }
        Ok(replies)
    }

    /// Sends a request without waiting for its reply.
    pub async fn send(&mut self, request: &Message) -> Result<(), ClientError> {
        self.feed(request).await?;
        self.flush().await
    }

    /// Queues a request to be sent at the next [`Client::flush`]; how a load
    /// generator keeps many requests in flight with few system calls.
    pub async fn feed(&mut self, request: &Message) -> Result<(), ClientError> {
        self.check_open()?;
        self.transcript
            .record(Direction::Sent, || request.to_string());
        let result = self.framed.feed(request).await;
        result.map_err(|source| self.io_error(source))
    }

    /// Sends whatever [`Client::feed`] queued.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        self.check_open()?;
        let result = SinkExt::<&Message>::flush(&mut self.framed).await;
        result.map_err(|source| self.io_error(source))
    }

    /// Sends bytes exactly as given: for malformed input on purpose.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.check_open()?;
        self.transcript
            .record(Direction::Sent, || escape_line(&latin1::decode(bytes)));
        let stream = self.framed.get_mut();
        let result = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        }
        .await;
        result.map_err(|source| self.io_error(source))
    }

    /// Whether a whole line is already buffered, so the next
    /// [`Client::receive`] can be answered without waiting on the socket.
    ///
    /// A pipelining caller (the load tool) feeds a new request for every
    /// reply it takes and flushes only when this turns false: one write per
    /// batch of replies instead of one per request, and never a wait on the
    /// socket with requests still unsent.
    pub fn reply_buffered(&self) -> bool {
        self.framed.read_buffer().contains(&b'\n')
    }

    /// Waits for the next reply.
    pub async fn receive(&mut self) -> Result<Message, ClientError> {
        self.receive_for("a reply").await
    }

    async fn receive_for(&mut self, waiting_for: &str) -> Result<Message, ClientError> {
        self.check_open()?;
        let next = tokio::time::timeout(self.options.reply_timeout, self.framed.next()).await;
        match next {
            Err(_) => {
                let after = self.options.reply_timeout;
                self.transcript.record(Direction::Event, || {
                    format!("waited {after:?} for {waiting_for}; none came")
                });
                Err(ClientError::Timeout {
                    waiting_for: waiting_for.to_owned(),
                    peer: self.peer.clone(),
                    after,
                })
            }
            Ok(None) => {
                self.transcript.record(Direction::Event, || {
                    "connection closed by the backend".into()
                });
                Err(ClientError::Closed {
                    waiting_for: waiting_for.to_owned(),
                    peer: self.peer.clone(),
                })
            }
            Ok(Some(Err(source))) => Err(self.io_error(source)),
            Ok(Some(Ok(Err(error)))) => {
                self.transcript
                    .record(Direction::Received, || match &error {
                        ProtocolError::Syntax { line, .. } => escape_line(line),
                        ProtocolError::LineTooLong { .. } => error.to_string(),
                    });
                Err(ClientError::Malformed {
                    peer: self.peer.clone(),
                    error,
                })
            }
            Ok(Some(Ok(Ok(message)))) => {
                self.transcript
                    .record(Direction::Received, || message.to_string());
                if message.is_request() {
                    return Err(ClientError::NotAReply {
                        peer: self.peer.clone(),
                        message,
                    });
                }
                Ok(message)
            }
        }
    }

    /// Closes the connection cleanly: ends the sending side, then reads until
    /// the backend closes too, so neither end is left half open. Replies
    /// still in flight are recorded in the transcript.
    pub async fn close(&mut self) -> Result<(), ClientError> {
        if self.closed {
            return Ok(());
        }
        let flushed = SinkExt::<&Message>::flush(&mut self.framed).await;
        let shut = self.framed.get_mut().shutdown().await;
        if let Err(source) = flushed.and(shut) {
            self.closed = true;
            return Err(self.io_error(source));
        }
        loop {
            match self
                .receive_for("the backend to close the connection")
                .await
            {
                Ok(_) | Err(ClientError::Malformed { .. } | ClientError::NotAReply { .. }) => {}
                Err(ClientError::Closed { .. }) => break,
                Err(error) => {
                    self.closed = true;
                    return Err(error);
                }
            }
        }
        self.closed = true;
        Ok(())
    }

    /// Whether [`Client::close`] has run.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn check_open(&self) -> Result<(), ClientError> {
        if self.closed {
            Err(ClientError::AlreadyClosed {
                peer: self.peer.clone(),
            })
        } else {
            Ok(())
        }
    }

    fn io_error(&mut self, source: std::io::Error) -> ClientError {
        self.transcript
            .record(Direction::Event, || format!("connection error: {source}"));
        ClientError::Io {
            peer: self.peer.clone(),
            source,
        }
    }
}
