//! The run's one cucumber writer: it turns cucumber's events into the
//! report's model ([`Report`]), prints progress to the terminal and feeds
//! the JUnit and cucumber JSON files asked for. The model itself knows
//! nothing of cucumber; this is where the two meet.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cucumber::event::{self, HookType};
use cucumber::gherkin::{self, Feature, Scenario};
use cucumber::writer::{self, Json};
use cucumber::{Event, Writer, cli, parser};

use crate::acceptance::world::DiscosWorld;
use crate::authoring::Snippet;
use crate::client;
use crate::report::{
    Attachment, Direction, Example, Report, ScenarioReport, Status, StepReport, Terminal,
    TranscriptLine, artifact_stem, artifacts_of, grade, shorten,
};

/// A scenario by its feature file and line.
type Key = (Option<PathBuf>, usize);

/// Transcripts the after hook hands over (the hook alone still holds the
/// World), until their scenario's end reaches the writer.
pub type Transcripts = Arc<Mutex<HashMap<Key, (Vec<TranscriptLine>, Duration)>>>;

/// Keeps the transcript of `world`, whose scenario is ending, for the
/// report of that scenario. `teardown_from` is when the teardown began,
/// since the scenario started.
pub fn keep_transcript(
    transcripts: &Transcripts,
    feature: &Feature,
    scenario: &Scenario,
    world: &DiscosWorld,
    teardown_from: Duration,
) {
    let lines = transcript_of(world);
    transcripts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            (feature.path.clone(), scenario.position.line),
            (lines, teardown_from),
        );
}

/// The lines of every client of `world`, in time order: what
/// [`DiscosWorld::transcript`] prints, as data.
pub fn transcript_of(world: &DiscosWorld) -> Vec<TranscriptLine> {
    let mut lines = Vec::new();
    for (name, client) in world.clients() {
        let transcript = client.transcript();
        let offset = transcript
            .started()
            .saturating_duration_since(world.started);
        lines.extend(transcript.entries().iter().map(|entry| TranscriptLine {
            at: offset + entry.at,
            client: name.to_owned(),
            direction: direction(entry.direction),
            text: shorten(&entry.shown()),
        }));
    }
    // Stable: lines of one client at the same instant keep their order.
    lines.sort_by_key(|line| line.at);
    lines
}

fn direction(direction: client::Direction) -> Direction {
    match direction {
        client::Direction::Sent => Direction::Sent,
        client::Direction::Received => Direction::Received,
        client::Direction::Event => Direction::Event,
    }
}

/// Adds a scenario the run left out to `report`, with the reason.
pub fn skip(report: &mut Report, feature: &Feature, scenario: &Scenario, reason: &str) {
    let index = feature_index(report, feature);
    report.features[index].scenarios.push(ScenarioReport {
        steps: scenario
            .steps
            .iter()
            .map(|step| step_report(step, Status::Skipped, None))
            .collect(),
        skip_reason: Some(reason.to_owned()),
        ..scenario_report(feature, scenario)
    });
}

fn feature_index(report: &mut Report, feature: &Feature) -> usize {
    report.feature_index(
        &feature.name,
        feature.description.as_deref(),
        feature.path.as_deref(),
    )
}

fn step_report(step: &gherkin::Step, status: Status, message: Option<String>) -> StepReport {
    StepReport {
        keyword: step.keyword.clone(),
        text: step.value.clone(),
        status,
        message,
        duration: None,
        background: false,
        table: step.table.as_ref().map(|table| table.rows.clone()),
        docstring: step.docstring.clone(),
    }
}

/// The row of an expanded outline's examples the scenario runs with.
fn example_of(scenario: &Scenario) -> Option<Example> {
    // An expanded outline keeps its header and its own row only.
    let examples = scenario.examples.first()?;
    let [header, values] = examples.table.as_ref()?.rows.as_slice() else {
        return None;
    };
    Some(Example {
        name: examples.name.clone().filter(|name| !name.trim().is_empty()),
        header: header.clone(),
        values: values.clone(),
    })
}

