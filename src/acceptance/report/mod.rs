//! Reports of a run: what was checked and what happened, for people and CI.
//!
//! One writer, [`Reports`], sits beside cucumber's terminal output and feeds
//! every report asked for: JUnit XML and cucumber JSON (cucumber's own
//! writers), a self-contained HTML page, and the model a caller of
//! [`super::run`] gets back, which also holds step-definition snippets for
//! every undefined step.

mod html;
mod snippet;
pub mod terminal;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cucumber::event::{self, HookType};
use cucumber::writer::{self, JUnit, Json};
use cucumber::{Event, Writer, cli, parser};

pub use snippet::Snippet;
pub use terminal::Terminal;

use super::DiscosWorld;

/// How a step or scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It ran and held.
    Passed,
    /// It ran and did not hold.
    Failed,
    /// It did not run: no step definition matches it, or the run left it out.
    Skipped,
}

/// One step as it ran.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// `Given `, `When `, `And `…
    pub keyword: String,
    /// The step's sentence.
    pub text: String,
    /// How it ended.
    pub status: Status,
    /// Why it failed (with the scenario's transcript), or why it was skipped.
    pub message: Option<String>,
    /// How long it ran; `None` for a step that did not run.
    pub duration: Option<Duration>,
}

/// One scenario as it ran.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The scenario's name (with its example values, for an outline).
    pub name: String,
    /// Its line in the feature file.
    pub line: usize,
    /// Its tags and its feature's, without `@`.
    pub tags: Vec<String>,
    /// Its steps, background first.
    pub steps: Vec<StepReport>,
    /// What the verified teardown (or a setup hook) found wrong.
    pub hook_failure: Option<String>,
    /// Files saved when a step failed: screenshots, page HTML.
    pub artifacts: Vec<PathBuf>,
    /// Why the run left it out, for scenarios that did not run.
    pub skip_reason: Option<String>,
    /// How long it took, teardown included; `None` if it did not run.
    pub duration: Option<Duration>,
    /// When it started, to time its steps.
    started: Option<SystemTime>,
    /// When its running step started, since the scenario started.
    step_started: Option<Duration>,
}

impl ScenarioReport {
    /// Failed if a step or the teardown failed; skipped if a step had no
    /// definition or the run left it out; passed otherwise.
    pub fn status(&self) -> Status {
        if self.hook_failure.is_some() || self.steps.iter().any(|s| s.status == Status::Failed) {
            Status::Failed
        } else if self.skip_reason.is_some()
            || self.steps.iter().any(|s| s.status == Status::Skipped)
        {
            Status::Skipped
        } else {
            Status::Passed
        }
    }
}

/// One feature file as it ran.
#[derive(Debug, Clone)]
pub struct FeatureReport {
    /// The feature's name.
    pub name: String,
    /// The text under the `Feature:` line: why it matters.
    pub description: Option<String>,
    /// The file.
    pub path: Option<PathBuf>,
    /// Its scenarios, in file order.
    pub scenarios: Vec<ScenarioReport>,
}

/// Everything a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The features, in the order they ran.
    pub features: Vec<FeatureReport>,
    /// Feature files that could not be read or parsed.
    pub parse_errors: Vec<String>,
    /// A ready-to-paste definition for every undefined step.
    pub snippets: Vec<Snippet>,
    /// What the run was pointed at, e.g. `embedded`.
    pub target: String,
}

impl Report {
    /// Every scenario, with its feature.
    pub fn scenarios(&self) -> impl Iterator<Item = (&FeatureReport, &ScenarioReport)> {
        self.features
            .iter()
            .flat_map(|f| f.scenarios.iter().map(move |s| (f, s)))
    }

