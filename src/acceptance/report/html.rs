//! The HTML report: one self-contained page a reviewer opens in a browser.
//!
//! It answers a reviewer's questions in the order they come: how did the
//! run go (counts, and every failure one click away), what does the suite
//! exercise of the protocol (a command × reply table, gaps highlighted),
//! and for each scenario what it did (steps with their tables and timings,
//! the example it ran with, the transcript, what the browser showed). It
//! carries everything in itself (styles, a little script for the filters,
//! screenshots as data URLs), so it can be mailed or kept as a CI artifact
//! and opened with no network; without the script, everything is shown.
//! Clauses of the contract named in failures link to `docs/protocol.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::coverage::{CODES, Coverage};
use super::terminal::human;
use super::transcript::Direction;
use super::{FeatureReport, Report, ScenarioReport, Status, StepReport};
use crate::acceptance::contract::CONTRACT;

const STYLE: &str = r#"
:root { --passed: #2e7d32; --failed: #c62828; --skipped: #b28704; --muted: #5f6368; }
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
.bar { display: flex; height: .6rem; border-radius: .3rem; overflow: hidden; background: #eee; margin: .4rem 0; }
.bar .passed { background: var(--passed); } .bar .failed { background: var(--failed); } .bar .skipped { background: var(--skipped); }
.steps-count { color: var(--muted); margin: .2rem 0; }
#failures ol { padding-left: 1.4rem; } #failures li { margin: .4rem 0; }
#failures .why { color: var(--failed); white-space: pre-wrap; font-size: .9rem; }
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
.coverage td { min-width: 7rem; } .coverage td.gap { background: #fce8e6; color: var(--failed); font-weight: 600; }
.coverage td.hit { background: #e6f4ea; } .coverage td details ul { margin: .2rem 0; padding-left: 1.1rem; font-size: .85rem; }
.coverage tr.other th { font-weight: normal; font-style: italic; }
section.feature { margin-top: 1.5rem; }
.description { white-space: pre-line; color: var(--muted); margin: .2rem 0 .6rem; }
details.scenario { border-left: 4px solid #ccc; margin: .5rem 0; padding: .3rem .8rem; background: #fafafa; }
details.scenario.passed { border-color: var(--passed); } details.scenario.failed { border-color: var(--failed); }
details.scenario.skipped { border-color: var(--skipped); }
details.scenario:target { outline: 2px solid #1a5fb4; }
details.scenario > summary { cursor: pointer; }
.status { display: inline-block; min-width: 4.8rem; font-weight: 700; font-size: .85rem; }
.passed > summary .status, .step.passed .mark { color: var(--passed); }
.failed > summary .status, .step.failed .mark { color: var(--failed); }
.skipped > summary .status, .step.skipped .mark { color: var(--skipped); }
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

/// What a failure message ends with when it carries the transcript, which
/// the page shows beside it as a table.
const TRANSCRIPT_MARKERS: [&str; 2] = [
    "\n\nTranscript (seconds since the scenario started):",
    "\n\nTranscript: nothing was sent or received.",
];

/// The page for `report`, to be written in the folder `base` (links to the
/// contract are relative to it).
pub fn render(report: &Report, base: Option<&Path>) -> String {
    let page = Page {
        report,
        contract: contract_href(report, base),
    };
    page.render()
}

struct Page<'a> {
    report: &'a Report,
    /// Where `docs/protocol.md` is, from the page.
    contract: String,
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
        self.summary(&mut html);
        self.failures(&mut html);
        self.coverage(&mut html);
        self.tags(&mut html);
        self.features_table(&mut html);
        self.scenarios(&mut html);
        self.undefined(&mut html);
        let _ = writeln!(html, "<script>{SCRIPT}</script>\n</body></html>");
        html
    }

    fn header(&self, html: &mut String) {
        let report = self.report;
        html.push_str("<header><h1>DISCOS backend acceptance report</h1><dl class=\"meta\">");
        let _ = write!(
            html,
            "<dt>Target</dt><dd><code id=\"target\">{}</code></dd>",
            escape(&report.target)
        );
        if let Some(started) = &report.started {
            let _ = write!(
                html,
                "<dt>Date</dt><dd id=\"date\">{} (UTC)</dd>",
                escape(&started.replace('T', " ").replace('Z', ""))
            );
        }
        if let Some(duration) = report.duration {
            let _ = write!(html, "<dt>Took</dt><dd>{}</dd>", human(duration));
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
            "<dt>Contract</dt><dd><a href=\"{}\">{CONTRACT}</a></dd>",
            escape(&self.contract)
        );
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
                    escape(run.started.as_deref().unwrap_or("")),
                    run.duration.map(human).unwrap_or_default(),
                    run.scenarios
                );
            }
            html.push_str("</tbody></table>");
        }
        html.push_str("</header>\n");
    }

    fn summary(&self, html: &mut String) {
        let report = self.report;
        let total = report.scenarios().count();
        html.push_str("<section id=\"summary\"><div class=\"counts\">");
        let _ = write!(
            html,
            "<div class=\"count total\"><b id=\"count-total\">{total}</b>scenario(s)</div>"
        );
        for status in [Status::Passed, Status::Failed, Status::Skipped] {
            let _ = write!(
                html,
                "<div class=\"count {0}\"><b id=\"count-{0}\">{1}</b>{0}</div>",
                status.as_str(),
                report.count(status)
            );
        }
        html.push_str("</div><div class=\"bar\" aria-hidden=\"true\">");
        for status in [Status::Passed, Status::Failed, Status::Skipped] {
            let share = percent(report.count(status), total);
            let _ = write!(
                html,
                "<div class=\"{}\" style=\"width: {share:.2}%\"></div>",
                status.as_str()
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
        let failed: Vec<_> = report
            .scenarios()
            .filter(|(_, s)| s.status() == Status::Failed)
            .collect();
        let count = failed.len() + report.parse_errors.len();
        let _ = write!(html, "<section id=\"failures\"><h2>Failures ({count})</h2>");
        if count == 0 {
            html.push_str("<p>None: every scenario that ran passed.</p></section>\n");
            return;
        }
        html.push_str("<ol>");
        for error in &report.parse_errors {
            let _ = write!(
                html,
                "<li>A feature file could not be read<div class=\"why\">{}</div></li>",
                escape(error)
            );
        }
        for (feature, scenario) in failed {
            let why = scenario.why().unwrap_or_default();
            let _ = write!(
                html,
                "<li><a class=\"failure\" href=\"#{}\">{} › {}</a> <span class=\"location\">{}:{}</span>\
                 <div class=\"why\">{}</div></li>",
                scenario_id(feature, scenario),
                escape(&feature.name),
                escape(&scenario.title()),
                escape(&feature.file),
                scenario.line,
                self.clauses(&escape(why.lines().next().unwrap_or_default())),
            );
        }
        html.push_str("</ol></section>\n");
    }

    fn coverage(&self, html: &mut String) {
        let coverage = Coverage::of(self.report);
        let gaps = coverage.gaps();
        let cells = (coverage.rows.len() - 1) * CODES.len();
        let _ = write!(
            html,
            "<section id=\"coverage\"><h2>Protocol coverage</h2>\
             <p>Which commands of protocol 1.4 the scenarios that ran sent, and which replies they \
             got back (from their transcripts): {} of {cells} command × reply pairs exercised. \
             <strong>{} gap(s)</strong>, highlighted: no scenario got that reply to that command \
             (some may be replies the contract never gives).</p>",
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
                "<tr{class} data-command=\"{}\"><th><a href=\"{}#{}\">{}</a></th>",
                escape(row.command.unwrap_or("")),
                escape(&self.contract),
                row.clause,
                escape(&label)
            );
            for code in CODES {
                let at = row.with(code);
                if at.is_empty() {
                    let class = if row.command.is_some() { "gap" } else { "" };
                    let _ = write!(html, "<td class=\"{class}\" data-code=\"{code}\">0</td>");
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
                        scenario.status().as_str(),
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
        let mut tags: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
        for (_, scenario) in self.report.scenarios() {
            let column = match scenario.status() {
                Status::Passed => 0,
                Status::Failed => 1,
                Status::Skipped => 2,
            };
            for tag in &scenario.tags {
                tags.entry(tag).or_default()[column] += 1;
            }
        }
        if tags.is_empty() {
            return;
        }
        html.push_str(
            "<section id=\"by-tag\"><h2>By tag</h2><table><thead><tr><th>Tag</th><th>Scenarios</th>\
             <th>Passed</th><th>Failed</th><th>Skipped</th></tr></thead><tbody>",
        );
        for (tag, [passed, failed, skipped]) in &tags {
            let _ = write!(
                html,
                "<tr><th><button type=\"button\" class=\"tag-filter\" data-tag=\"{0}\" title=\"show only these\">@{0}</button></th>\
                 <td class=\"num\">{1}</td><td class=\"num\">{passed}</td><td class=\"num\">{failed}</td>\
                 <td class=\"num\">{skipped}</td></tr>",
                escape(tag),
                passed + failed + skipped
            );
        }
        html.push_str("</tbody></table></section>\n");
    }

    fn features_table(&self, html: &mut String) {
        html.push_str(
            "<section id=\"by-feature\"><h2>By feature</h2><table><thead><tr><th>Feature</th><th>File</th>\
             <th>Scenarios</th><th>Passed</th><th>Failed</th><th>Skipped</th><th>Took</th></tr></thead><tbody>",
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
        for status in [Status::Passed, Status::Failed, Status::Skipped] {
            let _ = write!(
                html,
                "<button type=\"button\" data-status=\"{0}\" aria-pressed=\"false\">{0} ({1})</button>",
                status.as_str(),
                report.count(status)
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
        let label = match status {
            Status::Passed => "passed",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        };
        let open = if status == Status::Failed {
            " open"
        } else {
            ""
        };
        let _ = write!(
            html,
            "<details class=\"scenario {0}\" id=\"{1}\" data-status=\"{0}\" data-tags=\"{2}\"{open}>\
             <summary><span class=\"status\">{label}</span><span class=\"name\">{3}</span>",
            status.as_str(),
            scenario_id(feature, scenario),
            escape(&scenario.tags.join(" ")),
            escape(&scenario.name),
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
            if scenario.duration.is_some() {
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
        for line in &scenario.transcript {
            let (class, arrow) = match line.direction {
                Direction::Sent => ("sent", "→"),
                Direction::Received => ("received", "←"),
                Direction::Event => ("event", "–"),
            };
            let _ = write!(
                html,
                "<tr class=\"{class}\"><td class=\"num\">{:.3}</td><td>{}</td><td class=\"dir\">{arrow}</td>\
                 <td class=\"line\">{}</td></tr>",
                line.at.as_secs_f64(),
                escape(&line.client),
                escape(&line.text)
            );
        }
        html.push_str("</table></details>");
    }

    fn undefined(&self, html: &mut String) {
        if self.report.undefined.is_empty() {
            return;
        }
        html.push_str(
            "<section id=\"undefined\"><h2>Undefined steps</h2><p>No step definition matches these \
             steps; definitions to start from:</p>",
        );
        for step in &self.report.undefined {
            let _ = write!(html, "<pre>{}</pre>", escape(&step.snippet));
        }
        html.push_str("</section>\n");
    }

    /// `text` (already escaped) with every clause of the contract it names
    /// (`docs/protocol.md#set-section`) made a link.
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
                    "<a class=\"clause\" href=\"{}#{anchor}\">{needle}{anchor}</a>",
                    escape(&self.contract)
                );
            }
            rest = &after[anchor_len..];
        }
        linked.push_str(rest);
        linked
    }
}

/// A failure message without the transcript it ends with, when the page
/// shows that transcript beside it.
fn without_transcript<'m>(message: &'m str, scenario: &ScenarioReport) -> &'m str {
    for marker in TRANSCRIPT_MARKERS {
        if let Some(at) = message.find(marker)
            && (!scenario.transcript.is_empty() || marker.contains("nothing"))
        {
            return &message[..at];
        }
    }
    message
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

/// Where the contract is, from a page in `base`: the project's
/// `docs/protocol.md` beside the features folder when it is there (as in
/// this project), relative to the page; otherwise `docs/protocol.md`, as
/// the failure messages name it.
fn contract_href(report: &Report, base: Option<&Path>) -> String {
    let contract = report
        .suite
        .root
        .parent()
        .map(|project| project.join(CONTRACT))
        .filter(|path| path.is_file())
        .and_then(|path| path.canonicalize().ok());
    let base = match base {
        Some(base) if !base.as_os_str().is_empty() => base.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (contract, base.canonicalize()) {
        (Some(contract), Ok(base)) => relative(&base, &contract),
        _ => CONTRACT.to_owned(),
    }
}

/// The relative URL from the folder `from` to the file `to` (both
/// absolute).
fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
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
    fn clauses_become_links_to_the_contract() {
        let report = Report::default();
        let page = Page {
            report: &report,
            contract: "../docs/protocol.md".to_owned(),
        };
        assert_eq!(
            page.clauses("docs/protocol.md#set-section: expected ok; see docs/protocol.md#"),
            "<a class=\"clause\" href=\"../docs/protocol.md#set-section\">docs/protocol.md#set-section</a>: \
             expected ok; see docs/protocol.md#"
        );
    }

    #[test]
    fn relative_links_climb_out_of_the_report_folder() {
        assert_eq!(
            relative(Path::new("/p/target"), Path::new("/p/docs/protocol.md")),
            "../docs/protocol.md"
        );
        assert_eq!(
            relative(Path::new("/p"), Path::new("/p/docs/protocol.md")),
            "docs/protocol.md"
        );
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