fn scenario_report(feature: &Feature, scenario: &Scenario) -> ScenarioReport {
    ScenarioReport {
        tags: feature.tags.iter().chain(&scenario.tags).cloned().collect(),
        example: example_of(scenario),
        ..ScenarioReport::new(&scenario.name, scenario.position.line)
    }
}

/// A scenario that started and has not finished yet.
struct Running {
    report: ScenarioReport,
    /// When it started, to time its steps.
    started: SystemTime,
    /// When its running step started, since the scenario started.
    step_started: Option<Duration>,
}

/// The one writer of a run: it fills the report model, prints progress to
/// the terminal and feeds the JUnit and JSON files asked for.
pub struct Reports {
    report: Arc<Mutex<Report>>,
    transcripts: Transcripts,
    terminal: Terminal,
    junit: Option<File>,
    json: Option<Json<File>>,
    artifacts: PathBuf,
    /// Scenarios started and not yet finished, by feature file and line.
    running: HashMap<Key, Running>,
}

impl Reports {
    /// A writer filling `report` (with the `transcripts` the after hook
    /// keeps), printing to `terminal`, and writing JUnit (from the model,
    /// when the run ends) and cucumber JSON files when given.
    pub fn new(
        report: Arc<Mutex<Report>>,
        transcripts: Transcripts,
        terminal: Terminal,
        junit: Option<File>,
        json: Option<File>,
        artifacts: PathBuf,
    ) -> Reports {
        Reports {
            report,
            transcripts,
            terminal,
            junit,
            json: json.map(Json::raw),
            artifacts,
            running: HashMap::new(),
        }
    }

    fn record(&mut self, event: &parser::Result<Event<event::Cucumber<DiscosWorld>>>) {
        let report = self.report.clone();
        let mut report = report.lock().unwrap_or_else(|e| e.into_inner());
        let (event, at) = match event {
            Ok(event) => (&event.value, event.at),
            Err(error) => {
                report.parse_errors.push(error.to_string());
                self.terminal.parse_error(&error.to_string());
                return;
            }
        };
        match event {
            event::Cucumber::Started => {
                report.started = Some(humantime::format_rfc3339_seconds(at).to_string());
            }
            event::Cucumber::Finished => self.finish(&mut report, at),
            event::Cucumber::Feature(feature, event::Feature::Started) => {
                let index = feature_index(&mut report, feature);
                self.terminal.feature(&report.features[index]);
            }
            event::Cucumber::Feature(feature, event::Feature::Scenario(scenario, event))
            | event::Cucumber::Feature(
                feature,
                event::Feature::Rule(_, event::Rule::Scenario(scenario, event)),
            ) => self.scenario(&mut report, feature, scenario, &event.event, at),
            _ => {}
        }
    }

    /// The run ended: its duration, its order, its JUnit file.
    fn finish(&mut self, report: &mut Report, at: SystemTime) {
        report.duration = report
            .started
            .as_deref()
            .and_then(|started| humantime::parse_rfc3339(started).ok())
            .and_then(|started| at.duration_since(started).ok());
        report.sort();
        if let Some(file) = self.junit.take()
            && let Err(error) = report.write_junit_to(file)
        {
            self.terminal
                .print(&format!("error: cannot write the JUnit report: {error}\n"));
        }
    }

