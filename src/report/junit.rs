//! JUnit XML from the report's model, for CI pages.
//!
//! Written from the model rather than from cucumber's events so that a
//! merged report and a single run give the same file: one test suite per
//! feature, one test case per scenario, a failure with its whole reason,
//! the requirement it broke as its type (`MUST crlf`) and the scenario's
//! transcript, a skipped scenario with its reason. A failed SHOULD is a
//! passed test case with why it is non-strict in its `system-err`, unless
//! the run is `--strict`: CI fails exactly when the run does.

use junit_report::{
    Duration, OffsetDateTime, ReportBuilder, TestCase, TestCaseBuilder, TestSuiteBuilder,
};

use super::transcript::as_text;
use super::{Report, ScenarioReport, Status, Verdict};

/// Writes `report` as JUnit XML to `out`.
pub fn write(report: &Report, out: impl std::io::Write) -> std::io::Result<()> {
    let started = report
        .started
        .as_deref()
        .and_then(|started| humantime::parse_rfc3339(started).ok())
        .map(OffsetDateTime::from);
    let mut builder = ReportBuilder::new();
    for feature in &report.features {
        let mut suite = TestSuiteBuilder::new(&format!("Feature: {}", feature.name));
        if let Some(started) = started {
            suite.set_timestamp(started);
        }
        for scenario in &feature.scenarios {
            suite.add_testcase(test_case(&feature.file, scenario, report.strict));
        }
        builder.add_testsuite(suite.build());
    }
    if !report.parse_errors.is_empty() {
        let mut suite = TestSuiteBuilder::new("Feature files that could not be read");
        for error in &report.parse_errors {
            suite.add_testcase(TestCase::failure(
                error.lines().next().unwrap_or_default(),
                Duration::ZERO,
                "parse error",
                error,
            ));
        }
        builder.add_testsuite(suite.build());
    }
    builder.build().write_xml(out).map_err(|error| match error {
        junit_report::Error::Io(error) => error,
        other => std::io::Error::other(other),
    })
}

fn test_case(file: &str, scenario: &ScenarioReport, strict: bool) -> TestCase {
    let name = scenario.title();
    let time = scenario
        .duration
        .and_then(|d| Duration::try_from(d).ok())
        .unwrap_or(Duration::ZERO);
    let why = scenario.why().unwrap_or_default();
    // The whole reason, on one line: an attribute keeps no line breaks.
    let message = one_line(&scenario.summarised_reason().unwrap_or_default());
    let kind = match (
        &scenario.graded,
        scenario.steps.iter().any(|s| s.status == Status::Failed),
    ) {
        (Some(graded), _) => format!("{} {}", graded.strength, graded.id),
        (None, true) => "failed step".to_owned(),
        (None, false) => "failed teardown".to_owned(),
    };
    let mut case = match scenario.verdict() {
        Verdict::Passed => TestCaseBuilder::success(&name, time),
        // A failed SHOULD passes a run that is not strict: CI shows it as
        // passed, with why it is non-strict beside it.
        Verdict::NonStrict if !strict => {
            let mut case = TestCaseBuilder::success(&name, time);
            case.set_system_err(&format!(
                "NON-STRICT ({kind}): a SHOULD failed, which fails the run only with --strict.\n\n{why}"
            ));
            case
        }
        Verdict::FailedMust | Verdict::NonStrict | Verdict::Failed => {
            let mut case = TestCaseBuilder::failure(&name, time, &kind, &message);
            case.set_trace(&why);
            case
        }
        Verdict::Skipped => TestCaseBuilder::skipped_with_cause(&name, "skipped", &why),
    };
    case.set_classname(file)
        .set_filepath(&format!("{file}:{}", scenario.line));
    if !scenario.transcript.is_empty() {
        case.set_system_out(&as_text(&scenario.transcript));
    }
    case.build()
}

/// `text`'s lines joined by spaces, each trimmed.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
