//! Graded verdicts, as conformance suites grade them (Autobahn's OK /
//! NON-STRICT / FAILED, h2spec's cited requirement).
//!
//! Every portable scenario names the requirement of the contract it checks
//! (`@must:same-name`, `@should:version-reply`), and a step that knows
//! better names its own (the World's `fail_requirement`). A failure is
//! graded by the requirement its message cites, else by its scenario's tag:
//! a failed MUST means DISCOS cannot drive the backend and always fails the
//! run; a failed SHOULD is non-strict, shown as such, and fails the run only
//! when it is `--strict`. A failure that names no requirement (a
//! `@simulator` scenario, which is about the simulator; a scenario without a
//! tag; an undefined step) fails the run as any failure does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{FeatureReport, Report, ScenarioReport, Status};
use crate::protocol::contract;
use crate::protocol::contract::{CONTRACT, Requirement, Strength, cited, requirement_tag};

/// The requirement a failed scenario broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graded {
    /// Its id in the contract's table.
    pub id: String,
    /// MUST or SHOULD.
    pub strength: Strength,
}

/// How a scenario counts in a graded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// It ran and held.
    Passed,
    /// A MUST failed: DISCOS cannot drive the backend.
    FailedMust,
    /// A SHOULD failed: the backend departs from the protocol text's way,
    /// which DISCOS does not rely on.
    NonStrict,
    /// It failed naming no requirement (about the simulator, untagged, an
    /// undefined step).
    Failed,
    /// It did not run.
    Skipped,
}

impl Verdict {
    /// `passed`, `failed`, `non-strict`, `skipped`: what the report's
    /// filters and classes say (a failed MUST is `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::FailedMust | Verdict::Failed => "failed",
            Verdict::NonStrict => "non-strict",
            Verdict::Skipped => "skipped",
        }
    }

    /// Whether it fails the run (a non-strict one only if the run is
    /// strict).
    pub fn fails(self, strict: bool) -> bool {
        match self {
            Verdict::FailedMust | Verdict::Failed => true,
            Verdict::NonStrict => strict,
            Verdict::Passed | Verdict::Skipped => false,
        }
    }
}

impl ScenarioReport {
    /// How it counts: by its status, and for a failure by the requirement
    /// it broke.
    pub fn verdict(&self) -> Verdict {
        match (self.status(), &self.graded) {
            (Status::Passed, _) => Verdict::Passed,
            (Status::Skipped, _) => Verdict::Skipped,
            (Status::Failed, None) => Verdict::Failed,
            (Status::Failed, Some(graded)) => match graded.strength {
                Strength::Must => Verdict::FailedMust,
                Strength::Should => Verdict::NonStrict,
            },
        }
    }

    /// The requirement its tags name (the scenario's own, else its
    /// feature's, which come first), unless it is about the simulator.
    pub fn requirement_tag(&self) -> Option<(Strength, &str)> {
        tagged(&self.tags)
    }
}

/// The requirement `tags` name (the last of them: a scenario's own come
/// after its feature's), unless they make the scenario `@simulator`.
pub fn tagged(tags: &[String]) -> Option<(Strength, &str)> {
    if tags.iter().any(|tag| tag == "simulator") {
        return None;
    }
    tags.iter().rev().find_map(|tag| requirement_tag(tag))
}

/// Grades the failure `message` of a scenario with `tags`, in a run of
/// `requirements`: by the requirement the message cites, else by the one
/// the tags name (the message then made to cite it, with the clause it
/// already names, or the requirement's); `None` for a `@simulator`
/// scenario, or one that names no requirement the table lists.
pub fn grade(tags: &[String], message: String) -> (Option<Graded>, String) {
    if tags.iter().any(|tag| tag == "simulator") {
        return (None, message);
    }
    if let Some((strength, id)) = cited(&message) {
        let graded = Graded {
            id: id.to_owned(),
            strength,
        };
        return (Some(graded), message);
    }
    let Some(requirement) = tagged(tags).and_then(|(_, id)| contract::requirement(id)) else {
        return (None, message);
    };
    let graded = Graded {
        id: requirement.id.clone(),
        strength: requirement.strength,
    };
    // A step that names its clause keeps it: it is the more precise.
    let message = if message.starts_with(&format!("{CONTRACT}#")) {
        format!("{} {} — {message}", requirement.strength, requirement.id)
    } else {
        format!("{}: {message}", requirement.citation())
    };
    (Some(graded), message)
}

