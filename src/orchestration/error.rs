//! Why a start or a stop failed, in words a test author can act on: which
//! service, which program, which condition, how long, and what it last said.

use std::fmt::Write as _;
use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use super::output::Written;

/// How many of a process's last output lines an error carries: enough to see
/// the stack trace or the "address in use" that explains the failure.
pub const LAST_LINES: usize = 20;
/// The most bytes of one output line a message quotes (control characters
/// counted as their escapes).
const QUOTED_LINE: usize = 150;
/// The most bytes of output a message quotes: with the rest of it, a
/// message stays under 4 KiB whatever the process wrote.
const QUOTED_BYTES: usize = 3 * 1024;

/// Everything that can go wrong when starting or stopping a service.
///
/// Each variant is its own case so a test can match on the failure it expects
/// (a fixture that exits early, one that never becomes ready) instead of
/// parsing a message.
// Each variant's fields are the words of its message, which says what they are.
#[allow(missing_docs)]
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
        output_excerpt(last_lines, *written)
    )]
    ExitedBeforeReady {
        name: String,
        status: ExitStatus,
        last_lines: Vec<String>,
        /// How much it wrote in all, of which `last_lines` is the end.
        written: Written,
    },
    /// The readiness condition did not hold within the timeout; the process
    /// has been killed with its group.
    #[error(
        "{name} was not ready after {elapsed:.1?}: still waiting for {condition}{}",
        output_excerpt(last_lines, *written)
    )]
    NotReadyInTime {
        name: String,
        condition: String,
        elapsed: Duration,
        last_lines: Vec<String>,
        /// How much it wrote in all, of which `last_lines` is the end.
        written: Written,
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
/// message about a process quotes them: newest first kept, each cut to
/// about [`QUOTED_LINE`] bytes, no more than [`QUOTED_BYTES`] in all, control
/// characters escaped, and the heading saying how much of `written` is not
/// shown.
pub(crate) fn output_excerpt(last_lines: &[String], written: Written) -> String {
    if last_lines.is_empty() && written.bytes == 0 {
        return "\n  (no output)".to_owned();
    }
    let mut quoted = Vec::new();
    let mut budget = QUOTED_BYTES;
    let mut shown_bytes = 0;
    for line in last_lines.iter().rev() {
        let (shown, used) = quoted_part(line);
        if shown.len() > budget {
            break;
        }
        budget -= shown.len();
        shown_bytes += used + 1;
        quoted.push(shown);
    }
    quoted.reverse();
    let mut text = if written.lines > quoted.len() as u64 || written.bytes > shown_bytes as u64 {
        format!(
            "\n  last {} line(s) of output ({} line(s), {} byte(s) in all; {} byte(s) not shown):",
            quoted.len(),
            written.lines,
            written.bytes,
            written.bytes.saturating_sub(shown_bytes as u64)
        )
    } else {
        format!("\n  last {} line(s) of output:", quoted.len())
    };
    for line in quoted {
        let _ = write!(text, "\n    {line}");
    }
    text
}

/// One output line as a message shows it: control characters escaped, at
/// about [`QUOTED_LINE`] bytes, a cut said.
pub(crate) fn quote(line: &str) -> String {
    quoted_part(line).0
}

/// [`quote`]'s text, and how many bytes of `line` it shows.
fn quoted_part(line: &str) -> (String, usize) {
    let mut shown = String::new();
    for (at, c) in line.char_indices() {
        if shown.len() >= QUOTED_LINE {
            shown.push_str(" [cut]");
            return (shown, at);
        }
        if c.is_control() && c != '\t' {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    (shown, line.len())
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
