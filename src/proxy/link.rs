//! One link: a client's connection and the proxy's own connection to the
//! backend for it, served by one task.
//!
//! Bytes pass on as they come while no fault acts on their direction: one
//! read and one write per batch, nothing held, so an unfaulted link costs a
//! client a few microseconds. The link still reads each line's end as it
//! passes, to keep count of the replies owed (a `fail` the proxy answers in
//! the backend's place must take its turn among them) and, when recording,
//! to hand each line to the recorder.
//!
//! Once a fault acts on a direction, its lines are taken one at a time: an
//! unfinished line is held until its line feed arrives (up to the line
//! limit and as the budget allows; beyond, it passes on as it comes, and no
//! fault acts on it), then the faults decide what becomes of it (see
//! [`Plan`]).
//!
//! # Ending
//!
//! A side that reaches its end of stream is passed on as one (the half
//! close DISCOS's and our own clients rely on): once the client has sent its
//! last request and closed its side, the backend is told so after the
//! requests, answers them, and closes; its end reaches the client after the
//! replies. The link ends when both sides have closed.
//!
//! When the proxy shuts down, a link drains as the server's connections
//! do: the requests that had arrived from the client are passed on, the
//! replies owed are passed back, both sides are ended and the client's
//! close awaited, all within the grace; a client whose replies are not all
//! written by then is reset, so a cut reply is not taken for a whole one.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::io::poll_read_buf;
use tokio_util::sync::CancellationToken;

use super::engine::{End, LinkFaults, Plan, garbage, lengthen};
use super::fault::Direction;
use super::shared::Shared;
use crate::protocol::{Message, readable_name};
use crate::server::budget::Share;
use crate::server::{discard_ready, unread_bytes};

/// Bytes asked of a socket per read.
const READ_CHUNK: usize = 8 * 1024;
/// Bytes waiting to be written on one side beyond which its source is not
/// read until they are: a delayed or sliced direction is held back by TCP,
/// not by a growing queue.
const QUEUE_ROOM: usize = 64 * 1024;

/// How a link ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// Both sides closed, as they do when the client is done.
    Closed,
    /// The shutdown drained it: every owed reply written, the client closed.
    Drained,
    /// Drained, but the client had not closed when the grace ended.
    Unclosed,
    /// The grace ended with replies unwritten: the client was reset.
    Cut,
    /// A fault ended it (drop, reset, garbage).
    Faulted,
    /// The proxy went down under it.
    Down,
}

/// What a fault does once the piece it rides on has been written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Nothing,
    /// Ends the connection on both sides, as a backend that closes does.
    Close,
    /// Resets the client's connection.
    Reset,
}

/// Something waiting to be written.
#[derive(Debug)]
struct Out {
    bytes: Bytes,
    /// Not before then.
    at: Instant,
    /// In pieces of this size, this far apart.
    piece: Option<(usize, Duration)>,
    /// Lines it holds whole (a raw piece holds the ends it carries).
    lines: u64,
    then: After,
}

impl Out {
    fn now(bytes: Bytes, lines: u64) -> Out {
        Out {
            bytes,
            at: Instant::now(),
            piece: None,
            lines,
            then: After::Nothing,
        }
    }
}

/// Lines held by a merge until there are enough of them.
#[derive(Debug)]
struct Merging {
    bytes: BytesMut,
    lines: usize,
    since: Instant,
    delay: Duration,
}

/// A reply owed to the client, in request order.
#[derive(Debug)]
enum Owed {
    /// The backend's, to a request passed on to it.
    Backend { close_after: bool },
    /// The proxy's own, in the backend's place, written when its turn
    /// comes.
    Proxy { reply: Bytes, close_after: bool },
}

