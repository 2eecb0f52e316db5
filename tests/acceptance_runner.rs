//! The acceptance runner itself: the teardown check catches a leak, undefined
//! steps get snippets, @wip and @fresh are honoured, targets are checked.

use clap::Parser;
use std::path::{Path, PathBuf};

use discos_acceptance::acceptance::{self, Options, Outcome, Status};
use discos_acceptance::backend::HandlerKind;
use discos_acceptance::server::{Config, Server};

/// Runs take over the panic hook while they run; one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn dir(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The names of the scenarios a run ran, in order.
fn scenario_names(outcome: &Outcome) -> Vec<String> {
    outcome
        .report
        .scenarios()
        .map(|(_, s)| s.name.clone())
        .collect()
}

async fn run(args: &[&str], features: &Path) -> Outcome {
    let _turn = ONE_AT_A_TIME.lock().await;
    let artifacts = std::env::temp_dir().join(format!("discos-artifacts-{}", std::process::id()));
    let artifacts = artifacts.to_string_lossy().into_owned();
    let mut argv = vec!["acceptance", "--artifacts", &artifacts];
    argv.extend_from_slice(args);
    let options = Options::try_parse_from(argv).expect("options parse");
    acceptance::run(options, features)
        .await
        .expect("the run starts")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leaked_connection_fails_the_scenario_and_is_named() {
    let outcome = run(&["--tags", "@deliberate-leak"], &dir("features")).await;
    assert!(!outcome.passed, "a leak must fail the run");
    let (_, scenario) = outcome
        .report
        .scenarios()
        .next()
        .expect("the leak scenario ran");
    assert_eq!(scenario.status(), Status::Failed);
    let failure = scenario
        .hook_failure
        .as_deref()
        .expect("the teardown failed");
    assert!(
        failure.contains("1 connection(s) still open on the backend after every client closed"),
        "{failure}"
    );
    assert!(
        scenario.steps.iter().all(|s| s.status == Status::Passed),
        "only the teardown fails"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undefined_step_fails_the_run_with_a_snippet() {
    let outcome = run(&[], &dir("fixtures/features/undefined")).await;
    assert!(!outcome.passed);
    let snippet = outcome
        .report
        .snippets
        .first()
        .expect("a snippet")
        .to_string();
    assert!(
        snippet.starts_with("#[when(expr = \"the operator points the dish at {string} for {int} seconds\")]\nasync fn the_operator_points_the_dish_at_for_seconds(world: &mut DiscosWorld, text1: String, number2: i64)"),
        "{snippet}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wip_scenarios_are_left_out_unless_asked_for_and_do_not_fail() {
    let outcome = run(&[], &dir("fixtures/features/wip")).await;
    assert!(outcome.passed);
    assert_eq!(scenario_names(&outcome), ["Already works"]);

    let outcome = run(&["--tags", "@wip"], &dir("fixtures/features/wip")).await;
    assert!(
        outcome.passed,
        "an undefined step under @wip does not fail the run"
    );
    let (_, scenario) = outcome.report.scenarios().next().unwrap();
    assert_eq!(scenario.name, "Not written yet");
    assert_eq!(scenario.status(), Status::Skipped);
    assert_eq!(outcome.report.snippets.len(), 1);

    // An expression that does not name @wip still leaves it out.
    let outcome = run(&["--tags", "not @browser"], &dir("fixtures/features/wip")).await;
    assert_eq!(scenario_names(&outcome), ["Already works"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_backend_runs_everything_but_fresh_scenarios() {
    let server = Server::start(Config::default(), HandlerKind::Simulator.build(None))
        .await
        .unwrap();
    let target = format!("tcp://{}", server.local_addr());
    let outcome = run(&["--target", &target], &dir("features")).await;
    let skipped: Vec<_> = outcome
        .report
        .scenarios()
        .filter(|(_, s)| s.skip_reason.is_some())
        .collect();
    assert!(!skipped.is_empty());
    for (_, scenario) in &skipped {
        assert!(
            scenario.tags.iter().any(|t| t == "fresh"),
            "{}",
            scenario.name
        );
        assert!(
            scenario
                .skip_reason
                .as_deref()
                .unwrap()
                .contains("needs a fresh backend")
        );
    }
    let failed: Vec<_> = outcome
        .report
        .scenarios()
        .filter(|(_, s)| s.status() == Status::Failed)
        .map(|(f, s)| {
            format!(
                "{} / {}: {:?}",
                f.name,
                s.name,
                s.steps.iter().find_map(|s| s.message.clone())
            )
        })
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(outcome.passed);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_shows_features_scenarios_and_failures() {
    let html = std::env::temp_dir().join(format!("discos-report-{}.html", std::process::id()));
    let html_arg = html.to_string_lossy().into_owned();
    let outcome = run(
        &["--tags", "@deliberate-leak or @fresh", "--html", &html_arg],
        &dir("features"),
    )
    .await;
    assert!(!outcome.passed);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h2>Feature: Verified teardown</h2>"));
    assert!(page.contains("A connection leaked on purpose fails the teardown"));
    assert!(page.contains("still open on the backend"));
    assert!(page.contains("Feature: Timed start and stop"));
    assert!(page.contains("passed</span>"));
    std::fs::remove_file(html).unwrap();
}

#[test]
fn bad_targets_are_refused_before_anything_runs() {
    for (target, expected) in [
        ("simulator", "unknown target 'simulator'"),
        ("cmd:backend --port 80", "has no {port}"),
        ("tcp://localhost", "has no port"),
    ] {
        let error = Options::try_parse_from(["acceptance", "--target", target]).unwrap_err();
        assert!(error.to_string().contains(expected), "{target}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_browser_step_leaves_the_page_behind_linked_from_the_report() {
    use discos_acceptance::acceptance::browser::Installation;
    if let Err(missing) = Installation::find() {
        if std::env::var("DISCOS_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("DISCOS_REQUIRE_BROWSER=1 but {missing}");
        }
        eprintln!("skipped: {missing}");
        return;
    }
    let base = std::env::temp_dir().join(format!("discos-browser-report-{}", std::process::id()));
    let html = base.join("report.html");
    let html_arg = html.to_string_lossy().into_owned();
    let outcome = run(&["--html", &html_arg], &dir("fixtures/features/browser")).await;
    assert!(
        !outcome.passed,
        "the scenario expects what the page never shows"
    );
    let (_, scenario) = outcome.report.scenarios().next().expect("it ran");
    assert_eq!(scenario.status(), Status::Failed);
    let png = scenario
        .artifacts
        .iter()
        .find(|a| a.extension().is_some_and(|e| e == "png"))
        .expect("a screenshot was saved");
    let page = scenario
        .artifacts
        .iter()
        .find(|a| a.extension().is_some_and(|e| e == "html"))
        .expect("the page's HTML was saved");
    assert!(std::fs::read(png).unwrap().starts_with(b"\x89PNG"));
    let saved = std::fs::read_to_string(page).unwrap();
    assert!(
        saved.contains("!version,ok,1.4"),
        "the page as it was: {saved}"
    );
    let report = std::fs::read_to_string(&html).unwrap();
    let name = png.file_name().unwrap().to_string_lossy();
    assert!(report.contains(&*name), "the report links {name}");
    std::fs::remove_dir_all(base).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_target_runs_the_features_and_a_failing_one_says_why() {
    let simulator = env!("CARGO_BIN_EXE_discos-sim");
    let target = format!("cmd:{simulator} serve --port {{port}}");
    let outcome = run(&["--target", &target], &dir("fixtures/features/wip")).await;
    assert!(outcome.passed, "discos-sim started per scenario conforms");

    let broken = "cmd:echo cannot open the receiver {port}; exit 3";
    let outcome = run(&["--target", broken], &dir("fixtures/features/wip")).await;
    assert!(!outcome.passed);
    let (_, scenario) = outcome.report.scenarios().next().expect("it ran");
    let message = scenario
        .steps
        .iter()
        .find_map(|step| step.message.clone())
        .expect("the failing step says why");
    assert!(message.contains("exited before it was ready"), "{message}");
    assert!(message.contains("exit status: 3"), "{message}");
    assert!(message.contains("cannot open the receiver"), "{message}");
}
