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
use std::time::Duration;

use anyhow::Context;

use crate::address::Address;
use crate::backend::{Catalogue, HandlerKind};
use crate::orchestration::{Executor, Readiness};
use crate::server::{Config, Server};

/// The environment variable that carries a catalogue file to a backend
/// started by a `cmd:` target (`discos-sim serve` reads it as `--catalogue`).
pub const CATALOGUE_ENV: &str = "DISCOS_CATALOGUE";

/// How long a backend may take to shut down before its teardown fails.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);
/// How long a `cmd:` backend may take to accept connections: generous, for
/// interpreters and loaded CI machines; a failing start says why anyway.
const START_LIMIT: Duration = Duration::from_secs(20);

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

impl Target {
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
            if !command.contains("{port}") {
                return Err(format!(
                    "the cmd: target '{command}' has no {{port}}: write {{port}} where the backend's port goes, e.g. cmd:discos-sim serve --port {{port}}"
                ));
            }
            return Ok(Target::Command(command.to_owned()));
        }
        if text.starts_with("tcp://") {
            return Address::from_url(text).map(|address| Target::Address(address.to_string()));
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

/// The backend one scenario talks to.
#[derive(Debug)]
pub enum BackendUnderTest {
    /// The simulator, served in this process.
    Embedded(Server),
    /// A backend process started for this scenario by a `cmd:` target.
    Process(Box<Executor>),
    /// A backend reached at an address this run did not start.
    Remote(String),
    /// A backend a step stopped; its address is kept for messages.
    Stopped(String),
    /// A backend that publishes its events, started beside the message
    /// broker by the scenario's orchestrator, which also stops it.
    Orchestrated(String),
}

impl BackendUnderTest {
    /// Starts (or, for a shared target, reaches) the backend for a scenario.
    pub async fn start(
        settings: &super::settings::Settings,
        catalogue: Option<&str>,
    ) -> anyhow::Result<BackendUnderTest> {
        let catalogue = catalogue
            .map(|name| settings.resolve(name).map_err(anyhow::Error::msg))
            .transpose()?;
        match &settings.target {
            Target::Embedded => {
                let catalogue = catalogue.map(Catalogue::load).transpose()?;
                let handler = HandlerKind::Simulator.build(catalogue);
                let server = Server::start(Config::default(), handler)
                    .await
                    .context("cannot start the embedded simulator")?;
                Ok(BackendUnderTest::Embedded(server))
            }
            Target::Command(command) => {
                // A command line as a user writes it: pipes, variables and
                // quotes mean what a shell makes of them.
                let mut backend = Executor::shell("backend", command.clone())
                    .ready_when(Readiness::tcp("127.0.0.1:{port}"))
                    .timeout(START_LIMIT);
                if let Some(path) = catalogue {
                    backend = backend.env(CATALOGUE_ENV, path.display().to_string());
                }
                backend.start().await?;
                Ok(BackendUnderTest::Process(Box::new(backend)))
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

    /// Where clients connect.
    pub fn address(&self) -> String {
        match self {
            BackendUnderTest::Embedded(server) => server.local_addr().to_string(),
            BackendUnderTest::Process(backend) => {
                format!("127.0.0.1:{}", backend.port().unwrap_or_default())
            }
            BackendUnderTest::Remote(address)
            | BackendUnderTest::Stopped(address)
            | BackendUnderTest::Orchestrated(address) => address.clone(),
        }
    }

    /// Whether this run started the backend, and so may stop it.
    pub fn is_owned(&self) -> bool {
        matches!(
            self,
            BackendUnderTest::Embedded(_) | BackendUnderTest::Process(_)
        )
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
            BackendUnderTest::Embedded(server) => {
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
            BackendUnderTest::Process(mut backend) => {
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
    fn bad_targets_say_what_is_wrong() {
        let cases = [
            ("", "unknown target ''"),
            ("simulator", "unknown target 'simulator'"),
            ("cmd:", "has no command"),
            ("cmd:my-backend --port 5000", "has no {port}"),
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
