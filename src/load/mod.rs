//! `discos-sim load`: a load generator for any DISCOS backend.
//!
//! A backend author needs to know how their backend behaves with many
//! clients, and we need figures for ours. The tool opens N connections,
//! keeps DEPTH requests in flight on each, checks every reply (`ok`, and
//! the request's name), and reports throughput, latency percentiles from an
//! HDR histogram, errors and failed connections; with `--idle-connections`
//! it also holds many quiet connections (each, with
//! `--idle-unfinished-line`, in the middle of a line) and checks they still
//! answer.
//!
//! It speaks through the project's one [`Client`], so what it measures is
//! the backend talking the protocol as every other part of the project
//! reads it. It always ends by itself: every connect, write and reply has a
//! timeout, and a failed connection is counted, never waited on.
//!
//! Rooms: [`args`] (the command line), `driver` (the active run), `idle`
//! (idle connections), [`report`] (figures, text and JSON), `progress`,
//! `cpu` (what the tool and the server used, from `/proc`).

pub mod args;
mod cpu;
mod driver;
mod idle;
mod progress;
pub mod report;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;

pub use args::LoadArgs;
pub use report::{ErrorSample, IdleReport, Report, Tally};

use crate::client::{Client, ClientOptions};
use crate::protocol::Message;
use crate::system;
pub use progress::{Counters, ProgressStyle, SoFar};

use progress::Progress;

/// Connections being opened at once: enough to open ten thousand in a
/// second or two, few enough not to overflow a server's accept backlog.
const CONNECTING_AT_ONCE: usize = 256;

/// When the active run stops sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After exactly this many requests in all, spread over the connections.
    Requests(u64),
    /// After this long.
    Duration(Duration),
}

/// One run of the load tool, as a library caller (or a test) gives it.
#[derive(Debug, Clone)]
pub struct Config {
    /// The backend, `HOST:PORT`.
    pub address: String,
    /// Connections of the active run.
    pub connections: usize,
    /// Requests in flight on each.
    pub pipeline: usize,
    /// When the active run stops; `None` for no active run (idle only).
    pub stop: Option<Stop>,
    /// The request sent over and over.
    pub request: Message,
    /// Idle connections to open and hold.
    pub idle_connections: usize,
    /// Bytes of an unfinished line each idle connection sends; 0 for none.
    pub idle_unfinished_line: usize,
    /// How many idle connections to check at the end.
    pub idle_sample: usize,
    /// The server's process id, for its resident memory.
    pub server_pid: Option<u32>,
    /// Longest wait for a connection and its handshake.
    pub connect_timeout: Duration,
    /// Longest wait for a reply, or for the backend to take a request.
    pub reply_timeout: Duration,
    /// How to show progress on stderr, if at all.
    pub progress: Option<ProgressStyle>,
}

impl Config {
    /// One connection, ping-pong, 1000 `get-tpi`: a run small enough for a
    /// test, to be adjusted field by field.
    pub fn new(address: impl Into<String>) -> Config {
        Config {
            address: address.into(),
            connections: 1,
            pipeline: 1,
            stop: Some(Stop::Requests(1000)),
            request: Message::request("get-tpi", Vec::<String>::new()),
            idle_connections: 0,
            idle_unfinished_line: 0,
            idle_sample: 100,
            server_pid: None,
            connect_timeout: Duration::from_secs(5),
            reply_timeout: Duration::from_secs(5),
            progress: None,
        }
    }
}

/// Runs `discos-sim load` on a runtime of its own, sized by `--threads`:
/// on a small machine shared with the server, one thread measures the
/// server better than several competing with it.
pub fn main(args: LoadArgs) -> ExitCode {
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let result = match runtime {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(error) => Err(anyhow::Error::from(error).context("cannot start tokio")),
    };
    result.unwrap_or_else(|error| {
        eprintln!("discos-sim: error: {error:#}");
        ExitCode::from(2)
    })
}