/// One direction: what its source sent and what waits for its destination.
#[derive(Debug)]
struct Side {
    /// Bytes read and not yet passed on: at most an unfinished line.
    input: BytesMut,
    /// Inside a line whose start was passed on as it came.
    raw_line: bool,
    queue: VecDeque<Out>,
    queued: usize,
    merging: Option<Merging>,
    /// No line of this direction passes any more.
    hung: bool,
    /// Its source will send nothing more (it closed, or the drain read all
    /// it owed).
    ended: bool,
    /// Its destination's write side was shut down.
    shut: bool,
    /// Bytes still to be read from its source while draining.
    limit: Option<usize>,
    /// The budget's room for its reads and queue.
    room: Share,
    /// The budget's room for the unfinished line it holds.
    line_room: Share,
    /// The recorder's copy of a line passing on as it comes.
    tap: BytesMut,
}

impl Side {
    fn new() -> Side {
        Side {
            input: BytesMut::new(),
            raw_line: false,
            queue: VecDeque::new(),
            queued: 0,
            merging: None,
            hung: false,
            ended: false,
            shut: false,
            limit: None,
            room: Share::default(),
            line_room: Share::default(),
            tap: BytesMut::new(),
        }
    }

    fn push(&mut self, out: Out) {
        self.queued += out.bytes.len();
        self.queue.push_back(out);
    }

    /// Whether its source may be read now.
    fn wants_input(&self) -> bool {
        !self.ended && self.queued < QUEUE_ROOM && self.limit != Some(0)
    }

    /// When something of it is due: its head, or its merge's deadline.
    fn due(&self, within: Option<Duration>) -> Option<Instant> {
        let head = self.queue.front().map(|out| out.at);
        let merge = self
            .merging
            .as_ref()
            .zip(within)
            .map(|(merging, within)| merging.since + within);
        match (head, merge) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn flushed(&self) -> bool {
        self.queue.is_empty() && self.merging.is_none()
    }
}

/// What stopped the serving loop.
#[derive(Debug)]
enum Exit {
    Closed,
    Drained,
    Unclosed,
    Cut,
    Close,
    Reset,
    Down,
}

pub(super) struct Link {
    id: u64,
    client: TcpStream,
    upstream: TcpStream,
    shared: Arc<Shared>,
    faults: LinkFaults,
    requests: Side,
    replies: Side,
    owed: VecDeque<Owed>,
    /// Proxy replies among `owed`.
    injected: usize,
    /// Replies among `owed` after which the connection closes.
    closing: usize,
    greeted: bool,
}

impl Link {
    pub(super) fn new(
        id: u64,
        client: TcpStream,
        upstream: TcpStream,
        shared: Arc<Shared>,
    ) -> Link {
        Link {
            id,
            client,
            upstream,
            faults: LinkFaults::new(shared.faults.clone()),
            shared,
            requests: Side::new(),
            replies: Side::new(),
            owed: VecDeque::new(),
            injected: 0,
            closing: 0,
            greeted: false,
        }
    }

    /// Serves the link until both sides close, a fault ends it, the proxy
    /// goes down, or the shutdown has drained it.
    pub(super) async fn run(
        mut self,
        token: &CancellationToken,
        down: &CancellationToken,
    ) -> Ending {
        let exit = match self.serve(token, down).await {
            Ok(exit) => exit,
            Err(error) => {
                tracing::debug!(link = self.id, %error, "link ended by an error");
                Exit::Close
            }
        };
        let grace = self.shared.settings.shutdown_grace;
        let Link {
            client, upstream, ..
        } = self;
        match exit {
            Exit::Closed => Ending::Closed,
            Exit::Drained => Ending::Drained,
            Exit::Unclosed => Ending::Unclosed,
            Exit::Cut => {
                let _ = client.set_zero_linger();
                Ending::Cut
            }
            Exit::Close => {
                tokio::join!(close_gently(client, grace), close_gently(upstream, grace));
                Ending::Faulted
            }
            Exit::Reset => {
                let _ = client.set_zero_linger();
                drop(client);
                close_gently(upstream, grace).await;
                Ending::Faulted
            }
            Exit::Down => Ending::Down,
        }
    }

