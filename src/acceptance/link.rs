//! The link to the backend a scenario may put between its clients and the
//! backend under test: a [`Proxy`] that misbehaves on demand, and what a
//! client's last attempt through it came to. The steps that build it and
//! read it are in the step library; the world holds it and the verified
//! teardown shuts it down.

use std::time::Duration;

use crate::protocol::Message;
use crate::proxy::Proxy;

/// How long the link may take to shut down before its teardown fails.
pub(crate) const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);
/// How long the link waits at teardown for clients still connected to
/// take their replies and close: well inside [`SHUTDOWN_LIMIT`].
pub(crate) const GRACE: Duration = Duration::from_secs(1);

/// What a request sent "whatever comes back" came to.
// Each variant's line says what its fields are.
#[allow(missing_docs)]
#[derive(Debug)]
pub enum Attempt {
    /// A reply, this long after the request.
    Replied { reply: Message, after: Duration },
    /// Nothing, in all the time waited.
    NoReply { waited: Duration },
    /// The connection closed before a reply.
    Closed,
    /// The connection closed in the middle of a line; this much came.
    Cut(String),
    /// The connection was reset.
    Reset,
    /// A line that is not a message came; and then, whether the
    /// connection closed.
    NotAReply { line: String, then_closed: bool },
    /// The connection could not be made.
    Refused(String),
    /// Something else went wrong.
    Other(String),
}

/// The link to the backend: the proxy between the scenario's clients and
/// the backend, and what a client's last attempt through it came to.
#[derive(Debug)]
pub struct Link {
    pub(crate) proxy: Proxy,
    pub(crate) attempt: Option<Attempt>,
}

impl Link {
    /// Where clients connect to reach the backend through the link.
    pub fn address(&self) -> String {
        self.proxy.local_addr().to_string()
    }

    /// The proxy itself.
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// Shuts the link down, after the clients have closed, and says what
    /// was left: a link still open, a task still alive.
    pub async fn tear_down(self) -> Vec<String> {
        let mut leaks = Vec::new();
        let open = self.proxy.links_closed_within(GRACE).await;
        if open > 0 {
            leaks.push(format!(
                "{open} connection(s) still open on the link to the backend after every client closed"
            ));
        }
        if let Err(alive) = self.proxy.shutdown_within(SHUTDOWN_LIMIT).await {
            leaks.push(format!(
                "{alive} task(s) of the link to the backend still alive {SHUTDOWN_LIMIT:?} after its shutdown began"
            ));
        }
        leaks
    }
}
