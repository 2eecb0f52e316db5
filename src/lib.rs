//! discos-acceptance: BDD acceptance tests and a reference simulator for the
//! DISCOS backend protocol.
//!
//! Every room of the crate has one job; the same message type and codec
//! ([`protocol`]) serve the server, the client, the web console and the load
//! tool, so there is exactly one implementation of the wire format.
//!
//! # Where things are
//!
//! The wire and the backends:
//! - [`protocol`]: messages, the grammar, the line codec, timestamps, typed
//!   commands, and [`protocol::contract`], the contract's requirements table
//!   (ids, strengths, clauses) read from `docs/protocol.md`.
//! - [`backend`]: the `Backend` trait, the simulator, its profiles (Sardara,
//!   Skarab) and the debug handlers.
//! - [`server`]: the TCP server, one task per connection, drained shutdown.
//! - [`client`]: the protocol client, with a transcript of every exchange.
//!
//! What runs beside a backend:
//! - [`system`]: every read of `/proc` and of socket diagnostics.
//! - [`poll`]: looking again until something holds or a deadline passes,
//!   for what has no event to wait on.
//! - [`orchestration`]: processes started, waited for until really ready,
//!   and stopped with everything they spawned; generic, it knows no broker
//!   and no browser.
//! - [`events`]: backend events on a message broker, RabbitMQ as a service.
//! - [`console`]: the web console, a page and a WebSocket relay.
//! - [`load`]: the load generator.
//!
//! The acceptance suite:
//! - [`acceptance`]: what a scenario is: the World, its settings and
//!   targets, the features, the step library, the verified teardown, the
//!   browser users, the broker of a scenario, the DISCOS actor.
//! - [`run`]: the runner: arguments, selection, shards, signals, the
//!   cucumber writer that fills the report.
//! - [`report`]: the run's model and its renderings (terminal, HTML, JUnit,
//!   merge, coverage); it knows no World and no cucumber.
//! - [`authoring`]: for people writing scenarios: the step catalogue, "did
//!   you mean", snippets, the dry run.

// The crate calls itself by its name too, so that a step definition written
// for a downstream crate (`use discos_acceptance::acceptance::DiscosWorld;`)
// compiles unchanged in the step library, as the snippets for undefined
// steps are.
extern crate self as discos_acceptance;

pub mod acceptance;
pub mod address;
pub mod authoring;
pub mod backend;
pub mod client;
pub mod console;
pub mod duration;
pub mod events;
pub mod load;
pub mod orchestration;
pub mod panics;
pub mod poll;
pub mod protocol;
pub mod proxy;
pub mod report;
pub mod run;
pub mod server;
pub mod system;