    // To be split: proxy/ is being edited elsewhere; one select! loop over both sockets.
    #[allow(clippy::too_many_lines)]
    async fn serve(
        &mut self,
        token: &CancellationToken,
        down: &CancellationToken,
    ) -> io::Result<Exit> {
        self.client.set_nodelay(true)?;
        self.upstream.set_nodelay(true)?;
        let mut deadline: Option<Instant> = None;
        loop {
            if let Some(exit) = self.flush(Direction::Requests)? {
                return Ok(exit);
            }
            if let Some(exit) = self.flush(Direction::Replies)? {
                return Ok(exit);
            }
            self.end_sides().await?;
            if self.requests.shut && self.replies.shut {
                let Some(deadline) = deadline else {
                    return Ok(Exit::Closed);
                };
                return Ok(self.await_client_close(deadline).await);
            }
            let requests_due = self
                .requests
                .due(self.faults.merge(Direction::Requests).map(|m| m.1));
            let replies_due = self
                .replies
                .due(self.faults.merge(Direction::Replies).map(|m| m.1));
            let due = [requests_due, replies_due, deadline]
                .into_iter()
                .flatten()
                .min();
            let timer = async {
                match due {
                    Some(at) => Box::pin(tokio::time::sleep_until(at)).await,
                    None => std::future::pending().await,
                }
            };
            let serving = &self.shared.budget.serving;
            let want_requests = self.requests.queued + READ_CHUNK;
            let want_replies = self.replies.queued + READ_CHUNK;
            let read_client = self.requests.wants_input();
            let read_upstream = self.replies.wants_input();
            let requests_blocked = self
                .requests
                .queue
                .front()
                .is_some_and(|o| o.at <= Instant::now());
            let replies_blocked = self
                .replies
                .queue
                .front()
                .is_some_and(|o| o.at <= Instant::now());
            tokio::select! {
                biased;
                () = token.cancelled(), if deadline.is_none() => {
                    deadline = Some(Instant::now() + self.shared.settings.shutdown_grace);
                    // What has arrived from the client is owed an answer;
                    // what comes later was sent too late.
                    let unread = unread_bytes(&self.client)?;
                    self.requests.limit = Some(unread);
                    if unread == 0 {
                        self.client_done();
                    }
                }
                () = down.cancelled() => return Ok(Exit::Down),
                () = timer => {
                    if deadline.is_some_and(|at| at <= Instant::now()) {
                        // Replies still owed or unwritten: a reset says so.
                        return Ok(if self.owed.is_empty() && self.replies.flushed() {
                            Exit::Unclosed
                        } else {
                            Exit::Cut
                        });
                    }
                    self.release_merges();
                }
                ready = ready_with_room(&self.client, &mut self.requests.room, serving, want_requests), if read_client => {
                    ready?;
                    self.read(Direction::Requests).await?;
                }
                ready = ready_with_room(&self.upstream, &mut self.replies.room, serving, want_replies), if read_upstream => {
                    ready?;
                    self.read(Direction::Replies).await?;
                }
                writable = self.upstream.writable(), if requests_blocked => writable?,
                writable = self.client.writable(), if replies_blocked => writable?,
            }
        }
    }

    /// After the shutdown has ended both sides: reads and throws away what
    /// the client still sends until it closes, so closing resets nothing.
    async fn await_client_close(&mut self, deadline: Instant) -> Exit {
        loop {
            tokio::select! {
                biased;
                ready = self.client.readable() => if ready.is_err() { return Exit::Drained },
                () = tokio::time::sleep_until(deadline) => {
                    while matches!(discard_ready(&self.client), Ok(read) if read > 0) {}
                    return Exit::Unclosed;
                }
            }
            match discard_ready(&self.client) {
                Ok(0) => return Exit::Drained,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return Exit::Drained,
            }
        }
    }

