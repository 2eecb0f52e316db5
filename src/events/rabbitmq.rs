//! A RabbitMQ broker of a test's own: Debian's `rabbitmq-server`, started
//! with its own node name, ports and folders, so it never meets the
//! machine's broker (if there is one) or another test's, and stopped with
//! everything it started verified gone.
//!
//! Two executors under one [`Service`]: an `epmd` (Erlang's port mapper)
//! on a port of its own, in the foreground, and the broker, told not to
//! start the usual daemonised `epmd` that would outlive it. The broker is
//! ready when an AMQP connection, a login and a channel succeed — its port
//! opens before it can serve. The Erlang VM runs its helper programs in
//! sessions of their own, out of reach of a process-group signal, so the
//! broker's stop also waits for every process it had started, wherever
//! they went, and kills what is left.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::events::{BrokerUrl, Link};
use crate::orchestration::Executor;
use crate::orchestration::OrchestrationError;
use crate::orchestration::Readiness;
use crate::orchestration::Service;
use crate::orchestration::{FIRST_BACKOFF, MAX_BACKOFF, free_port};
use crate::poll::{Pace, Poller};
use crate::system;
use crate::system::processes;

/// Where Debian (and Fedora) keep the broker's real scripts; `/usr/sbin`'s
/// are wrappers that switch to the `rabbitmq` user and its `/var/lib` folder.
const RABBITMQ_BIN: &str = "/usr/lib/rabbitmq/bin";
/// What to tell someone who has no broker.
pub const RABBITMQ_INSTALL_HINT: &str = "install it with: apt-get install rabbitmq-server";
/// How long the broker may take to serve: an Erlang VM booting a broker
/// for the first time takes seconds on a quiet machine and tens of seconds
/// on a loaded one; a failing start reports its last output anyway.
pub const BROKER_START_LIMIT: Duration = Duration::from_secs(180);
/// How long the broker gets to shut down on SIGTERM before SIGKILL.
const BROKER_GRACE: Duration = Duration::from_secs(30);
/// How long processes that left the broker's group may take to follow it
/// once the VM is gone (they end when their pipes close).
const ESCAPED_SETTLE: Duration = Duration::from_secs(10);
/// How long one `rabbitmqctl` may run.
const CTL_LIMIT: Duration = Duration::from_secs(60);
/// The broker logs a line per connection; keep enough to show a failure.
const OUTPUT_LINES: usize = 5000;

/// Tells brokers of one process apart in their names and folders.
static BROKERS: AtomicU64 = AtomicU64::new(0);

/// The programs a broker needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RabbitMq {
    /// `rabbitmq-server`, the script that starts the VM.
    pub server: PathBuf,
    /// `rabbitmqctl`, to ask the running broker things.
    pub ctl: PathBuf,
    /// Erlang's port mapper.
    pub epmd: PathBuf,
}

impl RabbitMq {
    /// Looks for the broker where Debian installs it, then on PATH; the
    /// error says what is missing and how to install it.
    pub fn find() -> Result<RabbitMq, String> {
        let dirs = std::iter::once(PathBuf::from(RABBITMQ_BIN)).chain(system::path_dirs());
        let mut server = None;
        for dir in dirs {
            let (candidate, ctl) = (dir.join("rabbitmq-server"), dir.join("rabbitmqctl"));
            if system::is_executable(&candidate)
                && system::is_executable(&ctl)
                && !is_debian_wrapper(&candidate)
            {
                server = Some((candidate, ctl));
                break;
            }
        }
        let epmd = system::find_program("epmd")
            .or_else(|| system::find_program("/usr/lib/erlang/bin/epmd"));
        match (server, epmd) {
            (Some((server, ctl)), Some(epmd)) => Ok(RabbitMq { server, ctl, epmd }),
            (None, _) => Err(format!(
                "rabbitmq-server is not installed (looked in {RABBITMQ_BIN} and on PATH); {RABBITMQ_INSTALL_HINT}"
            )),
            (Some(_), None) => Err(format!(
                "epmd, Erlang's port mapper, is not on PATH; {RABBITMQ_INSTALL_HINT}"
            )),
        }
    }
}

/// Debian's `/usr/sbin/rabbitmq-server` runs the real one as another user
/// in another folder: useless for a broker of one's own.
fn is_debian_wrapper(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.contains("su rabbitmq"))
}

/// One connection as the broker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConnection {
    /// The broker's name for it: `CLIENT:PORT -> BROKER:PORT`.
    pub name: String,
    /// The name the client gave it, if any.
    pub client_name: Option<String>,
    /// The user it logged in as.
    pub user: String,
}

