//! The report of a run split in two: each half writes its model with
//! `--report-json`, `discos-sim report merge` joins them, and the result is
//! the report of the whole run (same scenarios, statuses and counts, in
//! HTML and JUnit too). Halves that cannot make one report (the same
//! scenario twice, another suite) are refused, naming the file.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;

use discos_acceptance::acceptance::{self, Options, Status};
use discos_acceptance::protocol::contract::Strength;
use discos_acceptance::report;
use discos_acceptance::report::Report;

const BIN: &str = env!("CARGO_BIN_EXE_discos-sim");

use crate::ONE_RUN_AT_A_TIME;

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
    let _turn = ONE_RUN_AT_A_TIME.lock().await;
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
        outcome.report.passes(),
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
    // A failed SHOULD of a run that is not strict is no JUnit failure.
    assert_eq!(occurrences(&ours, "<failure "), whole.tally().failed());
    assert_eq!(occurrences(&ours, "NON-STRICT ("), whole.tally().non_strict);
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
            "Section 20 can be set",
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

/// The graded fixtures against fixtures/graded_backend.py breaking
/// `breaks`, their model written to `json` and read back.
async fn graded_run(scratch: &Scratch, breaks: &str, extra: &[&str], json: &Path) -> Report {
    let target = format!(
        "cmd:python3 {} --breaks {breaks} --port {{port}}",
        dir("fixtures/graded_backend.py").display()
    );
    let mut args = vec!["--target", target.as_str()];
    args.extend_from_slice(extra);
    run_to_json(scratch, &dir("fixtures/features/graded"), &args, json).await
}

/// The `href="#…"` of a page, each with whether an element of the page has
/// that id.
fn own_links(page: &str) -> Vec<(String, bool)> {
    page.split("href=\"#")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|id| (id.to_owned(), page.contains(&format!(" id=\"{id}\""))))
        .collect()
}

