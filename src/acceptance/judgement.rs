//! Every reply judged against the request it answers, in one place.
//!
//! A step reads "the backend accepts it" as the code of the reply; what
//! makes that reply *the* reply — named as its request, framed by CR LF,
//! whole, the only one — is judged here, before any step looks at it, so
//! that no step can pass on a reply DISCOS would misread: one for another
//! command, one ended by a bare LF, one the connection's end cut, or a
//! stale one left over from an earlier request. Lines nobody asked for are
//! looked for, without waiting, before every request, after every reply,
//! when a step reads "the reply", and when the teardown closes each client.
//!
//! Each failure names the requirement of `docs/protocol.md` it breaks
//! (`crlf`, `short-lines`, `code-first`, `reason-given`, `same-name`,
//! `one-reply`), whatever the scenario's tag: a reply for another command,
//! met in a scenario about `cal-on`, is a failed MUST `same-name`.

use std::fmt::Write as _;
use std::time::Duration;

use super::DiscosWorld;
use crate::client::{ClientError, Received, SHOWN_LINE};
use crate::protocol::{
    Code, LineEnd, Message, Misframed, ProtocolError, SyntaxError, UNDEFINED_NAME, escape_line,
    latin1, parse,
};

pub use crate::protocol::LONGEST_LINE_SENT;

/// A request as its reply is judged against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// The request as the transcript shows it (`?cal-on`).
    pub shown: String,
    /// The name its reply must carry; `None` for a line that is no request
    /// at all, whose reply the contract lets the backend name as it could
    /// read it (docs/protocol.md#malformed-lines).
    pub name: Option<String>,
    /// Sent as raw bytes: a line the backend may find too long or malformed
    /// and answer `invalid` under `undefined`.
    pub raw: bool,
}

impl Asked {
    /// A request built as a message.
    pub fn request(request: &Message) -> Asked {
        Asked {
            shown: crate::client::shown(&request.to_string()).into_owned(),
            name: Some(request.name.clone()),
            raw: false,
        }
    }

    /// One line of raw bytes, its line end included or not.
    pub fn raw_line(line: &[u8]) -> Asked {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        let shown = crate::client::shown(&escape_line(&latin1::decode(
            &content[..content.len().min(SHOWN_LINE)],
        )))
        .into_owned();
        let shown = if content.len() > SHOWN_LINE {
            format!(
                "{shown}\u{2026} \u{27e8}{} bytes in all\u{27e9}",
                content.len()
            )
        } else {
            shown
        };
        let name = match parse(content) {
            Ok(message) => Some(message.name),
            Err(_) => None,
        };
        Asked {
            shown,
            name,
            raw: true,
        }
    }

    /// Whether a reply of this name and code may answer this request.
    fn named_by(&self, reply: &Message) -> bool {
        match &self.name {
            None => true,
            Some(name) if *name == reply.name => true,
            // A line the backend could not take whole (too long, bytes it
            // refuses) may be answered as one whose name it could not read.
            Some(_) => {
                self.raw && reply.code() == Some(Code::Invalid) && reply.name == UNDEFINED_NAME
            }
        }
    }
}

impl std::fmt::Display for Asked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl DiscosWorld {
    /// Fails unless `reply`, which client `name` received as it came
    /// (`line`), is a reply to `asked`: CR LF ended, under the longest line,
    /// named as its request, a refusal with its reason.
    pub(crate) fn judge_reply(
        &self,
        name: &str,
        asked: &Asked,
        reply: &Message,
        line: Option<&Received>,
    ) {
        if let Some((id, message)) = self.reply_problem(name, asked, reply, line) {
            self.fail_requirement(id, message);
        }
    }

