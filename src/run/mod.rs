//! Running the features: command line, filters, hooks, writers, exit status.
//!
//! One entry point serves `cargo test --test acceptance`, `discos-sim check`
//! and any other crate that wants to run these steps on its own features.

pub mod foreground;
pub mod interrupt;
pub mod recorder;
pub mod shard;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{CommandFactory as _, FromArgMatches as _};
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use cucumber::{World as _, WriterExt as _, cli, event, parser, runner, writer};
use futures::FutureExt as _;

use crate::acceptance::broker::{REQUIRE_BROKER_ENV, RunBroker};
use crate::acceptance::browser::Installation;
use crate::acceptance::features;
use crate::acceptance::settings::Settings;
use crate::acceptance::target::{ReadyWhen, Target};
use crate::acceptance::teardown::leak_report;
use crate::acceptance::web::Browsers;
use crate::acceptance::world::DiscosWorld;
use crate::authoring::catalogue;
use crate::authoring::catalogue::{Catalogue, FeatureFile};
use crate::authoring::{Snippet, dry_run};
use crate::client::{Client, ClientOptions};
use crate::report::terminal::{Paths, Sink};
use crate::report::{Report, Suite, Terminal, artifact_stem};
use crate::run::recorder::{Reports, Transcripts, keep_transcript};
use shard::{Members, Shard};

/// Tags left out unless `--tags` names them: scenarios still being written,
/// and the one that leaks on purpose to prove the teardown check.
pub const EXCLUDED_BY_DEFAULT: [&str; 2] = ["wip", "deliberate-leak"];

/// How many scenarios run at once unless `--concurrency` says: embedded
/// backends cost a task each, processes cost more of the machine, and one
/// running backend that every scenario shares takes one at a time.
pub fn default_concurrency(target: &Target) -> usize {
    match target {
        Target::Address(_) => 1,
        Target::Command(_) => 8,
        Target::Embedded => 16,
    }
}

/// Options of a run, beside cucumber's own (`--tags`, `--name`,
/// `--concurrency`, `--fail-fast`, `-v`, `--color`).
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The backend under test: embedded, cmd:<command with {port}>, or
    /// tcp://HOST:PORT (or HOST:PORT).
    #[arg(long, env = "DISCOS_TARGET", default_value = "embedded", value_parser = parse_target)]
    pub target: Target,
    /// The folder of .feature files (default: the project's features), or
    /// one .feature file. Files a feature names, such as a catalogue, are
    /// looked up beside that folder (in its parent), then in the current
    /// directory.
    #[arg(long, value_name = "PATH")]
    pub features: Option<PathBuf>,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a cucumber JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the report's model as JSON to FILE, for `discos-sim
    /// report merge` to join with the reports of other runs of the suite.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Where screenshots and page HTML of failed steps go (default:
    /// target/acceptance for `cargo test`, a temporary folder the run names
    /// for `discos-sim check`, made only when a step fails).
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// A WebDriver endpoint (a Selenium Grid, a remote chromedriver) for the
    /// @browser scenarios, instead of the chromedriver the run starts.
    #[arg(long, value_name = "URL", env = "DISCOS_WEBDRIVER")]
    pub webdriver: Option<String>,
    /// How long a backend may take to get ready (the run checks the target
    /// once before any scenario, and stops with one error if it cannot).
    #[arg(long, value_name = "D", default_value = "20s", value_parser = crate::duration::parse)]
    pub ready_timeout: Duration,
    /// How long a scenario's end listens, after the last line a client
    /// received, for lines nobody asked for (a second reply sent late),
    /// before asking ?version once more on each connection (default: 250ms
    /// for a cmd: or tcp: backend, 0s for the embedded simulator).
    #[arg(long, value_name = "D", value_parser = parse_settle)]
    pub settle: Option<Duration>,
    /// A cmd: backend is ready when a line of its output matches PATTERN
    /// (a regular expression; `{port}` is its port), instead of when its
    /// port accepts a connection from one of its own processes. A group in
    /// the pattern captures the port a backend picked and announced, for a
    /// command without {port}.
    #[arg(long, value_name = "PATTERN")]
    pub ready_when: Option<ReadyWhen>,
    /// Print a Rust step definition to start from for every undefined step
    /// (always on for `cargo test`).
    #[arg(long)]
    pub snippets: bool,
    /// Print the step library and run nothing: every sentence a scenario
    /// can say, its parameters, what it does, an example from the features
    /// and how often they use it; `--steps json` for editors.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "text")]
    pub steps: Option<catalogue::Format>,
    /// Check that every step of the selected scenarios matches exactly one
    /// step definition, naming those that match none (with the steps
    /// closest to them) or several; starts nothing, not even the backend.
    #[arg(long)]
    pub dry_run: bool,
    /// Run only the I-th of N shards of the selected scenarios (1/3, 2/3,
    /// 3/3): the same split on every machine, so that N machines given the
    /// same options run each scenario exactly once.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Fail the run on a failed SHOULD too: without it, a scenario whose
    /// SHOULD failed is reported as non-strict and the run passes (a failed
    /// MUST always fails it).
    #[arg(long)]
    pub strict: bool,
    /// Give the backend the configurations of a backend DISCOS drives:
    /// sardara or skarab (profiles/NAME.toml), for the @sardara or @skarab
    /// scenarios. The embedded simulator takes it compiled in; a cmd:
    /// backend gets the file through DISCOS_CATALOGUE.
    #[arg(long, value_name = "NAME", value_parser = crate::backend::Profile::named)]
    pub profile: Option<crate::backend::Profile>,
    /// A message broker (amqp://USER:PASS@HOST:PORT/VHOST) for the @broker
    /// scenarios, instead of a rabbitmq-server started for the run.
    #[arg(long, value_name = "URL", env = "DISCOS_BROKER")]
    pub broker: Option<crate::events::BrokerUrl>,
}

