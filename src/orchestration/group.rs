//! Process-group hygiene: a child never outlives its owner. Each child leads
//! its own group, so one signal reaches its grandchildren too; on Linux it is
//! also tied to its parent's death; and `/proc` tells whether anything of the
//! group is still alive, so a leak can be named instead of suspected.
//!
//! A group does not hold a descendant that calls `setsid()`; the mark the
//! [reaper](super::reaper) puts in every child's environment does, so the
//! same walk of `/proc` also finds the processes that carry a mark.

use std::io;

use crate::system::processes;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Sends `signal` to every process of group `process_group`. A group that no
/// longer exists is not an error: the point was for it to be gone.
pub(crate) fn signal_group(process_group: i32, signal: Signal) -> Result<(), Errno> {
    match killpg(Pid::from_raw(process_group), signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The processes still alive in group `process_group`, as `(pid, command
/// line)`, read from `/proc`. Zombies are dead (only their exit status is left
/// for a parent to collect) and are not listed.
///
/// Empty on systems without `/proc`.
pub fn processes_in_group(process_group: i32) -> Vec<(u32, String)> {
    live_processes(|_, group, _| group == process_group)
}

/// The live processes (not zombies) for which `keep(pid, process group,
/// start)` holds, as `(pid, command line)`, sorted by pid; this process is
/// never among them. `start` is when the process started, in the kernel's
/// clock ticks since boot ([`start_of`]). Empty on systems without `/proc`.
pub(crate) fn live_processes(mut keep: impl FnMut(u32, i32, u64) -> bool) -> Vec<(u32, String)> {
    let own = std::process::id();
    let mut found: Vec<(u32, String)> = processes::pids()
        .into_iter()
        .filter(|&pid| pid != own)
        .filter_map(|pid| Some((pid, processes::stat(pid)?)))
        .filter(|(pid, stat)| stat.is_alive() && keep(*pid, stat.group, stat.start))
        .map(|(pid, _)| (pid, command_line(pid)))
        .collect();
    found.sort_unstable();
    found
}

pub use crate::system::processes::command_line;
pub(crate) use crate::system::processes::{environment_lists, is_alive};

/// When process `pid` started, in the kernel's clock ticks since boot: a
/// process started after it is at least as young, so a search for what it
/// left behind can pass over older ones without reading their environment.
pub(crate) fn start_of(pid: u32) -> Option<u64> {
    processes::stat(pid).map(|stat| stat.start)
}

/// The signals a stop sends or a terminal delivers, which the child must be
/// able to die of. A shell starts a background command (`cmd &`, a CI job
/// run so) with SIGINT and SIGQUIT ignored, `nohup` ignores SIGHUP, and an
/// ignored signal stays ignored across `exec`: without a reset, a backend
/// started from such a run shrugs off its SIGINT stop and is SIGKILLed
/// after the grace period, and Ctrl-C never reaches it.
const STOPPING: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGHUP,
    Signal::SIGTERM,
];

/// Makes the child its own process-group leader with the stopping signals
/// at their defaults and, on Linux, asks the kernel to SIGKILL it when its
/// parent dies, so even a runner killed by SIGKILL leaves no orphan behind.
pub(crate) fn harden(command: &mut tokio::process::Command) {
    command.process_group(0);
    #[allow(unsafe_code)]
    // SAFETY: the closure runs between fork and exec and only calls
    // sigaction, which is async-signal-safe; it allocates nothing.
    unsafe {
        command.pre_exec(|| {
            for signal in STOPPING {
                nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl)
                    .map_err(io::Error::from)?;
            }
            Ok(())
        });
    }
    #[cfg(target_os = "linux")]
    {
        let parent = nix::unistd::getpid();
        #[allow(unsafe_code)]
        // SAFETY: the closure runs between fork and exec and only makes two
        // async-signal-safe system calls (prctl, getppid); it allocates nothing.
        unsafe {
            command.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
                // The parent may have died between fork and prctl: then nobody
                // would ever send the signal, so give up now.
                if nix::unistd::getppid() != parent {
                    return Err(io::Error::other("parent died during spawn"));
                }
                Ok(())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt as _;

    #[test]
    fn a_process_started_later_is_younger() {
        let own = start_of(std::process::id()).expect("this process started");
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let younger = start_of(child.id()).expect("the child runs");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(younger >= own, "{younger} < {own}");
    }

    #[test]
    fn a_child_is_found_in_its_group_and_by_its_environment() {
        let mut child = std::process::Command::new("sleep")
            .arg("1000")
            .env("DISCOS_GROUP_TEST", "one:two-marked:three")
            .process_group(0)
            .spawn()
            .expect("sleep runs");
        let pid = child.id();
        let group = i32::try_from(pid).unwrap();
        // The child shows its environment once it has executed `sleep`.
        let mut poller = crate::poll::Poller::within(
            std::time::Duration::from_secs(5),
            crate::poll::Pace::every(std::time::Duration::from_millis(1)), // /proc has no events
        );
        while !environment_lists(pid, "DISCOS_GROUP_TEST", |_| true) && poller.pause_blocking() {}
        assert!(processes_in_group(group).iter().any(|(p, _)| *p == pid));
        assert!(is_alive(pid));
        assert!(environment_lists(pid, "DISCOS_GROUP_TEST", |e| e == b"two-marked"));
        assert!(!environment_lists(pid, "DISCOS_GROUP_TEST", |e| e == b"two"));
        assert!(!environment_lists(pid, "DISCOS_GROUP", |_| true));
        assert!(
            live_processes(|_, _, _| true)
                .iter()
                .all(|(p, _)| *p != std::process::id()),
            "this process is never listed"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_alive(pid));
    }
}
