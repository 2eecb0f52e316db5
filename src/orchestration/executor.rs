//! One process, started from an argv, waited for until its readiness condition
//! holds, and stopped with everything it spawned.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::cgroup::Cgroup;
use super::error::{LAST_LINES, OrchestrationError, output_excerpt};
use super::group::{is_alive, live_processes, signal_group};
use super::output::{Output, capture};
use super::readiness::{FIRST_BACKOFF, MAX_BACKOFF, Readiness, substitute};
use super::reaper::{REAPER_ENV, Reaper, carries_mark, reaper};
use super::{free_port, group};
use crate::poll::{Pace, Poller};

/// Default bound on `start()`: generous, because a loaded CI machine can take
/// seconds to start even a small server, and a failing start reports anyway.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time a process gets to exit after its stop signal before SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// Default number of output lines kept.
pub const DEFAULT_OUTPUT_CAPACITY: usize = 1000;
/// How long, after SIGKILL, to wait for the kernel to remove every member of
/// the group before calling it a leak.
const KILL_SETTLE: Duration = Duration::from_secs(5);
/// How long to wait for the output readers to reach end of file once the
/// group is dead; only a process that escaped the group can hold them longer.
const DRAIN: Duration = Duration::from_secs(2);

/// A process under supervision: it starts it, waits until it is really ready,
/// and stops it with its whole process group and every descendant that
/// carries its mark (the [reaper](mod@super::reaper)'s), so a descendant that
/// left the group with `setsid()` goes too. Dropping a running executor
/// kills them at once, so a panicking test leaks nothing.
#[derive(Debug)]
pub struct Executor {
    name: String,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    current_dir: Option<PathBuf>,
    readiness: Readiness,
    timeout: Duration,
    stop_signal: Signal,
    grace: Duration,
    echo: bool,
    output: Arc<Output>,
    port: Option<u16>,
    process_group: Option<i32>,
    /// The reaper's mark in the environment of the latest start's processes.
    mark: Option<Mark>,
    running: Option<Running>,
}

/// The reaper's mark of one start, and when the start's first process
/// began (kernel clock ticks since boot): everything carrying the mark
/// descends from that process, so no older process can, and the search for
/// the mark reads the environments of younger processes only.
#[derive(Debug, Clone)]
struct Mark {
    value: String,
    since: u64,
    /// The start's cgroup, where one could be made: what it holds is the
    /// start's, wherever it went and whatever its environment says.
    cgroup: Option<Arc<Cgroup>>,
}

impl Mark {
    fn carried_by(&self, pid: u32, start: u64) -> bool {
        start >= self.since && carries_mark(pid, &self.value)
    }
}

#[derive(Debug)]
struct Running {
    child: Child,
    pid: u32,
    readers: Vec<JoinHandle<()>>,
}

