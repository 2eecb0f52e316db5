//! What can go wrong on the link, and the one syntax that says it: on the
//! command line (`--fault 'delay 2s on get-tpi'`), in the control
//! interface, and behind every fault step of the features.
//!
//! ```text
//! fault     = action *( " " modifier )
//! action    = "delay" DURATION [ "jitter" DURATION ]
//!           | "slice" [ COUNT "byte(s)" ] [ "every" DURATION ]
//!           | "merge" [ COUNT ] [ "within" DURATION ]
//!           | "drop" ( "after" COUNT "request(s)" | "mid-reply" | "mid-request" )
//!           | "reset" | "hang"
//!           | "garbage" [ COUNT "byte(s)" ]
//!           | "long-reply" [ COUNT "byte(s)" ]
//!           | "fail" [ QUOTED-REASON ]
//!           | "down" [ "for" DURATION ]
//! modifier  = "on" ( NAME [ "requests" | "replies" ] | "requests" | "replies" )
//!           | "with probability" ( NUMBER | PERCENT )
//! ```
//!
//! A fault acts on the lines of one direction: `replies` (from the backend
//! to the client, the greeting included: it is the reply named `version`)
//! unless it says `requests` (from the client to the backend); `on NAME`
//! narrows it to the lines of one command. `with probability 0.3` (or
//! `30%`) lets it act on about that share of the lines it matches.
//!
//! Every mistake is named with where it is (`at character 7`) and what was
//! expected there, because a fault is typed by a person in a hurry.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_while1};
use nom::character::complete::{char, digit1, multispace0, multispace1};
use nom::combinator::{all_consuming, map, opt, recognize, value};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

/// The longest a delay, a slice gap, a merge's wait or a down time may be.
const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);
/// The most bytes a piece of a slice, a burst of garbage or a long reply
/// may have: a fault is for testing, not for filling memory.
const MAX_BYTES: usize = 1024 * 1024;
/// DISCOS reads replies into 512-byte buffers: a long reply is longer.
pub const DISCOS_BUFFER: usize = 512;
/// How long a reply `long-reply` makes unless told: past DISCOS's buffer.
pub const DEFAULT_LONG_REPLY: usize = 600;
/// How many bytes of garbage unless told.
pub const DEFAULT_GARBAGE: usize = 64;
/// How long a merge waits for its lines unless told.
pub const DEFAULT_MERGE_WITHIN: Duration = Duration::from_millis(100);
/// The reason of an injected `fail` unless told.
pub const DEFAULT_FAIL_REASON: &str = "failure injected by the proxy";

/// Which way a line travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the client to the backend.
    Requests,
    /// From the backend to the client, the greeting included.
    Replies,
}

impl Direction {
    /// The word the syntax uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Requests => "requests",
            Direction::Replies => "replies",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a fault does to a line it matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Holds the line for `by`, give or take up to `jitter`; lines behind
    /// it wait too, as they would in TCP.
    Delay {
        /// The delay.
        by: Duration,
        /// The most it varies, either way, line by line.
        jitter: Duration,
    },
    /// Writes the line in pieces of `bytes`, `every` apart.
    Slice {
        /// The size of each piece.
        bytes: usize,
        /// The pause between two pieces.
        every: Duration,
    },
    /// Holds lines until `lines` are waiting (or `within` has passed since
    /// the first) and writes them in one piece.
    Merge {
        /// How many lines go in one piece.
        lines: usize,
        /// The longest the first of them waits for the others.
        within: Duration,
    },
    /// Closes the connection once the reply to the `requests`-th request
    /// (of the command, if the fault names one) has reached the client.
    DropAfter {
        /// How many requests pass first.
        requests: u64,
    },
    /// Writes the first half of the line, then closes the connection.
    DropMidway,
    /// Resets the client's connection (TCP RST) instead of passing the line.
    Reset,
    /// Passes neither the line nor any later one of its direction; the
    /// connection stays open.
    Hang,
    /// Writes `bytes` random bytes instead of the line (a line feed only at
    /// their end), then closes the connection.
    Garbage {
        /// How many.
        bytes: usize,
    },
    /// Pads the reply with an argument of `x`s to `bytes` bytes, CR LF
    /// included.
    LongReply {
        /// Its length on the wire.
        bytes: usize,
    },
    /// Answers `!NAME,fail,REASON` in the backend's place (on requests: the
    /// backend never sees the request; on replies: the backend's reply is
    /// replaced).
    Fail {
        /// The reason the reply carries.
        reason: String,
    },
    /// The proxy stops listening and closes every connection, for `span`
    /// (or until the fault is removed), then listens again on its port.
    Down {
        /// How long; `None` until the fault is removed.
        span: Option<Duration>,
    },
}

