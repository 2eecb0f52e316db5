//! The terminal's Ctrl-C reaches the run alone, so the prompt comes back
//! only once the run has stopped.
//!
//! Ctrl-C signals the terminal's whole foreground process group. Under
//! `cargo test`, that group holds cargo too, which dies at once: the shell
//! gives the prompt back while the run is still finishing its scenarios and
//! tearing them down, and goes on printing over what the user types next.
//! So a run started in the group of the program that started it (cargo,
//! make, a script) moves into a group of its own and makes it the
//! terminal's foreground: Ctrl-C then reaches only the run, which stops as
//! [`super::interrupt`] says, while cargo waits for it as for any test
//! binary. The terminal is given back to the group it came from when the
//! run ends, and before a second signal ends it at once.
//!
//! Ctrl-Z would stop the run alone, leaving the shell waiting on a cargo
//! that never stops; while the run holds the terminal it is refused, saying
//! so. A run started by a shell directly is its group's leader already,
//! and a run in the background, or without a terminal, takes nothing.

use std::fs::File;
use std::os::fd::AsFd;
use std::sync::Mutex;

use nix::sys::signal::{SigHandler, Signal, signal};
use nix::unistd::{Pid, getpgrp, getpid, setpgid, tcgetpgrp, tcsetpgrp};
use tokio::signal::unix::SignalKind;

/// The terminal held and the group to give it back to, while the run
/// holds it.
static HELD: Mutex<Option<(File, Pid)>> = Mutex::new(None);

/// Holds the terminal's foreground for the run while it lives.
#[derive(Debug)]
pub struct Foreground(tokio::task::JoinHandle<()>);

impl Drop for Foreground {
    fn drop(&mut self) {
        self.0.abort();
        give_back();
    }
}

/// Takes the terminal's foreground for a group of the run's own, if the
/// run shares its group with the program that started it and that group is
/// the terminal's foreground; `None` when there is nothing to take.
pub fn take(runtime: &tokio::runtime::Runtime) -> Option<Foreground> {
    // A run whose input is not the terminal (a test's child, a pipe) was
    // not started by someone at the keyboard.
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return None;
    }
    let terminal = File::options()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let group = getpgrp();
    if group == getpid() || tcgetpgrp(terminal.as_fd()).ok()? != group {
        return None;
    }
    setpgid(Pid::from_raw(0), Pid::from_raw(0)).ok()?;
    if set_foreground(&terminal, getpgrp()).is_err() {
        // Back where it was, with nothing held.
        let _ = setpgid(Pid::from_raw(0), group);
        return None;
    }
    *HELD.lock().unwrap_or_else(|e| e.into_inner()) = Some((terminal, group));
    let _context = runtime.enter();
    let stops = tokio::signal::unix::signal(SignalKind::from_raw(Signal::SIGTSTP as i32));
    let refuse = runtime.spawn(async move {
        let Ok(mut stops) = stops else { return };
        while stops.recv().await.is_some() {
            eprintln!("\nCtrl-Z is not offered while the run holds the terminal: Ctrl-C stops it");
        }
    });
    Some(Foreground(refuse))
}

/// Gives the terminal back to the group the run came from, if it holds
/// it; called when the run ends, and before the process exits at once.
pub fn give_back() {
    let held = HELD.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some((terminal, group)) = held {
        // The group may be gone (its leader killed): then the shell takes
        // the terminal back itself.
        let _ = set_foreground(&terminal, group);
    }
}

/// `tcsetpgrp` from a group that is not (or no longer) the foreground:
/// the terminal would stop the process with SIGTTOU unless it is ignored
/// meanwhile.
fn set_foreground(terminal: &File, group: Pid) -> nix::Result<()> {
    #[allow(unsafe_code)]
    // SAFETY: SIG_IGN runs no code of ours in the handler, and the previous
    // disposition is put back at once.
    let previous = unsafe { signal(Signal::SIGTTOU, SigHandler::SigIgn) }?;
    let set = tcsetpgrp(terminal.as_fd(), group);
    #[allow(unsafe_code)]
    // SAFETY: as above; `previous` was the disposition before.
    unsafe { signal(Signal::SIGTTOU, previous) }?;
    set
}
