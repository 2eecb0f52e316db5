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
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::coverage::{CODES, Coverage, not_a_gap};
use super::markdown::{self, clause_id};
use super::terminal::human;
use super::transcript::{self, Direction, Part, TranscriptLine};
use super::{
    FeatureReport, Headline, Report, ScenarioReport, Status, StepReport, Verdict, legend, verdict,
};
use crate::protocol::contract::{CONTRACT, CONTRACT_TEXT, Strength};
use crate::protocol::{Timestamp, parse_text};

const STYLE: &str = r#"
:root { --passed: #2e7d32; --failed: #c62828; --skipped: #b28704; --non-strict: #7b1fa2; --muted: #5f6368; }
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 0 auto; padding: 1.5rem 2rem 4rem; max-width: 80rem; color: #202124; line-height: 1.4; }
h1 { font-size: 1.6rem; margin: 0 0 .4rem; } h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .2rem; }
a { color: #1a5fb4; }
code, pre, .line { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
pre { background: #f6f8fa; padding: .6rem .8rem; overflow-x: auto; white-space: pre-wrap; margin: .3rem 0; }
[hidden] { display: none !important; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: .4rem 0; color: var(--muted); }
.meta dt { font-weight: 600; } .meta dd { margin: 0; }
.counts { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0 .4rem; }
.count { border: 1px solid #dadce0; border-radius: .4rem; padding: .5rem 1rem; min-width: 8rem; }
.count b { display: block; font-size: 1.8rem; }
.count.passed b { color: var(--passed); } .count.failed b { color: var(--failed); } .count.skipped b { color: var(--skipped); }
.count.non-strict b { color: var(--non-strict); } .count small { display: block; color: var(--muted); }
.bar { display: flex; height: .6rem; border-radius: .3rem; overflow: hidden; background: #eee; margin: .4rem 0; }
.bar .passed { background: var(--passed); } .bar .failed { background: var(--failed); } .bar .skipped { background: var(--skipped); }
.bar .non-strict { background: var(--non-strict); }
#verdict { border-radius: .4rem; padding: .7rem 1rem; margin: 1rem 0; font-size: 1.1rem; font-weight: 600; }
#verdict.can { background: #e6f4ea; color: var(--passed); } #verdict.cannot { background: #fce8e6; color: var(--failed); }
#verdict.unchecked { background: #f1f3f4; color: var(--muted); }
#verdict ul { font-size: .95rem; font-weight: normal; margin: .4rem 0 0; }
.grade { display: inline-block; font-size: .8rem; font-weight: 700; border-radius: .3rem; padding: 0 .4rem; margin-left: .4rem; }
.grade.MUST { background: #fce8e6; color: var(--failed); } .grade.SHOULD { background: #f3e8fd; color: var(--non-strict); }
#requirements td.held { color: var(--passed); } #requirements td.broken { color: var(--failed); font-weight: 600; }
#requirements td.non-strict { color: var(--non-strict); font-weight: 600; } #requirements td.unchecked { color: var(--muted); }
#contract { border-top: 1px solid #dadce0; margin-top: 3rem; }
#contract :target { background: #fff8c5; }
.legend dt { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
.legend dd { margin: 0 0 .3rem 1.5rem; color: var(--muted); }
.steps-count { color: var(--muted); margin: .2rem 0; }
#failures ol { padding-left: 1.4rem; } #failures li { margin: .4rem 0; }
#failures .why { color: var(--failed); white-space: pre-wrap; font-size: .9rem; }
#failures .non-strict .why { color: var(--non-strict); }
.location { color: var(--muted); font-size: .85rem; }
.filters { display: none; position: sticky; top: 0; background: #fff; border-bottom: 1px solid #dadce0; padding: .6rem 0; z-index: 1; }
.js .filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.filters button { border: 1px solid #dadce0; background: #fff; border-radius: 1rem; padding: .2rem .8rem; cursor: pointer; font: inherit; }
.filters button[aria-pressed="true"] { background: #1a5fb4; border-color: #1a5fb4; color: #fff; }
#shown { color: var(--muted); margin-left: auto; }
table { border-collapse: collapse; margin: .4rem 0; }
th, td { border: 1px solid #dadce0; padding: .25rem .6rem; text-align: left; vertical-align: top; }
thead th { background: #f1f3f4; }
td.num { text-align: right; }
.coverage td { min-width: 7rem; } .coverage td.gap { background: #fef7e0; color: #8d6e00; }
.coverage td.na { color: #bdc1c6; background: #fafafa; }
.coverage td.hit { background: #e6f4ea; } .coverage td details ul { margin: .2rem 0; padding-left: 1.1rem; font-size: .85rem; }
.coverage tr.other th { font-weight: normal; font-style: italic; }
section.feature { margin-top: 1.5rem; }
.description { white-space: pre-line; color: var(--muted); margin: .2rem 0 .6rem; }
details.scenario { border-left: 4px solid #ccc; margin: .5rem 0; padding: .3rem .8rem; background: #fafafa; }
details.scenario.passed { border-color: var(--passed); } details.scenario.failed { border-color: var(--failed); }
details.scenario.skipped { border-color: var(--skipped); } details.scenario.non-strict { border-color: var(--non-strict); }
details.scenario:target { outline: 2px solid #1a5fb4; }
details.scenario > summary { cursor: pointer; }
.status { display: inline-block; min-width: 4.8rem; font-weight: 700; font-size: .85rem; }
.passed > summary .status, .step.passed .mark { color: var(--passed); }
.failed > summary .status, .step.failed .mark { color: var(--failed); }
.skipped > summary .status, .step.skipped .mark { color: var(--skipped); }
.non-strict > summary .status { color: var(--non-strict); }
.name { font-weight: 600; }
.values { margin-left: .4rem; }
.value { display: inline-block; background: #e8f0fe; border-radius: .3rem; padding: 0 .4rem; margin: 0 .2rem; font-size: .85rem; }
.duration { color: var(--muted); font-size: .85rem; margin-left: .5rem; }
.tag { color: #6a1b9a; font-size: .8rem; margin-left: .4rem; }
ol.steps { list-style: none; padding-left: .2rem; margin: .4rem 0; }
.step { margin: .15rem 0; } .step .mark { display: inline-block; width: 1.2rem; font-weight: 700; }
.step.background { color: var(--muted); }
.keyword { font-weight: 700; }
.step table, .step pre { margin-left: 1.6rem; }
.message { border-left: 3px solid var(--failed); }
.skip-reason { color: var(--skipped); }
details.transcript, details.page { margin: .4rem 0; }
.transcript table td { border: none; padding: 0 .6rem 0 0; white-space: pre-wrap; }
.transcript .sent .dir { color: #1a5fb4; } .transcript .received .dir { color: var(--passed); }
.transcript .event { color: var(--muted); font-style: italic; }
.transcript .date { color: var(--muted); font-size: .8rem; }
.transcript details.folded > summary { color: var(--muted); cursor: pointer; font-style: italic; }
.undefined-step { margin: .6rem 0; } .undefined-step ul { margin: .2rem 0; font-size: .9rem; }
figure { margin: .6rem 0; } figure img { max-width: 100%; border: 1px solid #dadce0; }
figcaption { color: var(--muted); font-size: .85rem; }
iframe { width: 100%; height: 24rem; border: 1px solid #dadce0; background: #fff; }
"#;

const SCRIPT: &str = r#"
(function () {
  document.documentElement.classList.add("js");
  const scenarios = Array.from(document.querySelectorAll("details.scenario"));
  const features = Array.from(document.querySelectorAll("section.feature"));
  const buttons = Array.from(document.querySelectorAll(".filters button[data-status]"));
  const tagFilter = document.getElementById("tag-filter");
  const shown = document.getElementById("shown");
  let status = "all";
  function apply() {
    const tag = tagFilter.value;
    let count = 0;
    for (const scenario of scenarios) {
      const visible = (status === "all" || scenario.dataset.status === status) &&
        (tag === "" || scenario.dataset.tags.split(" ").includes(tag));
      scenario.hidden = !visible;
      if (visible) count += 1;
    }
    for (const feature of features) {
      feature.hidden = !feature.querySelector("details.scenario:not([hidden])");
    }
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.status === status));
    }
    shown.textContent = count + " of " + scenarios.length + " scenario(s) shown";
  }
  function reveal(id) {
    const scenario = id && document.getElementById(id);
    if (!scenario || !scenario.classList.contains("scenario")) return;
    if (scenario.hidden) { status = "all"; tagFilter.value = ""; apply(); }
    scenario.open = true;
  }
  for (const button of buttons) {
    button.addEventListener("click", () => { status = button.dataset.status; apply(); });
  }
  tagFilter.addEventListener("change", apply);
  for (const button of document.querySelectorAll("button[data-tag]")) {
    button.addEventListener("click", () => {
      tagFilter.value = button.dataset.tag; status = "all"; apply();
      document.getElementById("scenarios").scrollIntoView();
    });
  }
  // Before the browser follows the link: a scenario the filters hide
  // cannot be scrolled to.
  for (const link of document.querySelectorAll("a[href^='#s-']")) {
    link.addEventListener("click", () => reveal(link.hash.slice(1)));
  }
  window.addEventListener("hashchange", () => reveal(location.hash.slice(1)));
  apply();
  if (location.hash) {
    reveal(location.hash.slice(1));
    const target = document.getElementById(location.hash.slice(1));
    if (target) target.scrollIntoView();
  }
})();
"#;

/// The page for `report`.
pub fn render(report: &Report) -> String {
    Page { report }.render()
}

struct Page<'a> {
    report: &'a Report,
}

impl Page<'_> {
    fn render(&self) -> String {
        let mut html = String::with_capacity(64 * 1024);
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>DISCOS backend acceptance report — {}</title><style>{STYLE}</style></head><body>\n",
            escape(&self.report.target)
        );
        self.header(&mut html);
        self.verdict(&mut html);
        self.summary(&mut html);
        self.failures(&mut html);
        self.requirements(&mut html);
        self.coverage(&mut html);
        self.tags(&mut html);
        self.features_table(&mut html);
        self.scenarios(&mut html);
        self.undefined(&mut html);
        self.legend(&mut html);
        self.contract(&mut html);
        let _ = writeln!(html, "<script>{SCRIPT}</script>\n</body></html>");
        html
    }

    fn header(&self, html: &mut String) {
        let report = self.report;
        html.push_str("<header><h1>DISCOS backend acceptance report</h1><dl class=\"meta\">");
        let _ = write!(
            html,
            "<dt>Target</dt><dd><code id=\"target\">{}</code>: {}</dd>",
            escape(&report.target),
            escape(&legend::target(&report.target))
        );
        if let Some(started) = &report.started {
            let _ = write!(
                html,
                "<dt>Date</dt><dd id=\"date\">{}</dd>",
                escape(&date(started))
            );
        }
        if let Some(duration) = report.duration {
            let _ = write!(
                html,
                "<dt>Took</dt><dd id=\"took\">{}</dd>",
                escape(&took(report, duration))
            );
        }
        if report.suite.files > 0 {
            let _ = write!(
                html,
                "<dt>Features</dt><dd>{} file(s) in <code>{}</code> (fingerprint <code>{}</code>)</dd>",
                report.suite.files,
                escape(&report.suite.root.display().to_string()),
                escape(report.suite.fingerprint.get(..12).unwrap_or_default()),
            );
        }
        let _ = write!(
            html,
            "<dt>Contract</dt><dd><a href=\"#contract\">{CONTRACT}</a>, carried at the end of this page: \
             every clause a failure names opens there</dd>"
        );
        if report.strict {
            html.push_str("<dt>Strict</dt><dd>yes: a failed SHOULD fails the run too</dd>");
        }
        html.push_str("</dl>");
        if !report.runs.is_empty() {
            let _ = write!(
                html,
                "<p>Merged from {} run(s):</p><table class=\"runs\"><thead><tr><th>Report</th>\
                 <th>Started (UTC)</th><th>Took</th><th>Scenarios</th></tr></thead><tbody>",
                report.runs.len()
            );
            for run in &report.runs {
                let _ = write!(
                    html,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                    escape(&run.file),
                    escape(&run.started.as_deref().map(date).unwrap_or_default()),
                    run.duration.map(human).unwrap_or_default(),
                    run.scenarios
                );
            }
            html.push_str("</tbody></table>");
        }
        html.push_str("</header>\n");
    }

    fn verdict(&self, html: &mut String) {
        let report = self.report;
        let headline = report.headline();
        let class = match &headline {
            Headline::CanDrive { .. } => "can",
            Headline::CannotDrive { .. } => "cannot",
            Headline::NothingChecked => "unchecked",
        };
        let _ = write!(
            html,
            "<section id=\"verdict\" class=\"{class}\"><span id=\"headline\">{}</span>",
            self.clauses(&escape(&headline.sentence()))
        );
        if let Headline::CannotDrive { broken } = &headline {
            html.push_str("<ul>");
            for (id, scenarios) in broken {
                let statement = report
                    .requirements()
                    .iter()
                    .find(|r| &r.id == id)
                    .map(|r| format!(": a backend {}", markdown::inline(&r.statement)))
                    .unwrap_or_default();
                let _ = write!(
                    html,
                    "<li><a href=\"#r-{0}\">MUST {0}</a>{statement} — failed in ",
                    escape(id)
                );
                let links: Vec<String> = scenarios
                    .iter()
                    .filter_map(|at| self.scenario_at(&format!("{}:{}", at.file, at.line)))
                    .map(|(feature, scenario)| {
                        format!(
                            "<a href=\"#{}\">{}</a>",
                            scenario_id(feature, scenario),
                            escape(&scenario.title())
                        )
                    })
                    .collect();
                html.push_str(&links.join(", "));
                html.push_str("</li>");
            }
            html.push_str("</ul>");
        }
        let tally = report.tally();
        if tally.non_strict > 0 {
            let _ = write!(
                html,
                "<p>{} scenario(s) failed a SHOULD: non-strict, {}.</p>",
                tally.non_strict,
                if report.strict {
                    "and this run is strict, so they fail it"
                } else {
                    "they fail the run only when it is --strict"
                }
            );
        }
        if tally.failed_other > 0 {
            let _ = write!(
                html,
                "<p>{} scenario(s) failed naming no requirement (about the simulator, untagged, or an \
                 undefined step): they fail the run.</p>",
                tally.failed_other
            );
        }
        html.push_str("</section>\n");
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

    fn summary(&self, html: &mut String) {
        let report = self.report;
        let tally = report.tally();
        let total = tally.total();
        html.push_str("<section id=\"summary\"><div class=\"counts\">");
        let _ = write!(
            html,
            "<div class=\"count total\"><b id=\"count-total\">{total}</b>scenario(s)</div>"
        );
        let cards = [
            ("passed", tally.passed, String::new()),
            (
                "failed",
                tally.failed(),
                format!(
                    "{} MUST, {} naming no requirement",
                    tally.failed_must, tally.failed_other
                ),
            ),
            ("non-strict", tally.non_strict, "a SHOULD failed".to_owned()),
            ("skipped", tally.skipped, String::new()),
        ];
        for (class, count, detail) in &cards {
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!("<small>{}</small>", escape(detail))
            };
            let _ = write!(
                html,
                "<div class=\"count {class}\"><b id=\"count-{class}\">{count}</b>{class}{detail}</div>"
            );
        }
        html.push_str("</div><div class=\"bar\" aria-hidden=\"true\">");
        for (class, count, _) in &cards {
            let share = percent(*count, total);
            let _ = write!(
                html,
                "<div class=\"{class}\" style=\"width: {share:.2}%\"></div>"
            );
        }
        let steps = report.scenarios().flat_map(|(_, s)| &s.steps).count();
        let _ = writeln!(
            html,
            "</div><p class=\"steps-count\">{steps} step(s): {} passed, {} failed, {} skipped</p></section>",
            report.count_steps(Status::Passed),
            report.count_steps(Status::Failed),
            report.count_steps(Status::Skipped),
        );
    }

    fn failures(&self, html: &mut String) {
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
        let _ = write!(html, "<section id=\"failures\"><h2>Failures ({count})</h2>");
        if count == 0 {
            html.push_str("<p>None: every scenario that ran passed");
            if !non_strict.is_empty() {
                html.push_str(", but for the non-strict ones below");
            }
            html.push_str(".</p>");
        } else {
            html.push_str("<ol>");
            for error in &report.parse_errors {
                let _ = write!(
                    html,
                    "<li>A feature file could not be read<div class=\"why\">{}</div></li>",
                    escape(error)
                );
            }
            for (feature, scenario) in failed {
                self.failure(html, feature, scenario);
            }
            html.push_str("</ol>");
        }
        if !non_strict.is_empty() {
            let _ = write!(
                html,
                "<h3 id=\"non-strict\">Non-strict ({}): a SHOULD failed</h3><p>The backend departs from the \
                 protocol text or the reference here, in ways DISCOS does not rely on; {}.</p><ol class=\"non-strict\">",
                non_strict.len(),
                if report.strict {
                    "this run is strict, so they fail it"
                } else {
                    "they fail the run only when it is --strict"
                }
            );
            for (feature, scenario) in non_strict {
                self.failure(html, feature, scenario);
            }
            html.push_str("</ol>");
        }
        html.push_str("</section>\n");
    }

    /// One entry of the index of failures: the scenario, where it is, the
    /// requirement it broke and its whole reason (up to
    /// [`super::REASON_LIMIT`]).
    fn failure(&self, html: &mut String, feature: &FeatureReport, scenario: &ScenarioReport) {
        let why = scenario.summarised_reason().unwrap_or_default();
        let _ = write!(
            html,
            "<li><a class=\"failure\" href=\"#{}\">{} › {}</a>{} <span class=\"location\">{}:{}</span>\
             <div class=\"why\">{}</div></li>",
            scenario_id(feature, scenario),
            escape(&feature.name),
            escape(&scenario.title()),
            grade(scenario),
            escape(&feature.file),
            scenario.line,
            self.clauses(&escape(&why)),
        );
    }

    fn requirements(&self, html: &mut String) {
        let report = self.report;
        let requirements = report.requirements();
        if requirements.is_empty() {
            return;
        }
        let fared = report.fared();
        html.push_str(
            "<section id=\"requirements\"><h2>Requirements</h2><p>Each requirement of the contract, \
             and the scenarios that checked it: a scenario names the one it checks with its tag \
             (<code>@must:ID</code>, <code>@should:ID</code>), and a step that knows better names \
             its own. A failed MUST means DISCOS cannot drive the backend; a failed SHOULD is \
             non-strict.</p><table><thead><tr><th>Requirement</th><th>Strength</th><th>A backend …</th>\
             <th>This run</th><th>Clause</th></tr></thead><tbody>",
        );
        for requirement in requirements {
            let how = fared.get(requirement.id.as_str());
            let (class, result) = match how {
                Some(how) if !how.failed.is_empty() => {
                    let class = match requirement.strength {
                        Strength::Must => "broken",
                        Strength::Should => "non-strict",
                    };
                    let links: Vec<String> = how
                        .failed
                        .iter()
                        .map(|(f, s)| {
                            format!(
                                "<a href=\"#{}\">{}</a>",
                                scenario_id(f, s),
                                escape(&format!("{}:{}", f.file, s.line))
                            )
                        })
                        .collect();
                    let word = if class == "broken" {
                        "FAILED"
                    } else {
                        "NON-STRICT"
                    };
                    (
                        class,
                        format!(
                            "{word} in {} of {} scenario(s): {}",
                            how.failed.len(),
                            how.failed.len() + how.passed.len(),
                            links.join(", ")
                        ),
                    )
                }
                Some(how) if !how.passed.is_empty() => {
                    ("held", format!("held in {} scenario(s)", how.passed.len()))
                }
                Some(how) if !how.skipped.is_empty() => (
                    "unchecked",
                    format!(
                        "not checked: its {} scenario(s) were skipped",
                        how.skipped.len()
                    ),
                ),
                _ => ("unchecked", "not checked by this run".to_owned()),
            };
            let _ = write!(
                html,
                "<tr id=\"r-{id}\" data-requirement=\"{id}\"><th><code>{id}</code></th><td>{}</td><td>{}</td>\
                 <td class=\"{class}\">{result}</td><td><a class=\"clause\" href=\"#{}\">{CONTRACT}#{}</a></td></tr>",
                requirement.strength,
                markdown::inline(&requirement.statement),
                clause_id(&requirement.clause),
                escape(&requirement.clause),
                id = escape(&requirement.id),
            );
        }
        html.push_str("</tbody></table></section>\n");
    }

    fn coverage(&self, html: &mut String) {
        let coverage = Coverage::of(self.report);
        let gaps = coverage.gaps();
        let cells = coverage.cells();
        let _ = write!(
            html,
            "<section id=\"coverage\"><h2>Protocol coverage</h2>\
             <p>Which commands of the contract the scenarios that ran sent, and which replies they \
             got back (from their transcripts): {} of {cells} command × reply pairs exercised. \
             <span id=\"gaps\">{} gap(s)</span>, shaded: no scenario got that reply to that command \
             (a command never accepted, never refused). Cells in grey cannot be gaps: the contract \
             rules that reply out, or gives it to a malformed line of any name.</p>",
            cells - gaps.len(),
            gaps.len()
        );
        html.push_str(
            "<table class=\"coverage\"><thead><tr><th>Command</th><th>ok</th><th>fail</th>\
             <th>invalid</th></tr></thead><tbody>",
        );
        for row in &coverage.rows {
            let (class, label) = match row.command {
                Some(command) => ("", command.to_owned()),
                None => (
                    " class=\"other\"",
                    "any name the contract does not know".to_owned(),
                ),
            };
            let _ = write!(
                html,
                "<tr{class} data-command=\"{}\"><th><a href=\"#{}\">{}</a></th>",
                escape(row.command.unwrap_or("")),
                clause_id(row.clause),
                escape(&label)
            );
            for code in CODES {
                let at = row.with(code);
                if at.is_empty() {
                    match not_a_gap(row.command, code) {
                        Some(why) => {
                            let _ = write!(
                                html,
                                "<td class=\"na\" data-code=\"{code}\" title=\"{}\">—</td>",
                                escape(why)
                            );
                        }
                        None => {
                            let what = match code {
                                crate::protocol::Code::Ok => "never accepted",
                                crate::protocol::Code::Fail => "never refused",
                                crate::protocol::Code::Invalid => "never rejected as malformed",
                            };
                            let _ = write!(
                                html,
                                "<td class=\"gap\" data-code=\"{code}\">0 <small>({what})</small></td>"
                            );
                        }
                    }
                    continue;
                }
                let _ = write!(
                    html,
                    "<td class=\"hit\" data-code=\"{code}\"><details><summary>{} scenario(s)</summary><ul>",
                    at.len()
                );
                for (f, s) in at {
                    let feature = &self.report.features[*f];
                    let scenario = &feature.scenarios[*s];
                    let _ = write!(
                        html,
                        "<li class=\"{}\"><a href=\"#{}\">{}</a></li>",
                        scenario.verdict().as_str(),
                        scenario_id(feature, scenario),
                        escape(&scenario.title())
                    );
                }
                html.push_str("</ul></details></td>");
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table></section>\n");
    }

    fn tags(&self, html: &mut String) {
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
            return;
        }
        html.push_str(
            "<section id=\"by-tag\"><h2>By tag</h2><table><thead><tr><th>Tag</th><th>Means</th><th>Scenarios</th>\
             <th>Passed</th><th>Failed</th><th>Non-strict</th><th>Skipped</th></tr></thead><tbody>",
        );
        for (tag, [passed, failed, non_strict, skipped]) in &tags {
            let _ = write!(
                html,
                "<tr><th><button type=\"button\" class=\"tag-filter\" data-tag=\"{0}\" title=\"show only these\">@{0}</button></th>\
                 <td class=\"means\">{1}</td><td class=\"num\">{2}</td><td class=\"num\">{passed}</td><td class=\"num\">{failed}</td>\
                 <td class=\"num\">{non_strict}</td><td class=\"num\">{skipped}</td></tr>",
                escape(tag),
                escape(
                    &legend::tag(tag).unwrap_or_else(|| "a tag of the features' own".to_owned())
                ),
                passed + failed + non_strict + skipped
            );
        }
        html.push_str("</tbody></table></section>\n");
    }

    fn features_table(&self, html: &mut String) {
        html.push_str(
            "<section id=\"by-feature\"><h2>By feature</h2><p>A feature's time is its scenarios' own \
             times added up; scenarios run at the same time, so these add up to more than the run's \
             wall time.</p><table><thead><tr><th>Feature</th><th>File</th>\
             <th>Scenarios</th><th>Passed</th><th>Failed</th><th>Skipped</th><th>Scenario time (summed)</th></tr></thead><tbody>",
        );
        for feature in &self.report.features {
            let count = |status| {
                feature
                    .scenarios
                    .iter()
                    .filter(|s| s.status() == status)
                    .count()
            };
            let took = feature.scenarios.iter().filter_map(|s| s.duration).sum();
            let _ = write!(
                html,
                "<tr><td><a href=\"#{}\">{}</a></td><td><code>{}</code></td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                feature_id(feature),
                escape(&feature.name),
                escape(&feature.file),
                feature.scenarios.len(),
                count(Status::Passed),
                count(Status::Failed),
                count(Status::Skipped),
                human(took)
            );
        }
        html.push_str("</tbody></table></section>\n");
    }

    fn scenarios(&self, html: &mut String) {
        let report = self.report;
        let total = report.scenarios().count();
        html.push_str("<section id=\"scenarios\"><h2>Scenarios</h2>\n<div class=\"filters\">Show:");
        let _ = write!(
            html,
            "<button type=\"button\" data-status=\"all\" aria-pressed=\"true\">all ({total})</button>"
        );
        let tally = report.tally();
        for (status, count) in [
            ("passed", tally.passed),
            ("failed", tally.failed()),
            ("non-strict", tally.non_strict),
            ("skipped", tally.skipped),
        ] {
            let _ = write!(
                html,
                "<button type=\"button\" data-status=\"{status}\" aria-pressed=\"false\">{status} ({count})</button>"
            );
        }
        let mut tags: Vec<&str> = report
            .scenarios()
            .flat_map(|(_, s)| s.tags.iter().map(String::as_str))
            .collect();
        tags.sort_unstable();
        tags.dedup();
        html.push_str("<label>tag <select id=\"tag-filter\"><option value=\"\">any</option>");
        for tag in tags {
            let _ = write!(html, "<option value=\"{0}\">@{0}</option>", escape(tag));
        }
        html.push_str("</select></label><span id=\"shown\"></span></div>\n");
        for feature in &report.features {
            let _ = write!(
                html,
                "<section class=\"feature\" id=\"{}\"><h3>Feature: {}</h3><p class=\"location\">{}</p>",
                feature_id(feature),
                escape(&feature.name),
                escape(&feature.file)
            );
            if let Some(description) = &feature.description {
                let _ = write!(
                    html,
                    "<p class=\"description\">{}</p>",
                    escape(description.trim())
                );
            }
            html.push('\n');
            for scenario in &feature.scenarios {
                self.scenario(html, feature, scenario);
            }
            html.push_str("</section>\n");
        }
        html.push_str("</section>\n");
    }

    fn scenario(&self, html: &mut String, feature: &FeatureReport, scenario: &ScenarioReport) {
        let status = scenario.status();
        let verdict = scenario.verdict();
        let label = match verdict {
            Verdict::Passed => "passed",
            Verdict::FailedMust | Verdict::Failed => "FAILED",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Skipped => "skipped",
        };
        let open = if status == Status::Failed {
            " open"
        } else {
            ""
        };
        let _ = write!(
            html,
            "<details class=\"scenario {0}\" id=\"{1}\" data-status=\"{0}\" data-tags=\"{2}\"{open}>\
             <summary><span class=\"status\">{label}</span><span class=\"name\">{3}</span>{4}",
            verdict.as_str(),
            scenario_id(feature, scenario),
            escape(&scenario.tags.join(" ")),
            escape(&scenario.name),
            grade(scenario),
        );
        if let Some(example) = &scenario.example {
            html.push_str("<span class=\"values\">");
            for (header, value) in example.pairs() {
                let _ = write!(
                    html,
                    "<span class=\"value\" title=\"{}\">{}</span>",
                    escape(header),
                    escape(value)
                );
            }
            html.push_str("</span>");
        }
        if let Some(duration) = scenario.duration {
            let _ = write!(html, "<span class=\"duration\">{}</span>", human(duration));
        }
        for tag in &scenario.tags {
            let _ = write!(html, "<span class=\"tag\">@{}</span>", escape(tag));
        }
        let _ = write!(
            html,
            "</summary><p class=\"location\">{}:{}</p>",
            escape(&feature.file),
            scenario.line
        );
        if let Some(example) = &scenario.example {
            let name = example
                .name
                .as_deref()
                .map(|name| format!(" “{}”", escape(name)))
                .unwrap_or_default();
            let _ = write!(html, "<p>Example{name}:</p>");
            table(
                html,
                "example",
                &[example.header.clone(), example.values.clone()],
            );
        }
        if let Some(reason) = &scenario.skip_reason {
            let _ = write!(
                html,
                "<p class=\"skip-reason\">Not run: {}</p>",
                escape(reason)
            );
        }
        html.push_str("<ol class=\"steps\">");
        for step in &scenario.steps {
            self.step(html, scenario, step);
        }
        html.push_str("</ol>");
        if let Some(failure) = &scenario.hook_failure {
            let _ = write!(
                html,
                "<p>The verified teardown failed:</p><pre class=\"message\">{}</pre>",
                self.clauses(&escape(failure))
            );
        }
        self.transcript(html, scenario);
        for attachment in &scenario.attachments {
            if attachment.media_type.starts_with("image/") {
                let _ = write!(
                    html,
                    "<figure><img src=\"data:{};base64,{}\" alt=\"what the browser showed: {}\">\
                     <figcaption>{}</figcaption></figure>",
                    escape(&attachment.media_type),
                    attachment.base64,
                    escape(&attachment.name),
                    escape(&attachment.name)
                );
            } else if let Some(bytes) = attachment.bytes() {
                let _ = write!(
                    html,
                    "<details class=\"page\"><summary>{} — the page as the browser had it</summary>\
                     <iframe sandbox=\"\" title=\"{}\" srcdoc=\"{}\"></iframe></details>",
                    escape(&attachment.name),
                    escape(&attachment.name),
                    escape(&String::from_utf8_lossy(&bytes))
                );
            }
        }
        html.push_str("</details>\n");
    }

    fn step(&self, html: &mut String, scenario: &ScenarioReport, step: &StepReport) {
        let mark = match step.status {
            Status::Passed => "✔",
            Status::Failed => "✘",
            Status::Skipped => "–",
        };
        let background = if step.background { " background" } else { "" };
        let _ = write!(
            html,
            "<li class=\"step {}{background}\"><span class=\"mark\">{mark}</span>\
             <span class=\"keyword\">{}</span> {}",
            step.status.as_str(),
            escape(step.keyword.trim_end()),
            escape(&step.text)
        );
        if let Some(duration) = step.duration {
            let _ = write!(html, "<span class=\"duration\">{}</span>", human(duration));
        }
        if let Some(rows) = &step.table {
            table(html, "data", rows);
        }
        if let Some(docstring) = &step.docstring {
            let _ = write!(html, "<pre class=\"docstring\">{}</pre>", escape(docstring));
        }
        if let Some(message) = &step.message {
            if step.status == Status::Failed {
                let message = without_transcript(message, scenario);
                let _ = write!(
                    html,
                    "<pre class=\"message\">{}</pre>",
                    self.clauses(&escape(message))
                );
            } else if scenario.skip_reason.is_none() {
                let _ = write!(html, "<p class=\"skip-reason\">{}</p>", escape(message));
            }
        }
        html.push_str("</li>");
    }

    fn transcript(&self, html: &mut String, scenario: &ScenarioReport) {
        if scenario.transcript.is_empty() {
            if scenario.duration.is_some() && !scenario.tags.iter().any(|t| t == "browser") {
                html.push_str(
                    "<p class=\"location\">Transcript: nothing was sent or received.</p>",
                );
            }
            return;
        }
        let open = if scenario.status() == Status::Failed {
            " open"
        } else {
            ""
        };
        let _ = write!(
            html,
            "<details class=\"transcript\"{open}><summary>Transcript ({} line(s); seconds since \
             the scenario started)</summary><table>",
            scenario.transcript.len()
        );
        for part in transcript::fold(&scenario.transcript, scenario.teardown_from) {
            match part {
                Part::Line(line) => transcript_line(html, line),
                Part::Folded(folded) => {
                    let _ = write!(
                        html,
                        "<tr class=\"fold\"><td colspan=\"4\"><details class=\"folded\"><summary>{}</summary><table>",
                        escape(&folded.summary())
                    );
                    for line in folded.lines {
                        transcript_line(html, line);
                    }
                    html.push_str("</table></details></td></tr>");
                }
            }
        }
        html.push_str("</table></details>");
    }

    fn undefined(&self, html: &mut String) {
        let report = self.report;
        if report.undefined.is_empty() {
            return;
        }
        html.push_str(
            "<section id=\"undefined\"><h2>Undefined steps</h2><p>No step definition matches these \
             steps: each is shown where the features say it, with the defined steps closest to it \
             (what may have been meant), then a definition to start from.</p>",
        );
        for step in &report.undefined {
            let sentence = if step.step.is_empty() {
                &step.expression
            } else {
                &step.step
            };
            let _ = write!(
                html,
                "<div class=\"undefined-step\"><p><b>{}</b>",
                escape(sentence)
            );
            for place in &step.places {
                let link = self
                    .scenario_saying(place)
                    .map(|(f, s)| format!("#{}", scenario_id(f, s)));
                match link {
                    Some(href) => {
                        let _ = write!(
                            html,
                            " <a class=\"location\" href=\"{href}\">{}</a>",
                            escape(place)
                        );
                    }
                    None => {
                        let _ = write!(html, " <span class=\"location\">{}</span>", escape(place));
                    }
                }
            }
            html.push_str("</p>");
            if !step.neighbours.is_empty() {
                html.push_str("Did you mean:<ul>");
                for neighbour in &step.neighbours {
                    let _ = write!(html, "<li><code>{}</code></li>", escape(neighbour));
                }
                html.push_str("</ul>");
            }
            let _ = write!(
                html,
                "<details><summary>A step definition to start from</summary><pre>{}</pre></details></div>",
                escape(&step.snippet)
            );
        }
        html.push_str("</section>\n");
    }

    fn legend(&self, html: &mut String) {
        let mut tags: Vec<&str> = self
            .report
            .scenarios()
            .flat_map(|(_, s)| s.tags.iter().map(String::as_str))
            .collect();
        tags.sort_unstable();
        tags.dedup();
        html.push_str("<section id=\"legend\"><h2>Tags and target</h2><dl class=\"legend\">");
        let _ = write!(
            html,
            "<dt>Target {}</dt><dd>{}</dd>",
            escape(&self.report.target),
            escape(&legend::target(&self.report.target))
        );
        for tag in tags {
            let meaning =
                legend::tag(tag).unwrap_or_else(|| "a tag of the features' own".to_owned());
            let _ = write!(
                html,
                "<dt>@{}</dt><dd>{}</dd>",
                escape(tag),
                escape(&meaning)
            );
        }
        html.push_str("</dl></section>\n");
    }

    fn contract(&self, html: &mut String) {
        let _ = writeln!(
            html,
            "<section id=\"contract\"><h2>The contract</h2><p class=\"location\">{CONTRACT}, as the \
             discos-sim that wrote this report carries it.</p>{}</section>",
            markdown::render(CONTRACT_TEXT)
        );
    }

    /// `text` (already escaped) with every clause of the contract it names
    /// (`docs/protocol.md#set-section`) made a link to that clause in the
    /// contract the page carries.
    fn clauses(&self, text: &str) -> String {
        let mut linked = String::with_capacity(text.len());
        let needle = format!("{CONTRACT}#");
        let mut rest = text;
        while let Some(at) = rest.find(&needle) {
            let after = &rest[at + needle.len()..];
            let anchor_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(after.len());
            let anchor = &after[..anchor_len];
            linked.push_str(&rest[..at]);
            if anchor.is_empty() {
                linked.push_str(&needle);
            } else {
                let _ = write!(
                    linked,
                    "<a class=\"clause\" href=\"#{}\">{needle}{anchor}</a>",
                    clause_id(anchor)
                );
            }
            rest = &after[anchor_len..];
        }
        linked.push_str(rest);
        linked
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
fn grade(scenario: &ScenarioReport) -> String {
    match (&scenario.graded, scenario.status()) {
        (Some(graded), Status::Failed) => format!(
            "<span class=\"grade {}\">{}</span>",
            graded.strength,
            escape(&verdict::label(graded))
        ),
        _ => String::new(),
    }
}

/// One line of a transcript, with the date of a time it carries.
fn transcript_line(html: &mut String, line: &TranscriptLine) {
    let (class, arrow) = match line.direction {
        Direction::Sent => ("sent", "→"),
        Direction::Received => ("received", "←"),
        Direction::Event => ("event", "–"),
    };
    let date = dated(&line.text)
        .map(|date| format!(" <span class=\"date\">({date})</span>"))
        .unwrap_or_default();
    let _ = write!(
        html,
        "<tr class=\"{class}\"><td class=\"num\">{:.3}</td><td>{}</td><td class=\"dir\">{arrow}</td>\
         <td class=\"line\">{}{date}</td></tr>",
        line.at.as_secs_f64(),
        escape(&line.client),
        escape(&line.text)
    );
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

fn table(html: &mut String, class: &str, rows: &[Vec<String>]) {
    let _ = write!(html, "<table class=\"{class}\">");
    for (index, row) in rows.iter().enumerate() {
        let cell = if index == 0 { "th" } else { "td" };
        html.push_str("<tr>");
        for value in row {
            let _ = write!(html, "<{cell}>{}</{cell}>", escape(value));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
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

/// Escapes text for HTML, in text and in attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_become_links_to_the_contract_the_page_carries() {
        let report = Report::default();
        let page = Page { report: &report };
        assert_eq!(
            page.clauses("docs/protocol.md#set-section: expected ok; see docs/protocol.md#"),
            "<a class=\"clause\" href=\"#c-set-section\">docs/protocol.md#set-section</a>: \
             expected ok; see docs/protocol.md#"
        );
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
