//! Reports of a run: what was checked and what happened, for people and CI.
//!
//! The runner fills the model, [`Report`], from what happens in a run and
//! hands it over finished; every report is written from it: the terminal's
//! lines, a self-contained HTML page for reviewers, JUnit XML for CI, and
//! the model itself as JSON, so that the runs of one suite on several
//! machines can be merged into one report ([`merge`]). The model knows
//! nothing of how scenarios run: no World, no cucumber.

mod coverage;
mod html;
mod junit;
mod legend;
mod markdown;
mod saved;
pub mod terminal;
mod transcript;
mod verdict;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

pub use coverage::{CODES, Coverage, Row};
pub use html::scenario_id;
pub use saved::{MergeError, Suite, merge, read_json};
pub use terminal::Terminal;
pub use transcript::{Direction, LONGEST_LINE, TranscriptLine, shorten};
pub use verdict::{Fared, Graded, Headline, Tally, Verdict, Where, grade, tagged};

use crate::protocol::contract::Requirement;

/// How a step or scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It ran and held.
    Passed,
    /// It ran and did not hold.
    Failed,
    /// It did not run: no step definition matches it, or the run left it out.
    Skipped,
}

impl Status {
    /// `passed`, `failed`, `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// One step as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default, with = "optional_seconds")]
    pub duration: Option<Duration>,
    /// Whether it comes from the feature's `Background`.
    #[serde(default)]
    pub background: bool,
    /// Its data table, header row first, as the feature wrote it.
    #[serde(default)]
    pub table: Option<Vec<Vec<String>>>,
    /// Its doc string.
    #[serde(default)]
    pub docstring: Option<String>,
}

/// The row of a Scenario Outline's examples one scenario ran with: what
/// tells the scenarios of one outline apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The name of its `Examples:` block, if it has one.
    pub name: Option<String>,
    /// The table's header.
    pub header: Vec<String>,
    /// This row's cells.
    pub values: Vec<String>,
}

impl Example {
    /// `header = value` pairs, as a heading shows them.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.header
            .iter()
            .map(String::as_str)
            .zip(self.values.iter().map(String::as_str))
    }
}

/// A file a scenario left, carried inside the report so that the report
/// can be moved, merged and read on another machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file's name.
    pub name: String,
    /// `image/png` or `text/html`.
    pub media_type: String,
    /// The file's bytes in base64.
    pub base64: String,
}

impl Attachment {
    /// The screenshot or page at `path`, if it can be read.
    pub fn read(path: &Path) -> Option<Attachment> {
        let media_type = match path.extension()?.to_str()? {
            "png" => "image/png",
            "html" => "text/html",
            _ => return None,
        };
        let bytes = std::fs::read(path).ok()?;
        Some(Attachment {
            name: path.file_name()?.to_string_lossy().into_owned(),
            media_type: media_type.to_owned(),
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }

    /// The file's bytes; `None` if the base64 is damaged.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.base64)
            .ok()
    }
}

/// One scenario as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// The scenario's name (with its example values, for an outline).
    pub name: String,
    /// Its line in the feature file (an outline's: its example row's).
    pub line: usize,
    /// Its tags and its feature's, without `@`.
    pub tags: Vec<String>,
    /// For a Scenario Outline, the example row it ran with.
    #[serde(default)]
    pub example: Option<Example>,
    /// Its steps, background first.
    pub steps: Vec<StepReport>,
    /// What the verified teardown (or a setup hook) found wrong.
    pub hook_failure: Option<String>,
    /// Files saved when a step failed, or by a step: screenshots, page HTML.
    pub artifacts: Vec<PathBuf>,
    /// The same files, carried in the report.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Every line its clients sent and received.
    #[serde(default)]
    pub transcript: Vec<TranscriptLine>,
    /// When its teardown began, since it started: transcript lines from
    /// then on are the teardown's (connections closing), not its steps'.
    #[serde(default, with = "optional_seconds")]
    pub teardown_from: Option<Duration>,
    /// Why the run left it out, for scenarios that did not run.
    pub skip_reason: Option<String>,
    /// How long it took, teardown included; `None` if it did not run.
    #[serde(default, with = "optional_seconds")]
    pub duration: Option<Duration>,
    /// For a failed scenario, the requirement of the contract its failure
    /// broke: the one its failed step cites, else the one its tag names;
    /// `None` when it names none (a `@simulator` scenario, an undefined
    /// step).
    #[serde(default)]
    pub graded: Option<Graded>,
}

