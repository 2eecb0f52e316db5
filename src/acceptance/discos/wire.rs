//! DISCOS's side of the wire: the lines its C++ library writes, and how it
//! reads the lines that come back.
//!
//! Everything here reproduces what the library `DiscosBackendProtocol` and
//! the command lines of Sardara and Skarab do, not what the protocol text
//! says they should: DISCOS is the client that runs at the telescopes, so a
//! backend is right when DISCOS reads it right. The differences from the
//! project's own codec ([`crate::protocol`]) are the point:
//! - a request is written with no escaping, its numbers as a default C++
//!   stream writes them ([`number`]);
//! - a reply is read byte by byte up to its line feed into a 512-byte
//!   buffer, its **last character dropped** (meant to be the CR), then split
//!   on every comma with no unescaping ([`parse`]);
//! - typed fields are read as `stream >> T` reads them, leniently: a field
//!   that is not a number is 0, never an error ([`read_double`],
//!   [`read_long_long`], [`first_word`], [`atof`]).

use std::fmt;

use crate::protocol::latin1;

/// The size of DISCOS's receive buffer: the bytes of a reply before its
/// line feed, and the NUL DISCOS writes after them, must fit in it.
/// Nothing checks: a reply of 512 bytes or more, its CR LF included,
/// overruns it.
pub const BUFFER: usize = 512;

/// A floating-point value as a default C++ `std::stringstream` writes it,
/// which is how every `double` of a DISCOS request is written: six
/// significant digits, `%g`-like — no decimal point for integral values
/// (`1500`), trailing zeros dropped (`187.5`), rounded beyond six digits
/// (`22235.08` → `22235.1`), scientific notation when the exponent is below
/// −4 or at least 6 (`1e+06`, `1.23457e+06`, `2.5e-05`).
pub fn number(value: f64) -> String {
    if value.is_nan() {
        return if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        }
        .to_owned();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // The exponent %g decides by is the one of the value rounded to six
    // significant digits, which `{:.5e}` gives (999999.5 is 1e+06).
    let scientific = format!("{value:.5e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..6).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}e{sign}{:02}",
            without_trailing_zeros(mantissa),
            exponent.abs()
        )
    } else {
        let decimals = usize::try_from(5 - exponent).unwrap_or(0);
        without_trailing_zeros(&format!("{value:.decimals$}")).to_owned()
    }
}

fn without_trailing_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// A request as DISCOS builds it: a name and its arguments, already
/// written as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The command name, e.g. `get-tpi`.
    pub name: &'static str,
    /// The arguments, as written on the wire.
    pub arguments: Vec<String>,
}

impl Request {
    fn new(name: &'static str, arguments: Vec<String>) -> Request {
        Request { name, arguments }
    }

    /// The line without its CR LF: `?get-tpi,0,0`.
    pub fn text(&self) -> String {
        let mut text = format!("?{}", self.name);
        for argument in &self.arguments {
            text.push(',');
            text.push_str(argument);
        }
        text
    }

