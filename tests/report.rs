//! The report of a run split in two: each half writes its model with
//! `--report-json`, `discos-sim report merge` joins them, and the result is
//! the report of the whole run (same scenarios, statuses and counts, in
//! HTML and JUnit too). Halves that cannot make one report (the same
//! scenario twice, another suite) are refused, naming the file.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;

use discos_acceptance::acceptance::report::{self, Report};
use discos_acceptance::acceptance::{self, Options, Status};

const BIN: &str = env!("CARGO_BIN_EXE_discos-sim");

/// Runs take over the panic hook while they run; one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn dir(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A fresh directory under cargo's scratch space for tests, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the features of `features` with `args`,
/// writing the model to `json`; the report read back from it.
async fn run_to_json(scratch: &Scratch, features: &Path, args: &[&str], json: &Path) -> Report {
    let _turn = ONE_AT_A_TIME.lock().await;
    let artifacts = scratch.join("artifacts").display().to_string();
    let json_arg = json.display().to_string();
    let mut argv = vec![
        "acceptance",
        "--artifacts",
        &artifacts,
        "--report-json",
        &json_arg,
    ];
    argv.extend_from_slice(args);
    let options = Options::try_parse_from(argv).expect("options parse");
    let outcome = acceptance::run_quietly(options, features)
        .await
        .expect("the run starts");
    assert_eq!(
        outcome.passed,
        outcome.report.count(Status::Failed) == 0,
        "{}",
        outcome.output
    );
    report::read_json(json).unwrap_or_else(|e| panic!("{e}"))
}

/// Every scenario as (file, line, title, status, its steps' statuses).
type Row = (String, usize, String, Status, Vec<Status>);

/// The run both tests split: the scenarios of the report fixtures that
/// need no browser.
const WHOLE: [&str; 2] = ["--name", "^[A-S]"];

fn rows(report: &Report) -> Vec<Row> {
    let mut rows: Vec<Row> = report
        .scenarios()
        .map(|(feature, scenario)| {
            (
                feature.file.clone(),
                scenario.line,
                scenario.title(),
                scenario.status(),
                scenario.steps.iter().map(|s| s.status).collect(),
            )
        })
        .collect();
    rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    rows
}

fn counts(report: &Report) -> [usize; 3] {
    [Status::Passed, Status::Failed, Status::Skipped].map(|s| report.count(s))
}

