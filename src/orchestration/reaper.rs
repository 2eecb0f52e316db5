//! The reaper: whatever ends this process — a return, a panic, an abort,
//! Ctrl-C, SIGTERM, SIGHUP or SIGKILL — no process it started for a test
//! outlives it, and no scratch directory it registered stays behind.
//!
//! # Why a process group and `PR_SET_PDEATHSIG` are not enough
//!
//! Each child already leads its own process group and gets SIGKILL when its
//! parent dies. But the parent-death signal reaches only the direct child (a
//! backend started through `sh -c` leaves its real server behind), a
//! descendant that calls `setsid()` leaves the group, and a double-forked
//! daemon is adopted by init. And code that runs in the dying process —
//! `Drop`, a signal handler — cannot run at all after SIGKILL.
//!
//! # What others do, and what is done here
//!
//! - testcontainers' **Ryuk** is a watchdog that outlives its client: the
//!   client holds a connection to it, and when that connection drops, for
//!   whatever reason, Ryuk removes everything labelled with the client's
//!   session. Here the watchdog is a small `sh` process, started once per
//!   process on first use, in its own process group (a Ctrl-C at the
//!   terminal does not reach it) and ignoring SIGINT, SIGTERM and SIGHUP. It
//!   reads this process's instructions from a pipe; the kernel closes the
//!   pipe when this process ends, however it ends, and at end of file the
//!   watchdog kills and removes what it was told about.
//! - Jenkins' **ProcessTreeKiller** puts a cookie in the environment of
//!   every process it starts; descendants inherit it through `fork` and
//!   `exec`, a new session or a double fork does not shed it, and
//!   `/proc/PID/environ` shows it. Here every child gets
//!   [`REAPER_ENV`]`=…:RUN/N`: `RUN` names this process (its pid and a random
//!   number), `N` the executor. An executor's `stop()` and `kill()` take
//!   down the processes carrying its mark as well as its group, so a
//!   `setsid()` daemon is stopped with the service that started it, and
//!   named if it survives; the watchdog kills every process carrying
//!   `RUN/`. Marks of an enclosing run are kept in the list, so a runner
//!   started by a test is cleaned up by either watchdog.
//! - A process group still matters: Chromium rewrites the memory
//!   `/proc/PID/environ` shows (to set its processes' titles), so its zygote
//!   and renderers carry no readable mark, but they stay in chromedriver's
//!   group. The watchdog is told each group as it starts and as it ends
//!   ([`Reaper`] keeps the same list), and kills the groups still open.
//! - A **subreaper** (`PR_SET_CHILD_SUBREAPER`) would make this process the
//!   parent of every orphaned descendant — but also their only reaper: it
//!   would have to collect exit statuses that tokio collects for its own
//!   children, and it dies with the process it should outlive (SIGKILL
//!   leaves the orphans to init again). Only a subreaper *above* the test
//!   process would do, which a library called from `cargo test` cannot be.
//! - A **cgroup v2** with `cgroup.kill` holds every descendant with no
//!   escape at all, but only where a cgroup can be created: as root, or
//!   where systemd delegated one. Where it can, each start gets one (see
//!   `orchestration::cgroup`): the child joins it before `exec`, a stop
//!   kills it with `cgroup.kill` and checks `cgroup.procs`, and the
//!   watchdog is told each one, kills what is left in it and removes it.
//!   CI containers and developers' shells mostly cannot make one, so the
//!   group and the mark stay, and are all there is there
//!   ([`Reaper::confinement`] says which; `DISCOS_NO_CGROUP` set chooses
//!   the marks).
//!
//! # Limits
//!
//! Where no cgroup can be made, a descendant that both leaves the group
//! (`setsid()`) and sheds the mark (started with a cleared environment,
//! `env -i`, or one that rewrites its environment memory) escapes. The watchdog needs `sh`, `grep`, `kill` and
//! `rm`; where it cannot start, a warning says so and only the in-process
//! cleanup (stop, drop, [`Reaper::reap_now`]) remains. Between the watchdog
//! finding a pid and killing it, that process could exit and its pid be
//! reused — the same window `kill(1)` has. The watchdog acts when the
//! process has ended: a process stopped with SIGSTOP keeps its children.

