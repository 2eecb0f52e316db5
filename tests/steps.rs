//! The step catalogue (`discos-sim steps`), "did you mean", and snippets
//! that compile where they say.
//!
//! This test is a crate of its own that depends on discos-acceptance by
//! name, as a downstream crate's test does: the code the runner prints for
//! the undefined steps of `fixtures/features/snippets` (kept in
//! `fixtures/snippets/mine.rs`, which `tests/it/acceptance_runner.rs` checks
//! is exactly what the runner prints) is pasted here as a downstream
//! crate's steps module, so that if it did not compile, this test would not
//! build. The library's unit tests compile the same file as a module of the
//! step library. Neither costs a build of its own.

use std::path::Path;
use std::process::Command;

use cucumber::gherkin::{Step, StepType};
use discos_acceptance::authoring::catalogue::{Catalogue, Home};

#[path = "../fixtures/snippets/mine.rs"]
mod pasted_steps;

const BIN: &str = env!("CARGO_BIN_EXE_discos-sim");

fn step(ty: StepType, value: &str) -> Step {
    Step {
        keyword: format!("{ty:?} "),
        ty,
        value: value.to_owned(),
        docstring: None,
        table: None,
        span: Default::default(),
        position: Default::default(),
    }
}

fn discos_sim(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("discos-sim runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn catalogue_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["steps", "--json"];
    all.extend_from_slice(args);
    let (ok, stdout, stderr) = discos_sim(&all);
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

// ------------------------------------------------------------- catalogue

#[test]
fn every_step_of_the_library_says_what_it_checks() {
    let json = catalogue_json(&[]);
    let steps = json["steps"].as_array().expect("steps");
    assert!(steps.len() > 100, "{} steps", steps.len());
    let undocumented: Vec<String> = steps
        .iter()
        .filter(|s| s["doc"].as_str().is_none_or(|d| d.trim().is_empty()))
        .map(|s| {
            format!(
                "{} {} ({}:{})",
                s["keyword"], s["phrase"], s["file"], s["line"]
            )
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "steps without a doc comment:\n{}",
        undocumented.join("\n")
    );
    // Every entry names its place in the source, and the source has the
    // attribute there.
    for s in steps {
        let file = s["file"].as_str().expect("file");
        let line = s["line"].as_u64().expect("line") as usize;
        let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let at = source.lines().nth(line - 1).unwrap_or_default();
        let keyword = s["keyword"].as_str().expect("keyword").to_ascii_lowercase();
        assert!(
            at.trim_start().starts_with(&format!("#[{keyword}")),
            "{file}:{line}: {at}"
        );
    }
}

/// How many steps of the features in `features/` are `text` exactly,
/// whatever their keyword, counted without the catalogue.
fn said_in_features(text: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "feature") {
            let source = std::fs::read_to_string(&path).unwrap();
            count += source
                .lines()
                .filter_map(|l| l.trim().split_once(' '))
                .filter(|(keyword, rest)| {
                    ["Given", "When", "Then", "And", "But"].contains(keyword) && *rest == text
                })
                .count();
        }
    }
    count
}

#[test]
fn the_catalogue_counts_uses_gives_examples_and_marks_unused_steps() {
    let json = catalogue_json(&[]);
    assert_eq!(json["features"], "features");
    let steps = json["steps"].as_array().expect("steps");
    let find = |keyword: &str, phrase: &str| {
        steps
            .iter()
            .find(|s| s["keyword"] == keyword && s["phrase"] == phrase)
            .unwrap_or_else(|| panic!("no {keyword} {phrase}"))
    };
    let accepts = find("Then", "the backend accepts it");
    let expected = said_in_features("the backend accepts it");
    assert!(expected > 5, "{expected}");
    assert_eq!(accepts["uses"], expected);
    assert_eq!(accepts["unused"], false);
    let example = &accepts["example"];
    assert!(
        example["step"]
            .as_str()
            .unwrap()
            .ends_with("the backend accepts it")
    );
    assert!(example["file"].as_str().unwrap().starts_with("features/"));

    let sends = find("When", "{client} sends {string}");
    assert_eq!(sends["parameters"][0]["name"], "{client}");
    assert_eq!(sends["parameters"][1]["name"], "{string}");
    assert_eq!(sends["parameters"][1]["argument"], "line: String");

    // The compiled-in features and the same folder read from disk agree.
    let from_disk = catalogue_json(&["--features", "features"]);
    assert_eq!(from_disk["unused"], json["unused"]);
    assert_eq!(from_disk["feature_files"], json["feature_files"]);

    // Steps no feature says are counted, marked, and listed at the end of
    // the text.
    let unused: Vec<&serde_json::Value> = steps.iter().filter(|s| s["unused"] == true).collect();
    assert_eq!(json["unused"], unused.len());
    assert!(
        unused
            .iter()
            .all(|s| s["uses"] == 0 && s["example"].is_null())
    );
    let (ok, text, _) = discos_sim(&["steps"]);
    assert!(ok);
    let tail = text
        .split_once("\nUsed by no feature in features:\n")
        .map(|(_, tail)| tail)
        .unwrap_or_else(|| panic!("{text}"));
    assert!(tail.lines().count() >= 1 && tail.lines().count() <= unused.len());
    assert!(
        text.contains("      UNUSED: no feature says it\n"),
        "{text}"
    );
}

#[test]
fn the_text_catalogue_shows_each_step_with_its_doc_and_an_example() {
    let (ok, text, stderr) = discos_sim(&["steps", "--features", "fixtures/features/wip"]);
    assert!(ok, "{stderr}");
    assert!(
        text.starts_with("The step library: ")
            && text.contains("the 1 feature file(s) in fixtures/features/wip use 3 of them."),
        "{text}"
    );
    let entry = text
        .split("\n\n")
        .find(|block| {
            block
                .trim_start()
                .starts_with("When {client} sends {string}\n")
        })
        .unwrap_or_else(|| panic!("{text}"));
    assert!(entry.contains("      A request line as typed"), "{entry}");
    assert!(
        entry.contains("      {client}: the client, the user, the operator, the observer, the astronomer or client \"…\""),
        "{entry}"
    );
    assert!(
        entry.contains("      used once: e.g. When the client sends \"version\"  (fixtures/features/wip/wip.feature:12)"),
        "{entry}"
    );
    assert!(
        entry.contains("      defined at src/acceptance/steps/exchange.rs:"),
        "{entry}"
    );
}

#[test]
fn a_features_folder_that_is_not_there_is_named() {
    let (ok, stdout, stderr) = discos_sim(&["steps", "--features", "no/such/folder"]);
    assert!(!ok);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("no/such/folder"), "{stderr}");
}