    fn scenario(
        &mut self,
        report: &mut Report,
        feature: &Feature,
        scenario: &Scenario,
        event: &event::Scenario<DiscosWorld>,
        at: SystemTime,
    ) {
        let key = (feature.path.clone(), scenario.position.line);
        if let event::Scenario::Started = event {
            let started = Running {
                report: scenario_report(feature, scenario),
                started: at,
                step_started: None,
            };
            self.running.insert(key, started);
            return;
        }
        let Some(current) = self.running.get_mut(&key) else {
            return;
        };
        let since_start = at.duration_since(current.started).ok();
        match event {
            event::Scenario::Step(step, happened) | event::Scenario::Background(step, happened) => {
                let background = matches!(event, event::Scenario::Background(..));
                step_event(
                    report,
                    feature,
                    current,
                    step,
                    happened,
                    since_start,
                    background,
                );
            }
            event::Scenario::Hook(kind, event::Hook::Failed(_, info)) => {
                let when = match kind {
                    HookType::Before => "before the scenario",
                    HookType::After => "in the teardown",
                };
                let text = panic_text(info);
                // A teardown that found a broken requirement starts with
                // it, for the failure to be graded by it.
                let message = if crate::protocol::contract::cited(&text).is_some() {
                    text
                } else {
                    format!("{when}: {text}")
                };
                let current = &mut current.report;
                current.hook_failure = Some(if current.first_failure() {
                    let (graded, message) = grade(&current.tags, message);
                    current.graded = graded;
                    message
                } else {
                    message
                });
            }
            event::Scenario::Finished => {
                self.finished(report, feature, scenario, key, since_start);
            }
            _ => {}
        }
    }

    /// A scenario ended: its files, its transcript, its place in the report.
    fn finished(
        &mut self,
        report: &mut Report,
        feature: &Feature,
        scenario: &Scenario,
        key: Key,
        since_start: Option<Duration>,
    ) {
        let Some(Running {
            report: mut finished,
            ..
        }) = self.running.remove(&key)
        else {
            return;
        };
        let stem = artifact_stem(&self.artifacts, &feature.name, &scenario.name);
        finished.artifacts = artifacts_of(&stem);
        finished.attachments = finished
            .artifacts
            .iter()
            .filter_map(|path| Attachment::read(path))
            .collect();
        let kept = self
            .transcripts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        if let Some((lines, teardown_from)) = kept {
            finished.transcript = lines;
            finished.teardown_from = Some(teardown_from);
        }
        finished.duration = since_start;
        let index = feature_index(report, feature);
        report.features[index].scenarios.push(finished);
        let feature = &report.features[index];
        if let Some(finished) = feature.scenarios.last() {
            self.terminal.scenario(feature, finished);
        }
    }
}

/// A step of a running scenario started or ended.
fn step_event(
    report: &mut Report,
    feature: &Feature,
    current: &mut Running,
    step: &gherkin::Step,
    happened: &event::Step<DiscosWorld>,
    since_start: Option<Duration>,
    background: bool,
) {
    let (status, message) = match happened {
        event::Step::Started => {
            current.step_started = since_start;
            return;
        }
        event::Step::Passed(..) => (Status::Passed, None),
        event::Step::Skipped => {
            undefined(report, feature, step);
            (
                Status::Skipped,
                Some("no step definition matches this step".to_owned()),
            )
        }
        event::Step::Failed(_, _, _, error) => {
            // Outside @wip an undefined step arrives as a failure.
            if matches!(error, event::StepError::NotFound) {
                undefined(report, feature, step);
            }
            let message = match error {
                // A check of the backend that failed, graded by the
                // requirement it broke; a step the suite cannot match says
                // nothing of the backend.
                event::StepError::Panic(_) if current.report.first_failure() => {
                    let (graded, message) = grade(&current.report.tags, describe(error));
                    current.report.graded = graded;
                    message
                }
                _ => describe(error),
            };
            (Status::Failed, Some(message))
        }
    };
    let duration = match (current.step_started.take(), since_start) {
        (Some(begun), Some(now)) => now.checked_sub(begun),
        _ => None,
    };
    current.report.steps.push(StepReport {
        duration,
        background,
        ..step_report(step, status, message)
    });
}

/// Records an undefined step once per expression in what the reports
/// show, with every place it is said.
fn undefined(report: &mut Report, feature: &Feature, step: &gherkin::Step) {
    let snippet = Snippet::for_step(step);
    let file = feature
        .path
        .as_deref()
        .map_or_else(|| feature.name.clone(), |path| report.suite.relative(path));
    report.add_undefined(snippet.undefined_at(&format!("{file}:{}", step.position.line)));
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
        if let Some(json) = &mut self.json {
            json.handle_event(event, &cli::Empty).await;
        }
    }
}

impl writer::NonTransforming for Reports {}
