//! One client connection: read lines, answer each in order, write replies
//! in batches, and drain when the server shuts down.
//!
//! Replies to every request that arrived in one read are written with one
//! write, so a pipelining client costs one system call per batch rather than
//! one per reply, and a client that only sends (never reads) is held back by
//! TCP instead of growing a buffer here.
//!
//! A connection waiting for its client holds no buffer but what it has of an
//! unfinished line: the others are dropped before each wait and taken again
//! when bytes arrive, so ten thousand quiet clients cost the server little
//! more than their sockets. Every buffer it does hold is counted in the
//! server's budget (see `budget`), against its real allocation.
//!
//! A line begun and not finished within the line timeout is answered
//! `invalid` and discarded up to its end, so a stalled client cannot keep
//! its room for ever.
//!
//! # Shutdown
//!
//! Closing a socket whose receive queue holds unread bytes makes the kernel
//! send a reset, and a reset makes the peer's kernel drop replies it has
//! received but its program has not read yet: replies cut mid-line. So a
//! connection told to shut down drains instead of just closing:
//!
//! 1. it stops reading new requests, but every request that had *arrived*
//!    when the shutdown began is answered: the complete lines already read,
//!    and those among the bytes then waiting in the socket (counted at that
//!    moment, read and answered in full); a line that had not fully arrived
//!    is not answered;
//! 2. it writes every reply, then shuts down its side (FIN), so the client
//!    reads all of them and then a clean end of stream;
//! 3. it reads and throws away whatever the client still sends until the
//!    client closes, so the close resets nothing.
//!
//! All of it within the grace period: a client that does not read its
//! replies or never closes is cut off when the grace ends. One whose replies
//! are not all written by then gets a reset, not an end of stream, so that
//! a reply cut in the middle is not taken for a whole one.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::Decoder;
use tokio_util::io::poll_read_buf;
use tokio_util::sync::CancellationToken;

use super::budget::{Pool, Share};
use super::panic;
use crate::backend::Handler;
use crate::protocol::escape_line;
use crate::protocol::{LineCodec, Message, ProtocolError, handshake};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 8 * 1024;
/// Replies buffered before they are written even mid-batch.
const WRITE_HIGH_WATER: usize = 16 * 1024;
/// The longest reply that still fits the reply buffer past its high-water
/// mark; a longer one gets a buffer of its own.
const REPLY_ROOM: usize = 1024;
/// The reply buffer of a batch.
const OUTPUT_CAPACITY: usize = WRITE_HIGH_WATER + REPLY_ROOM;
/// What a connection takes from the serving pool to read a batch and
/// answer it.
pub(super) const SERVING_ROOM: usize = READ_CHUNK + OUTPUT_CAPACITY;

/// What every connection of a server is allowed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) max_line: usize,
    pub(super) line_timeout: Duration,
    pub(super) shutdown_grace: Duration,
}

/// The server's two pools of buffer room.
#[derive(Debug)]
pub(super) struct Budget {
    pub(super) lines: Pool,
    pub(super) serving: Pool,
}

/// How a connection ended, when it ended without an I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// The client closed it while being served.
    Closed,
    /// It was drained by the shutdown: every reply written, the client closed.
    Drained,
    /// Every reply was written and the end of the stream sent, but the
    /// client had not closed when the grace ended: closed then.
    Unclosed,
    /// The grace ended with replies unwritten: reset.
    Cut,
}

/// What ends a wait besides the thing waited for.
#[derive(Clone, Copy)]
enum Until<'a> {
    /// While serving: the server's shutdown.
    Shutdown(&'a CancellationToken),
    /// While draining: the end of the grace.
    Deadline(Instant),
}

impl Until<'_> {
    async fn reached(self) {
        match self {
            Until::Shutdown(token) => token.cancelled().await,
            // Boxed, so that waiting on a token does not carry a timer's
            // room in every connection's state.
            Until::Deadline(at) => Box::pin(tokio::time::sleep_until(at)).await,
        }
    }
}

/// What woke a connection waiting for its client.
enum Wake {
    Shutdown,
    LineTimedOut,
    Ready,
}

pub(super) struct Connection {
    stream: TcpStream,
    handler: Arc<dyn Handler>,
    codec: LineCodec,
    settings: Settings,
    budget: Arc<Budget>,
    input: BytesMut,
    output: BytesMut,
    /// Bytes allocated for `input` and `output`: their `capacity()` leaves
    /// out what was consumed from the front.
    input_size: usize,
    output_size: usize,
    /// Room for the unfinished line kept in `input` between reads.
    line_room: Share,
    /// Room for the batch being read, answered and written.
    serving_room: Share,
    /// When the unfinished line at the end of `input` began to arrive.
    line_started: Option<Instant>,
}

