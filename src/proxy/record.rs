//! Recording: what passed through the proxy, written down as a feature in
//! the step library's words, so that a session done by hand (from the
//! console, `discos-sim send`, or any client) becomes a scenario that
//! replays it.
//!
//! A recording that keeps what changes from run to run breaks on the next
//! run, so what the contract leaves free is turned into what it fixes: a
//! `time` or `status` reply becomes "the reply holds the current time", a
//! total power reply "a number for each input", a timed start "in 2
//! seconds" instead of its tick count; a reply that is the same every run
//! (the configuration in use, the version) is checked as it came. Only a
//! line no step can say is written as it travelled (`sends the raw line`).
//!
//! The lines are the ones the backend saw and sent: a fault that replaced
//! a reply, or a request the backend never got, is not in the recording,
//! which replays against the backend alone.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::fault::Direction;
use crate::protocol::contract::is_fixed_phrase;
use crate::protocol::{Code, Message, Timestamp, latin1, parse, request_from_text};

/// The most lines a recording keeps; what passes after is counted, and the
/// feature says how much is missing.
pub const MAX_RECORDED_LINES: usize = 100_000;

#[derive(Debug, Clone)]
enum Event {
    Opened(u64),
    Line {
        link: u64,
        direction: Direction,
        at: SystemTime,
        bytes: Bytes,
    },
    Closed(u64),
}

#[derive(Debug, Default)]
struct Log {
    events: Vec<Event>,
    lines: usize,
    missed: usize,
}

/// What passed through a proxy, to be written as a feature.
#[derive(Debug, Default)]
pub struct Recorder {
    log: Mutex<Log>,
}

impl Recorder {
    /// An empty recording.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    fn push(&self, event: Event) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(event, Event::Line { .. }) {
            if log.lines >= MAX_RECORDED_LINES {
                log.missed += 1;
                return;
            }
            log.lines += 1;
        }
        log.events.push(event);
    }

    pub(super) fn opened(&self, link: u64) {
        self.push(Event::Opened(link));
    }

    pub(super) fn line(&self, link: u64, direction: Direction, bytes: Bytes) {
        self.push(Event::Line {
            link,
            direction,
            at: SystemTime::now(),
            bytes,
        });
    }

    pub(super) fn closed(&self, link: u64) {
        self.push(Event::Closed(link));
    }

    /// Lines recorded so far.
    pub fn lines(&self) -> usize {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).lines
    }

    /// The feature, its scenario named `title`.
    pub fn feature(&self, title: &str) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        write_feature(title, &log.events, log.missed)
    }

    /// Writes the feature to `path`, its scenario named after the file
    /// (`sk77-session.feature`: "sk77 session").
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let title = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .map(|stem| stem.replace(['-', '_'], " "))
            .filter(|title| !title.trim().is_empty())
            .map(|title| {
                let mut chars = title.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_uppercase().chain(chars).collect()
                })
            })
            .unwrap_or_else(|| "the recorded session".to_owned());
        std::fs::write(path, self.feature(&title))
    }
}

/// One client of the recording, as the steps call it.
#[derive(Debug)]
struct Client {
    who: String,
    greeted: bool,
    pending: VecDeque<(Bytes, SystemTime)>,
}

