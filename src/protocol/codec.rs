//! Line framing for tokio: bytes to [`Message`]s and back, with a bound.
//!
//! The codec is where "nothing unbounded is buffered per connection" is kept:
//! a line longer than the limit becomes an error value as soon as the limit
//! is passed, and the rest of it is thrown away as it arrives, up to the next
//! line feed, without being stored. A server can also give up on a line that
//! is still arriving ([`LineCodec::abandon_line`]): the same discarding then
//! resynchronises the stream at that line's end.

use std::fmt;
use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::grammar::{self, ParseError};
use super::latin1;
use super::message::{Message, UNDEFINED_NAME};

/// The default longest line, in bytes, not counting its CR LF.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// A line that is not a message; the connection goes on after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The line does not follow the grammar.
    Syntax {
        /// What is wrong with it.
        error: ParseError,
        /// The line as received (latin-1), for transcripts and logs.
        line: String,
    },
    /// The line is longer than the limit; it was discarded.
    LineTooLong {
        /// The line's command name if it could be read from its start.
        name: String,
        /// The limit it exceeded, in bytes.
        limit: usize,
    },
}

impl ProtocolError {
    /// The name to answer this line under.
    pub fn name(&self) -> &str {
        match self {
            ProtocolError::Syntax { error, .. } => &error.name,
            ProtocolError::LineTooLong { name, .. } => name,
        }
    }

    /// The `invalid` reply that tells the sender what was wrong.
    pub fn to_reply(&self) -> Message {
        Message::invalid(self.name(), self.to_string())
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Syntax { error, .. } => error.fmt(f),
            ProtocolError::LineTooLong { limit, .. } => {
                write!(f, "line longer than {limit} bytes; it was discarded")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Frames lines (CR LF or bare LF) and parses each into a [`Message`].
///
/// Decoding yields `Ok(Err(_))` for a bad line rather than an I/O error, so a
/// stream of frames goes on after it: one bad line costs one `invalid` reply,
/// never the connection.
#[derive(Debug, Clone)]
pub struct LineCodec {
    max_line: usize,
    /// Bytes already searched for a line feed, so a line arriving in many
    /// reads is scanned once.
    scanned: usize,
    /// Inside an over-long line: drop bytes up to its line feed.
    discarding: bool,
}

impl LineCodec {
    /// A codec refusing lines longer than `max_line` bytes (CR LF excluded).
    pub fn new(max_line: usize) -> LineCodec {
        LineCodec {
            max_line,
            scanned: 0,
            discarding: false,
        }
    }

    /// The longest line this codec accepts.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Gives up on the line still arriving in `buf`: drops what of it is
    /// buffered, and the rest of it, up to its line end, as it arrives; the
    /// next line is read as usual. Returns the line's name to answer it
    /// under, or `None` when no line has begun (or the one arriving is
    /// already being discarded, having been answered).
    ///
    /// For a server that will not keep a line forever (a line timeout) or
    /// has no room left for it. Call it after [`Decoder::decode`] returned
    /// `None`, so that `buf` holds no complete line.
    pub fn abandon_line(&mut self, buf: &mut BytesMut) -> Option<String> {
        if buf.is_empty() {
            return None;
        }
        let name = self.too_long(buf).name().to_owned();
        buf.clear();
        self.scanned = 0;
        self.discarding = true;
        Some(name)
    }

    fn too_long(&self, start: &[u8]) -> ProtocolError {
        // The name, if any, is at the very start; a few bytes suffice. No
        // more than the limit and one byte are read, as that is all a line
        // arriving in pieces is sure to have in the buffer when it passes
        // the limit: the reply's name must not depend on how TCP cut it.
        let start = &start[..start.len().min(256).min(self.max_line + 1)];
        ProtocolError::LineTooLong {
            name: grammar::readable_name(start).unwrap_or_else(|| UNDEFINED_NAME.to_owned()),
            limit: self.max_line,
        }
    }
}

impl Default for LineCodec {
    fn default() -> LineCodec {
        LineCodec::new(DEFAULT_MAX_LINE)
    }
}

/// How a received line ended: besides the message, what a client that reads
/// bytes as DISCOS does needs to know (DISCOS reads up to the LF and drops
/// the byte before it, meant to be the CR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnd {
    /// CR LF, as the contract requires of every line a backend sends.
    CrLf,
    /// A line feed with no carriage return before it.
    Lf,
    /// No line end at all: the connection ended after the line's last byte.
    Eof,
    /// Never seen: the line passed the limit, and what followed was thrown
    /// away up to its end without being read.
    Discarded,
}

impl LineEnd {
    /// Whether this is the CR LF the contract asks for.
    pub fn is_crlf(self) -> bool {
        self == LineEnd::CrLf
    }

    /// How the line ended, in words for a message: "ended by a bare LF".
    pub fn describe(self) -> &'static str {
        match self {
            LineEnd::CrLf => "ended by CR LF",
            LineEnd::Lf => "ended by a bare LF, without its CR",
            LineEnd::Eof => "cut: the connection closed before its line end",
            LineEnd::Discarded => "over the line limit: the rest of it was discarded",
        }
    }
}

/// One line as it came off the wire: what it parsed to, its bytes and how
/// it ended. What [`LineCodec::decode_line`] yields, for a client that must
/// judge a reply by its framing as well as by its content; a server, which
/// accepts both line ends, reads [`Message`]s through [`Decoder`] instead,
/// at no cost of copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The message, or why the line is not one.
    pub message: Result<Message, ProtocolError>,
    /// The bytes as received, the line end included. For a line over the
    /// limit ([`LineEnd::Discarded`]), the bytes it had when it passed the
    /// limit; the rest was never kept.
    pub raw: Bytes,
    /// How it ended.
    pub end: LineEnd,
}