    /// Passes a side's end of stream on once everything before it has been
    /// written.
    async fn end_sides(&mut self) -> io::Result<()> {
        if self.requests.ended && !self.requests.shut && self.requests.flushed() {
            self.requests.shut = true;
            let _ = self.upstream.shutdown().await;
        }
        if self.replies.ended && !self.replies.shut && self.replies.flushed() {
            self.replies.shut = true;
            let _ = self.client.shutdown().await;
        }
        Ok(())
    }

    fn client_done(&mut self) {
        self.requests.ended = true;
        self.requests.limit = Some(0);
        // An unfinished line is not a request: it does not pass.
        if !self.requests.raw_line {
            self.requests.input.clear();
        }
        self.requests.line_room.shrink_to(0);
    }

    fn side(&mut self, direction: Direction) -> &mut Side {
        match direction {
            Direction::Requests => &mut self.requests,
            Direction::Replies => &mut self.replies,
        }
    }

    /// Reads what has arrived from a side's source and passes it on.
    async fn read(&mut self, direction: Direction) -> io::Result<()> {
        let limit = self.side(direction).limit;
        let (stream, side) = match direction {
            Direction::Requests => (&mut self.client, &mut self.requests),
            Direction::Replies => (&mut self.upstream, &mut self.replies),
        };
        let chunk = limit.map_or(READ_CHUNK, |limit| limit.min(READ_CHUNK));
        side.input.reserve(chunk);
        let read = read_ready(stream, &mut side.input, chunk).await;
        let read = match read {
            None => return Ok(()),
            Some(Ok(read)) => read,
            // A reset is the other side's way to close.
            Some(Err(error)) if error.kind() == io::ErrorKind::ConnectionReset => 0,
            Some(Err(error)) => return Err(error),
        };
        if read == 0 {
            match direction {
                Direction::Requests => self.client_done(),
                Direction::Replies => {
                    self.replies.ended = true;
                    // The backend's last line, if it lacks its line end,
                    // still reaches the client.
                    if !self.replies.input.is_empty() {
                        let rest = self.replies.input.split().freeze();
                        self.pass_raw(Direction::Replies, rest);
                    }
                }
            }
            return Ok(());
        }
        if let Some(limit) = &mut self.side(direction).limit {
            *limit -= read.min(*limit);
        }
        self.take_input(direction);
        let side = self.side(direction);
        if side.limit == Some(0) && direction == Direction::Requests {
            self.client_done();
        }
        Ok(())
    }

    /// Passes on what a side has read: all of it as it is when no fault
    /// acts there, else line by line.
    fn take_input(&mut self, direction: Direction) {
        self.faults.refresh();
        let faulted = self.faults.active(direction)
            || self.side(direction).merging.is_some()
            || self.side(direction).hung
            || (direction == Direction::Replies && self.injected + self.closing > 0);
        if !faulted {
            let side = self.side(direction);
            if !side.input.is_empty() {
                let bytes = side.input.split().freeze();
                self.pass_raw(direction, bytes);
            }
            self.settle(direction);
            return;
        }
        let max_line = self.shared.settings.max_line;
        let shared = self.shared.clone();
        loop {
            let side = self.side(direction);
            let end = side.input.iter().position(|&b| b == b'\n');
            if side.raw_line {
                let bytes = match end {
                    Some(at) => side.input.split_to(at + 1).freeze(),
                    None => side.input.split().freeze(),
                };
                if bytes.is_empty() {
                    break;
                }
                self.pass_raw(direction, bytes);
                continue;
            }
            match end {
                Some(at) => {
                    let line = side.input.split_to(at + 1).freeze();
                    self.line(direction, line);
                }
                None => {
                    if side.input.is_empty() {
                        break;
                    }
                    let lines = &shared.budget.lines;
                    let kept = side.input.len() <= max_line + 1
                        && side.line_room.try_resize(lines, side.input.len());
                    if kept {
                        break;
                    }
                    // Too long, or no room to hold it: it passes as it
                    // comes, and no fault acts on it.
                    side.raw_line = true;
                    side.line_room.shrink_to(0);
                }
            }
        }
        self.settle(direction);
    }

