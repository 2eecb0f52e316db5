//! Protocol coverage: which commands of the contract the run exercised, with
//! which replies, and in which scenarios.
//!
//! The first thing a reviewer asks of a conformance suite is what it leaves
//! untested ("is `set-enable` with a bad feed tested?"). The transcripts
//! answer it: a reply named X with code Y, received in a scenario, is that
//! scenario exercising X with Y. The handshake every connection opens with
//! is not a reply to anything, so it does not count; nor do `@proxy`
//! scenarios, whose replies may be the proxy's own.

use crate::protocol::contract::{COMMANDS, clause_of};
use crate::protocol::{Code, parse_text};

use super::transcript::Direction;
use super::{Report, ScenarioReport};

/// The codes a reply can carry, in the order the table shows them.
pub const CODES: [Code; 3] = [Code::Ok, Code::Fail, Code::Invalid];

/// Where a scenario is in its report: feature index, scenario index.
pub type At = (usize, usize);

/// One row of the table: a command, or every name the contract does not
/// know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The command, or `None` for names the contract does not know.
    pub command: Option<&'static str>,
    /// The anchor of its clause in the contract.
    pub clause: &'static str,
    /// For each of [`CODES`], the scenarios that got such a reply.
    pub cells: [Vec<At>; 3],
}

impl Row {
    /// Scenarios that got a reply with `code`.
    pub fn with(&self, code: Code) -> &[At] {
        let index = CODES.iter().position(|c| *c == code).unwrap_or_default();
        &self.cells[index]
    }
}

/// Every command of protocol 1.4 × `ok`, `fail`, `invalid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// The commands in the contract's order, then the unknown names.
    pub rows: Vec<Row>,
}

impl Coverage {
    /// What `report`'s transcripts exercised.
    pub fn of(report: &Report) -> Coverage {
        let mut rows: Vec<Row> = COMMANDS
            .iter()
            .map(|command| Row {
                command: Some(command),
                clause: command,
                cells: Default::default(),
            })
            .chain(std::iter::once(Row {
                command: None,
                clause: clause_of(""),
                cells: Default::default(),
            }))
            .collect();
        for (f, feature) in report.features.iter().enumerate() {
            for (s, scenario) in feature.scenarios.iter().enumerate() {
                for (name, code) in replies(scenario) {
                    let row = COMMANDS
                        .iter()
                        .position(|c| *c == name)
                        .unwrap_or(COMMANDS.len());
                    let column = CODES.iter().position(|c| *c == code).unwrap_or_default();
                    let cell = &mut rows[row].cells[column];
                    if cell.last() != Some(&(f, s)) {
                        cell.push((f, s));
                    }
                }
            }
        }
        Coverage { rows }
    }

    /// The cells no scenario reached that the contract makes a real
    /// question, as `command code`: a command never accepted, never refused,
    /// an unknown name never answered. A cell the contract rules out, or
    /// answers for every command at once, is not one (`not_a_gap`).
    pub fn gaps(&self) -> Vec<String> {
        self.rows
            .iter()
            .flat_map(|row| {
                CODES
                    .iter()
                    .filter(|code| {
                        row.with(**code).is_empty() && not_a_gap(row.command, **code).is_none()
                    })
                    .map(move |code| format!("{} {code}", row.command.unwrap_or("unknown name")))
            })
            .collect()
    }

    /// How many cells could be a gap: those `not_a_gap` leaves.
    pub fn cells(&self) -> usize {
        self.rows
            .iter()
            .map(|row| {
                CODES
                    .iter()
                    .filter(|code| not_a_gap(row.command, **code).is_none())
                    .count()
            })
            .sum()
    }
}

/// Why no scenario getting `code` in reply to `command` (`None`: a name
/// the contract does not know) is no gap in the suite, if it is not one:
/// the contract rules the reply out, or it answers a malformed line of any
/// name, which the malformed-line scenarios check for every command at once.
pub fn not_a_gap(command: Option<&str>, code: Code) -> Option<&'static str> {
    match (command, code) {
        (None, Code::Ok) => {
            Some("cannot occur: a name the contract does not know is refused, never done")
        }
        (Some(_), Code::Invalid) => Some(
            "not this command's: invalid answers a malformed line, whatever its name (the malformed-line scenarios check it)",
        ),
        _ => None,
    }
}