/// A graded run keeps its grading in every report: the saved model and a
/// merge of it, JUnit (a failed MUST typed as such with its whole reason, a
/// failed SHOULD a passed case saying it is non-strict, unless strict), and
/// the page, whose verdict, requirement rows and clause links all work
/// wherever it is opened: it carries the contract.
#[tokio::test(flavor = "multi_thread")]
async fn a_graded_run_keeps_its_grading_in_every_report() {
    let scratch = Scratch::new("report-graded");
    let must = graded_run(&scratch, "must", &[], &scratch.join("must.json")).await;
    let (feature, failed) = must
        .scenarios()
        .find(|(_, s)| s.status() == Status::Failed)
        .expect("a scenario failed");
    assert_eq!(
        failed.graded,
        Some(report::Graded {
            id: "ids-as-written".to_owned(),
            strength: Strength::Must
        })
    );
    assert_eq!(failed.verdict(), report::Verdict::FailedMust);
    assert!(!must.passes());
    assert!(!must.requirements.is_empty(), "the model carries the table");
    let sentence = format!(
        "DISCOS cannot drive this backend: MUST ids-as-written failed in {}:{}.",
        feature.path.as_ref().unwrap().display(),
        failed.line
    );
    assert_eq!(must.headline().sentence(), sentence);

    // Merged, it says the same, in every file, and fails.
    let (html, junit, merged_json) = (
        scratch.join("elsewhere/must.html"),
        scratch.join("must.xml"),
        scratch.join("merged.json"),
    );
    std::fs::create_dir_all(html.parent().unwrap()).unwrap();
    let out = merge(&[
        &scratch.join("must.json"),
        Path::new("--html"),
        &html,
        Path::new("--junit"),
        &junit,
        Path::new("--report-json"),
        &merged_json,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.ends_with(&format!("{sentence}\n")), "{stdout}");
    let merged = report::read_json(&merged_json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(merged.tally(), must.tally());
    assert_eq!(merged.headline(), must.headline());

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(occurrences(&xml, "<failure "), 1, "{xml}");
    let failure = xml
        .split("<failure ")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap();
    assert!(
        failure.contains("type=\"MUST ids-as-written\""),
        "{failure}"
    );
    // The whole reason, its second line (the reply itself) included.
    assert!(
        failure.contains("MUST ids-as-written — docs/protocol.md#get-configuration: expected the configuration to be &quot;K2000&quot;, but it is &quot;k2000&quot; !get-configuration,ok,k2000"),
        "{failure}"
    );

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<section id=\"verdict\" class=\"cannot\">"),
        "{page}"
    );
    assert!(page.contains("<b id=\"count-failed\">1</b>"));
    let row = page
        .split("<tr id=\"r-ids-as-written\"")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("the requirement has its row");
    assert!(row.contains("FAILED in 1 of 1 scenario(s)"), "{row}");
    // Every link within the page has its target in the page, the clauses of
    // the contract first: nothing points at a file beside the page.
    let links = own_links(&page);
    let clauses: Vec<&(String, bool)> = links
        .iter()
        .filter(|(id, _)| id.starts_with("c-"))
        .collect();
    assert!(clauses.len() > 40, "{clauses:?}");
    assert!(links.iter().any(|(id, _)| id == "c-get-configuration"));
    let dead: Vec<&String> = links
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(id, _)| id)
        .collect();
    assert!(dead.is_empty(), "links to nothing: {dead:?}");
    assert!(
        !page.contains("href=\"docs/") && !page.contains("href=\"../"),
        "no relative file links"
    );

    // A failed SHOULD: passed in JUnit, saying why it is non-strict; the
    // run and the merge pass, unless strict.
    let should = graded_run(&scratch, "should", &[], &scratch.join("should.json")).await;
    assert_eq!(should.tally().non_strict, 1);
    assert!(should.passes() && should.headline().can_drive());
    let junit = scratch.join("should.xml");
    let out = merge(&[&scratch.join("should.json"), Path::new("--junit"), &junit]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(occurrences(&xml, "<failure "), 0, "{xml}");
    assert!(
        xml.contains("<system-err><![CDATA[NON-STRICT (SHOULD version-reply): a SHOULD failed"),
        "{xml}"
    );
    let out = merge(&[
        &scratch.join("should.json"),
        Path::new("--strict"),
        Path::new("--junit"),
        &junit,
    ]);
    assert_eq!(out.status.code(), Some(1), "merge --strict fails on it");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<failure type=\"SHOULD version-reply\""),
        "{xml}"
    );

    // A strict run's model is strict, and so is its merge.
    let strict = graded_run(
        &scratch,
        "should",
        &["--strict"],
        &scratch.join("strict.json"),
    )
    .await;
    assert!(strict.strict && !strict.passes());
    let out = merge(&[&scratch.join("strict.json"), Path::new("--junit"), &junit]);
    assert_eq!(out.status.code(), Some(1));
}

/// The features `discos-sim check` carries are unpacked to a temporary
/// folder, gone after the run: no report names it. They are `features/…`,
/// as in the project.
#[test]
fn a_check_report_names_no_temporary_folder() {
    let scratch = Scratch::new("report-check-paths");
    let (html, json, junit) = (
        scratch.join("check.html"),
        scratch.join("check.json"),
        scratch.join("check.xml"),
    );
    let out = Command::new(BIN)
        .args(["check", "--name", "^A new connection is greeted"])
        .arg("--html")
        .arg(&html)
        .arg("--report-json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .env_remove("DISCOS_TARGET")
        .output()
        .expect("discos-sim check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for file in [&html, &json, &junit] {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !text.contains("discos-check-"),
            "{} names the temporary folder:\n{text}",
            file.display()
        );
    }
    let report = report::read_json(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.suite.root, Path::new("features"));
    let (feature, _) = report.scenarios().next().expect("it ran");
    assert_eq!(
        feature.path.as_deref(),
        Some(Path::new("features/handshake.feature"))
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("file(s) in <code>features</code>"), "{page}");
}