// ----------------------------------------------------------- did you mean

#[test]
fn a_slip_names_the_step_it_slipped_from() {
    let library = Catalogue::library();
    let nearest = library.nearest(&step(StepType::Then, "the backend accept it"));
    assert_eq!(nearest[0].phrase, "the backend accepts it");
    assert_eq!(
        (nearest[0].keyword.as_str(), nearest[0].distance),
        ("Then", 1)
    );

    // Parameters do not count: any quoted text, number or client.
    let nearest = library.nearest(&step(
        StepType::When,
        "client \"B\" set the integration time to 250 milliseconds",
    ));
    assert!(
        nearest[0].phrase.contains("sets the integration time to"),
        "{nearest:?}"
    );
    assert_eq!(nearest[0].distance, 1);

    // A Given written as a Then is still found, after the Then that
    // checks what it makes so.
    let nearest = library.nearest(&step(
        StepType::Then,
        "the backend is configured as \"K2000\"",
    ));
    let named: Vec<String> = nearest
        .iter()
        .map(|n| format!("{} {}", n.keyword, n.phrase))
        .collect();
    assert_eq!(
        named,
        [
            "Then the configuration is {string}",
            "Given the backend is configured as {string}"
        ]
    );
    assert_eq!(nearest[1].distance, 0);

    // A precondition said as a state leads to the step that makes it so,
    // not to the Then that checks it.
    let nearest = library.nearest(&step(StepType::Given, "the backend is acquiring"));
    assert_eq!(
        (nearest[0].keyword.as_str(), nearest[0].phrase.as_str()),
        ("Given", "the acquisition is started"),
        "{nearest:?}"
    );

    // People's words lead to the library's.
    let nearest = library.nearest(&step(StepType::Then, "the backend says ok"));
    assert_eq!(nearest[0].phrase, "the backend accepts it", "{nearest:?}");
    // DISCOS has steps of its own; where it has none, the client's.
    let nearest = library.nearest(&step(StepType::When, "DISCOS starts the acquisition"));
    assert_eq!(
        nearest[0].phrase, "{client} starts the acquisition",
        "{nearest:?}"
    );

    // A new sentence is no slip of anything.
    let nearest = library.nearest(&step(
        StepType::When,
        "the operator opens the dome of \"Medicina\" for 2 hours",
    ));
    assert!(nearest.is_empty(), "{nearest:?}");
}

