//! Verified teardown: after every scenario, close what it opened, wait for
//! each thing to end, then check that nothing is left.
//!
//! A test that leaves a connection or a process behind passes today and
//! breaks the next one tomorrow; here it fails now, naming what leaked.

use std::fmt::Write as _;

use super::DiscosWorld;
use super::judgement::unasked_lines;

impl DiscosWorld {
    /// Closes the browsers and the clients, shuts the backend down and stops
    /// every process; returns what was left behind (empty when all is clean).
    pub async fn tear_down(&mut self) -> Vec<String> {
        let mut leaks = Vec::new();
        // Browsers first: each page holds a backend connection through the
        // console.
        if let Some(web) = self.web.take() {
            leaks.extend(web.tear_down().await);
        }
        let mut unasked = Vec::new();
        for index in 0..self.parties.len() {
            let party = &mut self.parties[index];
            // Closing waits for the backend to close its end too; what
            // comes meanwhile came unasked, but for late replies to
            // requests a step stopped waiting for.
            match party.client.close().await {
                Ok(mut lines) => {
                    let late = party.owed.min(lines.len());
                    lines.drain(..late);
                    if !lines.is_empty() {
                        unasked.push(self.describe_unasked(
                            index,
                            &lines,
                            "by the end of the scenario",
                        ));
                    }
                }
                Err(error) => leaks.push(format!(
                    "client \"{}\" did not close cleanly: {error}",
                    party.name
                )),
            }
        }
        // Kept, closed, for the transcript the report shows.
        if let Some(discos) = self.discos.as_mut() {
            match discos.close().await {
                Ok(lines) if !lines.is_empty() => {
                    let offset = discos
                        .client()
                        .transcript()
                        .started()
                        .saturating_duration_since(self.started);
                    unasked.push(unasked_lines(
                        super::discos::NAME,
                        None,
                        offset,
                        &lines,
                        "by the end of the scenario",
                    ));
                }
                Ok(_) => {}
                Err(error) => leaks.push(format!(
                    "DISCOS's connection did not close cleanly: {error}"
                )),
            }
        }
        // The link before the backend: its connections to the backend
        // close with it.
        if let Some(link) = self.link.take() {
            leaks.extend(link.tear_down().await);
        }
        if let Some(backend) = self.backend.take() {
            leaks.extend(backend.tear_down().await);
        }
        if let Some(broker) = self.broker.take() {
            leaks.extend(broker.tear_down().await);
        }
        // Leaked on purpose; the checks above have seen them.
        self.leaked.clear();
        if !unasked.is_empty() {
            // What the backend sent unasked is a broken requirement, graded
            // as such, before anything the teardown found left.
            leaks.insert(0, self.requirement_failure("one-reply", unasked.join("\n")));
        }
        leaks
    }
}

/// The message that fails a scenario whose teardown found leaks, or lines
/// the backend sent unasked: each thing found, on a line of its own. When
/// the first names a requirement (`MUST one-reply — …`), the message starts
/// with it, so that the failure is graded by it.
pub fn leak_report(scenario: &str, leaks: &[String]) -> String {
    let (cited, rest) = match leaks.split_first() {
        Some((first, rest)) if crate::protocol::contract::cited(first).is_some() => {
            (Some(first.as_str()), rest)
        }
        _ => (None, leaks),
    };
    let mut message = match cited {
        Some(first) => format!("{first}\n"),
        None => String::new(),
    };
    if !rest.is_empty() {
        let _ = write!(
            message,
            "the scenario \"{scenario}\" left {} thing(s) behind:",
            rest.len()
        );
        for leak in rest {
            message.push_str("\n  - ");
            message.push_str(leak);
        }
    }
    message.trim_end().to_owned()
}