/// How many scenarios ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Held.
    pub passed: usize,
    /// Broke a MUST.
    pub failed_must: usize,
    /// Broke a SHOULD.
    pub non_strict: usize,
    /// Failed naming no requirement.
    pub failed_other: usize,
    /// Not run.
    pub skipped: usize,
}

impl Tally {
    /// Every scenario counted.
    pub fn total(&self) -> usize {
        self.passed + self.failed_must + self.non_strict + self.failed_other + self.skipped
    }

    /// Failed ones, MUST or naming no requirement: those that fail any run.
    pub fn failed(&self) -> usize {
        self.failed_must + self.failed_other
    }
}

/// How one requirement fared in a run.
#[derive(Debug, Clone, Default)]
pub struct Fared<'r> {
    /// Scenarios about it (by their tag) that held.
    pub passed: Vec<(&'r FeatureReport, &'r ScenarioReport)>,
    /// Scenarios whose failure was graded as breaking it.
    pub failed: Vec<(&'r FeatureReport, &'r ScenarioReport)>,
    /// Scenarios about it that did not run.
    pub skipped: Vec<(&'r FeatureReport, &'r ScenarioReport)>,
}

impl Fared<'_> {
    /// Whether a scenario that ran checked it.
    pub fn checked(&self) -> bool {
        !self.passed.is_empty() || !self.failed.is_empty()
    }
}

impl Report {
    /// How many scenarios ended each way.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for (_, scenario) in self.scenarios() {
            match scenario.verdict() {
                Verdict::Passed => tally.passed += 1,
                Verdict::FailedMust => tally.failed_must += 1,
                Verdict::NonStrict => tally.non_strict += 1,
                Verdict::Failed => tally.failed_other += 1,
                Verdict::Skipped => tally.skipped += 1,
            }
        }
        tally
    }

    /// Whether the run passes: no scenario failed a MUST or failed naming
    /// no requirement, none failed a SHOULD if it is strict, and every
    /// feature file was read.
    pub fn passes(&self) -> bool {
        self.parse_errors.is_empty()
            && self
                .scenarios()
                .all(|(_, scenario)| !scenario.verdict().fails(self.strict))
    }

    /// The requirements the run was graded against: the contract's table as
    /// the run had it (a saved report carries it), else the compiled-in one.
    pub fn requirements(&self) -> &[Requirement] {
        if self.requirements.is_empty() {
            contract::requirements().unwrap_or_default()
        } else {
            &self.requirements
        }
    }

    /// How each requirement of the table fared, in the table's order; ids
    /// that scenarios name but the table does not list come last.
    pub fn fared(&self) -> BTreeMap<&str, Fared<'_>> {
        let mut fared: BTreeMap<&str, Fared<'_>> = BTreeMap::new();
        for (feature, scenario) in self.scenarios() {
            let tag = scenario.requirement_tag().map(|(_, id)| id);
            match (scenario.verdict(), &scenario.graded) {
                (Verdict::FailedMust | Verdict::NonStrict, Some(graded)) => {
                    fared
                        .entry(graded.id.as_str())
                        .or_default()
                        .failed
                        .push((feature, scenario));
                }
                (Verdict::Passed, _) => {
                    if let Some(id) = tag {
                        fared
                            .entry(id)
                            .or_default()
                            .passed
                            .push((feature, scenario));
                    }
                }
                (Verdict::Skipped, _) => {
                    if let Some(id) = tag {
                        fared
                            .entry(id)
                            .or_default()
                            .skipped
                            .push((feature, scenario));
                    }
                }
                _ => {}
            }
        }
        fared
    }

    /// The verdict in one sentence, as a backend author reads it first.
    pub fn headline(&self) -> Headline {
        let fared = self.fared();
        let musts: Vec<&Requirement> = self
            .requirements()
            .iter()
            .filter(|r| r.strength == Strength::Must)
            .collect();
        let mut broken: Vec<(&str, Vec<Where>)> = Vec::new();
        for (id, how) in &fared {
            let failed: Vec<Where> = how
                .failed
                .iter()
                .filter(|(_, s)| s.verdict() == Verdict::FailedMust)
                .map(|(feature, scenario)| Where {
                    file: feature.file.clone(),
                    shown: feature
                        .path
                        .as_deref()
                        .map_or_else(|| feature.file.clone(), |p| p.display().to_string()),
                    line: scenario.line,
                    title: scenario.title(),
                })
                .collect();
            if !failed.is_empty() {
                broken.push((id, failed));
            }
        }
        if !broken.is_empty() {
            return Headline::CannotDrive {
                broken: broken
                    .into_iter()
                    .map(|(id, s)| (id.to_owned(), s))
                    .collect(),
            };
        }
        let checked: Vec<&str> = musts
            .iter()
            .filter(|r| fared.get(r.id.as_str()).is_some_and(Fared::checked))
            .map(|r| r.id.as_str())
            .collect();
        if checked.is_empty() {
            return Headline::NothingChecked;
        }
        let unchecked = musts
            .iter()
            .map(|r| r.id.clone())
            .filter(|id| !checked.contains(&id.as_str()))
            .collect();
        Headline::CanDrive {
            checked: checked.len(),
            musts: musts.len(),
            unchecked,
        }
    }
}