    /// What makes `reply` (received as `line`) no proper reply to `asked`,
    /// the requirement it breaks first and the words for it; `None` when
    /// it is one.
    pub(crate) fn reply_problem(
        &self,
        name: &str,
        asked: &Asked,
        reply: &Message,
        line: Option<&Received>,
    ) -> Option<(&'static str, String)> {
        if let Some(problem) = line.and_then(|received| self.framing_problem(name, asked, received))
        {
            return Some(problem);
        }
        if !asked.named_by(reply) {
            let expected = asked.name.as_deref().unwrap_or_default();
            return Some((
                "same-name",
                format!(
                    "the reply to {asked} that client \"{name}\" received is named '{}', not '{expected}': a reply for another request\n    {}",
                    reply.name,
                    crate::client::shown(&reply.to_string())
                ),
            ));
        }
        if matches!(reply.code(), Some(Code::Fail | Code::Invalid))
            && reply.reason().is_none_or(|reason| reason.trim().is_empty())
        {
            return Some((
                "reason-given",
                format!(
                    "the reply to {asked} that client \"{name}\" received is a refusal without a reason; DISCOS reads the reason's first word:\n    {}",
                    crate::client::shown(&reply.to_string())
                ),
            ));
        }
        None
    }

    /// How the line `received`, the reply to `asked` that client `name`
    /// took, breaks the framing, and the words for it.
    fn framing_problem(
        &self,
        name: &str,
        asked: &Asked,
        received: &Received,
    ) -> Option<(&'static str, String)> {
        if received.line.misframed() == Some(Misframed::StrayCr) {
            return Some((
                "crlf",
                format!(
                    "the reply to {asked} that client \"{name}\" received {}:\n    {}",
                    Misframed::StrayCr,
                    received.shown()
                ),
            ));
        }
        let bytes = received.line.raw.len();
        match received.line.end {
            LineEnd::Lf => {
                let content = received.line.content();
                let misread = &content[..content.len().saturating_sub(1)];
                return Some((
                    "crlf",
                    format!(
                        "the reply to {asked} that client \"{name}\" received ends with a bare LF, without its CR:\n    {}\nDISCOS drops the character before the LF and reads\n    {}",
                        received.shown(),
                        crate::client::shown(&escape_line(&latin1::decode(misread)))
                    ),
                ));
            }
            LineEnd::Discarded => {
                return Some((
                    "short-lines",
                    format!(
                        "the reply to {asked} that client \"{name}\" received is longer than the {bytes} bytes the client reads of a line; every line a backend sends is under 512 bytes, its CR LF included:\n    {}",
                        received.shown()
                    ),
                ));
            }
            LineEnd::Eof => {
                return Some((
                    "crlf",
                    format!(
                        "the reply to {asked} that client \"{name}\" received was cut: the connection closed after {bytes} byte(s) of it, before its line end:\n    {}",
                        received.shown()
                    ),
                ));
            }
            LineEnd::CrLf
                if bytes > LONGEST_LINE_SENT
                    && !self.broken_on_purpose.contains(&"short-lines") =>
            {
                return Some((
                    "short-lines",
                    format!(
                        "the reply to {asked} that client \"{name}\" received is {bytes} bytes long, its CR LF included; DISCOS reads a reply into 512 bytes, so every line is under 512:\n    {}",
                        received.shown()
                    ),
                ));
            }
            LineEnd::CrLf => {}
        }
        None
    }

    /// Fails the step with what happened instead of a reply to `asked`: no
    /// reply, half a reply then silence, a reply the connection's end cut,
    /// the connection closed, a line that is no reply.
    pub(crate) fn fail_exchange(&self, name: &str, asked: &Asked, error: ClientError) -> ! {
        match exchange_problem(name, asked, error) {
            (Some(id), message) => self.fail_requirement(id, message),
            (None, message) => self.fail(message),
        }
    }
}

