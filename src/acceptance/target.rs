//! Targets: which backend the features run against, and how it is started
//! and torn down for each scenario.
//!
//! - `embedded` (the default): the built-in simulator, served in-process on a
//!   free port, fresh for every scenario, so scenarios run concurrently.
//! - `cmd:<command with {port}>`: any backend, in any language, started as a
//!   fresh process per scenario and ready when its port accepts.
//! - `tcp://HOST:PORT`: a backend that is already running; scenarios share it
//!   and run one at a time.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;

use crate::address::Address;
use crate::backend::{BackendHandler, Catalogue, Simulator};
use crate::orchestration::{Executor, OrchestrationError, Readiness, command_line};
use crate::server::{Config, Server};
use crate::system::{has_environment, listeners_on};

/// The environment variable that carries a catalogue file to a backend
/// started by a `cmd:` target (`discos-sim serve` reads it as `--catalogue`).
pub const CATALOGUE_ENV: &str = "DISCOS_CATALOGUE";

/// How long a backend may take to shut down before its teardown fails.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);
/// How long the embedded simulator waits, at teardown, for clients still
/// connected to read their replies and close: well inside
/// [`SHUTDOWN_LIMIT`], so that a client left open shows as a leak and not
/// as a backend too slow to stop.
const EMBEDDED_GRACE: Duration = Duration::from_secs(1);
/// How long a backend may take to get ready unless `--ready-timeout` says:
/// generous, for interpreters and loaded CI machines; a failing start says
/// why anyway.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Which backend the features run against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The built-in simulator, in-process, fresh per scenario.
    Embedded,
    /// A command started per scenario; `{port}` is replaced by a free port.
    Command(String),
    /// An already running backend at `HOST:PORT`.
    Address(String),
}

/// How long a scenario's end listens, after the last line a client
/// received, for lines nobody asked for, unless `--settle` says: a second
/// reply a backend sends a moment later, once the client may have sent its
/// next request, comes within it on any machine.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(250);

impl Target {
    /// How long a scenario's end listens for lines nobody asked for unless
    /// `--settle` says: [`DEFAULT_SETTLE`] for a backend that is not ours,
    /// nothing for the embedded simulator, whose server's own tests prove
    /// that it answers once, at once, so a wait there would buy only time.
    pub fn default_settle(&self) -> Duration {
        match self {
            Target::Embedded => Duration::ZERO,
            Target::Command(_) | Target::Address(_) => DEFAULT_SETTLE,
        }
    }

    /// Why this target cannot be started with `ready_when`, if it cannot: a
    /// `cmd:` backend must be given its port (`{port}`) or announce the one
    /// it picked (a `--ready-when` pattern capturing it).
    pub fn check(&self, ready_when: Option<&ReadyWhen>) -> Result<(), String> {
        match self {
            Target::Command(command)
                if !command.contains("{port}")
                    && !ready_when.is_some_and(|ready| ready.captures_port) =>
            {
                Err(format!(
                    "the cmd: target '{command}' has no {{port}}: write {{port}} where the backend's port goes, e.g. cmd:discos-sim serve --port {{port}}, or let it pick a port and announce it, with --ready-when 'listening on .*:(\\d+)'"
                ))
            }
            Target::Embedded | Target::Address(_) if ready_when.is_some() => Err(format!(
                "--ready-when is for cmd: targets, which start a backend; {self} does not"
            )),
            _ => Ok(()),
        }
    }

    /// Whether scenarios share one backend (and so must run one at a time and
    /// cannot have a fresh one).
    pub fn is_shared(&self) -> bool {
        matches!(self, Target::Address(_))
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Target, String> {
        if text == "embedded" {
            return Ok(Target::Embedded);
        }
        if let Some(command) = text.strip_prefix("cmd:") {
            if command.trim().is_empty() {
                return Err(
                    "the cmd: target has no command; e.g. cmd:discos-sim serve --port {port}"
                        .into(),
                );
            }
            return Ok(Target::Command(command.to_owned()));
        }
        if text.starts_with("tcp://") || text.contains(':') {
            return text
                .parse::<Address>()
                .map(|address| Target::Address(address.to_string()));
        }
        Err(format!(
            "unknown target '{text}'; expected embedded, cmd:<command with {{port}}> or tcp://HOST:PORT"
        ))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Embedded => f.write_str("embedded"),
            Target::Command(command) => write!(f, "cmd:{command}"),
            Target::Address(address) => write!(f, "tcp://{address}"),
        }
    }
}