    /// The bytes on the wire: the text, unescaped, and CR LF. A C++ string
    /// holds bytes, and DISCOS writes them as they are.
    pub fn line(&self) -> Vec<u8> {
        let mut line = self.text().into_bytes();
        line.extend_from_slice(b"\r\n");
        line
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// The requests DISCOS sends, built as its library's `Command` builds them.
pub mod request {
    use super::{Request, number};

    /// `?status`
    pub fn status() -> Request {
        Request::new("status", Vec::new())
    }

    /// `?version`
    pub fn version() -> Request {
        Request::new("version", Vec::new())
    }

    /// `?get-configuration`
    pub fn get_configuration() -> Request {
        Request::new("get-configuration", Vec::new())
    }

    /// `?time`
    pub fn time() -> Request {
        Request::new("time", Vec::new())
    }

    /// `?get-rms`
    pub fn get_rms() -> Request {
        Request::new("get-rms", Vec::new())
    }

    /// `?end-schedule` (Skarab only)
    pub fn end_schedule() -> Request {
        Request::new("end-schedule", Vec::new())
    }

    /// `?backend-park` (Skarab only)
    pub fn backend_park() -> Request {
        Request::new("backend-park", Vec::new())
    }

    /// `?set-configuration,<id>`, the id as written.
    pub fn set_configuration(id: &str) -> Request {
        Request::new("set-configuration", vec![id.to_owned()])
    }

    /// `?set-integration,<ms>`
    pub fn set_integration(milliseconds: i32) -> Request {
        Request::new("set-integration", vec![milliseconds.to_string()])
    }

    /// `?get-tpi,<f>,<bw>`: always both, `0,0` by default, since 2023.
    pub fn get_tpi(frequency: f64, bandwidth: f64) -> Request {
        Request::new("get-tpi", vec![number(frequency), number(bandwidth)])
    }

    /// `?start`, or `?start,<ticks>` for a time after 0 (DISCOS never
    /// sends one).
    pub fn start(ticks: u64) -> Request {
        Request::new("start", timestamp(ticks))
    }

    /// `?stop`, or `?stop,<ticks>` for a time after 0 (DISCOS never
    /// sends one).
    pub fn stop(ticks: u64) -> Request {
        Request::new("stop", timestamp(ticks))
    }

    fn timestamp(ticks: u64) -> Vec<String> {
        if ticks > 0 {
            vec![ticks.to_string()]
        } else {
            Vec::new()
        }
    }

    /// `?set-section,<s>,<f>,<bw>,<feed>,<pol>,<sr>,<bins>`: three numbers
    /// written as C++ writes a double, four integers.
    pub fn set_section(
        section: i64,
        frequency: f64,
        bandwidth: f64,
        feed: i64,
        polarization: i64,
        sample_rate: f64,
        bins: i64,
    ) -> Request {
        Request::new(
            "set-section",
            vec![
                section.to_string(),
                number(frequency),
                number(bandwidth),
                feed.to_string(),
                polarization.to_string(),
                number(sample_rate),
                bins.to_string(),
            ],
        )
    }

    /// `?cal-on`, or `?cal-on,<interleave>` for an interleave above 0.
    pub fn cal_on(interleave: i64) -> Request {
        let arguments = if interleave > 0 {
            vec![interleave.to_string()]
        } else {
            Vec::new()
        };
        Request::new("cal-on", arguments)
    }

    /// `?set-filename,<path>`, the path as it is: the components build this
    /// line by hand, and a comma in the path goes out unescaped.
    pub fn set_filename(path: &str) -> Request {
        Request::new("set-filename", vec![path.to_owned()])
    }

    /// `?set-enable,<feed>,<feed>`
    pub fn set_enable(first: i32, second: i32) -> Request {
        Request::new("set-enable", vec![first.to_string(), second.to_string()])
    }

    /// `?set-shift,<shift>` (Skarab only)
    pub fn set_shift(shift: i32) -> Request {
        Request::new("set-shift", vec![shift.to_string()])
    }
}

/// A line's first character, as DISCOS's parser tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `?`
    Request,
    /// `!`
    Reply,
}

/// A reply's code, read strictly: exactly `ok`, `fail` or `invalid`, as
/// the project's own codec reads it.
pub use crate::protocol::Code;

/// A line as DISCOS's `Message(string, true)` makes it: its fields are
/// exactly what DISCOS works with, a character short where the line did
/// not end with CR LF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Request or reply.
    pub kind: Kind,
    /// Everything between the first character and the first comma.
    pub name: String,
    /// The code, for a reply.
    pub code: Option<Code>,
    /// The rest, split on every comma, nothing unescaped.
    pub arguments: Vec<String>,
}

impl Parsed {
    /// `get_argument<string>(i)`: the first whitespace-delimited word of
    /// argument `i`, or `None` where DISCOS's library throws "cannot access
    /// command argument".
    pub fn word(&self, index: usize) -> Option<String> {
        self.arguments
            .get(index)
            .map(|argument| first_word(argument))
    }

    /// `get_argument<double>(i)`, read leniently, or `None` where DISCOS's
    /// library throws "cannot access command argument".
    pub fn double(&self, index: usize) -> Option<f64> {
        self.arguments
            .get(index)
            .map(|argument| read_double(argument))
    }

