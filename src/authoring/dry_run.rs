//! `--dry-run`: every step of the selected scenarios must match exactly one
//! step definition, checked without starting anything — no backend, no
//! browser, no process — so that a scenario written before its code, or a
//! renamed step, is caught in a second rather than after a suite's run.
//!
//! It matches as the run would, through cucumber's own step collection: a
//! step that no definition matches is named with the defined steps closest
//! to it ("did you mean") and a snippet to start from; one that several
//! match is named with all of them, since a run would fail it. As in a
//! run, an undefined step in a scenario tagged `@wip` is listed but does
//! not fail.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use cucumber::World as _;
use cucumber::gherkin::{Feature, Rule, Scenario, Step};
use cucumber::step::AmbiguousMatchError;

use super::catalogue::{self, Catalogue, FeatureFile};
use crate::acceptance::world::DiscosWorld;
use crate::authoring::Snippet;

/// What a dry run found.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// What to print: the problems, then the verdict.
    pub text: String,
    /// Whether every step matched exactly one definition (undefined steps
    /// of `@wip` scenarios aside).
    pub passed: bool,
    /// A snippet for every undefined step, with its neighbours.
    pub snippets: Vec<Snippet>,
    /// Where each snippet's step is, `path:line`.
    pub places: Vec<String>,
}

/// A step that does not match exactly one definition.
enum Problem {
    Undefined { wip: bool },
    Ambiguous(Vec<String>),
}

/// Checks the steps of the scenarios `selected` says run (it gives
/// whether a scenario is `@wip`), out of `features`, read from `source`.
pub(crate) fn check(
    features: &[FeatureFile],
    source: &str,
    selected: impl Fn(&Feature, Option<&Rule>, &Scenario) -> Option<bool>,
) -> Findings {
    let found = find_problems(features, selected);
    let mut findings = Findings::default();
    let counts = describe(&found.problems, &mut findings);
    findings.passed = counts.undefined == 0 && counts.ambiguous == 0;
    if !found.problems.is_empty() {
        findings.text.push('\n');
    }
    let verdict = if found.problems.is_empty() {
        "each matches exactly one step definition".to_owned()
    } else {
        counts.verdict()
    };
    let _ = writeln!(
        findings.text,
        "Dry run: {} scenario(s) in {source}, {} step(s): {verdict}; nothing was started.",
        found.scenarios, found.steps
    );
    findings
}

/// The steps of the selected scenarios that do not match exactly one
/// definition, each once, and how many scenarios and steps were read.
struct Found<'a> {
    scenarios: usize,
    steps: usize,
    problems: Vec<(&'a FeatureFile, &'a Step, Problem)>,
}

/// Matches every step of the scenarios `selected` says run against the
/// step definitions, as a run would.
fn find_problems<'a>(
    features: &'a [FeatureFile],
    selected: impl Fn(&Feature, Option<&Rule>, &Scenario) -> Option<bool>,
) -> Found<'a> {
    let collection = DiscosWorld::collection();
    let mut seen = BTreeSet::new();
    let mut found = Found {
        scenarios: 0,
        steps: 0,
        problems: Vec::new(),
    };
    for file in features {
        let feature = &file.feature;
        let in_rules = feature
            .rules
            .iter()
            .flat_map(|rule| rule.scenarios.iter().map(move |s| (Some(rule), s)));
        for (rule, scenario) in feature.scenarios.iter().map(|s| (None, s)).chain(in_rules) {
            let Some(wip) = selected(feature, rule, scenario) else {
                continue;
            };
            found.scenarios += 1;
            let backgrounds = feature
                .background
                .iter()
                .chain(rule.and_then(|r| r.background.as_ref()))
                .flat_map(|b| b.steps.iter());
            for step in backgrounds.chain(&scenario.steps) {
                found.steps += 1;
                let problem = match collection.find(step) {
                    Ok(Some(_)) => continue,
                    Ok(None) => Problem::Undefined { wip },
                    Err(ambiguous) => Problem::Ambiguous(definitions_of(&ambiguous)),
                };
                if seen.insert((file.shown.clone(), step.position.line, step.value.clone())) {
                    found.problems.push((file, step, problem));
                }
            }
        }
    }
    found
}

/// The definitions an ambiguous step matches, each as its sentence and
/// place when the catalogue knows it, else as its pattern.
fn definitions_of(ambiguous: &AmbiguousMatchError) -> Vec<String> {
    let library = Catalogue::library();
    ambiguous
        .possible_matches
        .iter()
        .map(|(regex, location)| {
            let definition = location.and_then(|l| library.at(l.path, l.line));
            match (definition, location) {
                (Some(d), _) => format!("{}  ({})", d.sentence(), d.location),
                (None, Some(l)) => format!("{}  ({}:{})", regex.as_str(), l.path, l.line),
                (None, None) => regex.as_str().to_owned(),
            }
        })
        .collect()
}

