//! DISCOS as an actor in the features: what DISCOS's components send, and
//! how they read what comes back.
//!
//! The wire format is in [`wire`], the configurations DISCOS knows in
//! [`cdb`]. What DISCOS does is taken from its sources (the library
//! `DiscosBackendProtocol`, `Sardara/src/CommandLine.cpp`,
//! `Skarab/src/CommandLine.cpp`), as `docs/protocol.md` states it.

pub mod cdb;
pub mod wire;