impl Line {
    /// The line's bytes without its line end (CR LF, LF, or the CR of a line
    /// cut before its LF).
    pub fn content(&self) -> &[u8] {
        grammar::strip_line_end(&self.raw)
    }

    /// How this line, sent by a backend, breaks the framing DISCOS reads
    /// by, if it does; what the acceptance judgement and the console both
    /// look for in every line a backend sends.
    pub fn misframed(&self) -> Option<Misframed> {
        match self.end {
            LineEnd::Lf => Some(Misframed::BareLf),
            LineEnd::Eof => Some(Misframed::Cut),
            LineEnd::Discarded => Some(Misframed::TooLong {
                bytes: self.raw.len(),
            }),
            LineEnd::CrLf if self.content().ends_with(b"\r") => Some(Misframed::StrayCr),
            LineEnd::CrLf if self.raw.len() > LONGEST_LINE_SENT => Some(Misframed::TooLong {
                bytes: self.raw.len(),
            }),
            LineEnd::CrLf => None,
        }
    }
}

/// The longest line a backend may send, its CR LF included: DISCOS reads
/// a reply into a buffer of 512 bytes, its terminating NUL among them.
pub const LONGEST_LINE_SENT: usize = 511;

/// How a line a backend sent breaks the framing DISCOS reads by
/// (docs/protocol.md#transport-and-framing, #reply-length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misframed {
    /// Ended by an LF alone: DISCOS drops the character before it.
    BareLf,
    /// Ended by CR CR LF: DISCOS drops one CR and keeps the other.
    StrayCr,
    /// Cut by the connection's end before its line end.
    Cut,
    /// Longer than [`LONGEST_LINE_SENT`] (`bytes` as far as read).
    TooLong {
        /// Its length, its line end included, as far as it was read.
        bytes: usize,
    },
}

impl Misframed {
    /// The identifier of the requirement it breaks.
    pub fn requirement(self) -> &'static str {
        match self {
            Misframed::TooLong { .. } => "short-lines",
            Misframed::BareLf | Misframed::StrayCr | Misframed::Cut => "crlf",
        }
    }
}

impl std::fmt::Display for Misframed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Misframed::BareLf => f.write_str(
                "ends with a bare LF, without its CR: DISCOS drops the character before the LF",
            ),
            Misframed::StrayCr => f.write_str(
                "ends with CR CR LF, a CR too many: DISCOS drops only the character before the LF, and reads the other CR as part of the line's last field",
            ),
            Misframed::Cut => f.write_str("was cut: the connection closed before its line end"),
            Misframed::TooLong { bytes } => write!(
                f,
                "is {bytes} bytes long or more, its line end included: DISCOS reads a reply into 512 bytes"
            ),
        }
    }
}

/// One decoded line, before its bytes are kept or dropped.
struct Decoded<T> {
    message: Result<Message, ProtocolError>,
    end: LineEnd,
    kept: T,
}