impl ScenarioReport {
    /// A scenario called `name` at `line`, with nothing in it yet.
    pub fn new(name: &str, line: usize) -> ScenarioReport {
        ScenarioReport {
            name: name.to_owned(),
            line,
            tags: Vec::new(),
            example: None,
            steps: Vec::new(),
            hook_failure: None,
            artifacts: Vec::new(),
            attachments: Vec::new(),
            transcript: Vec::new(),
            teardown_from: None,
            skip_reason: None,
            duration: None,
            graded: None,
        }
    }

    /// Whether nothing failed in it yet: the first failure is the one it is
    /// graded by.
    pub fn first_failure(&self) -> bool {
        self.hook_failure.is_none() && self.steps.iter().all(|s| s.status != Status::Failed)
    }

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

    /// Its name, followed by its example's values when the name does not
    /// already show them all: what tells the scenarios of one outline apart
    /// where only a line of text fits (a JUnit test case, an index).
    pub fn title(&self) -> String {
        match &self.example {
            Some(example)
                if example
                    .values
                    .iter()
                    .any(|v| !self.name.contains(v.as_str())) =>
            {
                let values: Vec<String> = example
                    .pairs()
                    .map(|(header, value)| format!("{header}: {value}"))
                    .collect();
                format!("{} [{}]", self.name, values.join(", "))
            }
            _ => self.name.clone(),
        }
    }

    /// Why it failed, whole, without the transcript the reports show
    /// beside it: its failed step and that step's message, or its
    /// teardown's; `None` unless it failed.
    pub fn reason(&self) -> Option<String> {
        if self.status() != Status::Failed {
            return None;
        }
        let step = self.steps.iter().find(|s| s.status == Status::Failed);
        Some(match (step, &self.hook_failure) {
            (Some(step), _) => {
                let message = step.message.as_deref().unwrap_or("it failed");
                format!(
                    "{}{}: {}",
                    step.keyword,
                    step.text,
                    transcript::without_transcript(message).trim_end()
                )
            }
            (None, Some(failure)) => transcript::without_transcript(failure)
                .trim_end()
                .to_owned(),
            (None, None) => "it failed".to_owned(),
        })
    }

    /// [`Self::reason`] as the places that summarise failures show it (the
    /// terminal's recap, the report's index, JUnit's message): whole up to
    /// [`REASON_LIMIT`] characters, cut there saying so.
    pub fn summarised_reason(&self) -> Option<String> {
        self.reason().map(|reason| cut(&reason, REASON_LIMIT))
    }

    /// Why it failed or was skipped; `None` if it passed.
    pub fn why(&self) -> Option<String> {
        match self.status() {
            Status::Passed => None,
            Status::Failed => Some(terminal::why(self)),
            Status::Skipped => Some(self.skip_reason.clone().unwrap_or_else(|| {
                self.steps
                    .iter()
                    .find(|s| s.status == Status::Skipped)
                    .map(|step| {
                        format!(
                            "{}{}: {}",
                            step.keyword,
                            step.text,
                            step.message.as_deref().unwrap_or("not run")
                        )
                    })
                    .unwrap_or_else(|| "not run".to_owned())
            })),
        }
    }
}

/// Where a failure is summarised (the terminal's recap, the report's index
/// of failures, JUnit's `message`), its reason is shown whole up to this
/// many characters; a longer one is cut there, saying so, and the whole
/// stays with the scenario (its steps, in the terminal and the report).
pub const REASON_LIMIT: usize = 1200;

/// `text` whole if it holds at most `limit` characters; else its first
/// `limit`, saying where the rest is.
pub fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => text.to_owned(),
        Some((at, _)) => format!(
            "{}… (cut at {limit} of {} characters: the whole reason is with the scenario)",
            &text[..at],
            text.chars().count()
        ),
    }
}

/// One feature file as it ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureReport {
    /// The feature's name.
    pub name: String,
    /// The text under the `Feature:` line: why it matters.
    pub description: Option<String>,
    /// The file.
    pub path: Option<PathBuf>,
    /// The file, relative to the features folder: the same on every
    /// machine, so that runs on several can be merged.
    #[serde(default)]
    pub file: String,
    /// Its scenarios, in file order.
    pub scenarios: Vec<ScenarioReport>,
}