/// How often `needle` occurs in `text`.
fn occurrences(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

fn merge(args: &[&Path]) -> std::process::Output {
    Command::new(BIN)
        .args(["report", "merge"])
        .args(args)
        .output()
        .expect("discos-sim runs")
}

/// The README's way to split a suite across machines: `--shard I/N` on
/// each, their JSON reports merged.
#[tokio::test(flavor = "multi_thread")]
async fn three_shards_merged_are_the_report_of_the_whole_run() {
    let scratch = Scratch::new("report-shards");
    let features = dir("fixtures/features/report");
    let whole = run_to_json(&scratch, &features, &WHOLE, &scratch.join("whole.json")).await;
    let mut shards = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let json = scratch.join(&format!("shard-{}.json", &shard[..1]));
        let args = [WHOLE[0], WHOLE[1], "--shard", shard];
        let report = run_to_json(&scratch, &features, &args, &json).await;
        assert!(
            report.scenarios().count() >= 1,
            "shard {shard} ran something"
        );
        shards.push(json);
    }
    let json = scratch.join("merged.json");
    let mut args: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    args.extend([Path::new("--report-json"), &json]);
    let out = merge(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed scenario fails the merge\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = report::read_json(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows(&merged), rows(&whole), "each scenario exactly once");
    assert_eq!(counts(&merged), counts(&whole));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_halves_merged_are_the_report_of_the_whole_run() {
    let scratch = Scratch::new("report-merge");
    let features = dir("fixtures/features/report");
    // Every scenario but the browser's ("The page shows…"), whose names
    // start A to E in one half, F to S in the other: each half holds
    // scenarios of both feature files.
    let whole = run_to_json(&scratch, &features, &WHOLE, &scratch.join("whole.json")).await;
    let first = ["--name", "^[A-E]"];
    let second = ["--name", "^[F-S]"];
    let a = run_to_json(&scratch, &features, &first, &scratch.join("a.json")).await;
    let b = run_to_json(&scratch, &features, &second, &scratch.join("b.json")).await;
    assert!(a.scenarios().count() >= 2 && b.scenarios().count() >= 2);
    assert_eq!(
        a.scenarios().count() + b.scenarios().count(),
        whole.scenarios().count(),
        "the halves split the run"
    );
    for half in [&a, &b] {
        assert_eq!(
            half.features.len(),
            2,
            "each half has scenarios of both features"
        );
    }

    let html = scratch.join("merged.html");
    let junit = scratch.join("merged.xml");
    let json = scratch.join("merged.json");
    let out = merge(&[
        &scratch.join("a.json"),
        &scratch.join("b.json"),
        Path::new("--html"),
        &html,
        Path::new("--junit"),
        &junit,
        Path::new("--report-json"),
        &json,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed scenario fails the merge's exit status\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let [passed, failed, skipped] = counts(&whole);
    assert_eq!(
        stdout.trim(),
        format!(
            "2 report(s) merged: {} scenario(s): {passed} passed, {failed} failed, 0 non-strict, {skipped} skipped\n{}",
            whole.scenarios().count(),
            whole.headline().sentence()
        )
    );

    let merged = report::read_json(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows(&merged), rows(&whole));
    assert_eq!(counts(&merged), counts(&whole));
    assert_eq!(merged.target, whole.target);
    assert_eq!(merged.suite, whole.suite);
    assert_eq!(
        merged
            .runs
            .iter()
            .map(|run| run.scenarios)
            .collect::<Vec<_>>(),
        [a.scenarios().count(), b.scenarios().count()]
    );
    let features: Vec<&str> = merged.features.iter().map(|f| f.file.as_str()).collect();
    let whole_features: Vec<&str> = whole.features.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(
        features, whole_features,
        "features in the whole run's order"
    );
    for (feature, scenario) in merged.scenarios() {
        let (_, same) = whole
            .scenarios()
            .find(|(f, s)| f.file == feature.file && s.line == scenario.line)
            .expect("the whole run has it");
        assert_eq!(
            scenario.transcript.len(),
            same.transcript.len(),
            "{}: the transcript is carried over",
            scenario.name
        );
    }

    // The files a user reads say the same as the whole run's.
    let whole_junit = scratch.join("whole.xml");
    whole.write_junit(&whole_junit).unwrap();
    let (ours, theirs) = (
        std::fs::read_to_string(&junit).unwrap(),
        std::fs::read_to_string(&whole_junit).unwrap(),
    );
    for needle in ["<testcase ", "<failure ", "<skipped"] {
        assert_eq!(
            occurrences(&ours, needle),
            occurrences(&theirs, needle),
            "{needle} in\n{ours}"
        );
    }
    assert_eq!(occurrences(&ours, "<testcase "), whole.scenarios().count());
    assert_eq!(occurrences(&ours, "<failure "), failed);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(&format!("<b id=\"count-failed\">{failed}</b>")));
    assert!(page.contains(&format!("<b id=\"count-passed\">{passed}</b>")));
    assert!(page.contains("Merged from 2 run(s)"));
    assert_eq!(
        occurrences(&page, "<details class=\"scenario "),
        whole.scenarios().count()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_that_make_no_one_run_are_refused_naming_the_file() {
    let scratch = Scratch::new("report-refused");
    let features = dir("fixtures/features/report");
    let whole = scratch.join("whole.json");
    let half = scratch.join("half.json");
    let other = scratch.join("other.json");
    run_to_json(&scratch, &features, &WHOLE, &whole).await;
    run_to_json(&scratch, &features, &["--name", "^Section"], &half).await;
    run_to_json(
        &scratch,
        &dir("fixtures/features/leak"),
        &["--tags", "@deliberate-leak"],
        &other,
    )
    .await;
    let html = scratch.join("never.html");

    let refused = |args: &[&Path], says: &[&str]| {
        let out = merge(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        for text in says {
            assert!(stderr.contains(text), "{text:?} not in {stderr}");
        }
        assert!(!html.exists(), "nothing is written");
    };
    let name = |path: &Path| path.display().to_string();
    refused(
        &[&whole, &half, Path::new("--html"), &html],
        &[
            &format!(
                "{} and {} both hold the scenario",
                name(&half),
                name(&whole)
            ),
            "sections.feature:",
            "Section 9 can be set",
        ],
    );
    refused(
        &[&whole, &other, Path::new("--html"), &html],
        &[
            &format!(
                "{} is a run of other features than {}",
                name(&other),
                name(&whole)
            ),
            "merge the runs of one suite",
        ],
    );
    let garbage = scratch.join("garbage.json");
    std::fs::write(&garbage, "{\"format\": \"something else\"}").unwrap();
    refused(
        &[&whole, &garbage, Path::new("--html"), &html],
        &[&name(&garbage), "something else"],
    );
    refused(
        &[
            &whole,
            &scratch.join("missing.json"),
            Path::new("--html"),
            &html,
        ],
        &[&format!(
            "cannot read {}",
            name(&scratch.join("missing.json"))
        )],
    );
    // Nothing asked for: said before anything is read.
    let out = merge(&[&whole]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to write"));
}