/// Runs `discos-sim load` on the current runtime and prints its report:
/// exit code 0 when the backend passed, 1 when it did not. SIGINT stops
/// it early: what was measured so far is printed, and it exits 130.
pub async fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    if let Some(pid) = args.server_pid {
        // Checked first: a typo in the pid should not cost a whole run.
        system::resident_memory(pid).map_err(|error| {
            anyhow::anyhow!("--server-pid {pid}: cannot read its memory: {error}")
        })?;
    }
    let style = if std::io::stderr().is_terminal() {
        ProgressStyle::Redraw
    } else {
        ProgressStyle::Lines
    };
    let config = args.to_config(Some(style));
    let mut interrupt =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .map_err(|error| anyhow::anyhow!("cannot install a signal handler: {error}"))?;
    eprintln!(
        "{}; Ctrl-C stops it and prints what was measured so far",
        plan(&config)
    );
    let counters = Arc::new(Counters::new());
    let progress = Progress::start(counters.clone(), style);
    let finished = tokio::select! {
        report = measure(&config, &counters) => Some(report),
        _ = interrupt.recv() => None,
    };
    progress.finish().await;
    let Some(mut report) = finished else {
        // Every connection was dropped with the run: the backend sees them
        // close, and nothing goes on after the figures are printed.
        let so_far = counters.so_far();
        if args.json {
            let mut json = serde_json::to_value(&so_far)?;
            json["interrupted"] = serde_json::Value::Bool(true);
            json["target"] = serde_json::Value::String(format!("tcp://{}", args.target));
            println!("{json}");
        } else {
            println!(
                "interrupted: what was measured until then (latency, CPU, memory and the idle sample are measured at the end, so not here)\n{so_far}"
            );
        }
        return Ok(ExitCode::from(130));
    };
    report.target = format!("tcp://{}", args.target);
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{report}");
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs the load `config` describes and returns its figures; never fails:
/// whatever goes wrong with the backend is in the report.
pub async fn run_load(config: &Config) -> Report {
    let counters = Arc::new(Counters::new());
    let progress = config
        .progress
        .map(|style| Progress::start(counters.clone(), style));
    let report = measure(config, &counters).await;
    if let Some(progress) = progress {
        progress.finish().await;
    }
    report
}

/// What the run will do, in a line, said before it starts.
fn plan(config: &Config) -> String {
    let mut parts = Vec::new();
    match config.stop {
        Some(Stop::Requests(requests)) => parts.push(format!(
            "{requests} {} over {} connection(s), {} in flight on each",
            config.request, config.connections, config.pipeline
        )),
        Some(Stop::Duration(duration)) => parts.push(format!(
            "{} for {} over {} connection(s), {} in flight on each",
            config.request,
            humantime::format_duration(duration),
            config.connections,
            config.pipeline
        )),
        None => {}
    }
    if config.idle_connections > 0 {
        parts.push(format!("{} idle connection(s)", config.idle_connections));
    }
    format!("load on tcp://{}: {}", config.address, parts.join(" and "))
}

/// Runs the load, counting into `counters` as it goes.
async fn measure(config: &Config, counters: &Arc<Counters>) -> Report {
    // Best effort: without it, a large run reports "too many open files"
    // as failed connections, which is the truth.
    let _ = system::raise_open_file_limit();
    let counters = counters.clone();
    let address = resolve(&config.address).await;

    let mut report = Report {
        target: format!("tcp://{}", config.address),
        command: config.request.to_string(),
        connections: 0,
        pipeline: config.pipeline,
        requests: 0,
        replies: 0,
        errors: 0,
        unanswered: 0,
        failed_connections: 0,
        elapsed_seconds: 0.0,
        requests_per_second: 0.0,
        latency_p50_us: None,
        latency_p90_us: None,
        latency_p99_us: None,
        latency_max_us: None,
        tool_cpu_us_per_request: None,
        tool_cpu_wait_us_per_request: None,
        server_cpu_us_per_request: None,
        server_cpu_wait_us_per_request: None,
        error_samples: Tally::default(),
        connection_failures: Tally::default(),
        idle: None,
    };

    let held = match &address {
        Ok(address) if config.idle_connections > 0 => {
            Some(idle::open(config, address, &counters).await)
        }
        _ => None,
    };
    if let Some(stop) = config.stop {
        report.connections = config.connections;
        match &address {
            Ok(address) => {
                let active = driver::run(config, address, stop, &counters).await;
                add_active(&mut report, active);
            }
            Err(error) => {
                report.failed_connections += config.connections as u64;
                report
                    .connection_failures
                    .add(config.connections as u64, error);
            }
        }
    }
    if config.idle_connections > 0 {
        let idle = match held {
            Some(held) => {
                let failed = held.connect_failures.clone();
                report.failed_connections += failed.total();
                report.connection_failures.merge(failed);
                held.check(config).await
            }
            None => {
                let error = address.as_ref().err().cloned().unwrap_or_default();
                report.failed_connections += config.idle_connections as u64;
                report
                    .connection_failures
                    .add(config.idle_connections as u64, &error);
                IdleReport {
                    idle_connections: config.idle_connections,
                    idle_unfinished_line_bytes: config.idle_unfinished_line,
                    ..IdleReport::default()
                }
            }
        };
        report.idle = Some(idle);
    }
    report
}