/// A step no definition matches: as the features say it, where, what may
/// have been meant, and the code to start a definition from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndefinedStep {
    /// The cucumber expression a definition would match it with.
    pub expression: String,
    /// The step definition to paste.
    pub snippet: String,
    /// The step as the feature says it, keyword included.
    #[serde(default)]
    pub step: String,
    /// Where the features say it: `file:line`, the file relative to the
    /// features folder.
    #[serde(default)]
    pub places: Vec<String>,
    /// The defined steps closest to it, nearest first, as `Keyword phrase
    /// (where it is defined)`.
    #[serde(default)]
    pub neighbours: Vec<String>,
}

/// One run a merged report was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The file its model was read from.
    pub file: String,
    /// When it started (RFC 3339).
    pub started: Option<String>,
    /// How long it took.
    #[serde(default, with = "optional_seconds")]
    pub duration: Option<Duration>,
    /// How many scenarios it holds.
    pub scenarios: usize,
}

/// Everything a run did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// The features, by file.
    pub features: Vec<FeatureReport>,
    /// Feature files that could not be read or parsed.
    pub parse_errors: Vec<String>,
    /// The undefined steps, as the reports show them (once each).
    #[serde(default)]
    pub undefined: Vec<UndefinedStep>,
    /// What the run was pointed at, e.g. `embedded`.
    pub target: String,
    /// The feature files the run was made from.
    #[serde(default)]
    pub suite: Suite,
    /// When the run started (RFC 3339, UTC).
    #[serde(default)]
    pub started: Option<String>,
    /// How long the run took.
    #[serde(default, with = "optional_seconds")]
    pub duration: Option<Duration>,
    /// For a merged report, the runs it was made from.
    #[serde(default)]
    pub runs: Vec<RunInfo>,
    /// Whether a failed SHOULD fails the run (`--strict`).
    #[serde(default)]
    pub strict: bool,
    /// The contract's requirements the run was graded against, as its
    /// `discos-sim` had them.
    #[serde(default)]
    pub requirements: Vec<Requirement>,
}

impl Report {
    /// The report of a run of the features of `suite` against `target`.
    pub fn new(target: String, suite: Suite) -> Report {
        Report {
            target,
            suite,
            requirements: crate::protocol::contract::requirements()
                .map(<[Requirement]>::to_vec)
                .unwrap_or_default(),
            ..Report::default()
        }
    }

    /// The report of a run that runs no scenario (a dry run, the step
    /// catalogue).
    pub fn without_scenarios(target: String) -> Report {
        Report {
            target,
            ..Report::default()
        }
    }

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

    /// How many steps ended with `status`.
    pub fn count_steps(&self, status: Status) -> usize {
        self.scenarios()
            .flat_map(|(_, s)| &s.steps)
            .filter(|step| step.status == status)
            .count()
    }

    /// The index of the feature called `name` in the file `path`, added
    /// (with its `description`) if the report has not seen it yet.
    pub fn feature_index(
        &mut self,
        name: &str,
        description: Option<&str>,
        path: Option<&Path>,
    ) -> usize {
        let found = self
            .features
            .iter()
            .position(|f| f.name == name && f.path.as_deref() == path);
        found.unwrap_or_else(|| {
            let file = path.map_or_else(|| name.to_owned(), |path| self.suite.relative(path));
            self.features.push(FeatureReport {
                name: name.to_owned(),
                description: description.map(str::to_owned),
                path: path.map(Path::to_path_buf),
                file,
                scenarios: Vec::new(),
            });
            self.features.len() - 1
        })
    }

    /// Names its feature files and folder as `show` does, as the user knows
    /// them: the features `discos-sim check` carries are unpacked to a
    /// temporary folder gone after the run, which a report must not name.
    pub fn name_paths(&mut self, show: impl Fn(&Path) -> String) {
        self.suite.root = PathBuf::from(show(&self.suite.root));
        for feature in &mut self.features {
            if let Some(path) = &feature.path {
                feature.path = Some(PathBuf::from(show(path)));
            }
        }
    }