/// How many times a `cmd:` backend may lose the race for its port before
/// its start fails: to another program that listens on it first, or to
/// anything that holds it when the backend binds it (its output then says
/// "address already in use").
const PORT_ATTEMPTS: usize = 5;

/// The environment variable that marks a `cmd:` backend, and everything it
/// starts, as this scenario's: the listener on its port must carry it.
pub const BACKEND_MARK_ENV: &str = "DISCOS_BACKEND_MARK";

/// Tells the backends of one run apart.
static STARTS: AtomicU64 = AtomicU64::new(0);

/// How a `cmd:` backend says it is ready, beside the default of its port
/// accepting connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyWhen {
    /// A regular expression for a line of its output (`{port}` is the port
    /// it was given).
    pub pattern: String,
    /// Whether the pattern's first group captures the port the backend
    /// announces (for a backend told to pick its own, with `--port 0`).
    pub captures_port: bool,
}

impl FromStr for ReadyWhen {
    type Err = String;

    fn from_str(pattern: &str) -> Result<ReadyWhen, String> {
        let regex = regex::Regex::new(&pattern.replace("{port}", "1"))
            .map_err(|error| format!("'{pattern}' is not a regular expression: {error}"))?;
        Ok(ReadyWhen {
            pattern: pattern.to_owned(),
            captures_port: regex.captures_len() > 1,
        })
    }
}

/// The file of a profile, for a `cmd:` backend, which reads catalogues
/// from files: the checkout's, which the compiled-in text came from.
fn profile_file(profile: crate::backend::Profile) -> anyhow::Result<std::path::PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(profile.path);
    if path.is_file() {
        Ok(path)
    } else {
        anyhow::bail!(
            "--profile {} reaches a cmd: backend as the file {}, which is not at {}: run from the project's checkout, or give your backend that file yourself",
            profile.name,
            profile.path,
            path.display()
        )
    }
}

/// What starting a backend takes from the run's settings.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    /// The backend under test.
    pub target: &'a Target,
    /// How long it may take to get ready.
    pub ready_timeout: Duration,
    /// How a `cmd:` backend says it is ready, if not by its port accepting.
    pub ready_when: Option<&'a ReadyWhen>,
    /// The profile it is given unless the scenario names a catalogue.
    pub profile: Option<crate::backend::Profile>,
}

/// The backend's process, marked with `mark` so that what it starts can be
/// told from other programs' processes.
fn backend_process(
    settings: &Launch<'_>,
    command: &str,
    catalogue: Option<&std::path::Path>,
    mark: &str,
) -> Executor {
    let readiness = match settings.ready_when {
        Some(ready) => Readiness::output(ready.pattern.clone()),
        None => Readiness::tcp("127.0.0.1:{port}"),
    };
    // A command line as a user writes it: pipes, variables and quotes
    // mean what a shell makes of them.
    let backend = Executor::shell("backend", command.to_owned())
        .ready_when(readiness)
        .timeout(settings.ready_timeout)
        .env(BACKEND_MARK_ENV, mark.to_owned());
    match catalogue {
        Some(path) => backend.env(CATALOGUE_ENV, path.display().to_string()),
        None => backend,
    }
}