// To be split: proxy/ is being edited elsewhere; one pass over the recorded events.
#[allow(clippy::too_many_lines)]
fn write_feature(title: &str, events: &[Event], missed: usize) -> String {
    let speakers: Vec<u64> = {
        let mut seen = Vec::new();
        for event in events {
            if let Event::Line {
                link,
                direction: Direction::Requests,
                ..
            } = event
                && !seen.contains(link)
            {
                seen.push(*link);
            }
        }
        seen
    };
    let single = speakers.len() <= 1;
    let mut clients: HashMap<u64, Client> = HashMap::new();
    let mut named = 0;
    let mut steps = Steps::default();
    steps.given("a backend");
    for event in events {
        match event {
            Event::Opened(link) => {
                // A connection that never said a word is no part of the story.
                if !speakers.contains(link) {
                    continue;
                }
                named += 1;
                let who = if single {
                    "the client".to_owned()
                } else {
                    format!("client \"{}\"", client_name(named))
                };
                steps.when(format!("{who} connects"));
                clients.insert(
                    *link,
                    Client {
                        who,
                        greeted: false,
                        pending: VecDeque::new(),
                    },
                );
            }
            Event::Line {
                link,
                direction,
                at,
                bytes,
            } => {
                let Some(client) = clients.get_mut(link) else {
                    continue;
                };
                match direction {
                    Direction::Requests => client.pending.push_back((bytes.clone(), *at)),
                    Direction::Replies if !client.greeted => {
                        client.greeted = true;
                        let line = text_of(bytes);
                        let subject = if single {
                            "the connection".to_owned()
                        } else {
                            format!("the connection of {}", client.who)
                        };
                        match parse(bytes) {
                            Ok(greeting) if !line.contains('"') => {
                                steps.then(format!("{subject} opens with \"{greeting}\""));
                            }
                            _ => steps.comment(format!("{subject} opened with {line:?}")),
                        }
                    }
                    Direction::Replies => match client.pending.pop_front() {
                        Some((request, at)) => {
                            exchange(&mut steps, &client.who, single, &request, at, bytes);
                        }
                        None => steps.comment(format!(
                            "the backend then sent {} unasked: {:?}",
                            client.who,
                            text_of(bytes)
                        )),
                    },
                }
            }
            Event::Closed(link) => {
                if let Some(client) = clients.remove(link) {
                    for (request, _) in client.pending {
                        steps.comment(format!(
                            "{} sent {:?} and closed the connection before a reply came",
                            client.who,
                            text_of(&request)
                        ));
                    }
                }
            }
        }
    }
    for client in clients.into_values() {
        for (request, _) in client.pending {
            steps.comment(format!(
                "no reply had come to {:?} when the recording ended",
                text_of(&request)
            ));
        }
    }
    if missed > 0 {
        steps.comment(format!(
            "{missed} more line(s) passed after the first {MAX_RECORDED_LINES} and were not recorded"
        ));
    }
    let mut feature = String::new();
    feature.push_str(
        "# Recorded through `discos-sim proxy --record`. Replay it against the\n\
         # backend it was recorded from:\n\
         #   discos-sim check --features DIR --target tcp://HOST:PORT\n",
    );
    feature.push_str("@recorded\n");
    feature.push_str("Feature: A session recorded through the proxy\n");
    feature.push_str(
        "  What a client and the backend said to each other, in the words of the\n  \
         step library. What changes from run to run (times, total power values,\n  \
         the tick count of a timed start) is checked as the contract fixes it.\n\n",
    );
    let _ = writeln!(feature, "  Scenario: {}", title.trim());
    feature.push_str(&steps.text);
    feature
}

/// A client's name in a recording of several: A, B, … Z, then numbers.
fn client_name(index: usize) -> String {
    if index <= 26 {
        char::from(b'A' + (index - 1) as u8).to_string()
    } else {
        index.to_string()
    }
}

/// The steps as they are written, with `And` where a keyword repeats.
#[derive(Debug, Default)]
struct Steps {
    text: String,
    last: &'static str,
}

impl Steps {
    fn step(&mut self, keyword: &'static str, text: &str) {
        let shown = if keyword == self.last { "And" } else { keyword };
        self.last = keyword;
        let _ = writeln!(self.text, "    {shown} {text}");
    }

    fn given(&mut self, text: impl AsRef<str>) {
        self.step("Given", text.as_ref());
    }

    fn when(&mut self, text: impl AsRef<str>) {
        self.step("When", text.as_ref());
    }

    fn then(&mut self, text: impl AsRef<str>) {
        self.step("Then", text.as_ref());
    }

    fn comment(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.text, "    # {}", text.as_ref());
    }
}

/// A line as a person reads it, without its line end.
fn text_of(bytes: &[u8]) -> String {
    let line = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    latin1::decode(line)
}