/// `--settle`: no wait at all (`0s`) up to a minute, longer than any
/// backend's second thoughts should take.
fn parse_settle(text: &str) -> Result<Duration, String> {
    crate::duration::parse_within(text, Duration::ZERO, Duration::from_secs(60))
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    text.parse()
}

/// Set to 1, @browser scenarios fail where no browser is installed instead
/// of being skipped: how CI makes sure it really drove a browser.
pub const REQUIRE_BROWSER_ENV: &str = "DISCOS_REQUIRE_BROWSER";

fn parse_target(text: &str) -> Result<Target, String> {
    text.parse()
}

/// The whole command line of a run: cucumber's options and ours.
pub type Options = cli::Opts<parser::basic::Cli, runner::basic::Cli, writer::basic::Cli, RunArgs>;

/// What a run did, and whether it passed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Everything that ran, failed or was left out, and why.
    pub report: Report,
    /// False if a scenario failed a MUST, or failed naming no requirement
    /// (with `--strict`, a SHOULD too), a teardown found leaks (the run's
    /// own browsers' included), a feature file did not parse, or a step
    /// outside `@wip` had no definition.
    pub passed: bool,
    /// What the run printed, for a run made with [`run_quietly`]; empty
    /// when it printed to standard output.
    pub output: String,
    /// A ready-to-paste definition for every undefined step.
    pub snippets: Vec<Snippet>,
}

/// The `main` of `tests/acceptance.rs`: parses the process's arguments, runs
/// the features of `default_features` (unless `--features` says otherwise)
/// and turns the outcome into the exit status.
pub fn main(default_features: impl Into<PathBuf>) -> ExitCode {
    main_with(std::env::args(), Some(default_features.into()))
}

/// As [`main`] with explicit arguments (the first is the program name);
/// without a default directory, the features compiled into the library run
/// (as `discos-sim check` does).
pub fn main_with(
    args: impl IntoIterator<Item = String>,
    default_features: Option<PathBuf>,
) -> ExitCode {
    let library_runner = default_features.is_some();
    let command = Options::command()
        .about("Runs the DISCOS acceptance features against a backend.")
        .long_about(None)
        .mut_arg("concurrency", |arg| {
            arg.help(
                "Scenarios run at once [default: 16 on the embedded target, 8 on cmd:, 1 on tcp://]",
            )
        })
        .mut_arg("verbose", |arg| {
            arg.help("Print every step of every scenario, not only those of failed ones")
                .long_help(None)
        })
        // A flaky scenario is a finding to report, not to retry away; the
        // features folder is --features.
        .mut_arg("retry", |arg| arg.hide(true))
        .mut_arg("retry_after", |arg| arg.hide(true))
        .mut_arg("retry_tag_filter", |arg| arg.hide(true))
        .mut_arg("input", |arg| arg.hide(true));
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|matches| Options::from_arg_matches(&matches));
    let mut options = match parsed {
        Ok(options) => options,
        Err(error) => {
            // Help and version are not errors; clap knows which is which.
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start tokio: {error}");
            return ExitCode::from(2);
        }
    };
    let mut unpacked = None;
    let mut paths = Paths::default();
    let features = match options.custom.features.clone().or(default_features) {
        Some(dir) => dir,
        None => match features::Unpacked::new(&std::env::temp_dir()) {
            Ok(compiled_in) => {
                let compiled_in = unpacked.insert(compiled_in);
                paths.actual = compiled_in.features().parent().map(Path::to_path_buf);
                compiled_in.features()
            }
            Err(error) => {
                eprintln!("error: cannot unpack the compiled-in features: {error}");
                return ExitCode::from(2);
            }
        },
    };
    options.custom.snippets |= library_runner;
    if options.custom.artifacts.is_none() && library_runner {
        options.custom.artifacts = Some(PathBuf::from("target/acceptance"));
    }
    let signals = crate::run::interrupt::watch(&runtime);
    let foreground = crate::run::foreground::take(&runtime);
    let result = runtime.block_on(run_to(options, &features, Sink::Stdout, paths));
    drop(foreground);
    drop(signals);
    if let Some(interrupted) = crate::run::interrupt::exit_code() {
        return interrupted;
    }
    match result {
        Ok(outcome) if outcome.passed => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the features in `features` as `options` say, printing to
/// standard output.
pub async fn run(options: Options, features: &Path) -> anyhow::Result<Outcome> {
    run_to(options, features, Sink::Stdout, Paths::default()).await
}

/// As [`run`], keeping what the run prints in [`Outcome::output`] instead:
/// for tests of the runner, whose inner runs must not flood the outer
/// one's output.
pub async fn run_quietly(options: Options, features: &Path) -> anyhow::Result<Outcome> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let mut outcome = run_to(
        options,
        features,
        Sink::Buffer(buffer.clone()),
        Paths::default(),
    )
    .await?;
    let bytes = std::mem::take(&mut *buffer.lock().unwrap_or_else(|e| e.into_inner()));
    outcome.output = String::from_utf8_lossy(&bytes).into_owned();
    Ok(outcome)
}

