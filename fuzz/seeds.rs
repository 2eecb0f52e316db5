//! Seeds the fuzz corpus with the bytes the features put on the wire.
//!
//! `cargo run --example fuzz-seeds -- [FEATURES_DIR] CORPUS_DIR`
//!
//! The features are the best map of what a backend is sent and answers, so
//! the fuzzer starts from them rather than from a hand-copied list that
//! drifts. Each step that sends or expects a line becomes one seed, read as
//! the steps read it: scenario outlines are expanded, a raw line is unescaped
//! as the step unescapes it, a typed request gets its `?` and CR LF, a table
//! of pipelined requests or expected replies is one seed of many lines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cucumber::gherkin::{Feature, GherkinEnv, Scenario, Step};
use regex::Regex;

use discos_acceptance::acceptance::world::unescape;
use discos_acceptance::protocol::latin1;

fn main() -> ExitCode {
    let mut args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (features, corpus) = match args.len() {
        1 => (PathBuf::from("features"), args.remove(0)),
        2 => (args.remove(0), args.remove(0)),
        _ => {
            eprintln!("usage: fuzz-seeds [FEATURES_DIR] CORPUS_DIR");
            return ExitCode::from(2);
        }
    };
    match run(&features, &corpus) {
        Ok((files, seeds)) => {
            println!(
                "{seeds} seeds from {files} feature files in {} written to {}",
                features.display(),
                corpus.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("fuzz-seeds: error: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(features: &Path, corpus: &Path) -> Result<(usize, usize), String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(features)
        .map_err(|e| format!("cannot read {}: {e}", features.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "feature"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("no .feature files in {}", features.display()));
    }
    let steps = Steps::new();
    let mut seeds = BTreeSet::new();
    for path in &paths {
        let feature = Feature::parse_path(path, GherkinEnv::default())
            .map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
        for step in all_steps(&feature) {
            if let Some(seed) = steps
                .wire(&step)
                .map_err(|e| format!("{}: step \"{}\": {e}", path.display(), step.value))?
            {
                seeds.insert(seed);
            }
        }
    }
    std::fs::create_dir_all(corpus)
        .map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
    for (index, seed) in seeds.iter().enumerate() {
        let file = corpus.join(format!("feature-{index:03}"));
        std::fs::write(&file, seed).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok((paths.len(), seeds.len()))
}

/// Every step of a feature, backgrounds included, outlines expanded once per
/// example row.
fn all_steps(feature: &Feature) -> Vec<Step> {
    let mut steps = Vec::new();
    let backgrounds = feature.background.iter().chain(
        feature
            .rules
            .iter()
            .filter_map(|rule| rule.background.as_ref()),
    );
    for background in backgrounds {
        steps.extend(background.steps.iter().cloned());
    }
    let scenarios = feature
        .scenarios
        .iter()
        .chain(feature.rules.iter().flat_map(|rule| &rule.scenarios));
    for scenario in scenarios {
        steps.extend(expanded(scenario));
    }
    steps
}

fn expanded(scenario: &Scenario) -> Vec<Step> {
    let rows: Vec<Vec<(String, String)>> = scenario
        .examples
        .iter()
        .filter_map(|examples| examples.table.as_ref())
        .flat_map(|table| {
            let (header, rows) = table
                .rows
                .split_first()
                .map_or((&[][..], &[][..]), |(h, r)| (h.as_slice(), r));
            rows.iter().map(move |row| {
                header
                    .iter()
                    .zip(row)
                    .map(|(name, value)| (format!("<{name}>"), value.clone()))
                    .collect()
            })
        })
        .collect();
    if rows.is_empty() {
        return scenario.steps.clone();
    }
    let substitute = |text: &str, row: &[(String, String)]| {
        row.iter().fold(text.to_owned(), |text, (name, value)| {
            text.replace(name, value)
        })
    };
    rows.iter()
        .flat_map(|row| {
            scenario.steps.iter().map(move |step| {
                let mut step = step.clone();
                step.value = substitute(&step.value, row);
                if let Some(table) = &mut step.table {
                    for cell in table.rows.iter_mut().flatten() {
                        *cell = substitute(cell, row);
                    }
                }
                step
            })
        })
        .collect()
}

/// The steps that put a line on the wire or expect one, as the step library
/// words them.
struct Steps {
    raw: Regex,
    request: Regex,
    requests: Regex,
    reply: Regex,
    replies: Regex,
}

impl Steps {
    fn new() -> Steps {
        let who = r#"(?:the client|the user|client "[^"]*"|"[^"]*")"#;
        let re = |pattern: String| Regex::new(&pattern).expect("a valid pattern");
        Steps {
            raw: re(format!(r#"^{who} sends the raw line "(.*)"$"#)),
            request: re(format!(r#"^{who} (?:sends|enters) "(.*)"$"#)),
            requests: re(format!(r"^{who} sends, without waiting for replies:$")),
            reply: re(format!(
                r#"^(?:{who} (?:receives|sees)|the connection(?: of client "[^"]*")? opens with) "(.*)"$"#
            )),
            replies: re(format!(r"^{who} receives, in order:$")),
        }
    }

    /// The bytes this step sends or expects, if it is such a step.
    fn wire(&self, step: &Step) -> Result<Option<Vec<u8>>, String> {
        let value = step.value.as_str();
        let first_cells = || -> Vec<String> {
            step.table
                .iter()
                .flat_map(|table| &table.rows)
                .filter_map(|row| row.first().cloned())
                .collect()
        };
        if let Some(raw) = self.raw.captures(value) {
            return unescape(&raw[1]).map(Some);
        }
        if let Some(request) = self.request.captures(value) {
            return typed(&request[1]).map(Some);
        }
        if self.requests.is_match(value) {
            return lines(first_cells(), typed).map(Some);
        }
        if let Some(reply) = self.reply.captures(value) {
            return line(&reply[1]).map(Some);
        }
        if self.replies.is_match(value) {
            return lines(first_cells(), line).map(Some);
        }
        Ok(None)
    }
}

/// A request as typed (the `?` may be left out), as a client sends it.
fn typed(text: &str) -> Result<Vec<u8>, String> {
    if text.starts_with(['?', '!']) {
        line(text)
    } else {
        line(&format!("?{text}"))
    }
}

/// A line as written, with its CR LF.
fn line(text: &str) -> Result<Vec<u8>, String> {
    let mut bytes = latin1::encode(text).map_err(|e| e.to_string())?;
    bytes.extend_from_slice(b"\r\n");
    Ok(bytes)
}

fn lines(
    texts: Vec<String>,
    one: impl Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    for text in texts {
        bytes.extend(one(&text)?);
    }
    Ok(bytes)
}