/// Starts a `cmd:` backend and proves that the listener clients will reach
/// is its own: a free port handed to a backend can be taken by another
/// program first (another scenario's backend, on a busy machine), and a
/// verdict must come from this scenario's backend. A start that lost that
/// race — another program answers on the port, or the backend says it could
/// not bind it — is retried on a new port.
async fn start_command(
    settings: Launch<'_>,
    command: &str,
    catalogue: Option<std::path::PathBuf>,
) -> anyhow::Result<BackendUnderTest> {
    let mut lost = Vec::new();
    for _ in 0..PORT_ATTEMPTS {
        let mark = format!(
            "{}-{}",
            std::process::id(),
            STARTS.fetch_add(1, Ordering::Relaxed)
        );
        let mut backend = backend_process(&settings, command, catalogue.as_deref(), &mark);
        let started = backend.start().await;
        let given = backend.port();
        match started {
            Ok(()) => {
                if let Some(ready) = settings.ready_when {
                    // Its own output said so: the backend is this one.
                    let port = if ready.captures_port {
                        announced_port(&backend, &ready.pattern)?
                    } else {
                        given.ok_or_else(|| anyhow::anyhow!("the backend was given no port"))?
                    };
                    return Ok(BackendUnderTest::Process {
                        executor: Box::new(backend),
                        port,
                    });
                }
                let port = given.ok_or_else(|| anyhow::anyhow!("the backend was given no port"))?;
                let holders = holders_of(port, &mark).await;
                let ours = holders.iter().any(|(_, ours)| *ours);
                // No holder in sight: the listener lives where this process
                // cannot look (another user, another namespace); the port
                // accepted, which is all that can be known.
                if ours || holders.is_empty() {
                    return Ok(BackendUnderTest::Process {
                        executor: Box::new(backend),
                        port,
                    });
                }
                let _ = backend.stop().await;
                lost.push(format!(
                    "port {port} was answered by another program, pid {} ({})",
                    holders[0].0,
                    command_line(holders[0].0)
                ));
            }
            Err(
                error @ (OrchestrationError::ExitedBeforeReady { .. }
                | OrchestrationError::NotReadyInTime { .. }),
            ) => {
                let exited = matches!(error, OrchestrationError::ExitedBeforeReady { .. });
                let taken = match given {
                    Some(port) => holders_of(port, &mark)
                        .await
                        .into_iter()
                        .find(|(_, ours)| !ours)
                        .map(|(pid, _)| (port, pid)),
                    None => None,
                };
                match (taken, address_in_use(&backend.output_lines())) {
                    (Some((port, pid)), _) if exited => lost.push(format!(
                        "port {port} was taken by another program, pid {pid} ({}), and the backend exited",
                        command_line(pid)
                    )),
                    (_, Some(line)) => lost.push(format!(
                        "the backend could not bind port {}: {}",
                        given.map_or_else(|| "?".to_owned(), |port| port.to_string()),
                        crate::orchestration::quote(&line)
                    )),
                    _ => return Err(error.into()),
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    anyhow::bail!(
        "the backend lost the race for its port {PORT_ATTEMPTS} times: {}",
        lost.join("; ")
    )
}

/// The processes listening on `port`, each with whether it carries `mark`
/// (is this start's backend). A walk of `/proc`, so it runs on the blocking
/// pool: on a runtime worker it would hold back the timers of every other
/// start, their `--ready-timeout` among them.
async fn holders_of(port: u16, mark: &str) -> Vec<(u32, bool)> {
    let scan = move |mark: &str| {
        listeners_on(port)
            .into_iter()
            .map(|pid| (pid, has_environment(pid, BACKEND_MARK_ENV, mark)))
            .collect::<Vec<_>>()
    };
    let owned = mark.to_owned();
    match tokio::task::spawn_blocking(move || scan(&owned)).await {
        Ok(holders) => holders,
        // The runtime is shutting down: scan here.
        Err(_) => scan(mark),
    }
}

/// The first line of a backend's output that says its port was taken: the
/// words of the C library (`strerror(EADDRINUSE)`), of Python, Go, Java and
/// Node, which all say one of these.
fn address_in_use(lines: &[String]) -> Option<String> {
    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)address already in use|\bEADDRINUSE\b|address in use|\[errno 98\]")
            .expect("a valid pattern")
    });
    lines.iter().find(|line| PATTERN.is_match(line)).cloned()
}

/// The port a backend announced in the output line its readiness pattern
/// matched, from the pattern's first group.
fn announced_port(backend: &Executor, pattern: &str) -> anyhow::Result<u16> {
    let pattern = match backend.port() {
        Some(port) => pattern.replace("{port}", &port.to_string()),
        None => pattern.to_owned(),
    };
    let regex = regex::Regex::new(&pattern)?;
    backend
        .output_lines()
        .iter()
        .find_map(|line| regex.captures(line))
        .and_then(|captures| captures.get(1))
        .and_then(|port| port.as_str().parse::<u16>().ok())
        .filter(|port| *port != 0)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the backend's ready line matched /{pattern}/, but its first group is not a port{}",
                backend.last_output()
            )
        })
}

