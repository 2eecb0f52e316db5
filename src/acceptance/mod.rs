//! The acceptance framework: plain-language features about a DISCOS backend,
//! run against the built-in simulator or any other backend.
//!
//! A feature file ([`features`]) says what a backend must do ("the client
//! sends `set-configuration,K2000`, the client receives ok"); the step
//! library (`steps`) turns its sentences into protocol exchanges on a
//! [`DiscosWorld`]; the [`target`] decides which backend answers; after every
//! scenario the [`teardown`] closes everything and fails the scenario if
//! anything was left behind. The runner ([`crate::run`]) runs the scenarios
//! and hands [`crate::report`] the finished run.
//!
//! The runner's entry points and the report's model are re-exported here,
//! where a crate that runs these steps on its own features finds them.
//!
//! Another crate runs these steps on its own features with one call:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     discos_acceptance::acceptance::main("features")
//! }
//! ```

pub mod broker;
pub mod browser;
pub mod discos;
pub mod features;
pub mod judgement;
pub mod link;
pub mod settings;
pub(crate) mod steps;
pub mod target;
pub mod teardown;
pub mod web;
pub mod world;

pub use crate::report::{Report, Status};
pub use crate::run::{
    EXCLUDED_BY_DEFAULT, Options, Outcome, RunArgs, default_concurrency, main, main_with, run,
    run_quietly,
};
pub use settings::Settings;
pub use target::Target;
pub use world::DiscosWorld;