    /// How many scenarios ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.scenarios()
            .filter(|(_, s)| s.status() == status)
            .count()
    }

    /// Adds a scenario the run left out, with the reason.
    pub fn skip(
        &mut self,
        feature: &cucumber::gherkin::Feature,
        scenario: &cucumber::gherkin::Scenario,
        reason: &str,
    ) {
        let index = self.feature_index(feature);
        self.features[index].scenarios.push(ScenarioReport {
            name: scenario.name.clone(),
            line: scenario.position.line,
            tags: tags(feature, scenario),
            steps: scenario
                .steps
                .iter()
                .map(|step| StepReport {
                    keyword: step.keyword.clone(),
                    text: step.value.clone(),
                    status: Status::Skipped,
                    message: None,
                    duration: None,
                })
                .collect(),
            hook_failure: None,
            artifacts: Vec::new(),
            skip_reason: Some(reason.to_owned()),
            duration: None,
            started: None,
            step_started: None,
        });
    }

    fn feature_index(&mut self, feature: &cucumber::gherkin::Feature) -> usize {
        let found = self
            .features
            .iter()
            .position(|f| f.name == feature.name && f.path == feature.path);
        found.unwrap_or_else(|| {
            self.features.push(FeatureReport {
                name: feature.name.clone(),
                description: feature.description.clone(),
                path: feature.path.clone(),
                scenarios: Vec::new(),
            });
            self.features.len() - 1
        })
    }

    /// Writes the self-contained HTML page to `path`.
    pub fn write_html(&self, path: &Path) -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, html::render(self, path.parent()))
    }
}

fn tags(
    feature: &cucumber::gherkin::Feature,
    scenario: &cucumber::gherkin::Scenario,
) -> Vec<String> {
    feature.tags.iter().chain(&scenario.tags).cloned().collect()
}

/// Where a failed scenario's artifacts go: one name per scenario, made of
/// characters any file system accepts.
pub fn artifact_stem(artifacts: &Path, feature: &str, scenario: &str) -> PathBuf {
    let slug: String = format!("{feature}--{scenario}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    artifacts.join(slug)
}

/// The screenshots and pages saved for the scenario of `stem`: `stem.png`,
/// `stem.html`, and those of other users or named screenshots,
/// `stem--NAME.png` and `.html`; sorted.
pub fn artifacts_of(stem: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(base)) = (stem.parent(), stem.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let (Some(name), Some(ext)) = (
                path.file_stem().and_then(|n| n.to_str()),
                path.extension().and_then(|e| e.to_str()),
            ) else {
                return false;
            };
            matches!(ext, "png" | "html")
                && (name == base || name.strip_prefix(base).is_some_and(|r| r.starts_with("--")))
        })
        .collect();
    found.sort();
    found
}

/// The one writer of a run: it fills the report model, prints progress to
/// the terminal and feeds the JUnit and JSON files asked for.
pub struct Reports {
    report: Arc<Mutex<Report>>,
    terminal: Terminal,
    junit: Option<JUnit<DiscosWorld, File>>,
    json: Option<Json<File>>,
    artifacts: PathBuf,
}

impl Reports {
    /// A writer filling `report`, printing to `terminal`, and writing
    /// JUnit/JSON files when given.
    pub fn new(
        report: Arc<Mutex<Report>>,
        terminal: Terminal,
        junit: Option<File>,
        json: Option<File>,
        artifacts: PathBuf,
    ) -> Reports {
        Reports {
            report,
            terminal,
            junit: junit.map(|file| JUnit::raw(file, 0)),
            json: json.map(Json::raw),
            artifacts,
        }
    }

