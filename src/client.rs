//! The protocol client: the only one in the project, used by the acceptance
//! steps, the console relay, the load tool and `discos-sim send`.
//!
//! It keeps a [`Transcript`] of everything sent and received with timings,
//! because when a scenario fails, the exchange is what a person needs to see;
//! the load tool turns it off.
//!
//! # Lines as they came
//!
//! A reply is more than its [`Message`]: DISCOS reads a line up to its LF
//! and drops the byte before it, so a reply ended by a bare LF, cut by the
//! connection's end, or followed by bytes nobody asked for is misread there
//! even when it parses here. So the client keeps, for every line it
//! receives, its bytes and how it ended ([`Received`], through the one
//! [`LineCodec`]): [`Client::receive_line`] hands out the next line whatever
//! it is, [`Client::last_line`] the one behind the latest [`Message`] a
//! request or [`Client::receive`] returned, [`Client::arrived`] what came
//! without being asked for, and [`Client::partial`] the bytes of a line
//! begun but not ended.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::protocol::escape_line;
use crate::protocol::{
    Code, DEFAULT_MAX_LINE, Line, LineCodec, LineEnd, Message, ProtocolError, TextError, latin1,
    request_from_text,
};

/// How long to wait for a reply (or the handshake, or a connection) unless
/// configured otherwise: long enough for any sane backend, short enough that
/// a scenario against a silent one fails instead of hanging.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest line, in characters, a transcript or a message shows whole:
/// the contract's longest reply (512 bytes, its CR LF included). A longer
/// line is cut there, saying how long it was, so that a backend sending
/// megabytes cannot make a transcript, a report or a message of megabytes.
pub const SHOWN_LINE: usize = 512;

/// How many lines nobody asked for [`Client::close`] keeps; the rest are
/// counted. A backend that floods a closing connection costs no memory.
const UNASKED_KEPT: usize = 16;

/// How much one [`Client::arrived`] reads from the socket at most: what a
/// backend sent unasked is looked at, not drained without end.
const ARRIVED_READ_LIMIT: usize = 256 * 1024;

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
    /// Part of a line came, then nothing more in time: a reply begun and
    /// never finished, which "none came" would misreport.
    #[error(
        "waited {after:?} for {waiting_for} from {peer}: {bytes} byte(s) of a line came ({partial}), then nothing more, and no line end"
    )]
    Stalled {
        /// What was awaited.
        waiting_for: String,
        /// The backend.
        peer: String,
        /// How long it was awaited.
        after: Duration,
        /// How many bytes of the line came.
        bytes: usize,
        /// Those bytes, escaped and cut as a transcript shows them.
        partial: String,
    },
    /// The backend closed the connection while a reply was awaited.
    #[error("{peer} closed the connection while waiting for {waiting_for}")]
    Closed {
        /// What was awaited.
        waiting_for: String,
        /// The backend.
        peer: String,
    },
    /// The backend closed the connection in the middle of a line: what came
    /// may parse, but it is not a whole reply.
    #[error(
        "{peer} closed the connection in the middle of {waiting_for}: {bytes} byte(s) came ({line}), without their line end"
    )]
    Cut {
        /// What was awaited.
        waiting_for: String,
        /// The backend.
        peer: String,
        /// How many bytes of the line came.
        bytes: usize,
        /// Those bytes, escaped and cut as a transcript shows them.
        line: String,
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
    #[error("{peer} sent a request where a reply was due: {}", shown(&message.to_string()))]
    NotAReply {
        /// The backend.
        peer: String,
        /// What it sent.
        message: Message,
    },
    /// The text to send is not a well-formed request.
    #[error("cannot send {}: {error}", shown(&format!("{text:?}")))]
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

/// A line the backend sent, as it came: what it parsed to, its bytes, how
/// it ended ([`Line`]), and when it was taken off the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The line.
    pub line: Line,
    /// Time since the connection was opened.
    pub at: Duration,
}