/// One request and its reply, as steps.
fn exchange(
    steps: &mut Steps,
    who: &str,
    single: bool,
    request: &[u8],
    at: SystemTime,
    reply: &[u8],
) {
    let sent = request_step(who, request, at);
    steps.when(&sent.step);
    let reply_text = text_of(reply);
    let Ok(reply) = parse(reply) else {
        steps.comment(format!(
            "the backend answered with a line that is not a reply: {reply_text:?}"
        ));
        return;
    };
    let receives = |reply: &Message| {
        if single {
            format!("the backend answers \"{reply}\"")
        } else {
            format!("{who} receives \"{reply}\"")
        }
    };
    if reply.is_request() || Some(reply.name.as_str()) != sent.name.as_deref() {
        if reply_text.contains('"') {
            steps.comment(format!("the backend answered {reply_text:?}"));
        } else {
            steps.then(receives(&reply));
        }
        return;
    }
    let check = match reply.code() {
        Some(Code::Ok) => match sent.answer {
            Answer::Status => {
                "the reply holds the current time, a state and whether the backend acquires"
                    .to_owned()
            }
            Answer::Time => "the reply holds the current time".to_owned(),
            Answer::Numbers => "the reply holds a number for each input".to_owned(),
            Answer::AsItCame if !reply_text.contains('"') => receives(&reply),
            Answer::AsItCame | Answer::Code if reply.arguments.is_empty() => {
                "the backend accepts it".to_owned()
            }
            Answer::Code | Answer::AsItCame => {
                if reply_text.contains('"') {
                    "the backend accepts it".to_owned()
                } else {
                    receives(&reply)
                }
            }
        },
        Some(Code::Fail) => match reply.reason() {
            Some(reason) if is_fixed_phrase(reason) && !reason.contains('"') => {
                format!("the backend refuses it, saying \"{reason}\"")
            }
            _ => "the backend refuses it".to_owned(),
        },
        Some(Code::Invalid) => "the backend rejects the line as malformed".to_owned(),
        None => unreachable!("a reply has a code"),
    };
    steps.then(check);
}

/// How a successful reply is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The code only: the reply carries nothing else the contract fixes.
    Code,
    /// As it came: the same every run (a configuration, the version).
    AsItCame,
    /// `status`: a current time, a state, an acquiring flag.
    Status,
    /// `time`: a current time.
    Time,
    /// Total power and the like: numbers, as many as the configuration has.
    Numbers,
}

/// A request as a step, with the name its reply should carry.
#[derive(Debug)]
struct Sent {
    step: String,
    name: Option<String>,
    answer: Answer,
}

