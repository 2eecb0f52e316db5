//! Running the features: command line, filters, hooks, writers, exit status.
//!
//! One entry point serves `cargo test --test acceptance`, `discos-sim check`
//! and any other crate that wants to run these steps on its own features.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{CommandFactory as _, FromArgMatches as _};
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use cucumber::writer::Stats as _;
use cucumber::{World as _, WriterExt as _, cli, event, parser, runner, writer};
use futures::FutureExt as _;

use super::broker::{REQUIRE_BROKER_ENV, RunBroker};
use super::browser::Installation;
use super::report::{Report, Reports, artifact_stem};
use super::settings::Settings;
use super::target::Target;
use super::teardown::leak_report;
use super::{DiscosWorld, features};

/// Tags left out unless `--tags` names them: scenarios still being written,
/// and the one that leaks on purpose to prove the teardown check.
pub const EXCLUDED_BY_DEFAULT: [&str; 2] = ["wip", "deliberate-leak"];

/// Options of a run, beside cucumber's own (`--tags`, `--name`,
/// `--concurrency`, `--fail-fast`, `-v`, `--color`).
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The backend under test: embedded, cmd:<command with {port}>, or
    /// tcp://HOST:PORT.
    #[arg(long, env = "DISCOS_TARGET", default_value = "embedded", value_parser = parse_target)]
    pub target: Target,
    /// The directory of .feature files (default: the project's features).
    /// Files a feature names, such as a catalogue, are looked up beside it
    /// (in its parent directory), then in the current directory.
    #[arg(long, value_name = "DIR")]
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
    /// Where screenshots and page HTML of failed steps go.
    #[arg(long, value_name = "DIR", default_value = "target/acceptance")]
    pub artifacts: PathBuf,
    /// A WebDriver endpoint (a Selenium Grid, a remote chromedriver) for the
    /// @browser scenarios, instead of a chromedriver started per scenario.
    #[arg(long, value_name = "URL", env = "DISCOS_WEBDRIVER")]
    pub webdriver: Option<String>,
    /// A message broker (amqp://USER:PASS@HOST:PORT/VHOST) for the @broker
    /// scenarios, instead of a rabbitmq-server started for the run.
    #[arg(long, value_name = "URL", env = "DISCOS_BROKER")]
    pub broker: Option<crate::events::BrokerUrl>,
}

/// Set to 1, @browser scenarios fail where no browser is installed instead
/// of being skipped: how CI makes sure it really drove a browser.
pub const REQUIRE_BROWSER_ENV: &str = "DISCOS_REQUIRE_BROWSER";

fn parse_target(text: &str) -> Result<Target, String> {
    text.parse()
}

/// The whole command line of a run: cucumber's options and ours.
pub type Options = cli::Opts<
    parser::basic::Cli,
    runner::basic::Cli,
    cli::Compose<writer::basic::Cli, cli::Empty>,
    RunArgs,
>;

/// What a run did, and whether it passed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Everything that ran, failed or was left out, and why.
    pub report: Report,
    /// False if a scenario failed, a teardown found leaks, a feature file
    /// did not parse, or a step outside `@wip` had no definition.
    pub passed: bool,
}

/// The `main` of `tests/acceptance.rs`: parses the process's arguments, runs
/// the features of `default_features` (unless `--features` says otherwise)
/// and turns the outcome into the exit status.
pub fn main(default_features: impl Into<PathBuf>) -> ExitCode {
    main_with(std::env::args(), Some(default_features.into()))
}

