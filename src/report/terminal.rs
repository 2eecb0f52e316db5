//! What a run prints as it goes, for a person at a terminal: one line per
//! scenario, the steps of a failed one with why, and at the end the counts
//! and a recap of every failure with its file and line.
//!
//! It is written for people who read features, not Rust: a failure reads
//! as what was expected, what came back and the transcript, with no panic
//! wording and no Rust source locations; paths are the ones the user typed
//! (or `features/…` for the features compiled into `discos-sim`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::transcript::{self, TranscriptLine};
use super::{FeatureReport, Report, ScenarioReport, Status, Verdict, verdict};

/// Where the terminal output goes: standard output, or a buffer a caller
/// reads afterwards (the runner's own tests keep a green run quiet).
#[derive(Clone)]
pub enum Sink {
    /// Standard output.
    Stdout,
    /// A buffer shared with the caller.
    Buffer(Arc<Mutex<Vec<u8>>>),
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::Stdout => f.write_str("Sink::Stdout"),
            Sink::Buffer(_) => f.write_str("Sink::Buffer"),
        }
    }
}

/// How feature paths are shown: files under `actual` are shown under
/// `shown` (the compiled-in features, unpacked to a temporary folder, are
/// shown as `features/…`); files under the current directory relative to
/// it; others as they are.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    /// A folder whose files are shown under another name.
    pub actual: Option<PathBuf>,
    /// The name they are shown under.
    pub shown: PathBuf,
}

impl Paths {
    /// `path` as the user knows it.
    pub fn show(&self, path: &Path) -> String {
        if let Some(actual) = &self.actual
            && let Ok(rest) = path.strip_prefix(actual)
        {
            return self.shown.join(rest).display().to_string();
        }
        if let Ok(cwd) = std::env::current_dir()
            && let Ok(rest) = path.strip_prefix(&cwd)
        {
            return rest.display().to_string();
        }
        path.display().to_string()
    }
}

/// The terminal side of a run.
#[derive(Debug)]
pub struct Terminal {
    sink: Sink,
    color: bool,
    /// Print every step of every scenario, not only of failed ones.
    verbose: bool,
    paths: Paths,
}

impl Terminal {
    /// A terminal printing to `sink`; `color` adds ANSI colours, `verbose`
    /// prints the steps of passing scenarios too.
    pub fn new(sink: Sink, color: bool, verbose: bool, paths: Paths) -> Terminal {
        Terminal {
            sink,
            color,
            verbose,
            paths,
        }
    }