// ------------------------------------------------------- pasted snippets

#[test]
fn pasted_snippets_are_steps_of_the_world_with_their_docs() {
    // The pasted steps are linked into this crate: the catalogue lists
    // them from where they are, with the doc comment the snippet gave them.
    let library = Catalogue::library();
    let pasted: Vec<_> = library
        .definitions()
        .iter()
        .filter(|d| d.location.file.ends_with("fixtures/snippets/mine.rs"))
        .collect();
    // Ten undefined steps, two of them one sentence (a Given and a When):
    // ten definitions, nine functions.
    assert_eq!(pasted.len(), 10, "{pasted:#?}");
    let parked: Vec<_> = pasted
        .iter()
        .filter(|d| d.phrase == "the dish is parked")
        .collect();
    assert_eq!(parked.len(), 2);
    assert_eq!(parked[0].function, parked[1].function);
    assert!(
        pasted.iter().all(|d| d
            .doc
            .as_deref()
            .is_some_and(|doc| doc.starts_with("What this step does"))),
        "{pasted:#?}"
    );
    // And they match the sentences they were made for.
    let kelvin = step(
        StepType::Given,
        "the receiver \"K2000\" is cooled to 20.5 kelvin",
    );
    assert_eq!(library.matching(&kelvin).len(), 1);
    let ratio = step(StepType::Then, "the ratio (signal/noise) is {high}");
    assert_eq!(library.matching(&ratio).len(), 1);
}

#[test]
fn snippets_name_the_file_and_the_mod_line_they_need() {
    assert_eq!(
        Home::Downstream.file(),
        (
            "tests/steps/mod.rs",
            "`mod steps;` in the test that calls discos_acceptance::acceptance::main"
        )
    );
    let pasted = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/snippets/mine.rs"),
    )
    .unwrap();
    assert!(pasted.starts_with("// tests/steps/mod.rs (and `mod steps;` in the test that calls discos_acceptance::acceptance::main)\n"));
}

// --------------------------------------------------------------- dry run

/// A step of this crate that says a sentence the library says too.
mod overlapping {
    use cucumber::when;
    use discos_acceptance::acceptance::DiscosWorld;