/// The step that sends `line` as the recorded client sent it: in the
/// domain's words when a step says exactly this line, as the line
/// otherwise, as raw bytes when nothing else sends them unchanged.
// To be split: proxy/ is being edited elsewhere; one arm per request the steps know.
#[allow(clippy::too_many_lines)]
fn request_step(who: &str, line: &[u8], at: SystemTime) -> Sent {
    let raw = || Sent {
        step: format!("{who} sends the raw line \"{}\"", escape_raw(line)),
        name: crate::protocol::readable_name(line.strip_prefix(b"?").unwrap_or(line)),
        answer: Answer::Code,
    };
    let Ok(request) = parse(line) else {
        return raw();
    };
    // A step rebuilds the line from the message: only a line it rebuilds
    // byte for byte may be said in words.
    if !request.is_request() || request.to_bytes() != line {
        return raw();
    }
    let text = request.to_string();
    let as_line = text.strip_prefix('?').unwrap_or(&text).to_owned();
    let name = Some(request.name.clone());
    let sent = |step: String, answer: Answer| Sent {
        step,
        name: name.clone(),
        answer,
    };
    let words = |args: &[String]| args.iter().all(|a| is_word(a));
    let args = request.arguments.as_slice();
    // The steps write their values into the line as they are: a value the
    // wire escapes goes as the line (a file name is escaped by its step).
    let escaped = args.iter().any(|a| a.contains([',', '\\', '\t']));
    if escaped && request.name != "set-filename" {
        return if as_line.contains('"') {
            raw()
        } else {
            sent(format!("{who} sends \"{as_line}\""), Answer::AsItCame)
        };
    }
    let step = match (request.name.as_str(), args) {
        ("status", []) => sent(format!("{who} asks for the status"), Answer::Status),
        ("version", []) => sent(
            format!("{who} asks for the protocol version"),
            Answer::AsItCame,
        ),
        ("time", []) => sent(format!("{who} asks for the time"), Answer::Time),
        ("get-configuration", []) => sent(
            format!("{who} asks for the configuration"),
            Answer::AsItCame,
        ),
        ("get-integration", []) => sent(
            format!("{who} asks for the integration time"),
            Answer::AsItCame,
        ),
        ("get-tpi", []) => sent(format!("{who} asks for the total power"), Answer::Numbers),
        ("get-tp0", []) => sent(format!("{who} asks for the zero level"), Answer::Numbers),
        ("get-tpi" | "get-rms", _) => sent(format!("{who} sends \"{as_line}\""), Answer::Numbers),
        ("set-configuration", [id]) if !id.contains('"') => sent(
            format!("{who} sets the configuration to \"{id}\""),
            Answer::Code,
        ),
        ("set-integration", [ms]) => match ms.parse::<i64>() {
            Ok(value) if value.to_string() == *ms => sent(
                format!(
                    "{who} sets the integration time to {ms} millisecond{}",
                    if value == 1 { "" } else { "s" }
                ),
                Answer::Code,
            ),
            _ if !ms.contains('"') => sent(
                format!("{who} sets the integration time to \"{ms}\""),
                Answer::Code,
            ),
            _ => sent(format!("{who} sends \"{as_line}\""), Answer::Code),
        },
        ("set-section", [section, fields @ ..]) if fields.len() == 6 && words(args) => {
            match section_table(fields) {
                Some(table) => sent(
                    format!("{who} sets section {section} to:\n{table}"),
                    Answer::Code,
                ),
                None => sent(format!("{who} sends \"{as_line}\""), Answer::Code),
            }
        }
        ("start" | "stop", []) => {
            let verb = if request.name == "start" {
                "starts"
            } else {
                "stops"
            };
            sent(format!("{who} {verb} the acquisition"), Answer::Code)
        }
        ("start" | "stop", [time]) => {
            let verb = if request.name == "start" {
                "starts"
            } else {
                "stops"
            };
            match when(time, at) {
                Some(when) => sent(format!("{who} {verb} the acquisition {when}"), Answer::Code),
                None if !time.contains('"') => sent(
                    format!("{who} {verb} the acquisition at \"{time}\""),
                    Answer::Code,
                ),
                None => sent(format!("{who} sends \"{as_line}\""), Answer::Code),
            }
        }
        ("cal-on", []) => sent(
            format!("{who} switches the calibration mark on"),
            Answer::Code,
        ),
        ("cal-on", [interleave]) if is_word(interleave) => sent(
            format!("{who} switches the calibration mark on with an interleave of {interleave}"),
            Answer::Code,
        ),
        ("set-filename", [path]) if !path.contains('"') => sent(
            format!("{who} sets the file name to \"{path}\""),
            Answer::Code,
        ),
        ("set-enable", [a, b]) if words(args) => {
            sent(format!("{who} enables the feeds {a} and {b}"), Answer::Code)
        }
        ("set-shift", [shift]) if is_word(shift) => {
            sent(format!("{who} sets the shift to {shift}"), Answer::Code)
        }
        ("convert-data", []) => sent(
            format!("{who} asks the backend to convert the data"),
            Answer::Code,
        ),
        ("end-schedule", []) => sent(format!("{who} ends the schedule"), Answer::Code),
        ("backend-park", []) => sent(format!("{who} parks the backend"), Answer::Code),
        _ if !as_line.contains('"') => sent(format!("{who} sends \"{as_line}\""), Answer::AsItCame),
        _ => return raw(),
    };
    // The words must send this very line; a step that would send another
    // is replaced by the line itself.
    match sends_as_recorded(&step.step, line) {
        true => step,
        false if !as_line.contains('"') => Sent {
            step: format!("{who} sends \"{as_line}\""),
            ..step
        },
        false => raw(),
    }
}

/// Whether a step in words sends exactly `line`: the steps rebuild a line
/// from their words, so a value that reads differently back (a leading
/// zero, an escape) must be sent as the line.
fn sends_as_recorded(step: &str, line: &[u8]) -> bool {
    let Some(table_at) = step.find(" to:\n") else {
        return true;
    };
    // set-section: rebuilt from its table as the step does.
    let head = &step[..table_at];
    let Some(section) = head.rsplit(' ').next() else {
        return false;
    };
    let rows: Vec<Vec<&str>> = step[table_at + 5..]
        .lines()
        .map(|row| {
            row.trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect()
        })
        .collect();
    let [fields, values] = rows.as_slice() else {
        return false;
    };
    let mut all = vec!["*"; SECTION_FIELDS.len()];
    for (field, value) in fields.iter().zip(values) {
        match SECTION_FIELDS.iter().position(|f| f == field) {
            Some(at) => all[at] = value,
            None => return false,
        }
    }
    request_from_text(&format!("set-section,{section},{}", all.join(",")))
        .is_ok_and(|rebuilt| rebuilt.to_bytes() == line)
}

