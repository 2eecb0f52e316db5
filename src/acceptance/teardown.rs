//! Verified teardown: after every scenario, close what it opened, wait for
//! each thing to end, then check that nothing is left.
//!
//! A test that leaves a connection or a process behind passes today and
//! breaks the next one tomorrow; here it fails now, naming what leaked.

use super::DiscosWorld;

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
        for party in &mut self.parties {
            // Closing waits for the backend to close its end too.
            if let Err(error) = party.client.close().await {
                leaks.push(format!(
                    "client \"{}\" did not close cleanly: {error}",
                    party.name
                ));
            }
        }
        // Kept, closed, for the transcript the report shows.
        if let Some(discos) = self.discos.as_mut()
            && let Err(error) = discos.close().await
        {
            leaks.push(format!(
                "DISCOS's connection did not close cleanly: {error}"
            ));
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
        leaks
    }
}

/// The message that fails a scenario whose teardown found leaks.
pub fn leak_report(scenario: &str, leaks: &[String]) -> String {
    let mut message = format!("the scenario \"{scenario}\" left things behind:");
    for leak in leaks {
        message.push_str("\n  - ");
        message.push_str(leak);
    }
    message
}