    /// `get_argument<long long>(i)`, read leniently, or `None` where
    /// DISCOS's library throws "cannot access command argument".
    pub fn long_long(&self, index: usize) -> Option<i64> {
        self.arguments
            .get(index)
            .map(|argument| read_long_long(argument))
    }
}

/// Parses the bytes DISCOS stored for a line — everything before its line
/// feed — as `Message(string, true)` does: lines shorter than 4 bytes
/// refused, the last byte dropped, the first one `!` or `?`, the name up
/// to the first comma, for a reply the code exactly `ok`, `fail` or
/// `invalid`, the rest split on every comma. The error is the library's
/// own `BackendProtocolError` message.
pub fn parse(stored: &[u8]) -> Result<Parsed, &'static str> {
    // Both lengths checks say "2 characters"; the library's words.
    if stored.len() < 4 {
        return Err("messages must be composed of at least 2 characters");
    }
    let text = latin1::decode(&stored[..stored.len() - 1]);
    let mut stream = Stream::new(&text);
    let kind = match stream.next_char() {
        Some('!') => Kind::Reply,
        Some('?') => Kind::Request,
        _ => return Err("invalid message code"),
    };
    let name = stream.getline();
    let mut code = None;
    if kind == Kind::Reply {
        if stream.eof {
            return Err("reply message must contain a code");
        }
        match Code::from_wire(stream.getline().as_bytes()) {
            Some(read) => code = Some(read),
            None => return Err("invalid reply code"),
        }
    }
    let mut arguments = Vec::new();
    while !stream.eof {
        arguments.push(stream.getline());
    }
    Ok(Parsed {
        kind,
        name,
        code,
        arguments,
    })
}

/// Just enough of a `std::stringstream` for `getline(stream, s, ',')`: its
/// end-of-file flag is set only by a read that reaches the end, so a line
/// ending in a comma has one more, empty, argument.
struct Stream<'a> {
    rest: &'a str,
    eof: bool,
}