fn add_active(report: &mut Report, active: driver::ActiveRun) {
    let mut latency = driver::latency_histogram();
    report.failed_connections += active.connect_failures.total();
    report.connection_failures.merge(active.connect_failures);
    for outcome in active.outcomes {
        report.requests += outcome.sent;
        report.replies += outcome.replies;
        report.errors += outcome.bad_replies + outcome.unanswered;
        report.unanswered += outcome.unanswered;
        report.error_samples.merge(outcome.errors);
        if let Some(failure) = outcome.failure {
            report.failed_connections += 1;
            report.connection_failures.add(1, &failure);
        }
        // Same bounds everywhere: adding cannot fail.
        let _ = latency.add(&outcome.latency);
    }
    report.elapsed_seconds = active.elapsed.as_secs_f64();
    if report.elapsed_seconds > 0.0 {
        report.requests_per_second = report.replies as f64 / report.elapsed_seconds;
    }
    report.set_latency(&latency);
    if report.replies > 0 {
        let per_reply = |d: Duration| d.as_secs_f64() * 1e6 / report.replies as f64;
        report.tool_cpu_us_per_request = active.tool.map(|u| per_reply(u.cpu));
        report.tool_cpu_wait_us_per_request = active.tool.map(|u| per_reply(u.waiting));
        report.server_cpu_us_per_request = active.server.map(|u| per_reply(u.cpu));
        report.server_cpu_wait_us_per_request = active.server.map(|u| per_reply(u.waiting));
    }
}

/// Resolves the address once, so ten thousand connections do not make ten
/// thousand name lookups.
async fn resolve(address: &str) -> Result<String, String> {
    match tokio::net::lookup_host(address).await {
        Ok(mut found) => match found.next() {
            Some(socket) => Ok(socket.to_string()),
            None => Err(format!("cannot resolve {address}: no address found")),
        },
        Err(error) => Err(format!("cannot resolve {address}: {error}")),
    }
}

/// Opens `count` connections, a bounded number at a time, each past its
/// handshake; returns those that opened and why the others did not.
async fn connect_all(
    config: &Config,
    address: &str,
    count: usize,
    counters: &Counters,
) -> (Vec<Client>, Tally) {
    let options = ClientOptions {
        reply_timeout: config.reply_timeout,
        transcript: false,
        ..ClientOptions::default()
    };
    let mut attempts = futures::stream::iter(0..count)
        .map(|_| {
            let options = options.clone();
            async move {
                let connect = Client::connect_with(address, options);
                match tokio::time::timeout(config.connect_timeout, connect).await {
                    Ok(Ok(client)) => Ok(client),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(_) => Err(format!(
                        "no connection and handshake from {address} within {:?}",
                        config.connect_timeout
                    )),
                }
            }
        })
        .buffer_unordered(CONNECTING_AT_ONCE);
    let mut clients = Vec::with_capacity(count.min(16_384));
    let mut failures = Tally::default();
    while let Some(attempt) = attempts.next().await {
        match attempt {
            Ok(client) => {
                counters.connected.fetch_add(1, Ordering::Relaxed);
                clients.push(client);
            }
            Err(error) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                failures.add(1, &error);
            }
        }
    }
    (clients, failures)
}