impl LineCodec {
    /// The next line in `buf`, with its bytes and how it was framed; `None`
    /// until a whole line (or one over the limit) has arrived. The same
    /// framing and limit as [`Decoder::decode`], for a client that needs to
    /// know how each line ended.
    pub fn decode_line(&mut self, buf: &mut BytesMut) -> Option<Line> {
        self.next_line(buf, Bytes::copy_from_slice).map(Line::from)
    }

    /// As [`LineCodec::decode_line`], once the connection has ended: a last
    /// line without its line end comes as [`LineEnd::Eof`].
    pub fn decode_line_eof(&mut self, buf: &mut BytesMut) -> Option<Line> {
        self.last_line(buf, Bytes::copy_from_slice).map(Line::from)
    }

    /// The one framing loop behind both faces of the codec; `keep` copies a
    /// line's bytes, or does nothing where nobody wants them.
    fn next_line<T>(&mut self, buf: &mut BytesMut, keep: fn(&[u8]) -> T) -> Option<Decoded<T>> {
        loop {
            let Some(offset) = buf[self.scanned..].iter().position(|&b| b == b'\n') else {
                if self.discarding {
                    buf.clear();
                    self.scanned = 0;
                    return None;
                }
                // A CR may sit at the end, waiting for its LF.
                if buf.len() > self.max_line + 1 {
                    let error = self.too_long(buf);
                    let kept = keep(buf);
                    buf.clear();
                    self.scanned = 0;
                    self.discarding = true;
                    return Some(Decoded {
                        message: Err(error),
                        end: LineEnd::Discarded,
                        kept,
                    });
                }
                self.scanned = buf.len();
                return None;
            };
            // The line is parsed where it lies and then skipped: splitting it
            // off would cost a reference count per line on a busy connection.
            let end = self.scanned + offset + 1;
            self.scanned = 0;
            if std::mem::take(&mut self.discarding) {
                buf.advance(end);
                continue;
            }
            let line = &buf[..end];
            let content = line.strip_suffix(b"\n").unwrap_or(line);
            let ending = if content.ends_with(b"\r") {
                LineEnd::CrLf
            } else {
                LineEnd::Lf
            };
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            // The grammar strips the line end itself, exactly once.
            let message = if content.len() > self.max_line {
                Err(self.too_long(content))
            } else {
                parse(line)
            };
            let kept = keep(line);
            buf.advance(end);
            return Some(Decoded {
                message,
                end: ending,
                kept,
            });
        }
    }

    fn last_line<T>(&mut self, buf: &mut BytesMut, keep: fn(&[u8]) -> T) -> Option<Decoded<T>> {
        if let Some(line) = self.next_line(buf, keep) {
            return Some(line);
        }
        self.scanned = 0;
        if std::mem::take(&mut self.discarding) || buf.is_empty() {
            buf.clear();
            return None;
        }
        // A last line without its line end is still a line, held to the
        // same limit: the bytes kept waiting for a LF may be one over it.
        let line = buf.split();
        let content = grammar::strip_line_end(&line);
        let message = if content.len() > self.max_line {
            Err(self.too_long(content))
        } else {
            parse(&line)
        };
        Some(Decoded {
            message,
            end: LineEnd::Eof,
            kept: keep(&line),
        })
    }
}

impl From<Decoded<Bytes>> for Line {
    fn from(decoded: Decoded<Bytes>) -> Line {
        Line {
            message: decoded.message,
            raw: decoded.kept,
            end: decoded.end,
        }
    }
}

fn nothing(_: &[u8]) {}

impl Decoder for LineCodec {
    type Item = Result<Message, ProtocolError>;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> io::Result<Option<Self::Item>> {
        Ok(self.next_line(buf, nothing).map(|line| line.message))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> io::Result<Option<Self::Item>> {
        Ok(self.last_line(buf, nothing).map(|line| line.message))
    }
}

fn parse(line: &[u8]) -> Result<Message, ProtocolError> {
    grammar::parse(line).map_err(|error| ProtocolError::Syntax {
        error,
        line: latin1::decode(grammar::strip_line_end(line)),
    })
}

impl Encoder<&Message> for LineCodec {
    type Error = io::Error;

