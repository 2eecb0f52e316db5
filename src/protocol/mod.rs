//! The DISCOS backend protocol, version 1.4: the one implementation of the
//! wire format, shared by the server, the client, the console and the load
//! tool.
//!
//! Data flows bytes → [`LineCodec`] (framing, length limit) → [`parse`]
//! (grammar) → [`Message`] → [`Command`] (typed, arguments checked). Protocol
//! errors become `invalid` replies before a backend sees anything.

mod codec;
mod command;
pub mod contract;
mod escape;
mod grammar;
pub mod latin1;
mod message;
mod timestamp;

pub use codec::{
    DEFAULT_MAX_LINE, LONGEST_LINE_SENT, Line, LineCodec, LineEnd, Misframed, ProtocolError,
};
pub use command::{
    COMMAND_NAMES, Command, CommandError, PROTOCOL_VERSION, SectionUpdate, TsysRange,
};
pub use escape::escape_line;
pub use grammar::{
    ParseError, SyntaxError, TextError, parse, parse_text, readable_name, request_from_text,
};
pub use message::{Code, Kind, Message, UNDEFINED_NAME};
pub use timestamp::{Timestamp, TimestampError};

/// The reply every connection opens with: `!version,ok,1.4`.
pub fn handshake() -> Message {
    Message::ok("version", [PROTOCOL_VERSION])
}