use std::collections::BTreeSet;
use std::io::{self, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::cgroup::{Confinement, confinement};
use super::group::{environment_lists, live_processes, signal_group};
use crate::poll::{Pace, Poller};

/// The environment variable that carries the marks of every process started
/// through this module: a colon-separated list, one entry per run that
/// started an ancestor.
pub const REAPER_ENV: &str = "DISCOS_REAPER";

/// How long [`Reaper::reap_now`] keeps killing what keeps appearing (a
/// process forking as it dies) before it gives up.
const REAP_LIMIT: Duration = Duration::from_secs(2);

/// The watchdog, in POSIX sh. `$1` is the run's mark, `RUN/`. It ignores the
/// signals a terminal or a CI job sends to everyone, reads instructions until
/// end of file (its owner has ended), then kills every group still open (one
/// signal reaches every member: the kernel lets no fork slip past it), then
/// every process whose environment carries the mark, again until none is
/// found (a zombie shows no environment, so the dead do not count), the
/// groups once more for what those left, and removes the registered
/// directories. `kill -KILL "-$g"`, not `kill -KILL -- "-$g"`: dash takes
/// `--` for a pid.
const WATCHDOG: &str = r#"
trap '' INT TERM HUP QUIT PIPE
mark=$1
nl='
'
cgroups=
groups=
dirs=
while IFS= read -r line; do
  case $line in
    'cgroup '*) cgroups="$cgroups$nl${line#cgroup }" ;;
    'uncgroup '*)
      gone=${line#uncgroup }; kept=
      IFS=$nl
      for c in $cgroups; do [ "$c" = "$gone" ] || kept="$kept$nl$c"; done
      unset IFS
      cgroups=$kept ;;
    'group '*) groups="$groups ${line#group }" ;;
    'ungroup '*)
      gone=${line#ungroup }; kept=
      for g in $groups; do [ "$g" = "$gone" ] || kept="$kept $g"; done
      groups=$kept ;;
    'dir '*) dirs="$dirs
${line#dir }" ;;
  esac
done
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
IFS=$nl
for c in $cgroups; do echo 1 > "$c/cgroup.kill" 2>/dev/null; done
unset IFS
round=0
while [ "$round" -lt 200 ]; do
  round=$((round + 1))
  found=
  for f in $(grep -l -s -F -e "$mark" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}
    kill -KILL "${p%/environ}" 2>/dev/null && found=1
  done
  [ -n "$found" ] || break
done
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
IFS='
'
for d in $dirs; do
  [ -n "$d" ] && rm -rf -- "$d"
done
for c in $cgroups; do
  round=0
  while ! rmdir "$c" 2>/dev/null && [ -d "$c" ] && [ "$round" -lt 200 ]; do
    round=$((round + 1)); echo 1 > "$c/cgroup.kill" 2>/dev/null; sleep 0.01
  done
done
[ -n "$2" ] && rmdir "$2" 2>/dev/null
"#;

/// The reaper of this process; see the [module](self) documentation.
#[derive(Debug)]
pub struct Reaper {
    /// `PID.RANDOM/`: the prefix of every mark this process hands out.
    run: String,
    next: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    groups: BTreeSet<i32>,
    cgroups: BTreeSet<PathBuf>,
    dirs: Vec<PathBuf>,
    watchdog: Option<Watchdog>,
}

#[derive(Debug)]
struct Watchdog {
    child: Child,
    instructions: ChildStdin,
}

/// What [`Reaper::reap_now`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reaped {
    /// The processes it killed, as `(pid, command line)`.
    pub killed: Vec<(u32, String)>,
    /// The registered directories it removed.
    pub removed: Vec<PathBuf>,
}

/// The reaper of this process, its watchdog started on first use.
pub fn reaper() -> &'static Reaper {
    static REAPER: OnceLock<Reaper> = OnceLock::new();
    REAPER.get_or_init(Reaper::start)
}

impl Reaper {
    fn start() -> Reaper {
        let run = format!("{}.{:016x}/", std::process::id(), rand::random::<u64>());
        let cgroups = match confinement() {
            Confinement::Cgroups(dir) => dir.to_str().unwrap_or_default(),
            Confinement::Marks(_) => "",
        };
        let watchdog = match spawn_watchdog(&run, cgroups) {
            Ok(watchdog) => Some(watchdog),
            Err(error) => {
                tracing::warn!(
                    %error,
                    "cannot start the reaper's watchdog (sh): processes started for tests may outlive this one if it is killed"
                );
                None
            }
        };
        Reaper {
            run,
            next: AtomicU64::new(0),
            state: Mutex::new(State {
                watchdog,
                ..State::default()
            }),
        }
    }