async fn run_to(
    mut options: Options,
    features: &Path,
    sink: Sink,
    paths: Paths,
) -> anyhow::Result<Outcome> {
    check_request(&options, features)?;
    let args = options.custom.clone();
    if let Some(format) = args.steps {
        return print_catalogue(features, format, &sink, &paths, &args.target);
    }
    check_reports(&args)?;
    args.target
        .check(args.ready_when.as_ref())
        .map_err(anyhow::Error::msg)?;
    let (settings, folder) = settings_of(&args, features);
    let artifacts = settings.artifacts.clone();
    let mut selection = Selection::new(
        options.tags_filter.take(),
        options.re_filter.take(),
        &settings,
        folder,
    );

    // What will run is known before anything starts: a filter that selects
    // nothing is a mistake to name, not a green run.
    let plan = selection.plan(features, &paths)?;
    if plan.selected.is_empty() {
        anyhow::bail!(
            "no scenario selected: {} in {} ({} scenario(s) there)",
            selection.describe(),
            paths.show(features),
            plan.total
        );
    }
    let mut header = String::new();
    let to_run = deal_shard(&mut selection, &plan, args.shard, &mut header);
    if args.dry_run {
        return Ok(dry_run_of(
            &plan.features,
            &selection,
            &paths.show(features),
            header,
            &args,
            sink,
        ));
    }
    let undefined = undefined_steps(&plan, &selection);
    announce(&settings, to_run, header, &sink, &paths);
    if to_run > 0 {
        preflight(&settings).await?;
    }

    let report = Arc::new(Mutex::new(empty_report(&args, features)));
    let color = coloring(options.writer.color, &sink);
    let terminal = Terminal::new(
        sink.clone(),
        color,
        options.writer.verbose > 0,
        paths.clone(),
    );
    let (reports, transcripts) = recorder(&report, &args, terminal, &artifacts)?;
    let left_out: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let filter = scenario_filter(selection, report.clone(), left_out.clone());
    run_scenarios(
        options,
        features,
        &settings,
        (reports, report.clone()),
        transcripts,
        filter,
    )
    .await;
    // The browsers outlive their scenarios: stopped, and checked, here.
    let browser_leaks = settings.browsers.shut_down().await;
    // The run's broker, started by the first @broker scenario, goes now.
    let broker_problems = settings.broker.shut_down().await;
    for problem in &broker_problems {
        eprintln!("the message broker: {problem}");
    }

    let ending = Ending {
        oversubscribed: settings.starts.oversubscribed(settings.ready_timeout),
        report: report.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        left_out: std::mem::take(&mut *left_out.lock().unwrap_or_else(|e| e.into_inner())),
        browser_leaks,
        broker_problems,
    };
    let terminal = Terminal::new(sink, color, false, paths.clone());
    conclude(ending, undefined, &args, &terminal, &paths, &artifacts)
}

/// What a run has once its scenarios ran and its shared services stopped.
struct Ending {
    report: Report,
    /// Scenarios left out by a tag excluded by default, counted by tag.
    left_out: BTreeMap<String, usize>,
    /// What the run's browsers left behind.
    browser_leaks: Vec<String>,
    /// What went wrong stopping the run's broker.
    broker_problems: Vec<String>,
    /// Why backends were not ready in time, when the machine is the likely
    /// cause.
    oversubscribed: Option<String>,
}

/// Prints the summary and what follows it, writes the reports asked for,
/// and decides whether the run passed.
fn conclude(
    ending: Ending,
    undefined: dry_run::Findings,
    args: &RunArgs,
    terminal: &Terminal,
    paths: &Paths,
    artifacts: &Path,
) -> anyhow::Result<Outcome> {
    let Ending {
        mut report,
        left_out,
        browser_leaks,
        broker_problems,
        oversubscribed,
    } = ending;
    report.name_paths(|path| paths.show(path));
    for (snippet, place) in undefined.snippets.iter().zip(&undefined.places) {
        report.add_undefined(snippet.undefined_at(place));
    }
    terminal.summary(&report);
    if let Some(oversubscribed) = oversubscribed {
        terminal.print(&format!("{oversubscribed}\n"));
    }
    if !browser_leaks.is_empty() {
        let mut message = String::from("The run's browsers left things behind:\n");
        for leak in &browser_leaks {
            message.push_str(&format!("  - {leak}\n"));
        }
        terminal.print(&message);
    }
    print_afterword(
        terminal,
        &report,
        &left_out,
        &undefined.snippets,
        args.snippets,
        &undefined.places,
    );
    if report.scenarios().any(|(_, s)| !s.artifacts.is_empty()) {
        terminal.print(&format!(
            "Screenshots and pages of failed steps: {}\n",
            artifacts.display()
        ));
    }
    write_reports(&report, args, terminal)?;
    let passed = report.passes() && browser_leaks.is_empty() && broker_problems.is_empty();
    Ok(Outcome {
        report,
        passed,
        output: String::new(),
        snippets: undefined.snippets,
    })
}

/// Refuses, before anything is read, a features path that cannot be one
/// and cucumber's options that this runner does not offer, saying why.
fn check_request(options: &Options, features: &Path) -> anyhow::Result<()> {
    if !features.exists() {
        anyhow::bail!(
            "--features {}: there is no such file or folder",
            features.display()
        );
    }
    let feature_file = features
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("feature"));
    let readable = features.is_dir() || (features.is_file() && feature_file);
    if !readable {
        anyhow::bail!(
            "--features {}: neither a .feature file nor a folder of them",
            features.display()
        );
    }
    match options.runner.concurrency {
        Some(0) => anyhow::bail!("--concurrency 0 would run no scenario; give 1 or more"),
        Some(n) if n > MAX_CONCURRENCY => anyhow::bail!(
            "--concurrency {n} is more scenarios at once than a run can hold; give at most {MAX_CONCURRENCY}"
        ),
        _ => {}
    }
    if options.runner.retry.is_some() || options.runner.retry_tag_filter.is_some() {
        anyhow::bail!(
            "--retry is not offered: a scenario that passes only sometimes is a finding about the backend or the suite, to report, not to retry away"
        );
    }
    if options.parser.features.is_some() {
        anyhow::bail!(
            "--input is not offered; give the folder of .feature files with --features DIR"
        );
    }
    Ok(())
}