/// The backend one scenario talks to.
#[derive(Debug)]
pub enum BackendUnderTest {
    /// The simulator, served in this process; the handle lets `@simulator`
    /// steps look at what it holds.
    Embedded {
        /// The server in front of it.
        server: Server,
        /// The simulator itself.
        simulator: Arc<BackendHandler<Simulator>>,
    },
    /// A backend process started for this scenario by a `cmd:` target,
    /// with the port it proved to listen on.
    Process {
        /// The process, with everything it started.
        executor: Box<Executor>,
        /// Where it listens.
        port: u16,
    },
    /// A backend reached at an address this run did not start.
    Remote(String),
    /// A backend a step stopped; its address is kept for messages.
    Stopped(String),
    /// A backend that publishes its events, started beside the message
    /// broker by the scenario's orchestrator, which also stops it.
    Orchestrated(String),
}

impl BackendUnderTest {
    /// Starts (or, for a shared target, reaches) the backend for a
    /// scenario, given the catalogue file it names, if it names one.
    pub async fn start(
        settings: Launch<'_>,
        catalogue: Option<std::path::PathBuf>,
    ) -> anyhow::Result<BackendUnderTest> {
        let profile = settings.profile.filter(|_| catalogue.is_none());
        match settings.target {
            Target::Embedded => {
                let catalogue = match (catalogue, profile) {
                    (Some(path), _) => Some(Catalogue::load(path)?),
                    (None, Some(profile)) => Some(profile.catalogue()?),
                    (None, None) => None,
                };
                let simulator = Arc::new(BackendHandler::new(Simulator::new(catalogue)));
                let config = Config {
                    shutdown_grace: EMBEDDED_GRACE,
                    ..Config::default()
                };
                let server = Server::start(config, simulator.clone())
                    .await
                    .context("cannot start the embedded simulator")?;
                Ok(BackendUnderTest::Embedded { server, simulator })
            }
            Target::Command(command) => {
                let catalogue = match (catalogue, profile) {
                    (None, Some(profile)) => Some(profile_file(profile)?),
                    (catalogue, _) => catalogue,
                };
                start_command(settings, command, catalogue).await
            }
            Target::Address(address) => {
                if catalogue.is_some() {
                    anyhow::bail!(
                        "a tcp:// target is already running and cannot be given a catalogue; tag this scenario @fresh"
                    );
                }
                Ok(BackendUnderTest::Remote(address.clone()))
            }
        }
    }

    /// The simulator behind an embedded target, for steps that check what
    /// it holds; `None` on any other target.
    pub fn simulator(&self) -> Option<&Simulator> {
        match self {
            BackendUnderTest::Embedded { simulator, .. } => Some(simulator.backend()),
            _ => None,
        }
    }

    /// Where clients connect.
    pub fn address(&self) -> String {
        match self {
            BackendUnderTest::Embedded { server, .. } => server.local_addr().to_string(),
            BackendUnderTest::Process { port, .. } => format!("127.0.0.1:{port}"),
            BackendUnderTest::Remote(address)
            | BackendUnderTest::Stopped(address)
            | BackendUnderTest::Orchestrated(address) => address.clone(),
        }
    }

