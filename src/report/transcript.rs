//! A scenario's transcript as the reports keep it: every line every client
//! sent and received, with when, who and which way.
//!
//! A failure message carries the transcript as text, but only for failed
//! steps; the reports show it for every scenario, and read it again to tell
//! which commands the run exercised with which replies (the protocol
//! coverage), so they keep it as data.

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which way a line went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From a client to the backend.
    Sent,
    /// From the backend to a client.
    Received,
    /// Something that happened to the connection (closed, timed out).
    Event,
}

impl Direction {
    /// The arrow the terminal's transcript uses.
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::Sent => "->",
            Direction::Received => "<-",
            Direction::Event => "--",
        }
    }
}

/// One line of a scenario's transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// Time since the scenario started.
    #[serde(with = "super::seconds")]
    pub at: Duration,
    /// The client's name in the scenario ("client", "A"…).
    pub client: String,
    /// Which way it went.
    pub direction: Direction,
    /// The line without its line end, control bytes escaped.
    pub text: String,
}

/// What a failure message ends with when it carries the scenario's
/// transcript (the World's `fail` adds it), which the reports show as
/// data beside the message.
const MARKERS: [&str; 2] = [
    "\n\nTranscript (seconds since the scenario started):",
    "\n\nTranscript: nothing was sent or received",
];

/// `message` without the transcript it ends with, if it carries one.
pub fn without_transcript(message: &str) -> &str {
    MARKERS
        .iter()
        .filter_map(|marker| message.find(marker))
        .min()
        .map_or(message, |at| &message[..at])
}

/// Lines longer than this many characters are cut in the reports: a
/// scenario that sends a megabyte to test the line limit would otherwise
/// make a report of megabytes.
pub const LONGEST_LINE: usize = 1000;

/// `text`, cut to its first [`LONGEST_LINE`] / 2 characters, saying how
/// long it was, if it is longer than [`LONGEST_LINE`].
pub fn shorten(text: &str) -> String {
    match text.char_indices().nth(LONGEST_LINE) {
        None => text.to_owned(),
        Some(_) => {
            let end = text
                .char_indices()
                .nth(LONGEST_LINE / 2)
                .map_or(text.len(), |(at, _)| at);
            format!(
                "{}… (cut here: {} characters in all)",
                &text[..end],
                text.chars().count()
            )
        }
    }
}

/// Exchanges repeated more than this many times in a row (a step polling
/// `?status` until something happens) are folded, the first and the last
/// kept in view.
pub const POLLING: usize = 3;

/// A piece of a transcript as the reports show it: a line, or lines folded
/// behind one that says what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part<'a> {
    /// A line shown as it is.
    Line(&'a TranscriptLine),
    /// Lines shown folded.
    Folded(Folded<'a>),
}

/// Lines that matter less than the rest, folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded<'a> {
    /// Why they are folded.
    pub kind: Fold,
    /// The lines.
    pub lines: &'a [TranscriptLine],
}

/// Why lines are folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fold {
    /// They came after the last step, while the scenario was torn down
    /// (every connection closing): not something the scenario checked.
    Teardown,
    /// The same request, sent again and again by one client, with its
    /// replies: how many times.
    Polling {
        /// The client.
        client: String,
        /// The request.
        request: String,
        /// How many exchanges are folded.
        times: usize,
    },
}

impl Folded<'_> {
    /// What the folded lines are, in a line: `teardown: -- connection
    /// closed`, `18 more exchanges of ?status by client, 0.105–2.410 s`.
    pub fn summary(&self) -> String {
        let span = match (self.lines.first(), self.lines.last()) {
            (Some(first), Some(last)) => format!(
                "{:.3}–{:.3} s",
                first.at.as_secs_f64(),
                last.at.as_secs_f64()
            ),
            _ => String::new(),
        };
        match &self.kind {
            Fold::Teardown => match self.lines {
                [line] => format!(
                    "at teardown, {:.3} s: {} {} {}",
                    line.at.as_secs_f64(),
                    line.client,
                    line.direction.arrow(),
                    line.text
                ),
                lines => format!("at teardown, {span}: {} line(s)", lines.len()),
            },
            Fold::Polling {
                client,
                request,
                times,
            } => format!(
                "{times} more exchange(s) of {request} by {client}, {span} ({} line(s) folded)",
                self.lines.len()
            ),
        }
    }
}