impl Executor {
    /// An executor for `argv` run directly, without a shell, so arguments
    /// reach the program exactly as given.
    pub fn new(name: impl Into<String>, argv: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            name: name.into(),
            argv: argv.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            current_dir: None,
            readiness: Readiness::none(),
            timeout: DEFAULT_TIMEOUT,
            stop_signal: Signal::SIGTERM,
            grace: DEFAULT_GRACE,
            echo: false,
            output: Output::new(DEFAULT_OUTPUT_CAPACITY),
            port: None,
            process_group: None,
            mark: None,
            running: None,
        }
    }

    /// An executor for a shell command line (`sh -c LINE`): explicit, because
    /// quoting and globbing then apply.
    pub fn shell(name: impl Into<String>, line: impl Into<String>) -> Self {
        Self::new(name, ["sh".to_owned(), "-c".to_owned(), line.into()])
    }

    /// Adds an environment variable; `{port}` in the value is substituted.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs the process in `dir` instead of the caller's directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// What `start()` waits for before returning.
    pub fn ready_when(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// How long `start()` waits for readiness before killing the process.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The signal `stop()` sends first, for programs that shut down cleanly
    /// on SIGINT or SIGQUIT rather than SIGTERM.
    pub fn stop_signal(mut self, signal: Signal) -> Self {
        self.stop_signal = signal;
        self
    }

    /// How long `stop()` waits after the stop signal before SIGKILL.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Echoes every output line to stderr as `[name] line`, to follow a
    /// service while debugging a test.
    pub fn echo(mut self, echo: bool) -> Self {
        self.echo = echo;
        self
    }

    /// How many output lines are kept (the newest ones).
    pub fn output_capacity(mut self, lines: usize) -> Self {
        self.output = Output::new(lines);
        self
    }

    /// The service's name, as errors and echoed output show it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|running| running.pid)
    }

    /// The process group of the latest start; kept after stop so a test can
    /// still ask `/proc` about it.
    pub fn process_group(&self) -> Option<i32> {
        self.process_group
    }

    /// The cgroup of the latest start, where one could be made (see
    /// [`Confinement`](super::Confinement)); removed once its processes are
    /// gone.
    pub fn cgroup(&self) -> Option<&std::path::Path> {
        self.mark
            .as_ref()
            .and_then(|mark| mark.cgroup.as_deref())
            .map(Cgroup::path)
    }

    /// The port allocated for `{port}`; the same across restarts, so clients
    /// can reconnect to a restarted service.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The captured output lines of stdout and stderr, oldest first, bounded
    /// by [`Executor::output_capacity`]; readable while running and after.
    pub fn output_lines(&self) -> Vec<String> {
        self.output.lines()
    }

    /// The last output lines, quoted as the start errors quote them: for a
    /// caller reporting a crash it noticed itself.
    pub fn last_output(&self) -> String {
        output_excerpt(&self.output.last(LAST_LINES), self.output.written())
    }

    /// The processes of this executor still alive, from `/proc`: its
    /// group's, and those that carry its mark wherever they went. Empty
    /// after a clean stop; a teardown check names what it finds here.
    pub fn leftover_processes(&self) -> Vec<(u32, String)> {
        members(self.process_group.unwrap_or(0), self.mark.as_ref())
    }

    /// True while the main process is alive (a zombie is not).
    pub fn is_running(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|running| is_alive(running.pid))
    }

    /// Spawns the process and returns once it is ready, or fails with the
    /// reason and its last output lines (the process is then killed with its
    /// group). Does nothing when already running.
    // To be split: orchestration/ is being debugged; the start sequence stays one piece until then.
    #[allow(clippy::too_many_lines)]
    pub async fn start(&mut self) -> Result<(), OrchestrationError> {
        if self.running.is_some() {
            if self.is_running() {
                return Ok(());
            }
            // It died since the last start: collect it before starting anew.
            self.kill();
        }
        let wants_port = self.argv.iter().any(|arg| arg.contains("{port}"))
            || self.env.iter().any(|(_, value)| value.contains("{port}"))
            || self.readiness.wants_port();
        if wants_port && self.port.is_none() {
            self.port = Some(
                free_port().map_err(|source| OrchestrationError::NoFreePort {
                    name: self.name.clone(),
                    source,
                })?,
            );
        }
        let port = self.port;
        let argv: Vec<String> = self.argv.iter().map(|arg| substitute(arg, port)).collect();
        let Some((program, args)) = argv.split_first() else {
            return Err(self.invalid("the command is empty".to_owned()));
        };
        self.output.clear_watchers();
        let probe = self
            .readiness
            .prepare(port, &self.output)
            .map_err(|reason| self.invalid(reason))?;

        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(false);
        for (key, value) in &self.env {
            command.env(key, substitute(value, port));
        }
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        let mark = reaper().new_mark();
        command.env(REAPER_ENV, Reaper::environment_value(&mark));
        group::harden(&mut command);
        let cgroup = match Cgroup::make() {
            Ok(cgroup) => cgroup.map(Arc::new),
            Err(error) => {
                tracing::warn!(%error, "cannot make a cgroup for {}: its processes are found by their mark only", self.name);
                None
            }
        };
        if let Some(cgroup) = &cgroup {
            reaper().adopt_cgroup(cgroup.path());
            let procs = cgroup.procs_path();
            #[allow(unsafe_code)]
            // SAFETY: the closure runs between fork and exec and makes only
            // async-signal-safe system calls (open, write, close) on a path
            // made before the fork; it allocates nothing.
            unsafe {
                command.pre_exec(move || Cgroup::join_from_child(&procs));
            }
        }
        let started = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(source) => {
                if let Some(cgroup) = &cgroup {
                    release_cgroup(cgroup);
                }
                return Err(OrchestrationError::Spawn {
                    name: self.name.clone(),
                    program: program.clone(),
                    source,
                });
            }
        };
        let Some(pid) = child.id() else {
            return Err(OrchestrationError::Wait {
                name: self.name.clone(),
                source: std::io::Error::other("the process vanished as it was spawned"),
            });
        };
        // Read before it is waited for: even a child that already exited
        // stays in /proc, a zombie, until then.
        self.mark = Some(Mark {
            value: mark,
            since: group::start_of(pid).unwrap_or(0),
            cgroup,
        });
        let echo = self.echo.then(|| self.name.clone());
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(capture(
                stdout,
                self.output.clone(),
                echo.clone(),
            )));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(capture(stderr, self.output.clone(), echo)));
        }
        self.process_group = i32::try_from(pid).ok();
        if let Some(group) = self.process_group {
            reaper().adopt_group(group);
        }
        let running = self.running.insert(Running {
            child,
            pid,
            readers,
        });

        enum Outcome {
            Ready,
            Exited(std::io::Result<ExitStatus>),
            TimedOut,
        }
        let outcome = tokio::select! {
            biased;
            () = probe.wait() => Outcome::Ready,
            status = running.child.wait() => Outcome::Exited(status),
            () = tokio::time::sleep(self.timeout) => Outcome::TimedOut,
        };
        match outcome {
            Outcome::Ready => Ok(()),
            Outcome::Exited(status) => {
                // Its grandchildren may still hold the pipes: kill them so the
                // readers reach end of file and the last lines are complete.
                self.kill_and_drain().await;
                let status = status.map_err(|source| OrchestrationError::Wait {
                    name: self.name.clone(),
                    source,
                })?;
                Err(OrchestrationError::ExitedBeforeReady {
                    name: self.name.clone(),
                    status,
                    last_lines: self.output.last(LAST_LINES),
                    written: self.output.written(),
                })
            }
            Outcome::TimedOut => {
                // When the limit was found expired: the kill that follows is
                // the start's cleanup, not more time given to get ready.
                let elapsed = started.elapsed();
                self.kill_and_drain().await;
                Err(OrchestrationError::NotReadyInTime {
                    name: self.name.clone(),
                    condition: self.readiness.describe(port),
                    elapsed,
                    last_lines: self.output.last(LAST_LINES),
                    written: self.output.written(),
                })
            }
        }
    }

    /// Stops the process: the stop signal to its whole group, up to `grace`
    /// for the group to go, then SIGKILL to the group; reaps the process and
    /// waits (bounded) until `/proc` shows no member of the group. Returns
    /// the main process's exit status, or `None` if it was not running.
    pub async fn stop(&mut self) -> Result<Option<ExitStatus>, OrchestrationError> {
        let Some(mut running) = self.running.take() else {
            return Ok(None);
        };
        let group = self.process_group.unwrap_or(0);
        let status = match self.stop_running(&mut running, group).await {
            Ok(status) => status,
            Err(error) => {
                // Keep it, so that kill() or Drop still takes the group down.
                self.running = Some(running);
                return Err(error);
            }
        };
        self.drain(running.readers).await;
        let left = self.leftover_processes();
        if !left.is_empty() {
            return Err(OrchestrationError::LeftProcesses {
                name: self.name.clone(),
                process_group: group,
                processes: left,
            });
        }
        release(group, self.mark.as_ref());
        Ok(Some(status))
    }

    async fn stop_running(
        &self,
        running: &mut Running,
        group: i32,
    ) -> Result<ExitStatus, OrchestrationError> {
        let signal_error = |source| OrchestrationError::Signal {
            name: self.name.clone(),
            process_group: group,
            source,
        };
        let wait_error = |source| OrchestrationError::Wait {
            name: self.name.clone(),
            source,
        };
        let mark = self.mark.as_ref();
        off_runtime(group, mark, signal_all_with(self.stop_signal))
            .await
            .map_err(signal_error)?;
        let graceful = tokio::time::timeout(self.grace, async {
            let status = running.child.wait().await;
            all_gone(group, mark).await;
            status
        })
        .await;
        match graceful {
            // The leader exited and /proc showed nothing of it left.
            Ok(status) => status.map_err(wait_error),
            Err(_) => {
                off_runtime(group, mark, signal_all_with(Signal::SIGKILL))
                    .await
                    .map_err(signal_error)?;
                let status = running.child.wait().await.map_err(wait_error)?;
                // Members that outlived the leader (or a leader that exited
                // at once while its children ignored the signal) go now.
                if !off_runtime(group, mark, members).await.is_empty() {
                    off_runtime(group, mark, signal_all_with(Signal::SIGKILL))
                        .await
                        .map_err(signal_error)?;
                }
                let _ = tokio::time::timeout(KILL_SETTLE, all_gone(group, mark)).await;
                Ok(status)
            }
        }
    }

    /// Stops the process, runs `f`, then starts the process again and waits
    /// until it is ready: to test how clients behave while a service is down.
    /// The port stays the same. The restart happens even when `f`'s result
    /// is an error value; `f`'s output is returned once the service is back.
    pub async fn while_stopped<T>(
        &mut self,
        f: impl AsyncFnOnce() -> T,
    ) -> Result<T, OrchestrationError> {
        self.stop().await?;
        let value = f().await;
        self.start().await?;
        Ok(value)
    }

    /// Stops the process and returns a guard; [`StoppedGuard::restart`]
    /// starts it again and waits until it is ready (mirakuru's `stopped()`).
    /// Prefer [`Executor::while_stopped`], which cannot forget the restart.
    pub async fn stopped(&mut self) -> Result<StoppedGuard<'_>, OrchestrationError> {
        self.stop().await?;
        Ok(StoppedGuard {
            executor: self,
            restarted: false,
        })
    }

    /// SIGKILL to the whole group and to every process carrying this
    /// executor's mark, at once, and reap the main process; the synchronous
    /// path that `Drop` uses. Returns the exit status if the process was
    /// running and could be reaped.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let mut running = self.running.take()?;
        let group = self.process_group.unwrap_or(0);
        let mark = self.mark.as_ref();
        let _ = signal_all(group, mark, Signal::SIGKILL);
        // The readers end by themselves: the pipes close with the group.
        // A SIGKILLed process dies within microseconds unless it is stuck in
        // the kernel; poll briefly rather than block forever.
        // No event to wait on without a runtime, and /proc has none.
        let every = Pace::every(Duration::from_millis(1));
        let mut poller = Poller::within(Duration::from_secs(5), every.clone());
        let status = loop {
            match running.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if poller.pause_blocking() => {}
                _ => break None,
            }
        };
        // Forget the group once it is empty; one that is not stays with the
        // reaper, which kills it when this process ends.
        let mut settle = Poller::within(Duration::from_secs(1), every);
        loop {
            if members(group, mark).is_empty() {
                release(group, mark);
                break;
            }
            if settle.expired() {
                break;
            }
            let _ = signal_all(group, mark, Signal::SIGKILL);
            settle.pause_blocking();
        }
        status
    }

    async fn kill_and_drain(&mut self) {
        if let Some(mut running) = self.running.take() {
            let group = self.process_group.unwrap_or(0);
            let mark = self.mark.as_ref();
            let _ = off_runtime(group, mark, signal_all_with(Signal::SIGKILL)).await;
            let _ = running.child.wait().await;
            let _ = tokio::time::timeout(KILL_SETTLE, all_gone(group, mark)).await;
            if off_runtime(group, mark, members).await.is_empty() {
                release(group, mark);
            }
            self.drain(running.readers).await;
        }
    }

    /// Waits for the output readers to reach end of file, so the buffer holds
    /// the very last lines; gives up after a bound if something outside the
    /// group still holds the pipes.
    async fn drain(&self, readers: Vec<JoinHandle<()>>) {
        for reader in readers {
            let abort = reader.abort_handle();
            if tokio::time::timeout(DRAIN, reader).await.is_err() {
                abort.abort();
            }
        }
    }

    fn invalid(&self, reason: String) -> OrchestrationError {
        OrchestrationError::InvalidConfiguration {
            name: self.name.clone(),
            reason,
        }
    }
}