/// The fields of `set-section` after the section, as the step names them.
const SECTION_FIELDS: [&str; 6] = [
    "start frequency",
    "bandwidth",
    "feed",
    "mode",
    "sample rate",
    "bins",
];

/// The table of a `set-section` step: the fields given (not `*`) as its
/// header, their values below; `None` when every field is `*`.
fn section_table(values: &[String]) -> Option<String> {
    let given: Vec<(&str, &str)> = SECTION_FIELDS
        .iter()
        .zip(values)
        .filter(|(_, value)| value.as_str() != "*")
        .map(|(field, value)| (*field, value.as_str()))
        .collect();
    if given.is_empty() || given.iter().any(|(_, value)| value.contains('|')) {
        return None;
    }
    let widths: Vec<usize> = given
        .iter()
        .map(|(field, value)| field.len().max(value.len()))
        .collect();
    let row = |cells: Vec<&str>| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!(" {cell:<width$} "))
            .collect();
        format!("      |{}|", cells.join("|"))
    };
    Some(format!(
        "{}\n{}",
        row(given.iter().map(|(field, _)| *field).collect()),
        row(given.iter().map(|(_, value)| *value).collect())
    ))
}

/// A timed start or stop as the steps say it, relative to when it was
/// sent: "in 2 seconds", "at a time 1 hour ago", "…, written in decimal
/// seconds".
fn when(time: &str, sent_at: SystemTime) -> Option<String> {
    let at: Timestamp = time.parse().ok()?;
    let sent = Timestamp::from(sent_at);
    let decimal = if time.contains('.') {
        ", written in decimal seconds"
    } else {
        ""
    };
    let (ahead, span) = match at.until(sent) {
        Some(ahead) => (true, ahead),
        None => (false, sent.until(at).unwrap_or_default()),
    };
    let span = said(span);
    Some(if ahead {
        format!("in {span}{decimal}")
    } else {
        format!("at a time {span} ago{decimal}")
    })
}

/// A span rounded as a person says it: milliseconds to the hundred under
/// a minute, whole seconds, minutes or hours beyond.
fn said(span: Duration) -> String {
    let plural = |n: u128, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let ms = span.as_millis();
    if ms < 60_000 {
        let rounded = ((ms + 50) / 100 * 100).max(100);
        if rounded.is_multiple_of(1000) {
            plural(rounded / 1000, "second")
        } else {
            plural(rounded, "millisecond")
        }
    } else if ms < 3_600_000 {
        plural((ms + 30_000) / 60_000, "minute")
    } else {
        plural((ms + 1_800_000) / 3_600_000, "hour")
    }
}

/// Text a `{word}` parameter takes as it is.
fn is_word(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(|c| c.is_whitespace() || c == '"')
}

