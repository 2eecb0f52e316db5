//! discos-acceptance: BDD acceptance tests and a reference simulator for the
//! DISCOS backend protocol.
//!
//! Every room of the crate has one job; the same message type and codec
//! ([`protocol`]) serve the server, the client, the web console and the load
//! tool, so there is exactly one implementation of the wire format.

pub mod acceptance;
pub mod address;
pub mod backend;
pub mod client;
pub mod console;
pub mod duration;
pub mod events;
pub mod load;
pub mod orchestration;
pub mod protocol;
pub mod server;
pub mod system;