impl Received {
    /// The line as a transcript shows it: escaped, cut at [`SHOWN_LINE`].
    pub fn shown(&self) -> String {
        show_bytes(self.line.content(), self.line.end != LineEnd::Discarded)
    }
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
    /// The line, without its line end, with control bytes escaped, cut at
    /// [`SHOWN_LINE`] characters (saying so).
    pub text: String,
    /// How a received line ended; `None` for lines sent and for events.
    pub end: Option<LineEnd>,
}

impl Entry {
    /// The line with, for a received one not ended by CR LF, how it ended
    /// (`!stop,ok ⟨ended by a bare LF, without its CR⟩`): the brackets are
    /// outside latin-1, so no backend's bytes can forge the note.
    pub fn shown(&self) -> Cow<'_, str> {
        match self.end {
            Some(end) if !end.is_crlf() => {
                Cow::Owned(format!("{} \u{27e8}{}\u{27e9}", self.text, end.describe()))
            }
            _ => Cow::Borrowed(&self.text),
        }
    }
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
        self.record_line(direction, None, text);
    }

    fn record_line(
        &mut self,
        direction: Direction,
        end: Option<LineEnd>,
        text: impl FnOnce() -> String,
    ) {
        if self.enabled {
            self.entries.push(Entry {
                at: self.started.elapsed(),
                direction,
                text: text(),
                end,
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
            writeln!(
                f,
                "{:>9.3}s {arrow} {}",
                entry.at.as_secs_f64(),
                entry.shown()
            )?;
        }
        Ok(())
    }
}

/// `text` whole if it has at most [`SHOWN_LINE`] characters, else its first
/// ones and how long it was: how every line a backend sent (or a scenario
/// sent it) is shown in a transcript, a report or a message.
pub fn shown(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(SHOWN_LINE) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!(
            "{}\u{2026} \u{27e8}cut here: {} characters in all\u{27e9}",
            &text[..cut],
            text.chars().count()
        )),
    }
}

/// Bytes as a transcript shows them: latin-1, escaped, cut at
/// [`SHOWN_LINE`] characters, saying how many bytes there were in all;
/// `complete` is false when more of the line came than `bytes` holds (a
/// line over the limit, whose rest was discarded unread).
fn show_bytes(bytes: &[u8], complete: bool) -> String {
    // Escapes are at most four characters a byte: no more is decoded than
    // can be shown.
    let head = &bytes[..bytes.len().min(SHOWN_LINE)];
    let escaped = escape_line(&latin1::decode(head));
    let fits = head.len() == bytes.len() && escaped.chars().count() <= SHOWN_LINE;
    if fits && complete {
        return escaped;
    }
    let cut = escaped
        .char_indices()
        .nth(SHOWN_LINE)
        .map_or(escaped.len(), |(at, _)| at);
    let length = bytes.len();
    let all = if complete {
        format!("{length} bytes in all")
    } else {
        format!("more than {length} bytes")
    };
    format!(
        "{}\u{2026} \u{27e8}cut here: {all}\u{27e9}",
        &escaped[..cut]
    )
}

/// A connection to a DISCOS backend, past its handshake.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    /// What came and is not yet a line handed out.
    read: BytesMut,
    /// Requests fed and not yet flushed.
    write: BytesMut,
    codec: LineCodec,
    /// The backend has ended its side: a read returned end of file.
    eof: bool,
    /// The transcript has said so.
    told_closed: bool,
    peer: String,
    options: ClientOptions,
    handshake: Message,
    handshake_line: Option<Received>,
    last_line: Option<Received>,
    transcript: Transcript,
    closed: bool,
}

impl Client {
    /// Connects with default options and checks the handshake.
    pub async fn connect(address: impl Into<String>) -> Result<Client, ClientError> {
        Client::connect_with(address, ClientOptions::default()).await
    }