/// A scenario, where a verdict names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Where {
    /// Its file, relative to the features folder (as the report keys it).
    pub file: String,
    /// Its file as the user knows it.
    pub shown: String,
    /// Its line.
    pub line: usize,
    /// Its title.
    pub title: String,
}

/// The verdict of a run, in the words of a backend author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Headline {
    /// No MUST failed, and some were checked.
    CanDrive {
        /// MUSTs a scenario that ran checked.
        checked: usize,
        /// MUSTs in the contract.
        musts: usize,
        /// The MUSTs no scenario that ran checked.
        unchecked: Vec<String>,
    },
    /// Some MUSTs failed: each, with the scenarios it failed in.
    CannotDrive {
        /// Each broken MUST, with its failed scenarios.
        broken: Vec<(String, Vec<Where>)>,
    },
    /// No scenario that ran checked a MUST (a run of `@simulator`
    /// scenarios, of SHOULDs only, or of features without tags).
    NothingChecked,
}

impl Headline {
    /// Whether DISCOS can drive the backend, as far as the run checked.
    pub fn can_drive(&self) -> bool {
        matches!(self, Headline::CanDrive { .. })
    }

    /// One sentence: "DISCOS can drive this backend" and how far that was
    /// checked, or exactly why not.
    pub fn sentence(&self) -> String {
        match self {
            Headline::CanDrive {
                checked,
                musts,
                unchecked,
            } => {
                if unchecked.is_empty() {
                    format!("DISCOS can drive this backend: no MUST failed, and all {musts} MUSTs of the contract were checked.")
                } else {
                    format!(
                        "DISCOS can drive this backend as far as this run checked: no MUST failed; {checked} of the contract's {musts} MUSTs were checked (not: {}).",
                        unchecked.join(", ")
                    )
                }
            }
            Headline::CannotDrive { broken } => {
                let parts: Vec<String> = broken
                    .iter()
                    .map(|(id, scenarios)| {
                        let places: Vec<String> = scenarios
                            .iter()
                            .map(|at| format!("{}:{}", at.shown, at.line))
                            .collect();
                        format!("MUST {id} failed in {}", places.join(", "))
                    })
                    .collect();
                format!("DISCOS cannot drive this backend: {}.", parts.join("; "))
            }
            Headline::NothingChecked => {
                "No MUST of the contract was checked: no scenario that ran names one (@must:ID), so this run says nothing of whether DISCOS can drive this backend.".to_owned()
            }
        }
    }
}

