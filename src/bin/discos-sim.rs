//! `discos-sim`: serve the simulator, poke a backend, and more.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use discos_acceptance::address::Address;
use discos_acceptance::backend::{BackendHandler, Catalogue, HandlerKind, Simulator};
use discos_acceptance::client::{Client, ClientOptions};
use discos_acceptance::console::{self, Console};
use discos_acceptance::events::{
    self, BrokerUrl, DEFAULT_CAPACITY, DEFAULT_EXCHANGE, Publisher, PublisherConfig, Subscriber,
    SubscriberConfig, Update,
};
use discos_acceptance::protocol::{
    Code, DEFAULT_MAX_LINE, PROTOCOL_VERSION, UNDEFINED_NAME, latin1, readable_name,
};
use discos_acceptance::report;
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
    /// Print a backend's events as they arrive on a message broker (see
    /// `serve --publish`), until SIGINT or SIGTERM.
    Events(EventsArgs),
    /// Run the acceptance features against a backend (`check --help` for
    /// the options: --target, --features, --tags, --junit, --html…).
    #[command(disable_help_flag = true)]
    Check {
        /// Options of the acceptance run.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Work with the reports of acceptance runs.
    #[command(subcommand)]
    Report(ReportCommand),
    /// List the steps a scenario can say: each phrase with its parameters,
    /// what it does, an example from the features and how often they use it.
    Steps(StepsArgs),
    /// Stand between clients and a backend, passing every line through,
    /// misbehaving on demand (--fault, or the control interface), and
    /// optionally writing the session down as a feature (--record).
    Proxy(ProxyArgs),
}

#[derive(Debug, Args)]
struct ProxyArgs {
    /// Port to listen on; 0 picks a free one (printed on stdout).
    #[arg(long, value_name = "PORT")]
    listen: u16,
    /// The backend every client is linked to, HOST:PORT or tcp://HOST:PORT.
    #[arg(long, value_name = "ADDRESS")]
    to: Address,
    /// Address to listen on (the control interface always listens on
    /// 127.0.0.1).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// A fault, active from the start; repeatable. E.g. 'delay 2s on
    /// get-tpi', 'drop after 3 requests', 'fail on set-configuration',
    /// 'slice 1 byte every 5ms', 'down for 10s'. The README lists them all.
    #[arg(long = "fault", value_name = "FAULT", value_parser = parse_fault)]
    faults: Vec<discos_acceptance::proxy::Fault>,
    /// Port of the control interface on 127.0.0.1, which changes the
    /// faults while the proxy runs (GET/POST/DELETE /faults); 0 picks a
    /// free one (printed on stdout).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    control: u16,
    /// When the proxy stops, write what passed as a feature in the step
    /// library's words to FILE (a .feature file), to replay against the
    /// same backend.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Links served at once; one more is refused with a reason.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u64).range(1..=1 << 24).map(|v| v as usize))]
    max_connections: usize,
    /// The longest line a fault holds whole, in bytes; a longer one passes
    /// as it comes, and no fault acts on it.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE,
          value_parser = clap::value_parser!(u64)
              .range(MIN_LINE_LIMIT as u64..=MAX_LINE_LIMIT as u64)
              .map(|v| v as usize))]
    max_line: usize,
    /// Bytes of buffers all links together may hold.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BUFFERED,
          value_parser = clap::value_parser!(u64).range(1..=1 << 40).map(|v| v as usize))]
    max_buffered: usize,
    /// On SIGINT or SIGTERM, how long to wait for clients to take their
    /// replies and close, e.g. 5s; a second signal closes everything at once.
    #[arg(long, value_name = "D", default_value = "5s",
          value_parser = |text: &str| duration::parse_within(text, Duration::from_millis(1), Duration::from_secs(3600)))]
    shutdown_grace: Duration,
    /// How long a link waits for the backend to accept its connection.
    #[arg(long, value_name = "D", default_value = "5s", value_parser = duration::parse)]
    connect_timeout: Duration,
}