    /// Connects and takes the first line as it comes, judging nothing: for
    /// a client that, as DISCOS does, reads the greeting and ignores what it
    /// says. [`Client::connect_with`] is this and a check of the handshake.
    pub async fn open(
        address: impl Into<String>,
        options: ClientOptions,
    ) -> Result<(Client, Received), ClientError> {
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
            stream,
            read: BytesMut::with_capacity(8 * 1024),
            write: BytesMut::new(),
            codec: LineCodec::new(options.max_line),
            eof: false,
            told_closed: false,
            peer,
            transcript: Transcript::new(options.transcript),
            options,
            handshake: Message::ok("version", Vec::<String>::new()),
            handshake_line: None,
            last_line: None,
            closed: false,
        };
        let first = client.receive_line_for("the handshake").await?;
        client.handshake_line = Some(first.clone());
        Ok((client, first))
    }

    /// Connects, reads the first line and checks it is `!version,ok,…`.
    pub async fn connect_with(
        address: impl Into<String>,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        let (mut client, first) = Client::open(address, options).await?;
        let first = client.message_of(first, "the handshake")?;
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
                got: shown(&first.to_string()).into_owned(),
            }),
        }
    }

    /// The backend's address.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// The local address of this connection.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.stream.local_addr().ok()
    }

    /// The backend's first line, e.g. `!version,ok,1.4`.
    pub fn handshake(&self) -> &Message {
        &self.handshake
    }

    /// The handshake as it came: its bytes and how it ended.
    pub fn handshake_line(&self) -> Option<&Received> {
        self.handshake_line.as_ref()
    }

    /// The protocol version the backend announced.
    pub fn version(&self) -> &str {
        self.handshake.arguments.first().map_or("", String::as_str)
    }

    /// Everything sent and received so far.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// The line behind the latest message this client took (the reply a
    /// [`Client::request`] or [`Client::receive`] returned, or the line
    /// their error was about), with its bytes and how it ended: a caller
    /// judging a reply's framing, as DISCOS reads it, looks here.
    pub fn last_line(&self) -> Option<&Received> {
        self.last_line.as_ref()
    }

    /// The bytes of a line that has begun to arrive and not ended, as far
    /// as reads so far have seen: what is left when a backend sends half a
    /// reply, or bytes after its last line.
    pub fn partial(&self) -> &[u8] {
        &self.read
    }

    /// Whether the backend has ended its side of the connection, as far as
    /// reads so far (or [`Client::arrived`]) have seen.
    pub fn backend_closed(&self) -> bool {
        self.eof
    }

    /// Sends one request and waits for its reply.
    pub async fn request(&mut self, request: &Message) -> Result<Message, ClientError> {
        self.send(request).await?;
        self.receive_for(&format!("the reply to {}", shown(&request.to_string())))
            .await
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
            let waiting_for = format!("the reply to {}", shown(&request.to_string()));
            replies.push(self.receive_for(&waiting_for).await?);
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
            .record(Direction::Sent, || shown(&request.to_string()).into_owned());
        request.write_to(&mut self.write);
        Ok(())
    }

    /// Sends whatever [`Client::feed`] queued.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        self.check_open()?;
        let result = async {
            if !self.write.is_empty() {
                self.stream.write_all(&self.write).await?;
                self.write.clear();
            }
            self.stream.flush().await
        }
        .await;
        result.map_err(|source| self.io_error(source))
    }

    /// Sends bytes exactly as given: for malformed input on purpose.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.flush().await?;
        self.transcript
            .record(Direction::Sent, || show_bytes(bytes, true));
        let result = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        }
        .await;
        result.map_err(|source| self.io_error(source))
    }

    /// Sends one line as it is, unescaped, and CR LF after it: for a
    /// client that writes its requests itself, as DISCOS's library does
    /// (no escaping, its own number format). The transcript shows it as it
    /// shows any request, without its line end.
    pub async fn send_line(&mut self, content: &[u8]) -> Result<(), ClientError> {
        self.flush().await?;
        self.transcript
            .record(Direction::Sent, || show_bytes(content, true));
        let result = async {
            let mut line = Vec::with_capacity(content.len() + 2);
            line.extend_from_slice(content);
            line.extend_from_slice(b"\r\n");
            self.stream.write_all(&line).await?;
            self.stream.flush().await
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
        self.read.contains(&b'\n')
    }

    /// Waits for the next reply.
    pub async fn receive(&mut self) -> Result<Message, ClientError> {
        self.receive_for("a reply").await
    }

    /// Waits for the next line, whatever it is (a reply, a request, a line
    /// that is no message, one cut by the connection's end), and hands it
    /// out as it came. Errors only when no line comes: the wait ran out
    /// ([`ClientError::Timeout`], or [`ClientError::Stalled`] when part of
    /// one came), the backend closed with nothing pending
    /// ([`ClientError::Closed`]), or the socket failed.
    pub async fn receive_line(&mut self) -> Result<Received, ClientError> {
        self.receive_line_for("a line").await
    }

    /// Every whole line that has come without being waited for, taken off
    /// the socket as it is now, without waiting: lines a backend sent that
    /// nobody asked for. A line cut by the connection's end comes as one
    /// ended by [`LineEnd::Eof`]; bytes of a line not yet ended stay in
    /// [`Client::partial`]. Reads at most 256 KiB; the rest waits.
    pub fn arrived(&mut self) -> Result<Vec<Received>, ClientError> {
        self.check_open()?;
        let mut lines = Vec::new();
        let mut read = 0;
        loop {
            while let Some(line) = self.codec.decode_line(&mut self.read) {
                lines.push(self.took(line));
            }
            if self.eof {
                match self.codec.decode_line_eof(&mut self.read) {
                    Some(line) => lines.push(self.took(line)),
                    None => self.tell_closed(),
                }
                break;
            }
            if read >= ARRIVED_READ_LIMIT {
                break;
            }
            self.read.reserve(8 * 1024);
            match self.stream.try_read_buf(&mut self.read) {
                Ok(0) => self.ended(),
                Ok(count) => read += count,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(source) => return Err(self.io_error(source)),
            }
        }
        Ok(lines)
    }

    async fn receive_for(&mut self, waiting_for: &str) -> Result<Message, ClientError> {
        let received = self.receive_line_for(waiting_for).await?;
        self.message_of(received, waiting_for)
    }

    /// The message a line holds, or the error that says why it holds none
    /// a reply can be (malformed, cut by the connection's end, a request).
    fn message_of(&self, received: Received, waiting_for: &str) -> Result<Message, ClientError> {
        let Received { line, .. } = received;
        match line.message {
            Err(error) => Err(ClientError::Malformed {
                peer: self.peer.clone(),
                error,
            }),
            Ok(_) if line.end == LineEnd::Eof => Err(ClientError::Cut {
                waiting_for: waiting_for.to_owned(),
                peer: self.peer.clone(),
                bytes: line.raw.len(),
                line: show_bytes(line.content(), true),
            }),
            Ok(message) if message.is_request() => Err(ClientError::NotAReply {
                peer: self.peer.clone(),
                message,
            }),
            Ok(message) => Ok(message),
        }
    }

    async fn receive_line_for(&mut self, waiting_for: &str) -> Result<Received, ClientError> {
        self.check_open()?;
        let after = self.options.reply_timeout;
        match tokio::time::timeout(after, self.next_line()).await {
            Ok(Ok(Some(line))) => Ok(self.took(line)),
            Ok(Ok(None)) => Err(ClientError::Closed {
                waiting_for: waiting_for.to_owned(),
                peer: self.peer.clone(),
            }),
            Ok(Err(source)) => Err(self.io_error(source)),
            Err(_) if self.read.is_empty() => {
                self.transcript.record(Direction::Event, || {
                    format!("waited {after:?} for {waiting_for}; none came")
                });
                Err(ClientError::Timeout {
                    waiting_for: waiting_for.to_owned(),
                    peer: self.peer.clone(),
                    after,
                })
            }
            Err(_) => {
                let bytes = self.read.len();
                let partial = show_bytes(&self.read, true);
                self.transcript.record(Direction::Event, || {
                    format!(
                        "waited {after:?} for {waiting_for}; {bytes} byte(s) of a line came ({partial}), then nothing more"
                    )
                });
                Err(ClientError::Stalled {
                    waiting_for: waiting_for.to_owned(),
                    peer: self.peer.clone(),
                    after,
                    bytes,
                    partial,
                })
            }
        }
    }

    /// The next line, reading as needed; `None` once the backend closed
    /// with nothing left. Cancel-safe: bytes read stay in the buffer, so a
    /// caller may give up on it in a `select!` and lose nothing.
    async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            if let Some(line) = self.codec.decode_line(&mut self.read) {
                return Ok(Some(line));
            }
            if self.eof {
                let last = self.codec.decode_line_eof(&mut self.read);
                if last.is_none() {
                    self.tell_closed();
                }
                return Ok(last);
            }
            self.read.reserve(8 * 1024);
            if self.stream.read_buf(&mut self.read).await? == 0 {
                self.ended();
            }
        }
    }

    /// The backend's side has ended. The transcript says so once, after
    /// the line the end cut, if it cut one.
    fn ended(&mut self) {
        self.eof = true;
        if self.read.is_empty() {
            self.tell_closed();
        }
    }

    fn tell_closed(&mut self) {
        if !std::mem::replace(&mut self.told_closed, true) {
            self.transcript.record(Direction::Event, || {
                "connection closed by the backend".into()
            });
        }
    }

    /// Records a line taken off the socket and keeps it as the latest.
    fn took(&mut self, line: Line) -> Received {
        let received = Received {
            line,
            at: self.transcript.started.elapsed(),
        };
        self.transcript
            .record_line(Direction::Received, Some(received.line.end), || {
                received.shown()
            });
        self.last_line = Some(received.clone());
        if received.line.end == LineEnd::Eof {
            self.tell_closed();
        }
        received
    }

    /// Closes the connection cleanly: ends the sending side, then reads until
    /// the backend closes too, so neither end is left half open. Returns the
    /// lines that came meanwhile, unasked (replies nobody waited for; the
    /// first 16, the rest are counted in the transcript); they are recorded
    /// in the transcript too. Waits at most the reply timeout in all: a
    /// backend that never closes, or floods, is an error, not a hang.
    pub async fn close(&mut self) -> Result<Vec<Received>, ClientError> {
        if self.closed {
            return Ok(Vec::new());
        }
        let flushed = self.flush().await;
        let shut = self.stream.shutdown().await;
        self.closed = true;
        flushed?;
        if let Err(source) = shut {
            return Err(self.io_error(source));
        }
        let mut unasked = Vec::new();
        let mut more = 0usize;
        let limit = self.options.reply_timeout;
        let drained = tokio::time::timeout(limit, async {
            loop {
                match self.next_line().await {
                    Ok(Some(line)) => {
                        let received = self.took(line);
                        if unasked.len() < UNASKED_KEPT {
                            unasked.push(received);
                        } else {
                            more += 1;
                            // Kept out of the transcript too: it is bounded.
                            self.transcript.entries.pop();
                        }
                    }
                    Ok(None) => return Ok(()),
                    Err(source) => return Err(source),
                }
            }
        })
        .await;
        if more > 0 {
            self.transcript.record(Direction::Event, || {
                format!("{more} more line(s) came while closing, not shown")
            });
        }
        match drained {
            Ok(Ok(())) => Ok(unasked),
            Ok(Err(source)) => Err(self.io_error(source)),
            Err(_) => {
                self.transcript.record(Direction::Event, || {
                    format!("waited {limit:?} for the backend to close the connection")
                });
                Err(ClientError::Timeout {
                    waiting_for: "the backend to close the connection".to_owned(),
                    peer: self.peer.clone(),
                    after: limit,
                })
            }
        }
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