/// How a graded failure reads where there is room for a label: `MUST
/// crlf`, `SHOULD version-reply (non-strict)`.
pub fn label(graded: &Graded) -> String {
    match graded.strength {
        Strength::Must => format!("MUST {}", graded.id),
        Strength::Should => format!("SHOULD {} (non-strict)", graded.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::StepReport;

    fn tags(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn a_failure_is_graded_by_its_citation_then_by_its_tag() {
        // The step cites a MUST in a scenario about a SHOULD: the MUST wins.
        let message = "MUST crlf — docs/protocol.md#transport-and-framing: a bare LF".to_owned();
        let (graded, kept) = grade(&tags(&["should:version-reply"]), message.clone());
        assert_eq!(
            graded,
            Some(Graded {
                id: "crlf".to_owned(),
                strength: Strength::Must
            })
        );
        assert_eq!(kept, message);
        // A step that names its clause keeps it, the requirement before it.
        let (graded, cited) = grade(
            &tags(&["handshake", "should:version-reply"]),
            "docs/protocol.md#version: the reply's field 1 is '1.3'".to_owned(),
        );
        assert_eq!(graded.unwrap().strength, Strength::Should);
        assert_eq!(
            cited,
            "SHOULD version-reply — docs/protocol.md#version: the reply's field 1 is '1.3'"
        );
        // One that names none gets the requirement's.
        let (_, cited) = grade(&tags(&["must:same-name"]), "no reply came".to_owned());
        assert_eq!(
            cited,
            "MUST same-name — docs/protocol.md#replies: no reply came"
        );
        // The scenario's own tag comes after its feature's, and wins.
        let (graded, _) = grade(
            &tags(&["must:same-name", "should:version-reply"]),
            "x".to_owned(),
        );
        assert_eq!(graded.unwrap().id, "version-reply");
    }

    #[test]
    fn simulator_and_untagged_failures_name_no_requirement() {
        for scenario_tags in [
            &["simulator", "must:crlf"][..],
            &["fresh"],
            &["must:no-such-id"],
        ] {
            let message = "MUST crlf — docs/protocol.md#transport-and-framing: x".to_owned();
            let uncited = "expected ok".to_owned();
            let (graded, kept) = grade(&tags(scenario_tags), uncited.clone());
            assert_eq!((graded, kept), (None, uncited), "{scenario_tags:?}");
            if scenario_tags[0] == "simulator" {
                assert_eq!(grade(&tags(scenario_tags), message).0, None);
            }
        }
    }

    fn scenario(line: usize, tags_: &[&str], failed: Option<Graded>) -> ScenarioReport {
        let mut scenario = ScenarioReport::new(&format!("scenario {line}"), line);
        scenario.tags = tags(tags_);
        scenario.duration = Some(std::time::Duration::from_millis(5));
        scenario.steps.push(StepReport {
            keyword: "Then ".to_owned(),
            text: "it holds".to_owned(),
            status: if failed.is_some() || tags_.contains(&"broken") {
                Status::Failed
            } else {
                Status::Passed
            },
            message: None,
            duration: None,
            background: false,
            table: None,
            docstring: None,
        });
        scenario.graded = failed;
        scenario
    }

    fn run(scenarios: Vec<ScenarioReport>, strict: bool) -> Report {
        Report {
            features: vec![FeatureReport {
                file: "a.feature".to_owned(),
                scenarios,
                ..FeatureReport::default()
            }],
            strict,
            ..Report::default()
        }
    }

    fn graded(strength: Strength, id: &str) -> Option<Graded> {
        Some(Graded {
            id: id.to_owned(),
            strength,
        })
    }

    #[test]
    fn a_failed_should_passes_unless_strict_and_a_failed_must_never() {
        let should = || {
            vec![
                scenario(1, &["must:crlf"], None),
                scenario(
                    2,
                    &["should:version-reply"],
                    graded(Strength::Should, "version-reply"),
                ),
            ]
        };
        let lenient = run(should(), false);
        assert_eq!(
            lenient.tally(),
            Tally {
                passed: 1,
                non_strict: 1,
                ..Tally::default()
            }
        );
        assert!(lenient.passes());
        assert!(lenient.headline().can_drive());
        assert!(!run(should(), true).passes());

        let mut must = should();
        must.push(scenario(
            3,
            &["should:version-reply"],
            graded(Strength::Must, "crlf"),
        ));
        let report = run(must, false);
        assert_eq!(report.tally().failed_must, 1);
        assert!(!report.passes());
        let headline = report.headline();
        assert!(!headline.can_drive());
        assert_eq!(
            headline.sentence(),
            "DISCOS cannot drive this backend: MUST crlf failed in a.feature:3."
        );
        // A failure naming no requirement fails the run but says nothing of
        // DISCOS.
        let other = run(
            vec![
                scenario(1, &["must:crlf"], None),
                scenario(2, &["simulator", "broken"], None),
            ],
            false,
        );
        assert_eq!(other.tally().failed_other, 1);
        assert!(!other.passes());
        assert!(other.headline().can_drive());
    }

    #[test]
    fn the_headline_says_how_far_the_run_checked() {
        let report = run(vec![scenario(1, &["must:crlf"], None)], false);
        let Headline::CanDrive {
            checked,
            musts,
            unchecked,
        } = report.headline()
        else {
            panic!("{:?}", report.headline());
        };
        assert_eq!(checked, 1);
        assert_eq!(unchecked.len(), musts - 1);
        assert!(!unchecked.contains(&"crlf".to_owned()));
        assert!(
            report
                .headline()
                .sentence()
                .contains("as far as this run checked")
        );
        let nothing = run(vec![scenario(1, &["simulator"], None)], false);
        assert_eq!(nothing.headline(), Headline::NothingChecked);
    }
}