/// A report that cannot be written is said now, not after the suite ran;
/// and a dry run, which runs nothing, is refused any report.
fn check_reports(args: &RunArgs) -> anyhow::Result<()> {
    if args.dry_run
        && (args.junit.is_some()
            || args.json.is_some()
            || args.html.is_some()
            || args.report_json.is_some())
    {
        anyhow::bail!(
            "--dry-run runs no scenario, so it writes no report: leave out --junit, --json, --html and --report-json"
        );
    }
    for (option, path) in [
        ("--junit", &args.junit),
        ("--json", &args.json),
        ("--html", &args.html),
        ("--report-json", &args.report_json),
    ] {
        if let Some(path) = path {
            check_writable(option, path)?;
        }
    }
    Ok(())
}

/// The settings every scenario of the run shares, and the features folder
/// (a file stands for its folder: files it names are looked up beside that
/// folder, and shards are dealt by paths inside it).
fn settings_of(args: &RunArgs, features: &Path) -> (Arc<Settings>, PathBuf) {
    let artifacts = args.artifacts.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("discos-check-artifacts-{}", std::process::id()))
    });
    let folder = if features.is_file() {
        features.parent().unwrap_or(Path::new("."))
    } else {
        features
    };
    let settings = Arc::new(Settings {
        target: args.target.clone(),
        artifacts,
        root: folder.parent().unwrap_or(Path::new(".")).to_path_buf(),
        webdriver: args.webdriver.clone(),
        ready_timeout: args.ready_timeout,
        settle: args.settle.unwrap_or_else(|| args.target.default_settle()),
        ready_when: args.ready_when.clone(),
        browsers: Arc::new(Browsers::new(args.webdriver.clone())),
        broker: Arc::new(RunBroker::new(args.broker.clone())),
        profile: args.profile,
        starts: Arc::default(),
    });
    (settings, folder.to_path_buf())
}

/// With `--shard`, keeps this shard's scenarios in `selection` and says
/// which they are in `header`; returns how many selected scenarios will
/// run here. A shard with nothing to do is no error: with more shards than
/// scenarios, the others run them all.
fn deal_shard(
    selection: &mut Selection,
    plan: &Plan,
    shard: Option<Shard>,
    header: &mut String,
) -> usize {
    if let Some(shard) = shard {
        let members = Members::deal(shard, plan.selected.iter().map(|(key, _)| key.clone()));
        header.push_str(&members.describe());
        selection.members = Some(members);
    }
    plan.selected
        .iter()
        .filter(|(key, runs)| *runs && selection.members.as_ref().is_none_or(|m| m.has(key)))
        .count()
}

/// Cucumber stops a scenario at its first undefined step; the run names
/// every undefined step of the scenarios it runs, read before it starts.
fn undefined_steps(plan: &Plan, selection: &Selection) -> dry_run::Findings {
    dry_run::check(&plan.features, "", |feature, rule, scenario| {
        (selection.decide(feature, rule, scenario) == Decision::Run).then(|| {
            all_tags(feature, rule, scenario)
                .iter()
                .any(|t| *t == "wip")
        })
    })
}

/// Prints the run's header: its shard, and for backends it starts, how
/// their every descendant is stopped (whether that is sure rests on it).
fn announce(settings: &Settings, to_run: usize, mut header: String, sink: &Sink, paths: &Paths) {
    if to_run > 0 && matches!(settings.target, Target::Command(_)) {
        if !header.is_empty() && !header.ends_with('\n') {
            header.push('\n');
        }
        header.push_str(&format!(
            "backends: {}\n",
            crate::orchestration::reaper().confinement()
        ));
    }
    if !header.is_empty() {
        Terminal::new(sink.clone(), false, false, paths.clone()).print(&header);
    }
}

/// The report before any scenario ran: the target, the suite's files, and
/// whether SHOULDs count.
fn empty_report(args: &RunArgs, features: &Path) -> Report {
    let files = features::files(features).unwrap_or_default();
    let mut report = Report::new(args.target.to_string(), Suite::of(features, &files));
    report.strict = args.strict;
    report
}

/// Whether the terminal's output is coloured: `--color auto` colours only
/// a standard output that is a terminal.
fn coloring(color: writer::Coloring, sink: &Sink) -> bool {
    match color {
        writer::Coloring::Always => true,
        writer::Coloring::Never => false,
        writer::Coloring::Auto => {
            matches!(sink, Sink::Stdout) && std::io::IsTerminal::is_terminal(&std::io::stdout())
        }
    }
}

/// The writer that records the run into `report` and prints it to
/// `terminal`, with the transcripts the after hook keeps for it.
fn recorder(
    report: &Arc<Mutex<Report>>,
    args: &RunArgs,
    terminal: Terminal,
    artifacts: &Path,
) -> anyhow::Result<(Reports, Transcripts)> {
    let transcripts: Transcripts = Arc::default();
    let reports = Reports::new(
        report.clone(),
        transcripts.clone(),
        terminal,
        open_report(&args.junit)?,
        open_report(&args.json)?,
        artifacts.to_path_buf(),
    );
    Ok((reports, transcripts))
}