/// The live processes of `group` and those carrying `mark`, wherever they
/// went.
fn members(group: i32, mark: Option<&Mark>) -> Vec<(u32, String)> {
    let confined = mark
        .and_then(|mark| mark.cgroup.as_ref())
        .map(|cgroup| cgroup.pids())
        .unwrap_or_default();
    live_processes(|pid, in_group, start| {
        in_group == group
            || confined.contains(&pid)
            || mark.is_some_and(|mark| mark.carried_by(pid, start))
    })
}

/// Forgets `group` and removes the start's cgroup, once nothing of them is
/// left, so that neither is signalled again.
fn release(group: i32, mark: Option<&Mark>) {
    reaper().release_group(group);
    if let Some(cgroup) = mark.and_then(|mark| mark.cgroup.as_ref()) {
        release_cgroup(cgroup);
    }
}

fn release_cgroup(cgroup: &Cgroup) {
    match cgroup.remove() {
        Ok(()) => reaper().release_cgroup(cgroup.path()),
        // Left with the reaper, which removes it when this process ends.
        Err(error) => {
            tracing::warn!(%error, "cannot remove the cgroup {}", cgroup.path().display())
        }
    }
}

/// Sends `signal` to `group` and, once each, to every process outside it
/// that carries `mark` or is in its cgroup; SIGKILL also through the
/// cgroup's `cgroup.kill`.
fn signal_all(group: i32, mark: Option<&Mark>, signal: Signal) -> Result<(), nix::errno::Errno> {
    signal_group(group, signal)?;
    let Some(mark) = mark else {
        return Ok(());
    };
    let confined = match &mark.cgroup {
        Some(cgroup) => {
            if signal == Signal::SIGKILL {
                cgroup.kill();
            }
            cgroup.pids()
        }
        None => Vec::new(),
    };
    let escaped = live_processes(|pid, in_group, start| {
        in_group != group && (confined.contains(&pid) || mark.carried_by(pid, start))
    });
    for (pid, _) in escaped {
        if let Ok(pid) = i32::try_from(pid) {
            // One that ended meanwhile is what was wanted.
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    }
    Ok(())
}

/// Resolves once `/proc` shows nothing of `group` and `mark` alive, checking
/// at once and then with the same back-off as the readiness probes.
async fn all_gone(group: i32, mark: Option<&Mark>) {
    let mut poller = Poller::forever(Pace::doubling(FIRST_BACKOFF, MAX_BACKOFF));
    while !off_runtime(group, mark, members).await.is_empty() && poller.pause().await {}
}

/// `signal_all` with `signal`, in the shape [`off_runtime`] takes.
fn signal_all_with(
    signal: Signal,
) -> impl FnOnce(i32, Option<&Mark>) -> Result<(), nix::errno::Errno> + Clone + Send + 'static {
    move |group, mark| signal_all(group, mark, signal)
}

