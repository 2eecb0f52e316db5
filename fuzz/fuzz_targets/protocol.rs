//! Bytes off a wire through the whole protocol path a server runs: line
//! codec → grammar → `Message` → `Command`, and back to the wire.
//!
//! The input is what a client could send, as it is (the corpus is seeded
//! with the lines the features send, so a seed reads like a transcript).
//! Besides "nothing panics", every input is held to what the protocol
//! promises:
//!
//! - framing does not depend on how TCP cuts the bytes: the codec gives the
//!   same frames for the input read whole, a byte at a time, or in odd pieces;
//! - the codec frames as the contract says (a line ends at LF, one CR before
//!   it is dropped, a line longer than the limit is one `invalid`), checked
//!   against a plain model of that rule, at several limits;
//! - it never holds more than a line's worth of bytes;
//! - every message read serialises to one line that parses back to it, and
//!   every reply to it (`invalid` for a bad line, `fail` for a bad command)
//!   is one line that parses back to itself;
//! - a typed command keeps its request's name, and its timestamps survive
//!   the reply form.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

use discos_acceptance::protocol::{
    Code, Command, DEFAULT_MAX_LINE, LineCodec, Message, ProtocolError, Timestamp, UNDEFINED_NAME,
    latin1, parse, readable_name,
};

/// The default limit, and small ones that short inputs can exceed.
const LIMITS: [usize; 4] = [DEFAULT_MAX_LINE, 300, 16, 1];

fuzz_target!(|data: &[u8]| {
    for limit in LIMITS {
        let whole = decode(data, limit, data.len());
        assert_eq!(
            whole,
            model(data, limit),
            "the codec at limit {limit} against the model"
        );
        // A byte at a time, and pieces that cut CR LF pairs and names apart.
        for piece in [1, 7] {
            let cut = decode(data, limit, piece);
            assert_eq!(cut, whole, "pieces of {piece} bytes at limit {limit}");
        }
        for frame in whole {
            check(frame);
        }
    }
});

/// The frames the codec yields when `data` arrives in reads of `piece`
/// bytes, then the connection closes.
fn decode(data: &[u8], limit: usize, piece: usize) -> Vec<Result<Message, ProtocolError>> {
    let mut codec = LineCodec::new(limit);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for read in data.chunks(piece.max(1)) {
        buf.extend_from_slice(read);
        while let Some(frame) = codec.decode(&mut buf).expect("decoding never fails") {
            frames.push(frame);
        }
        // What waits for its line feed is at most a line and its CR.
        assert!(
            buf.len() <= limit + 1,
            "{} bytes held at limit {limit}",
            buf.len()
        );
    }
    while let Some(frame) = codec.decode_eof(&mut buf).expect("decoding never fails") {
        frames.push(frame);
    }
    assert!(buf.is_empty(), "bytes left after the end");
    frames
}

/// The framing rule as the contract states it: a line runs to its LF (the
/// last one may lack it), the limit counts neither CR nor LF, and a line
/// over it is answered under the name its first bytes show.
fn model(data: &[u8], limit: usize) -> Vec<Result<Message, ProtocolError>> {
    let mut frames = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        frames.push(if content.len() > limit {
            // Named from its first bytes: a line arriving in pieces has at
            // least the limit and one byte when it is found too long.
            let start = &content[..content.len().min(256).min(limit + 1)];
            Err(ProtocolError::LineTooLong {
                name: readable_name(start).unwrap_or_else(|| UNDEFINED_NAME.to_owned()),
                limit,
            })
        } else {
            parse(line).map_err(|error| ProtocolError::Syntax {
                error,
                line: latin1::decode(content),
            })
        });
    }
    frames
}

/// Holds one frame, and what a server answers to it, to the wire's rules.
fn check(frame: Result<Message, ProtocolError>) {
    let message = match frame {
        Ok(message) => message,
        Err(error) => {
            let reply = error.to_reply();
            assert_eq!(reply.code(), Some(Code::Invalid));
            assert_eq!(reply.name, error.name());
            round_trip(&reply);
            return;
        }
    };
    round_trip(&message);
    if !message.is_request() {
        return;
    }
    match Command::from_request(&message) {
        Ok(command) => {
            assert_eq!(command.name(), message.name, "{command:?}");
            if let Command::Start { at: Some(at) } | Command::Stop { at: Some(at) } = command {
                let reply_form = at.to_string();
                assert_eq!(reply_form.parse::<Timestamp>(), Ok(at), "{reply_form}");
            }
        }
        Err(error) => round_trip(&Message::fail(&message.name, error.to_string())),
    }
}

/// A message is written as exactly one line, which reads back as it.
fn round_trip(message: &Message) {
    let wire = message.to_bytes();
    assert!(wire.ends_with(b"\r\n"), "{wire:?}");
    assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 1, "{wire:?}");
    assert_eq!(parse(&wire).as_ref(), Ok(message), "{wire:?}");
    let shown = latin1::encode(&message.to_string()).expect("a parsed message is latin-1");
    assert_eq!(
        shown,
        wire[..wire.len() - 2],
        "what a transcript shows is the wire"
    );
}
