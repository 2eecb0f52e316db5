//! Process orchestration: every readiness condition, every failure, stop,
//! kill, drop and panic hygiene (checked through `/proc`), `{port}`, the
//! orchestrator, and the real `discos-sim serve`.
//!
//! Timeouts here are generous bounds for a loaded two-core machine, never a
//! claim about speed; readiness is always observed, never slept for.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use discos_acceptance::orchestration::{
    Executor, OrchestrationError, Orchestrator, REAPER_ENV, Readiness, Service, Signal,
    orchestrated, processes_in_group, reaper,
};
use discos_acceptance::poll::{Pace, Poller};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const PATIENCE: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> String {
    format!(
        "{}/fixtures/orchestration/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn sim() -> &'static str {
    env!("CARGO_BIN_EXE_discos-sim")
}

/// A fresh path in the temporary directory, unique to this test run.
fn scratch(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "discos-orchestration-{}-{n}-{label}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    // Gone when this test process ends, however it ends.
    reaper().remove_at_exit(&dir).expect("registered");
    dir
}

/// The pids a fixture announced as `grandchild PID` / `great-grandchild PID`.
fn announced_pids(executor: &Executor) -> Vec<u32> {
    executor
        .output_lines()
        .iter()
        .filter_map(|line| line.split_once("grandchild ").map(|(_, pid)| pid))
        .filter_map(|pid| pid.trim().parse().ok())
        .collect()
}

/// The family fixtures are ready once the leader says so and the
/// great-grandchild, started by another shell, has announced itself.
fn family_ready() -> Readiness {
    Readiness::all([
        Readiness::output("^ready$"),
        Readiness::output("^great-grandchild [0-9]+$"),
    ])
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().next().map(|s| s != "Z" && s != "X")
        })
        .unwrap_or(false)
}

fn assert_group_gone(group: i32) {
    let left = processes_in_group(group);
    assert!(left.is_empty(), "group {group} left processes: {left:?}");
}

/// Waits (bounded) until the executor's output holds `line`.
async fn logged(executor: &Executor, line: &str) -> bool {
    // The captured lines have no event for a line arriving.
    let mut poller = Poller::within(PATIENCE, Pace::every(Duration::from_millis(1)));
    loop {
        if executor.output_lines().iter().any(|l| l == line) {
            return true;
        }
        if !poller.pause().await {
            return false;
        }
    }
}

/// Waits (bounded, observing /proc) for a group to empty: only for the cases
/// where the kernel, not our code, does the killing.
async fn group_disappears(group: i32) -> bool {
    // /proc has no events: look again until the limit.
    let mut poller = Poller::within(PATIENCE, Pace::every(Duration::from_millis(5)));
    loop {
        if processes_in_group(group).is_empty() {
            return true;
        }
        if !poller.pause().await {
            return false;
        }
    }
}