/// Runs `scan` (a walk of `/proc`, reads of environments and cgroups) on
/// the blocking pool. The runtime has as many workers as cores: a scan on a
/// worker, costly when many starts stop at once, holds back every timer and
/// probe on it, and a `--ready-timeout` then fires seconds late. Runs `scan`
/// here only if the blocking pool could not run it to the end (the runtime
/// is shutting down).
async fn off_runtime<T: Send + 'static>(
    group: i32,
    mark: Option<&Mark>,
    scan: impl FnOnce(i32, Option<&Mark>) -> T + Clone + Send + 'static,
) -> T {
    let owned = mark.cloned();
    let away = scan.clone();
    match tokio::task::spawn_blocking(move || away(group, owned.as_ref())).await {
        Ok(value) => value,
        Err(_) => scan(group, mark),
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An executor held stopped; see [`Executor::stopped`].
///
/// `Drop` cannot await, so the restart is explicit: call
/// [`StoppedGuard::restart`]. A guard dropped without it restarts the service
/// by blocking the current thread, which tokio allows only on a multi-thread
/// runtime; on a current-thread runtime, outside a runtime, or while a panic
/// unwinds, the service stays stopped (and [`Executor::is_running`] says so).
#[derive(Debug)]
#[must_use = "the service stays stopped until the guard restarts it"]
pub struct StoppedGuard<'a> {
    executor: &'a mut Executor,
    restarted: bool,
}

impl StoppedGuard<'_> {
    /// Starts the service again and waits until it is ready.
    pub async fn restart(mut self) -> Result<(), OrchestrationError> {
        self.restarted = true;
        self.executor.start().await
    }

    /// The stopped executor: its port, output and process group.
    pub fn executor(&self) -> &Executor {
        self.executor
    }
}

impl Drop for StoppedGuard<'_> {
    fn drop(&mut self) {
        if self.restarted || std::thread::panicking() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return;
        }
        let executor = &mut *self.executor;
        let result = tokio::task::block_in_place(|| handle.block_on(executor.start()));
        if let Err(error) = result {
            tracing::warn!(%error, "restart of a stopped service failed");
        }
    }
}