impl Action {
    /// The action's word in the syntax.
    pub fn word(&self) -> &'static str {
        match self {
            Action::Delay { .. } => "delay",
            Action::Slice { .. } => "slice",
            Action::Merge { .. } => "merge",
            Action::DropAfter { .. } | Action::DropMidway => "drop",
            Action::Reset => "reset",
            Action::Hang => "hang",
            Action::Garbage { .. } => "garbage",
            Action::LongReply { .. } => "long-reply",
            Action::Fail { .. } => "fail",
            Action::Down { .. } => "down",
        }
    }
}

/// One fault: an action, where it acts, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// What it does.
    pub action: Action,
    /// The lines it acts on.
    pub direction: Direction,
    /// Only the lines of this command, if given: a request's name, or the
    /// name of the reply (the greeting is named `version`).
    pub command: Option<String>,
    /// The share of the lines it matches that it acts on, in (0, 1].
    pub probability: f64,
}

impl Fault {
    /// A fault acting on every line of its direction (replies, unless the
    /// action says otherwise), always.
    pub fn new(action: Action) -> Fault {
        let direction = match action {
            Action::DropAfter { .. } => Direction::Requests,
            _ => Direction::Replies,
        };
        Fault {
            action,
            direction,
            command: None,
            probability: 1.0,
        }
    }

    /// Whether it acts on a line of `direction` named `name` (if the line
    /// has a readable name).
    pub fn matches(&self, direction: Direction, name: Option<&str>) -> bool {
        self.direction == direction
            && self
                .command
                .as_deref()
                .is_none_or(|command| name == Some(command))
    }
}

/// The canonical text, which reads back as the same fault.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let span = |d: &Duration| humantime::format_duration(*d).to_string().replace(' ', "");
        let bytes = |n: usize| format!("{n} byte{}", if n == 1 { "" } else { "s" });
        match &self.action {
            Action::Delay { by, jitter } => {
                write!(f, "delay {}", span(by))?;
                if !jitter.is_zero() {
                    write!(f, " jitter {}", span(jitter))?;
                }
            }
            Action::Slice { bytes: n, every } => {
                write!(f, "slice {} every {}", bytes(*n), span(every))?;
            }
            Action::Merge { lines, within } => write!(f, "merge {lines} within {}", span(within))?,
            Action::DropAfter { requests } => write!(
                f,
                "drop after {requests} request{}",
                if *requests == 1 { "" } else { "s" }
            )?,
            Action::DropMidway => match self.direction {
                Direction::Replies => f.write_str("drop mid-reply")?,
                Direction::Requests => f.write_str("drop mid-request")?,
            },
            Action::Reset => f.write_str("reset")?,
            Action::Hang => f.write_str("hang")?,
            Action::Garbage { bytes: n } => write!(f, "garbage {}", bytes(*n))?,
            Action::LongReply { bytes: n } => write!(f, "long-reply {}", bytes(*n))?,
            Action::Fail { reason } => write!(f, "fail \"{}\"", reason.replace('"', "\\\""))?,
            Action::Down { span: None } => f.write_str("down")?,
            Action::Down { span: Some(d) } => write!(f, "down for {}", span(d))?,
        }
        // Directions that go without saying are not said.
        let said_by_action = matches!(self.action, Action::DropAfter { .. } | Action::DropMidway);
        let direction =
            (!said_by_action && self.direction == Direction::Requests).then_some(self.direction);
        match (&self.command, direction) {
            (Some(command), Some(direction)) => write!(f, " on {command} {direction}")?,
            (Some(command), None) => write!(f, " on {command}")?,
            (None, Some(direction)) => write!(f, " on {direction}")?,
            (None, None) => {}
        }
        if self.probability < 1.0 {
            write!(f, " with probability {}", self.probability)?;
        }
        Ok(())
    }
}