    /// Features by file, scenarios by line: the order of the files,
    /// whatever order they ran or were left out in.
    pub fn sort(&mut self) {
        self.features.sort_by(|a, b| a.file.cmp(&b.file));
        for feature in &mut self.features {
            feature.scenarios.sort_by_key(|s| s.line);
        }
    }

    /// Writes the self-contained HTML page to `path`.
    pub fn write_html(&self, path: &Path) -> std::io::Result<()> {
        create_parent(path)?;
        std::fs::write(path, html::render(self))
    }

    /// Writes the JUnit XML of the report to `path`.
    pub fn write_junit(&self, path: &Path) -> std::io::Result<()> {
        create_parent(path)?;
        let file = File::create(path)?;
        self.write_junit_to(file)
    }

    /// Writes the JUnit XML of the report to `out`: one test case per
    /// scenario, failures with their message, skipped with their reason.
    pub fn write_junit_to(&self, out: impl std::io::Write) -> std::io::Result<()> {
        junit::write(self, out)
    }

    /// Writes the report's model as JSON to `path`, for `discos-sim report
    /// merge` to join with other runs'.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        create_parent(path)?;
        saved::write(self, path)
    }
}

fn create_parent(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::create_dir_all(parent),
        None => Ok(()),
    }
}

/// Durations as seconds (a number) in the JSON model.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, to: S) -> Result<S::Ok, S::Error> {
        to.serialize_f64(duration.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(from)?;
        Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
    }
}

/// Durations that may be missing, as seconds or `null`.
mod optional_seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Option<Duration>, to: S) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => to.serialize_some(&duration.as_secs_f64()),
            None => to.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(from)?
            .map(|seconds| Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom))
            .transpose()
    }
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

impl Report {
    /// Adds an undefined step to what the reports show, its places
    /// (`file:line`, the file relative to the features folder or as a
    /// feature of the report names it) named as the report names its
    /// files: once per expression, with every place it is said.
    pub fn add_undefined(&mut self, step: UndefinedStep) {
        let places: Vec<String> = step
            .places
            .iter()
            .map(|place| match place.rsplit_once(':') {
                Some((file, line)) => {
                    let known = self.features.iter().find(|f| {
                        f.file == file || f.path.as_deref().is_some_and(|p| p == Path::new(file))
                    });
                    format!("{}:{line}", known.map_or(file, |f| f.file.as_str()))
                }
                None => place.clone(),
            })
            .collect();
        match self
            .undefined
            .iter_mut()
            .find(|u| u.expression == step.expression)
        {
            Some(known) => {
                for place in places {
                    if !known.places.contains(&place) {
                        known.places.push(place);
                    }
                }
            }
            None => self.undefined.push(UndefinedStep { places, ..step }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(message: &str) -> ScenarioReport {
        let mut scenario = ScenarioReport::new("s", 3);
        scenario.steps.push(StepReport {
            keyword: "Then ".to_owned(),
            text: "the backend accepts it".to_owned(),
            status: Status::Failed,
            message: Some(message.to_owned()),
            duration: None,
            background: false,
            table: None,
            docstring: None,
        });
        scenario
    }

    #[test]
    fn a_reason_is_whole_up_to_its_stated_length_and_cut_saying_so() {
        let scenario = failed(
            "expected ok, but it answered\n    !a,fail,busy\n\nTranscript (seconds since the scenario started):\n  0.001s x",
        );
        assert_eq!(
            scenario.summarised_reason().unwrap(),
            "Then the backend accepts it: expected ok, but it answered\n    !a,fail,busy"
        );
        let long = "é".repeat(REASON_LIMIT * 2);
        let summarised = failed(&long).summarised_reason().unwrap();
        let whole = failed(&long).reason().unwrap();
        assert_eq!(
            whole.chars().count(),
            REASON_LIMIT * 2 + "Then the backend accepts it: ".len()
        );
        assert!(
            summarised.ends_with(&format!(
                "… (cut at {REASON_LIMIT} of {} characters: the whole reason is with the scenario)",
                whole.chars().count()
            )),
            "{summarised}"
        );
        assert_eq!(
            summarised.chars().take_while(|c| *c != '…').count(),
            REASON_LIMIT
        );
        assert_eq!(cut("short", 10), "short");
    }
}