    fn record(&mut self, event: &parser::Result<Event<event::Cucumber<DiscosWorld>>>) {
        let mut report = self.report.lock().unwrap_or_else(|e| e.into_inner());
        let (event, at) = match event {
            Ok(event) => (&event.value, event.at),
            Err(error) => {
                report.parse_errors.push(error.to_string());
                self.terminal.parse_error(&error.to_string());
                return;
            }
        };
        let event::Cucumber::Feature(feature, event) = event else {
            return;
        };
        if let event::Feature::Started = event {
            let index = report.feature_index(feature);
            self.terminal.feature(&report.features[index]);
            return;
        }
        let (scenario, event) = match event {
            event::Feature::Scenario(scenario, event) => (scenario, &event.event),
            event::Feature::Rule(_, event::Rule::Scenario(scenario, event)) => {
                (scenario, &event.event)
            }
            _ => return,
        };
        let index = report.feature_index(feature);
        let scenarios = &mut report.features[index].scenarios;
        if let event::Scenario::Started = event {
            scenarios.push(ScenarioReport {
                name: scenario.name.clone(),
                line: scenario.position.line,
                tags: tags(feature, scenario),
                steps: Vec::new(),
                hook_failure: None,
                artifacts: Vec::new(),
                skip_reason: None,
                duration: None,
                started: Some(at),
                step_started: None,
            });
            return;
        }
        let Some(current) = scenarios.last_mut() else {
            return;
        };
        let since_start = current
            .started
            .and_then(|started| at.duration_since(started).ok());
        match event {
            event::Scenario::Step(step, event) | event::Scenario::Background(step, event) => {
                let (status, message) = match event {
                    event::Step::Started => {
                        current.step_started = since_start;
                        return;
                    }
                    event::Step::Passed(..) => (Status::Passed, None),
                    event::Step::Skipped => {
                        report.snippets.push(Snippet::for_step(step));
                        (
                            Status::Skipped,
                            Some("no step definition matches this step".to_owned()),
                        )
                    }
                    event::Step::Failed(_, _, _, error) => {
                        // Outside @wip an undefined step arrives as a failure.
                        if matches!(error, event::StepError::NotFound) {
                            report.snippets.push(Snippet::for_step(step));
                        }
                        (Status::Failed, Some(describe(error)))
                    }
                };
                let index = report.feature_index(feature);
                let scenarios = &mut report.features[index].scenarios;
                if let Some(current) = scenarios.last_mut() {
                    let duration = match (current.step_started.take(), since_start) {
                        (Some(begun), Some(now)) => now.checked_sub(begun),
                        _ => None,
                    };
                    current.steps.push(StepReport {
                        keyword: step.keyword.clone(),
                        text: step.value.clone(),
                        status,
                        message,
                        duration,
                    });
                }
            }
            event::Scenario::Hook(kind, event::Hook::Failed(_, info)) => {
                let when = match kind {
                    HookType::Before => "before the scenario",
                    HookType::After => "in the teardown",
                };
                current.hook_failure = Some(format!("{when}: {}", panic_text(info)));
            }
            event::Scenario::Finished => {
                let stem = artifact_stem(&self.artifacts, &feature.name, &scenario.name);
                current.artifacts = artifacts_of(&stem);
                current.duration = since_start;
                let index = report.feature_index(feature);
                let feature = &report.features[index];
                if let Some(finished) = feature.scenarios.last() {
                    self.terminal.scenario(feature, finished);
                }
            }
            _ => {}
        }
    }
}

fn describe(error: &event::StepError) -> String {
    match error {
        event::StepError::NotFound => "no step definition matches this step".to_owned(),
        event::StepError::AmbiguousMatch(error) => error.to_string(),
        event::StepError::Panic(info) => panic_text(info),
    }
}

/// The message of a failed step or hook.
pub fn panic_text(info: &event::Info) -> String {
    info.downcast_ref::<String>()
        .cloned()
        .or_else(|| info.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "the step failed without a message".to_owned())
}

impl Writer<DiscosWorld> for Reports {
    /// Read once, when the run builds its [`Terminal`].
    type Cli = writer::basic::Cli;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<event::Cucumber<DiscosWorld>>>,
        _: &Self::Cli,
    ) {
        self.record(&event);
        if let Some(junit) = &mut self.junit {
            junit
                .handle_event(event.clone(), &writer::junit::Cli::default())
                .await;
        }
        if let Some(json) = &mut self.json {
            json.handle_event(event, &cli::Empty).await;
        }
    }
}

impl writer::NonTransforming for Reports {}