// ---------------------------------------------------------------- readiness

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_condition_started_means_spawned() {
    let mut executor = Executor::new("sleeper", ["sleep", "1000"]);
    executor.start().await.expect("spawned");
    assert!(executor.is_running());
    let pid = executor.pid().expect("a pid");
    assert_eq!(executor.process_group(), i32::try_from(pid).ok());
    executor.stop().await.expect("stopped");
    assert!(!executor.is_running());
    assert_eq!(executor.pid(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_line_on_stdout_makes_it_ready() {
    let mut executor = Executor::new(
        "banner",
        [fixture("banner.sh"), "0.3".into(), "server ready!".into()],
    )
    .ready_when(Readiness::output(r"^server ready!$"))
    .timeout(PATIENCE);
    executor.start().await.expect("ready");
    assert_eq!(executor.output_lines(), ["server ready!"]);
    executor.stop().await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_line_on_stderr_makes_it_ready() {
    let mut executor = Executor::new(
        "banner",
        [
            fixture("banner.sh"),
            "0.2".into(),
            "ready on stderr".into(),
            "stderr".into(),
        ],
    )
    .ready_when(Readiness::output("ready on (stderr|stdout)"))
    .timeout(PATIENCE);
    executor.start().await.expect("ready");
    assert!(
        executor
            .output_lines()
            .contains(&"ready on stderr".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_tcp_server_is_ready_only_once_its_port_accepts() {
    let mut executor = Executor::new(
        "slow",
        [
            "perl".into(),
            fixture("tcp_server.pl"),
            "{port}".into(),
            "0.5".into(),
        ],
    )
    .ready_when(Readiness::tcp("127.0.0.1:{port}"))
    .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let port = executor.port().expect("a port was allocated");
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("accepts once ready");
    executor.stop().await.expect("stopped");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "the port is closed after stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_is_ready_only_with_an_accepted_status() {
    // 503 for the first three requests, then 200.
    let mut executor = Executor::new(
        "http",
        [
            "perl".into(),
            fixture("http_server.pl"),
            "{port}".into(),
            "3".into(),
            "GET".into(),
        ],
    )
    .ready_when(Readiness::http("http://127.0.0.1:{port}/health", [200]))
    .timeout(PATIENCE);
    executor.start().await.expect("ready");
    // The server logs each answer as it sends it; the log line may trail the
    // response that made the executor ready.
    assert!(logged(&executor, "GET -> 200 OK").await);
    let lines = executor.output_lines();
    let answered: Vec<&String> = lines.iter().filter(|line| line.contains("->")).collect();
    assert!(answered.len() >= 4, "three 503s then a 200: {lines:?}");
    assert!(
        answered.last().is_some_and(|line| line.ends_with("200 OK")),
        "{lines:?}"
    );
    executor.stop().await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_method_is_configurable() {
    let mut executor = Executor::new(
        "head-only",
        [
            "perl".into(),
            fixture("http_server.pl"),
            "{port}".into(),
            "0".into(),
            "HEAD".into(),
        ],
    )
    .ready_when(Readiness::http_method(
        "HEAD",
        "http://127.0.0.1:{port}/",
        [200, 204],
    ))
    .timeout(PATIENCE);
    executor.start().await.expect("ready on HEAD");
    assert!(logged(&executor, "HEAD -> 200 OK").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_status_outside_the_set_is_not_ready() {
    // The server answers GET with 405 forever: never an accepted status.
    let mut executor = Executor::new(
        "wrong-method",
        [
            "perl".into(),
            fixture("http_server.pl"),
            "{port}".into(),
            "0".into(),
            "POST".into(),
        ],
    )
    .ready_when(Readiness::http("http://127.0.0.1:{port}/", [200]))
    .timeout(Duration::from_secs(3));
    let error = executor.start().await.expect_err("never 200");
    let port = executor.port().expect("port");
    match &error {
        OrchestrationError::NotReadyInTime { condition, .. } => {
            assert_eq!(
                condition,
                &format!("HTTP GET http://127.0.0.1:{port}/ to answer 200")
            );
        }
        other => panic!("unexpected {other}"),
    }
    assert!(
        error.to_string().contains("GET -> 405 Method Not Allowed"),
        "{error}"
    );
    assert_group_gone(executor.process_group().expect("group"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_accepting_makes_it_ready() {
    let path = scratch("unix").join("service.sock");
    let mut executor = Executor::new(
        "unix",
        [
            "perl".into(),
            fixture("unix_server.pl"),
            path.display().to_string(),
            "0.3".into(),
        ],
    )
    .ready_when(Readiness::unix_socket(&path))
    .timeout(PATIENCE);
    executor.start().await.expect("ready");
    tokio::net::UnixStream::connect(&path)
        .await
        .expect("accepts once ready");
    executor.stop().await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pid_file_appearing_makes_it_ready() {
    let path = scratch("pid").join("service.pid");
    let mut executor = Executor::new(
        "daemon",
        [
            fixture("pid_file.sh"),
            path.display().to_string(),
            "0.3".into(),
        ],
    )
    .ready_when(Readiness::pid_file(&path))
    .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let written: u32 = std::fs::read_to_string(&path)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid");
    assert_eq!(Some(written), executor.pid());
    executor.stop().await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_conditions_must_hold() {
    let mut executor = Executor::new(
        "slow",
        [
            "perl".into(),
            fixture("tcp_server.pl"),
            "{port}".into(),
            "0.3".into(),
        ],
    )
    .ready_when(Readiness::all([
        Readiness::tcp("127.0.0.1:{port}"),
        Readiness::output("listening on 127.0.0.1:{port}"),
    ]))
    .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let port = executor.port().expect("port");
    assert_eq!(
        executor.output_lines(),
        [format!("listening on 127.0.0.1:{port}")]
    );
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("accepts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_is_substituted_in_command_environment_and_condition() {
    let mut executor = Executor::new("ports", [fixture("echo_port.sh"), "{port}".into()])
        .env("PORT_FROM_ENV", "{port}")
        .ready_when(Readiness::output(
            "argument port {port}, environment port {port}$",
        ))
        .timeout(PATIENCE);
    assert_eq!(executor.port(), None, "allocated at start, not before");
    executor.start().await.expect("ready");
    let port = executor.port().expect("allocated");
    assert_ne!(port, 0);
    assert_eq!(
        executor.output_lines(),
        [format!("argument port {port}, environment port {port}")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_runs_a_command_line_and_current_dir_applies() {
    let dir = scratch("cwd");
    let mut executor = Executor::shell("shell", "echo \"in $(pwd)\"; exec sleep 1000")
        .current_dir(&dir)
        .ready_when(Readiness::output("^in "))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let canonical = dir.canonicalize().expect("dir");
    assert_eq!(
        executor.output_lines(),
        [format!("in {}", canonical.display())]
    );
}

// ----------------------------------------------------------------- failures

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_program_is_a_spawn_error_naming_it() {
    let mut executor = Executor::new("ghost", ["/no/such/program", "--flag"]);
    let error = executor.start().await.expect_err("cannot spawn");
    match &error {
        OrchestrationError::Spawn {
            name,
            program,
            source,
        } => {
            assert_eq!(name, "ghost");
            assert_eq!(program, "/no/such/program");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("unexpected {other}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("/no/such/program") && message.contains("ghost"),
        "{message}"
    );
    assert!(!executor.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_command_or_bad_pattern_is_a_configuration_error() {
    let mut empty = Executor::new("empty", Vec::<String>::new());
    assert!(matches!(
        empty.start().await,
        Err(OrchestrationError::InvalidConfiguration { .. })
    ));
    let mut bad =
        Executor::new("bad", ["sleep", "1000"]).ready_when(Readiness::output("(unclosed"));
    let error = bad.start().await.expect_err("bad pattern");
    assert!(
        matches!(error, OrchestrationError::InvalidConfiguration { .. }),
        "{error}"
    );
    assert_eq!(bad.pid(), None, "nothing was spawned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exiting_before_ready_reports_the_status_and_the_last_20_lines() {
    let mut executor = Executor::new("quitter", [fixture("exit_early.sh")])
        .ready_when(Readiness::output("never printed"))
        .timeout(PATIENCE);
    let error = executor.start().await.expect_err("exits with 3");
    match &error {
        OrchestrationError::ExitedBeforeReady {
            name,
            status,
            last_lines,
            written,
        } => {
            assert_eq!(name, "quitter");
            assert_eq!(written.lines, 26, "every line counted");
            assert_eq!(status.code(), Some(3));
            assert_eq!(last_lines.len(), 20);
            assert!(last_lines.contains(&"fatal: cannot read the configuration".to_owned()));
            assert!(
                !last_lines.contains(&"starting step 1".to_owned()),
                "only the last 20"
            );
        }
        other => panic!("unexpected {other}"),
    }
    let message = error.to_string();
    assert!(
        message.starts_with("quitter exited before it was ready (exit status: 3)"),
        "{message}"
    );
    assert!(
        message.contains("\n    fatal: cannot read the configuration"),
        "indented: {message}"
    );
    assert_eq!(
        executor.output_lines().len(),
        26,
        "all output kept in the buffer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_ready_times_out_naming_the_condition_and_kills_the_group() {
    let mut executor = Executor::new("sluggard", [fixture("never_ready.sh")])
        .ready_when(Readiness::tcp("127.0.0.1:{port}"))
        .timeout(Duration::from_secs(2));
    let error = executor.start().await.expect_err("never ready");
    let port = executor.port().expect("port");
    match &error {
        OrchestrationError::NotReadyInTime {
            name,
            condition,
            elapsed,
            last_lines,
            ..
        } => {
            assert_eq!(name, "sluggard");
            assert_eq!(
                condition,
                &format!("TCP 127.0.0.1:{port} to accept connections")
            );
            assert!(*elapsed >= Duration::from_secs(2), "{elapsed:?}");
            assert_eq!(last_lines, &["starting, but never ready"]);
        }
        other => panic!("unexpected {other}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("sluggard was not ready after"),
        "{message}"
    );
    assert!(
        message.contains("\n    starting, but never ready"),
        "{message}"
    );
    assert!(!executor.is_running());
    assert_group_gone(executor.process_group().expect("group"));
}

// ---------------------------------------------------------- stop, kill, drop

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_sends_sigterm_and_reports_the_exit_status() {
    let mut executor = Executor::new("sleeper", ["sleep", "1000"]);
    executor.start().await.expect("started");
    let status = executor
        .stop()
        .await
        .expect("stopped")
        .expect("was running");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15)
    );
    assert_eq!(
        executor.stop().await.expect("no-op"),
        None,
        "stopping twice is harmless"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stop_signal_is_configurable() {
    let mut executor = Executor::new("sleeper", ["sleep", "1000"]).stop_signal(Signal::SIGINT);
    executor.start().await.expect("started");
    let status = executor
        .stop()
        .await
        .expect("stopped")
        .expect("was running");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(2)
    );
}

#[test]
fn a_run_started_with_sigint_ignored_still_stops_its_processes_by_sigint() {
    // A shell starts `cargo test &` with SIGINT and SIGQUIT ignored, and an
    // ignored signal survives exec: the executor must give its children the
    // defaults back, or the stop above ends in SIGKILL.
    let mut run = std::process::Command::new(std::env::current_exe().expect("this test"));
    run.args([
        "orchestration::the_stop_signal_is_configurable",
        "--exact",
        "--test-threads=1",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    #[allow(unsafe_code)]
    // SAFETY: only sigaction, async-signal-safe, between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut run, || {
            for signal in [Signal::SIGINT, Signal::SIGQUIT] {
                nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigIgn)?;
            }
            Ok(())
        });
    }
    let output = run.output().expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_takes_grandchildren_down_with_the_group() {
    let mut executor = Executor::new("family", [fixture("grandchildren.sh")])
        .ready_when(family_ready())
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let group = executor.process_group().expect("group");
    let descendants = announced_pids(&executor);
    assert_eq!(descendants.len(), 3, "{:?}", executor.output_lines());
    assert!(
        executor.leftover_processes().len() >= 4,
        "leader and descendants are in the group"
    );
    executor.stop().await.expect("stopped");
    assert_group_gone(group);
    assert!(executor.leftover_processes().is_empty());
    for pid in descendants {
        assert!(!alive(pid), "descendant {pid} survived");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_ignoring_group_is_killed_after_the_grace_period() {
    let mut executor = Executor::new("stubborn", [fixture("ignore_term.sh")])
        .ready_when(family_ready())
        .grace(Duration::from_millis(200))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let group = executor.process_group().expect("group");
    let descendants = announced_pids(&executor);
    assert_eq!(descendants.len(), 3);
    let status = executor
        .stop()
        .await
        .expect("stopped")
        .expect("was running");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "SIGKILL"
    );
    assert_group_gone(group);
    for pid in descendants {
        assert!(!alive(pid), "descendant {pid} survived");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_is_immediate_and_takes_the_group() {
    let mut executor = Executor::new("stubborn", [fixture("ignore_term.sh")])
        .ready_when(Readiness::output("^ready$"))
        .grace(Duration::from_secs(3600))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let group = executor.process_group().expect("group");
    let status = executor.kill().expect("reaped");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert!(
        group_disappears(group).await,
        "{:?}",
        processes_in_group(group)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_running_executor_kills_its_group_synchronously() {
    let mut executor = Executor::new("family", [fixture("grandchildren.sh")])
        .ready_when(Readiness::output("^ready$"))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let group = executor.process_group().expect("group");
    let leader = executor.pid().expect("pid");
    drop(executor);
    assert!(
        !alive(leader),
        "the leader is dead and reaped when drop returns"
    );
    assert!(
        group_disappears(group).await,
        "{:?}",
        processes_in_group(group)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_test_leaks_nothing() {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut executor = Executor::new("family", [fixture("grandchildren.sh")])
            .ready_when(Readiness::output("^ready$"))
            .timeout(PATIENCE);
        executor.start().await.expect("ready");
        let _ = sender.send(executor.process_group().expect("group"));
        panic!("a failed assertion in the middle of a test");
    });
    let group = receiver.await.expect("the task reported its group");
    assert!(task.await.expect_err("the task panicked").is_panic());
    assert!(
        group_disappears(group).await,
        "{:?}",
        processes_in_group(group)
    );
}

// ------------------------------------------------- escapees and the reaper

/// The pids escapees.sh announced: a `setsid` child, a double-forked orphan
/// and a daemon that did both.
fn escapees(executor: &Executor) -> Vec<u32> {
    executor
        .output_lines()
        .iter()
        .filter_map(|line| line.strip_prefix("escapee "))
        .filter_map(|pid| pid.trim().parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_takes_down_descendants_that_left_the_group_and_the_parent() {
    let mut executor = Executor::new("escaping", [fixture("escapees.sh")])
        .ready_when(Readiness::output("^ready$"))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let group = executor.process_group().expect("group");
    let escaped = escapees(&executor);
    assert_eq!(escaped.len(), 3, "{:?}", executor.output_lines());
    let in_group: Vec<u32> = processes_in_group(group).iter().map(|(p, _)| *p).collect();
    for pid in &escaped {
        assert!(alive(*pid), "escapee {pid} runs");
    }
    assert!(
        escaped.iter().filter(|p| !in_group.contains(p)).count() >= 2,
        "the setsid ones are outside the group: {in_group:?} vs {escaped:?}"
    );
    let leftovers: Vec<u32> = executor
        .leftover_processes()
        .iter()
        .map(|(p, _)| *p)
        .collect();
    for pid in &escaped {
        assert!(
            leftovers.contains(pid),
            "{pid} is counted as the executor's"
        );
    }
    executor.stop().await.expect("stopped, escapees included");
    for pid in escaped {
        assert!(!alive(pid), "escapee {pid} survived stop()");
    }
    assert!(executor.leftover_processes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_an_executor_kills_its_escapees_too() {
    let mut executor = Executor::new("escaping", [fixture("escapees.sh")])
        .ready_when(Readiness::output("^ready$"))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let escaped = escapees(&executor);
    assert_eq!(escaped.len(), 3, "{:?}", executor.output_lines());
    drop(executor);
    for pid in escaped {
        assert!(!alive(pid), "escapee {pid} survived the drop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_child_carries_the_mark_of_this_run() {
    let mut executor = Executor::new(
        "marked",
        ["sh", "-c", "echo \"mark $DISCOS_REAPER\"; exec sleep 1000"],
    )
    .ready_when(Readiness::output("^mark "))
    .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let line = executor.output_lines().join("\n");
    assert!(
        line.contains(reaper().run_mark()),
        "{REAPER_ENV} carries {}: {line}",
        reaper().run_mark()
    );
    assert!(
        reaper()
            .processes()
            .iter()
            .any(|(pid, _)| Some(*pid) == executor.pid()),
        "the reaper counts it among this run's processes"
    );
    executor.stop().await.expect("stopped");
}

/// The name of [`a_test_process_holding_an_executor`], for the test that
/// runs it in a process of its own and kills that.
const HOLDER: &str = "orchestration::a_test_process_holding_an_executor";

/// Not a test on its own: the body of a test process that the next test
/// kills. With `FAMILY_LOG` set, it starts escapees.sh, says so on stdout
/// and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by whatever_ends_a_test_process_its_processes_are_gone_within_2_s"]
async fn a_test_process_holding_an_executor() {
    if std::env::var_os("FAMILY_LOG").is_none() {
        return;
    }
    let mut executor = Executor::new("escaping", [fixture("escapees.sh")])
        .ready_when(Readiness::output("^ready$"))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    println!("holding {}", escapees(&executor).len());
    std::future::pending::<()>().await;
}

#[test]
fn whatever_ends_a_test_process_its_processes_are_gone_within_2_s() {
    use std::io::BufRead as _;
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGKILL,
    ] {
        let dir = scratch("killed-test");
        let log = dir.join("family.log");
        let mut holder = std::process::Command::new(std::env::current_exe().expect("this test"));
        holder
            .args([HOLDER, "--exact", "--ignored", "--nocapture"])
            .env("FAMILY_LOG", &log)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        // A test process at a terminal dies of these signals; this one may
        // have been started with them ignored (`cargo test &` from a script
        // ignores SIGINT and SIGQUIT), which its child would inherit.
        #[allow(unsafe_code)]
        // SAFETY: only sigaction, async-signal-safe, between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut holder, || {
                for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
                    nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl)?;
                }
                Ok(())
            });
        }
        let mut holder = holder.spawn().expect("the holder starts");
        let stdout = holder.stdout.take().expect("stdout");
        let holding = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line == "holding 3");
        assert!(holding, "the holder started its family");
        let family: Vec<u32> = std::fs::read_to_string(&log)
            .expect("the family log")
            .lines()
            .filter_map(|pid| pid.parse().ok())
            .collect();
        assert_eq!(
            family.len(),
            5,
            "the shell, its three escapees and the unmarked child: {family:?}"
        );
        assert!(
            family.iter().all(|pid| alive(*pid)),
            "all running before the {signal}"
        );
        let pid = nix::unistd::Pid::from_raw(i32::try_from(holder.id()).unwrap());
        nix::sys::signal::kill(pid, signal).expect("signalled");
        let status = holder.wait().expect("the holder ends");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(signal as i32),
            "libtest does not handle {signal}"
        );
        let mut left: Vec<u32> = family.clone();
        // /proc has no events: look again until the 2 s are up.
        let mut poller = Poller::within(
            Duration::from_secs(2),
            Pace::every(Duration::from_millis(5)),
        );
        while !left.is_empty() && poller.pause_blocking() {
            left.retain(|pid| alive(*pid));
        }
        assert!(
            left.is_empty(),
            "after {signal}, still alive 2 s later: {left:?}"
        );
    }
}

#[test]
fn the_child_dies_when_the_thread_that_spawned_it_dies() {
    // PR_SET_PDEATHSIG fires when the spawning thread ends; the executor is
    // leaked on purpose so that only the kernel can kill the child.
    let group = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let mut executor = Executor::new("orphan", ["sleep", "1000"]);
            executor.start().await.expect("spawned");
            let group = executor.process_group().expect("group");
            std::mem::forget(executor);
            group
        })
    })
    .join()
    .expect("thread");
    // /proc has no events: look again until the limit.
    let mut poller = Poller::within(PATIENCE, Pace::every(Duration::from_millis(5)));
    while !processes_in_group(group).is_empty() && poller.pause_blocking() {}
    assert_group_gone(group);
}

// ------------------------------------------------------------------ output

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_bounded_and_readable_while_running_and_after() {
    let mut executor = Executor::new("chatty", [fixture("many_lines.sh"), "50".into()])
        .output_capacity(5)
        .echo(true)
        .ready_when(Readiness::output("^line 50$"))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let expected = ["line 46", "line 47", "line 48", "line 49", "line 50"];
    assert_eq!(executor.output_lines(), expected, "while running");
    executor.stop().await.expect("stopped");
    assert_eq!(executor.output_lines(), expected, "after stop");
}

// ------------------------------------------------------- stopped and restart

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_stopped_stops_then_restarts_on_the_same_port() {
    let mut executor = Executor::new("sim", [sim(), "serve", "--port", "{port}"])
        .ready_when(Readiness::tcp("127.0.0.1:{port}"))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let port = executor.port().expect("port");
    let first = executor.pid();
    let (refused, running) = executor
        .while_stopped(async || (TcpStream::connect(("127.0.0.1", port)).await.is_err(), ()))
        .await
        .expect("restarted");
    let () = running;
    assert!(refused, "nothing listens while stopped");
    assert!(executor.is_running());
    assert_ne!(executor.pid(), first, "a new process");
    assert_eq!(executor.port(), Some(port));
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("accepts again");
    executor.stop().await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stopped_guard_restarts_explicitly_or_when_dropped() {
    let mut executor = Executor::new("sim", [sim(), "serve", "--port", "{port}"])
        .ready_when(Readiness::tcp("127.0.0.1:{port}"))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let port = executor.port().expect("port");

    let guard = executor.stopped().await.expect("stopped");
    assert!(!guard.executor().is_running());
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    guard.restart().await.expect("restarted");
    assert!(executor.is_running());
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("accepts after restart");

    {
        let _guard = executor.stopped().await.expect("stopped");
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    } // dropped: restarts and waits until ready, as mirakuru's stopped() does
    assert!(executor.is_running());
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("accepts after drop");
    executor.stop().await.expect("stopped");
}

// -------------------------------------------------------------- discos-sim

async fn exchange(port: u16) -> String {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (read, mut write) = stream.into_split();
    write.write_all(b"?get-status\r\n").await.expect("send");
    let mut reply = String::new();
    let mut reader = BufReader::new(read);
    tokio::time::timeout(PATIENCE, reader.read_line(&mut reply))
        .await
        .expect("a reply in time")
        .expect("read");
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discos_sim_through_a_tcp_executor() {
    let mut executor = Executor::new("discos-sim", [sim(), "serve", "--port", "{port}"])
        .ready_when(Readiness::tcp("127.0.0.1:{port}"))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let reply = exchange(executor.port().expect("port")).await;
    assert!(reply.starts_with('!'), "a protocol reply: {reply}");
    let group = executor.process_group().expect("group");
    let status = executor
        .stop()
        .await
        .expect("stopped")
        .expect("was running");
    assert!(
        status.success(),
        "discos-sim shuts down cleanly on SIGTERM: {status}"
    );
    assert_group_gone(group);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discos_sim_through_an_output_executor() {
    let mut executor = Executor::new("discos-sim", [sim(), "serve", "--port", "{port}"])
        .ready_when(Readiness::output(r"^listening on 127\.0\.0\.1:{port}$"))
        .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let reply = exchange(executor.port().expect("port")).await;
    assert!(reply.starts_with('!'), "a protocol reply: {reply}");
    let status = executor
        .stop()
        .await
        .expect("stopped")
        .expect("was running");
    assert!(status.success(), "{status}");
    assert!(executor.leftover_processes().is_empty());
}

// ------------------------------------------------------------- orchestrator

fn logs_stop(name: &str, log: &std::path::Path) -> Executor {
    Executor::new(
        name,
        [
            fixture("logs_stop.sh"),
            name.into(),
            log.display().to_string(),
        ],
    )
    .ready_when(Readiness::output(format!("^{name} ready$")))
    .timeout(PATIENCE)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_starts_in_dependency_order_and_stops_in_reverse() {
    let log = scratch("chain").join("stops.log");
    // Added out of order on purpose: dependencies, not insertion, decide.
    let mut orchestrator = Orchestrator::new("chain")
        .service(logs_stop("c", &log), ["b"])
        .service(logs_stop("b", &log), ["a"])
        .service(logs_stop("a", &log), Vec::<String>::new());
    orchestrator.start().await.expect("all ready");
    assert_eq!(orchestrator.start_order(), ["a", "b", "c"]);
    assert!(orchestrator.is_running());
    let groups: Vec<i32> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            orchestrator
                .executor(name)
                .and_then(Executor::process_group)
                .expect("group")
        })
        .collect();
    orchestrator.stop().await.expect("stopped");
    assert_eq!(std::fs::read_to_string(&log).expect("log"), "c\nb\na\n");
    for group in groups {
        assert_group_gone(group);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_services_start_concurrently() {
    let flag = scratch("concurrent").join("flag");
    // `waiter` can only become ready once `creator` runs; started one after
    // the other in insertion order, it would time out.
    let waiter = Executor::new(
        "waiter",
        [fixture("waits_for_file.sh"), flag.display().to_string()],
    )
    .ready_when(Readiness::output("^saw "))
    .timeout(PATIENCE);
    let creator = Executor::new(
        "creator",
        [fixture("creates_file.sh"), flag.display().to_string()],
    )
    .ready_when(Readiness::output("^created "))
    .timeout(PATIENCE);
    let mut orchestrator = Orchestrator::new("pair")
        .service(waiter, Vec::<String>::new())
        .service(creator, Vec::<String>::new());
    orchestrator.start().await.expect("both ready");
    let mut order = orchestrator.start_order();
    order.sort_unstable();
    assert_eq!(order, ["creator", "waiter"]);
    orchestrator.stop().await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_service_in_a_chain_stops_what_started_and_is_named() {
    let log = scratch("failing-chain").join("stops.log");
    let third = Executor::new("c", [fixture("exit_early.sh")])
        .ready_when(Readiness::output("never printed"))
        .timeout(PATIENCE);
    let fourth = logs_stop("d", &log);
    let mut orchestrator = Orchestrator::new("chain")
        .service(logs_stop("a", &log), Vec::<String>::new())
        .service(logs_stop("b", &log), ["a"])
        .service(third, ["b"])
        .service(fourth, ["c"]);
    let error = orchestrator.start().await.expect_err("c fails");
    match &error {
        OrchestrationError::ServiceFailed { service, source } => {
            assert_eq!(service, "c");
            assert!(
                matches!(**source, OrchestrationError::ExitedBeforeReady { .. }),
                "{source}"
            );
        }
        other => panic!("unexpected {other}"),
    }
    let message = error.to_string();
    assert!(
        message.starts_with("service c failed to start: c exited before it was ready"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(&log).expect("log"),
        "b\na\n",
        "stopped in reverse"
    );
    assert_eq!(
        orchestrator.executor("d").and_then(Executor::pid),
        None,
        "d never started"
    );
    assert_eq!(
        orchestrator.executor("d").and_then(Executor::process_group),
        None
    );
    for name in ["a", "b", "c"] {
        let group = orchestrator
            .executor(name)
            .and_then(Executor::process_group)
            .expect("group");
        assert_group_gone(group);
    }
    assert!(!orchestrator.is_running());
}

/// A service whose stop fails, to show the orchestrator stops the others anyway.
struct FailsToStop {
    running: bool,
}

#[async_trait]
impl Service for FailsToStop {
    fn name(&self) -> &str {
        "fails-to-stop"
    }
    async fn start(&mut self) -> Result<(), OrchestrationError> {
        self.running = true;
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), OrchestrationError> {
        Err(OrchestrationError::InvalidConfiguration {
            name: "fails-to-stop".into(),
            reason: "refuses to stop".into(),
        })
    }
    fn kill(&mut self) {
        self.running = false;
    }
    fn is_running(&self) -> bool {
        self.running
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_goes_on_past_a_failing_stop_and_reports_it() {
    let log = scratch("stop-failure").join("stops.log");
    let mut orchestrator = Orchestrator::new("mixed")
        .service(logs_stop("a", &log), Vec::<String>::new())
        .service(FailsToStop { running: false }, ["a"])
        .service(logs_stop("c", &log), ["fails-to-stop"]);
    orchestrator.start().await.expect("ready");
    let error = orchestrator.stop().await.expect_err("one stop failed");
    match &error {
        OrchestrationError::StopFailed { failures, .. } => {
            assert_eq!(failures.len(), 1);
            assert_eq!(failures[0].0, "fails-to-stop");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(
        error
            .to_string()
            .contains("fails-to-stop: cannot start fails-to-stop: refuses to stop"),
        "{error}"
    );
    assert_eq!(
        std::fs::read_to_string(&log).expect("log"),
        "c\na\n",
        "both executors stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_dependencies_duplicates_and_cycles_are_reported() {
    let mut unknown = Orchestrator::new("o").service(Executor::new("a", ["true"]), ["nobody"]);
    let error = unknown.start().await.expect_err("unknown");
    assert!(
        matches!(&error, OrchestrationError::UnknownDependency { dependency, .. } if dependency == "nobody"),
        "{error}"
    );

    let mut duplicate = Orchestrator::new("o")
        .service(Executor::new("a", ["sleep", "1000"]), Vec::<String>::new())
        .service(Executor::new("a", ["sleep", "1000"]), Vec::<String>::new());
    assert!(matches!(
        duplicate.start().await,
        Err(OrchestrationError::DuplicateService { .. })
    ));

    let mut cycle = Orchestrator::new("o")
        .service(
            Executor::new("free", ["sleep", "1000"]),
            Vec::<String>::new(),
        )
        .service(Executor::new("x", ["sleep", "1000"]), ["y"])
        .service(Executor::new("y", ["sleep", "1000"]), ["x"]);
    let error = cycle.start().await.expect_err("cycle");
    assert!(
        matches!(&error, OrchestrationError::DependencyCycle { services, .. } if services == &["x", "y"]),
        "{error}"
    );
    assert_eq!(
        cycle.executor("free").and_then(Executor::pid),
        None,
        "refused before anything started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestrated_guard_kills_everything_when_dropped() {
    let orchestrator = Orchestrator::new("guarded")
        .service(
            Executor::new("sim", [sim(), "serve", "--port", "{port}"])
                .ready_when(Readiness::tcp("127.0.0.1:{port}"))
                .timeout(PATIENCE),
            Vec::<String>::new(),
        )
        .service(
            Executor::new("family", [fixture("grandchildren.sh")])
                .ready_when(Readiness::output("^ready$"))
                .timeout(PATIENCE),
            ["sim"],
        );
    let guard = orchestrated(orchestrator).await.expect("ready");
    let port = guard
        .executor("sim")
        .and_then(Executor::port)
        .expect("port");
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("accepts");
    let groups: Vec<i32> = ["sim", "family"]
        .iter()
        .map(|name| {
            guard
                .executor(name)
                .and_then(Executor::process_group)
                .expect("group")
        })
        .collect();
    drop(guard);
    for group in groups {
        assert!(
            group_disappears(group).await,
            "{:?}",
            processes_in_group(group)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestrated_guard_stops_gracefully_on_request() {
    let log = scratch("guard").join("stops.log");
    let guard = orchestrated(
        Orchestrator::new("guarded")
            .service(logs_stop("a", &log), Vec::<String>::new())
            .service(logs_stop("b", &log), ["a"]),
    )
    .await
    .expect("ready");
    guard.stop().await.expect("stopped");
    assert_eq!(std::fs::read_to_string(&log).expect("log"), "b\na\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestrator_is_a_service_and_can_nest() {
    let inner = Orchestrator::new("inner").service(
        Executor::new("sim", [sim(), "serve", "--port", "{port}"])
            .ready_when(Readiness::tcp("127.0.0.1:{port}"))
            .timeout(PATIENCE),
        Vec::<String>::new(),
    );
    let mut outer = Orchestrator::new("outer").service(inner, Vec::<String>::new());
    let service: &mut dyn Service = &mut outer;
    service.start().await.expect("ready");
    assert!(service.is_running());
    service.stop().await.expect("stopped");
    assert!(!service.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_output_is_kept_as_a_short_tail_and_counted() {
    // 64 MiB with no line break, then a last line, then an exit.
    let mut executor = Executor::shell(
        "flood",
        "head -c 67108864 /dev/zero; echo; echo 'fatal: gave up'; exit 4",
    )
    .ready_when(Readiness::output("never printed"))
    .timeout(PATIENCE);
    let error = executor.start().await.expect_err("exits with 4");
    let OrchestrationError::ExitedBeforeReady { written, .. } = &error else {
        panic!("unexpected {error}");
    };
    assert_eq!(written.lines, 2);
    assert_eq!(
        written.bytes,
        67108864 + 1 + "fatal: gave up\n".len() as u64
    );
    let message = error.to_string();
    assert!(message.len() < 4096, "{} bytes", message.len());
    assert!(message.contains("\n    fatal: gave up"), "{message}");
    assert!(message.contains("67108880 byte(s) in all"), "{message}");
    let kept: usize = executor.output_lines().iter().map(String::len).sum();
    assert!(kept < 2048, "{kept} bytes kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_descendant_that_leaves_its_group_and_sheds_its_mark_is_stopped_by_its_cgroup() {
    use discos_acceptance::orchestration::Confinement;
    if let Confinement::Marks(why) = reaper().confinement() {
        eprintln!(
            "skipped: no cgroup can be made here ({why}), and without one this descendant escapes by design"
        );
        return;
    }
    let mut executor = Executor::shell(
        "vanishing",
        "setsid env -i sleep 1000 </dev/null >/dev/null 2>&1 & echo \"gone $!\"; exec sleep 1000",
    )
    .ready_when(Readiness::output("^gone "))
    .timeout(PATIENCE);
    executor.start().await.expect("ready");
    let cgroup = executor.cgroup().expect("a cgroup of its own").to_owned();
    let pid: u32 = executor.output_lines()[0]["gone ".len()..]
        .parse()
        .expect("a pid");
    // Until it has become `sleep`, it may still carry the mark.
    // /proc has no events: look again until the limit.
    let mut poller = Poller::within(PATIENCE, Pace::every(Duration::from_millis(1)));
    while std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default() != b"sleep\x001000\x00"
        && poller.pause().await
    {}
    let environment = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    assert!(environment.is_empty(), "env -i cleared it");
    assert_ne!(
        process_group(pid),
        executor.process_group(),
        "setsid took it out of the group"
    );
    assert!(
        executor.leftover_processes().iter().any(|(p, _)| *p == pid),
        "its cgroup holds it"
    );
    executor
        .stop()
        .await
        .expect("stopped, the escapee included");
    assert!(!alive(pid), "{pid} survived stop()");
    assert!(
        !cgroup.exists(),
        "{} removed after the stop",
        cgroup.display()
    );
}

/// The process group of `pid`, from `/proc/PID/stat`; `None` once it has ended.
pub(crate) fn process_group(pid: u32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}