impl Connection {
    pub(super) fn new(
        stream: TcpStream,
        handler: Arc<dyn Handler>,
        settings: Settings,
        budget: Arc<Budget>,
    ) -> Connection {
        Connection {
            stream,
            handler,
            codec: LineCodec::new(settings.max_line),
            settings,
            budget,
            input: BytesMut::new(),
            output: BytesMut::new(),
            input_size: 0,
            output_size: 0,
            line_room: Share::default(),
            serving_room: Share::default(),
            line_started: None,
        }
    }

    /// Serves the connection until the client closes it or an I/O error;
    /// once `token` is cancelled, drains it.
    pub(super) async fn run(&mut self, token: &CancellationToken) -> io::Result<Ending> {
        self.stream.set_nodelay(true)?;
        // A few bytes, outside the budget, like every reply written alone.
        handshake().write_to(&mut self.output);
        if self.serve(token).await? {
            return Ok(Ending::Closed);
        }
        // Boxed: every connection's state would otherwise carry room for
        // the drain's, which it needs only once.
        Box::pin(self.drain()).await
    }

    /// Serves until the client closes (true) or the shutdown (false).
    async fn serve(&mut self, token: &CancellationToken) -> io::Result<bool> {
        let until = Until::Shutdown(token);
        loop {
            let Some(answered) = self.answer_input(until).await? else {
                return Ok(false);
            };
            if let Some(refusal) = self.settle(answered > 0)
                && !self.write_alone(&refusal, until).await?
            {
                return Ok(false);
            }
            match self.wait_for_client(token).await? {
                Wake::Shutdown => return Ok(false),
                Wake::LineTimedOut => {
                    if let Some(reply) = self.abandon_line(self.timed_out_reason())
                        && !self.write_alone(&reply, until).await?
                    {
                        return Ok(false);
                    }
                    continue;
                }
                Wake::Ready => {}
            }
            self.prepare_input(READ_CHUNK);
            let Some(read) = self.read_ready().await else {
                continue;
            };
            if read? == 0 {
                // The client closed its side; a last line without its line
                // end still gets its answer.
                while let Some(frame) = self.codec.decode_eof(&mut self.input)? {
                    let reply = self.answer(frame).await;
                    self.put_reply(&reply);
                }
                return self.write(until).await;
            }
        }
    }