/// The file a report option names, its folder made if missing.
fn open_report(path: &Option<PathBuf>) -> anyhow::Result<Option<File>> {
    path.as_ref()
        .map(|path| {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            File::create(path).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
        })
        .transpose()
}

/// Cucumber's filter: runs what the selection runs, and records what it
/// leaves out (counted by tag) or skips (in the report, with the reason).
fn scenario_filter(
    selection: Selection,
    report: Arc<Mutex<Report>>,
    left_out: Arc<Mutex<BTreeMap<String, usize>>>,
) -> impl Fn(
    &cucumber::gherkin::Feature,
    Option<&cucumber::gherkin::Rule>,
    &cucumber::gherkin::Scenario,
) -> bool
+ 'static {
    move |feature, rule, scenario| match selection.decide(feature, rule, scenario) {
        Decision::Run => true,
        Decision::NotSelected | Decision::OtherShard => false,
        Decision::LeftOut(tag) => {
            let mut left_out = left_out.lock().unwrap_or_else(|e| e.into_inner());
            *left_out.entry(format!("@{tag}")).or_default() += 1;
            false
        }
        Decision::Skip(reason) => {
            let mut report = report.lock().unwrap_or_else(|e| e.into_inner());
            recorder::skip(&mut report, feature, scenario, &reason);
            false
        }
    }
}

/// Runs the filtered scenarios through cucumber, each World set up from
/// `settings` before and torn down after, its transcript kept.
async fn run_scenarios(
    options: Options,
    features: &Path,
    settings: &Arc<Settings>,
    (reports, report): (Reports, Arc<Mutex<Report>>),
    transcripts: Transcripts,
    filter: impl Fn(
        &cucumber::gherkin::Feature,
        Option<&cucumber::gherkin::Rule>,
        &cucumber::gherkin::Scenario,
    ) -> bool
    + 'static,
) {
    let before_settings = settings.clone();
    let concurrency = default_concurrency(&settings.target);
    // While features run, a failing step's panic is its failure message,
    // which cucumber prints; the hook would add a Rust location to it.
    let guard = crate::panics::Quiet::this_thread();
    DiscosWorld::cucumber()
        .max_concurrent_scenarios(concurrency)
        .before(move |feature, rule, scenario, world| {
            crate::run::interrupt::refuse_if_interrupted();
            world.settings = before_settings.clone();
            world.feature = feature.name.clone();
            world.scenario = scenario.name.clone();
            world.tags = all_tags(feature, rule, scenario)
                .into_iter()
                .cloned()
                .collect();
            world.started = std::time::Instant::now();
            // Pages saved by an earlier run must not pass for this one's.
            let stem = artifact_stem(&world.settings.artifacts, &feature.name, &scenario.name);
            remove_artifacts(&stem);
            async {}.boxed_local()
        })
        .after(move |feature, _, scenario, finished, world| {
            after_scenario(feature, scenario, finished, world, transcripts.clone()).boxed_local()
        })
        .with_writer(crate::run::interrupt::LeaveOutNotStarted::new(
            reports.normalized(),
            report,
        ))
        .fail_on_skipped_with(|feature, rule, scenario| {
            // Undefined steps fail the run, except while a scenario is
            // still being written.
            !all_tags(feature, rule, scenario)
                .iter()
                .any(|t| *t == "wip")
        })
        .with_cli(options)
        .filter_run(features.to_path_buf(), filter)
        .await;
    drop(guard);
}

/// The end of a scenario: what the browser showed when a step failed
/// (before the teardown closes it), the teardown, the transcript kept, and
/// leaks turned into the scenario's failure.
async fn after_scenario(
    feature: &cucumber::gherkin::Feature,
    scenario: &cucumber::gherkin::Scenario,
    finished: &event::ScenarioFinished,
    world: Option<&mut DiscosWorld>,
    transcripts: Transcripts,
) {
    let Some(world) = world else {
        return;
    };
    if let (event::ScenarioFinished::StepFailed(..), Some(web)) = (finished, &world.web) {
        let stem = artifact_stem(&world.settings.artifacts, &feature.name, &scenario.name);
        for problem in web.save_pages(&stem).await {
            eprintln!("{problem}");
        }
    }
    world.failed = matches!(finished, event::ScenarioFinished::StepFailed(..));
    let teardown_from = world.started.elapsed();
    let leaks = world.tear_down().await;
    keep_transcript(&transcripts, feature, scenario, world, teardown_from);
    if !leaks.is_empty() {
        panic!("{}", leak_report(&scenario.name, &leaks));
    }
}