/// A broker of one's own; see the module documentation.
#[derive(Debug)]
pub struct Broker {
    name: String,
    dir: PathBuf,
    node: String,
    rabbitmq: RabbitMq,
    epmd_port: u16,
    epmd: Executor,
    server: Executor,
}

impl Broker {
    /// A broker named `name` (in errors and orchestrators), not started:
    /// finds the programs and picks its ports and its folder,
    /// `/tmp/discos-broker-PID-N`, made at start and removed at stop.
    pub fn new(name: impl Into<String>) -> Result<Broker, OrchestrationError> {
        let name = name.into();
        let rabbitmq =
            RabbitMq::find().map_err(|reason| OrchestrationError::InvalidConfiguration {
                name: name.clone(),
                reason,
            })?;
        let no_port = |source| OrchestrationError::NoFreePort {
            name: name.clone(),
            source,
        };
        // Erlang needs two ports besides the AMQP one (`{port}`): its port
        // mapper's and the node's distribution port. Both are fixed for the
        // broker's life, so a restarted broker is the same node.
        let epmd_port = free_port().map_err(no_port)?;
        let dist_port = free_port().map_err(no_port)?;
        let n = BROKERS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("discos-broker-{pid}-{n}"));
        let node = format!("discos-{pid}-{n}@localhost");
        let epmd = Executor::new(
            format!("{name} (epmd)"),
            [
                rabbitmq.epmd.display().to_string(),
                "-port".to_owned(),
                epmd_port.to_string(),
                "-address".to_owned(),
                "127.0.0.1".to_owned(),
            ],
        )
        .ready_when(Readiness::tcp(format!("127.0.0.1:{epmd_port}")));
        let path = |file: &str| dir.join(file).display().to_string();
        let server = Executor::new(name.clone(), [rabbitmq.server.display().to_string()])
            .current_dir(&dir)
            .env("HOME", path("home"))
            .env("RABBITMQ_NODENAME", &node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", "{port}")
            .env("RABBITMQ_DIST_PORT", dist_port.to_string())
            .env("ERL_EPMD_PORT", epmd_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_CONF_ENV_FILE", path("rabbitmq-env.conf"))
            .env("RABBITMQ_CONFIG_FILE", path("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", path("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
            .env("RABBITMQ_LOG_BASE", path("log"))
            .env("RABBITMQ_LOGS", "-")
            .env("RABBITMQ_PID_FILE", path("rabbitmq.pid"))
            .env("RABBITMQ_PLUGINS_EXPAND_DIR", path("plugins-expand"))
            // The start script then execs the VM instead of waiting for it:
            // the executor's process is beam.smp itself, tied to this
            // process's death. `-noinput` keeps the shell off all the same.
            .env("RABBITMQ_ALLOW_INPUT", "true")
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-noinput -start_epmd false",
            )
            .ready_when(amqp_ready())
            .timeout(BROKER_START_LIMIT)
            .grace(BROKER_GRACE)
            .output_capacity(OUTPUT_LINES);
        Ok(Broker {
            name,
            dir,
            node,
            rabbitmq,
            epmd_port,
            epmd,
            server,
        })
    }

    /// Where clients connect, as the broker's default user (`guest`, which
    /// RabbitMQ lets in from loopback only); known from the first start on.
    pub fn url(&self) -> Option<BrokerUrl> {
        let port = self.server.port()?;
        format!("amqp://guest:guest@127.0.0.1:{port}/%2f")
            .parse()
            .ok()
    }

    /// The Erlang node's name, for `rabbitmqctl -n`.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The broker's folder: its database, logs and configuration.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The broker's last output lines, quoted as errors quote them.
    pub fn last_output(&self) -> String {
        self.server.last_output()
    }

    /// The broker's whole captured output (its log), oldest first.
    pub fn output_lines(&self) -> Vec<String> {
        self.server.output_lines()
    }

    /// Every process of this broker still alive: its VM's group, what the
    /// VM started elsewhere, and its port mapper.
    pub fn leftover_processes(&self) -> Vec<(u32, String)> {
        let mut left = self.server.leftover_processes();
        if let Some(pid) = self.server.pid() {
            left.extend(
                descendants(pid)
                    .into_iter()
                    .map(|process| (process.pid, process.command)),
            );
        }
        left.extend(self.epmd.leftover_processes());
        left.sort_unstable();
        left.dedup();
        left
    }

    /// Stops the broker (its port mapper stays), runs `f`, and starts it
    /// again on the same port, with the same node and database: how a test
    /// sees what its clients do while the broker is away. Between the two,
    /// every process the broker had started is verified gone.
    pub async fn while_stopped<T>(
        &mut self,
        f: impl AsyncFnOnce() -> T,
    ) -> Result<T, OrchestrationError> {
        let name = self.name.clone();
        let started = self.server.pid().map(descendants).unwrap_or_default();
        let (gone, value) = self
            .server
            .while_stopped(async move || {
                let gone = settle(&name, started).await;
                (gone, f().await)
            })
            .await?;
        gone?;
        Ok(value)
    }

    /// The connections open on the broker now, from `rabbitmqctl
    /// list_connections` (the broker's own account, not the clients').
    pub async fn connections(&self) -> Result<Vec<BrokerConnection>, String> {
        let json = self
            .ctl(&[
                "list_connections",
                "name",
                "user",
                "client_properties",
                "--formatter",
                "json",
            ])
            .await?;
        parse_connections(&json)
    }

    /// Runs `rabbitmqctl ARGS` against this broker and returns its stdout.
    pub async fn ctl(&self, args: &[&str]) -> Result<String, String> {
        let mut command = tokio::process::Command::new(&self.rabbitmq.ctl);
        command
            .args(["-n", &self.node, "-q"])
            .args(args)
            .current_dir(&self.dir)
            .env("HOME", self.dir.join("home"))
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .env("RABBITMQ_CONF_ENV_FILE", self.dir.join("rabbitmq-env.conf"))
            .env("RABBITMQ_CTL_ERL_ARGS", "-start_epmd false")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let shown = format!("rabbitmqctl {}", args.join(" "));
        let output = tokio::time::timeout(CTL_LIMIT, command.output())
            .await
            .map_err(|_| format!("{shown} did not finish within {CTL_LIMIT:?}"))?
            .map_err(|error| format!("cannot run {shown}: {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "{shown} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Writes the broker's folder: an empty environment file (so that
    /// `/etc/rabbitmq/rabbitmq-env.conf` is not read), no plugins, and a
    /// configuration that logs to stdout and does not stop publishers when
    /// the temporary disk runs low.
    fn prepare(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.dir.join("home"))?;
        std::fs::write(self.dir.join("rabbitmq-env.conf"), "")?;
        std::fs::write(self.dir.join("enabled_plugins"), "[].\n")?;
        std::fs::write(
            self.dir.join("rabbitmq.conf"),
            "log.console = true\nlog.console.level = info\nlog.file = false\n\
             disk_free_limit.absolute = 1MB\n",
        )?;
        Ok(())
    }

    async fn stop_server(&mut self) -> Result<(), OrchestrationError> {
        let started = self.server.pid().map(descendants).unwrap_or_default();
        let stopped = self.server.stop().await.map(|_| ());
        let gone = settle(&self.name, started).await;
        stopped.and(gone)
    }
}

/// An AMQP broker on the executor's port that accepts a connection, a
/// login and a channel: a broker's port opens before it can serve, so an
/// open port is not enough. Each probe closes what it opened, so probing
/// leaves no connection on the broker.
fn amqp_ready() -> Readiness {
    Readiness::probe(
        "an AMQP connection and channel at amqp://guest@127.0.0.1:{port}/%2f",
        |port| async move {
            let Some(port) = port else {
                return false;
            };
            let Ok(url) = format!("amqp://guest:guest@127.0.0.1:{port}/%2f").parse::<BrokerUrl>()
            else {
                return false;
            };
            match Link::open(&url, "discos readiness probe").await {
                Ok(link) => {
                    link.close().await;
                    true
                }
                Err(_) => false,
            }
        },
    )
}

#[async_trait]
impl Service for Broker {
    fn name(&self) -> &str {
        &self.name
    }

    async fn start(&mut self) -> Result<(), OrchestrationError> {
        if self.server.is_running() {
            return Ok(());
        }
        self.prepare()
            .map_err(|error| OrchestrationError::InvalidConfiguration {
                name: self.name.clone(),
                reason: format!("cannot write {}: {error}", self.dir.display()),
            })?;
        self.epmd.start().await?;
        if let Err(error) = self.server.start().await {
            let _ = self.epmd.stop().await;
            return Err(error);
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), OrchestrationError> {
        let server = self.stop_server().await;
        let epmd = self.epmd.stop().await.map(|_| ());
        let _ = std::fs::remove_dir_all(&self.dir);
        server.and(epmd)
    }

    fn kill(&mut self) {
        let started = self.server.pid().map(descendants).unwrap_or_default();
        self.server.kill();
        for process in started {
            if process.is_alive() {
                let _ = kill(Pid::from_raw(process.pid as i32), Signal::SIGKILL);
            }
        }
        self.epmd.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn is_running(&self) -> bool {
        self.server.is_running()
    }

    fn as_executor(&self) -> Option<&Executor> {
        Some(&self.server)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        Service::kill(self);
    }
}

/// A process, recognised by its start time too, so that a pid used again by
/// the system is not mistaken for it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Process {
    pid: u32,
    started: u64,
    command: String,
}

impl Process {
    fn is_alive(&self) -> bool {
        processes::stat(self.pid).is_some_and(|stat| stat.start == self.started && stat.is_alive())
    }
}

/// Every live process descended from `root` (not `root` itself), whatever
/// group or session it moved to.
fn descendants(root: u32) -> Vec<Process> {
    let mut children: HashMap<u32, Vec<(u32, u64)>> = HashMap::new();
    for pid in processes::pids() {
        if let Some(stat) = processes::stat(pid).filter(processes::Stat::is_alive) {
            children
                .entry(stat.parent)
                .or_default()
                .push((pid, stat.start));
        }
    }
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(parent) = stack.pop() {
        for &(pid, started) in children.get(&parent).map(Vec::as_slice).unwrap_or_default() {
            found.push(Process {
                pid,
                started,
                command: processes::cmdline(pid).unwrap_or_default(),
            });
            stack.push(pid);
        }
    }
    found
}

/// Waits until every one of `processes` is gone; what is still alive after
/// [`ESCAPED_SETTLE`] is killed, and what survives even that is the error.
async fn settle(name: &str, processes: Vec<Process>) -> Result<(), OrchestrationError> {
    // /proc has no event for a process's end.
    let mut poller = Poller::within(ESCAPED_SETTLE, Pace::doubling(FIRST_BACKOFF, MAX_BACKOFF));
    loop {
        if !processes.iter().any(Process::is_alive) {
            return Ok(());
        }
        if !poller.pause().await {
            break;
        }
    }
    for process in processes.iter().filter(|p| p.is_alive()) {
        tracing::warn!(
            pid = process.pid,
            "{name}: killing {} left behind",
            process.command
        );
        let _ = kill(Pid::from_raw(process.pid as i32), Signal::SIGKILL);
    }
    let mut poller = Poller::within(Duration::from_secs(5), Pace::every(MAX_BACKOFF));
    loop {
        let alive: Vec<(u32, String)> = processes
            .iter()
            .filter(|p| p.is_alive())
            .map(|p| (p.pid, p.command.clone()))
            .collect();
        if alive.is_empty() {
            return Ok(());
        }
        if !poller.pause().await {
            return Err(OrchestrationError::Escaped {
                name: name.to_owned(),
                processes: alive,
            });
        }
    }
}

/// Reads `rabbitmqctl list_connections name user client_properties
/// --formatter json`: an array of objects, the client properties as
/// `[name, type, value]` triples.
fn parse_connections(json: &str) -> Result<Vec<BrokerConnection>, String> {
    let trimmed = json.trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let value: serde_json::Value = serde_json::from_str(trimmed)
        .map_err(|error| format!("cannot read rabbitmqctl's list of connections: {error}"))?;
    let rows = value
        .as_array()
        .ok_or("rabbitmqctl's list of connections is not a JSON array")?;
    Ok(rows
        .iter()
        .map(|row| {
            let text = |key: &str| row.get(key).and_then(|v| v.as_str()).unwrap_or_default();
            let client_name = row
                .get("client_properties")
                .and_then(|p| p.as_array())
                .and_then(|properties| {
                    properties.iter().find_map(|property| {
                        let triple = property.as_array()?;
                        (triple.first()?.as_str()? == "connection_name")
                            .then(|| triple.get(2)?.as_str().map(str::to_owned))
                            .flatten()
                    })
                });
            BrokerConnection {
                name: text("name").to_owned(),
                client_name,
                user: text("user").to_owned(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_read_from_rabbitmqctl_json() {
        let json = r#"[
{"name":"127.0.0.1:50108 -> 127.0.0.1:40013","user":"guest","client_properties":[["connection_name","longstr","discos scenario 7"],["product","longstr","lapin"]]}
,{"name":"127.0.0.1:50110 -> 127.0.0.1:40013","user":"guest","client_properties":[]}
]"#;
        let connections = parse_connections(json).unwrap();
        assert_eq!(connections.len(), 2);
        assert_eq!(
            connections[0].client_name.as_deref(),
            Some("discos scenario 7")
        );
        assert_eq!(connections[0].name, "127.0.0.1:50108 -> 127.0.0.1:40013");
        assert_eq!(connections[1].client_name, None);
        assert_eq!(parse_connections("\n").unwrap(), Vec::new());
        assert!(parse_connections("Error: nodedown").is_err());
    }

    #[test]
    fn a_process_tree_is_found_across_sessions() {
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let found = descendants(me);
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.iter().any(|p| p.pid == child.id()), "{found:?}");
        let gone = found.into_iter().find(|p| p.pid == child.id()).unwrap();
        assert!(!gone.is_alive());
    }
}