impl<'a> Stream<'a> {
    fn new(text: &'a str) -> Stream<'a> {
        Stream {
            rest: text,
            eof: false,
        }
    }

    fn next_char(&mut self) -> Option<char> {
        let mut chars = self.rest.chars();
        let c = chars.next();
        if c.is_none() {
            self.eof = true;
        }
        self.rest = chars.as_str();
        c
    }

    fn getline(&mut self) -> String {
        match self.rest.split_once(',') {
            Some((field, rest)) => {
                self.rest = rest;
                field.to_owned()
            }
            None => {
                self.eof = true;
                std::mem::take(&mut self.rest).to_owned()
            }
        }
    }
}

/// Whether C's `isspace` (in the "C" locale) holds for `c`.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// `stream >> std::string`: leading white space skipped, then everything
/// up to the next white space; empty if there is no word.
pub fn first_word(text: &str) -> String {
    text.trim_start_matches(is_c_space)
        .split(is_c_space)
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Whether `text` is a number and nothing else, leading and trailing white
/// space aside: what DISCOS reads from it with `stream >> double` or
/// `atof` is then what it says, not a part of it or a 0 for nothing.
pub fn is_whole_number(text: &str) -> bool {
    let text = text.trim_matches(is_c_space);
    !text.is_empty() && numeric_prefix(text) == text.len() && text.parse::<f64>().is_ok()
}

/// How many bytes at the start of `text` `stream >> double` gathers: a
/// sign, digits, one point and digits, one exponent with its sign and
/// digits.
fn numeric_prefix(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end += 1;
    }
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    end += digits(end);
    if bytes.get(end) == Some(&b'.') {
        end += 1;
        end += digits(end);
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        end += 1;
        if matches!(bytes.get(end), Some(b'+' | b'-')) {
            end += 1;
        }
        end += digits(end);
    }
    end
}

/// `stream >> double` as libstdc++ does it, which is how DISCOS reads a
/// total-power value: leading white space skipped, then the longest run
/// that looks like a number (sign, digits, one point, one exponent) is
/// taken, and converted only if it is a whole number — `12abc` is 12,
/// `1.5e+03` is 1500, but `1e` and `abc` are 0. Out of range is the
/// largest double, with its sign.
pub fn read_double(text: &str) -> f64 {
    let text = text.trim_start_matches(is_c_space);
    match text[..numeric_prefix(text)].parse::<f64>() {
        Ok(value) if value.is_infinite() => f64::MAX.copysign(value),
        Ok(value) => value,
        Err(_) => 0.0,
    }
}

/// `stream >> long long`: leading white space skipped, a sign, then the
/// decimal digits up to the first other character — `1739361234.5678911`
/// is 1739361234; no digits is 0; out of range is the largest value with
/// its sign.
pub fn read_long_long(text: &str) -> i64 {
    let text = text.trim_start_matches(is_c_space);
    let bytes = text.as_bytes();
    let sign = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let digits = bytes[sign..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return 0;
    }
    let negative = bytes.first() == Some(&b'-');
    text[sign..sign + digits]
        .parse::<i64>()
        .map(|value| if negative { -value } else { value })
        .unwrap_or(if negative { i64::MIN } else { i64::MAX })
}

/// C's `atof` (`strtod` without its end pointer), which is how DISCOS reads
/// the acquiring flag of `status`: the longest prefix that is a number is
/// taken, whatever follows — `1.0` and `1x` are 1, `1e` is 1, `x` is 0 —
/// including `inf`, `nan` and hexadecimal (`0x1p0`).
pub fn atof(text: &str) -> f64 {
    let text = text.trim_start_matches(is_c_space);
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = unsigned.to_ascii_lowercase();
    let magnitude = if lower.starts_with("inf") {
        f64::INFINITY
    } else if lower.starts_with("nan") {
        f64::NAN
    } else if lower.starts_with("0x")
        && lower[2..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_hexdigit() || c == '.')
    {
        hexadecimal(&lower[2..])
    } else {
        decimal_prefix(unsigned)
    };
    if negative { -magnitude } else { magnitude }
}

/// The longest decimal number at the start of `text`, which has no sign.
fn decimal_prefix(text: &str) -> f64 {
    let bytes = text.as_bytes();
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut end = digits(0);
    let mut mantissa_digits = end;
    if bytes.get(end) == Some(&b'.') {
        let fraction = digits(end + 1);
        mantissa_digits += fraction;
        end += 1 + fraction;
    }
    if mantissa_digits == 0 {
        return 0.0;
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        let exponent = digits(end + 1 + sign);
        if exponent > 0 {
            end += 1 + sign + exponent;
        }
    }
    text[..end].parse().unwrap_or(0.0)
}

/// A hexadecimal floating-point number (after its `0x`), as `strtod`
/// reads it: hex digits, an optional point and more, an optional binary
/// exponent `p±d`.
fn hexadecimal(text: &str) -> f64 {
    let mut value = 0.0_f64;
    let mut scale = 0_i32;
    let mut chars = text.chars().peekable();
    let mut seen_point = false;
    while let Some(&c) = chars.peek() {
        if let Some(digit) = c.to_digit(16) {
            value = value * 16.0 + f64::from(digit);
            if seen_point {
                scale -= 4;
            }
        } else if c == '.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        chars.next();
    }
    let rest: String = chars.collect();
    if let Some(exponent) = rest.strip_prefix('p') {
        let digits: String = exponent
            .chars()
            .enumerate()
            .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '+' || *c == '-')))
            .map(|(_, c)| c)
            .collect();
        if let Ok(exponent) = digits.parse::<i32>() {
            scale = scale.saturating_add(exponent);
        }
    }
    value * 2f64.powi(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_are_written_as_a_default_cpp_stream_writes_them() {
        // What g++'s std::stringstream writes: the table DISCOS's requests
        // show, rounding, ties (to even, as glibc), the edges of scientific
        // notation. (Checked once against g++ 12 on 19 999 doubles, random
        // bit patterns, powers of ten and binary fractions: none differed.)
        let cases = [
            (1500.0, "1500"),
            (3000.0, "3000"),
            (0.0, "0"),
            (-1.0, "-1"),
            (187.5, "187.5"),
            (93.75, "93.75"),
            (953.125, "953.125"),
            (906.25, "906.25"),
            (22235.08, "22235.1"),
            (123.4567, "123.457"),
            (0.000025, "2.5e-05"),
            (0.00001, "1e-05"),
            (1_000_000.0, "1e+06"),
            (1_234_567.0, "1.23457e+06"),
            (999_999.0, "999999"),
            (999_999.5, "1e+06"),
            (0.0001, "0.0001"),
            (0.00012345678, "0.000123457"),
            (1_234_565.0, "1.23456e+06"),
            (1_234_575.0, "1.23458e+06"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.333333"),
            (-2300.0, "-2300"),
            (1e100, "1e+100"),
            (-1.5e-300, "-1.5e-300"),
            (4600.0, "4600"),
            (16384.0, "16384"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ];
        for (value, expected) in cases {
            assert_eq!(number(value), expected, "{value:e}");
        }
    }

    #[test]
    fn requests_are_the_lines_the_builders_make() {
        let line = |r: Request| String::from_utf8(r.line()).unwrap();
        assert_eq!(line(request::get_tpi(0.0, 0.0)), "?get-tpi,0,0\r\n");
        assert_eq!(
            line(request::get_tpi(22235.08, 300.0)),
            "?get-tpi,22235.1,300\r\n"
        );
        assert_eq!(line(request::start(0)), "?start\r\n");
        assert_eq!(
            line(request::stop(17_953_395_590_538_408)),
            "?stop,17953395590538408\r\n"
        );
        assert_eq!(
            line(request::set_section(5, 0.0, 1500.0, 2, 1, 3000.0, 1024)),
            "?set-section,5,0,1500,2,1,3000,1024\r\n"
        );
        assert_eq!(
            line(request::set_section(0, 906.25, 187.5, 0, 0, 375.0, 32768)),
            "?set-section,0,906.25,187.5,0,0,375,32768\r\n"
        );
        assert_eq!(line(request::cal_on(0)), "?cal-on\r\n");
        assert_eq!(line(request::cal_on(-1)), "?cal-on\r\n");
        assert_eq!(line(request::cal_on(10)), "?cal-on,10\r\n");
        assert_eq!(
            line(request::set_configuration("SKARAB_1S")),
            "?set-configuration,SKARAB_1S\r\n"
        );
        assert_eq!(
            line(request::set_integration(40)),
            "?set-integration,40\r\n"
        );
        assert_eq!(line(request::set_enable(7, 7)), "?set-enable,7,7\r\n");
        assert_eq!(line(request::set_shift(3)), "?set-shift,3\r\n");
        // No escaping: a comma or a backslash goes out as it is.
        assert_eq!(
            line(request::set_filename("/data/a,b\\c.fits")),
            "?set-filename,/data/a,b\\c.fits\r\n"
        );
        assert_eq!(request::status().text(), "?status");
    }

    fn parsed(line: &[u8]) -> Result<Parsed, &'static str> {
        parse(line)
    }

    #[test]
    fn a_reply_is_split_on_every_comma_after_its_last_character_is_dropped() {
        let reply = parsed(b"!get-tpi,ok,1.5,2\r").unwrap();
        assert_eq!(reply.kind, Kind::Reply);
        assert_eq!(reply.name, "get-tpi");
        assert_eq!(reply.code, Some(Code::Ok));
        assert_eq!(reply.arguments, ["1.5", "2"]);
        // No unescaping: \, is a backslash and then a separator.
        let reply = parsed(b"!get-configuration,ok,a\\,b\r").unwrap();
        assert_eq!(reply.arguments, ["a\\", "b"]);
        // A trailing comma is one more, empty, argument.
        assert_eq!(parsed(b"!stop,ok,\r").unwrap().arguments, [""]);
        assert!(parsed(b"!stop,ok\r").unwrap().arguments.is_empty());
    }

    #[test]
    fn a_line_that_ends_with_a_bare_line_feed_loses_a_real_character() {
        // What DISCOS stored for "!set-integration,ok\n": the 'k' goes.
        assert_eq!(
            parsed(b"!set-integration,ok"),
            Err("invalid reply code"),
            "the code read is 'o'"
        );
        let status = parsed(b"!status,ok,1700000000.5,ok,1").unwrap();
        assert_eq!(status.arguments, ["1700000000.5", "ok", ""]);
        assert_eq!(status.word(2).as_deref(), Some(""));
    }

    #[test]
    fn lines_discos_cannot_parse_get_the_librarys_own_error() {
        let cases: [(&[u8], &str); 8] = [
            (b"", "messages must be composed of at least 2 characters"),
            (b"\r", "messages must be composed of at least 2 characters"),
            (b"!ok\r", "reply message must contain a code"),
            (b"!status\r", "reply message must contain a code"),
            (b"!status,\r", "invalid reply code"),
            (b"!status,OK\r", "invalid reply code"),
            (b"!version,1.0.1\r", "invalid reply code"),
            (b"#status,ok\r", "invalid message code"),
        ];
        for (line, error) in cases {
            assert_eq!(parsed(line), Err(error), "{:?}", latin1::decode(line));
        }
        let request = parsed(b"?status\r").unwrap();
        assert_eq!((request.kind, request.code), (Kind::Request, None));
        let fail = parsed(b"!start,fail,already acquiring\r").unwrap();
        assert_eq!(fail.code, Some(Code::Fail));
        assert_eq!(fail.word(0).as_deref(), Some("already"));
        let bare = parsed(b"!start,invalid\r").unwrap();
        assert_eq!(bare.word(0), None, "cannot access command argument");
    }

    #[test]
    fn numbers_are_read_as_stream_extraction_reads_them() {
        // Every value here is what g++ 12's std::stringstream reads.
        let doubles = [
            ("1.5", 1.5),
            ("  42", 42.0),
            ("1.5e+03", 1500.0),
            ("12abc", 12.0),
            ("-.5", -0.5),
            ("+7", 7.0),
            ("1.2.3", 1.2),
            ("1e", 0.0),
            ("1e+", 0.0),
            ("abc", 0.0),
            ("", 0.0),
            (".", 0.0),
            ("inf", 0.0),
            ("nan", 0.0),
            ("0x10", 0.0),
            ("1e999", f64::MAX),
            ("-1e999", -f64::MAX),
            ("1.", 1.0),
            ("5e-3x", 0.005),
            ("e5", 0.0),
            (".e5", 0.0),
            ("1e5e3", 100_000.0),
            ("--1", 0.0),
            ("+-1", 0.0),
            ("0001.50", 1.5),
            ("\t3", 3.0),
            (" \r7", 7.0),
            ("1,5", 1.0),
        ];
        for (text, value) in doubles {
            assert_eq!(read_double(text), value, "{text:?}");
        }
        let integers = [
            ("1739361234.5678911", 1_739_361_234),
            ("17953395590538408", 17_953_395_590_538_408),
            (" -12x", -12),
            ("+5", 5),
            ("x", 0),
            ("", 0),
            ("-", 0),
            ("99999999999999999999", i64::MAX),
            ("-.5", 0),
            ("1e999", 1),
            ("1.5e+03", 1),
        ];
        for (text, value) in integers {
            assert_eq!(read_long_long(text), value, "{text:?}");
        }
        assert_eq!(first_word("  cannot find configuration 'x'"), "cannot");
        assert_eq!(first_word(""), "");
        assert_eq!(first_word(" \t "), "");
    }

    #[test]
    fn atof_takes_the_longest_number_at_the_start() {
        let cases = [
            ("1", 1.0),
            ("0", 0.0),
            ("1.0", 1.0),
            ("1x", 1.0),
            ("1e", 1.0),
            ("1e+", 1.0),
            ("2e1", 20.0),
            (" -3", -3.0),
            ("x", 0.0),
            ("", 0.0),
            (".5", 0.5),
            ("0x1p1", 2.0),
            ("0x.8", 0.5),
        ];
        for (text, value) in cases {
            assert_eq!(atof(text), value, "{text:?}");
        }
        assert!(atof("inf").is_infinite());
        assert!(atof("NaN").is_nan());
    }
}