/// Why a text is not a fault: what, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the fault '{text}': at character {at}: {reason}")]
pub struct FaultError {
    /// The text as given.
    pub text: String,
    /// Where the mistake is, counting characters from 1.
    pub at: usize,
    /// What was wrong there.
    pub reason: String,
}

impl FromStr for Fault {
    type Err = FaultError;

    fn from_str(text: &str) -> Result<Fault, FaultError> {
        let error_at = |rest: &str, reason: String| FaultError {
            text: text.to_owned(),
            at: text[..text.len() - rest.len()].chars().count() + 1,
            reason,
        };
        let parsed = all_consuming(delimited(multispace0, fault, multispace0)).parse(text);
        let (action, modifiers) = match parsed {
            Ok((_, parsed)) => parsed,
            Err(nom::Err::Error(error) | nom::Err::Failure(error)) => {
                let found = match error.at.split_whitespace().next() {
                    Some(word) => format!("'{word}'"),
                    None => "the end".to_owned(),
                };
                let reason = if error.complete {
                    error.expected.into_owned()
                } else {
                    format!("expected {}, found {found}", error.expected)
                };
                return Err(error_at(error.at, reason));
            }
            // Complete parsers never ask for more.
            Err(nom::Err::Incomplete(_)) => return Err(error_at("", "incomplete".into())),
        };
        build(action, modifiers).map_err(|(rest, reason)| error_at(rest, reason))
    }
}

/// A modifier as read, with where it stood for errors about it.
#[derive(Debug, Clone)]
enum Modifier<'a> {
    On {
        at: &'a str,
        command: Option<String>,
        direction: Option<(Direction, &'a str)>,
    },
    Probability {
        at: &'a str,
        value: f64,
    },
    /// The direction an action's own word fixes (`drop mid-reply`).
    Implied(Direction),
}

/// The fault from its parts, once they are known to fit together; an error
/// names the part that does not.
fn build<'a>(action: Action, modifiers: Vec<Modifier<'a>>) -> Result<Fault, (&'a str, String)> {
    let mut fault = Fault::new(action);
    let mut seen_on = false;
    let mut seen_probability = false;
    for modifier in modifiers {
        match modifier {
            Modifier::Implied(direction) => fault.direction = direction,
            Modifier::On {
                at,
                command,
                direction,
            } => {
                if std::mem::replace(&mut seen_on, true) {
                    return Err((at, "'on' is said once: on NAME [requests|replies]".into()));
                }
                if let Some(command) = command {
                    if matches!(fault.action, Action::Merge { .. }) {
                        return Err((
                            at,
                            "merge takes no command: it joins whatever lines come".into(),
                        ));
                    }
                    fault.command = Some(command);
                }
                if let Some((direction, at)) = direction {
                    let fixed = match fault.action {
                        Action::DropAfter { .. } => Some(
                            "drop after N requests counts requests and closes after the last one's reply; it takes no direction",
                        ),
                        Action::DropMidway => {
                            Some("drop mid-reply or mid-request already says which lines")
                        }
                        Action::LongReply { .. } if direction == Direction::Requests => {
                            Some("long-reply acts on replies only")
                        }
                        _ => None,
                    };
                    if let Some(reason) = fixed {
                        return Err((at, format!("'{direction}' cannot be said here: {reason}")));
                    }
                    fault.direction = direction;
                }
            }
            Modifier::Probability { at, value } => {
                if std::mem::replace(&mut seen_probability, true) {
                    return Err((at, "the probability is said once".into()));
                }
                if !(value > 0.0 && value <= 1.0) {
                    return Err((
                        at,
                        format!(
                            "a probability is more than 0 and at most 1 (or 100%), not {value}"
                        ),
                    ));
                }
                fault.probability = value;
            }
        }
    }
    Ok(fault)
}

