//! JUnit XML from the report's model, for CI pages.
//!
//! Written from the model rather than from cucumber's events so that a
//! merged report and a single run give the same file: one test suite per
//! feature, one test case per scenario, a failure with its message and the
//! scenario's transcript, a skipped scenario with its reason.

use junit_report::{
    Duration, OffsetDateTime, ReportBuilder, TestCase, TestCaseBuilder, TestSuiteBuilder,
};

use super::transcript::as_text;
use super::{Report, ScenarioReport, Status};

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
            suite.add_testcase(test_case(&feature.file, scenario));
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

fn test_case(file: &str, scenario: &ScenarioReport) -> TestCase {
    let name = scenario.title();
    let time = scenario
        .duration
        .and_then(|d| Duration::try_from(d).ok())
        .unwrap_or(Duration::ZERO);
    let why = scenario.why().unwrap_or_default();
    let mut case = match scenario.status() {
        Status::Passed => TestCaseBuilder::success(&name, time),
        Status::Failed => {
            let kind = if scenario.steps.iter().any(|s| s.status == Status::Failed) {
                "failed step"
            } else {
                "failed teardown"
            };
            let mut case =
                TestCaseBuilder::failure(&name, time, kind, why.lines().next().unwrap_or(&why));
            case.set_trace(&why);
            case
        }
        Status::Skipped => TestCaseBuilder::skipped_with_cause(&name, "skipped", &why),
    };
    case.set_classname(file)
        .set_filepath(&format!("{file}:{}", scenario.line));
    if !scenario.transcript.is_empty() {
        case.set_system_out(&as_text(&scenario.transcript));
    }
    case.build()
}
