//! `discos-sim`: serve the simulator, poke a backend, and more.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use discos_acceptance::address::Address;
use discos_acceptance::backend::{Catalogue, HandlerKind};
use discos_acceptance::client::{Client, ClientOptions};
use discos_acceptance::console::{self, Console};
use discos_acceptance::protocol::{Code, DEFAULT_MAX_LINE, latin1};
use discos_acceptance::server::{
    self, DEFAULT_MAX_BUFFERED, DEFAULT_MAX_CONNECTIONS, MAX_LINE_LIMIT, MIN_LINE_LIMIT, Server,
};
use discos_acceptance::{duration, load, system};

/// A reference simulator and tools for the DISCOS backend protocol (1.4).
#[derive(Debug, Parser)]
#[command(name = "discos-sim", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a DISCOS backend (the simulator by default) until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Send request lines to a backend and print its replies.
    Send(SendArgs),
    /// Serve a web console that relays to a backend.
    Console(console::ConsoleArgs),
    /// Put load on a backend and report throughput and latency.
    Load(load::LoadArgs),
    /// Run the acceptance features against a backend (`check --help` for
    /// the options: --target, --features, --tags, --junit, --html…).
    #[command(disable_help_flag = true)]
    Check {
        /// Options of the acceptance run.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one (printed on stdout).
    #[arg(long, default_value_t = 8978)]
    port: u16,
    /// What answers requests: simulator, always-ok, always-fail or always-panic.
    #[arg(long, default_value = "simulator")]
    handler: HandlerKind,
    /// A TOML file of the configurations the simulator knows; an acceptance
    /// run's `cmd:` target passes it through `DISCOS_CATALOGUE`.
    #[arg(long, value_name = "FILE", env = "DISCOS_CATALOGUE")]
    catalogue: Option<PathBuf>,
    /// Longest request line accepted, in bytes, from 4096 to 1048576 as the
    /// contract allows; longer ones get `invalid`.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE,
          value_parser = clap::value_parser!(u64)
              .range(MIN_LINE_LIMIT as u64..=MAX_LINE_LIMIT as u64)
              .map(|v| v as usize))]
    max_line: usize,
    /// Connections served at once; one more is refused with a reason.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u64).range(1..=1 << 24).map(|v| v as usize))]
    max_connections: usize,
    /// Bytes of buffers all connections together may hold: half for
    /// unfinished lines (one that does not fit is answered `invalid`), half
    /// for reading and answering (a connection waits for room).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BUFFERED,
          value_parser = clap::value_parser!(u64).range(1..=1 << 40).map(|v| v as usize))]
    max_buffered: usize,
    /// How long a line may take to arrive once begun, e.g. 30s; then it is
    /// answered `invalid` and discarded up to its end.
    #[arg(long, value_name = "D", default_value = "30s",
          value_parser = |text: &str| duration::parse_within(text, Duration::from_millis(100), Duration::from_secs(3600)))]
    line_timeout: Duration,
    /// On SIGINT or SIGTERM, how long to wait for clients to read their
    /// replies and close before cutting them off, e.g. 5s; a second signal
    /// cuts them off at once.
    #[arg(long, value_name = "D", default_value = "5s",
          value_parser = |text: &str| duration::parse_within(text, Duration::from_millis(1), Duration::from_secs(3600)))]
    shutdown_grace: Duration,
    /// Also serve the web console on this port (same host), relaying to
    /// this simulator; both shut down together.
    #[arg(long, value_name = "PORT")]
    console_port: Option<u16>,
}

#[derive(Debug, Args)]
struct SendArgs {
    /// The backend, HOST:PORT.
    #[arg(value_name = "HOST:PORT")]
    address: Address,
    /// Request lines, e.g. `status` or `?set-configuration,K2000` (the `?` may
    /// be omitted); each is sent as typed, so a malformed one shows how the
    /// backend answers it.
    #[arg(required = true)]
    lines: Vec<String>,
    /// Seconds to wait for each reply.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        // The acceptance runner has its own command line and runtime; the
        // features compiled into the binary run unless --features says.
        Command::Check { args } => {
            let argv = std::iter::once("discos-sim check".to_owned()).chain(args);
            discos_acceptance::acceptance::main_with(argv, None)
        }
        // The load tool sizes its own runtime (--threads), so that on a
        // small machine it does not compete with the server it measures.
        Command::Load(args) => {
            log_to_stderr();
            load::main(args)
        }
        Command::Serve(args) => run(serve(args)),
        Command::Send(args) => run(send(args)),
        Command::Console(args) => run(serve_console(args)),
    }
}

/// Logs through tracing to stderr, filtered by `RUST_LOG` (default info).
fn log_to_stderr() {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
}

