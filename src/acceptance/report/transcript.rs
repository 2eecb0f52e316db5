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
        for party in &world.parties {
            let transcript = party.client.transcript();
            let offset = transcript.started().saturating_duration_since(world.started);
            lines.extend(transcript.entries().iter().map(|entry| TranscriptLine {
                at: offset + entry.at,
                client: party.name.clone(),
                direction: entry.direction.into(),
                text: entry.text.clone(),
            }));
        }
        // Stable: lines of one client at the same instant keep their order.
        lines.sort_by_key(|line| line.at);
        lines
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
