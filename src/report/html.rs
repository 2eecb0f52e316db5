//! The HTML report: one self-contained page a reviewer opens in a browser.
//!
//! It answers a reviewer's questions in the order they come: can DISCOS
//! drive this backend (the verdict, and exactly which MUSTs failed where),
//! how did the run go (counts by verdict, every failure one click away with
//! its whole reason), how did each requirement of the contract fare, what
//! does the suite exercise of the protocol (a command × reply table, real
//! gaps told from cells that cannot occur), and for each scenario what it
//! did (steps with their tables and timings, the example it ran with, the
//! transcript with its teardown and polling folded, what the browser
//! showed). It carries everything in itself (styles, a little script for
//! the filters, screenshots as data URLs, and the contract, so that every
//! clause a failure names opens at its heading wherever the page is
//! opened), so it can be mailed or kept as a CI artifact and opened with
//! no network; without the script, everything is shown.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::coverage::{CODES, Coverage, not_a_gap};
use super::markdown::{self, clause_id};
use super::terminal::human;
use super::transcript::{self, Direction, Part, TranscriptLine};
use super::{
    FeatureReport, Headline, Report, ScenarioReport, Status, StepReport, Verdict, legend, verdict,
};
use crate::protocol::contract::{CONTRACT, CONTRACT_TEXT, Strength};
use crate::protocol::{Timestamp, parse_text};

/// The page's styles, shipped inside it: the page is opened with no network.
const STYLE: &str = include_str!("assets/report.css");
/// The filters' script; without it, everything is shown.
const SCRIPT: &str = include_str!("assets/report.js");

/// The page for `report`.
pub fn render(report: &Report) -> String {
    Page { report }.render().into_string()
}

struct Page<'a> {
    report: &'a Report,
}

