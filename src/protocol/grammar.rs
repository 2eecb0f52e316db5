//! The protocol's grammar, in nom: one line of bytes to one [`Message`].
//!
//! ```text
//! message   = type name *( "," argument ) eol
//! type      = "?" | "!"
//! name      = ALPHA *( ALPHA / DIGIT / "-" )
//! reply     = "!" name "," code *( "," argument ) eol
//! code      = "ok" | "fail" | "invalid"
//! argument  = *( plain / escape )
//! escape    = "\" ( "\" | "t" | "," )
//! ```
//!
//! Every way a line can be wrong has its own [`SyntaxError`], because the
//! reason travels back to whoever sent the line in an `invalid` reply and is
//! all they get to find their mistake.

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{take_while, take_while1};
use nom::combinator::{map, recognize};
use nom::multi::{fold_many0, many0};
use nom::sequence::preceded;
use nom::{IResult, Parser};

use super::latin1;
use super::message::{Code, Kind, Message, UNDEFINED_NAME};

/// What is wrong with a line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    /// Nothing (or only a line end) was sent.
    EmptyLine,
    /// The line does not start with `?` or `!`.
    MissingType {
        /// The first character of the line.
        found: char,
    },
    /// Nothing follows the `?` or `!`.
    MissingName,
    /// The name does not start with a letter.
    BadNameStart {
        /// The first character of the name.
        found: char,
    },
    /// A character that cannot be part of a name, where the name should end.
    BadNameCharacter {
        /// The name read up to the offending character.
        name: String,
        /// The offending character.
        found: char,
    },
    /// A reply without a return code.
    MissingCode,
    /// A reply whose return code is not `ok`, `fail` or `invalid`.
    UnknownCode {
        /// The code as sent.
        code: String,
    },
    /// A backslash followed by anything but `\`, `t` or `,`.
    UnknownEscape {
        /// The character after the backslash.
        found: char,
    },
    /// The line ends with a backslash that escapes nothing.
    TrailingBackslash,
    /// A line feed inside the message (only possible when parsing text that
    /// did not come through the line codec).
    EmbeddedLineFeed,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::EmptyLine => f.write_str("syntax error: empty line"),
            SyntaxError::MissingType { found } => write!(
                f,
                "syntax error: a message starts with '?' (request) or '!' (reply) and not with {found:?}"
            ),
            SyntaxError::MissingName => f.write_str("syntax error: the command name is missing"),
            SyntaxError::BadNameStart { found } => write!(
                f,
                "syntax error: a command name starts with a letter, not {found:?}"
            ),
            SyntaxError::BadNameCharacter { name, found } => write!(
                f,
                "syntax error: {found:?} after '{name}': a command name holds only letters and digits and '-' and arguments follow a comma"
            ),
            SyntaxError::MissingCode => f.write_str(
                "syntax error: a reply needs a return code (ok/fail/invalid) after its name",
            ),
            SyntaxError::UnknownCode { code } => write!(
                f,
                "syntax error: unknown return code '{code}'; expected ok/fail/invalid"
            ),
            SyntaxError::UnknownEscape { found } => write!(
                f,
                "syntax error: unknown escape '\\{found}': a backslash escapes only a backslash or a comma or 't' (tab)"
            ),
            SyntaxError::TrailingBackslash => {
                f.write_str("syntax error: the line ends with a lone backslash")
            }
            SyntaxError::EmbeddedLineFeed => {
                f.write_str("syntax error: a line feed inside the message")
            }
        }
    }
}

/// A line that does not parse, with the name to answer it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The line's command name if one could be read, so the `invalid` reply
    /// can be matched to the request; `undefined` otherwise.
    pub name: String,
    /// What is wrong with the line.
    pub error: SyntaxError,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ParseError {}

