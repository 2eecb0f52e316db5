//! Every read of a process's `/proc` entries in one place: which
//! processes there are, their state, parent, group and start from
//! `/proc/PID/stat`, their command line, their environment as it was at
//! `exec`, their threads' scheduler figures, and the cgroup this process
//! is in.
//!
//! The orchestration's groups and reaper, the browser's and the broker's
//! teardown checks and the load tool all ask these questions; one reader
//! means one way to count `stat`'s fields (from the last `)`, since the
//! command name may hold anything) and one answer to "is it alive".
//! Every function answers "nothing" on a system without `/proc`, and skips
//! a process that ends while it is read.

use std::path::PathBuf;
use std::time::Duration;

/// What `/proc/PID/stat` says of a process, the fields this crate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Its state letter: `R`, `S`, `D`, `Z` (a zombie), `X` (dead)…
    pub state: char,
    /// Its parent's pid.
    pub parent: u32,
    /// Its process group.
    pub group: i32,
    /// When it started, in the kernel's clock ticks since boot.
    pub start: u64,
}

impl Stat {
    /// Whether it still runs: zombies are dead, only their exit status is
    /// left for a parent to collect.
    pub fn is_alive(&self) -> bool {
        self.state != 'Z' && self.state != 'X'
    }
}

/// Every process there is, by pid, in no order; empty without `/proc`.
pub fn pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

/// What `/proc/PID/stat` says of process `pid`, if it exists.
pub fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The fields of a `stat` line, counted from after the command's closing
/// parenthesis: state is field 3, the parent 4, the group 5, the start 22.
fn parse_stat(stat: &str) -> Option<Stat> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    let group = fields.next()?.parse().ok()?;
    let start = fields.nth(16)?.parse().ok()?;
    Some(Stat {
        state,
        parent,
        group,
        start,
    })
}

/// True while process `pid` exists and is not a zombie.
pub fn is_alive(pid: u32) -> bool {
    stat(pid).is_some_and(|stat| stat.is_alive())
}

/// The command line of process `pid`, its arguments joined by spaces; `None`
/// when it cannot be read or is empty (a zombie, a kernel thread).
pub fn cmdline(pid: u32) -> Option<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let line = String::from_utf8_lossy(&bytes)
        .trim_end_matches('\0')
        .replace('\0', " ");
    (!line.is_empty()).then_some(line)
}

/// The command line of process `pid` as `ps` shows it, or its name in
/// brackets for a kernel thread; empty once it is gone.
pub fn command_line(pid: u32) -> String {
    cmdline(pid).unwrap_or_else(|| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|name| format!("[{}]", name.trim()))
            .unwrap_or_default()
    })
}

/// Whether the environment process `pid` was started with holds, in the
/// colon-separated list of variable `name`, an entry for which `matches`
/// holds. `/proc/PID/environ` shows the environment as it was at `exec`,
/// which a later `unsetenv` does not change; a process that rewrites that
/// memory (Chromium, to set its title) or that was started with a cleared
/// environment shows no mark.
pub fn environment_lists(pid: u32, name: &str, matches: impl FnMut(&[u8]) -> bool) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    environ
        .split(|&b| b == 0)
        .filter_map(|entry| entry.strip_prefix(name.as_bytes())?.strip_prefix(b"="))
        .flat_map(|value| value.split(|&b| b == b':'))
        .any(matches)
}

/// Whether process `pid` has `key=value` in its environment, as it was when
/// it started: a mark set on a backend's command is inherited by everything
/// it starts, including what leaves its process group.
pub fn has_environment(pid: u32, key: &str, value: &str) -> bool {
    let wanted = format!("{key}={value}");
    std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
        environ
            .split(|&b| b == 0)
            .any(|entry| entry == wanted.as_bytes())
    })
}

/// The time every thread of process `pid` has spent on a CPU and waiting
/// runnable for one, summed from `/proc/PID/task/*/schedstat`; `None` where
/// that file does not exist (a kernel without scheduler statistics).
pub fn scheduled(pid: u32) -> Option<(Duration, Duration)> {
    let mut on_cpu = Duration::ZERO;
    let mut waiting = Duration::ZERO;
    let mut seen = false;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(task) = task else { continue };
        // A thread may end between listing and reading: skip it.
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        let mut fields = text.split_whitespace().map(str::parse::<u64>);
        let (Some(Ok(cpu)), Some(Ok(wait))) = (fields.next(), fields.next()) else {
            continue;
        };
        on_cpu += Duration::from_nanos(cpu);
        waiting += Duration::from_nanos(wait);
        seen = true;
    }
    seen.then_some((on_cpu, waiting))
}

/// Where the first cgroup v2 hierarchy is mounted, from
/// `/proc/self/mountinfo`.
pub fn cgroup2_mount() -> Result<PathBuf, String> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|error| format!("cannot read /proc/self/mountinfo: {error}"))?;
    mounts
        .lines()
        .find_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            (after.split_whitespace().next() == Some("cgroup2"))
                .then(|| before.split_whitespace().nth(4).map(PathBuf::from))?
        })
        .ok_or_else(|| "no cgroup v2 hierarchy is mounted".to_owned())
}

/// The cgroup v2 this process is in, as a path under the hierarchy's root
/// (`/user.slice/…`), from `/proc/self/cgroup`.
pub fn own_cgroup2() -> Result<String, String> {
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|error| format!("cannot read /proc/self/cgroup: {error}"))?;
    own.lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(str::to_owned)
        .ok_or_else(|| "this process is in no cgroup v2".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_from_its_last_parenthesis() {
        let line = "4242 (a (strange) name) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                state: 'S',
                parent: 17,
                group: 4242,
                start: 987_654,
            })
        );
        assert_eq!(parse_stat("4242 (cut"), None);
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (short) S 1 2"), None);
    }

    #[test]
    fn this_process_is_read_as_it_is() {
        let own = std::process::id();
        let stat = stat(own).expect("/proc on Linux");
        assert!(stat.is_alive());
        assert_eq!(stat.parent, std::os::unix::process::parent_id());
        assert_eq!(stat.group, nix::unistd::getpgrp().as_raw());
        assert!(pids().contains(&own));
        assert!(command_line(own).contains("discos_acceptance"));
        let path = std::env::var("PATH").unwrap();
        assert!(has_environment(own, "PATH", &path));
        assert!(!has_environment(own, "PATH", "not the path"));
        assert!(environment_lists(own, "PATH", |dir| path
            .split(':')
            .any(|d| d.as_bytes() == dir)));
        assert!(scheduled(own).is_some_and(|(cpu, _)| cpu > Duration::ZERO));
    }

    #[test]
    fn a_process_that_is_gone_reads_as_nothing() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(stat(pid), None);
        assert!(!is_alive(pid));
        assert_eq!(cmdline(pid), None);
        assert_eq!(command_line(pid), "");
    }
}