/// nom's error: where, what was expected, and whether that is the whole
/// message (a value that was read but is wrong) or an expectation.
#[derive(Debug, Clone)]
struct Expected<'a> {
    at: &'a str,
    expected: Cow<'static, str>,
    complete: bool,
}

impl<'a> nom::error::ParseError<&'a str> for Expected<'a> {
    fn from_error_kind(at: &'a str, _: nom::error::ErrorKind) -> Self {
        Expected {
            at,
            expected: "something else".into(),
            complete: false,
        }
    }

    fn append(_: &'a str, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        // The alternative that read further knows better.
        if other.at.len() < self.at.len() {
            other
        } else {
            self
        }
    }
}

type Res<'a, O> = IResult<&'a str, O, Expected<'a>>;

/// Turns a plain failure into one that says what was expected.
fn expect<'a, O>(
    expected: &'static str,
    mut parser: impl Parser<&'a str, Output = O, Error = Expected<'a>>,
) -> impl Parser<&'a str, Output = O, Error = Expected<'a>> {
    move |input: &'a str| match parser.parse(input) {
        Err(nom::Err::Error(error)) if error.expected == "something else" => {
            Err(nom::Err::Error(Expected {
                at: input,
                expected: expected.into(),
                complete: false,
            }))
        }
        other => other,
    }
}

/// Fails for good (no other branch is tried) with a complete reason.
fn wrong<O>(at: &str, reason: String) -> Res<'_, O> {
    Err(nom::Err::Failure(Expected {
        at,
        expected: reason.into(),
        complete: true,
    }))
}

/// Fails for good with what was expected.
fn missing<'a, O>(at: &'a str, expected: &'static str) -> Res<'a, O> {
    Err(nom::Err::Failure(Expected {
        at,
        expected: expected.into(),
        complete: false,
    }))
}

/// ` VALUE` that must come here: a value that is missing is named as
/// `expected`, one that is there but wrong keeps its own reason.
fn required<'a, O>(
    input: &'a str,
    expected: &'static str,
    mut parser: impl Parser<&'a str, Output = O, Error = Expected<'a>>,
) -> Res<'a, O> {
    let after = input.trim_start();
    if after.len() == input.len() && !input.is_empty() {
        return missing(input, expected);
    }
    match parser.parse(after) {
        Err(nom::Err::Error(_)) => missing(after, expected),
        other => other,
    }
}

/// A word of the syntax, ending where the word ends.
fn keyword<'a>(word: &'static str) -> impl Parser<&'a str, Output = &'a str, Error = Expected<'a>> {
    move |input: &'a str| {
        let (rest, matched) = tag(word).parse(input)?;
        if rest.starts_with(|c: char| !c.is_whitespace()) {
            return Err(nom::Err::Error(Expected {
                at: input,
                expected: "something else".into(),
                complete: false,
            }));
        }
        Ok((rest, matched))
    }
}

/// One run of characters up to the next space.
fn word(input: &str) -> Res<'_, &str> {
    take_till(char::is_whitespace).parse(input)
}

/// A duration written as one word (`2s`, `500ms`, `1m30s`).
fn duration(input: &str) -> Res<'_, Duration> {
    let (rest, text) = word(input)?;
    if text.is_empty() {
        return Err(nom::Err::Error(Expected {
            at: input,
            expected: "a duration such as 2s or 500ms".into(),
            complete: false,
        }));
    }
    match crate::duration::parse_within(text, Duration::ZERO, MAX_DURATION) {
        Ok(duration) => Ok((rest, duration)),
        Err(reason) => wrong(input, reason),
    }
}