/// What happened instead of a reply to `asked` that client `name` sent, in
/// words, and the requirement it breaks, if the backend broke one.
pub(crate) fn exchange_problem(
    name: &str,
    asked: &Asked,
    error: ClientError,
) -> (Option<&'static str>, String) {
    let who = format!("client \"{name}\"");
    match error {
        ClientError::Timeout { after, .. } => (
            Some("one-reply"),
            format!(
                "{who} sent {asked} and no reply came within {after:?}: not a byte of one; every request gets exactly one reply"
            ),
        ),
        ClientError::Stalled {
            after,
            bytes,
            partial,
            ..
        } => (
            Some("one-reply"),
            format!(
                "{who} sent {asked} and part of a reply came, then silence: {bytes} byte(s) ({partial}), then nothing more for {after:?}, and no line end"
            ),
        ),
        ClientError::Cut { bytes, line, .. } => (
            Some("crlf"),
            format!(
                "{who} sent {asked} and the reply was cut: the backend closed the connection after {bytes} byte(s) ({line}), before the line's CR LF"
            ),
        ),
        ClientError::Closed { .. } => (
            Some("one-reply"),
            format!("{who} sent {asked} and the backend closed the connection instead of replying"),
        ),
        ClientError::Malformed { error, .. } => malformed_problem(&who, asked, error),
        ClientError::NotAReply { message, .. } => (
            Some("one-reply"),
            format!(
                "{who} sent {asked} and a request came where its reply was due: {}",
                crate::client::shown(&message.to_string())
            ),
        ),
        ClientError::Io { source, .. }
            if matches!(
                source.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
            ) =>
        {
            (
                Some("one-reply"),
                format!(
                    "{who} sent {asked} and the backend had closed the connection instead of replying ({source})"
                ),
            )
        }
        other => (None, format!("{who} sending {asked}: {other}")),
    }
}

/// What a line that is no proper reply, in place of the reply to `asked`
/// that `who` sent, breaks, and the words for it.
fn malformed_problem(
    who: &str,
    asked: &Asked,
    error: ProtocolError,
) -> (Option<&'static str>, String) {
    match error {
        ProtocolError::Syntax { line, .. } if line.ends_with('\r') => (
            Some("crlf"),
            format!(
                "the reply to {asked} that {who} received {}:\n    {}",
                Misframed::StrayCr,
                crate::client::shown(&escape_line(&line))
            ),
        ),
        ProtocolError::LineTooLong { limit, .. } => (
            Some("short-lines"),
            format!(
                "{who} sent {asked} and the reply was longer than the {limit} bytes the client reads of a line; every line a backend sends is under 512 bytes"
            ),
        ),
        ProtocolError::Syntax { error, line }
            if matches!(
                error.error,
                SyntaxError::MissingCode | SyntaxError::UnknownCode { .. }
            ) =>
        {
            (
                Some("code-first"),
                format!(
                    "the reply to {asked} that {who} received has no return code right after its name ({}): {}",
                    error.error,
                    crate::client::shown(&line)
                ),
            )
        }
        error => (
            Some("one-reply"),
            format!("{who} sent {asked} and a line that is no reply came: {error}"),
        ),
    }
}

impl DiscosWorld {
    /// Fails the step with why client `name` has no connection to the
    /// backend at `address`: a connection made and no greeting (or half of
    /// one) is not a connection that could not be made.
    pub(crate) fn fail_connect(&self, name: &str, address: &str, error: ClientError) -> ! {
        let who = format!("client \"{name}\"");
        match error {
            ClientError::Connect { .. } | ClientError::Refused { .. } => {
                self.fail(format!("{who} could not connect: {error}"))
            }
            ClientError::Timeout { after, .. } => self.fail_requirement(
                "greeting",
                format!(
                    "{who} connected to {address}, but no greeting came within {after:?}: not a byte of one"
                ),
            ),
            ClientError::Stalled {
                after,
                bytes,
                partial,
                ..
            } => self.fail_requirement(
                "greeting",
                format!(
                    "{who} connected to {address}, and part of a greeting came, then silence: {bytes} byte(s) ({partial}), then nothing more for {after:?}, and no line end"
                ),
            ),
            ClientError::Cut { bytes, line, .. } => self.fail_requirement(
                "crlf",
                format!(
                    "{who} connected to {address}, and the greeting was cut: the backend closed the connection after {bytes} byte(s) ({line}), before the line's CR LF"
                ),
            ),
            ClientError::Closed { .. } => self.fail_requirement(
                "greeting",
                format!("{who} connected to {address}, and the backend closed the connection before any greeting"),
            ),
            other => self.fail(format!("{who} connected to {address}, but {other}")),
        }
    }

