//! The HTML report: one self-contained page a reviewer opens in a browser.
//!
//! No scripts, no external assets: features with their descriptions,
//! scenarios with their steps, and for a failed scenario the message with
//! its transcript and links to what the browser saw.

use std::fmt::Write as _;
use std::path::Path;

use super::{Report, ScenarioReport, Status};

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.summary span { margin-right: 1rem; font-weight: bold; }
.description { white-space: pre-line; color: #555; }
details { border-left: 4px solid #ccc; margin: .4rem 0; padding: .2rem .6rem; }
details.passed { border-color: #2e7d32; } details.failed { border-color: #c62828; }
details.skipped { border-color: #f9a825; }
summary { cursor: pointer; }
.status { display: inline-block; width: 4.5rem; font-weight: bold; }
.passed .status, li.passed::marker { color: #2e7d32; }
.failed .status, li.failed::marker { color: #c62828; }
.skipped .status, li.skipped::marker { color: #f9a825; }
.tag { color: #6a1b9a; font-size: .85rem; margin-left: .4rem; }
.keyword { font-weight: bold; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: .85rem; }
img { max-width: 40rem; border: 1px solid #ccc; display: block; margin: .4rem 0; }
";

/// The page for `report`; artifact links are relative to `base` when they
/// lie under it, so the report and its artifacts can be moved together.
pub fn render(report: &Report, base: Option<&Path>) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>DISCOS backend acceptance report</title><style>{STYLE}</style></head><body>\n\
         <h1>DISCOS backend acceptance report</h1>\n<p>Target: <code>{}</code></p>\n\
         <p class=\"summary\"><span class=\"passed\">{} passed</span>\
         <span class=\"failed\">{} failed</span><span class=\"skipped\">{} skipped</span></p>\n",
        escape(&report.target),
        report.count(Status::Passed),
        report.count(Status::Failed),
        report.count(Status::Skipped),
    );
    for error in &report.parse_errors {
        let _ = writeln!(page, "<pre class=\"failed\">{}</pre>", escape(error));
    }
    for feature in &report.features {
        let _ = writeln!(page, "<h2>Feature: {}</h2>", escape(&feature.name));
        if let Some(description) = &feature.description {
            let _ = writeln!(
                page,
                "<p class=\"description\">{}</p>",
                escape(description.trim())
            );
        }
        for scenario in &feature.scenarios {
            render_scenario(&mut page, scenario, base);
        }
    }
    if !report.snippets.is_empty() {
        page.push_str("<h2>Undefined steps</h2>\n<p>Step definitions to start from:</p>\n");
        for snippet in &report.snippets {
            let _ = writeln!(page, "<pre>{}</pre>", escape(&snippet.to_string()));
        }
    }
    page.push_str("</body></html>\n");
    page
}

fn render_scenario(page: &mut String, scenario: &ScenarioReport, base: Option<&Path>) {
    let status = scenario.status();
    let (class, label) = match status {
        Status::Passed => ("passed", "passed"),
        Status::Failed => ("failed", "FAILED"),
        Status::Skipped => ("skipped", "skipped"),
    };
    let open = if status == Status::Failed {
        " open"
    } else {
        ""
    };
    let _ = write!(
        page,
        "<details class=\"{class}\"{open}><summary><span class=\"status\">{label}</span>{}",
        escape(&scenario.name)
    );
    for tag in &scenario.tags {
        let _ = write!(page, "<span class=\"tag\">@{}</span>", escape(tag));
    }
    page.push_str("</summary>\n");
    if let Some(reason) = &scenario.skip_reason {
        let _ = writeln!(page, "<p>Not run: {}</p>", escape(reason));
    }
    page.push_str("<ul>\n");
    for step in &scenario.steps {
        let class = match step.status {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        };
        let _ = write!(
            page,
            "<li class=\"{class}\"><span class=\"keyword\">{}</span>{}",
            escape(step.keyword.trim_end()),
            escape(&format!(" {}", step.text))
        );
        if let Some(message) = step
            .message
            .as_ref()
            .filter(|_| step.status == Status::Failed)
        {
            let _ = write!(page, "<pre>{}</pre>", escape(message));
        }
        page.push_str("</li>\n");
    }
    page.push_str("</ul>\n");
    if let Some(failure) = &scenario.hook_failure {
        let _ = writeln!(
            page,
            "<p>Teardown check failed:</p><pre>{}</pre>",
            escape(failure)
        );
    }
    for artifact in &scenario.artifacts {
        let link = base
            .and_then(|base| artifact.strip_prefix(base).ok())
            .unwrap_or(artifact)
            .display()
            .to_string();
        let name = artifact
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = write!(
            page,
            "<p><a href=\"{}\">{}</a></p>",
            escape(&link),
            escape(&name)
        );
        if artifact.extension().is_some_and(|e| e == "png") {
            let _ = write!(
                page,
                "<img src=\"{}\" alt=\"what the browser showed\">",
                escape(&link)
            );
        }
    }
    page.push_str("</details>\n");
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            c => escaped.push(c),
        }
    }
    escaped
}