    /// The prefix every mark of this process starts with, `PID.RANDOM/`.
    pub fn run_mark(&self) -> &str {
        &self.run
    }

    /// Whether the watchdog is alive, so that even SIGKILL of this process
    /// leaves nothing behind.
    pub fn is_watching(&self) -> bool {
        let mut state = self.lock();
        let alive = state
            .watchdog
            .as_mut()
            .is_some_and(|w| matches!(w.child.try_wait(), Ok(None)));
        if !alive {
            state.watchdog = None;
        }
        alive
    }

    /// The watchdog's pid, while it runs.
    pub fn watchdog_pid(&self) -> Option<u32> {
        self.lock().watchdog.as_ref().map(|w| w.child.id())
    }

    /// Removes `path` (a directory, recursively, or a file) when this process
    /// ends, however it ends — for scratch directories a test or a browser
    /// profile lives in. Removing it earlier, as usual, does no harm.
    pub fn remove_at_exit(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = std::path::absolute(path.as_ref())?;
        let text = path.to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not UTF-8", path.display()),
            )
        })?;
        if text.contains('\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{text:?} contains a line break"),
            ));
        }
        let line = format!("dir {text}\n");
        let mut state = self.lock();
        tell(&mut state, &line);
        state.dirs.push(path);
        Ok(())
    }

    /// Every live process this process started through an executor, or that
    /// descends from one: those carrying one of its marks, and the members
    /// of groups of executors still running.
    pub fn processes(&self) -> Vec<(u32, String)> {
        let (groups, cgroups) = {
            let state = self.lock();
            (state.groups.clone(), state.cgroups.clone())
        };
        let confined: BTreeSet<u32> = cgroups
            .iter()
            .flat_map(|path| std::fs::read_to_string(path.join("cgroup.procs")).ok())
            .flat_map(|text| {
                text.lines()
                    .filter_map(|line| line.trim().parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect();
        live_processes(|pid, group, _| {
            groups.contains(&group) || confined.contains(&pid) || self.carries_run_mark(pid)
        })
    }

    /// How the processes started through an executor are confined: a
    /// cgroup each, or a process group and a mark; for a run to say.
    pub fn confinement(&self) -> &'static Confinement {
        confinement()
    }

    /// Kills, at once, every process [`Reaper::processes`] lists — again
    /// while new ones appear, for up to 2 s — and removes the registered
    /// directories: for a runner that must end now (a second Ctrl-C) and
    /// still leave nothing behind. The watchdog would do the same after this
    /// process ends; doing it here first means nothing waits for that.
    pub fn reap_now(&self) -> Reaped {
        let mut reaped = Reaped::default();
        let mut poller = Poller::within(REAP_LIMIT, Pace::every(Duration::from_millis(1)));
        loop {
            let found = self.processes();
            if found.is_empty() {
                break;
            }
            for path in self.lock().cgroups.iter() {
                let _ = std::fs::write(path.join("cgroup.kill"), "1");
            }
            for (pid, command) in found {
                if let Ok(raw) = i32::try_from(pid) {
                    let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
                }
                if !reaped.killed.iter().any(|(p, _)| *p == pid) {
                    reaped.killed.push((pid, command));
                }
            }
            if !poller.pause_blocking() {
                break; // /proc has no events: looked again until the limit
            }
        }
        let mut state = self.lock();
        for group in std::mem::take(&mut state.groups) {
            let _ = signal_group(group, Signal::SIGKILL);
        }
        for dir in std::mem::take(&mut state.dirs) {
            let removed = if dir.is_dir() {
                std::fs::remove_dir_all(&dir)
            } else {
                std::fs::remove_file(&dir)
            };
            if removed.is_ok() {
                reaped.removed.push(dir);
            }
        }
        reaped
    }

    /// A fresh mark for one executor's child.
    pub(crate) fn new_mark(&self) -> String {
        format!("{}{}", self.run, self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// The value of [`REAPER_ENV`] for a child marked `mark`: the marks this
    /// process inherited, then its own.
    pub(crate) fn environment_value(mark: &str) -> String {
        match std::env::var(REAPER_ENV) {
            Ok(inherited) if !inherited.is_empty() => format!("{inherited}:{mark}"),
            _ => mark.to_owned(),
        }
    }

    /// Tells the watchdog a group to kill if this process ends while the
    /// group is alive.
    pub(crate) fn adopt_group(&self, group: i32) {
        let mut state = self.lock();
        if state.groups.insert(group) {
            tell(&mut state, &format!("group {group}\n"));
        }
    }

    /// Tells the watchdog a cgroup to kill and remove if this process ends
    /// while it exists.
    pub(crate) fn adopt_cgroup(&self, path: &Path) {
        let Some(text) = path.to_str().filter(|text| !text.contains('\n')) else {
            return;
        };
        let mut state = self.lock();
        if state.cgroups.insert(path.to_owned()) {
            tell(&mut state, &format!("cgroup {text}\n"));
        }
    }

    /// Forgets a cgroup that was removed.
    pub(crate) fn release_cgroup(&self, path: &Path) {
        let mut state = self.lock();
        if state.cgroups.remove(path) {
            let text = path.to_str().unwrap_or_default();
            tell(&mut state, &format!("uncgroup {text}\n"));
        }
    }

    /// Forgets a group whose every member is gone, so that its number,
    /// once free for reuse, is never signalled.
    pub(crate) fn release_group(&self, group: i32) {
        let mut state = self.lock();
        if state.groups.remove(&group) {
            tell(&mut state, &format!("ungroup {group}\n"));
        }
    }

    fn carries_run_mark(&self, pid: u32) -> bool {
        environment_lists(pid, REAPER_ENV, |entry| {
            entry.starts_with(self.run.as_bytes())
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether `pid` carries exactly `mark` (one executor's).
pub(crate) fn carries_mark(pid: u32, mark: &str) -> bool {
    environment_lists(pid, REAPER_ENV, |entry| entry == mark.as_bytes())
}

/// Sends one instruction; a watchdog that can no longer read is dropped
/// with a warning, once.
fn tell(state: &mut State, line: &str) {
    let Some(watchdog) = state.watchdog.as_mut() else {
        return;
    };
    if let Err(error) = watchdog.instructions.write_all(line.as_bytes()) {
        tracing::warn!(%error, "the reaper's watchdog is gone: processes started for tests may outlive this one if it is killed");
        let _ = watchdog.child.try_wait();
        state.watchdog = None;
    }
}

fn spawn_watchdog(run: &str, cgroups: &str) -> io::Result<Watchdog> {
    let mut child = Command::new("sh")
        .args(["-c", WATCHDOG, "discos-reaper", run, cgroups])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Not a mark of its own: an enclosing run's watchdog must not kill
        // this one before it has done its work.
        .env_remove(REAPER_ENV)
        // Out of the terminal's foreground group: a Ctrl-C meant for the
        // tests does not reach the process that cleans up after them.
        .process_group(0)
        .spawn()?;
    let instructions = child
        .stdin
        .take()
        .ok_or_else(|| io::Error::other("the watchdog has no standard input"))?;
    Ok(Watchdog {
        child,
        instructions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_unique_and_extend_the_inherited_list() {
        let reaper = reaper();
        let (a, b) = (reaper.new_mark(), reaper.new_mark());
        assert_ne!(a, b);
        assert!(a.starts_with(reaper.run_mark()) && b.starts_with(reaper.run_mark()));
        let value = Reaper::environment_value(&a);
        assert!(value == a || value.ends_with(&format!(":{a}")), "{value}");
    }

    #[test]
    fn a_path_with_a_line_break_is_refused() {
        let error = reaper()
            .remove_at_exit("/tmp/discos-bad\nname")
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("line break"), "{error}");
    }

    #[test]
    fn the_watchdog_runs_in_its_own_group_without_a_mark() {
        let reaper = reaper();
        assert!(reaper.is_watching(), "sh is available here");
        let pid = reaper.watchdog_pid().unwrap();
        let group = crate::system::processes::stat(pid).unwrap().group;
        assert_eq!(group, pid as i32, "the watchdog leads its own group");
        assert!(!environment_lists(pid, REAPER_ENV, |_| true));
    }
}