/// Parses one line (with or without its CR LF or LF) into a [`Message`].
pub fn parse(line: &[u8]) -> Result<Message, ParseError> {
    let line = strip_line_end(line);
    match message(line) {
        Ok((_, message)) => Ok(message),
        Err(failure) => {
            let error = match failure {
                nom::Err::Error(f) | nom::Err::Failure(f) => f.error,
                // Complete parsers never ask for more input.
                nom::Err::Incomplete(_) => None,
            };
            Err(ParseError {
                name: readable_name(line).unwrap_or_else(|| UNDEFINED_NAME.to_owned()),
                error: error.unwrap_or(SyntaxError::EmptyLine),
            })
        }
    }
}

/// Parses text typed by a person, after checking it fits the wire's latin-1.
pub fn parse_text(line: &str) -> Result<Message, TextError> {
    let bytes = latin1::encode(line).map_err(TextError::NotLatin1)?;
    parse(&bytes).map_err(TextError::Syntax)
}

/// Reads a request typed by a person: the leading `?` may be left out.
///
/// A line that starts with `!` is kept as it is (a reply), so a person can
/// check how a backend answers one.
pub fn request_from_text(text: &str) -> Result<Message, TextError> {
    if text.starts_with(['?', '!']) {
        parse_text(text)
    } else {
        parse_text(&format!("?{text}"))
    }
}

/// Why typed text is not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// The text holds a character the wire cannot carry.
    #[error("{0}")]
    NotLatin1(latin1::NotLatin1),
    /// The text is not a well-formed message.
    #[error("{0}")]
    Syntax(ParseError),
}

/// The name a reply to this line should carry: the command name if the line
/// starts like a message (with or without its `?`), else nothing.
pub fn readable_name(line: &[u8]) -> Option<String> {
    let body = match line.first() {
        Some(b'?' | b'!') => &line[1..],
        _ => line,
    };
    let (_, name) = name_token(body).ok()?;
    Some(latin1::decode(name))
}

/// The line without its CR LF or LF.
pub(super) fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// nom's error, carrying our reason once a branch is known to be wrong.
#[derive(Debug)]
struct Failure {
    error: Option<SyntaxError>,
}

impl<I> nom::error::ParseError<I> for Failure {
    fn from_error_kind(_: I, _: nom::error::ErrorKind) -> Self {
        Failure { error: None }
    }

    fn append(_: I, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, O> = IResult<&'a [u8], O, Failure>;

fn fail<O>(error: SyntaxError) -> Res<'static, O> {
    Err(nom::Err::Failure(Failure { error: Some(error) }))
}

fn first_char(input: &[u8]) -> char {
    char::from(input[0])
}

fn message(input: &[u8]) -> Res<'_, Message> {
    let request = match input.first() {
        None => return fail(SyntaxError::EmptyLine),
        Some(b'?') => true,
        Some(b'!') => false,
        Some(&other) => {
            return fail(SyntaxError::MissingType {
                found: other.into(),
            });
        }
    };
    let (input, name) = name(&input[1..])?;
    let (input, kind) = if request {
        (input, Kind::Request)
    } else {
        // `name` stops only at the end of the line or at a comma.
        let Some((_, after_comma)) = input.split_first() else {
            return fail(SyntaxError::MissingCode);
        };
        let (input, code) = code(after_comma)?;
        (input, Kind::Reply(code))
    };
    let (input, arguments) = many0(preceded(comma, argument)).parse(input)?;
    if input.is_empty() {
        Ok((
            input,
            Message {
                kind,
                name,
                arguments,
            },
        ))
    } else {
        // An argument runs to the next comma or line feed, so only a line
        // feed can be left over here.
        fail(SyntaxError::EmbeddedLineFeed)
    }
}

fn comma(input: &[u8]) -> Res<'_, &[u8]> {
    nom::bytes::complete::tag(&b","[..]).parse(input)
}

fn name_token(input: &[u8]) -> Res<'_, &[u8]> {
    recognize((
        take_while1(|b: u8| b.is_ascii_alphabetic()),
        take_while(|b: u8| b.is_ascii_alphanumeric() || b == b'-'),
    ))
    .parse(input)
}