/// A whole number of at least `min`.
fn count(min: u64, max: u64) -> impl Fn(&str) -> Res<'_, u64> {
    move |input: &str| {
        let (rest, digits) = digit1(input)?;
        match digits.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok((rest, n)),
            _ => wrong(
                input,
                format!("'{digits}' is out of range: from {min} to {max}"),
            ),
        }
    }
}

/// `N byte` or `N bytes`, within bounds.
fn bytes(min: usize) -> impl Fn(&str) -> Res<'_, usize> {
    move |input: &str| {
        let (rest, n) = count(min as u64, MAX_BYTES as u64)(input)?;
        let (rest, _) = required(
            rest,
            "'bytes' after the number",
            alt((keyword("bytes"), keyword("byte"))),
        )?;
        Ok((rest, n as usize))
    }
}

/// ` KEYWORD VALUE`, optional; once the keyword is read the value must come.
fn option<'a, O>(
    word: &'static str,
    value: impl Fn(&'a str) -> Res<'a, O>,
) -> impl Parser<&'a str, Output = Option<O>, Error = Expected<'a>> {
    move |input: &'a str| {
        let Ok((after, _)) = preceded(multispace1, keyword(word)).parse(input) else {
            return Ok((input, None));
        };
        let Ok((after, _)) = multispace1::<&str, Expected<'_>>(after) else {
            return missing(after, "a value after it");
        };
        match value(after) {
            Ok((rest, value)) => Ok((rest, Some(value))),
            // Once its word is said, the value must follow.
            Err(nom::Err::Error(error)) => Err(nom::Err::Failure(error)),
            Err(other) => Err(other),
        }
    }
}

/// ` N bytes`, optional: absent unless a number follows.
fn optional_bytes(min: usize) -> impl Fn(&str) -> Res<'_, Option<usize>> {
    move |input: &str| {
        if preceded(multispace1, digit1::<&str, Expected<'_>>)
            .parse(input)
            .is_err()
        {
            return Ok((input, None));
        }
        let (rest, n) = preceded(multispace1, bytes(min)).parse(input)?;
        Ok((rest, Some(n)))
    }
}

fn delay(input: &str) -> Res<'_, Action> {
    let (input, _) = keyword("delay").parse(input)?;
    let (input, by) = required(input, "a duration after delay, such as 2s", duration)?;
    let (input, jitter) = option("jitter", duration).parse(input)?;
    Ok((
        input,
        Action::Delay {
            by,
            jitter: jitter.unwrap_or_default(),
        },
    ))
}

fn slice(input: &str) -> Res<'_, Action> {
    let (input, _) = keyword("slice").parse(input)?;
    let (input, n) = optional_bytes(1)(input)?;
    let (input, every) = option("every", duration).parse(input)?;
    Ok((
        input,
        Action::Slice {
            bytes: n.unwrap_or(1),
            every: every.unwrap_or(Duration::from_millis(1)),
        },
    ))
}

fn merge(input: &str) -> Res<'_, Action> {
    let (input, _) = keyword("merge").parse(input)?;
    let (input, lines) = opt(preceded(multispace1, count(2, 1000))).parse(input)?;
    let (input, within) = option("within", duration).parse(input)?;
    Ok((
        input,
        Action::Merge {
            lines: lines.unwrap_or(2) as usize,
            within: within.unwrap_or(DEFAULT_MERGE_WITHIN),
        },
    ))
}