    /// Whether this run started the backend, and so may stop it.
    pub fn is_owned(&self) -> bool {
        matches!(
            self,
            BackendUnderTest::Embedded { .. } | BackendUnderTest::Process { .. }
        )
    }

    /// Whether the backend is still there to be asked: not stopped by a
    /// step (`When the backend stops`).
    pub fn is_running(&self) -> bool {
        !matches!(self, BackendUnderTest::Stopped(_))
    }

    /// Stops a backend this run started, as if it crashed or was shut down
    /// under its clients' feet, and says what it left behind.
    pub async fn stop(&mut self) -> Vec<String> {
        let address = self.address();
        let backend = std::mem::replace(self, BackendUnderTest::Stopped(address));
        backend.shut_down(false).await
    }

    /// Shuts the backend down (if this run started it) and says what was
    /// left behind: connections the backend still saw open after every
    /// client closed, tasks or processes still alive after the shutdown.
    pub async fn tear_down(self) -> Vec<String> {
        self.shut_down(true).await
    }

    /// Shuts down; `clients_gone` says every client has closed, so that a
    /// connection still open on the backend is a leak.
    async fn shut_down(self, clients_gone: bool) -> Vec<String> {
        let mut leaks = Vec::new();
        match self {
            BackendUnderTest::Embedded { server, .. } => {
                let open = server.open_connections();
                if clients_gone && open > 0 {
                    leaks.push(format!(
                        "{open} connection(s) still open on the backend after every client closed"
                    ));
                }
                if let Err(alive) = server.shutdown_within(SHUTDOWN_LIMIT).await {
                    leaks.push(format!(
                        "{alive} backend task(s) still alive {SHUTDOWN_LIMIT:?} after the shutdown began"
                    ));
                }
            }
            BackendUnderTest::Process {
                executor: mut backend,
                ..
            } => {
                let died = !backend.is_running();
                match backend.stop().await {
                    Ok(Some(status)) if died => leaks.push(format!(
                        "the backend process had exited ({status}) before the scenario ended{}",
                        backend.last_output()
                    )),
                    Ok(_) => {}
                    Err(error) => leaks.push(format!("the backend process: {error}")),
                }
            }
            BackendUnderTest::Remote(_)
            | BackendUnderTest::Stopped(_)
            | BackendUnderTest::Orchestrated(_) => {}
        }
        leaks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!("embedded".parse(), Ok(Target::Embedded));
        assert_eq!(
            "cmd:discos-sim serve --port {port}".parse(),
            Ok(Target::Command("discos-sim serve --port {port}".into()))
        );
        assert_eq!(
            "tcp://127.0.0.1:8978".parse(),
            Ok(Target::Address("127.0.0.1:8978".into()))
        );
    }

    #[test]
    fn a_command_is_given_its_port_or_announces_it() {
        let command: Target = "cmd:my-backend --port 0".parse().unwrap();
        assert!(command.check(None).unwrap_err().contains("has no {port}"));
        let announced: ReadyWhen = "listening on .*:(\\d+)".parse().unwrap();
        assert!(announced.captures_port);
        assert_eq!(command.check(Some(&announced)), Ok(()));
        let banner: ReadyWhen = "listening on".parse().unwrap();
        assert!(!banner.captures_port);
        assert!(command.check(Some(&banner)).is_err());
        assert!(
            Target::Embedded
                .check(Some(&banner))
                .unwrap_err()
                .contains("for cmd: targets")
        );
        assert!(
            "(".parse::<ReadyWhen>()
                .unwrap_err()
                .contains("not a regular expression")
        );
    }

    #[test]
    fn bad_targets_say_what_is_wrong() {
        let cases = [
            ("", "unknown target ''"),
            ("simulator", "unknown target 'simulator'"),
            ("cmd:", "has no command"),
            ("tcp://localhost", "has no port"),
            ("tcp://:80", "has no host"),
            ("tcp://localhost:http", "'http' is not a port"),
            ("tcp://localhost:0", "'0' is not a port"),
        ];
        for (text, expected) in cases {
            let error = text.parse::<Target>().unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
