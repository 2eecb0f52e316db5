//! A handler that panics costs one `fail` reply and one log line, nothing
//! more.
//!
//! The server catches the panic, but Rust's panic hook runs before any catch
//! and prints the message (and, with `RUST_BACKTRACE` set, a backtrace of
//! some 18 KB) for every request: on a server under load that buries the
//! log. So a handler is polled with its panics noted instead of printed
//! ([`panics::Noted`], the process's one hook), which keeps where they
//! happened for the server's own one-line report. Every other panic goes to
//! the hook there was before.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use crate::panics;

/// A panic caught in a handler.
#[derive(Debug)]
pub(super) struct Caught {
    /// The panic's message.
    pub message: String,
    /// The source file, line and column it came from, when known.
    pub location: Option<String>,
}

/// Runs `future`, returning its panic, if any, instead of unwinding further.
pub(super) async fn catch<F: Future>(future: F) -> Result<F::Output, Caught> {
    let mut future = std::pin::pin!(future);
    let marked = std::future::poll_fn(|cx| {
        let _noted = panics::Noted::enter();
        future.as_mut().poll(cx)
    });
    // The catch happens inside the same poll as the panic, so this thread's
    // note of the location is the panic's.
    AssertUnwindSafe(marked)
        .catch_unwind()
        .await
        .map_err(|payload| Caught {
            message: message(&*payload).to_owned(),
            location: panics::take_location(),
        })
}

fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("the handler panicked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_returned_with_its_message_and_location() {
        let caught = catch(async { panic!("boom {}", 42) }).await.unwrap_err();
        assert_eq!(caught.message, "boom 42");
        let location = caught.location.expect("the hook saw the panic");
        assert!(location.starts_with("src/server/panic.rs:"), "{location}");
        assert_eq!(catch(async { 7 }).await.unwrap(), 7);
    }

    #[test]
    fn a_panic_outside_a_handler_is_not_taken_for_a_handlers() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(catch(async {})).unwrap();
        // Outside a handler the hook takes no note: the panic is not its.
        let outside = std::panic::catch_unwind(|| panic!("elsewhere"));
        assert!(outside.is_err());
        assert_eq!(panics::take_location(), None);
    }
}