/// How many problems of each kind a dry run found.
#[derive(Default)]
struct Counts {
    undefined: usize,
    allowed: usize,
    ambiguous: usize,
}

impl Counts {
    /// The verdict's words for problems found.
    fn verdict(&self) -> String {
        let mut parts = Vec::new();
        if self.undefined > 0 {
            parts.push(format!("{} match no step definition", self.undefined));
        }
        if self.allowed > 0 {
            parts.push(format!(
                "{} of @wip scenarios match none yet (allowed)",
                self.allowed
            ));
        }
        if self.ambiguous > 0 {
            parts.push(format!("{} match more than one", self.ambiguous));
        }
        parts.join(", ")
    }
}

/// Writes each problem into `findings` with what would fix it (the
/// closest defined steps and a snippet, or the definitions to tell
/// apart), and counts them.
fn describe(problems: &[(&FeatureFile, &Step, Problem)], findings: &mut Findings) -> Counts {
    let mut counts = Counts::default();
    for (file, step, problem) in problems {
        let place = format!("{}:{}", file.shown, step.position.line);
        let _ = writeln!(findings.text, "{place}  {}{}", step.keyword, step.value);
        match problem {
            Problem::Undefined { wip } => {
                if *wip {
                    counts.allowed += 1;
                } else {
                    counts.undefined += 1;
                }
                let snippet = Snippet::for_step(step);
                let allowance = if *wip {
                    " (allowed: the scenario is tagged @wip)"
                } else {
                    ""
                };
                let _ = writeln!(
                    findings.text,
                    "    no step definition matches it{allowance}"
                );
                findings.text.push_str(&did_you_mean(&snippet));
                findings.snippets.push(snippet);
                findings.places.push(place);
            }
            Problem::Ambiguous(matches) => {
                counts.ambiguous += 1;
                let _ = writeln!(
                    findings.text,
                    "    it matches {} step definitions, and a step must match one:",
                    matches.len()
                );
                for found in matches {
                    let _ = writeln!(findings.text, "      {found}");
                }
            }
        }
    }
    counts
}

/// The "did you mean" lines of an undefined step, empty if no defined
/// step is close to it.
pub(crate) fn did_you_mean(snippet: &Snippet) -> String {
    let mut text = String::new();
    for (index, neighbour) in snippet.neighbours.iter().enumerate() {
        let lead = if index == 0 {
            "did you mean"
        } else {
            "          or"
        };
        let _ = writeln!(text, "      {lead}  {neighbour}");
    }
    text
}

/// The undefined steps of a run or dry run, each once with where it is and
/// what may have been meant, then (if `code`) one block of code to paste.
pub(crate) fn undefined_steps(snippets: &[Snippet], places: &[String], code: bool) -> String {
    let mut text = String::from("\nUndefined steps: no step definition matches them.\n");
    // In file order, whatever order the scenarios finished in.
    let mut ordered: Vec<(&str, &Snippet)> = snippets
        .iter()
        .enumerate()
        .map(|(index, s)| (places.get(index).map_or("", String::as_str), s))
        .collect();
    ordered.sort_by(|a, b| (place_order(a.0), &a.1.step).cmp(&(place_order(b.0), &b.1.step)));
    let mut listed = BTreeSet::new();
    for (place, snippet) in &ordered {
        if !listed.insert(&snippet.step) {
            continue;
        }
        let _ = writeln!(text, "  {place}  {}", snippet.step);
        text.push_str(&did_you_mean(snippet));
    }
    let ordered: Vec<Snippet> = ordered.into_iter().map(|(_, s)| s.clone()).collect();
    text.push_str(&code_block(&ordered, code));
    text
}

/// `path:line` as a key that sorts line 9 before line 10.
fn place_order(place: &str) -> (&str, usize) {
    match place.rsplit_once(':') {
        Some((file, line)) => (file, line.parse().unwrap_or(0)),
        None => (place, 0),
    }
}

/// The code to paste for `snippets` (if `code`), or how to get it.
pub(crate) fn code_block(snippets: &[Snippet], code: bool) -> String {
    if !code {
        return "(--snippets prints Rust code to start them from.)\n".to_owned();
    }
    let home = catalogue::Home::here();
    let (file, _) = home.file();
    format!(
        "\nCode to start them from; it compiles as it is in {file}:\n\n{}",
        Snippet::paste(snippets, home)
    )
}