    /// Writes `text` to the sink; a terminal that went away is not worth
    /// failing a run for.
    pub fn print(&self, text: &str) {
        match &self.sink {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            Sink::Buffer(buffer) => buffer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(text.as_bytes()),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// `path:line` of a scenario, as the user knows the file.
    pub fn location(&self, feature: &FeatureReport, scenario: &ScenarioReport) -> String {
        let file = feature
            .path
            .as_deref()
            .map_or_else(|| feature.name.clone(), |path| self.paths.show(path));
        format!("{file}:{}", scenario.line)
    }

    /// A feature file whose scenarios begin.
    pub fn feature(&self, feature: &FeatureReport) {
        let file = feature
            .path
            .as_deref()
            .map(|path| format!("  {}", self.paint("2", &self.paths.show(path))))
            .unwrap_or_default();
        self.print(&format!(
            "{}{file}\n",
            self.paint("1", &format!("Feature: {}", feature.name))
        ));
    }

    /// A scenario that finished: one line, and its steps if it failed.
    pub fn scenario(&self, feature: &FeatureReport, scenario: &ScenarioReport) {
        let status = scenario.status();
        let (mark, code) = match scenario.verdict() {
            Verdict::Passed => ("✔", "32"),
            Verdict::FailedMust | Verdict::Failed => ("✘", "31"),
            Verdict::NonStrict => ("!", "35"),
            Verdict::Skipped => ("-", "33"),
        };
        let took = scenario.duration.map(human).unwrap_or_default();
        let graded = scenario
            .graded
            .as_ref()
            .filter(|_| status == Status::Failed)
            .map(|graded| {
                format!(
                    "  {}",
                    self.paint(code, &format!("[{}]", verdict::label(graded)))
                )
            })
            .unwrap_or_default();
        let mut text = format!(
            "  {} {}{graded}  {}\n",
            self.paint(code, mark),
            scenario.title(),
            self.paint("2", &took)
        );
        if status == Status::Passed && !self.verbose {
            self.print(&text);
            return;
        }
        if status == Status::Failed {
            text.push_str(&format!(
                "    {}\n",
                self.paint("2", &self.location(feature, scenario))
            ));
        }
        for step in &scenario.steps {
            let (mark, code) = match step.status {
                Status::Passed => ("✔", "32"),
                Status::Failed => ("✘", "31"),
                Status::Skipped => ("-", "33"),
            };
            text.push_str(&format!(
                "    {} {}{}\n",
                self.paint(code, mark),
                step.keyword,
                step.text
            ));
            if step.status == Status::Failed
                && let Some(message) = &step.message
            {
                text.push_str(&indent(transcript::without_transcript(message), 8));
            }
        }
        if let Some(failure) = &scenario.hook_failure {
            text.push_str(&format!("    {} {}\n", self.paint("31", "✘"), "teardown"));
            text.push_str(&indent(transcript::without_transcript(failure), 8));
        }
        if status == Status::Failed {
            text.push_str(&self.transcript(scenario));
        }
        for artifact in &scenario.artifacts {
            text.push_str(&format!("      saved: {}\n", artifact.display()));
        }
        self.print(&text);
    }

    /// A feature file that could not be read or parsed.
    pub fn parse_error(&self, error: &str) {
        self.print(&format!("{} {error}\n", self.paint("31", "✘")));
    }

    /// The transcript of a failed scenario, teardown and polling folded.
    fn transcript(&self, scenario: &ScenarioReport) -> String {
        let lines = &scenario.transcript;
        if lines.is_empty() {
            return String::new();
        }
        let mut text = String::from("        Transcript (seconds since the scenario started):\n");
        for part in transcript::fold(lines, scenario.teardown_from) {
            match part {
                transcript::Part::Line(line) => {
                    text.push_str(&format!("          {}\n", show(line)))
                }
                transcript::Part::Folded(folded) => text.push_str(&format!(
                    "          {}\n",
                    self.paint("2", &format!("… {}", folded.summary()))
                )),
            }
        }
        text
    }

    /// The counts of scenarios (by verdict: a failed MUST, or a failure
    /// naming no requirement, fails any run; a failed SHOULD is non-strict)
    /// and of steps; then every failed and non-strict scenario again as
    /// `path:line  name [MUST id]` with its whole reason, so that a long
    /// run's failures need no scrolling; then the verdict: whether DISCOS
    /// can drive this backend, or exactly why not.
    pub fn summary(&self, report: &Report) {
        let tally = report.tally();
        let steps: Vec<_> = report.scenarios().flat_map(|(_, s)| &s.steps).collect();
        let step_count = |status| steps.iter().filter(|s| s.status == status).count();
        let mut text = format!(
            "\n{} scenario(s): {} passed, {} failed, {} non-strict, {} skipped\n",
            tally.total(),
            tally.passed,
            tally.failed(),
            tally.non_strict,
            tally.skipped,
        );
        if tally.failed() > 0 {
            text.push_str(&format!(
                "  failed: {} broke a MUST, {} named no requirement (@simulator, untagged, undefined steps)\n",
                tally.failed_must, tally.failed_other
            ));
        }
        text.push_str(&format!(
            "{} step(s): {} passed, {} failed, {} skipped\n",
            steps.len(),
            step_count(Status::Passed),
            step_count(Status::Failed),
            step_count(Status::Skipped),
        ));
        for error in &report.parse_errors {
            text.push_str(&format!(
                "{} {error}\n",
                self.paint("31", "feature file error:")
            ));
        }
        let listed = |verdicts: &[Verdict]| -> Vec<(&FeatureReport, &ScenarioReport)> {
            report
                .scenarios()
                .filter(|(_, s)| verdicts.contains(&s.verdict()))
                .collect()
        };
        let failed = listed(&[Verdict::FailedMust, Verdict::Failed]);
        if !failed.is_empty() {
            text.push_str(&format!("\n{}\n", self.paint("31", "Failed scenarios:")));
            text.push_str(&self.recap(&failed));
        }
        let non_strict = listed(&[Verdict::NonStrict]);
        if !non_strict.is_empty() {
            let heading = if report.strict {
                "Non-strict scenarios (a SHOULD failed; the run is --strict, so they fail it):"
            } else {
                "Non-strict scenarios (a SHOULD failed; they fail the run only with --strict):"
            };
            text.push_str(&format!("\n{}\n", self.paint("35", heading)));
            text.push_str(&self.recap(&non_strict));
        }
        let headline = report.headline();
        let code = if headline.can_drive() { "32" } else { "31" };
        text.push_str(&format!("\n{}\n", self.paint(code, &headline.sentence())));
        self.print(&text);
    }

    /// `path:line  name [grade]` and the whole reason (up to
    /// [`super::REASON_LIMIT`]) of each scenario.
    fn recap(&self, scenarios: &[(&FeatureReport, &ScenarioReport)]) -> String {
        let mut text = String::new();
        for (feature, scenario) in scenarios {
            let graded = scenario
                .graded
                .as_ref()
                .map(|graded| format!("  [{}]", verdict::label(graded)))
                .unwrap_or_default();
            text.push_str(&format!(
                "  {}  {}{graded}\n",
                self.location(feature, scenario),
                scenario.title(),
            ));
            text.push_str(&indent(
                &scenario.summarised_reason().unwrap_or_default(),
                6,
            ));
        }
        text
    }
}

/// A transcript line as the terminal shows it.
fn show(line: &TranscriptLine) -> String {
    format!(
        "{:>8.3}s {:>8} {} {}",
        line.at.as_secs_f64(),
        line.client,
        line.direction.arrow(),
        line.text
    )
}

/// Why a failed scenario failed: its failed step's message, or its
/// teardown's.
pub fn why(scenario: &ScenarioReport) -> String {
    scenario
        .steps
        .iter()
        .find(|s| s.status == Status::Failed)
        .map(|step| {
            let message = step.message.as_deref().unwrap_or("it failed");
            format!("{}{}: {message}", step.keyword, step.text)
        })
        .or_else(|| scenario.hook_failure.clone())
        .unwrap_or_else(|| "it failed".to_owned())
}

fn indent(text: &str, spaces: usize) -> String {
    let pad = " ".repeat(spaces);
    text.lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_owned()
            } else {
                format!("{pad}{line}\n")
            }
        })
        .collect()
}

/// A duration as people read it: `12 ms`, `1.3 s`.
pub fn human(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_show_as_the_user_knows_them() {
        let paths = Paths {
            actual: Some(PathBuf::from("/tmp/unpacked")),
            shown: PathBuf::new(),
        };
        assert_eq!(
            paths.show(Path::new("/tmp/unpacked/features/a.feature")),
            "features/a.feature"
        );
        assert_eq!(paths.show(Path::new("/opt/x.feature")), "/opt/x.feature");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            Paths::default().show(&cwd.join("features/b.feature")),
            "features/b.feature"
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(Duration::from_millis(12)), "12 ms");
        assert_eq!(human(Duration::from_millis(1260)), "1.3 s");
    }
}
