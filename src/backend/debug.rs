//! Handlers for debugging clients: they answer without simulating anything.
//!
//! A DISCOS developer testing a client's error paths wants a backend that
//! always says yes, always says no, or breaks; these are the reference
//! implementation's debug handlers, kept for that.

use async_trait::async_trait;

use super::Handler;
use crate::protocol::Message;

/// Answers every request `ok`, echoing its arguments.
#[derive(Debug, Default, Clone, Copy)]
pub struct AlwaysOk;

/// Answers every request `fail`.
#[derive(Debug, Default, Clone, Copy)]
pub struct AlwaysFail;

/// Panics on every request, to prove a failing handler costs one `fail`
/// reply and nothing more.
#[derive(Debug, Default, Clone, Copy)]
pub struct AlwaysPanic;

#[async_trait]
impl Handler for AlwaysOk {
    async fn handle(&self, request: &Message) -> Message {
        Message::ok(&request.name, request.arguments.iter().cloned())
    }
}

#[async_trait]
impl Handler for AlwaysFail {
    async fn handle(&self, request: &Message) -> Message {
        Message::fail(&request.name, "the always-fail handler fails every request")
    }
}

#[async_trait]
impl Handler for AlwaysPanic {
    async fn handle(&self, request: &Message) -> Message {
        panic!(
            "the always-panic handler panics on every request ('{}')",
            request.name
        )
    }
}