    /// Fails unless client `name`'s greeting was one line, CR LF ended,
    /// under the longest line, and nothing came after it.
    pub(crate) fn judge_greeting(&mut self, name: &str) {
        let Some(index) = self.parties.iter().position(|p| p.name == name) else {
            return;
        };
        if let Some(received) = self.parties[index].client.handshake_line()
            && let Some(misframed) = received.line.misframed()
        {
            self.fail_requirement(
                misframed.requirement(),
                format!(
                    "the greeting client \"{name}\" received {misframed}:\n    {}",
                    received.shown()
                ),
            );
        }
        let lines = self.arrived_unasked(index);
        if !lines.is_empty() {
            let message = self.describe_unasked(index, &lines, "right after the greeting");
            self.fail_requirement("greeting", message);
        }
    }

    /// Fails the step if any client has received lines nobody asked for:
    /// looked for without waiting, so a passing scenario pays a read that
    /// would block, per client.
    pub(crate) fn check_unasked(&mut self) {
        let mut found = Vec::new();
        for index in 0..self.parties.len() {
            let lines = self.arrived_unasked(index);
            if !lines.is_empty() {
                found.push(self.describe_unasked(index, &lines, "before the next request"));
            }
        }
        if !found.is_empty() {
            self.fail_requirement("one-reply", found.join("\n"));
        }
    }

    /// Fails the step if client `name` has received lines after the replies
    /// it waited for: a second reply to one request.
    pub(crate) fn check_unasked_of(&mut self, name: &str) {
        let Some(index) = self.parties.iter().position(|p| p.name == name) else {
            return;
        };
        let lines = self.arrived_unasked(index);
        if !lines.is_empty() {
            let message = self.describe_unasked(index, &lines, "after the reply it waited for");
            self.fail_requirement("one-reply", message);
        }
    }

    /// Lines that came to party `index` without being waited for, less
    /// those that are late replies to requests a step gave up waiting for.
    pub(crate) fn arrived_unasked(&mut self, index: usize) -> Vec<Received> {
        let party = &mut self.parties[index];
        if party.client.is_closed() {
            return Vec::new();
        }
        // A socket error shows at the next exchange, which says what it was.
        let mut lines = party.client.arrived().unwrap_or_default();
        let late = party.owed.min(lines.len());
        party.owed -= late;
        lines.drain(..late);
        lines
    }

    /// The words for lines nobody asked for that party `index` received:
    /// each line, how it ended and when it came.
    pub(crate) fn describe_unasked(&self, index: usize, lines: &[Received], when: &str) -> String {
        let party = &self.parties[index];
        let offset = party
            .client
            .transcript()
            .started()
            .saturating_duration_since(self.started);
        let who = format!("client \"{}\"", party.name);
        unasked_lines(&who, party.last_asked.as_deref(), offset, lines, when)
    }
}

/// The words for `lines` that `who` (`client "A"`, `DISCOS`) received
/// unasked, `when` (its last request `last`), timed from the scenario's
/// start (`offset` is when the connection was opened).
pub(crate) fn unasked_lines(
    who: &str,
    last: Option<&str>,
    offset: Duration,
    lines: &[Received],
    when: &str,
) -> String {
    let after = match last {
        Some(last) => format!("its last request was {last}"),
        None if who.starts_with("client") => "it had sent no request".to_owned(),
        None => "after its last request".to_owned(),
    };
    let mut text = format!(
        "{who} received {} line(s) nobody asked for, {when} ({after}); a backend answers every request with exactly one reply and sends nothing unasked but the greeting:",
        lines.len()
    );
    for received in lines {
        let what = match received.line.end {
            LineEnd::Eof => {
                "bytes after the last line, without a line end, then the connection closed: "
            }
            _ => "",
        };
        let _ = write!(
            text,
            "\n    at {:.3}s: {what}{}",
            (offset + received.at).as_secs_f64(),
            received.shown()
        );
    }
    text
}
