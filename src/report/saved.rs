//! The report's model as a file, and the merging of several into one.
//!
//! A suite split across machines (`--shard I/N`, or any split by `--tags`
//! or `--name`) leaves one result per machine. Each run writes its model
//! with `--report-json FILE`; `discos-sim report merge` reads them back and
//! writes one HTML and one JUnit report for the whole suite. Merging runs
//! of different feature files, or of different targets, or holding the same
//! scenario twice, would make a report that describes no run: those are
//! refused, naming the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use super::{Report, RunInfo};

/// What the first field of a saved report says, and which version of
/// the model follows; a reader refuses a version it does not know.
pub const FORMAT: &str = "discos-acceptance report 1";

/// The feature files a run was made from, told apart by content, so that
/// the same suite checked out in two places on two machines is one suite.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suite {
    /// The folder of `.feature` files, as the run's machine had it.
    pub root: PathBuf,
    /// How many `.feature` files it holds.
    pub files: usize,
    /// SHA-1 of every file's path (relative to the folder) and text.
    pub fingerprint: String,
}

impl Suite {
    /// The suite of the feature `files` in the folder `root`; files that
    /// cannot be read count by name only (the run reports them as parse
    /// errors).
    pub fn of(root: &Path, files: &[PathBuf]) -> Suite {
        let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let root = canonical(root);
        let files: Vec<PathBuf> = files.iter().map(|path| canonical(path)).collect();
        let mut relative: Vec<(String, &PathBuf)> = files
            .iter()
            .map(|path| (relative_to(&root, path), path))
            .collect();
        relative.sort();
        let mut hash = Sha1::new();
        for (name, path) in &relative {
            let text = std::fs::read(path).unwrap_or_default();
            hash.update(name.as_bytes());
            hash.update([0]);
            hash.update((text.len() as u64).to_be_bytes());
            hash.update(&text);
        }
        let fingerprint = hash
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Suite {
            root,
            files: relative.len(),
            fingerprint,
        }
    }

    /// `path` relative to the suite's folder, with `/` between names: how
    /// a feature file is known on every machine.
    pub fn relative(&self, path: &Path) -> String {
        relative_to(&self.root, path)
    }

    /// The fingerprint's first characters, as a person compares them.
    fn short(&self) -> &str {
        self.fingerprint.get(..12).unwrap_or(&self.fingerprint)
    }
}

fn relative_to(root: &Path, path: &Path) -> String {
    let rest = path.strip_prefix(root).unwrap_or(path);
    rest.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Why saved reports cannot be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The file cannot be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not JSON of a saved report.
    #[error("{file} is not a report written by --report-json: {reason}")]
    NotAReport {
        /// The file.
        file: String,
        /// What the JSON reader found wrong.
        reason: String,
    },
    /// The file was written by another version of the model.
    #[error("{file} holds a report in the format \"{found}\"; this discos-sim reads \"{FORMAT}\"")]
    Format {
        /// The file.
        file: String,
        /// Its format line.
        found: String,
    },
    /// The runs were made from different feature files.
    #[error(
        "{file} is a run of other features than {first}: {theirs} there, {ours} in {first}; merge the runs of one suite"
    )]
    OtherSuite {
        /// The file that differs.
        file: String,
        /// The first file, which the others are compared with.
        first: String,
        /// Its suite, described.
        theirs: String,
        /// The first file's suite, described.
        ours: String,
    },
    /// The runs were made against different backends.
    #[error(
        "{file} is a run against {theirs}, {first} against {ours}; merge the runs of one target"
    )]
    OtherTarget {
        /// The file that differs.
        file: String,
        /// The first file.
        first: String,
        /// Its target.
        theirs: String,
        /// The first file's target.
        ours: String,
    },
    /// A scenario is in two of the runs.
    #[error(
        "{file} and {first} both hold the scenario {location} ({name}); each scenario must be in one run only"
    )]
    Duplicate {
        /// The later file.
        file: String,
        /// The earlier file that holds it too.
        first: String,
        /// `file.feature:line`.
        location: String,
        /// The scenario's name.
        name: String,
    },
}

#[derive(Serialize)]
struct Saving<'a> {
    format: &'static str,
    report: &'a Report,
}

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
}

#[derive(Deserialize)]
struct Saved {
    report: Report,
}

/// Writes `report` to `path` as JSON.
pub(super) fn write(report: &Report, path: &Path) -> std::io::Result<()> {
    let text = serde_json::to_vec(&Saving {
        format: FORMAT,
        report,
    })
    .map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}

