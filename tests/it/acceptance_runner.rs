//! The acceptance runner itself: the teardown check catches a leak, undefined
//! steps get the nearest defined steps and snippets that compile, @wip,
//! @fresh and @simulator are honoured, targets are checked before any
//! scenario, a run that selects nothing fails, every failure is recapped
//! with its file and line, a dry run starts nothing, shards split a suite,
//! `--steps` lists the library. Inner runs print into their outcome, not
//! into this test's output.

use crate::browser_support;

use clap::Parser;
use std::path::{Path, PathBuf};

use discos_acceptance::acceptance::{self, Options, Outcome, Status};
use discos_acceptance::authoring::Snippet;
use discos_acceptance::authoring::catalogue::Home;
use discos_acceptance::backend::HandlerKind;
use discos_acceptance::orchestration::reaper;
use discos_acceptance::poll::{Pace, Poller};
use discos_acceptance::server::{Config, Server};

use crate::ONE_RUN_AT_A_TIME;
use crate::orchestration::process_group;

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

/// A run whose output is kept in its outcome.
async fn try_run(args: &[&str], features: &Path) -> anyhow::Result<Outcome> {
    let _turn = ONE_RUN_AT_A_TIME.lock().await;
    let artifacts = std::env::temp_dir().join(format!("discos-artifacts-{}", std::process::id()));
    // Gone when this test process ends, however it ends.
    reaper().remove_at_exit(&artifacts).expect("registered");
    let artifacts = artifacts.to_string_lossy().into_owned();
    let mut argv = vec!["acceptance"];
    if !args.contains(&"--artifacts") {
        argv.extend(["--artifacts", &artifacts]);
    }
    argv.extend_from_slice(args);
    let options = Options::try_parse_from(argv).expect("options parse");
    acceptance::run_quietly(options, features).await
}