/// Writes the HTML report and the report's model, when asked for.
fn write_reports(report: &Report, args: &RunArgs, terminal: &Terminal) -> anyhow::Result<()> {
    if let Some(path) = &args.html {
        report
            .write_html(path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        terminal.print(&format!("HTML report: {}\n", path.display()));
    }
    if let Some(path) = &args.report_json {
        report
            .write_json(path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The most scenarios a run holds at once: each holds a backend, its
/// connections and perhaps a browser, so more would exhaust the machine
/// before it sped anything up.
pub const MAX_CONCURRENCY: usize = 1024;

/// Fails, naming `option` and `path`, if a report could not be written to
/// `path`: a folder, a parent that cannot be made, a file that cannot be
/// opened for writing. A file made only to find out is removed again.
pub fn check_writable(option: &str, path: &Path) -> anyhow::Result<()> {
    let shown = path.display();
    if path.is_dir() {
        anyhow::bail!("{option} {shown}: that is a folder; name a file to write the report to");
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| anyhow::anyhow!("{option} {shown}: cannot make its folder: {e}"))?;
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| anyhow::anyhow!("{option} {shown}: cannot write there: {e}"))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// The tags of a scenario, its rule's and its feature's, without `@`.
fn all_tags<'a>(
    feature: &'a cucumber::gherkin::Feature,
    rule: Option<&'a cucumber::gherkin::Rule>,
    scenario: &'a cucumber::gherkin::Scenario,
) -> Vec<&'a String> {
    feature
        .tags
        .iter()
        .chain(rule.iter().flat_map(|r| &r.tags))
        .chain(&scenario.tags)
        .collect()
}

/// What the run does with one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    /// It runs.
    Run,
    /// `--name` or `--tags` does not select it.
    NotSelected,
    /// Selected, but tagged with a tag left out unless named (`@wip`).
    LeftOut(&'static str),
    /// Selected, but another shard's.
    OtherShard,
    /// Selected, but this target or machine cannot run it; the reason says
    /// why, in the report.
    Skip(String),
}

/// What a run has and selects, before anything starts.
#[derive(Debug, Default)]
struct Plan {
    /// Scenarios in the features, an outline's examples each one.
    total: usize,
    /// The selected scenarios, each with whether it runs (or is skipped on
    /// this target or machine).
    selected: Vec<(shard::Key, bool)>,
    /// The features, parsed and expanded.
    features: Vec<FeatureFile>,
}

/// The filters of a run: `--name`, `--tags`, the target and the machine.
struct Selection {
    tags: Option<TagOperation>,
    name: Option<regex::Regex>,
    settings: Arc<Settings>,
    browser_missing: Option<String>,
    broker_missing: Option<String>,
    /// The features folder, which shard keys are relative to.
    root: PathBuf,
    /// With `--shard`, the scenarios of this shard.
    members: Option<Members>,
}

impl Selection {
    /// The filters of `--tags` and `--name`, and what this target and
    /// machine cannot run; every shard's scenarios until one is dealt.
    fn new(
        tags: Option<TagOperation>,
        name: Option<regex::Regex>,
        settings: &Arc<Settings>,
        root: PathBuf,
    ) -> Selection {
        Selection {
            tags,
            name,
            settings: settings.clone(),
            browser_missing: browser_missing(settings),
            broker_missing: broker_missing(settings),
            root,
            members: None,
        }
    }

    fn decide(
        &self,
        feature: &cucumber::gherkin::Feature,
        rule: Option<&cucumber::gherkin::Rule>,
        scenario: &cucumber::gherkin::Scenario,
    ) -> Decision {
        let tags = all_tags(feature, rule, scenario);
        let has = |tag: &str| tags.iter().any(|t| t.as_str() == tag);
        if self
            .name
            .as_ref()
            .is_some_and(|re| !re.is_match(&scenario.name))
        {
            return Decision::NotSelected;
        }
        if self
            .tags
            .as_ref()
            .is_some_and(|expression| !expression.eval(tags.iter()))
        {
            return Decision::NotSelected;
        }
        let named = |tag: &str| self.tags.as_ref().is_some_and(|e| mentions(e, tag));
        // Left out unless the tag expression asks about them by name.
        if let Some(tag) = EXCLUDED_BY_DEFAULT
            .iter()
            .find(|tag| has(tag) && !named(tag))
        {
            return Decision::LeftOut(tag);
        }
        if let Some(members) = &self.members {
            let key = shard::key(&self.root, feature.path.as_deref(), scenario.position.line);
            if !members.has(&key) {
                return Decision::OtherShard;
            }
        }
        let reason = skip_reason(
            &self.settings,
            self.browser_missing.as_deref(),
            &has,
            &named,
        )
        .or_else(|| broker_skip_reason(&self.settings, self.broker_missing.as_deref(), &has));
        match reason {
            Some(reason) => Decision::Skip(reason),
            None => Decision::Run,
        }
    }

    /// Reads every feature file at `path` as cucumber will (outlines
    /// expanded), to know what the run selects before anything starts; a
    /// file that cannot be run as written stops the run here, before any
    /// scenario, rather than being left out of it.
    fn plan(&self, path: &Path, paths: &Paths) -> anyhow::Result<Plan> {
        let (features, errors) = catalogue::read_features(path, |path| paths.show(path))?;
        if !errors.is_empty() {
            anyhow::bail!("{}", unreadable_files(&errors, "nothing was run"));
        }
        let mut plan = Plan::default();
        for file in &features {
            let feature = &file.feature;
            let scenarios = feature.scenarios.iter().map(|s| (None, s)).chain(
                feature
                    .rules
                    .iter()
                    .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s))),
            );
            for (rule, scenario) in scenarios {
                plan.total += 1;
                let runs = match self.decide(feature, rule, scenario) {
                    Decision::Run => true,
                    Decision::Skip(_) => false,
                    Decision::NotSelected | Decision::LeftOut(_) | Decision::OtherShard => continue,
                };
                let key = shard::key(&self.root, feature.path.as_deref(), scenario.position.line);
                plan.selected.push((key, runs));
            }
        }
        plan.features = features;
        Ok(plan)
    }

    /// The filters, as the user gave them, for a message.
    fn describe(&self) -> String {
        let mut filters = Vec::new();
        if let Some(name) = &self.name {
            filters.push(format!("--name '{name}' matches no scenario's name"));
        }
        if let Some(tags) = &self.tags {
            filters.push(format!(
                "--tags '{}' matches no scenario's tags",
                show_tags(tags)
            ));
        }
        if filters.is_empty() {
            "there is no scenario to run (those tagged @wip are left out unless --tags names them)"
                .to_owned()
        } else {
            filters.join(", or ")
        }
    }
}