    /// Sends `status`, as `When {client} sends {string}` does: two
    /// definitions of one sentence, which a run would refuse.
    #[when(regex = r#"^the client sends "status"$"#)]
    async fn sends_status(world: &mut DiscosWorld) {
        world.send("client", "status").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_names_every_definition_of_an_ambiguous_step() {
    use clap::Parser;
    let features = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/features/ambiguous");
    let options =
        discos_acceptance::acceptance::Options::try_parse_from(["acceptance", "--dry-run"])
            .expect("options");
    let outcome = discos_acceptance::acceptance::run_quietly(options, &features)
        .await
        .expect("the dry run starts");
    assert!(!outcome.passed, "{}", outcome.output);
    let output = &outcome.output;
    assert!(
        output.contains("ambiguous.feature:7  When the client sends \"status\"\n    it matches 2 step definitions, and a step must match one:\n"),
        "{output}"
    );
    assert!(
        output.contains("      When {client} sends {string}  (src/acceptance/steps/exchange.rs:"),
        "{output}"
    );
    assert!(output.contains("tests/steps.rs:"), "{output}");
    assert!(
        output.contains("3 step(s): 1 match more than one; nothing was started."),
        "{output}"
    );
}

// ------------------------------------------------------ the writer's words

/// What a writer who had not read the step library meant by each line of
/// `fixtures/features/plain-words`, and whether the library understood:
/// `(line, step as written, meant, understood)`.
fn plain_words(file: &str) -> Vec<(usize, String, String, bool)> {
    use cucumber::gherkin::{Feature, GherkinEnv};
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/features/plain-words")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("the plain-words fixture");
    // "# means: …" names the library's sentence the next line means.
    let meant: std::collections::BTreeMap<usize, String> = text
        .lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let meant = line.trim().strip_prefix("# means: ")?;
            Some((index + 2, meant.to_owned()))
        })
        .collect();
    let feature = Feature::parse(&text, GherkinEnv::default()).expect("the fixture parses");
    let library = Catalogue::library();
    let mut lines = Vec::new();
    for scenario in &feature.scenarios {
        for step in &scenario.steps {
            let meant = meant
                .get(&step.position.line)
                .unwrap_or_else(|| {
                    panic!("line {} says nothing of what it means", step.position.line)
                })
                .clone();
            let matching = library.matching(step);
            let understood = match matching.as_slice() {
                [one] => one.sentence() == meant,
                [] => library
                    .nearest(step)
                    .first()
                    .is_some_and(|n| format!("{} {}", n.keyword, n.phrase) == meant),
                _ => false,
            };
            lines.push((
                step.position.line,
                format!("{}{}", step.keyword, step.value),
                meant,
                understood,
            ));
        }
    }
    lines
}

/// How many plain-language lines match the step their writer meant, or get
/// it as the first "did you mean": 15 of 47 before the library took the
/// writer's words (any actor, rewordings, states across keywords), 47 of
/// 47 after.
#[test]
fn most_plain_words_lead_to_the_step_meant() {
    let lines = plain_words("plain.feature");
    let understood = lines.iter().filter(|(_, _, _, ok)| *ok).count();
    let report: Vec<String> = lines
        .iter()
        .filter(|(_, _, _, ok)| !ok)
        .map(|(line, step, meant, _)| format!("  line {line}: {step}\n      meant {meant}"))
        .collect();
    println!("{understood} of {} lines understood", lines.len());
    assert!(lines.len() >= 30, "{} lines", lines.len());
    assert!(
        understood >= 47,
        "{understood} of {} lines understood; not understood:\n{}",
        lines.len(),
        report.join("\n")
    );
}

/// The second set, written after the rewordings were made from the first:
/// 10 of 38 with the matcher of before, 29 of 38 with the rewordings made
/// from the first set, 38 of 38 once they had learnt its words too.
#[test]
fn plain_words_the_rewordings_were_not_made_from() {
    let lines = plain_words("more.feature");
    let understood = lines.iter().filter(|(_, _, _, ok)| *ok).count();
    let report: Vec<String> = lines
        .iter()
        .filter(|(_, _, _, ok)| !ok)
        .map(|(line, step, meant, _)| format!("  line {line}: {step}\n      meant {meant}"))
        .collect();
    println!("{understood} of {} lines understood", lines.len());
    assert!(lines.len() >= 30, "{} lines", lines.len());
    assert!(
        understood >= 38,
        "{understood} of {} lines understood; not understood:\n{}",
        lines.len(),
        report.join("\n")
    );
}