/// Reads a report written with `--report-json`.
pub fn read_json(path: &Path) -> Result<Report, MergeError> {
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| MergeError::Read {
        file: file.clone(),
        source,
    })?;
    let not_a_report = |error: serde_json::Error| MergeError::NotAReport {
        file: file.clone(),
        reason: error.to_string(),
    };
    let header: Header = serde_json::from_slice(&text).map_err(not_a_report)?;
    match header.format {
        Some(format) if format == FORMAT => {}
        Some(found) => return Err(MergeError::Format { file, found }),
        None => {
            return Err(MergeError::NotAReport {
                file,
                reason: "it has no \"format\" field".to_owned(),
            });
        }
    }
    let saved: Saved = serde_json::from_slice(&text).map_err(not_a_report)?;
    Ok(saved.report)
}

/// Joins the reports of runs of one suite against one target, each named
/// by the file it came from, into the report of the whole: every scenario
/// once, features by file, scenarios by line.
pub fn merge(runs: Vec<(String, Report)>) -> Result<Report, MergeError> {
    let mut runs = runs.into_iter();
    let Some((first_file, first)) = runs.next() else {
        return Ok(Report::default());
    };
    let mut merged = Report {
        features: Vec::new(),
        parse_errors: Vec::new(),
        undefined: Vec::new(),
        runs: Vec::new(),
        ..first.clone()
    };
    let mut seen: HashMap<(String, usize), String> = HashMap::new();
    let mut spans: Vec<(SystemTime, SystemTime)> = Vec::new();
    for (file, run) in std::iter::once((first_file.clone(), first)).chain(runs) {
        if run.suite.fingerprint != merged.suite.fingerprint {
            return Err(MergeError::OtherSuite {
                file,
                first: first_file,
                theirs: describe(&run.suite),
                ours: describe(&merged.suite),
            });
        }
        if run.target != merged.target {
            return Err(MergeError::OtherTarget {
                file,
                first: first_file,
                theirs: run.target,
                ours: merged.target,
            });
        }
        for (feature, scenario) in run.scenarios() {
            let key = (feature.file.clone(), scenario.line);
            if let Some(earlier) = seen.get(&key) {
                return Err(MergeError::Duplicate {
                    file,
                    first: earlier.clone(),
                    location: format!("{}:{}", feature.file, scenario.line),
                    name: scenario.name.clone(),
                });
            }
            seen.insert(key, file.clone());
        }
        if let Some(started) = run.started.as_deref()
            && let Ok(start) = humantime::parse_rfc3339(started)
        {
            spans.push((start, start + run.duration.unwrap_or_default()));
        }
        merged.strict |= run.strict;
        if run.runs.is_empty() {
            merged.runs.push(RunInfo {
                file: file.clone(),
                started: run.started.clone(),
                duration: run.duration,
                scenarios: run.scenarios().count(),
            });
        } else {
            merged.runs.extend(run.runs.iter().cloned());
        }
        add(&mut merged, run);
    }
    let start = spans.iter().map(|(start, _)| *start).min();
    let end = spans.iter().map(|(_, end)| *end).max();
    merged.started = start.map(|start| humantime::format_rfc3339_seconds(start).to_string());
    merged.duration = start
        .zip(end)
        .map(|(start, end)| end.duration_since(start).unwrap_or(Duration::ZERO));
    merged.sort();
    Ok(merged)
}

/// Adds the features, errors and undefined steps of `run` to `merged`.
fn add(merged: &mut Report, run: Report) {
    for feature in run.features {
        match merged.features.iter_mut().find(|f| f.file == feature.file) {
            Some(known) => known.scenarios.extend(feature.scenarios),
            None => merged.features.push(feature),
        }
    }
    for error in run.parse_errors {
        if !merged.parse_errors.contains(&error) {
            merged.parse_errors.push(error);
        }
    }
    for step in run.undefined {
        match merged
            .undefined
            .iter_mut()
            .find(|u| u.expression == step.expression)
        {
            Some(known) => {
                for place in step.places {
                    if !known.places.contains(&place) {
                        known.places.push(place);
                    }
                }
            }
            None => merged.undefined.push(step),
        }
    }
}

fn describe(suite: &Suite) -> String {
    format!(
        "{} feature file(s) in {} (fingerprint {})",
        suite.files,
        suite.root.display(),
        suite.short()
    )
}
