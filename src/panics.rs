//! The process's one panic hook.
//!
//! A process has one panic hook, and it runs before any catch: a panic the
//! crate catches and reports on purpose (a handler's in the server, a
//! failing step's in the runner) would be printed a second time by the
//! default hook, with a Rust location and, with `RUST_BACKTRACE` set, some
//! 18 KB of backtrace. Two parts each replacing the hook would discard each
//! other's (a run that began before the server's first handler call would
//! put back, when it ended, a hook without the server's), so the hook is
//! installed here, once, and keeps the hook it found for every panic that
//! no part asked to keep quiet. Each part says which panics are its own:
//! - [`Noted`]: while it lives, a panic on its thread is not printed, and
//!   where it happened is kept for [`take_location`] (the server's one-line
//!   report of a handler's panic);
//! - [`Quiet`]: while it lives, a panic on the thread that made it prints
//!   nothing (the runner's steps, whose panic message is their failure,
//!   which cucumber prints).

use std::cell::{Cell, RefCell};
use std::sync::{Mutex, Once, PoisonError};
use std::thread::ThreadId;

thread_local! {
    /// Whether a [`Noted`] lives on this thread.
    static NOTING: Cell<bool> = const { Cell::new(false) };
    /// Where the last noted panic on this thread happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The threads whose panics print nothing, once per [`Quiet`] that holds
/// them.
static QUIET: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());

fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if NOTING.get() {
                LOCATION.set(info.location().map(ToString::to_string));
            } else if !is_quiet(std::thread::current().id()) {
                previous(info);
            }
        }));
    });
}

fn is_quiet(thread: ThreadId) -> bool {
    QUIET
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(&thread)
}

/// While it lives, a panic on this thread is noted, not printed: its
/// location is kept for [`take_location`]. Made and dropped on the same
/// thread (it is neither `Send` nor `Sync`); nested, the outer one still
/// holds once the inner is dropped, also when dropped by unwinding.
#[derive(Debug)]
pub struct Noted {
    outer: bool,
    _this_thread: std::marker::PhantomData<*const ()>,
}

impl Noted {
    /// Notes this thread's panics until dropped.
    pub fn enter() -> Noted {
        install();
        Noted {
            outer: NOTING.replace(true),
            _this_thread: std::marker::PhantomData,
        }
    }
}

impl Drop for Noted {
    fn drop(&mut self) {
        NOTING.set(self.outer);
    }
}

/// Where the last panic noted on this thread happened (file, line and
/// column), taken: a second call says `None`.
pub fn take_location() -> Option<String> {
    LOCATION.take()
}

/// While it lives, a panic on the thread that made it prints nothing;
/// other threads print theirs as before. It may be dropped on any thread.
#[derive(Debug)]
pub struct Quiet {
    thread: ThreadId,
}

impl Quiet {
    /// Keeps this thread's panics quiet until dropped.
    pub fn this_thread() -> Quiet {
        install();
        let thread = std::thread::current().id();
        QUIET
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(thread);
        Quiet { thread }
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        let mut quiet = QUIET.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = quiet.iter().position(|thread| *thread == self.thread) {
            quiet.swap_remove(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noted_panic() -> Option<String> {
        let caught = std::panic::catch_unwind(|| {
            let _noted = Noted::enter();
            panic!("noted");
        });
        assert!(caught.is_err());
        take_location()
    }

    #[test]
    fn a_noted_panic_keeps_its_location_and_the_mark_ends_with_it() {
        let location = noted_panic().expect("the hook saw the panic");
        assert!(location.starts_with("src/panics.rs:"), "{location}");
        assert!(!NOTING.get(), "the mark is gone after the panic");
        assert_eq!(take_location(), None, "taken once");
        // Outside a mark the hook takes no note: the panic is not its.
        let outside = std::panic::catch_unwind(|| panic!("elsewhere"));
        assert!(outside.is_err());
        assert_eq!(take_location(), None);
    }

    #[test]
    fn a_quiet_thread_that_ends_leaves_the_noting_in_place() {
        // A run that starts before the first noted panic and ends after it
        // must not take the noting away when it ends.
        let quiet = Quiet::this_thread();
        assert!(is_quiet(std::thread::current().id()));
        assert!(noted_panic().is_some());
        let elsewhere = std::thread::spawn(|| is_quiet(std::thread::current().id()));
        assert!(!elsewhere.join().unwrap(), "other threads are not quiet");
        drop(quiet);
        assert!(!is_quiet(std::thread::current().id()));
        assert!(noted_panic().is_some(), "still noted after the quiet ended");
    }

    #[test]
    fn quiet_is_counted_per_guard() {
        let (outer, inner) = (Quiet::this_thread(), Quiet::this_thread());
        drop(inner);
        assert!(is_quiet(std::thread::current().id()));
        drop(outer);
        assert!(!is_quiet(std::thread::current().id()));
    }
}
