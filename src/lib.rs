//! discos-acceptance: BDD acceptance tests and a reference simulator for the
//! DISCOS backend protocol.
//!
//! Every room of the crate has one job; the same message type and codec
//! ([`protocol`]) serve the server, the client, the web console and the load
//! tool, so there is exactly one implementation of the wire format.

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
pub mod protocol;
pub mod proxy;
pub mod report;
pub mod run;
pub mod server;
pub mod system;
