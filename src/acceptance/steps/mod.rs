//! The step library: the sentences a scenario can say.
//!
//! Each file holds the steps of one subject. Steps are small: they read as
//! their sentence and leave the mechanics to [`DiscosWorld`] methods, so a
//! failing step's message is about the backend, not about Rust.
//!
//! Requests are sent in the domain's words ("the client sets the
//! integration time to 250 milliseconds") or, where the line itself is the
//! subject (handshake, malformed lines, extra arguments), as the line
//! (`the client sends "status,now"`). Replies are checked as the contract
//! fixes them ([`crate::protocol::contract`]): "the backend accepts it",
//! "refuses it", "refuses it, saying …" (a fixed phrase, word for word),
//! "rejects the line as malformed".
//!
//! [`DiscosWorld`]: super::DiscosWorld

mod acquisition;
mod backend;
mod console;
mod discos;
mod events;
mod exchange;
pub(crate) mod link;
mod replies;
mod requests;
mod simulator;
mod teardown;

use std::str::FromStr;

use cucumber::gherkin::Step;

use super::DiscosWorld;
use super::world::DEFAULT_CLIENT;

/// Who does something: the scenario's one client, by whatever name a
/// person gives whoever drives the backend (`the client`, `the user`,
/// `the operator`, `the observer`, `the astronomer`), or a named client,
/// `client "A"`, one of several.
///
/// `DISCOS` is not one of them: a step that says DISCOS acts as DISCOS
/// does, and reads replies as DISCOS reads them, which a plain client does
/// not.
#[derive(Debug, Clone, PartialEq, Eq, cucumber::Parameter)]
#[param(
    name = "client",
    regex = r#"the client|the user|the operator|the observer|the astronomer|client "[^"]*""#
)]
pub(crate) struct Who(pub String);

impl FromStr for Who {
    type Err = String;

    fn from_str(text: &str) -> Result<Who, String> {
        match text.strip_prefix("client \"") {
            Some(rest) => Ok(Who(rest.trim_end_matches('"').to_owned())),
            None => Ok(Who(DEFAULT_CLIENT.to_owned())),
        }
    }
}

/// The rows of a step's data table, each as its cells; a step that needs a
/// table and has none fails saying so.
pub(crate) fn table_rows(world: &DiscosWorld, step: &Step) -> Vec<Vec<String>> {
    match &step.table {
        Some(table) => table.rows.clone(),
        None => world.fail(format!(
            "the step \"{}\" needs a table below it",
            step.value
        )),
    }
}

/// The cells of a one-column table, without its header when its first row
/// is `header` (`| request |` above a list of requests).
pub(crate) fn column(world: &DiscosWorld, step: &Step, header: &str) -> Vec<String> {
    let mut cells: Vec<String> = table_rows(world, step)
        .into_iter()
        .filter_map(|row| row.into_iter().next())
        .collect();
    if cells.first().is_some_and(|first| first == header) {
        cells.remove(0);
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_of_the_client_is_the_one_client() {
        for name in [
            "the client",
            "the user",
            "the operator",
            "the observer",
            "the astronomer",
        ] {
            assert_eq!(name.parse::<Who>(), Ok(Who(DEFAULT_CLIENT.to_owned())));
        }
        assert_eq!("client \"A\"".parse::<Who>(), Ok(Who("A".to_owned())));
    }
}