/// Runs a subcommand on a fresh tokio runtime and turns its error into a
/// one-line message and exit status 2.
fn run(command: impl Future<Output = anyhow::Result<ExitCode>>) -> ExitCode {
    log_to_stderr();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(anyhow::Error::from(error).context("cannot start tokio")),
    };
    runtime.block_on(command).unwrap_or_else(fail)
}

fn fail(error: anyhow::Error) -> ExitCode {
    eprintln!("discos-sim: error: {error:#}");
    ExitCode::from(2)
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let catalogue = args.catalogue.as_deref().map(Catalogue::load).transpose()?;
    if catalogue.is_some() && args.handler != HandlerKind::Simulator {
        anyhow::bail!("--catalogue is for the simulator handler only");
    }
    if let Err(error) = system::raise_open_file_limit() {
        tracing::warn!(%error, "cannot raise the open-file limit");
    }
    let config = server::Config {
        address: format!("{}:{}", args.host, args.port),
        max_connections: args.max_connections,
        max_line: args.max_line,
        max_buffered: args.max_buffered,
        line_timeout: args.line_timeout,
        shutdown_grace: args.shutdown_grace,
    };
    config
        .check()
        .map_err(|reason| anyhow::anyhow!("--max-buffered {}: {reason}", args.max_buffered))?;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let address = config.address.clone();
    let server = Server::start(config, args.handler.build(catalogue))
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    announce(&format!("listening on {}", server.local_addr()));
    let console = match args.console_port {
        None => None,
        Some(port) => {
            let config = console::Config {
                address: format!("{}:{port}", args.host),
                backend: server.local_addr().to_string(),
                ..console::Config::default()
            };
            match Console::start(config).await {
                Ok(console) => Some(console),
                Err(error) => {
                    server.shutdown().await;
                    return Err(anyhow::Error::from(error)
                        .context(format!("cannot serve the console on {}:{port}", args.host)));
                }
            }
        }
    };
    if let Some(console) = &console {
        announce(&format!("console on {}", console.url()));
    }
    wait_for_termination(&mut terminate, &mut interrupt).await;
    let drain = async {
        // The console first: its relays close their backend connections
        // cleanly while the simulator still answers.
        if let Some(console) = console {
            console.shutdown().await;
        }
        server.shutdown().await
    };
    tokio::select! {
        drained = drain => {
            if drained.cut > 0 {
                tracing::warn!(
                    cut = drained.cut,
                    "connection(s) cut: their clients did not read their replies within the grace"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        // An operator who will not wait: close everything now, replies or
        // not, and say so in the exit status.
        signal = wait_for_termination(&mut terminate, &mut interrupt) => {
            tracing::warn!("second signal: closing every connection now");
            Ok(ExitCode::from(128 + signal as u8))
        }
    }
}

/// Waits for SIGTERM or SIGINT and returns its number.
async fn wait_for_termination(
    terminate: &mut tokio::signal::unix::Signal,
    interrupt: &mut tokio::signal::unix::Signal,
) -> i32 {
    tokio::select! {
        _ = terminate.recv() => {
            tracing::info!("SIGTERM: shutting down");
            nix::libc::SIGTERM
        }
        _ = interrupt.recv() => {
            tracing::info!("SIGINT: shutting down");
            nix::libc::SIGINT
        }
    }
}

async fn serve_console(args: console::ConsoleArgs) -> anyhow::Result<ExitCode> {
    let config = args.config();
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let console = Console::start(config.clone())
        .await
        .with_context(|| format!("cannot listen on {}", config.address))?;
    announce(&format!("console on {}", console.url()));
    wait_for_termination(&mut terminate, &mut interrupt).await;
    console.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

fn signal(kind: tokio::signal::unix::SignalKind) -> anyhow::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).context("cannot install a signal handler")
}

/// Prints the one stdout line that tells a supervisor the server is ready.
fn announce(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        tracing::warn!(%error, "cannot write the ready line to stdout");
    }
}

async fn send(args: SendArgs) -> anyhow::Result<ExitCode> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        anyhow::bail!(
            "--timeout must be a positive number of seconds, got {}",
            args.timeout
        );
    }
    let options = ClientOptions {
        reply_timeout: std::time::Duration::from_secs_f64(args.timeout),
        ..ClientOptions::default()
    };
    let mut client = Client::connect_with(args.address.to_string(), options).await?;
    let mut all_ok = true;
    for line in &args.lines {
        // Sent as typed (even malformed), so the backend's own answer shows.
        let line = if line.starts_with(['?', '!']) {
            line.clone()
        } else {
            format!("?{line}")
        };
        let mut bytes = latin1::encode(&line).with_context(|| format!("cannot send {line:?}"))?;
        bytes.extend_from_slice(b"\r\n");
        client.send_raw(&bytes).await?;
        let reply = client.receive().await?;
        all_ok &= reply.code() == Some(Code::Ok);
        println!("{reply}");
    }
    client.close().await?;
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