    fn encode(&mut self, message: &Message, dst: &mut BytesMut) -> io::Result<()> {
        message.write_to(dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(codec: &mut LineCodec, buf: &mut BytesMut) -> Vec<Result<Message, ProtocolError>> {
        std::iter::from_fn(|| codec.decode(buf).unwrap()).collect()
    }

    #[test]
    fn lines_end_with_crlf_or_lf_and_may_arrive_in_pieces() {
        let mut codec = LineCodec::default();
        let mut buf = BytesMut::from(&b"?status\r\n?get-tpi\n?ti"[..]);
        let got = frames(&mut codec, &mut buf);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].as_ref().unwrap().name, "get-tpi");
        buf.extend_from_slice(b"me\r");
        assert!(frames(&mut codec, &mut buf).is_empty());
        buf.extend_from_slice(b"\n");
        assert_eq!(
            frames(&mut codec, &mut buf)[0].as_ref().unwrap().name,
            "time"
        );
    }

    #[test]
    fn an_over_long_line_is_one_error_and_is_not_buffered() {
        let mut codec = LineCodec::new(16);
        let mut buf = BytesMut::from(&b"?set-filename,0123456789"[..]);
        let got = frames(&mut codec, &mut buf);
        assert_eq!(
            got,
            [Err(ProtocolError::LineTooLong {
                name: "set-filename".into(),
                limit: 16
            })]
        );
        assert!(buf.is_empty(), "the start of the long line is dropped");
        buf.extend_from_slice(&[b'x'; 1000]);
        assert!(frames(&mut codec, &mut buf).is_empty());
        assert!(buf.is_empty(), "the middle of the long line is dropped");
        buf.extend_from_slice(b"xxx\r\n?status\r\n");
        let got = frames(&mut codec, &mut buf);
        assert_eq!(got, [Ok(Message::request("status", Vec::<String>::new()))]);
    }

    #[test]
    fn a_long_line_arriving_whole_is_refused_too() {
        let mut codec = LineCodec::new(6);
        let mut buf = BytesMut::from(&b"?status\r\n?time\r\n"[..]);
        let got = frames(&mut codec, &mut buf);
        assert!(matches!(got[0], Err(ProtocolError::LineTooLong { .. })));
        assert_eq!(got[1].as_ref().unwrap().name, "time");
        assert_eq!(
            got[0].as_ref().unwrap_err().to_reply().to_string(),
            "!status,invalid,line longer than 6 bytes; it was discarded"
        );
    }

    #[test]
    fn an_over_long_lines_name_does_not_depend_on_how_it_arrived() {
        // Found by fuzzing: whole, the name was read from the entire line;
        // a byte at a time, from what had arrived when the limit was passed.
        let whole = frames(
            &mut LineCodec::new(1),
            &mut BytesMut::from(&b"?stop\r\n"[..]),
        );
        let mut codec = LineCodec::new(1);
        let mut buf = BytesMut::new();
        let mut cut = Vec::new();
        for &byte in b"?stop\r\n" {
            buf.extend_from_slice(&[byte]);
            cut.extend(frames(&mut codec, &mut buf));
        }
        assert_eq!(cut, whole);
        assert_eq!(whole[0].as_ref().unwrap_err().name(), "s");
    }

    #[test]
    fn a_line_exactly_at_the_limit_passes() {
        let mut codec = LineCodec::new(7);
        let mut buf = BytesMut::from(&b"?status\r"[..]);
        assert!(frames(&mut codec, &mut buf).is_empty());
        buf.extend_from_slice(b"\n");
        assert!(frames(&mut codec, &mut buf)[0].is_ok());
    }