fn drop_(input: &str) -> Res<'_, (Action, Option<Direction>)> {
    let (input, _) = keyword("drop").parse(input)?;
    let Ok((after, _)) = multispace1::<&str, Expected<'_>>(input) else {
        return missing(input, "after N requests, mid-reply or mid-request");
    };
    let after_n = preceded(
        (keyword("after"), multispace1),
        (
            count(1, u64::MAX),
            preceded(
                multispace1,
                expect("'requests'", alt((keyword("requests"), keyword("request")))),
            ),
        ),
    );
    let form = alt((
        map(after_n, |(n, _)| (Action::DropAfter { requests: n }, None)),
        value(
            (Action::DropMidway, Some(Direction::Replies)),
            keyword("mid-reply"),
        ),
        value(
            (Action::DropMidway, Some(Direction::Requests)),
            keyword("mid-request"),
        ),
    ));
    match expect("after N requests, mid-reply or mid-request", form).parse(after) {
        Err(nom::Err::Error(error)) => Err(nom::Err::Failure(error)),
        other => other,
    }
}

fn quoted(input: &str) -> Res<'_, String> {
    let (mut rest, _) = char('"').parse(input)?;
    let mut text = String::new();
    loop {
        let mut chars = rest.chars();
        match chars.next() {
            None => return missing(input, "a closing '\"' after the reason"),
            Some('"') => return Ok((chars.as_str(), text)),
            Some('\\') if chars.as_str().starts_with('"') => {
                text.push('"');
                chars.next();
            }
            Some(c) => text.push(c),
        }
        rest = chars.as_str();
    }
}

fn fail(input: &str) -> Res<'_, Action> {
    let (input, _) = keyword("fail").parse(input)?;
    let (input, reason) = opt(preceded(multispace1, quoted)).parse(input)?;
    if reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return wrong(input, "a reason, when given, says something".into());
    }
    if reason.as_deref().is_some_and(|r| r.contains(['\r', '\n'])) {
        return wrong(input, "a reason holds no line break".into());
    }
    Ok((
        input,
        Action::Fail {
            reason: reason.unwrap_or_else(|| DEFAULT_FAIL_REASON.to_owned()),
        },
    ))
}

fn down(input: &str) -> Res<'_, Action> {
    let (input, _) = keyword("down").parse(input)?;
    let (input, span) = option("for", duration).parse(input)?;
    if span.is_some_and(|d| d.is_zero()) {
        return wrong(input, "down for no time at all is no fault".into());
    }
    Ok((input, Action::Down { span }))
}

fn sized(word: &'static str, default: usize, min: usize) -> impl Fn(&str) -> Res<'_, Action> {
    move |input: &str| {
        let (input, _) = keyword(word).parse(input)?;
        let (input, n) = optional_bytes(min)(input)?;
        let n = n.unwrap_or(default);
        Ok((
            input,
            if word == "garbage" {
                Action::Garbage { bytes: n }
            } else {
                Action::LongReply { bytes: n }
            },
        ))
    }
}

const ACTIONS: &str =
    "a fault: delay, slice, merge, drop, reset, hang, garbage, long-reply, fail or down";

fn action(input: &str) -> Res<'_, (Action, Option<Direction>)> {
    let plain = |parser: fn(&str) -> Res<'_, Action>| map(parser, |action| (action, None));
    expect(
        ACTIONS,
        alt((
            plain(delay),
            plain(slice),
            plain(merge),
            drop_,
            map(keyword("reset"), |_| (Action::Reset, None)),
            map(keyword("hang"), |_| (Action::Hang, None)),
            map(sized("garbage", DEFAULT_GARBAGE, 1), |a| (a, None)),
            map(
                sized("long-reply", DEFAULT_LONG_REPLY, DISCOS_BUFFER + 1),
                |a| (a, None),
            ),
            plain(fail),
            plain(down),
        )),
    )
    .parse(input)
}

/// A command name as the protocol spells it.
fn name(input: &str) -> Res<'_, &str> {
    recognize((
        take_while1(|c: char| c.is_ascii_alphabetic()),
        nom::bytes::complete::take_while(|c: char| c.is_ascii_alphanumeric() || c == '-'),
    ))
    .parse(input)
}

fn direction(input: &str) -> Res<'_, (Direction, &str)> {
    alt((
        map(keyword("requests"), |at| (Direction::Requests, at)),
        map(keyword("replies"), |at| (Direction::Replies, at)),
    ))
    .parse(input)
}

