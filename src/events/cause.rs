//! Which request is being answered, for the events it causes.
//!
//! A backend's methods receive typed arguments, not the line that asked
//! for them, yet an event should say which request caused it. The server's
//! handler runs each state-changing request inside [`caused_by`]; whatever
//! the backend publishes meanwhile, on the same task, reads it back with
//! [`current_request`]. Read-only requests skip it, so the requests a busy
//! client repeats cost nothing extra.

use crate::protocol::Message;

tokio::task_local! {
    static REQUEST: String;
}

/// Runs `work` with `request` as the cause of the events it publishes.
pub async fn caused_by<F: Future>(request: &Message, work: F) -> F::Output {
    REQUEST.scope(request.to_string(), work).await
}

/// The request being answered on this task, if any.
pub fn current_request() -> Option<String> {
    REQUEST.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_request_is_known_inside_and_only_inside() {
        assert_eq!(current_request(), None);
        let request = Message::request("set-configuration", ["K2000"]);
        let seen = caused_by(&request, async { current_request() }).await;
        assert_eq!(seen.as_deref(), Some("?set-configuration,K2000"));
        assert_eq!(current_request(), None);
    }
}