    #[test]
    fn a_last_line_without_its_line_end_is_held_to_the_limit() {
        // Found by fuzzing: one byte over the limit passed at the end.
        let mut codec = LineCodec::new(5);
        let mut buf = BytesMut::from(&b"?time1"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        let last = codec.decode_eof(&mut buf).unwrap().unwrap();
        assert_eq!(
            last,
            Err(ProtocolError::LineTooLong {
                name: "time1".into(),
                limit: 5
            })
        );
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
        // Its CR does not count, as for any line.
        let mut buf = BytesMut::from(&b"?time\r"[..]);
        assert_eq!(
            codec.decode_eof(&mut buf).unwrap().unwrap().unwrap().name,
            "time"
        );
    }

    #[test]
    fn an_abandoned_line_is_discarded_up_to_its_end() {
        let mut codec = LineCodec::default();
        let mut buf = BytesMut::from(&b"?set-configuration,K2"[..]);
        assert!(frames(&mut codec, &mut buf).is_empty());
        assert_eq!(
            codec.abandon_line(&mut buf).as_deref(),
            Some("set-configuration")
        );
        assert!(buf.is_empty());
        assert_eq!(codec.abandon_line(&mut buf), None, "nothing has begun");
        buf.extend_from_slice(b"000\r\n?get-configuration\r\n");
        let got = frames(&mut codec, &mut buf);
        assert_eq!(
            got,
            [Ok(Message::request(
                "get-configuration",
                Vec::<String>::new()
            ))],
            "the rest of the abandoned line is not a request"
        );
    }

    #[test]
    fn the_last_line_may_lack_its_line_end() {
        let mut codec = LineCodec::default();
        let mut buf = BytesMut::from(&b"?status"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        let last = codec.decode_eof(&mut buf).unwrap().unwrap().unwrap();
        assert_eq!(last.name, "status");
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    }

    #[test]
    fn each_line_comes_with_its_bytes_and_how_it_ended() {
        let mut codec = LineCodec::new(16);
        let mut buf = BytesMut::from(&b"!a,ok\r\n!b,ok\n!c,ok\r\r\n!d,fail,E0"[..]);
        let first = codec.decode_line(&mut buf).unwrap();
        assert_eq!(
            (&first.raw[..], first.end),
            (&b"!a,ok\r\n"[..], LineEnd::CrLf)
        );
        assert_eq!(first.content(), b"!a,ok");
        assert_eq!(first.message.unwrap().name, "a");
        let second = codec.decode_line(&mut buf).unwrap();
        assert_eq!(
            (&second.raw[..], second.end),
            (&b"!b,ok\n"[..], LineEnd::Lf)
        );
        // One CR is the line end's; the one before it is the line's own.
        let third = codec.decode_line(&mut buf).unwrap();
        assert_eq!(third.end, LineEnd::CrLf);
        assert_eq!(third.content(), b"!c,ok\r");
        assert!(
            codec.decode_line(&mut buf).is_none(),
            "the last line has no end yet"
        );
        assert_eq!(&buf[..], b"!d,fail,E0", "its bytes wait in the buffer");
        let cut = codec.decode_line_eof(&mut buf).unwrap();
        assert_eq!((&cut.raw[..], cut.end), (&b"!d,fail,E0"[..], LineEnd::Eof));
        assert_eq!(cut.message.unwrap().reason(), Some("E0"));
        assert!(codec.decode_line_eof(&mut buf).is_none());
    }

    #[test]
    fn an_over_long_line_keeps_the_bytes_it_had_and_says_its_end_was_not_seen() {
        let mut codec = LineCodec::new(4);
        let mut buf = BytesMut::from(&b"!status,ok"[..]);
        let long = codec.decode_line(&mut buf).unwrap();
        assert_eq!(long.end, LineEnd::Discarded);
        assert_eq!(&long.raw[..], b"!status,ok");
        assert!(matches!(
            long.message,
            Err(ProtocolError::LineTooLong { .. })
        ));
        buf.extend_from_slice(b",more\r\n!a,ok\r\n");
        let next = codec.decode_line(&mut buf).unwrap();
        assert_eq!(
            (&next.raw[..], next.end),
            (&b"!a,ok\r\n"[..], LineEnd::CrLf)
        );
        // Whole in the buffer, its end is seen.
        let mut buf = BytesMut::from(&b"!status,ok\n"[..]);
        let whole = codec.decode_line(&mut buf).unwrap();
        assert_eq!(whole.end, LineEnd::Lf);
        assert!(whole.message.is_err());
    }

    #[test]
    fn both_faces_of_the_codec_frame_alike() {
        let input = b"?a\r\n?b\n\r\n?c,\\q\r\n?dddddddd\r\n?e";
        let mut plain = LineCodec::new(6);
        let mut buf = BytesMut::from(&input[..]);
        let mut messages = frames(&mut plain, &mut buf);
        messages.extend(plain.decode_eof(&mut buf).unwrap());
        let mut framed = LineCodec::new(6);
        let mut buf = BytesMut::from(&input[..]);
        let mut lines: Vec<_> = std::iter::from_fn(|| framed.decode_line(&mut buf))
            .map(|line| line.message)
            .collect();
        lines.extend(framed.decode_line_eof(&mut buf).map(|line| line.message));
        assert_eq!(messages, lines);
        assert_eq!(messages.len(), 6);
    }
}