    /// Waits for bytes from the client and for room to read them, until the
    /// shutdown or the unfinished line's deadline.
    async fn wait_for_client(&mut self, token: &CancellationToken) -> io::Result<Wake> {
        let deadline = self
            .line_started
            .map(|started| started + self.settings.line_timeout);
        // Boxed: only a connection with an unfinished line carries a timer.
        let line_deadline = async {
            match deadline {
                Some(at) => Box::pin(tokio::time::sleep_until(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(line_deadline);
        tokio::select! {
            biased;
            () = token.cancelled() => return Ok(Wake::Shutdown),
            () = &mut line_deadline => return Ok(Wake::LineTimedOut),
            // Ready at once when bytes are known to be waiting.
            ready = self.stream.readable() => ready?,
        }
        tokio::select! {
            biased;
            () = token.cancelled() => Ok(Wake::Shutdown),
            () = &mut line_deadline => Ok(Wake::LineTimedOut),
            () = self.serving_room.grow_to(&self.budget.serving, SERVING_ROOM) => Ok(Wake::Ready),
        }
    }

    /// Answers every complete line in `input`, writing replies at the
    /// high-water mark and at the end; returns how many lines it answered,
    /// or `None` when `until` came first (unwritten replies stay in
    /// `output`, unanswered lines in `input`).
    async fn answer_input(&mut self, until: Until<'_>) -> io::Result<Option<usize>> {
        let mut answered = 0;
        while let Some(frame) = self.codec.decode(&mut self.input)? {
            let reply = self.answer(frame).await;
            answered += 1;
            let alone = self.put_reply(&reply);
            if (alone || self.output.len() >= WRITE_HIGH_WATER) && !self.write(until).await? {
                return Ok(None);
            }
            if alone {
                self.output = BytesMut::new();
                self.output_size = 0;
            }
        }
        if !self.write(until).await? {
            return Ok(None);
        }
        Ok(Some(answered))
    }

    /// Adds a reply to the batch's buffer; true when it was too long for it
    /// and the buffer grew, to be written at once and let go.
    fn put_reply(&mut self, reply: &Message) -> bool {
        if self.output_size == 0 && self.output.is_empty() {
            self.output = BytesMut::with_capacity(OUTPUT_CAPACITY);
            self.output_size = self.output.capacity();
        }
        reply.write_to(&mut self.output);
        // Replies are only added to a buffer written from its start (see
        // `write`), so its capacity is its whole allocation.
        if self.output.capacity() <= self.output_size {
            return false;
        }
        self.output_size = self.output.capacity();
        // Counted when there is room; written at once either way, since
        // waiting here, holding room, could wait for ever.
        let wanted = self
            .serving_room
            .held()
            .max(self.input_size + self.output_size);
        if !self.serving_room.try_resize(&self.budget.serving, wanted) {
            tracing::debug!(
                bytes = self.output_size,
                "a long reply is written past the serving budget"
            );
        }
        true
    }

    /// Writes `reply` on its own: a refusal or a timeout, between batches.
    async fn write_alone(&mut self, reply: &Message, until: Until<'_>) -> io::Result<bool> {
        reply.write_to(&mut self.output);
        let written = self.write(until).await?;
        if written {
            self.output = BytesMut::new();
            self.output_size = 0;
        }
        Ok(written)
    }

    /// Writes all of `output`; false when `until` came first (what is left
    /// stays in `output`, to be written by the drain).
    async fn write(&mut self, until: Until<'_>) -> io::Result<bool> {
        if self.output.is_empty() {
            return Ok(true);
        }
        // The end of the grace comes first: a client reading slowly but
        // steadily would otherwise keep every write ready, past it.
        tokio::select! {
            biased;
            () = until.reached() => return Ok(false),
            written = self.stream.write_all_buf(&mut self.output) => written?,
        }
        // Back to the start of its allocation, without copying (nothing is
        // left in it), so the next replies neither grow it nor hide it.
        let _ = self.output.try_reclaim(self.output_size);
        Ok(true)
    }

    /// Before a wait for the client: lets go of every buffer but the
    /// unfinished line and of the batch's room, and keeps the line (see
    /// `keep_line`).
    fn settle(&mut self, line_done: bool) -> Option<Message> {
        self.output = BytesMut::new();
        self.output_size = 0;
        self.serving_room.shrink_to(0);
        self.keep_line(line_done)
    }

    /// Keeps the unfinished line, if any, in a buffer of its own size and
    /// holds room for exactly that; returns the reply for a line there is
    /// no room to keep (it is then discarded). `line_done` says lines ended
    /// since the last call, so what is left began in the last read.
    fn keep_line(&mut self, line_done: bool) -> Option<Message> {
        if self.input.is_empty() {
            self.input = BytesMut::new();
            self.input_size = 0;
            self.line_started = None;
            self.line_room.shrink_to(0);
            return None;
        }
        if line_done || self.line_started.is_none() {
            self.line_started = Some(Instant::now());
        }
        if self.input_size > self.input.len() {
            self.input = BytesMut::from(&self.input[..]);
            self.input_size = self.input.capacity();
        }
        if self
            .line_room
            .try_resize(&self.budget.lines, self.input_size)
        {
            return None;
        }
        let reason = format!(
            "no room to keep this unfinished line: the server already holds {} bytes of unfinished lines; it was discarded",
            self.budget.lines.in_use()
        );
        self.abandon_line(reason)
    }

    /// Gives up on the unfinished line: it is answered `invalid` with
    /// `reason` and discarded up to its end.
    fn abandon_line(&mut self, reason: String) -> Option<Message> {
        let name = self.codec.abandon_line(&mut self.input)?;
        self.input = BytesMut::new();
        self.input_size = 0;
        self.line_started = None;
        self.line_room.shrink_to(0);
        Some(Message::invalid(&name, reason))
    }

    fn timed_out_reason(&self) -> String {
        format!(
            "line not finished within {}; it was discarded",
            humantime::format_duration(self.settings.line_timeout)
        )
    }

    /// Makes the input buffer exactly its unfinished line plus `extra`
    /// bytes of room, so that what it holds is what it counts.
    fn prepare_input(&mut self, extra: usize) {
        if self.input.capacity() - self.input.len() >= extra {
            return;
        }
        let mut fresh = BytesMut::with_capacity(self.input.len() + extra);
        fresh.extend_from_slice(&self.input);
        self.input = fresh;
        self.input_size = self.input.capacity();
    }

    /// Reads what has already arrived, without waiting; `None` when nothing
    /// has. Reads through `poll_read`, which takes a short read as "socket
    /// drained", so the next wait goes straight to the poller instead of
    /// costing a read that finds nothing: three system calls per batch
    /// (read, write, poll), not four.
    async fn read_ready(&mut self) -> Option<io::Result<usize>> {
        let (stream, input) = (&mut self.stream, &mut self.input);
        std::future::poll_fn(|cx| {
            Poll::Ready(match poll_read_buf(Pin::new(&mut *stream), cx, input) {
                Poll::Ready(read) => Some(read),
                Poll::Pending => None,
            })
        })
        .await
    }

    /// Drains the connection after the shutdown began (see the module's
    /// documentation).
    async fn drain(&mut self) -> io::Result<Ending> {
        let until = Until::Deadline(Instant::now() + self.settings.shutdown_grace);
        if !self.answer_owed(until).await? {
            // Replies are left unwritten, the last one maybe in part: a
            // reset says so, where an end of stream would pass a cut line
            // for a whole one.
            let _ = self.stream.set_zero_linger();
            return Ok(Ending::Cut);
        }
        // What is left is a line that had not fully arrived: not answered.
        self.input = BytesMut::new();
        self.settle(false);
        self.stream.shutdown().await?;
        loop {
            tokio::select! {
                biased;
                ready = self.stream.readable() => ready?,
                () = until.reached() => {
                    // Every reply was written: take in what the client sent
                    // last, so closing resets nothing and the replies still
                    // on their way arrive.
                    while matches!(discard_ready(&self.stream), Ok(read) if read > 0) {}
                    return Ok(Ending::Unclosed);
                }
            }
            match discard_ready(&self.stream) {
                Ok(0) => return Ok(Ending::Drained),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// Answers every request owed, writing every reply; false when `until`
    /// came first.
    async fn answer_owed(&mut self, until: Until<'_>) -> io::Result<bool> {
        // The requests owed: complete lines in `input`, and what is waiting
        // in the socket now. Whatever arrives later was sent too late.
        let mut unread = unread_bytes(&self.stream)?;
        loop {
            // Replies an interrupted write left come first.
            if !self.write(until).await? {
                return Ok(false);
            }
            let Some(answered) = self.answer_input(until).await? else {
                return Ok(false);
            };
            if let Some(refusal) = self.keep_line(answered > 0)
                && !self.write_alone(&refusal, until).await?
            {
                return Ok(false);
            }
            if unread == 0 {
                return Ok(true);
            }
            tokio::select! {
                biased;
                () = self.serving_room.grow_to(&self.budget.serving, SERVING_ROOM) => {}
                () = until.reached() => return Ok(false),
            }
            tokio::select! {
                biased;
                ready = self.stream.readable() => ready?,
                () = until.reached() => return Ok(false),
            }
            let chunk = unread.min(READ_CHUNK);
            self.prepare_input(chunk);
            let mut limited = (&mut self.input).limit(chunk);
            match self.stream.try_read_buf(&mut limited) {
                // Closed: nothing of what was counted is left.
                Ok(0) => unread = 0,
                Ok(read) => unread = unread.saturating_sub(read),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
    }

    async fn answer(&mut self, frame: Result<Message, ProtocolError>) -> Message {
        match frame {
            Ok(request) if request.is_request() => self.call(&request).await,
            Ok(reply) => Message::invalid(
                &reply.name,
                "a reply ('!') was sent to the server; requests start with '?'",
            ),
            Err(error) => error.to_reply(),
        }
    }

    /// Calls the handler; a panic in it becomes a `fail` reply and one log
    /// line.
    async fn call(&self, request: &Message) -> Message {
        match panic::catch(self.handler.handle(request)).await {
            Ok(reply) => reply,
            Err(caught) => {
                tracing::error!(
                    request = %escape_line(&request.to_string()),
                    panic = ?caught.message,
                    at = %caught.location.as_deref().unwrap_or("unknown"),
                    "handler panicked; answered fail"
                );
                Message::fail(&request.name, format!("internal error: {}", caught.message))
            }
        }
    }
}

nix::ioctl_read_bad!(fionread, nix::libc::FIONREAD, nix::libc::c_int);

/// Bytes that have arrived in the socket and not been read yet.
pub(crate) fn unread_bytes(stream: &TcpStream) -> io::Result<usize> {
    let mut count: nix::libc::c_int = 0;
    #[allow(unsafe_code)]
    // SAFETY: FIONREAD writes one int through the pointer, which points to a
    // live c_int; the descriptor stays open while `stream` is borrowed.
    unsafe { fionread(stream.as_raw_fd(), &mut count) }.map_err(io::Error::from)?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// Reads and throws away what has arrived; `Ok(0)` once the client closed.
pub(crate) fn discard_ready(stream: &TcpStream) -> io::Result<usize> {
    let mut sink = [0; 4096];
    stream.try_read(&mut sink)
}