/// The (name, code) of every reply a scenario's clients received, in order,
/// the handshakes left out.
fn replies(scenario: &ScenarioReport) -> Vec<(String, Code)> {
    if scenario.tags.iter().any(|tag| tag == "proxy") {
        return Vec::new();
    }
    let mut talking: Vec<&str> = Vec::new();
    let mut found = Vec::new();
    for line in &scenario.transcript {
        match line.direction {
            Direction::Sent => {
                if !talking.contains(&line.client.as_str()) {
                    talking.push(&line.client);
                }
            }
            // What came before a client's first request is its handshake.
            Direction::Received if talking.contains(&line.client.as_str()) => {
                if let Ok(reply) = parse_text(&line.text)
                    && let Some(code) = reply.code()
                {
                    found.push((reply.name, code));
                }
            }
            Direction::Received | Direction::Event => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::transcript::TranscriptLine;
    use super::super::{FeatureReport, ScenarioReport};
    use super::*;

    fn line(client: &str, direction: Direction, text: &str) -> TranscriptLine {
        TranscriptLine {
            at: Duration::ZERO,
            client: client.to_owned(),
            direction,
            text: text.to_owned(),
        }
    }

    fn report(transcripts: Vec<Vec<TranscriptLine>>) -> Report {
        Report {
            features: vec![FeatureReport {
                scenarios: transcripts
                    .into_iter()
                    .enumerate()
                    .map(|(line, transcript)| ScenarioReport {
                        transcript,
                        ..ScenarioReport::new(&format!("scenario {line}"), line)
                    })
                    .collect(),
                ..FeatureReport::default()
            }],
            ..Report::default()
        }
    }

    #[test]
    fn replies_count_by_name_and_code_and_handshakes_do_not() {
        use Direction::{Received, Sent};
        let report = report(vec![
            vec![
                line("A", Received, "!version,ok,1.4"),
                line("A", Sent, "?set-enable,0,9"),
                line("A", Received, "!set-enable,fail,no feed 9"),
                line("B", Received, "!version,ok,1.4"),
                line("A", Sent, "?set-enable,0,1"),
                line("A", Received, "!set-enable,fail,again"),
            ],
            vec![
                line("client", Received, "!version,ok,1.4"),
                line("client", Sent, "?frobnicate"),
                line(
                    "client",
                    Received,
                    "!frobnicate,invalid,invalid command 'frobnicate'",
                ),
                line("client", Sent, "?version"),
                line("client", Received, "!version,ok,1.4"),
                line("client", Received, "not a message at all"),
            ],
        ]);
        let coverage = Coverage::of(&report);
        let row = |name: &str| {
            coverage
                .rows
                .iter()
                .find(|r| r.command == Some(name))
                .unwrap()
        };
        // Two fail replies in one scenario: one scenario.
        assert_eq!(row("set-enable").with(Code::Fail), &[(0, 0)]);
        assert!(row("set-enable").with(Code::Ok).is_empty());
        // The handshakes of A and B are not version requests; scenario 1's
        // own request is.
        assert_eq!(row("version").with(Code::Ok), &[(0, 1)]);
        let unknown = coverage.rows.last().unwrap();
        assert_eq!(unknown.command, None);
        assert_eq!(unknown.clause, "unknown-commands");
        assert_eq!(unknown.with(Code::Invalid), &[(0, 1)]);
        let gaps = coverage.gaps();
        assert!(gaps.contains(&"set-enable ok".to_owned()), "{gaps:?}");
        assert!(!gaps.contains(&"set-enable fail".to_owned()), "{gaps:?}");
        // A known command's invalid and an unknown name's ok are no gaps:
        // of two cells per command, two were reached; of the unknown names'
        // two, one.
        assert!(
            !gaps
                .iter()
                .any(|gap| gap.ends_with(" invalid") && !gap.starts_with("unknown")),
            "{gaps:?}"
        );
        assert!(!gaps.contains(&"unknown name ok".to_owned()), "{gaps:?}");
        assert_eq!(coverage.cells(), COMMANDS.len() * 2 + 2);
        assert_eq!(gaps.len(), COMMANDS.len() * 2 - 2 + 1);
    }
}