/// `lines` as the reports show them: the lines from `teardown_from` on
/// (since the scenario started) folded as its teardown, and a run of more
/// than [`POLLING`] exchanges of the same request by one client folded but
/// for its first and its last.
pub fn fold(lines: &[TranscriptLine], teardown_from: Option<Duration>) -> Vec<Part<'_>> {
    let split = teardown_from.map_or(lines.len(), |from| {
        lines.partition_point(|line| line.at < from)
    });
    let (body, teardown) = lines.split_at(split);
    let exchanges = exchanges(body);
    let mut parts = Vec::new();
    let mut index = 0;
    while index < exchanges.len() {
        let (start, end) = exchanges[index];
        let same = |&(s, e): &(usize, usize)| {
            let (a, b) = (&body[start], &body[s]);
            a.direction == Direction::Sent
                && b.direction == Direction::Sent
                && a.client == b.client
                && a.text == b.text
                && e > s
                && end > start
        };
        let run = exchanges[index..].iter().take_while(|e| same(e)).count();
        if run > POLLING {
            let first = exchanges[index];
            let last = exchanges[index + run - 1];
            parts.extend(body[first.0..first.1].iter().map(Part::Line));
            let middle = &body[first.1..last.0];
            parts.push(Part::Folded(Folded {
                kind: Fold::Polling {
                    client: body[start].client.clone(),
                    request: body[start].text.clone(),
                    times: run - 2,
                },
                lines: middle,
            }));
            parts.extend(body[last.0..last.1].iter().map(Part::Line));
            index += run;
        } else {
            parts.extend(body[start..end].iter().map(Part::Line));
            index += 1;
        }
    }
    if !teardown.is_empty() {
        parts.push(Part::Folded(Folded {
            kind: Fold::Teardown,
            lines: teardown,
        }));
    }
    parts
}

/// `lines` cut into exchanges, as `(start, end)` ranges: a line a client
/// sent with the replies it received before its next request, or any other
/// line alone.
fn exchanges(lines: &[TranscriptLine]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = &lines[index];
        let mut end = index + 1;
        if line.direction == Direction::Sent {
            while let Some(next) = lines.get(end) {
                if next.client != line.client || next.direction != Direction::Received {
                    break;
                }
                end += 1;
            }
        }
        ranges.push((index, end));
        index = end;
    }
    ranges
}

/// The transcript as the terminal shows it, for JUnit's system-out.
pub fn as_text(lines: &[TranscriptLine]) -> String {
    let mut text = String::new();
    for line in lines {
        let _ = writeln!(
            text,
            "{:>9.3}s {:>8} {} {}",
            line.at.as_secs_f64(),
            line.client,
            line.direction.arrow(),
            line.text
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(at_ms: u64, client: &str, direction: Direction, text: &str) -> TranscriptLine {
        TranscriptLine {
            at: Duration::from_millis(at_ms),
            client: client.to_owned(),
            direction,
            text: text.to_owned(),
        }
    }

    fn shown(parts: &[Part<'_>]) -> Vec<String> {
        parts
            .iter()
            .map(|part| match part {
                Part::Line(line) => line.text.clone(),
                Part::Folded(folded) => format!("[{}]", folded.summary()),
            })
            .collect()
    }

    #[test]
    fn polling_and_teardown_are_folded() {
        use Direction::{Event, Received, Sent};
        let mut lines = vec![
            line(0, "client", Received, "!version,ok,1.4"),
            line(1, "client", Sent, "?start"),
            line(2, "client", Received, "!start,ok"),
        ];
        for i in 0..6 {
            lines.push(line(10 + 10 * i, "client", Sent, "?status"));
            lines.push(line(
                11 + 10 * i,
                "client",
                Received,
                &format!("!status,ok,{i},ok,1"),
            ));
        }
        lines.push(line(80, "client", Sent, "?stop"));
        lines.push(line(81, "client", Received, "!stop,ok"));
        lines.push(line(
            90,
            "client",
            Event,
            "connection closed by the backend",
        ));
        let parts = fold(&lines, Some(Duration::from_millis(85)));
        assert_eq!(
            shown(&parts),
            [
                "!version,ok,1.4",
                "?start",
                "!start,ok",
                "?status",
                "!status,ok,0,ok,1",
                "[4 more exchange(s) of ?status by client, 0.020–0.051 s (8 line(s) folded)]",
                "?status",
                "!status,ok,5,ok,1",
                "?stop",
                "!stop,ok",
                "[at teardown, 0.090 s: client -- connection closed by the backend]",
            ]
        );
        // Three in a row stay as they are, and without a teardown time
        // nothing is teardown.
        let few = &lines[..9];
        assert_eq!(fold(few, None).len(), few.len());
        assert!(fold(&lines, None).iter().all(|p| !matches!(
            p,
            Part::Folded(Folded {
                kind: Fold::Teardown,
                ..
            })
        )));
    }

    #[test]
    fn a_message_sheds_its_transcript() {
        assert_eq!(
            without_transcript(
                "expected ok\n  !a,fail\n\nTranscript (seconds since the scenario started):\n  0.1s x"
            ),
            "expected ok\n  !a,fail"
        );
        assert_eq!(
            without_transcript("no reply\n\nTranscript: nothing was sent or received."),
            "no reply"
        );
        assert_eq!(without_transcript("just this"), "just this");
    }

    #[test]
    fn long_lines_are_cut_saying_how_long_they_were() {
        assert_eq!(shorten("?status"), "?status");
        let exactly = "é".repeat(LONGEST_LINE);
        assert_eq!(shorten(&exactly), exactly);
        let long = format!("?{}", "é".repeat(2 * LONGEST_LINE));
        let cut = shorten(&long);
        let head: String = long.chars().take(LONGEST_LINE / 2).collect();
        assert!(cut.starts_with(&format!("{head}…")), "{cut}");
        assert!(
            cut.ends_with(&format!(
                "… (cut here: {} characters in all)",
                2 * LONGEST_LINE + 1
            )),
            "{cut}"
        );
        assert!(cut.chars().count() < LONGEST_LINE);
    }
}