    /// Lets go of the budget a side no longer needs.
    fn settle(&mut self, direction: Direction) {
        let side = self.side(direction);
        if side.input.is_empty() {
            side.input = BytesMut::new();
            side.line_room.shrink_to(0);
        }
        let keep = side.queued + side.merging.as_ref().map_or(0, |m| m.bytes.len());
        side.room.shrink_to(keep);
    }

    /// Bytes passing on as they came: their line ends are counted (replies
    /// owed, lines for the recorder) and they go out at once.
    fn pass_raw(&mut self, direction: Direction, bytes: Bytes) {
        let mut lines = 0;
        let mut rest = &bytes[..];
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            lines += 1;
            let (line, after) = rest.split_at(at + 1);
            self.tap(direction, line, true);
            match direction {
                Direction::Requests => self.owed.push_back(Owed::Backend { close_after: false }),
                Direction::Replies => {
                    let _ = self.reply_arrived();
                }
            }
            rest = after;
        }
        self.tap(direction, rest, false);
        let side = self.side(direction);
        if !bytes.is_empty() {
            side.raw_line = !bytes.ends_with(b"\n");
        }
        if side.hung {
            return;
        }
        side.push(Out::now(bytes, lines));
        if direction == Direction::Replies {
            self.release_injected();
        }
    }

    /// Hands the recorder what passed between client and backend: part of
    /// a line, kept until its end (`whole` says `bytes` ends it).
    fn tap(&mut self, direction: Direction, bytes: &[u8], whole: bool) {
        let Some(recorder) = &self.shared.recorder else {
            return;
        };
        let recorder = recorder.clone();
        let max_line = self.shared.settings.max_line;
        let side = self.side(direction);
        if side.tap.len() + bytes.len() <= max_line + 2 {
            side.tap.extend_from_slice(bytes);
        }
        if whole {
            let line = side.tap.split().freeze();
            recorder.line(self.id, direction, line);
        }
    }

    /// One whole line of a direction some fault acts on.
    fn line(&mut self, direction: Direction, line: Bytes) {
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let name = readable_name(body);
        if direction == Direction::Replies {
            // The backend said it, whatever becomes of it.
            self.tap(direction, &line, true);
            let close_after = self.reply_arrived();
            if self.replies.hung {
                return;
            }
            let plan = self.faults.plan(direction, name.as_deref());
            self.replace_or_pass(direction, line, name, plan, close_after);
            self.release_injected();
        } else {
            if self.requests.hung {
                return;
            }
            let plan = self.faults.plan(direction, name.as_deref());
            if plan.end.is_none() {
                self.tap(direction, &line, true);
                self.closing += usize::from(plan.close_after_reply);
                self.owed.push_back(Owed::Backend {
                    close_after: plan.close_after_reply,
                });
            }
            self.replace_or_pass(direction, line, name, plan, false);
        }
    }