/// As [`main`] with explicit arguments (the first is the program name);
/// without a default directory, the features compiled into the library run.
pub fn main_with(
    args: impl IntoIterator<Item = String>,
    default_features: Option<PathBuf>,
) -> ExitCode {
    let command = Options::command()
        .about("Runs the DISCOS acceptance features against a backend.")
        .long_about(None);
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|matches| Options::from_arg_matches(&matches));
    let options = match parsed {
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
    let features = match options.custom.features.clone().or(default_features) {
        Some(dir) => dir,
        None => match features::Unpacked::new(&std::env::temp_dir()) {
            Ok(compiled_in) => unpacked.insert(compiled_in).features(),
            Err(error) => {
                eprintln!("error: cannot unpack the compiled-in features: {error}");
                return ExitCode::from(2);
            }
        },
    };
    match runtime.block_on(run(options, &features)) {
        Ok(outcome) if outcome.passed => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the features in `features` as `options` say.
pub async fn run(mut options: Options, features: &Path) -> anyhow::Result<Outcome> {
    if !features.is_dir() {
        anyhow::bail!(
            "the features directory {} does not exist",
            features.display()
        );
    }
    let args = options.custom.clone();
    let settings = Arc::new(Settings {
        target: args.target.clone(),
        artifacts: args.artifacts.clone(),
        root: features.parent().unwrap_or(Path::new(".")).to_path_buf(),
        webdriver: args.webdriver.clone(),
        broker: Arc::new(RunBroker::new(args.broker.clone())),
    });
    let browser_missing = browser_missing(&settings);
    let broker_missing = broker_missing(&settings);
    let report = Arc::new(Mutex::new(Report {
        target: args.target.to_string(),
        ..Report::default()
    }));
    let open = |path: &Option<PathBuf>| -> anyhow::Result<Option<File>> {
        path.as_ref()
            .map(|path| {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                File::create(path)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
            })
            .transpose()
    };
    let reports = Reports::new(
        report.clone(),
        open(&args.junit)?,
        open(&args.json)?,
        args.artifacts.clone(),
    );

    // Our filter decides everything, so take cucumber's own out of its hands.
    let tags = options.tags_filter.take();
    let name = options.re_filter.take();
    let left_out: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let filter = {
        let report = report.clone();
        let left_out = left_out.clone();
        let settings = settings.clone();
        move |feature: &cucumber::gherkin::Feature,
              rule: Option<&cucumber::gherkin::Rule>,
              scenario: &cucumber::gherkin::Scenario| {
            let all_tags: Vec<&String> = feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| &r.tags))
                .chain(&scenario.tags)
                .collect();
            let has = |tag: &str| all_tags.iter().any(|t| t.as_str() == tag);
            if name.as_ref().is_some_and(|re| !re.is_match(&scenario.name)) {
                return false;
            }
            if tags
                .as_ref()
                .is_some_and(|expression| !expression.eval(all_tags.iter()))
            {
                return false;
            }
            // Left out unless the tag expression asks about them by name.
            let excluded = EXCLUDED_BY_DEFAULT
                .iter()
                .find(|tag| has(tag) && !tags.as_ref().is_some_and(|e| mentions(e, tag)));
            if let Some(tag) = excluded {
                let mut left_out = left_out.lock().unwrap_or_else(|e| e.into_inner());
                *left_out.entry(format!("@{tag}")).or_default() += 1;
                return false;
            }
            if let Some(reason) = skip_reason(&settings, browser_missing.as_deref(), &has) {
                let mut report = report.lock().unwrap_or_else(|e| e.into_inner());
                report.skip(feature, scenario, &reason);
                return false;
            }
            if let Some(reason) = broker_skip_reason(&settings, broker_missing.as_deref(), &has) {
                let mut report = report.lock().unwrap_or_else(|e| e.into_inner());
                report.skip(feature, scenario, &reason);
                return false;
            }
            true
        }
    };

    let before_settings = settings.clone();
    let run_broker = settings.broker.clone();
    // Embedded backends cost a task each; processes cost more of the machine.
    let concurrency = match settings.target {
        Target::Address(_) => 1,
        Target::Command(_) => 8,
        Target::Embedded => 16,
    };
    let writer = writer::Basic::raw(std::io::stdout(), writer::Coloring::Auto, 0)
        .summarized()
        .tee::<DiscosWorld, _>(reports.discard_arbitrary_writes().discard_stats_writes())
        .normalized();
    let guard = QuietPanics::install();
    let finished = DiscosWorld::cucumber()
        .max_concurrent_scenarios(concurrency)
        .before(move |feature, _, scenario, world| {
            world.settings = before_settings.clone();
            world.feature = feature.name.clone();
            world.scenario = scenario.name.clone();
            world.started = std::time::Instant::now();
            // Pages saved by an earlier run must not pass for this one's.
            let stem = artifact_stem(&world.settings.artifacts, &feature.name, &scenario.name);
            remove_artifacts(&stem);
            async {}.boxed_local()
        })
        .after(|feature, _, scenario, finished, world| {
            async move {
                if let Some(world) = world {
                    // What the browser showed when the step failed, before
                    // the teardown closes it.
                    if let (event::ScenarioFinished::StepFailed(..), Some(web)) =
                        (finished, &world.web)
                    {
                        let stem =
                            artifact_stem(&world.settings.artifacts, &feature.name, &scenario.name);
                        for problem in web.save_pages(&stem).await {
                            eprintln!("{problem}");
                        }
                    }
                    let leaks = world.tear_down().await;
                    if !leaks.is_empty() {
                        panic!("{}", leak_report(&scenario.name, &leaks));
                    }
                }
            }
            .boxed_local()
        })
        .with_writer(writer)
        .fail_on_skipped_with(|feature, rule, scenario| {
            // Undefined steps fail the run, except while a scenario is
            // still being written.
            !feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| &r.tags))
                .chain(&scenario.tags)
                .any(|t| t == "wip")
        })
        .with_cli(options)
        .filter_run(features.to_path_buf(), filter)
        .await;
    drop(guard);
    // The run's broker, started by the first @broker scenario, goes now.
    let broker_problems = run_broker.shut_down().await;
    for problem in &broker_problems {
        eprintln!("the message broker: {problem}");
    }

    let report = report.lock().unwrap_or_else(|e| e.into_inner()).clone();
    print_afterword(&report, &left_out.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(path) = &args.html {
        report
            .write_html(path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        println!("HTML report: {}", path.display());
    }
    let passed = !finished.execution_has_failed()
        && report.parse_errors.is_empty()
        && broker_problems.is_empty();
    Ok(Outcome { report, passed })
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

/// Why this target cannot run a scenario with these tags, if it cannot.
fn skip_reason(
    settings: &Settings,
    browser_missing: Option<&str>,
    has: &dyn Fn(&str) -> bool,
) -> Option<String> {
    if settings.target.is_shared() && has("fresh") {
        return Some(format!(
            "@fresh: it needs a fresh backend, and {} is one already running backend that every scenario shares",
            settings.target
        ));
    }
    if has("browser")
        && let Some(missing) = browser_missing
    {
        return Some(format!("@browser: {missing}"));
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
    crate::orchestration::RabbitMq::find().err()
}

/// Removes the screenshots and pages saved for the scenario whose files
/// start with `stem`.
fn remove_artifacts(stem: &Path) {
    for artifact in super::report::artifacts_of(stem) {
        let _ = std::fs::remove_file(artifact);
    }
}

/// What the terminal summary does not say: scenarios left out and why,
/// and code for undefined steps.
fn print_afterword(report: &Report, left_out: &BTreeMap<String, usize>) {
    for (tag, count) in left_out {
        println!(
            "{count} scenario(s) tagged {tag} left out by default; run them with --tags {tag}"
        );
    }
    let skipped: Vec<_> = report
        .scenarios()
        .filter(|(_, s)| s.skip_reason.is_some())
        .collect();
    if !skipped.is_empty() {
        println!("{} scenario(s) skipped on this target:", skipped.len());
        for (feature, scenario) in skipped {
            let reason = scenario.skip_reason.as_deref().unwrap_or_default();
            println!("  skipped: {} / {} — {reason}", feature.name, scenario.name);
        }
    }
    if !report.snippets.is_empty() {
        println!("\nUndefined steps; you can implement them with these snippets:\n");
        let mut seen = std::collections::HashSet::new();
        for snippet in &report.snippets {
            if seen.insert(&snippet.expression) {
                println!("{snippet}\n");
            }
        }
    }
}

/// While features run, a failing step's panic is its failure message, which
/// cucumber prints; the default hook would add a Rust location to it. Other
/// threads keep the previous hook.
struct QuietPanics {
    previous: Arc<PanicHook>,
}

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

impl QuietPanics {
    fn install() -> QuietPanics {
        let runner = std::thread::current().id();
        let previous: Arc<PanicHook> = Arc::new(std::panic::take_hook());
        let others = previous.clone();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() != runner {
                others(info);
            }
        }));
        QuietPanics { previous }
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        let previous = self.previous.clone();
        std::panic::set_hook(Box::new(move |info| previous(info)));
    }
}