async fn run(args: &[&str], features: &Path) -> Outcome {
    try_run(args, features).await.expect("the run starts")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leaked_connection_fails_the_scenario_and_is_named() {
    let outcome = run(
        &["--tags", "@deliberate-leak"],
        &dir("fixtures/features/leak"),
    )
    .await;
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
    // The recap names the file as the user knows it, the line and the
    // whole reason, every line of it.
    let recap = outcome
        .output
        .split("Failed scenarios:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no recap: {}", outcome.output));
    assert!(
        recap.starts_with(
            "  fixtures/features/leak/teardown.feature:14  A connection leaked on purpose fails the teardown\n      in the teardown: the scenario"
        ),
        "{}",
        outcome.output
    );
    assert!(
        recap.contains(
            "\n        - 1 connection(s) still open on the backend after every client closed\n"
        ),
        "{}",
        outcome.output
    );
    assert!(!outcome.output.contains("panicked"), "{}", outcome.output);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undefined_step_fails_the_run_with_a_snippet() {
    let outcome = run(&[], &dir("fixtures/features/undefined")).await;
    assert!(!outcome.passed);
    let snippet = outcome.snippets.first().expect("a snippet").to_string();
    assert!(
        snippet.contains("#[when(expr = \"the operator points the dish at {string} for {int} seconds\")]\nasync fn the_operator_points_the_dish_at_for_seconds(\n    world: &mut DiscosWorld,\n    text1: String,\n    number2: i64,\n) {\n"),
        "{snippet}"
    );
    // Cucumber stops the scenario at its first undefined step; the run
    // still names the one after it.
    assert_eq!(outcome.snippets.len(), 2, "{}", outcome.output);
    for place in [
        "undefined.feature:6  When the operator points the dish at \"Cassiopeia A\" for 30 seconds\n",
        "undefined.feature:7  Then the reply is ok\n",
    ] {
        assert!(
            outcome.output.contains(place),
            "{place}: {}",
            outcome.output
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn undefined_steps_name_the_nearest_steps_then_code_that_compiles() {
    let html = scratch_file("undefined.html");
    let html_arg = html.display().to_string();
    let outcome = run(
        &["--snippets", "--html", &html_arg],
        &dir("fixtures/features/snippets"),
    )
    .await;
    assert!(!outcome.passed);
    let mut snippets = outcome.snippets.clone();
    assert_eq!(snippets.len(), 10, "{}", outcome.output);
    snippets.sort_by_key(|s| s.line);

    // The slip names the step it slipped from; the new sentence, none.
    let slip = snippets
        .iter()
        .find(|s| s.step == "When the client send \"status\"")
        .expect("the slip's snippet");
    let nearest = slip.neighbours.first().expect("a neighbour");
    assert_eq!(
        (nearest.keyword.as_str(), nearest.phrase.as_str()),
        ("When", "{client} sends {string}")
    );
    assert_eq!(nearest.location.file, "src/acceptance/steps/exchange.rs");
    let new = snippets
        .iter()
        .find(|s| s.step.contains("points the dish"))
        .expect("the new sentence's snippet");
    assert!(new.neighbours.is_empty(), "{:?}", new.neighbours);

    // The terminal says it before any code, with where the step is.
    let output = &outcome.output;
    let meant = output
        .find("fixtures/features/snippets/snippets.feature:41  When the client send \"status\"\n      did you mean  When {client} sends {string}  (src/acceptance/steps/exchange.rs:")
        .unwrap_or_else(|| panic!("{output}"));
    let code = output
        .find("Code to start them from; it compiles as it is in src/acceptance/steps/mine.rs:")
        .unwrap_or_else(|| panic!("{output}"));
    assert!(meant < code, "{output}");

    // The block to paste is the one tests/steps.rs and the library's unit
    // tests compile (fixtures/snippets/mine.rs).
    let block = Snippet::paste(&snippets, Home::Downstream);
    let compiled = std::fs::read_to_string(dir("fixtures/snippets/mine.rs")).unwrap();
    assert!(
        block == compiled,
        "the generated block differs from fixtures/snippets/mine.rs; if the change is meant, write this there:\n{block}"
    );
    assert!(
        output.contains(
            &Snippet::paste(&snippets, Home::Library)["// src/acceptance/steps/mine.rs".len()..]
        ),
        "the run prints the same code: {output}"
    );

    // The report says the same as sentences: the step, where it is said,
    // what may have been meant; the code comes after, folded.
    let slip = outcome
        .report
        .undefined
        .iter()
        .find(|u| u.step == "When the client send \"status\"")
        .expect("the slip, as the report keeps it");
    assert_eq!(slip.places, ["snippets.feature:41"]);
    assert!(
        slip.neighbours[0]
            .starts_with("When {client} sends {string}  (src/acceptance/steps/exchange.rs:"),
        "{:?}",
        slip.neighbours
    );
    let page = std::fs::read_to_string(&html).unwrap();
    let section = page
        .split("<section id=\"undefined\">")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .expect("the report has a section of undefined steps");
    let entry = section
        .split("<div class=\"undefined-step\">")
        .find(|entry| entry.contains("When the client send &quot;status&quot;"))
        .unwrap_or_else(|| panic!("{section}"));
    assert!(entry.contains(">snippets.feature:41</a>"), "{entry}");
    assert!(
        entry.contains("Did you mean:<ul><li><code>When {client} sends {string}"),
        "{entry}"
    );
    let (sentence, code) = entry.split_once("<details>").expect("the code is folded");
    assert!(!sentence.contains("async fn"), "{entry}");
    assert!(code.contains("async fn"), "{entry}");
}

// ---------------------------------------------------------------- dry run

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_checks_every_step_and_starts_nothing() {
    // A target that would never get ready: a dry run does not start it.
    let started = std::time::Instant::now();
    let outcome = run(
        &[
            "--dry-run",
            "--target",
            "cmd:sleep 3600 {port}",
            "--tags",
            "not @wip",
        ],
        &dir("features"),
    )
    .await;
    assert!(outcome.passed, "{}", outcome.output);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let verdict = outcome
        .output
        .lines()
        .find(|l| l.starts_with("Dry run: "))
        .unwrap_or_else(|| panic!("{}", outcome.output));
    assert!(
        verdict
            .ends_with("step(s): each matches exactly one step definition; nothing was started."),
        "{verdict}"
    );
    assert!(outcome.report.features.is_empty(), "no scenario ran");

    let outcome = run(&["--dry-run"], &dir("fixtures/features/snippets")).await;
    assert!(!outcome.passed);
    assert_eq!(outcome.snippets.len(), 10);
    let output = &outcome.output;
    assert!(
        output.contains("snippets.feature:41  When the client send \"status\"\n    no step definition matches it\n      did you mean  When {client} sends {string}  (src/acceptance/steps/exchange.rs:"),
        "{output}"
    );
    assert!(
        output.contains("Dry run: 10 scenario(s) in fixtures/features/snippets, 10 step(s): 10 match no step definition; nothing was started."),
        "{output}"
    );
    assert!(output.contains("(--snippets prints Rust code"), "{output}");

    // As in a run, @wip scenarios may have undefined steps.
    let outcome = run(
        &["--dry-run", "--tags", "@wip"],
        &dir("fixtures/features/wip"),
    )
    .await;
    assert!(outcome.passed, "{}", outcome.output);
    assert!(
        outcome
            .output
            .contains("no step definition matches it (allowed: the scenario is tagged @wip)"),
        "{}",
        outcome.output
    );

    let error = try_run(&["--dry-run", "--junit", "x.xml"], &dir("features/"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("--dry-run runs no scenario, so it writes no report"),
        "{error}"
    );
}

// ------------------------------------------------- features never vanish

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_feature_beside_good_ones_stops_the_run_the_dry_run_and_the_listing() {
    // misspelt.feature says "Scenerio:": Gherkin reads it as description,
    // so without the check its scenario would vanish and good.feature
    // would run alone, green.
    let malformed = dir("fixtures/features/malformed");
    let expected = "misspelt.feature:6:3: `Scenerio:` is not a keyword Gherkin knows — did you mean `Scenario:`?";
    for args in [&[][..], &["--dry-run"]] {
        let error = try_run(args, &malformed).await.unwrap_err().to_string();
        assert!(
            error.starts_with("a feature file cannot be run as written, so nothing was run:\n  "),
            "{args:?}: {error}"
        );
        assert!(error.contains(expected), "{args:?}: {error}");
    }
    let listing = run(&["--steps"], &malformed).await;
    assert!(!listing.passed);
    assert!(listing.output.contains(expected), "{}", listing.output);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_feature_file_runs_on_its_own() {
    let outcome = run(&[], &dir("features/handshake.feature")).await;
    assert!(outcome.passed, "{}", outcome.output);
    assert_eq!(outcome.report.features.len(), 1);
    assert_eq!(outcome.report.scenarios().count(), 5, "{}", outcome.output);
    // Its folder's neighbours are where it finds what it names.
    let outcome = run(&[], &dir("features/catalogue.feature")).await;
    assert!(outcome.passed, "{}", outcome.output);

    for (path, says) in [
        (
            "no/such.feature",
            "--features no/such.feature: there is no such file or folder",
        ),
        (
            "Cargo.toml",
            "--features Cargo.toml: neither a .feature file nor a folder of them",
        ),
    ] {
        let error = try_run(&[], Path::new(path)).await.unwrap_err().to_string();
        assert_eq!(error, says);
    }
}

// ----------------------------------------------------------------- shards

/// Each scenario a run reported, as `(feature file, line)`.
fn scenario_places(outcome: &Outcome) -> Vec<(String, usize)> {
    outcome
        .report
        .scenarios()
        .map(|(f, s)| {
            let file = f.path.as_deref().unwrap_or(Path::new("?"));
            (file.display().to_string(), s.line)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_together_run_every_scenario_exactly_once() {
    let many = dir("fixtures/features/many");
    let whole = run(&[], &many).await;
    let mut everything = scenario_places(&whole);
    everything.sort();
    assert_eq!(everything.len(), 40);
    let mut together = Vec::new();
    for index in 1..=3 {
        let shard = format!("{index}/3");
        let outcome = run(&["--shard", &shard], &many).await;
        assert!(outcome.passed, "{}", outcome.output);
        let places = scenario_places(&outcome);
        assert!(
            places.len() == 13 || places.len() == 14,
            "{shard}: {places:?}"
        );
        assert!(
            outcome.output.starts_with(&format!(
                "Shard {shard}: {} of the 40 selected scenario(s).\n",
                places.len()
            )),
            "{}",
            outcome.output
        );
        // The same split every time.
        let again = run(&["--shard", &shard, "--dry-run"], &many).await;
        assert!(
            again
                .output
                .contains(&format!("Dry run: {} scenario(s)", places.len())),
            "{}",
            again.output
        );
        together.extend(places);
    }
    together.sort();
    assert_eq!(together, everything, "each scenario in exactly one shard");

    // Scenarios this target skips are dealt too, and each shard reports its
    // own: the shards' dry runs add up to the whole one.
    let target = "tcp://127.0.0.1:9";
    let count = |output: &str| -> usize {
        output
            .lines()
            .find_map(|l| l.strip_prefix("Dry run: "))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{output}"))
    };
    let features = dir("features");
    let whole = run(&["--dry-run", "--target", target], &features).await;
    let mut sum = 0;
    for index in 1..=4 {
        let shard = format!("{index}/4");
        let outcome = run(
            &["--dry-run", "--target", target, "--shard", &shard],
            &features,
        )
        .await;
        sum += count(&outcome.output);
    }
    assert_eq!(sum, count(&whole.output));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shard_with_nothing_to_run_passes_saying_why() {
    let outcome = run(&["--shard", "3/3"], &dir("fixtures/features/wip")).await;
    assert!(outcome.passed, "{}", outcome.output);
    assert_eq!(outcome.report.scenarios().count(), 0);
    assert!(
        outcome.output.starts_with("Shard 3/3: no scenario; the run selects 1 scenario(s), fewer than 3 shards, and shard 1 runs it.\n"),
        "{}",
        outcome.output
    );
    // A run that selects nothing at all is still an error, shard or not.
    let error = try_run(
        &["--shard", "1/2", "--tags", "@no-such-tag"],
        &dir("features"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(error.contains("no scenario selected"), "{error}");
}

#[test]
fn bad_shards_are_usage_errors() {
    for (shard, expected) in [
        ("0/3", "shards are numbered from 1 to 3"),
        ("4/3", "shards are numbered from 1 to 3"),
        ("x", "'x' is not a shard: give it as I/N"),
        ("1/0", "1 or more shards"),
    ] {
        let error = Options::try_parse_from(["acceptance", "--shard", shard]).unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::ValueValidation,
            "{shard}"
        );
        assert!(error.to_string().contains(expected), "{shard}: {error}");
    }
}

// ---------------------------------------------------------------- --steps

#[tokio::test(flavor = "multi_thread")]
async fn steps_lists_the_step_library_with_the_runs_features() {
    let outcome = run(&["--steps"], &dir("fixtures/features/wip")).await;
    assert!(outcome.passed);
    let output = &outcome.output;
    assert!(output.starts_with("The step library: "), "{output}");
    assert!(
        output.contains("the 1 feature file(s) in fixtures/features/wip use 3 of them."),
        "{output}"
    );
    assert!(
        output.contains("  When {client} sends {string}\n      A request line as typed"),
        "{output}"
    );
    assert!(
        output.contains("used once: e.g. When the client sends \"version\"  (fixtures/features/wip/wip.feature:12)"),
        "{output}"
    );
    let outcome = run(&["--steps", "json"], &dir("fixtures/features/wip")).await;
    let json: serde_json::Value = serde_json::from_str(&outcome.output).expect("JSON");
    assert_eq!(json["feature_files"], 1);
    assert!(json["steps"].as_array().is_some_and(|s| s.len() > 50));
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
    assert_eq!(outcome.snippets.len(), 1);

    // An expression that does not name @wip still leaves it out.
    let outcome = run(&["--tags", "not @browser"], &dir("fixtures/features/wip")).await;
    assert_eq!(scenario_names(&outcome), ["Already works"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_backend_runs_everything_but_fresh_and_simulator_scenarios() {
    let server = Server::start(Config::default(), HandlerKind::Simulator.build(None))
        .await
        .unwrap();
    let target = format!("tcp://{}", server.local_addr());
    let outcome = run(
        &["--target", &target, "--tags", "not @browser"],
        &dir("features"),
    )
    .await;
    let skipped: Vec<_> = outcome
        .report
        .scenarios()
        .filter(|(_, s)| s.skip_reason.is_some())
        .collect();
    assert!(
        skipped
            .iter()
            .any(|(_, s)| s.tags.iter().any(|t| t == "fresh"))
    );
    assert!(
        skipped
            .iter()
            .any(|(_, s)| s.tags.iter().any(|t| t == "simulator"))
    );
    for (_, scenario) in &skipped {
        let reason = scenario.skip_reason.as_deref().unwrap();
        let fresh = scenario.tags.iter().any(|t| t == "fresh");
        let simulator = scenario.tags.iter().any(|t| t == "simulator");
        let embedded = scenario.tags.iter().any(|t| t == "embedded");
        let proxy = scenario.tags.iter().any(|t| t == "proxy");
        let role = scenario
            .tags
            .iter()
            .any(|t| t == "sardara" || t == "skarab");
        assert!(
            (fresh && reason.contains("needs a fresh backend"))
                || (simulator && reason.contains("the simulator's own behaviour"))
                || (embedded && reason.contains("only on the embedded target"))
                || (proxy && reason.contains("checks the proxy put in front of the backend"))
                || (role && reason.contains("plays")),
            "{}: {reason}",
            scenario.name
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

    // Named in --tags, @simulator scenarios run on such a target too, but
    // for those that look inside the embedded simulator.
    let outcome = run(
        &["--target", &target, "--tags", "@simulator and not @fresh"],
        &dir("features"),
    )
    .await;
    let embedded_only = |tags: &[String]| tags.iter().any(|t| t == "embedded");
    assert!(
        outcome
            .report
            .scenarios()
            .all(|(_, s)| s.skip_reason.is_some() == embedded_only(&s.tags))
    );
    assert!(outcome.passed, "{}", outcome.output);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_shows_features_scenarios_and_failures() {
    let html = std::env::temp_dir().join(format!("discos-report-{}.html", std::process::id()));
    reaper().remove_at_exit(&html).expect("registered");
    let html_arg = html.to_string_lossy().into_owned();
    let outcome = run(
        &[
            "--tags",
            "@deliberate-leak or not @wip",
            "--html",
            &html_arg,
        ],
        &dir("fixtures/features/leak"),
    )
    .await;
    assert!(!outcome.passed);
    let page = std::fs::read_to_string(&html).unwrap();
    std::fs::remove_file(html).unwrap();
    assert!(page.contains("<h3>Feature: Verified teardown</h3>"));
    assert!(page.contains("A connection leaked on purpose fails the teardown"));
    assert!(page.contains("still open on the backend"));
    assert!(page.contains("A scenario that closes everything passes its teardown"));
    assert!(page.contains("<span class=\"status\">passed</span>"));
    assert!(page.contains("<span class=\"status\">FAILED</span>"));
    // A reviewer who has not read the README is told what the tags and the
    // target are, and which time is which.
    let legend = page
        .split("<section id=\"legend\">")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .expect("a legend");
    assert!(
        legend.contains("<dt>Target embedded</dt><dd>the simulator"),
        "{legend}"
    );
    assert!(
        legend.contains("<dt>@deliberate-leak</dt><dd>leaks a connection on purpose"),
        "{legend}"
    );
    // Coverage gaps are told from cells that cannot be gaps, quietly.
    assert!(
        page.contains("<td class=\"gap\" data-code=\"fail\">0 <small>(never refused)</small></td>"),
        "a command never refused is a gap"
    );
    assert!(
        page.contains("<td class=\"na\" data-code=\"ok\" title=\"cannot occur: a name the contract does not know is refused, never done\">—</td>"),
        "an unknown name's ok is no gap"
    );
    assert!(
        page.contains(".coverage td.gap { background: #fef7e0;"),
        "in a quiet colour"
    );
    assert!(
        page.contains("wall time"),
        "the run's time is said to be wall time"
    );
    assert!(page.contains("<th>Scenario time (summed)</th>"));
    // The closing of every connection at teardown is folded away from the
    // scenario's own exchanges.
    let passing = page
        .split("<span class=\"name\">A scenario that closes everything passes its teardown</span>")
        .nth(1)
        .and_then(|rest| rest.split("</details>\n").next())
        .expect("the passing scenario");
    assert!(
        passing.contains("<details class=\"folded\"><summary>at teardown, "),
        "{passing}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_selects_no_scenario_fails_naming_the_filter() {
    let features = dir("features");
    for (args, expected) in [
        (
            &["--name", "no scenario is called this"][..],
            "--name 'no scenario is called this' matches no scenario's name",
        ),
        (
            &["--tags", "@no-such-tag"][..],
            "--tags '@no-such-tag' matches no scenario's tags",
        ),
    ] {
        let error = try_run(args, &features).await.unwrap_err().to_string();
        assert!(error.contains(expected), "{args:?}: {error}");
        assert!(error.contains("no scenario selected"), "{args:?}: {error}");
    }
    let empty = std::env::temp_dir().join(format!("discos-empty-features-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let error = try_run(&[], &empty).await.unwrap_err().to_string();
    std::fs::remove_dir_all(&empty).unwrap();
    assert!(error.contains("there is no scenario to run"), "{error}");
    assert!(error.contains("(0 scenario(s) there)"), "{error}");

    let error = try_run(&["-c", "0"], &features)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("--concurrency 0"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_never_gets_ready_stops_the_run_once_saying_why() {
    let started = std::time::Instant::now();
    let error = try_run(
        &["--target", "cmd:sleep 3600 {port}", "--ready-timeout", "1s"],
        &dir("features"),
    )
    .await
    .unwrap_err()
    .to_string();
    // One error for the whole run, not one timeout per scenario.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{error}"
    );
    assert!(
        error.contains("the target cmd:sleep 3600 {port} did not get ready"),
        "{error}"
    );
    assert!(error.contains("still waiting for"), "{error}");

    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let target = format!("tcp://{closed}");
    let error = try_run(&["--target", &target], &dir("features"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("the target {target} cannot be reached")),
        "{error}"
    );
}

#[test]
fn bad_targets_are_refused_before_anything_runs() {
    for (target, expected) in [
        ("simulator", "unknown target 'simulator'"),
        ("tcp://localhost", "has no port"),
    ] {
        let error = Options::try_parse_from(["acceptance", "--target", target]).unwrap_err();
        assert!(error.to_string().contains(expected), "{target}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_browser_step_leaves_the_page_behind_linked_from_the_report() {
    if browser_support::installation().is_none() {
        return;
    }
    let base = std::env::temp_dir().join(format!("discos-browser-report-{}", std::process::id()));
    reaper().remove_at_exit(&base).expect("registered");
    let html = base.join("report.html");
    let html_arg = html.to_string_lossy().into_owned();
    let artifacts = base.join("artifacts").to_string_lossy().into_owned();
    let outcome = run(
        &["--html", &html_arg, "--artifacts", &artifacts],
        &dir("fixtures/features/browser"),
    )
    .await;
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
    // The failure shows the page's text as lines, and does not claim that
    // nothing was exchanged: the page shows the exchange.
    let message = scenario
        .steps
        .iter()
        .find_map(|step| step.message.clone())
        .expect("the failed step's message");
    assert!(
        message.contains("the page shows:\n    DISCOS console\n"),
        "{message}"
    );
    assert!(!message.contains("\\n"), "no literal \\n: {message}");
    assert!(
        !message.contains("nothing was sent or received.")
            && !report.contains("nothing was sent or received"),
        "{message}"
    );
    std::fs::remove_dir_all(base).unwrap();
}

/// Two users open the console at once and the second browser will not
/// start: the first is closed again, the step names both users and why, and
/// no browser process or folder is left.
#[test]
fn browsers_started_together_are_closed_together_when_one_fails() {
    use discos_acceptance::acceptance::browser::processes_mentioning;
    let Some(installation) = browser_support::installation() else {
        return;
    };
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_discos-sim"))
        .arg("check")
        .arg("--features")
        .arg(dir("fixtures/features/two-browsers"))
        .env_remove("DISCOS_TARGET")
        .env(
            "DISCOS_BROWSER",
            dir("fixtures/orchestration/second_browser_fails.sh"),
        )
        .env("REAL_BROWSER", installation.browser(true))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("discos-sim check starts");
    // The run's browsers live in discos-browser-PID-N.
    let marker = format!("discos-browser-{}-", child.id());
    let output = child.wait_with_output().expect("the run ends");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains(r#"the browsers of "Anna" and "Bruno" could not all be started"#),
        "{said}"
    );
    assert!(said.contains("this browser refuses to start"), "{said}");
    assert!(!said.contains("still alive"), "nothing was left: {said}");
    let folders: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&marker))
        .collect();
    assert!(folders.is_empty(), "folders left: {folders:?}");
    let processes = processes_mentioning(&marker);
    assert!(processes.is_empty(), "processes left: {processes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_target_runs_the_features_and_a_failing_one_says_why() {
    let simulator = env!("CARGO_BIN_EXE_discos-sim");
    let target = format!("cmd:{simulator} serve --port {{port}}");
    let outcome = run(&["--target", &target], &dir("fixtures/features/wip")).await;
    assert!(outcome.passed, "discos-sim started per scenario conforms");

    let broken = "cmd:echo cannot open the receiver {port}; exit 3";
    let error = try_run(&["--target", broken], &dir("fixtures/features/wip"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("exited before it was ready"), "{error}");
    assert!(error.contains("exit status: 3"), "{error}");
    assert!(error.contains("cannot open the receiver"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_reaches_the_embedded_simulator_and_a_command_backend() {
    let features = dir("fixtures/features/profile");
    let outcome = run(&["--profile", "sardara"], &features).await;
    assert!(outcome.passed, "SK77 has 14 inputs with Sardara's profile");
    let outcome = run(&[], &features).await;
    let (_, scenario) = outcome.report.scenarios().next().expect("the scenario");
    let reason = scenario.skip_reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("with --profile sardara"),
        "without it, the simulator has no SK77 of 14 inputs, and the @sardara scenario is skipped saying so: {reason:?}"
    );
    let simulator = env!("CARGO_BIN_EXE_discos-sim");
    let target = format!("cmd:{simulator} serve --port {{port}}");
    let outcome = run(&["--profile", "sardara", "--target", &target], &features).await;
    assert!(outcome.passed, "a cmd: backend reads the profile's file");
    let error = Options::try_parse_from(["acceptance", "--profile", "roach"]).unwrap_err();
    assert!(
        error.to_string().contains("unknown profile 'roach'"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discos_role_scenarios_need_their_profile_or_their_tag() {
    // On the embedded target: only with the role's profile.
    let features = dir("features");
    let sardara = ["--tags", "@sardara"];
    let without = run(&sardara, &features).await;
    assert!(without.passed, "{}", without.output);
    let skipped: Vec<String> = without
        .report
        .scenarios()
        .filter_map(|(_, s)| s.skip_reason.clone())
        .collect();
    assert_eq!(
        skipped.len(),
        without.report.scenarios().count(),
        "{}",
        without.output
    );
    assert!(
        skipped.iter().all(|reason| reason
            == "@sardara: it needs Sardara's configurations, which the embedded simulator has with --profile sardara"),
        "{skipped:?}"
    );
    let with = run(&["--profile", "sardara", "--tags", "@sardara"], &features).await;
    assert!(with.passed, "{}", with.output);
    assert!(with.report.count(Status::Passed) >= 9, "{}", with.output);
    assert_eq!(with.report.count(Status::Skipped), 0, "{}", with.output);
    let skarab = run(&["--profile", "skarab", "--tags", "@skarab"], &features).await;
    assert!(skarab.passed, "{}", skarab.output);
    assert!(
        skarab.report.count(Status::Passed) >= 4,
        "{}",
        skarab.output
    );

    // Against another backend: when --tags names the role (or --profile
    // gives a cmd: backend the configurations), not otherwise.
    let simulator = env!("CARGO_BIN_EXE_discos-sim");
    let target = format!("cmd:{simulator} serve --port {{port}}");
    let unnamed = run(
        &["--target", &target, "--name", "Skarab's shift"],
        &features,
    )
    .await;
    let (_, scenario) = unnamed.report.scenarios().next().expect("the scenario");
    assert!(
        scenario
            .skip_reason
            .as_deref()
            .is_some_and(|r| r.contains("select it with --tags @skarab")),
        "{}",
        unnamed.output
    );
    let one = "@skarab and @must:set-shift";
    let named = run(&["--target", &target, "--tags", one], &features).await;
    assert!(named.passed, "{}", named.output);
    assert_eq!(named.report.count(Status::Passed), 1, "{}", named.output);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_without_its_port_is_refused_unless_it_announces_one() {
    let error = try_run(&["--target", "cmd:backend --port 80"], &dir("features"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("has no {port}"), "{error}");

    // Told to pick a port, the simulator announces it; the pattern reads it.
    let simulator = env!("CARGO_BIN_EXE_discos-sim");
    let target = format!("cmd:{simulator} serve --port 0");
    let outcome = run(
        &[
            "--target",
            &target,
            "--ready-when",
            r"listening on 127\.0\.0\.1:(\d+)",
        ],
        &dir("fixtures/features/wip"),
    )
    .await;
    assert!(outcome.passed, "{}", outcome.output);

    // The independent Python backend does the same (README's example).
    let python = format!(
        "cmd:python3 {} --port 0",
        dir("fixtures/python_backend.py").display()
    );
    let outcome = run(
        &[
            "--target",
            &python,
            "--ready-when",
            r"listening on [^:]+:(\d+)",
        ],
        &dir("fixtures/features/wip"),
    )
    .await;
    assert!(outcome.passed, "{}", outcome.output);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_that_loses_its_port_to_another_program_is_started_again_on_another() {
    let state = std::env::temp_dir().join(format!("discos-port-race-{}", std::process::id()));
    std::fs::create_dir_all(&state).unwrap();
    let script = dir("fixtures/orchestration/loses_the_port_once.sh");
    let simulator = env!("CARGO_BIN_EXE_discos-sim");
    // The first start is the run's check of the target; the second is the
    // scenario's own, which must not end up talking to the other program.
    let target = format!(
        "cmd:{} {simulator} {{port}} {} 2",
        script.display(),
        state.display()
    );
    let outcome = try_run(&["--target", &target], &dir("fixtures/features/wip")).await;
    let thief = std::fs::read_to_string(state.join("thief.pid"));
    if let Ok(pid) = &thief {
        let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    }
    std::fs::remove_dir_all(&state).unwrap();
    assert!(
        thief.is_ok(),
        "the first start lost its port to another program"
    );
    // The other program fails every request: a scenario that talked to it
    // would have failed.
    let outcome = outcome.expect("the run starts");
    assert!(outcome.passed, "{}", outcome.output);
}

/// A run against `port_in_use.py` whose first `failing` starts fail to bind
/// their port, and how many starts there were.
async fn run_losing_binds(failing: usize) -> (anyhow::Result<Outcome>, usize) {
    let state =
        std::env::temp_dir().join(format!("discos-bind-race-{}-{failing}", std::process::id()));
    std::fs::create_dir_all(&state).unwrap();
    let target = format!(
        "cmd:{} {} {{port}} {} {failing}",
        dir("fixtures/orchestration/port_in_use.py").display(),
        env!("CARGO_BIN_EXE_discos-sim"),
        state.display()
    );
    let outcome = try_run(&["--target", &target], &dir("fixtures/features/wip")).await;
    let starts = std::fs::read_dir(&state).unwrap().count();
    std::fs::remove_dir_all(&state).unwrap();
    (outcome, starts)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_that_cannot_bind_its_port_is_started_again_on_another() {
    // No program listens on the port: only the backend's own "address
    // already in use" says it lost the race.
    let (outcome, starts) = run_losing_binds(3).await;
    let outcome = outcome.expect("the run starts");
    assert!(outcome.passed, "{}", outcome.output);
    assert!(starts > 3, "the three failed starts were retried: {starts}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_that_never_binds_its_port_fails_within_the_retry_budget() {
    let (outcome, starts) = run_losing_binds(usize::MAX).await;
    let text = match outcome {
        Ok(outcome) => {
            assert!(!outcome.passed, "{}", outcome.output);
            outcome.output
        }
        Err(error) => format!("{error:#}"),
    };
    assert!(
        text.contains("lost the race for its port 5 times"),
        "{text}"
    );
    assert!(text.contains("Address already in use"), "{text}");
    assert_eq!(starts, 5, "one budget, not more: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn many_slow_backends_starting_at_once_each_serve_their_own_scenario() {
    let simulator = env!("CARGO_BIN_EXE_discos-sim");
    let target = format!("cmd:sleep 0.3; exec {simulator} serve --port {{port}}");
    let outcome = run(
        &["--target", &target, "--concurrency", "16"],
        &dir("fixtures/features/many"),
    )
    .await;
    assert_eq!(
        outcome.report.count(Status::Passed),
        40,
        "{}",
        outcome.output
    );
    assert!(outcome.passed);
}

// ------------------------------------------------------------ interruption

/// How long a process the run started may outlive the run.
const SURVIVAL: std::time::Duration = std::time::Duration::from_secs(2);
/// A bound for what a loaded machine does in its own time.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().next().map(|s| s != "Z" && s != "X")
        })
        .unwrap_or(false)
}

/// The live processes of any of `groups`.
fn in_groups(groups: &[i32]) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| alive(pid) && process_group(pid).is_some_and(|g| groups.contains(&g)))
        .collect()
}

/// Entries of the temporary directory named `discos-…` that carry `pid`.
fn folders_of(pid: u32) -> Vec<String> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("discos-") && name.contains(&format!("-{pid}")))
        .collect()
}

/// Waits, up to [`SURVIVAL`] from now, for `done`; true if it held.
fn within_survival(mut done: impl FnMut() -> bool) -> bool {
    // /proc has no events: look again every 5 ms until the limit.
    let mut poller = Poller::within(SURVIVAL, Pace::every(std::time::Duration::from_millis(5)));
    loop {
        if done() {
            return true;
        }
        if !poller.pause_blocking() {
            return false;
        }
    }
}

/// Waits, bounded, for `found` to give something.
fn observe<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    // A file and /proc have no events: look again every 5 ms until the limit.
    let mut poller = Poller::within(PATIENCE, Pace::every(std::time::Duration::from_millis(5)));
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(poller.pause_blocking(), "never saw {what}");
    }
}

/// A `discos-sim check` run in a process of its own, its output collected
/// by threads, so that a test can signal it in the middle.
struct Runner {
    child: std::process::Child,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::sync::mpsc::Receiver<String>,
    stderr_lines: Vec<String>,
}

impl Runner {
    fn start(args: &[&str], family_log: Option<&Path>) -> Runner {
        use std::io::{BufRead as _, Read as _};
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_discos-sim"));
        command
            .arg("check")
            .args(args)
            .env_remove("DISCOS_TARGET")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Some(log) = family_log {
            command.env("FAMILY_LOG", log);
        }
        let mut child = command.spawn().expect("discos-sim check starts");
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        let err = child.stderr.take().unwrap();
        let (sender, stderr) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        Runner {
            child,
            stdout,
            stderr,
            stderr_lines: Vec::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).unwrap());
        nix::sys::signal::kill(pid, signal).expect("signalled");
    }

    /// Waits (bounded) for a line on stderr containing `text`.
    fn wait_for_stderr(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + PATIENCE;
        while !self.stderr_lines.iter().any(|l| l.contains(text)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.stderr_lines.push(line),
                Err(_) => panic!("stderr never said {text:?}: {:#?}", self.stderr_lines),
            }
        }
    }

    /// Waits for the end; returns the status, stdout and stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String, String) {
        let status = self.child.wait().expect("the runner ends");
        let stdout = self.stdout.join().unwrap();
        self.stderr_lines.extend(self.stderr.iter());
        (status, stdout, self.stderr_lines.join("\n"))
    }
}

fn escaping_backend() -> String {
    format!(
        "cmd:{} {} serve --port {{port}}",
        dir("fixtures/orchestration/escapees.sh").display(),
        env!("CARGO_BIN_EXE_discos-sim")
    )
}

/// The pids the backends' families logged (each shell, its escapees, its
/// unmarked child).
fn family(log: &Path) -> Vec<u32> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|pid| pid.parse().ok())
        .collect()
}

fn scratch_file(label: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("discos-runner-{label}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    reaper().remove_at_exit(&path).expect("registered");
    path
}

#[test]
fn each_signal_ends_a_command_run_with_nothing_left_behind() {
    use nix::sys::signal::Signal;
    use std::os::unix::process::ExitStatusExt as _;
    let target = escaping_backend();
    let features = dir("fixtures/features/interrupt").display().to_string();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGKILL,
    ] {
        let log = scratch_file(&format!("family-{signal}"));
        // SIGKILL gets the compiled-in features, unpacked in a scratch folder
        // the run cannot remove itself.
        let args: Vec<&str> = if signal == Signal::SIGKILL {
            vec!["--target", &target, "--tags", "not @browser"]
        } else {
            vec!["--target", &target, "--features", &features]
        };
        let runner = Runner::start(&args, Some(&log));
        let pid = runner.pid();
        observe("a backend and its escapees", || {
            (family(&log).len() >= 15).then_some(())
        });
        runner.signal(signal);
        let (status, stdout, stderr) = runner.finish();
        let family = family(&log);
        assert!(
            within_survival(|| family.iter().all(|pid| !alive(*pid))),
            "after {signal}, alive {SURVIVAL:?} after the run ended: {:?}",
            family.iter().filter(|pid| alive(**pid)).collect::<Vec<_>>()
        );
        assert!(
            within_survival(|| folders_of(pid).is_empty()),
            "after {signal}: {:?}",
            folders_of(pid)
        );
        if signal == Signal::SIGKILL {
            assert_eq!(status.signal(), Some(9));
            continue;
        }
        assert_eq!(
            status.code(),
            Some(128 + signal as i32),
            "{signal}: {stdout}\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("{signal} received: no new scenario starts")),
            "{stderr}"
        );
        assert!(
            !stdout.contains("left things behind"),
            "verified teardown: {stdout}"
        );
        let not_started = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("Interrupted by {signal}: ")))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no interruption line: {stdout}"));
        assert!(
            not_started > 0 && not_started < 24,
            "{not_started} of 24 not started: {stdout}"
        );
        let summary = stdout
            .lines()
            .find(|l| l.contains(" scenario(s): ") && l.contains(" passed"))
            .unwrap_or_else(|| panic!("the partial summary: {stdout}"));
        assert!(
            summary.contains(&format!("{} passed", 24 - not_started))
                && summary.contains("0 failed")
                && summary.contains(&format!("{not_started} skipped")),
            "those running passed, the rest were skipped: {summary}"
        );
        assert!(
            stdout.contains(&format!("interrupted by {signal} before it started")),
            "the reason is given: {stdout}"
        );
    }
}

#[test]
fn a_second_signal_ends_the_run_at_once_and_still_leaves_nothing() {
    let log = scratch_file("family-twice");
    let features = dir("fixtures/features/interrupt").display().to_string();
    let mut runner = Runner::start(
        &["--target", &escaping_backend(), "--features", &features],
        Some(&log),
    );
    let pid = runner.pid();
    observe("a backend and its escapees", || {
        (family(&log).len() >= 15).then_some(())
    });
    runner.signal(nix::sys::signal::Signal::SIGINT);
    runner.wait_for_stderr("SIGINT received: no new scenario starts");
    runner.signal(nix::sys::signal::Signal::SIGINT);
    let (status, stdout, stderr) = runner.finish();
    assert_eq!(status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("SIGINT received again: ending now"),
        "{stderr}"
    );
    let family = family(&log);
    assert!(
        within_survival(|| family.iter().all(|pid| !alive(*pid))),
        "alive {SURVIVAL:?} after the run ended: {:?}",
        family.iter().filter(|pid| alive(**pid)).collect::<Vec<_>>()
    );
    assert!(
        within_survival(|| folders_of(pid).is_empty()),
        "{:?}",
        folders_of(pid)
    );
}

#[test]
fn an_interrupted_browser_run_leaves_no_chromium_and_no_profile() {
    use discos_acceptance::acceptance::browser::processes_mentioning;
    use nix::sys::signal::Signal;
    if browser_support::installation().is_none() {
        return;
    }
    for signal in [Signal::SIGINT, Signal::SIGKILL] {
        let runner = Runner::start(&["--tags", "@browser"], None);
        let pid = runner.pid();
        let profiles = format!("discos-browser-{pid}-");
        // A browser is up once a process runs with a profile of this run and
        // its group has a renderer (the headless shell's children do not
        // name the profile).
        let browsers = observe("a Chromium of this run", || {
            let found = processes_mentioning(&profiles);
            let groups: Vec<i32> = found
                .iter()
                .filter_map(|(p, _)| process_group(*p))
                .collect();
            in_groups(&groups)
                .into_iter()
                .any(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--type=renderer"))
                })
                .then_some(found)
        });
        // Its zygote and renderers hide their environment; their group does not.
        let groups: Vec<i32> = browsers
            .iter()
            .filter_map(|(p, _)| process_group(*p))
            .collect();
        let before = in_groups(&groups);
        runner.signal(signal);
        let (status, stdout, stderr) = runner.finish();
        if signal == Signal::SIGINT {
            assert_eq!(status.code(), Some(130), "{stdout}\n{stderr}");
            assert!(!stdout.contains("left things behind"), "{stdout}");
        }
        assert!(
            within_survival(
                || in_groups(&groups).is_empty() && processes_mentioning(&profiles).is_empty()
            ),
            "after {signal} ({} browser processes before), still alive: {:?} {:?}",
            before.len(),
            in_groups(&groups),
            processes_mentioning(&profiles)
        );
        assert!(
            within_survival(|| folders_of(pid).is_empty()),
            "{:?}",
            folders_of(pid)
        );
    }
}

// ------------------------------------------------------------- graded runs

/// `discos-sim check --features fixtures/features/graded` against
/// fixtures/graded_backend.py breaking `breaks`: the exit code and what it
/// printed.
fn graded_check(breaks: &str, extra: &[&str]) -> (Option<i32>, String) {
    let target = format!(
        "cmd:python3 {} --breaks {breaks} --port {{port}}",
        dir("fixtures/graded_backend.py").display()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_discos-sim"))
        .arg("check")
        .arg("--features")
        .arg(dir("fixtures/features/graded"))
        .args(["--target", &target])
        .args(extra)
        .env_remove("DISCOS_TARGET")
        .output()
        .expect("discos-sim check runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// A backend that fails one SHOULD can be driven by DISCOS: the run passes,
/// listing it as non-strict; with --strict it fails. One that fails a MUST
/// fails any run, which says exactly which and where.
#[test]
fn check_grades_what_a_backend_breaks_by_the_requirements_strength() {
    let (code, out) = graded_check("should", &[]);
    assert_eq!(code, Some(0), "a failed SHOULD alone passes the run\n{out}");
    assert!(
        out.contains("\n3 scenario(s): 2 passed, 0 failed, 1 non-strict, 0 skipped\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "Non-strict scenarios (a SHOULD failed; they fail the run only with --strict):\n  \
             fixtures/features/graded/graded.feature:14  The backend says it speaks protocol 1.4  \
             [SHOULD version-reply (non-strict)]\n      Then the backend answers \"!version,ok,1.4\": \
             SHOULD version-reply — docs/protocol.md#version: expected the backend to answer\n"
        ),
        "{out}"
    );
    assert!(out.contains("\nDISCOS can drive this backend"), "{out}");

    let (code, out) = graded_check("should", &["--strict"]);
    assert_eq!(code, Some(1), "--strict fails on a SHOULD\n{out}");
    assert!(
        out.contains(
            "Non-strict scenarios (a SHOULD failed; the run is --strict, so they fail it):"
        ),
        "{out}"
    );

    let (code, out) = graded_check("must", &[]);
    assert_eq!(code, Some(1), "a failed MUST fails the run\n{out}");
    assert!(
        out.contains(
            "\n3 scenario(s): 2 passed, 1 failed, 0 non-strict, 0 skipped\n  failed: 1 broke a MUST"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "  ✘ A configuration id is read back as it was written  [MUST ids-as-written]"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "\nDISCOS cannot drive this backend: MUST ids-as-written failed in fixtures/features/graded/graded.feature:9.\n"
        ),
        "{out}"
    );
}