    /// Does what the plan says with a line: replaces it, or passes it on
    /// as the plan shapes it.
    // To be split: proxy/ is being edited elsewhere; one arm per shape of the plan.
    #[allow(clippy::too_many_lines)]
    fn replace_or_pass(
        &mut self,
        direction: Direction,
        line: Bytes,
        name: Option<String>,
        plan: Plan,
        close_after: bool,
    ) {
        let then = if close_after {
            After::Close
        } else {
            After::Nothing
        };
        let at = Instant::now() + plan.delay;
        match plan.end {
            Some(End::Fail(reason)) => {
                let name = name.unwrap_or_else(|| crate::protocol::UNDEFINED_NAME.to_owned());
                let reply = Bytes::from(Message::fail(name, reason).to_bytes());
                match direction {
                    Direction::Requests => self.inject(reply, plan.close_after_reply),
                    Direction::Replies => {
                        self.replies.push(Out {
                            bytes: reply,
                            at,
                            piece: plan.slice,
                            lines: 1,
                            then,
                        });
                    }
                }
            }
            Some(End::Reset) => self.side(direction).push(Out {
                bytes: Bytes::new(),
                at,
                piece: None,
                lines: 0,
                then: After::Reset,
            }),
            Some(End::Hang) => {
                tracing::debug!(link = self.id, %direction, "hanging");
                let side = self.side(direction);
                side.hung = true;
                side.input.clear();
            }
            Some(End::Garbage(count)) => self.side(direction).push(Out {
                bytes: garbage(count),
                at,
                piece: plan.slice,
                lines: 1,
                then: After::Close,
            }),
            Some(End::DropMidway) => {
                let half = line.slice(..line.len() / 2);
                self.side(direction).push(Out {
                    bytes: half,
                    at,
                    piece: plan.slice,
                    lines: 0,
                    then: After::Close,
                });
            }
            Some(End::Down(id, span)) => {
                tracing::info!(link = self.id, fault = id, "a line took the proxy down");
                self.faults.go_down(id, span);
            }
            None => {
                let bytes = match plan.long {
                    Some(length) if direction == Direction::Replies => lengthen(&line, length),
                    _ => line,
                };
                let merge = self.faults.merge(direction);
                let side = self.side(direction);
                match merge {
                    Some((lines, _)) if then == After::Nothing && plan.slice.is_none() => {
                        let merging = side.merging.get_or_insert_with(|| Merging {
                            bytes: BytesMut::new(),
                            lines: 0,
                            since: Instant::now(),
                            delay: Duration::ZERO,
                        });
                        merging.bytes.extend_from_slice(&bytes);
                        merging.lines += 1;
                        merging.delay = merging.delay.max(plan.delay);
                        if merging.lines >= lines {
                            self.release_merge(direction);
                        }
                    }
                    _ => side.push(Out {
                        bytes,
                        at,
                        piece: plan.slice,
                        lines: 1,
                        then,
                    }),
                }
            }
        }
    }

    /// A reply of the proxy's own: written now if no reply is owed before
    /// it, else when its turn comes.
    fn inject(&mut self, reply: Bytes, close_after: bool) {
        self.owed.push_back(Owed::Proxy { reply, close_after });
        self.injected += 1;
        self.release_injected();
    }

    /// Writes the proxy's replies whose turn has come.
    fn release_injected(&mut self) {
        while let Some(Owed::Proxy { .. }) = self.owed.front() {
            let Some(Owed::Proxy { reply, close_after }) = self.owed.pop_front() else {
                break;
            };
            self.injected -= 1;
            if self.replies.hung {
                continue;
            }
            self.replies.push(Out {
                bytes: reply,
                at: Instant::now(),
                piece: None,
                lines: 1,
                then: if close_after {
                    After::Close
                } else {
                    After::Nothing
                },
            });
        }
    }

    /// Counts a line from the backend against the replies owed; true when
    /// the connection is to close once it has reached the client.
    fn reply_arrived(&mut self) -> bool {
        if !self.greeted {
            self.greeted = true;
            return false;
        }
        match self.owed.front() {
            Some(Owed::Backend { close_after }) => {
                let close_after = *close_after;
                self.owed.pop_front();
                self.closing -= usize::from(close_after);
                close_after
            }
            // A line nobody asked for: it passes, and is owed nothing.
            _ => false,
        }
    }

    /// Writes a merge's lines as one piece.
    fn release_merge(&mut self, direction: Direction) {
        let side = self.side(direction);
        if let Some(merging) = side.merging.take() {
            let lines = merging.lines as u64;
            side.push(Out {
                bytes: merging.bytes.freeze(),
                at: merging.since + merging.delay,
                piece: None,
                lines,
                then: After::Nothing,
            });
        }
    }