impl Page<'_> {
    fn render(&self) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { "DISCOS backend acceptance report — " (self.report.target) }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    (self.header())
                    (self.verdict())
                    (self.summary())
                    (self.failures())
                    (self.requirements())
                    (self.coverage())
                    (self.tags())
                    (self.features_table())
                    (self.scenarios())
                    (self.undefined())
                    (self.legend())
                    (self.contract())
                    script { (PreEscaped(SCRIPT)) }
                }
            }
        }
    }

    fn header(&self) -> Markup {
        let report = self.report;
        html! {
            header {
                h1 { "DISCOS backend acceptance report" }
                dl class="meta" {
                    dt { "Target" }
                    dd { code id="target" { (report.target) } ": " (legend::target(&report.target)) }
                    @if let Some(started) = &report.started {
                        dt { "Date" }
                        dd id="date" { (date(started)) }
                    }
                    @if let Some(duration) = report.duration {
                        dt { "Took" }
                        dd id="took" { (took(report, duration)) }
                    }
                    @if report.suite.files > 0 {
                        dt { "Features" }
                        dd {
                            (report.suite.files) " file(s) in "
                            code { (report.suite.root.display().to_string()) }
                            " (fingerprint "
                            code { (report.suite.fingerprint.get(..12).unwrap_or_default()) }
                            ")"
                        }
                    }
                    dt { "Contract" }
                    dd {
                        a href="#contract" { (CONTRACT) }
                        ", carried at the end of this page: every clause a failure names opens there"
                    }
                    @if report.strict {
                        dt { "Strict" }
                        dd { "yes: a failed SHOULD fails the run too" }
                    }
                }
                @if !report.runs.is_empty() {
                    p { "Merged from " (report.runs.len()) " run(s):" }
                    table class="runs" {
                        thead { tr { th { "Report" } th { "Started (UTC)" } th { "Took" } th { "Scenarios" } } }
                        tbody {
                            @for run in &report.runs {
                                tr {
                                    td { code { (run.file) } }
                                    td { (run.started.as_deref().map(date).unwrap_or_default()) }
                                    td { (run.duration.map(human).unwrap_or_default()) }
                                    td class="num" { (run.scenarios) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn verdict(&self) -> Markup {
        let report = self.report;
        let headline = report.headline();
        let class = match &headline {
            Headline::CanDrive { .. } => "can",
            Headline::CannotDrive { .. } => "cannot",
            Headline::NothingChecked => "unchecked",
        };
        let tally = report.tally();
        html! {
            section id="verdict" class=(class) {
                span id="headline" { (self.clauses(&headline.sentence())) }
                @if let Headline::CannotDrive { broken } = &headline {
                    ul {
                        @for (id, scenarios) in broken {
                            li {
                                a href={ "#r-" (id) } { "MUST " (id) }
                                @if let Some(requirement) = report.requirements().iter().find(|r| &r.id == id) {
                                    ": a backend " (PreEscaped(markdown::inline(&requirement.statement)))
                                }
                                " — failed in "
                                @for (index, (feature, scenario)) in scenarios
                                    .iter()
                                    .filter_map(|at| self.scenario_at(&format!("{}:{}", at.file, at.line)))
                                    .enumerate()
                                {
                                    @if index > 0 { ", " }
                                    a href={ "#" (scenario_id(feature, scenario)) } { (scenario.title()) }
                                }
                            }
                        }
                    }
                }
                @if tally.non_strict > 0 {
                    p {
                        (tally.non_strict) " scenario(s) failed a SHOULD: non-strict, "
                        @if report.strict {
                            "and this run is strict, so they fail it"
                        } @else {
                            "they fail the run only when it is --strict"
                        }
                        "."
                    }
                }
                @if tally.failed_other > 0 {
                    p {
                        (tally.failed_other) " scenario(s) failed naming no requirement (about the \
                        simulator, untagged, or an undefined step): they fail the run."
                    }
                }
            }
        }
    }

    /// The scenario at `file:line`.
    fn scenario_at(&self, place: &str) -> Option<(&FeatureReport, &ScenarioReport)> {
        let (file, line) = place.rsplit_once(':')?;
        let line: usize = line.parse().ok()?;
        self.report
            .scenarios()
            .find(|(f, s)| f.file == file && s.line == line)
    }

    /// The scenario whose step is at `file:line`: the last that starts
    /// before it in its file.
    fn scenario_saying(&self, place: &str) -> Option<(&FeatureReport, &ScenarioReport)> {
        let (file, line) = place.rsplit_once(':')?;
        let line: usize = line.parse().ok()?;
        self.report
            .scenarios()
            .filter(|(f, s)| f.file == file && s.line <= line)
            .max_by_key(|(_, s)| s.line)
    }

    fn summary(&self) -> Markup {
        let report = self.report;
        let tally = report.tally();
        let total = tally.total();
        let failed_detail = format!(
            "{} MUST, {} naming no requirement",
            tally.failed_must, tally.failed_other
        );
        let cards = [
            ("passed", tally.passed, None),
            ("failed", tally.failed(), Some(failed_detail.as_str())),
            ("non-strict", tally.non_strict, Some("a SHOULD failed")),
            ("skipped", tally.skipped, None),
        ];
        let steps = report.scenarios().flat_map(|(_, s)| &s.steps).count();
        html! {
            section id="summary" {
                div class="counts" {
                    div class="count total" { b id="count-total" { (total) } "scenario(s)" }
                    @for (class, count, detail) in &cards {
                        div class={ "count " (class) } {
                            b id={ "count-" (class) } { (count) }
                            (class)
                            @if let Some(detail) = detail { small { (detail) } }
                        }
                    }
                }
                div class="bar" aria-hidden="true" {
                    @for (class, count, _) in &cards {
                        div class=(class) style=(format!("width: {:.2}%", percent(*count, total))) {}
                    }
                }
                p class="steps-count" {
                    (steps) " step(s): "
                    (report.count_steps(Status::Passed)) " passed, "
                    (report.count_steps(Status::Failed)) " failed, "
                    (report.count_steps(Status::Skipped)) " skipped"
                }
            }
        }
    }

    fn failures(&self) -> Markup {
        let report = self.report;
        let listed = |verdicts: &[Verdict]| -> Vec<(&FeatureReport, &ScenarioReport)> {
            report
                .scenarios()
                .filter(|(_, s)| verdicts.contains(&s.verdict()))
                .collect()
        };
        let failed = listed(&[Verdict::FailedMust, Verdict::Failed]);
        let non_strict = listed(&[Verdict::NonStrict]);
        let count = failed.len() + report.parse_errors.len();
        html! {
            section id="failures" {
                h2 { "Failures (" (count) ")" }
                @if count == 0 {
                    p {
                        "None: every scenario that ran passed"
                        @if !non_strict.is_empty() { ", but for the non-strict ones below" }
                        "."
                    }
                } @else {
                    ol {
                        @for error in &report.parse_errors {
                            li { "A feature file could not be read" div class="why" { (error) } }
                        }
                        @for (feature, scenario) in &failed {
                            (self.failure(feature, scenario))
                        }
                    }
                }
                @if !non_strict.is_empty() {
                    h3 id="non-strict" { "Non-strict (" (non_strict.len()) "): a SHOULD failed" }
                    p {
                        "The backend departs from the protocol text or the reference here, in ways \
                        DISCOS does not rely on; "
                        @if report.strict {
                            "this run is strict, so they fail it"
                        } @else {
                            "they fail the run only when it is --strict"
                        }
                        "."
                    }
                    ol class="non-strict" {
                        @for (feature, scenario) in &non_strict {
                            (self.failure(feature, scenario))
                        }
                    }
                }
            }
        }
    }

    /// One entry of the index of failures: the scenario, where it is, the
    /// requirement it broke and its whole reason (up to
    /// [`super::REASON_LIMIT`]).
    fn failure(&self, feature: &FeatureReport, scenario: &ScenarioReport) -> Markup {
        let why = scenario.summarised_reason().unwrap_or_default();
        html! {
            li {
                a class="failure" href={ "#" (scenario_id(feature, scenario)) } {
                    (feature.name) " › " (scenario.title())
                }
                (grade(scenario))
                " "
                span class="location" { (feature.file) ":" (scenario.line) }
                div class="why" { (self.clauses(&why)) }
            }
        }
    }

    fn requirements(&self) -> Markup {
        let report = self.report;
        let requirements = report.requirements();
        if requirements.is_empty() {
            return html! {};
        }
        let fared = report.fared();
        html! {
            section id="requirements" {
                h2 { "Requirements" }
                p {
                    "Each requirement of the contract, and the scenarios that checked it: a scenario \
                    names the one it checks with its tag ("
                    code { "@must:ID" } ", " code { "@should:ID" }
                    "), and a step that knows better names its own. A failed MUST means DISCOS \
                    cannot drive the backend; a failed SHOULD is non-strict."
                }
                table {
                    thead {
                        tr {
                            th { "Requirement" } th { "Strength" } th { "A backend …" }
                            th { "This run" } th { "Clause" }
                        }
                    }
                    tbody {
                        @for requirement in requirements {
                            (requirement_row(requirement, fared.get(requirement.id.as_str())))
                        }
                    }
                }
            }
        }
    }

    fn coverage(&self) -> Markup {
        let coverage = Coverage::of(self.report);
        let gaps = coverage.gaps();
        let cells = coverage.cells();
        html! {
            section id="coverage" {
                h2 { "Protocol coverage" }
                p {
                    "Which commands of the contract the scenarios that ran sent, and which replies \
                    they got back (from their transcripts): " (cells - gaps.len()) " of " (cells)
                    " command × reply pairs exercised. "
                    span id="gaps" { (gaps.len()) " gap(s)" }
                    ", shaded: no scenario got that reply to that command (a command never \
                    accepted, never refused). Cells in grey cannot be gaps: the contract rules that \
                    reply out, or gives it to a malformed line of any name."
                }
                table class="coverage" {
                    thead { tr { th { "Command" } th { "ok" } th { "fail" } th { "invalid" } } }
                    tbody {
                        @for row in &coverage.rows {
                            tr class=[row.command.is_none().then_some("other")]
                                data-command=(row.command.unwrap_or(""))
                            {
                                th {
                                    a href={ "#" (clause_id(row.clause)) } {
                                        (row.command.unwrap_or("any name the contract does not know"))
                                    }
                                }
                                @for code in CODES {
                                    (self.coverage_cell(row.command, code, row.with(code)))
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// One cell of the coverage table: the scenarios that got `code` back
    /// to `command`, or why none did.
    fn coverage_cell(
        &self,
        command: Option<&str>,
        code: crate::protocol::Code,
        at: &[(usize, usize)],
    ) -> Markup {
        if at.is_empty() {
            return match not_a_gap(command, code) {
                Some(why) => html! { td class="na" data-code=(code) title=(why) { "—" } },
                None => {
                    let what = match code {
                        crate::protocol::Code::Ok => "never accepted",
                        crate::protocol::Code::Fail => "never refused",
                        crate::protocol::Code::Invalid => "never rejected as malformed",
                    };
                    html! { td class="gap" data-code=(code) { "0 " small { "(" (what) ")" } } }
                }
            };
        }
        html! {
            td class="hit" data-code=(code) {
                details {
                    summary { (at.len()) " scenario(s)" }
                    ul {
                        @for (f, s) in at {
                            @let feature = &self.report.features[*f];
                            @let scenario = &feature.scenarios[*s];
                            li class=(scenario.verdict().as_str()) {
                                a href={ "#" (scenario_id(feature, scenario)) } { (scenario.title()) }
                            }
                        }
                    }
                }
            }
        }
    }

    fn tags(&self) -> Markup {
        let mut tags: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
        for (_, scenario) in self.report.scenarios() {
            let column = match scenario.verdict() {
                Verdict::Passed => 0,
                Verdict::FailedMust | Verdict::Failed => 1,
                Verdict::NonStrict => 2,
                Verdict::Skipped => 3,
            };
            for tag in &scenario.tags {
                tags.entry(tag).or_default()[column] += 1;
            }
        }
        if tags.is_empty() {
            return html! {};
        }
        html! {
            section id="by-tag" {
                h2 { "By tag" }
                table {
                    thead {
                        tr {
                            th { "Tag" } th { "Means" } th { "Scenarios" } th { "Passed" }
                            th { "Failed" } th { "Non-strict" } th { "Skipped" }
                        }
                    }
                    tbody {
                        @for (tag, [passed, failed, non_strict, skipped]) in &tags {
                            tr {
                                th {
                                    button type="button" class="tag-filter" data-tag=(tag) title="show only these" {
                                        "@" (tag)
                                    }
                                }
                                td class="means" {
                                    (legend::tag(tag).unwrap_or_else(|| "a tag of the features' own".to_owned()))
                                }
                                td class="num" { (passed + failed + non_strict + skipped) }
                                td class="num" { (passed) }
                                td class="num" { (failed) }
                                td class="num" { (non_strict) }
                                td class="num" { (skipped) }
                            }
                        }
                    }
                }
            }
        }
    }

    fn features_table(&self) -> Markup {
        html! {
            section id="by-feature" {
                h2 { "By feature" }
                p {
                    "A feature's time is its scenarios' own times added up; scenarios run at the \
                    same time, so these add up to more than the run's wall time."
                }
                table {
                    thead {
                        tr {
                            th { "Feature" } th { "File" } th { "Scenarios" } th { "Passed" }
                            th { "Failed" } th { "Skipped" } th { "Scenario time (summed)" }
                        }
                    }
                    tbody {
                        @for feature in &self.report.features {
                            @let count = |status| feature.scenarios.iter().filter(|s| s.status() == status).count();
                            @let took: Duration = feature.scenarios.iter().filter_map(|s| s.duration).sum();
                            tr {
                                td { a href={ "#" (feature_id(feature)) } { (feature.name) } }
                                td { code { (feature.file) } }
                                td class="num" { (feature.scenarios.len()) }
                                td class="num" { (count(Status::Passed)) }
                                td class="num" { (count(Status::Failed)) }
                                td class="num" { (count(Status::Skipped)) }
                                td class="num" { (human(took)) }
                            }
                        }
                    }
                }
            }
        }
    }

    fn scenarios(&self) -> Markup {
        let report = self.report;
        let total = report.scenarios().count();
        let tally = report.tally();
        let statuses = [
            ("passed", tally.passed),
            ("failed", tally.failed()),
            ("non-strict", tally.non_strict),
            ("skipped", tally.skipped),
        ];
        html! {
            section id="scenarios" {
                h2 { "Scenarios" }
                div class="filters" {
                    "Show:"
                    button type="button" data-status="all" aria-pressed="true" { "all (" (total) ")" }
                    @for (status, count) in statuses {
                        button type="button" data-status=(status) aria-pressed="false" {
                            (status) " (" (count) ")"
                        }
                    }
                    label {
                        "tag "
                        select id="tag-filter" {
                            option value="" { "any" }
                            @for tag in self.all_tags() {
                                option value=(tag) { "@" (tag) }
                            }
                        }
                    }
                    span id="shown" {}
                }
                @for feature in &report.features {
                    section class="feature" id=(feature_id(feature)) {
                        h3 { "Feature: " (feature.name) }
                        p class="location" { (feature.file) }
                        @if let Some(description) = &feature.description {
                            p class="description" { (description.trim()) }
                        }
                        @for scenario in &feature.scenarios {
                            (self.scenario(feature, scenario))
                        }
                    }
                }
            }
        }
    }

    /// Every tag of the scenarios, each once, in order.
    fn all_tags(&self) -> Vec<&str> {
        let mut tags: Vec<&str> = self
            .report
            .scenarios()
            .flat_map(|(_, s)| s.tags.iter().map(String::as_str))
            .collect();
        tags.sort_unstable();
        tags.dedup();
        tags
    }

    fn scenario(&self, feature: &FeatureReport, scenario: &ScenarioReport) -> Markup {
        let verdict = scenario.verdict();
        let label = match verdict {
            Verdict::Passed => "passed",
            Verdict::FailedMust | Verdict::Failed => "FAILED",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Skipped => "skipped",
        };
        html! {
            details class={ "scenario " (verdict.as_str()) }
                id=(scenario_id(feature, scenario))
                data-status=(verdict.as_str())
                data-tags=(scenario.tags.join(" "))
                open[scenario.status() == Status::Failed]
            {
                summary {
                    span class="status" { (label) }
                    span class="name" { (scenario.name) }
                    (grade(scenario))
                    @if let Some(example) = &scenario.example {
                        span class="values" {
                            @for (header, value) in example.pairs() {
                                span class="value" title=(header) { (value) }
                            }
                        }
                    }
                    @if let Some(duration) = scenario.duration {
                        span class="duration" { (human(duration)) }
                    }
                    @for tag in &scenario.tags {
                        span class="tag" { "@" (tag) }
                    }
                }
                p class="location" { (feature.file) ":" (scenario.line) }
                @if let Some(example) = &scenario.example {
                    p {
                        "Example"
                        @if let Some(name) = &example.name { " “" (name) "”" }
                        ":"
                    }
                    (table("example", &[example.header.clone(), example.values.clone()]))
                }
                @if let Some(reason) = &scenario.skip_reason {
                    p class="skip-reason" { "Not run: " (reason) }
                }
                ol class="steps" {
                    @for step in &scenario.steps {
                        (self.step(scenario, step))
                    }
                }
                @if let Some(failure) = &scenario.hook_failure {
                    p { "The verified teardown failed:" }
                    pre class="message" { (self.clauses(failure)) }
                }
                (self.transcript(scenario))
                (attachments(scenario))
            }
        }
    }

    fn step(&self, scenario: &ScenarioReport, step: &StepReport) -> Markup {
        let mark = match step.status {
            Status::Passed => "✔",
            Status::Failed => "✘",
            Status::Skipped => "–",
        };
        let class = if step.background {
            format!("step {} background", step.status.as_str())
        } else {
            format!("step {}", step.status.as_str())
        };
        html! {
            li class=(class) {
                span class="mark" { (mark) }
                span class="keyword" { (step.keyword.trim_end()) }
                " " (step.text)
                @if let Some(duration) = step.duration {
                    span class="duration" { (human(duration)) }
                }
                @if let Some(rows) = &step.table {
                    (table("data", rows))
                }
                @if let Some(docstring) = &step.docstring {
                    pre class="docstring" { (docstring) }
                }
                @if let Some(message) = &step.message {
                    @if step.status == Status::Failed {
                        pre class="message" { (self.clauses(without_transcript(message, scenario))) }
                    } @else if scenario.skip_reason.is_none() {
                        p class="skip-reason" { (message) }
                    }
                }
            }
        }
    }

    fn transcript(&self, scenario: &ScenarioReport) -> Markup {
        if scenario.transcript.is_empty() {
            return html! {
                @if scenario.duration.is_some() && !scenario.tags.iter().any(|t| t == "browser") {
                    p class="location" { "Transcript: nothing was sent or received." }
                }
            };
        }
        html! {
            details class="transcript" open[scenario.status() == Status::Failed] {
                summary {
                    "Transcript (" (scenario.transcript.len())
                    " line(s); seconds since the scenario started)"
                }
                table {
                    @for part in transcript::fold(&scenario.transcript, scenario.teardown_from) {
                        @match part {
                            Part::Line(line) => (transcript_line(line)),
                            Part::Folded(folded) => {
                                tr class="fold" {
                                    td colspan="4" {
                                        details class="folded" {
                                            summary { (folded.summary()) }
                                            table {
                                                @for line in folded.lines {
                                                    (transcript_line(line))
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn undefined(&self) -> Markup {
        let report = self.report;
        if report.undefined.is_empty() {
            return html! {};
        }
        html! {
            section id="undefined" {
                h2 { "Undefined steps" }
                p {
                    "No step definition matches these steps: each is shown where the features say \
                    it, with the defined steps closest to it (what may have been meant), then a \
                    definition to start from."
                }
                @for step in &report.undefined {
                    div class="undefined-step" {
                        p {
                            b { (if step.step.is_empty() { &step.expression } else { &step.step }) }
                            @for place in &step.places {
                                " "
                                @match self.scenario_saying(place) {
                                    Some((f, s)) => {
                                        a class="location" href={ "#" (scenario_id(f, s)) } { (place) }
                                    }
                                    None => span class="location" { (place) },
                                }
                            }
                        }
                        @if !step.neighbours.is_empty() {
                            "Did you mean:"
                            ul {
                                @for neighbour in &step.neighbours {
                                    li { code { (neighbour) } }
                                }
                            }
                        }
                        details {
                            summary { "A step definition to start from" }
                            pre { (step.snippet) }
                        }
                    }
                }
            }
        }
    }

    fn legend(&self) -> Markup {
        html! {
            section id="legend" {
                h2 { "Tags and target" }
                dl class="legend" {
                    dt { "Target " (self.report.target) }
                    dd { (legend::target(&self.report.target)) }
                    @for tag in self.all_tags() {
                        dt { "@" (tag) }
                        dd { (legend::tag(tag).unwrap_or_else(|| "a tag of the features' own".to_owned())) }
                    }
                }
            }
        }
    }

    fn contract(&self) -> Markup {
        html! {
            section id="contract" {
                h2 { "The contract" }
                p class="location" {
                    (CONTRACT) ", as the discos-sim that wrote this report carries it."
                }
                (PreEscaped(markdown::render(CONTRACT_TEXT)))
            }
        }
    }

    /// `text` with every clause of the contract it names
    /// (`docs/protocol.md#set-section`) made a link to that clause in the
    /// contract the page carries.
    fn clauses(&self, text: &str) -> Markup {
        let needle = format!("{CONTRACT}#");
        let mut pieces: Vec<(&str, Option<&str>)> = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find(&needle) {
            let after = &rest[at + needle.len()..];
            let anchor_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(after.len());
            let anchor = &after[..anchor_len];
            pieces.push((&rest[..at], Some(anchor)));
            rest = &after[anchor_len..];
        }
        html! {
            @for (before, anchor) in pieces {
                (before)
                @match anchor {
                    Some("") | None => (needle),
                    Some(anchor) => a class="clause" href={ "#" (clause_id(anchor)) } { (needle) (anchor) },
                }
            }
            (rest)
        }
    }
}

/// One row of the requirements table: how `requirement` fared in the run.
fn requirement_row(
    requirement: &crate::protocol::contract::Requirement,
    how: Option<&super::Fared<'_>>,
) -> Markup {
    let (class, word) = match requirement.strength {
        Strength::Must => ("broken", "FAILED"),
        Strength::Should => ("non-strict", "NON-STRICT"),
    };
    let id = requirement.id.as_str();
    html! {
        tr id={ "r-" (id) } data-requirement=(id) {
            th { code { (id) } }
            td { (requirement.strength) }
            td { (PreEscaped(markdown::inline(&requirement.statement))) }
            @match how {
                Some(how) if !how.failed.is_empty() => {
                    td class=(class) {
                        (word) " in " (how.failed.len()) " of " (how.failed.len() + how.passed.len())
                        " scenario(s): "
                        @for (index, (f, s)) in how.failed.iter().enumerate() {
                            @if index > 0 { ", " }
                            a href={ "#" (scenario_id(f, s)) } { (f.file) ":" (s.line) }
                        }
                    }
                }
                Some(how) if !how.passed.is_empty() => {
                    td class="held" { "held in " (how.passed.len()) " scenario(s)" }
                }
                Some(how) if !how.skipped.is_empty() => {
                    td class="unchecked" {
                        "not checked: its " (how.skipped.len()) " scenario(s) were skipped"
                    }
                }
                _ => td class="unchecked" { "not checked by this run" },
            }
            td {
                a class="clause" href={ "#" (clause_id(&requirement.clause)) } {
                    (CONTRACT) "#" (requirement.clause)
                }
            }
        }
    }
}

/// What the browser showed: screenshots inline, pages in a sandboxed frame.
fn attachments(scenario: &ScenarioReport) -> Markup {
    html! {
        @for attachment in &scenario.attachments {
            @if attachment.media_type.starts_with("image/") {
                figure {
                    img src={ "data:" (attachment.media_type) ";base64," (attachment.base64) }
                        alt={ "what the browser showed: " (attachment.name) };
                    figcaption { (attachment.name) }
                }
            } @else if let Some(bytes) = attachment.bytes() {
                details class="page" {
                    summary { (attachment.name) " — the page as the browser had it" }
                    iframe sandbox="" title=(attachment.name) srcdoc=(String::from_utf8_lossy(&bytes)) {}
                }
            }
        }
    }
}

/// A failure message without the transcript it ends with, when the page
/// shows that transcript beside it (or it says nothing was sent).
fn without_transcript<'m>(message: &'m str, scenario: &ScenarioReport) -> &'m str {
    let reason = transcript::without_transcript(message);
    if scenario.transcript.is_empty() && message[reason.len()..].contains("(seconds since") {
        message
    } else {
        reason
    }
}

/// A graded scenario's badge: `MUST crlf`, `SHOULD version-reply (non-strict)`.
fn grade(scenario: &ScenarioReport) -> Markup {
    html! {
        @if let (Some(graded), Status::Failed) = (&scenario.graded, scenario.status()) {
            span class={ "grade " (graded.strength) } { (verdict::label(graded)) }
        }
    }
}

/// One line of a transcript, with the date of a time it carries.
fn transcript_line(line: &TranscriptLine) -> Markup {
    let (class, arrow) = match line.direction {
        Direction::Sent => ("sent", "→"),
        Direction::Received => ("received", "←"),
        Direction::Event => ("event", "–"),
    };
    html! {
        tr class=(class) {
            td class="num" { (format!("{:.3}", line.at.as_secs_f64())) }
            td { (line.client) }
            td class="dir" { (arrow) }
            td class="line" {
                (line.text)
                @if let Some(date) = dated(&line.text) {
                    " " span class="date" { "(" (date) ")" }
                }
            }
        }
    }
}

/// The date of the time a line carries, as a person reads it: a `start` or
/// `stop` request's (a tick count, or decimal seconds), a `time` or
/// `status` reply's; `None` for other lines, and for times that are no
/// plausible date (before 2000, after 2200).
fn dated(text: &str) -> Option<String> {
    let message = parse_text(text).ok()?;
    let field = match (message.code(), message.name.as_str()) {
        (None, "start" | "stop") => message.arguments.first()?,
        (Some(crate::protocol::Code::Ok), "time" | "status") => message.arguments.first()?,
        _ => return None,
    };
    let time: Timestamp = field.parse().ok()?;
    let seconds = time.since_epoch().as_secs();
    // 2000-01-01 to 2200-01-01.
    if !(946_684_800..7_258_118_400).contains(&seconds) {
        return None;
    }
    Some(date_of(SystemTime::from(time)))
}

/// A time as a reader wants it: `2026-03-04 10:05:59.053 UTC`.
fn date_of(time: SystemTime) -> String {
    let text = humantime::format_rfc3339_millis(time).to_string();
    format!("{} UTC", text.replace('T', " ").trim_end_matches('Z'))
}

/// An RFC 3339 time of the model as a date, as it is if it is not one.
fn date(rfc3339: &str) -> String {
    match humantime::parse_rfc3339(rfc3339) {
        Ok(time) => {
            let text = humantime::format_rfc3339_seconds(time).to_string();
            format!("{} UTC", text.replace('T', " ").trim_end_matches('Z'))
        }
        Err(_) => rfc3339.to_owned(),
    }
}

/// How long a run took: its wall time, and its scenarios' own times added
/// up when they ran at the same time (and so add up to more).
fn took(report: &Report, wall: Duration) -> String {
    let summed: Duration = report.scenarios().filter_map(|(_, s)| s.duration).sum();
    if summed > wall + wall / 20 {
        format!(
            "{} wall time; its scenarios' own times add up to {}, as several ran at once",
            human(wall),
            human(summed)
        )
    } else {
        format!("{} wall time", human(wall))
    }
}

/// A table of a feature file (a step's data, an example's values): its
/// first row is the header.
fn table(class: &str, rows: &[Vec<String>]) -> Markup {
    html! {
        table class=(class) {
            @for (index, row) in rows.iter().enumerate() {
                tr {
                    @for value in row {
                        @if index == 0 { th { (value) } } @else { td { (value) } }
                    }
                }
            }
        }
    }
}

fn percent(part: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

/// The id of a scenario's element: the same in every report of the suite.
pub fn scenario_id(feature: &FeatureReport, scenario: &ScenarioReport) -> String {
    format!("s-{}-{}", slug(&feature.file), scenario.line)
}

fn feature_id(feature: &FeatureReport) -> String {
    format!("f-{}", slug(&feature.file))
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_become_links_to_the_contract_the_page_carries() {
        let report = Report::default();
        let page = Page { report: &report };
        assert_eq!(
            page.clauses("docs/protocol.md#set-section: expected ok; see docs/protocol.md#")
                .into_string(),
            "<a class=\"clause\" href=\"#c-set-section\">docs/protocol.md#set-section</a>: \
             expected ok; see docs/protocol.md#"
        );
    }

    #[test]
    fn feature_text_is_escaped_wherever_it_lands() {
        let mut report = Report::default();
        let mut feature = FeatureReport {
            name: "<script>alert(1)</script>".to_owned(),
            file: "features/x\"y.feature".to_owned(),
            ..FeatureReport::default()
        };
        let mut scenario = ScenarioReport::new("a <b> & \"c\"", 3);
        scenario.tags.push("tag\"><i>".to_owned());
        feature.scenarios.push(scenario);
        report.features.push(feature);
        let page = render(&report);
        assert!(!page.contains("<script>alert"), "the name is text");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("a &lt;b&gt; &amp; &quot;c&quot;"));
        assert!(!page.contains("<i>"), "a tag cannot open an element");
        assert!(page.contains("data-tags=\"tag&quot;&gt;&lt;i&gt;\""));
    }

    #[test]
    fn a_runs_time_is_its_wall_time_and_says_what_its_scenarios_add_up_to() {
        let mut report = Report::default();
        let mut feature = FeatureReport::default();
        for seconds in [40, 50, 60] {
            let mut scenario = ScenarioReport::new("s", seconds);
            scenario.duration = Some(Duration::from_secs(seconds as u64));
            feature.scenarios.push(scenario);
        }
        report.features.push(feature);
        assert_eq!(
            took(&report, Duration::from_secs(75)),
            "75.0 s wall time; its scenarios' own times add up to 150.0 s, as several ran at once"
        );
        assert_eq!(took(&report, Duration::from_secs(150)), "150.0 s wall time");
    }

    #[test]
    fn times_in_transcripts_read_as_dates() {
        assert_eq!(
            dated("?start,17953395590538408").as_deref(),
            Some("2026-11-22 09:25:59.053 UTC")
        );
        assert_eq!(
            dated("!status,ok,1430922782.970883,ok,0").as_deref(),
            Some("2015-05-06 14:33:02.970 UTC")
        );
        assert_eq!(dated("?start"), None);
        assert_eq!(dated("?start,12"), None, "no plausible date");
        assert_eq!(dated("!time,fail,no clock"), None);
        assert_eq!(date("2026-01-02T03:04:05Z"), "2026-01-02 03:04:05 UTC");
    }

    #[test]
    fn a_failure_message_leaves_its_transcript_to_the_table() {
        let mut scenario = ScenarioReport::new("x", 1);
        let message =
            "expected ok\n\nTranscript (seconds since the scenario started):\n  0.001s ...";
        assert_eq!(without_transcript(message, &scenario), message);
        scenario.transcript.push(super::super::TranscriptLine {
            at: std::time::Duration::ZERO,
            client: "client".to_owned(),
            direction: Direction::Sent,
            text: "?status".to_owned(),
        });
        assert_eq!(without_transcript(message, &scenario), "expected ok");
    }
}
