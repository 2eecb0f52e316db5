//! For people who write scenarios: the step library's catalogue (every
//! sentence a scenario can say, `discos-sim steps`), "did you mean" for a
//! sentence no step says, the code to start a step definition from, and
//! the dry run that checks a suite's steps without starting anything.

pub mod catalogue;
pub(crate) mod dry_run;
pub mod snippet;

pub use snippet::Snippet;