fn name(input: &[u8]) -> Res<'_, String> {
    if input.is_empty() {
        return fail(SyntaxError::MissingName);
    }
    let Ok((rest, token)) = name_token(input) else {
        return fail(SyntaxError::BadNameStart {
            found: first_char(input),
        });
    };
    match rest.first() {
        None | Some(b',') => Ok((rest, latin1::decode(token))),
        Some(b'\n') => fail(SyntaxError::EmbeddedLineFeed),
        Some(_) => fail(SyntaxError::BadNameCharacter {
            name: latin1::decode(token),
            found: first_char(rest),
        }),
    }
}

fn code(input: &[u8]) -> Res<'_, Code> {
    let (rest, token) = plain(input).unwrap_or((input, &input[..0]));
    if token.is_empty() && rest.first() != Some(&b'\\') {
        return fail(SyntaxError::MissingCode);
    }
    match Code::from_wire(token) {
        Some(code) if rest.first() != Some(&b'\\') => Ok((rest, code)),
        _ => {
            let (_, code) = argument(input)?;
            fail(SyntaxError::UnknownCode { code })
        }
    }
}

/// A run of bytes that stand for themselves.
fn plain(input: &[u8]) -> Res<'_, &[u8]> {
    take_while1(|b: u8| !matches!(b, b',' | b'\\' | b'\n')).parse(input)
}

fn escape(input: &[u8]) -> Res<'_, char> {
    let (input, _) = nom::bytes::complete::tag(&b"\\"[..]).parse(input)?;
    match input.first() {
        None => fail(SyntaxError::TrailingBackslash),
        Some(b'\\') => Ok((&input[1..], '\\')),
        Some(b't') => Ok((&input[1..], '\t')),
        Some(b',') => Ok((&input[1..], ',')),
        Some(&other) => fail(SyntaxError::UnknownEscape {
            found: other.into(),
        }),
    }
}

enum Piece<'a> {
    Plain(&'a [u8]),
    Escaped(char),
}