    /// Writes the merges whose wait is over.
    fn release_merges(&mut self) {
        for direction in [Direction::Requests, Direction::Replies] {
            let within = self.faults.merge(direction).map(|m| m.1);
            let due = self
                .side(direction)
                .merging
                .as_ref()
                .is_some_and(|m| within.is_none_or(|w| m.since + w <= Instant::now()));
            if due {
                self.release_merge(direction);
            }
        }
    }

    /// Writes what is due on a side, as far as its destination takes it;
    /// returns how the link ends if a fault ended it.
    fn flush(&mut self, direction: Direction) -> io::Result<Option<Exit>> {
        let (stream, side) = match direction {
            Direction::Requests => (&self.upstream, &mut self.requests),
            Direction::Replies => (&self.client, &mut self.replies),
        };
        let stats = &self.shared.stats;
        loop {
            let Some(head) = side.queue.front_mut() else {
                return Ok(None);
            };
            let now = Instant::now();
            if head.at > now {
                return Ok(None);
            }
            if !head.bytes.is_empty() {
                let piece = head.piece.map_or(head.bytes.len(), |(size, _)| size);
                let piece = piece.min(head.bytes.len());
                match stream.try_write(&head.bytes[..piece]) {
                    Ok(written) => {
                        head.bytes.advance(written);
                        side.queued -= written;
                        if direction == Direction::Replies {
                            stats.client_writes.fetch_add(1, Ordering::Relaxed);
                        }
                        if let Some((_, gap)) = head.piece
                            && written == piece
                            && !head.bytes.is_empty()
                        {
                            head.at = now + gap;
                        }
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                    Err(error) if direction == Direction::Replies => {
                        // The client went away: nothing more reaches it.
                        tracing::debug!(link = self.id, %error, "the client is gone");
                        return Ok(Some(Exit::Close));
                    }
                    Err(error) => return Err(error),
                }
                if !head.bytes.is_empty() {
                    continue;
                }
            }
            let Some(done) = side.queue.pop_front() else {
                return Ok(None);
            };
            if direction == Direction::Replies {
                stats.client_lines.fetch_add(done.lines, Ordering::Relaxed);
            }
            match done.then {
                After::Nothing => {}
                After::Close => return Ok(Some(Exit::Close)),
                After::Reset => return Ok(Some(Exit::Reset)),
            }
            if side.queue.is_empty() {
                let keep = side.merging.as_ref().map_or(0, |m| m.bytes.len());
                side.room.shrink_to(keep);
            }
        }
    }
}

/// Waits until `stream` has bytes and the budget has room to read them.
async fn ready_with_room(
    stream: &TcpStream,
    room: &mut Share,
    pool: &crate::server::budget::Pool,
    want: usize,
) -> io::Result<()> {
    stream.readable().await?;
    room.grow_to(pool, want).await;
    Ok(())
}

/// Reads what has already arrived, at most `chunk` bytes, without waiting;
/// `None` when nothing has. Through `poll_read`, which takes a short read
/// as "socket drained", as the server's connections do.
async fn read_ready(
    stream: &mut TcpStream,
    input: &mut BytesMut,
    chunk: usize,
) -> Option<io::Result<usize>> {
    use bytes::BufMut;
    let mut limited = input.limit(chunk);
    std::future::poll_fn(|cx| {
        Poll::Ready(
            match poll_read_buf(Pin::new(&mut *stream), cx, &mut limited) {
                Poll::Ready(read) => Some(read),
                Poll::Pending => None,
            },
        )
    })
    .await
}

/// Ends our side of a connection and takes in what the peer still sends
/// until it closes too, for at most `limit`: closing then resets nothing.
async fn close_gently(mut stream: TcpStream, limit: Duration) {
    let _ = stream.shutdown().await;
    let _ = tokio::time::timeout(limit, async {
        loop {
            if stream.readable().await.is_err() {
                return;
            }
            match discard_ready(&stream) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    })
    .await;
}
