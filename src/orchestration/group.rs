//! Process-group hygiene: a child never outlives its owner. Each child leads
//! its own group, so one signal reaches its grandchildren too; on Linux it is
//! also tied to its parent's death; and `/proc` tells whether anything of the
//! group is still alive, so a leak can be named instead of suspected.
//!
//! A group does not hold a descendant that calls `setsid()`; the mark the
//! [reaper](super::reaper) puts in every child's environment does, so the
//! same walk of `/proc` also finds the processes that carry a mark.

use std::io;

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
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let own = std::process::id();
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(Stat {
            state,
            group,
            start,
        }) = parse_stat(&stat)
        else {
            continue;
        };
        if state != 'Z' && state != 'X' && keep(pid, group, start) {
            found.push((pid, command_line(pid)));
        }
    }
    found.sort_unstable();
    found
}

/// Whether the environment process `pid` was started with holds, in the
/// colon-separated list of variable `name`, an entry for which `matches`
/// holds. `/proc/PID/environ` shows the environment as it was at `exec`,
/// which a later `unsetenv` does not change; a process that rewrites that
/// memory (Chromium, to set its title) or that was started with a cleared
/// environment shows no mark.
pub(crate) fn environment_lists(pid: u32, name: &str, matches: impl FnMut(&[u8]) -> bool) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    environ
        .split(|&b| b == 0)
        .filter_map(|entry| entry.strip_prefix(name.as_bytes())?.strip_prefix(b"="))
        .flat_map(|value| value.split(|&b| b == b':'))
        .any(matches)
}

/// True while process `pid` exists and is not a zombie.
pub(crate) fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| parse_stat(&stat))
        .is_some_and(|stat| stat.state != 'Z' && stat.state != 'X')
}

/// The state, process group and start from `/proc/PID/stat`. The command
/// name in parentheses may itself contain spaces and parentheses, so fields
/// are counted from the last `)`.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    state: char,
    group: i32,
    start: u64,
}

/// When process `pid` started, in the kernel's clock ticks since boot: a
/// process started after it is at least as young, so a search for what it
/// left behind can pass over older ones without reading their environment.
pub(crate) fn start_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|stat| stat.start)
}

/// Fields of `/proc/PID/stat` counted from after the command's closing
/// parenthesis: the state is field 3, the group 5, the start 22.
fn parse_stat(stat: &str) -> Option<Stat> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let group = fields.nth(1)?.parse().ok()?;
    let start = fields.nth(16)?.parse().ok()?;
    Some(Stat {
        state,
        group,
        start,
    })
}

/// The command line of process `pid` as `ps` shows it, or its name in
/// brackets for a kernel thread.
pub fn command_line(pid: u32) -> String {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes)
            .trim_end_matches('\0')
            .replace('\0', " "),
        _ => std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|name| format!("[{}]", name.trim()))
            .unwrap_or_default(),
    }
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
    fn stat_with_parentheses_in_the_name_is_parsed() {
        let stat = "1234 (a (weird) name) S 1 999 999 0 -1 4194560 \
                    5 0 0 0 0 0 0 0 20 0 1 0 8721 10000 200";
        assert_eq!(
            parse_stat(stat),
            Some(Stat {
                state: 'S',
                group: 999,
                start: 8721
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (short) S 1 2"), None);
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
