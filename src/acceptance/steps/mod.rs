//! The step library: the sentences a scenario can say.
//!
//! Each file holds the steps of one subject. Steps are small: they read as
//! their sentence and leave the mechanics to [`DiscosWorld`] methods, so a
//! failing step's message is about the backend, not about Rust.
//!
//! [`DiscosWorld`]: super::DiscosWorld

mod acquisition;
mod backend;
mod console;
mod events;
mod exchange;
mod teardown;

use cucumber::gherkin::Step;

use super::DiscosWorld;

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