/// A tag expression as a person writes it.
fn show_tags(expression: &TagOperation) -> String {
    match expression {
        TagOperation::And(left, right) => format!("({} and {})", show_tags(left), show_tags(right)),
        TagOperation::Or(left, right) => format!("({} or {})", show_tags(left), show_tags(right)),
        TagOperation::Not(inner) => format!("not {}", show_tags(inner)),
        TagOperation::Tag(name) => format!("@{name}"),
    }
}

/// Every feature file that cannot be run as written, each with its place
/// and what was expected there, and what that meant (`nothing was run`).
fn unreadable_files(errors: &[features::Unreadable], so: &str) -> String {
    let mut text = match errors.len() {
        1 => format!("a feature file cannot be run as written, so {so}:"),
        n => format!("{n} feature files cannot be run as written, so {so}:"),
    };
    for error in errors {
        text.push_str(&format!("\n  {error}"));
    }
    text
}

/// Starts (or reaches) the target once before any scenario: a backend that
/// cannot get ready stops the run with one error that says why, instead of
/// one timeout per scenario.
async fn preflight(settings: &Settings) -> anyhow::Result<()> {
    let limit = settings.ready_timeout;
    match &settings.target {
        Target::Embedded => Ok(()),
        Target::Command(_) => {
            let backend = settings.start_backend(None).await.map_err(|error| {
                anyhow::anyhow!(
                    "the target {} did not get ready: {error:#}",
                    settings.target
                )
            })?;
            let leaks = backend.tear_down().await;
            if leaks.is_empty() {
                Ok(())
            } else {
                anyhow::bail!(
                    "the target {} started, but its teardown failed: {}",
                    settings.target,
                    leaks.join("; ")
                )
            }
        }
        Target::Address(address) => {
            let options = ClientOptions {
                reply_timeout: limit,
                ..ClientOptions::default()
            };
            let mut client = Client::connect_with(address.as_str(), options)
                .await
                .map_err(|error| {
                    anyhow::anyhow!(
                        "the target {} cannot be reached within {}: {error}",
                        settings.target,
                        humantime::format_duration(limit)
                    )
                })?;
            let _ = client.close().await;
            Ok(())
        }
    }
}

/// Whether a tag expression names `tag`, so that `--tags @wip` or `--tags
/// 'not @browser'` keep their meaning while `@wip` stays out of the latter.
fn mentions(expression: &TagOperation, tag: &str) -> bool {
    match expression {
        TagOperation::And(left, right) | TagOperation::Or(left, right) => {
            mentions(left, tag) || mentions(right, tag)
        }
        TagOperation::Not(inner) => mentions(inner, tag),
        TagOperation::Tag(name) => name == tag,
    }
}

/// Why this target cannot run a scenario with these tags, if it cannot;
/// `named` says whether `--tags` names a tag, which runs its scenarios
/// anyway where that can make sense.
fn skip_reason(
    settings: &Settings,
    browser_missing: Option<&str>,
    has: &dyn Fn(&str) -> bool,
    named: &dyn Fn(&str) -> bool,
) -> Option<String> {
    if settings.target.is_shared() && has("fresh") {
        return Some(format!(
            "@fresh: it needs a fresh backend, and {} is one already running backend that every scenario shares",
            settings.target
        ));
    }
    if settings.target != Target::Embedded && has("embedded") {
        return Some(format!(
            "@embedded: it looks inside the simulator, which runs in this process only on the embedded target, not on {}",
            settings.target
        ));
    }
    if settings.target != Target::Embedded && has("proxy") && !named("proxy") {
        return Some(format!(
            "@proxy: it checks the proxy put in front of the backend, not the backend; {} is another backend (select it with --tags @proxy)",
            settings.target
        ));
    }
    if settings.target != Target::Embedded && has("simulator") && !named("simulator") {
        return Some(format!(
            "@simulator: it checks the simulator's own behaviour, not the contract; {} is another backend (select it with --tags @simulator)",
            settings.target
        ));
    }
    if has("browser")
        && let Some(missing) = browser_missing
    {
        return Some(format!("@browser: {missing}"));
    }
    role_skip_reason(settings, has, named)
}

/// The roles a backend plays for DISCOS: each the tag of the scenarios
/// that need its configurations, the name of its profile and the
/// component of DISCOS that drives it.
const ROLES: [(&str, &str); 2] = [("sardara", "Sardara"), ("skarab", "Skarab")];

/// Why a scenario that needs the configurations of a backend DISCOS drives
/// (`@sardara`, `@skarab`) cannot run, if it cannot: the embedded
/// simulator has them only with that `--profile`; another backend plays
/// that role or not, which the run knows from `--profile` or from `--tags`
/// naming the role.
fn role_skip_reason(
    settings: &Settings,
    has: &dyn Fn(&str) -> bool,
    named: &dyn Fn(&str) -> bool,
) -> Option<String> {
    let (role, component) = ROLES.iter().find(|(role, _)| {
        has(role) && settings.profile.is_none_or(|profile| profile.name != *role)
    })?;
    if settings.target == Target::Embedded {
        return Some(format!(
            "@{role}: it needs {component}'s configurations, which the embedded simulator has with --profile {role}"
        ));
    }
    if !named(role) {
        return Some(format!(
            "@{role}: it needs a backend that plays {component} for DISCOS, with its configurations; select it with --tags @{role} for such a backend (a cmd: backend is given them with --profile {role})"
        ));
    }
    None
}