fn on(input: &str) -> Res<'_, Modifier<'_>> {
    let at = input;
    let (input, _) = keyword("on").parse(input)?;
    let Ok((input, _)) = multispace1::<&str, Expected<'_>>(input) else {
        return missing(input, "a command name, requests or replies after 'on'");
    };
    if let Ok((rest, direction)) = direction(input) {
        return Ok((
            rest,
            Modifier::On {
                at,
                command: None,
                direction: Some(direction),
            },
        ));
    }
    let (rest, command) = match name(input) {
        Ok((rest, command)) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
            (rest, command)
        }
        _ => {
            return missing(
                input,
                "a command name (such as get-tpi), requests or replies",
            );
        }
    };
    let (rest, direction) = opt(preceded(multispace1, direction)).parse(rest)?;
    Ok((
        rest,
        Modifier::On {
            at,
            command: Some(command.to_owned()),
            direction,
        },
    ))
}

fn probability(input: &str) -> Res<'_, Modifier<'_>> {
    let at = input;
    let (input, _) = (keyword("with"), multispace1).parse(input)?;
    let (input, _) = match keyword("probability").parse(input) {
        Err(nom::Err::Error(_)) => return missing(input, "'probability' after 'with'"),
        other => other?,
    };
    let Ok((input, _)) = multispace1::<&str, Expected<'_>>(input) else {
        return missing(input, "a probability such as 0.5 or 50%");
    };
    let (rest, text) = word(input)?;
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.parse::<f64>().map(|p| p / 100.0),
        None => text.parse::<f64>(),
    };
    match value {
        Ok(value) if value.is_finite() => Ok((rest, Modifier::Probability { at, value })),
        _ => wrong(
            input,
            format!("'{text}' is not a probability; write e.g. 0.5 or 50%"),
        ),
    }
}

fn modifier(input: &str) -> Res<'_, Modifier<'_>> {
    expect(
        "'on NAME [requests|replies]', 'with probability P' or the end",
        alt((on, probability)),
    )
    .parse(input)
}