fn argument(input: &[u8]) -> Res<'_, String> {
    // Most arguments hold no escape: decode them in one go.
    if let Ok((rest, run)) = plain(input)
        && rest.first() != Some(&b'\\')
    {
        return Ok((rest, latin1::decode(run)));
    }
    fold_many0(
        alt((map(plain, Piece::Plain), map(escape, Piece::Escaped))),
        String::new,
        |mut text, piece| {
            match piece {
                Piece::Plain(run) => text.extend(run.iter().map(|&b| char::from(b))),
                Piece::Escaped(c) => text.push(c),
            }
            text
        },
    )
    .parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Message {
        parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?} should parse: {e}"))
    }

    fn err(line: &[u8]) -> ParseError {
        parse(line).expect_err("should not parse")
    }

    #[test]
    fn requests_and_replies() {
        let cases: &[(&str, Message)] = &[
            ("?status", Message::request("status", Vec::<String>::new())),
            (
                "?status\r\n",
                Message::request("status", Vec::<String>::new()),
            ),
            (
                "?status\n",
                Message::request("status", Vec::<String>::new()),
            ),
            (
                "?set-configuration,K2000",
                Message::request("set-configuration", ["K2000"]),
            ),
            ("?a1-b2,x", Message::request("a1-b2", ["x"])),
            ("!version,ok,1.4", Message::ok("version", ["1.4"])),
            (
                "!get-tpi,ok,1.5,2.5",
                Message::ok("get-tpi", ["1.5", "2.5"]),
            ),
            (
                "!start,fail,already acquiring",
                Message::fail("start", "already acquiring"),
            ),
            ("!x,invalid,why", Message::invalid("x", "why")),
            (
                "!end-schedule,ok",
                Message::ok("end-schedule", Vec::<String>::new()),
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(&ok(line), expected, "{line:?}");
        }
    }

    #[test]
    fn arguments_keep_spaces_empties_and_escapes() {
        let cases: &[(&str, &[&str])] = &[
            ("?cmd,a b", &["a b"]),
            ("?cmd,a,,b", &["a", "", "b"]),
            ("?cmd,", &[""]),
            ("?cmd,,", &["", ""]),
            ("?cmd,a\\,b", &["a,b"]),
            ("?cmd,a\\\\b", &["a\\b"]),
            ("?cmd,a\\tb", &["a\tb"]),
            ("?cmd,\\,\\,", &[",,"]),
            ("?cmd,raw\ttab", &["raw\ttab"]),
            ("?cmd,inner\rcr", &["inner\rcr"]),
        ];
        for (line, arguments) in cases {
            assert_eq!(ok(line).arguments, *arguments, "{line:?}");
        }
    }

    #[test]
    fn bytes_beyond_ascii_are_latin1() {
        let message = parse(b"?set-filename,caf\xe9\x00\xff").unwrap();
        assert_eq!(message.arguments, ["caf\u{e9}\u{0}\u{ff}"]);
    }

    #[test]
    fn every_syntax_error_is_named() {
        let cases: &[(&[u8], &str, SyntaxError)] = &[
            (b"", "undefined", SyntaxError::EmptyLine),
            (b"\r\n", "undefined", SyntaxError::EmptyLine),
            (b"status", "status", SyntaxError::MissingType { found: 's' }),
            (
                b" ?status",
                "undefined",
                SyntaxError::MissingType { found: ' ' },
            ),
            (b"?", "undefined", SyntaxError::MissingName),
            (
                b"?,a",
                "undefined",
                SyntaxError::BadNameStart { found: ',' },
            ),
            (
                b"?1abc",
                "undefined",
                SyntaxError::BadNameStart { found: '1' },
            ),
            (
                b"?sta tus",
                "sta",
                SyntaxError::BadNameCharacter {
                    name: "sta".into(),
                    found: ' ',
                },
            ),
            (
                b"?get_tpi",
                "get",
                SyntaxError::BadNameCharacter {
                    name: "get".into(),
                    found: '_',
                },
            ),
            (b"!status", "status", SyntaxError::MissingCode),
            (b"!status,", "status", SyntaxError::MissingCode),
            (
                b"!status,yes",
                "status",
                SyntaxError::UnknownCode { code: "yes".into() },
            ),
            (
                b"!status,o\\,k",
                "status",
                SyntaxError::UnknownCode { code: "o,k".into() },
            ),
            (
                b"?cmd,a\\q",
                "cmd",
                SyntaxError::UnknownEscape { found: 'q' },
            ),
            (b"?cmd,a\\", "cmd", SyntaxError::TrailingBackslash),
            (b"?cmd,a\nb", "cmd", SyntaxError::EmbeddedLineFeed),
            (b"?cmd\nb", "cmd", SyntaxError::EmbeddedLineFeed),
        ];
        for (line, name, error) in cases {
            let got = err(line);
            assert_eq!(&got.error, error, "{:?}", String::from_utf8_lossy(line));
            assert_eq!(got.name, *name, "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn reasons_read_well() {
        assert_eq!(
            err(b"?cmd,a\\q").to_string(),
            "syntax error: unknown escape '\\q': a backslash escapes only a backslash or a comma or 't' (tab)"
        );
        assert!(err(b"status").to_string().contains("starts with '?'"));
    }

    #[test]
    fn text_beyond_latin1_is_refused_before_parsing() {
        assert!(matches!(
            parse_text("?cmd,\u{20ac}"),
            Err(TextError::NotLatin1(_))
        ));
        assert_eq!(parse_text("?cmd,\u{e9}").unwrap().arguments, ["\u{e9}"]);
    }

    #[test]
    fn typed_requests_may_leave_out_the_question_mark() {
        assert_eq!(request_from_text("status").unwrap(), ok("?status"));
        assert_eq!(request_from_text("?status").unwrap(), ok("?status"));
        assert!(!request_from_text("!status,ok").unwrap().is_request());
        assert!(request_from_text("").is_err());
    }
}
