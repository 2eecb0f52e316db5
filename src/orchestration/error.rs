//! Why a start or a stop failed, in words a test author can act on: which
//! service, which program, which condition, how long, and what it last said.

use std::fmt::Write as _;
use std::io;
use std::process::ExitStatus;
use std::time::Duration;

/// How many of a process's last output lines an error carries: enough to see
/// the stack trace or the "address in use" that explains the failure.
pub const LAST_LINES: usize = 20;

/// Everything that can go wrong when starting or stopping a service.
///
/// Each variant is its own case so a test can match on the failure it expects
/// (a fixture that exits early, one that never becomes ready) instead of
/// parsing a message.
#[derive(Debug, thiserror::Error)]
pub enum OrchestrationError {
    /// The program could not be spawned at all (not found, not executable).
    #[error("cannot start {name}: cannot spawn `{program}`: {source}")]
    Spawn {
        name: String,
        program: String,
        #[source]
        source: io::Error,
    },
    /// The command has nothing to run, or its readiness condition cannot be
    /// understood; caught before anything is spawned.
    #[error("cannot start {name}: {reason}")]
    InvalidConfiguration { name: String, reason: String },
    /// No free local port could be had for `{port}`.
    #[error("cannot start {name}: no free local port for {{port}}: {source}")]
    NoFreePort {
        name: String,
        #[source]
        source: io::Error,
    },
    /// The process ended before its readiness condition held.
    #[error(
        "{name} exited before it was ready ({status}){}",
        output_excerpt(last_lines)
    )]
    ExitedBeforeReady {
        name: String,
        status: ExitStatus,
        last_lines: Vec<String>,
    },
    /// The readiness condition did not hold within the timeout; the process
    /// has been killed with its group.
    #[error(
        "{name} was not ready after {elapsed:.1?}: still waiting for {condition}{}",
        output_excerpt(last_lines)
    )]
    NotReadyInTime {
        name: String,
        condition: String,
        elapsed: Duration,
        last_lines: Vec<String>,
    },
    /// A signal could not be delivered to the process group (other than
    /// because the group is already gone).
    #[error("cannot signal {name} (process group {process_group}): {source}")]
    Signal {
        name: String,
        process_group: i32,
        #[source]
        source: nix::Error,
    },
    /// Waiting for the process failed at the operating-system level.
    #[error("cannot wait for {name}: {source}")]
    Wait {
        name: String,
        #[source]
        source: io::Error,
    },
    /// After SIGKILL and the bounded wait, members of the group are still
    /// alive (a process stuck in the kernel, typically).
    #[error(
        "{name} left processes behind in group {process_group}:{}",
        processes_list(processes)
    )]
    LeftProcesses {
        name: String,
        process_group: i32,
        processes: Vec<(u32, String)>,
    },
    /// Processes that a service started and that had left its process
    /// group (a daemon, a helper in a session of its own) were still alive
    /// after it stopped, even after SIGKILL.
    #[error(
        "{name} left processes behind outside its process group:{}",
        processes_list(processes)
    )]
    Escaped {
        name: String,
        processes: Vec<(u32, String)>,
    },
    /// A service that is not (only) a process could not start or stop, and
    /// says why: how services built in a test's own process report failure.
    #[error("{name}: {reason}")]
    Failed { name: String, reason: String },
    /// An orchestrated service failed to start; whatever had started was
    /// stopped again, in reverse order.
    #[error("service {service} failed to start: {source}")]
    ServiceFailed {
        service: String,
        #[source]
        source: Box<OrchestrationError>,
    },
    /// A service depends on a name the orchestrator does not know.
    #[error("service {service} depends on {dependency}, which is not a service of {orchestrator}")]
    UnknownDependency {
        orchestrator: String,
        service: String,
        dependency: String,
    },
    /// Two services share a name, so dependencies on it would be ambiguous.
    #[error("{orchestrator} has two services named {service}")]
    DuplicateService {
        orchestrator: String,
        service: String,
    },
    /// The dependencies form a cycle, so none of these can ever start.
    #[error("services of {orchestrator} depend on each other in a cycle: {}", services.join(", "))]
    DependencyCycle {
        orchestrator: String,
        services: Vec<String>,
    },
    /// One or more services failed to stop; every other one was still stopped.
    #[error("{orchestrator}: {} service(s) failed to stop:{}", failures.len(), failures_list(failures))]
    StopFailed {
        orchestrator: String,
        failures: Vec<(String, OrchestrationError)>,
    },
}

/// The last lines of a process's output, indented under a heading, as every
/// message about a process quotes them.
pub(crate) fn output_excerpt(last_lines: &[String]) -> String {
    if last_lines.is_empty() {
        return "\n  (no output)".to_owned();
    }
    let mut text = format!("\n  last {} line(s) of output:", last_lines.len());
    for line in last_lines {
        let _ = write!(text, "\n    {line}");
    }
    text
}

fn processes_list(processes: &[(u32, String)]) -> String {
    let mut text = String::new();
    for (pid, command) in processes {
        let _ = write!(text, "\n  {pid} {command}");
    }
    text
}

fn failures_list(failures: &[(String, OrchestrationError)]) -> String {
    let mut text = String::new();
    for (service, error) in failures {
        let message = error.to_string().replace('\n', "\n    ");
        let _ = write!(text, "\n  {service}: {message}");
    }
    text
}