fn fault(input: &str) -> Res<'_, (Action, Vec<Modifier<'_>>)> {
    let (mut input, (action, implied)) = action(input)?;
    let mut modifiers = Vec::new();
    if let Some(direction) = implied {
        // The word (mid-reply, mid-request) fixes the direction.
        modifiers.push(Modifier::Implied(direction));
    }
    while let Ok((after, _)) = multispace1::<&str, Expected<'_>>(input) {
        if after.is_empty() {
            input = after;
            break;
        }
        let (rest, modifier) = modifier(after)?;
        modifiers.push(modifier);
        input = rest;
    }
    Ok((input, (action, modifiers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Fault {
        text.parse()
            .unwrap_or_else(|error: FaultError| panic!("{error}"))
    }

    fn refused(text: &str) -> FaultError {
        match text.parse::<Fault>() {
            Ok(fault) => panic!("'{text}' was read as {fault:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn every_action_reads_and_reads_back_the_same() {
        let cases = [
            ("delay 2s on get-tpi", "delay 2s on get-tpi"),
            (
                "delay 100ms jitter 50ms on requests",
                "delay 100ms jitter 50ms on requests",
            ),
            ("slice", "slice 1 byte every 1ms"),
            (
                "slice 8 bytes every 5ms on get-tpi replies",
                "slice 8 bytes every 5ms on get-tpi",
            ),
            ("merge 3", "merge 3 within 100ms"),
            ("merge on requests", "merge 2 within 100ms on requests"),
            ("drop after 3 requests", "drop after 3 requests"),
            (
                "drop after 1 request on get-tpi",
                "drop after 1 request on get-tpi",
            ),
            ("drop mid-reply on get-tpi", "drop mid-reply on get-tpi"),
            ("drop mid-request", "drop mid-request"),
            ("reset on start requests", "reset on start requests"),
            ("hang on get-tpi", "hang on get-tpi"),
            ("garbage on status", "garbage 64 bytes on status"),
            ("garbage 1 byte", "garbage 1 byte"),
            ("long-reply on get-tpi", "long-reply 600 bytes on get-tpi"),
            (
                "fail \"board 3 is \\\"hot\\\"\" on set-configuration requests",
                "fail \"board 3 is \\\"hot\\\"\" on set-configuration requests",
            ),
            (
                "fail on start",
                "fail \"failure injected by the proxy\" on start",
            ),
            ("down", "down"),
            ("down for 5s on get-tpi", "down for 5s on get-tpi"),
            (
                "  reset   with probability 30%  ",
                "reset with probability 0.3",
            ),
            (
                "delay 1s with probability 0.25 on time",
                "delay 1s on time with probability 0.25",
            ),
        ];
        for (text, canonical) in cases {
            let fault = read(text);
            assert_eq!(fault.to_string(), canonical, "{text}");
            assert_eq!(read(canonical), fault, "{canonical} reads back");
        }
    }

    #[test]
    fn a_fault_knows_its_lines() {
        let fault = read("delay 2s on get-tpi");
        assert_eq!(fault.direction, Direction::Replies);
        assert!(fault.matches(Direction::Replies, Some("get-tpi")));
        assert!(!fault.matches(Direction::Requests, Some("get-tpi")));
        assert!(!fault.matches(Direction::Replies, Some("status")));
        assert!(!fault.matches(Direction::Replies, None));
        let every = read("reset on requests");
        assert!(every.matches(Direction::Requests, None));
        assert_eq!(read("drop mid-request").direction, Direction::Requests);
        assert_eq!(read("drop after 2 requests").direction, Direction::Requests);
    }

    #[test]
    fn mistakes_are_named_with_where_they_are() {
        let cases = [
            ("", 1, "expected a fault: delay, slice"),
            (
                "dealy 2s",
                1,
                "expected a fault: delay, slice, merge, drop, reset, hang, garbage, long-reply, fail or down, found 'dealy'",
            ),
            ("delay", 6, "expected a duration after delay"),
            (
                "delay 2 on get-tpi",
                7,
                "'2' has no unit; write e.g. 2s or 2ms",
            ),
            (
                "delay 2s on",
                12,
                "a command name, requests or replies after 'on'",
            ),
            (
                "delay 2s on get_tpi",
                13,
                "a command name (such as get-tpi), requests or replies, found 'get_tpi'",
            ),
            (
                "delay 2s soon",
                10,
                "expected 'on NAME [requests|replies]', 'with probability P' or the end, found 'soon'",
            ),
            ("slice 8", 8, "'bytes' after the number"),
            ("drop after 0 requests", 12, "'0' is out of range: from 1"),
            (
                "drop 3",
                6,
                "expected after N requests, mid-reply or mid-request, found '3'",
            ),
            (
                "drop mid-reply on get-tpi requests",
                27,
                "'requests' cannot be said here: drop mid-reply or mid-request already says which lines",
            ),
            (
                "long-reply 100 bytes",
                12,
                "'100' is out of range: from 513",
            ),
            (
                "long-reply on requests",
                15,
                "long-reply acts on replies only",
            ),
            ("merge 3 on get-tpi", 9, "merge takes no command"),
            (
                "reset with probability 2",
                7,
                "a probability is more than 0 and at most 1",
            ),
            (
                "reset with probability often",
                24,
                "'often' is not a probability",
            ),
            ("fail \"no end", 6, "a closing '\"' after the reason"),
            ("reset on a on b", 12, "'on' is said once"),
            ("down for 0s", 12, "down for no time at all is no fault"),
        ];
        for (text, at, reason) in cases {
            let error = refused(text);
            assert_eq!(error.at, at, "{text}: {error}");
            assert!(error.reason.contains(reason), "{text}: {error}");
            assert!(
                error.to_string().starts_with(&format!(
                    "cannot read the fault '{text}': at character {at}: "
                )),
                "{error}"
            );
        }
    }
}