/// Why @browser scenarios must be skipped on this machine: no WebDriver
/// endpoint was given and Chromium or chromedriver is not installed. With
/// `DISCOS_REQUIRE_BROWSER=1` they run anyway, and fail saying what is
/// missing.
fn browser_missing(settings: &Settings) -> Option<String> {
    if settings.webdriver.is_some() || std::env::var(REQUIRE_BROWSER_ENV).as_deref() == Ok("1") {
        return None;
    }
    Installation::find()
        .err()
        .map(|missing| missing.to_string())
}

/// Why this run cannot run a `@broker` scenario, if it cannot: a `tcp://`
/// backend cannot be told where to publish, a broker that is not the run's
/// cannot be restarted, and without `rabbitmq-server` (and no `--broker`)
/// there is no broker at all.
fn broker_skip_reason(
    settings: &Settings,
    broker_missing: Option<&str>,
    has: &dyn Fn(&str) -> bool,
) -> Option<String> {
    if !has("broker") {
        return None;
    }
    if settings.target.is_shared() {
        return Some(format!(
            "@broker: {} is already running and cannot be told where to publish its events",
            settings.target
        ));
    }
    if has("restarts-broker") && settings.broker.is_external() {
        return Some(
            "@restarts-broker: the broker given with --broker is not this run's to stop".into(),
        );
    }
    broker_missing.map(|missing| format!("@broker: {missing}"))
}

/// Why @broker scenarios must be skipped on this machine: no `--broker` was
/// given and `rabbitmq-server` is not installed. With
/// `DISCOS_REQUIRE_BROKER=1` they run anyway, and fail saying what is
/// missing.
fn broker_missing(settings: &Settings) -> Option<String> {
    if settings.broker.is_external() || std::env::var(REQUIRE_BROKER_ENV).as_deref() == Ok("1") {
        return None;
    }
    crate::events::RabbitMq::find().err()
}

/// Removes the screenshots and pages saved for the scenario whose files
/// start with `stem`.
fn remove_artifacts(stem: &Path) {
    for artifact in crate::report::artifacts_of(stem) {
        let _ = std::fs::remove_file(artifact);
    }
}

/// What the terminal summary does not say: scenarios left out and why,
/// and, when asked for, code for undefined steps.
fn print_afterword(
    terminal: &Terminal,
    report: &Report,
    left_out: &BTreeMap<String, usize>,
    snippets: &[Snippet],
    code: bool,
    places: &[String],
) {
    let mut text = String::new();
    for (tag, count) in left_out {
        text.push_str(&format!(
            "{count} scenario(s) tagged {tag} left out by default; run them with --tags {tag}\n"
        ));
    }
    let skipped: Vec<_> = report
        .scenarios()
        .filter(|(_, s)| s.skip_reason.is_some())
        .collect();
    if !skipped.is_empty() {
        // One line per reason: the reports name every scenario.
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, scenario) in &skipped {
            *reasons
                .entry(scenario.skip_reason.as_deref().unwrap_or_default())
                .or_default() += 1;
        }
        text.push_str(&format!(
            "{} scenario(s) skipped on this target:\n",
            skipped.len()
        ));
        for (reason, count) in reasons {
            text.push_str(&format!("  {count} × {reason}\n"));
        }
    }
    if !snippets.is_empty() {
        text.push_str(&dry_run::undefined_steps(snippets, places, code));
    }
    terminal.print(&text);
}

/// `--steps`: the catalogue, with how the run's features use each step.
fn print_catalogue(
    features: &Path,
    format: catalogue::Format,
    sink: &Sink,
    paths: &Paths,
    target: &Target,
) -> anyhow::Result<Outcome> {
    let (found, errors) = catalogue::read_features(features, |path| paths.show(path))?;
    let mut text = catalogue::listing(Catalogue::library(), &found, &paths.show(features), format);
    if !errors.is_empty() {
        if format == catalogue::Format::Text {
            text.push_str(&unreadable_files(&errors, "its steps are not counted"));
            text.push('\n');
        } else {
            eprintln!("{}", unreadable_files(&errors, "its steps are not counted"));
        }
    }
    Terminal::new(sink.clone(), false, false, paths.clone()).print(&text);
    Ok(Outcome {
        report: Report::without_scenarios(target.to_string()),
        passed: errors.is_empty(),
        output: String::new(),
        snippets: Vec::new(),
    })
}

/// `--dry-run`: the steps of the selected scenarios (of this shard, with
/// `--shard`) checked against the step definitions, nothing started.
fn dry_run_of(
    features: &[FeatureFile],
    selection: &Selection,
    source: &str,
    header: String,
    args: &RunArgs,
    sink: Sink,
) -> Outcome {
    let findings = dry_run::check(features, source, |feature, rule, scenario| match selection
        .decide(feature, rule, scenario)
    {
        Decision::Run | Decision::Skip(_) => Some(
            all_tags(feature, rule, scenario)
                .iter()
                .any(|tag| *tag == "wip"),
        ),
        Decision::NotSelected | Decision::LeftOut(_) | Decision::OtherShard => None,
    });
    let mut text = header;
    text.push_str(&findings.text);
    if !findings.snippets.is_empty() {
        text.push_str(&dry_run::code_block(&findings.snippets, args.snippets));
    }
    Terminal::new(sink, false, false, Paths::default()).print(&text);
    Outcome {
        report: Report::without_scenarios(args.target.to_string()),
        snippets: findings.snippets,
        passed: findings.passed,
        output: String::new(),
    }
}
