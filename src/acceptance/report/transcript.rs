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

use crate::acceptance::DiscosWorld;
use crate::client;

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

impl From<client::Direction> for Direction {
    fn from(direction: client::Direction) -> Direction {
        match direction {
            client::Direction::Sent => Direction::Sent,
            client::Direction::Received => Direction::Received,
            client::Direction::Event => Direction::Event,
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

impl TranscriptLine {
    /// The lines of every client of `world`, in time order: what
    /// [`DiscosWorld::transcript`] prints, as data.
    pub fn of(world: &DiscosWorld) -> Vec<TranscriptLine> {
        let mut lines = Vec::new();
        for (name, client) in world.clients() {
            let transcript = client.transcript();
            let offset = transcript
                .started()
                .saturating_duration_since(world.started);
            lines.extend(transcript.entries().iter().map(|entry| TranscriptLine {
                at: offset + entry.at,
                client: name.to_owned(),
                direction: entry.direction.into(),
                text: shorten(&entry.shown()),
            }));
        }
        // Stable: lines of one client at the same instant keep their order.
        lines.sort_by_key(|line| line.at);
        lines
    }
}

/// Lines longer than this many characters are cut in the reports: a
/// scenario that sends a megabyte to test the line limit would otherwise
/// make a report of megabytes.
pub const LONGEST_LINE: usize = 1000;

/// `text`, cut to its first [`LONGEST_LINE`] / 2 characters, saying how
/// long it was, if it is longer than [`LONGEST_LINE`].
fn shorten(text: &str) -> String {
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
