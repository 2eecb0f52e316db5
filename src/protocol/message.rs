//! The one message type of the protocol: requests and replies alike.
//!
//! The wire carries bytes, not text: a backend may send anything and the
//! reference implementation decodes latin-1. So a [`Message`] holds text whose
//! every character is one byte of the wire (U+0000..=U+00FF), which makes
//! decoding total (no byte can fail) and `parse(serialise(m)) == m` hold for
//! every message that came off a wire.

use std::fmt;

use bytes::{BufMut, BytesMut};

/// The return code that opens every reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The request was carried out; further arguments are command-specific.
    Ok,
    /// A well-formed request that could not be carried out; the first argument
    /// is a human-readable reason.
    Fail,
    /// A malformed request; the first argument says what was wrong with it.
    Invalid,
}

impl Code {
    /// The code as it is spelled on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "ok",
            Code::Fail => "fail",
            Code::Invalid => "invalid",
        }
    }

    /// Reads a code as spelled on the wire; `None` for anything else.
    pub fn from_wire(text: &[u8]) -> Option<Code> {
        match text {
            b"ok" => Some(Code::Ok),
            b"fail" => Some(Code::Fail),
            b"invalid" => Some(Code::Invalid),
            _ => None,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a message asks (`?`) or answers (`!`), and for answers, how it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A request, sent by a client: `?name,args…`.
    Request,
    /// A reply, sent by a backend: `!name,code,args…`.
    Reply(Code),
}

/// A request or a reply, with its arguments unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// Request or reply (with its return code).
    pub kind: Kind,
    /// The command name, e.g. `set-configuration`.
    pub name: String,
    /// The arguments after the name (after the code, for replies), unescaped.
    pub arguments: Vec<String>,
}

/// The name a reply carries when the request's own name could not be read.
pub const UNDEFINED_NAME: &str = "undefined";

impl Message {
    /// A request `?name,args…`.
    pub fn request<I, S>(name: impl Into<String>, arguments: I) -> Message
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Message {
            kind: Kind::Request,
            name: name.into(),
            arguments: arguments.into_iter().map(Into::into).collect(),
        }
    }

    /// A reply `!name,code,args…`.
    pub fn reply<I, S>(name: impl Into<String>, code: Code, arguments: I) -> Message
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Message {
            kind: Kind::Reply(code),
            name: name.into(),
            arguments: arguments.into_iter().map(Into::into).collect(),
        }
    }

    /// A successful reply with command-specific arguments.
    pub fn ok<I, S>(name: impl Into<String>, arguments: I) -> Message
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Message::reply(name, Code::Ok, arguments)
    }

    /// A `fail` reply: the request was understood but could not be done.
    pub fn fail(name: impl Into<String>, reason: impl Into<String>) -> Message {
        Message::reply(name, Code::Fail, [reason.into()])
    }

    /// An `invalid` reply: the request itself was malformed.
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Message {
        Message::reply(name, Code::Invalid, [reason.into()])
    }

    /// The reply's return code; `None` for a request.
    pub fn code(&self) -> Option<Code> {
        match self.kind {
            Kind::Request => None,
            Kind::Reply(code) => Some(code),
        }
    }

    /// True for a request (`?`).
    pub fn is_request(&self) -> bool {
        self.kind == Kind::Request
    }

    /// The reason of a `fail` or `invalid` reply, if it has one.
    pub fn reason(&self) -> Option<&str> {
        match self.kind {
            Kind::Reply(Code::Fail | Code::Invalid) => self.arguments.first().map(String::as_str),
            _ => None,
        }
    }

    /// Appends the wire form, escaped and terminated by CR LF, to `dst`.
    ///
    /// Writing straight into the connection's buffer keeps the server and the
    /// load tool free of a per-message allocation. Two things no parsed
    /// message holds are written so the framing survives them: a line feed
    /// (the grammar has no escape for it) becomes a space, so one message is
    /// always one line; a character beyond latin-1 is written as its UTF-8
    /// bytes rather than dropped.
    pub fn write_to(&self, dst: &mut BytesMut) {
        dst.reserve(self.wire_len_hint());
        dst.put_u8(match self.kind {
            Kind::Request => b'?',
            Kind::Reply(_) => b'!',
        });
        put_text(dst, &self.name, false);
        if let Kind::Reply(code) = self.kind {
            dst.put_u8(b',');
            dst.put_slice(code.as_str().as_bytes());
        }
        for argument in &self.arguments {
            dst.put_u8(b',');
            put_text(dst, argument, true);
        }
        dst.put_slice(b"\r\n");
    }

    /// The wire form, escaped and terminated by CR LF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = BytesMut::new();
        self.write_to(&mut buf);
        buf.to_vec()
    }

    fn wire_len_hint(&self) -> usize {
        // Type, name, code, separators, CR LF; escapes may add a little more.
        12 + self.name.len() + self.arguments.iter().map(|a| a.len() + 1).sum::<usize>()
    }
}

/// Writes text as latin-1 bytes, escaping when it is an argument.
fn put_text(dst: &mut BytesMut, text: &str, escape: bool) {
    if text.is_ascii() && !text.bytes().any(|b| needs_care(b, escape)) {
        dst.put_slice(text.as_bytes());
        return;
    }
    for c in text.chars() {
        match c {
            '\\' if escape => dst.put_slice(b"\\\\"),
            ',' if escape => dst.put_slice(b"\\,"),
            '\t' if escape => dst.put_slice(b"\\t"),
            '\n' => dst.put_u8(b' '),
            c if (c as u32) <= 0xFF => dst.put_u8(c as u32 as u8),
            c => {
                let mut utf8 = [0; 4];
                dst.put_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
}

/// Whether an ASCII byte cannot be copied to the wire as it is.
fn needs_care(b: u8, escape: bool) -> bool {
    b == b'\n' || (escape && matches!(b, b'\\' | b',' | b'\t'))
}

/// The wire form without its line end, as a person reads it in a transcript.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = BytesMut::new();
        self.write_to(&mut buf);
        let line = &buf[..buf.len() - 2];
        f.write_str(&super::latin1::decode(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_carry_their_code_and_reason() {
        let reply = Message::fail("start", "already acquiring");
        assert_eq!(reply.code(), Some(Code::Fail));
        assert_eq!(reply.reason(), Some("already acquiring"));
        assert_eq!(reply.to_string(), "!start,fail,already acquiring");
        assert_eq!(Message::ok("version", ["1.4"]).reason(), None);
    }

    #[test]
    fn serialising_escapes_what_the_grammar_would_split_on() {
        let request = Message::request("set-filename", ["a,b\\c\td"]);
        assert_eq!(request.to_bytes(), b"?set-filename,a\\,b\\\\c\\td\r\n");
    }

    #[test]
    fn a_line_feed_cannot_break_the_framing() {
        let reply = Message::fail("start", "two\nlines");
        assert_eq!(reply.to_bytes(), b"!start,fail,two lines\r\n");
    }

    #[test]
    fn latin1_characters_become_single_bytes() {
        let request = Message::request("set-filename", ["caf\u{e9}"]);
        assert_eq!(request.to_bytes(), b"?set-filename,caf\xe9\r\n");
    }
}