/// Bytes as the raw-line step writes them: printable latin-1 as it is,
/// CR, LF, tab and the backslash escaped, anything else (and `"`) as
/// `\xNN`.
fn escape_raw(bytes: &[u8]) -> String {
    let mut text = String::new();
    for &byte in bytes {
        match byte {
            b'\r' => text.push_str("\\r"),
            b'\n' => text.push_str("\\n"),
            b'\t' => text.push_str("\\t"),
            b'\\' => text.push_str("\\\\"),
            b'"' => text.push_str("\\x22"),
            0x20..=0x7e | 0xa0..=0xff => text.push(char::from(byte)),
            other => {
                let _ = write!(text, "\\x{other:02x}");
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(lines: &[(Direction, &str)]) -> String {
        let recorder = Recorder::new();
        recorder.opened(1);
        for (direction, line) in lines {
            recorder.line(1, *direction, Bytes::copy_from_slice(line.as_bytes()));
        }
        recorder.closed(1);
        recorder.feature("a session")
    }

    use Direction::{Replies as R, Requests as Q};

    #[test]
    fn a_session_reads_in_the_step_librarys_words() {
        let feature = session(&[
            (R, "!version,ok,1.4\r\n"),
            (Q, "?set-configuration,SK77\r\n"),
            (R, "!set-configuration,ok\r\n"),
            (Q, "?set-section,0,*,1500,*,*,3000,*\r\n"),
            (R, "!set-section,ok\r\n"),
            (Q, "?get-tpi\r\n"),
            (R, "!get-tpi,ok,12.5,13.25\r\n"),
            (Q, "?time\r\n"),
            (R, "!time,ok,1795361845.646607733\r\n"),
            (Q, "?get-configuration\r\n"),
            (R, "!get-configuration,ok,SK77\r\n"),
            (Q, "?start,bad\r\n"),
            (R, "!start,fail,wrong timestamp 'bad'\r\n"),
            (Q, "?bogus line\r\n"),
            (R, "!bogus,invalid,nope\r\n"),
        ]);
        let expected = [
            "    Given a backend",
            "    When the client connects",
            "    Then the connection opens with \"!version,ok,1.4\"",
            "    When the client sets the configuration to \"SK77\"",
            "    Then the backend accepts it",
            "    When the client sets section 0 to:",
            "      | bandwidth | sample rate |",
            "      | 1500      | 3000        |",
            "    Then the backend accepts it",
            "    When the client asks for the total power",
            "    Then the reply holds a number for each input",
            "    When the client asks for the time",
            "    Then the reply holds the current time",
            "    When the client asks for the configuration",
            "    Then the backend answers \"!get-configuration,ok,SK77\"",
            "    When the client starts the acquisition at \"bad\"",
            "    Then the backend refuses it, saying \"wrong timestamp 'bad'\"",
            "    When the client sends the raw line \"?bogus line\\r\\n\"",
            "    Then the backend rejects the line as malformed",
        ]
        .join("\n");
        assert!(feature.contains(&expected), "{feature}");
        assert!(
            !feature.contains("1795361845"),
            "no time is kept: {feature}"
        );
        assert!(!feature.contains("12.5"), "no value is kept: {feature}");
    }

    #[test]
    fn a_timed_start_is_said_relative_to_when_it_was_sent() {
        let sent = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let ticks = |offset: i64| (1_800_000_000_i64 + offset) * 10_000_000;
        assert_eq!(
            when(&ticks(2).to_string(), sent).as_deref(),
            Some("in 2 seconds")
        );
        assert_eq!(
            when(&ticks(-3600).to_string(), sent).as_deref(),
            Some("at a time 1 hour ago")
        );
        assert_eq!(
            when("1800000000.25", sent).as_deref(),
            Some("in 300 milliseconds, written in decimal seconds")
        );
        assert_eq!(said(Duration::from_millis(1480)), "1500 milliseconds");
        assert_eq!(said(Duration::from_secs(90)), "2 minutes");
    }

    #[test]
    fn lines_no_step_says_unchanged_are_sent_as_they_travelled() {
        let sent = SystemTime::now();
        // A bare line feed, a leading zero, a quote.
        let bare = request_step("the client", b"?status\n", sent);
        assert_eq!(bare.step, "the client sends the raw line \"?status\\n\"");
        let zero = request_step("the client", b"?set-integration,010\r\n", sent);
        assert_eq!(zero.step, "the client sets the integration time to \"010\"");
        let quote = request_step("the client", b"?set-filename,a\"b\r\n", sent);
        assert_eq!(
            quote.step,
            "the client sends the raw line \"?set-filename,a\\x22b\\r\\n\""
        );
        let escaped = request_step("the client", b"?set-filename,a\\,b\r\n", sent);
        assert_eq!(escaped.step, "the client sets the file name to \"a,b\"");
    }

    #[test]
    fn several_clients_are_named() {
        let recorder = Recorder::new();
        recorder.opened(1);
        recorder.opened(2);
        recorder.opened(3);
        for link in [1, 2] {
            recorder.line(link, R, Bytes::from_static(b"!version,ok,1.4\r\n"));
            recorder.line(link, Q, Bytes::from_static(b"?get-configuration\r\n"));
            recorder.line(link, R, Bytes::from_static(b"!get-configuration,ok,K\r\n"));
        }
        recorder.line(3, R, Bytes::from_static(b"!version,ok,1.4\r\n"));
        let feature = recorder.feature("two");
        assert!(feature.contains("When client \"A\" connects"), "{feature}");
        assert!(
            feature.contains("Then client \"B\" receives \"!get-configuration,ok,K\""),
            "{feature}"
        );
        assert!(
            !feature.contains("client \"C\""),
            "a silent client is left out"
        );
    }
}