/// Reads `--fault`; the error names what is wrong and where.
fn parse_fault(text: &str) -> Result<discos_acceptance::proxy::Fault, String> {
    text.parse()
        .map_err(|error: discos_acceptance::proxy::FaultError| {
            format!("at character {}: {}", error.at, error.reason)
        })
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// Join the reports of several runs of one suite (shards, or runs on
    /// several machines), each written with --report-json, into one report.
    /// Exits 1 if a scenario failed a MUST or named no requirement (with
    /// --strict, a SHOULD too), 2 if the reports cannot be merged.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// The reports to merge, written by runs with --report-json FILE.
    #[arg(required = true, value_name = "REPORT.json")]
    reports: Vec<PathBuf>,
    /// Write the merged HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the merged JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the merged report's model as JSON to FILE, to merge again.
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
    /// Fail on a failed SHOULD too, as a run with --strict does (a merge of
    /// runs made with --strict is strict without it).
    #[arg(long)]
    strict: bool,
}

#[derive(Debug, Args)]
struct StepsArgs {
    /// One JSON object instead of text, for editors and tools.
    #[arg(long)]
    json: bool,
    /// Count the uses in the .feature files of DIR instead of the features
    /// compiled in.
    #[arg(long, value_name = "DIR")]
    features: Option<PathBuf>,
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
    /// Behave as a backend DISCOS drives: sardara or skarab, their
    /// configurations, inputs and limits (profiles/NAME.toml, compiled in;
    /// the same as --catalogue of that file).
    #[arg(long, value_name = "NAME", conflicts_with = "catalogue",
          value_parser = discos_acceptance::backend::Profile::named)]
    profile: Option<discos_acceptance::backend::Profile>,
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
    #[command(flatten, next_help_heading = "Console (with --console-port)")]
    console: console::ConsoleOptions,
    #[command(flatten)]
    publish: PublishArgs,
}

/// `serve`'s options for publishing events.
#[derive(Debug, Args)]
struct PublishArgs {
    /// Publish every change of the simulator's state as a JSON event on the
    /// broker at URL (amqp://USER:PASS@HOST:PORT/VHOST), routing key
    /// `backend.<event>`. A broker that is down, at the start or later, is
    /// tried again with a back-off and never stops the backend. An
    /// acceptance run's `cmd:` target passes it through `DISCOS_PUBLISH`.
    #[arg(long, value_name = "URL", env = "DISCOS_PUBLISH")]
    publish: Option<BrokerUrl>,
    /// The topic exchange the events go to (default `discos`; needs
    /// --publish).
    #[arg(long, value_name = "NAME", env = "DISCOS_EXCHANGE")]
    exchange: Option<String>,
}

#[derive(Debug, Args)]
struct EventsArgs {
    /// The broker, amqp://USER:PASS@HOST:PORT/VHOST.
    #[arg(value_name = "URL")]
    url: BrokerUrl,
    /// The backend's exchange.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_EXCHANGE, value_parser = exchange_name)]
    exchange: String,
    /// Only the events whose routing key matches PATTERN, e.g.
    /// `backend.acquisition.*`; repeatable (default: `backend.#`, all).
    #[arg(long = "only", value_name = "PATTERN", value_parser = binding_pattern)]
    only: Vec<String>,
    /// One JSON object per line, exactly as published, for scripts.
    #[arg(long)]
    json: bool,
}

/// Reads `--exchange`: the empty name is the broker's default exchange,
/// which no backend publishes to and no one may declare, so the broker
/// would refuse the subscription in words that read as a refused login.
fn exchange_name(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err(format!(
            "an exchange needs a name (the backend publishes to '{DEFAULT_EXCHANGE}' unless told otherwise)"
        ));
    }
    Ok(text.to_owned())
}

/// Reads `--only`: an empty pattern matches only an empty routing key,
/// which no event has, so it would subscribe to nothing and print nothing.
fn binding_pattern(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err(
            "an empty pattern matches no event; give a routing key pattern such as backend.acquisition.* (or leave --only out for all)".to_owned(),
        );
    }
    Ok(text.to_owned())
}

#[derive(Debug, Args)]
struct SendArgs {
    /// The backend, HOST:PORT or tcp://HOST:PORT.
    #[arg(value_name = "ADDRESS")]
    address: Address,
    /// Request lines, e.g. `status` or `?set-configuration,K2000` (the `?` may
    /// be omitted); each is sent as typed, so a malformed one shows how the
    /// backend answers it, but a line break inside one is refused: it would
    /// send requests nobody sees.
    #[arg(required = true)]
    lines: Vec<String>,
    /// How long to wait for the connection and for each reply, e.g. 5s or
    /// 500ms.
    #[arg(long, value_name = "D", default_value = "5s", value_parser = discos_acceptance::duration::parse)]
    timeout: Duration,
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
        Command::Report(ReportCommand::Merge(args)) => merge_reports(args).unwrap_or_else(fail),
        Command::Steps(args) => steps(args),
        Command::Serve(args) => run(serve(args)),
        Command::Events(args) => run(print_events(args)),
        Command::Send(args) => run(send(args)),
        Command::Console(args) => run(serve_console(args)),
        Command::Proxy(args) => run(proxy(args)),
    }
}

/// Reads every report, merges them and writes what was asked for; the
/// merged report's counts and verdict are printed as a run prints them,
/// and it exits as the whole run would have (a failed SHOULD fails it only
/// when strict).
fn merge_reports(args: MergeArgs) -> anyhow::Result<ExitCode> {
    if args.html.is_none() && args.junit.is_none() && args.report_json.is_none() {
        anyhow::bail!("nothing to write: give --html FILE, --junit FILE or --report-json FILE");
    }
    for (option, path) in [
        ("--html", &args.html),
        ("--junit", &args.junit),
        ("--report-json", &args.report_json),
    ] {
        if let Some(path) = path {
            discos_acceptance::run::check_writable(option, path)?;
        }
    }
    let runs = args
        .reports
        .iter()
        .map(|path| Ok((path.display().to_string(), report::read_json(path)?)))
        .collect::<Result<Vec<_>, report::MergeError>>()?;
    let mut merged = report::merge(runs)?;
    merged.strict |= args.strict;
    let written = |path: &PathBuf, result: std::io::Result<()>| {
        result.with_context(|| format!("cannot write {}", path.display()))
    };
    if let Some(path) = &args.html {
        written(path, merged.write_html(path))?;
    }
    if let Some(path) = &args.junit {
        written(path, merged.write_junit(path))?;
    }
    if let Some(path) = &args.report_json {
        written(path, merged.write_json(path))?;
    }
    let tally = merged.tally();
    println!(
        "{} report(s) merged: {} scenario(s): {} passed, {} failed, {} non-strict, {} skipped\n{}",
        args.reports.len(),
        tally.total(),
        tally.passed,
        tally.failed(),
        tally.non_strict,
        tally.skipped,
        merged.headline().sentence()
    );
    Ok(if merged.passes() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints the step catalogue; a feature file that cannot be read is named
/// on stderr and makes the exit status 1.
fn steps(args: StepsArgs) -> ExitCode {
    use discos_acceptance::authoring::catalogue;
    use discos_acceptance::authoring::catalogue::{Catalogue, Format};
    let (features, errors, source) = match &args.features {
        Some(dir) => match catalogue::read_features(dir, |path| path.display().to_string()) {
            Ok((features, errors)) => (features, errors, dir.display().to_string()),
            Err(error) => return fail(error),
        },
        None => {
            let (features, errors) = catalogue::compiled_in_features();
            (features, errors, "features".to_owned())
        }
    };
    let format = if args.json {
        Format::Json
    } else {
        Format::Text
    };
    let listing = catalogue::listing(Catalogue::library(), &features, &source, format);
    // A reader that stops early (`| head`) is no error.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(listing.as_bytes())
        .and_then(|()| stdout.flush());
    for error in &errors {
        eprintln!("discos-sim: {error}");
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What is logged unless `RUST_LOG` says: our own info and above, and
/// nothing of the AMQP library, whose every failure reaches the user as our
/// own one-line message (a refused login, a broker away and tried again);
/// its raw ERROR lines would say the same twice, in its words.
const DEFAULT_LOG: &str = "info,lapin=off";

/// Logs through tracing to stderr, filtered by `RUST_LOG` (default
/// [`DEFAULT_LOG`]);
/// in colour only on a terminal (and without `NO_COLOR`), so a log kept in a
/// file or read by a CI page holds no escape codes.
fn log_to_stderr() {
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_LOG.into()))
        .with_writer(std::io::stderr)
        .with_ansi(colour)
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
    eprintln!("discos-sim: error: {}", one_line(&error));
    ExitCode::from(2)
}

/// The error and its causes on one line, each said once. An error whose
/// message already ends with its cause (`cannot connect to …: Connection
/// refused`, as `thiserror` messages are written) would otherwise show the
/// OS error twice.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The catalogue `serve` is given (by `--profile` or `--catalogue`), once
/// the options are checked to fit together.
fn serve_catalogue(args: &ServeArgs) -> anyhow::Result<Option<Catalogue>> {
    let catalogue = match args.profile {
        Some(profile) => Some(profile.catalogue()?),
        None => args.catalogue.as_deref().map(Catalogue::load).transpose()?,
    };
    if catalogue.is_some() && args.handler != HandlerKind::Simulator {
        let option = if args.profile.is_some() {
            "--profile"
        } else {
            "--catalogue"
        };
        anyhow::bail!("{option} is for the simulator handler only");
    }
    if let (None, Some(option)) = (args.console_port, args.console.first_given()) {
        anyhow::bail!("{option} is for the console: add --console-port PORT");
    }
    Ok(catalogue)
}

/// The console of `serve --console-port`, in front of `backend`, if asked
/// for; never on the backend's own port.
async fn backend_console(
    args: &ServeArgs,
    backend: std::net::SocketAddr,
) -> anyhow::Result<Option<Console>> {
    match args.console_port {
        None => Ok(None),
        Some(port) if port != 0 && port == backend.port() => anyhow::bail!(
            "--console-port {port} is the port the backend listens on (--port); give the console another"
        ),
        Some(port) => {
            let config = args.console.apply(console::Config {
                address: format!("{}:{port}", args.host),
                backend: backend.to_string(),
                ..console::Config::default()
            });
            match Console::start(config).await {
                Ok(console) => Ok(Some(console)),
                Err(error) => Err(anyhow::Error::from(error)
                    .context(format!("cannot serve the console on {}:{port}", args.host))),
            }
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let catalogue = serve_catalogue(&args)?;
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
    let (handler, events) = handler_publishing(&args, catalogue)?;
    let server = Server::start(config, handler)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    // Every port is bound before anything is announced: a supervisor that
    // reads `listening on` must not then see the program fail.
    let console = match backend_console(&args, server.local_addr()).await {
        Ok(console) => console,
        Err(error) => {
            server.shutdown().await;
            return Err(error);
        }
    };
    // Named after the address it listens on, known only now.
    let publisher = events.map(|(mut config, queue)| {
        config.source = server.local_addr().to_string();
        config.connection_name = format!("discos-sim serve on {}", config.source);
        Publisher::start(config, queue)
    });
    announce(&format!("listening on {}", server.local_addr()));
    if let Some(console) = &console {
        warn_if_exposed(console);
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
    let (status, publish_drain) = tokio::select! {
        drained = drain => {
            if drained.cut > 0 {
                tracing::warn!(
                    cut = drained.cut,
                    "connection(s) cut: their clients did not read their replies within the grace"
                );
            }
            (ExitCode::SUCCESS, PUBLISH_DRAIN)
        }
        // An operator who will not wait: close everything now, replies or
        // not, and say so in the exit status.
        signal = wait_for_termination(&mut terminate, &mut interrupt) => {
            tracing::warn!("second signal: closing every connection now");
            (ExitCode::from(128 + signal as u8), Duration::from_millis(250))
        }
    };
    // No request can change anything now: what is queued goes (unless the
    // operator would not wait), then the broker connection closes.
    if let Some(publisher) = publisher {
        publisher.shutdown(publish_drain).await;
    }
    Ok(status)
}

/// How long, at shutdown, queued events may take to reach the broker.
const PUBLISH_DRAIN: Duration = Duration::from_secs(5);

/// A publisher's configuration and the queue it will drain, before it
/// starts.
type PendingPublisher = (PublisherConfig, events::EventQueue);

/// The handler `serve` runs and, with `--publish`, the publisher it feeds
/// (configured but not started: it is named after the server's address).
fn handler_publishing(
    args: &ServeArgs,
    catalogue: Option<Catalogue>,
) -> anyhow::Result<(
    std::sync::Arc<dyn discos_acceptance::backend::Handler>,
    Option<PendingPublisher>,
)> {
    let Some(url) = args.publish.publish.clone() else {
        if args.publish.exchange.is_some() {
            anyhow::bail!("--exchange is for --publish: give the broker with --publish URL");
        }
        return Ok((args.handler.build(catalogue), None));
    };
    if args.handler != HandlerKind::Simulator {
        anyhow::bail!("--publish is for the simulator handler only: the others keep no state");
    }
    let mut config = PublisherConfig::new(url, "");
    if let Some(exchange) = &args.publish.exchange {
        if exchange.is_empty() {
            anyhow::bail!("--exchange must name an exchange, not be empty");
        }
        config.exchange = exchange.clone();
    }
    let (sink, queue) = events::queue(DEFAULT_CAPACITY);
    let simulator = Simulator::with_events(catalogue, sink);
    Ok((
        std::sync::Arc::new(BackendHandler::new(simulator)),
        Some((config, queue)),
    ))
}

/// `discos-sim events`: subscribes and prints each event on stdout; what
/// happens to the subscription (subscribed, lost, back) goes to stderr.
async fn print_events(args: EventsArgs) -> anyhow::Result<ExitCode> {
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut config = SubscriberConfig::new(args.url.clone());
    config.exchange = args.exchange.clone();
    if !args.only.is_empty() {
        config.bindings = args.only.clone();
    }
    let bindings = config.bindings.join(", ");
    let mut subscriber = Subscriber::connect(config).await?;
    let mut gaps = events_cli::Gaps::default();
    let mut stdout = std::io::stdout();
    loop {
        let update = tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            update = subscriber.next() => update,
        };
        let Some(update) = update else {
            break;
        };
        match update {
            Update::Subscribed { again: false } => eprintln!(
                "subscribed to exchange {} on {} ({bindings}); Ctrl-C to stop",
                args.exchange, args.url
            ),
            Update::Subscribed { again: true } => eprintln!(
                "subscribed again; events published while the broker was away are not shown"
            ),
            Update::Lost { reason } => {
                eprintln!("lost the broker: {reason}; subscribing again as soon as it is back");
            }
            Update::NotAnEvent {
                routing_key,
                reason,
            } => eprintln!("a message on {routing_key} is not an event: {reason}"),
            Update::Event(received) => {
                if let Some(note) = gaps.note(&received.event) {
                    eprintln!("{note}");
                }
                let line = if args.json {
                    serde_json::to_string(&received.event)?
                } else {
                    events_cli::human(&received.event)
                };
                // A closed pipe (`| head`) ends the program quietly.
                if writeln!(stdout, "{line}")
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    subscriber.close(std::time::Duration::from_secs(5)).await;
    Ok(ExitCode::SUCCESS)
}

/// How `discos-sim events` shows events to a person.
mod events_cli {
    use std::collections::HashMap;
    use std::fmt::Write as _;

    use discos_acceptance::events::Event;
    use discos_acceptance::protocol::Timestamp;

    /// One line: the backend's time (UTC), the number, the name, what it
    /// left, and which request on which backend caused it.
    pub fn human(event: &Event) -> String {
        let time = event
            .time
            .parse::<Timestamp>()
            .map(|time| humantime::format_rfc3339_millis(time.into()).to_string())
            .unwrap_or_else(|_| event.time.clone());
        let mut line = format!("{time}  #{:<5} {}", event.sequence, event.event);
        for (key, value) in &event.details {
            let value = match value {
                serde_json::Value::Null => "-".to_owned(),
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let _ = write!(line, "  {key}={value}");
        }
        match &event.request {
            Some(request) => {
                let _ = write!(line, "  ({request} on {})", event.source);
            }
            None => {
                let _ = write!(line, "  (on {})", event.source);
            }
        }
        line
    }

    /// The last number seen from each backend, to tell a gap or a repeat.
    #[derive(Debug, Default)]
    pub struct Gaps {
        last: HashMap<String, u64>,
    }

    impl Gaps {
        /// What to say about `event`'s number, if anything.
        pub fn note(&mut self, event: &Event) -> Option<String> {
            let source = &event.source;
            let previous = self.last.insert(source.clone(), event.sequence);
            match previous {
                // Number 1 again: the backend started over.
                Some(_) if event.sequence == 1 => Some(format!("{source} started over at #1")),
                Some(last) if event.sequence > last + 1 => Some(format!(
                    "missed {} event(s) from {source}: #{} to #{}",
                    event.sequence - last - 1,
                    last + 1,
                    event.sequence - 1
                )),
                Some(last) if event.sequence <= last => {
                    // Keep the highest number seen.
                    self.last.insert(source.clone(), last);
                    Some(format!(
                        "#{} from {source} again (sent again after a reconnect)",
                        event.sequence
                    ))
                }
                _ => None,
            }
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

/// A recording's path that cannot be written is said now, not after the
/// session: it must name a feature file, and one that can be made.
fn check_recording(path: &std::path::Path) -> anyhow::Result<()> {
    if path
        .extension()
        .is_none_or(|extension| extension != "feature")
    {
        anyhow::bail!(
            "--record {}: a recording is a feature file; name it FILE.feature",
            path.display()
        );
    }
    std::fs::write(path, "")
        .with_context(|| format!("--record {}: cannot write there", path.display()))
}

/// `discos-sim proxy`: links every client to the backend until SIGINT or
/// SIGTERM, then drains the links and, with `--record`, writes the feature.
async fn proxy(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    use discos_acceptance::proxy::{self, Control, Proxy, Recorder};
    if let Err(error) = system::raise_open_file_limit() {
        tracing::warn!(%error, "cannot raise the open-file limit");
    }
    if let Some(path) = &args.record {
        check_recording(path)?;
    }
    let recorder = args
        .record
        .as_ref()
        .map(|_| std::sync::Arc::new(Recorder::new()));
    let config = proxy::Config {
        address: format!("{}:{}", args.host, args.listen),
        max_connections: args.max_connections,
        max_line: args.max_line,
        max_buffered: args.max_buffered,
        shutdown_grace: args.shutdown_grace,
        connect_timeout: args.connect_timeout,
        faults: args.faults.clone(),
        recorder: recorder.clone(),
        ..proxy::Config::new(args.to.to_string())
    };
    config
        .check()
        .map_err(|reason| anyhow::anyhow!("--max-buffered {}: {reason}", args.max_buffered))?;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let address = config.address.clone();
    let proxy = Proxy::start(config)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let control_address = format!("127.0.0.1:{}", args.control);
    let control = match Control::start(&control_address, &proxy).await {
        Ok(control) => control,
        Err(error) => {
            proxy.shutdown().await;
            return Err(anyhow::Error::from(error).context(format!(
                "cannot serve the control interface on {control_address}"
            )));
        }
    };
    announce(&format!("listening on {}", proxy.local_addr()));
    announce(&format!("control on {}", control.url()));
    for entry in proxy.faults().list().iter() {
        tracing::info!(id = entry.id, fault = %entry.fault, "fault active");
    }
    wait_for_termination(&mut terminate, &mut interrupt).await;
    control.shutdown().await;
    let status = tokio::select! {
        drained = proxy.shutdown() => {
            if drained.cut > 0 {
                tracing::warn!(
                    cut = drained.cut,
                    "link(s) cut: their clients did not read their replies within the grace"
                );
            }
            ExitCode::SUCCESS
        }
        signal = wait_for_termination(&mut terminate, &mut interrupt) => {
            tracing::warn!("second signal: closing every link now");
            ExitCode::from(128 + signal as u8)
        }
    };
    if let (Some(path), Some(recorder)) = (&args.record, &recorder) {
        recorder
            .write(path)
            .with_context(|| format!("cannot write the recording to {}", path.display()))?;
        eprintln!(
            "recorded {} line(s) to {}",
            recorder.lines(),
            path.display()
        );
    }
    Ok(status)
}

async fn serve_console(args: console::ConsoleArgs) -> anyhow::Result<ExitCode> {
    let config = args.config();
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let console = Console::start(config.clone())
        .await
        .with_context(|| format!("cannot listen on {}", config.address))?;
    warn_if_exposed(&console);
    announce(&format!("console on {}", console.url()));
    wait_for_termination(&mut terminate, &mut interrupt).await;
    console.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Says, on stderr whatever the log filter, that a console listening
/// beyond this machine lets anyone who reaches it drive the backend.
fn warn_if_exposed(console: &Console) {
    if let Some(warning) = console::exposure_warning(console.local_addr()) {
        eprintln!("{warning}");
    }
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
    // Every line is checked before connecting: a bad one must not leave the
    // lines before it sent.
    let requests = args
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| wire_line(index + 1, line))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = ClientOptions {
        reply_timeout: args.timeout,
        ..ClientOptions::default()
    };
    let mut client = Client::connect_with(args.address.to_string(), options).await?;
    if client.version() != PROTOCOL_VERSION {
        eprintln!(
            "discos-sim: warning: {} speaks protocol {} ({}), not {PROTOCOL_VERSION}: replies may not mean what this tool expects",
            args.address,
            client.version(),
            client.handshake()
        );
    }
    let mut all_ok = true;
    for (index, (line, bytes)) in requests.iter().enumerate() {
        client.send_raw(bytes).await?;
        let reply = client.receive().await?;
        println!("{reply}");
        // Replies come in request order; one under another name means the
        // two sides no longer agree on which reply answers which request.
        let expected =
            readable_name(&bytes[..bytes.len() - 2]).unwrap_or_else(|| UNDEFINED_NAME.to_owned());
        if reply.name != expected {
            anyhow::bail!(
                "the reply to line {} ({line:?}) is named '{}', not '{expected}': {reply}",
                index + 1,
                reply.name
            );
        }
        all_ok &= reply.code() == Some(Code::Ok);
    }
    client.close().await?;
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The bytes to send for the `number`th request line as typed: `?` added
/// when it starts with neither `?` nor `!`, latin-1, CR LF at the end.
fn wire_line(number: usize, line: &str) -> anyhow::Result<(String, Vec<u8>)> {
    if line.contains(['\r', '\n']) {
        anyhow::bail!(
            "line {number} ({line:?}) holds a line break, which would send more than one request; give each request as its own argument"
        );
    }
    let line = if line.starts_with(['?', '!']) {
        line.to_owned()
    } else {
        format!("?{line}")
    };
    let mut bytes =
        latin1::encode(&line).with_context(|| format!("cannot send line {number} ({line:?})"))?;
    bytes.extend_from_slice(b"\r\n");
    Ok((line, bytes))
}
