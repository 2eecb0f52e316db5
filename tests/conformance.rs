//! The features and the contract stay in step: a portable scenario (one not
//! tagged `@simulator`) may quote a reason only if `docs/protocol.md` fixes
//! it word for word, so that its failure can only mean "this backend breaks
//! the contract", never "it words a reason differently from our simulator".

use std::path::Path;

use cucumber::feature::Ext as _;
use cucumber::gherkin::{Feature, GherkinEnv};

use discos_acceptance::acceptance::contract::{CONTRACT, is_fixed_phrase};
use discos_acceptance::protocol::{Code, request_from_text};

/// Steps whose quoted text is a reason the backend gave.
const REASON_STEPS: [&str; 2] = ["the backend refuses it, saying \"", "the reason is not \""];

/// Steps that check what the contract leaves to each backend (a reason it
/// leaves free, a count of sections, a state word, the simulator's insides):
/// only for `@simulator`.
fn checks_the_simulator(step: &str) -> bool {
    [
        "the backend rejects the line as malformed, saying \"",
        "the reply says \"",
        "the state is \"",
        "the simulator's ",
        "a backend with the catalogue ",
    ]
    .iter()
    .any(|prefix| step.starts_with(prefix))
        || step
            .strip_prefix("the reply holds ")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// Steps that quote whole replies.
const REPLY_STEPS: [&str; 3] = [
    "the backend answers \"",
    " receives \"",
    "the user sees \"!",
];

fn features() -> Vec<Feature> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
    let mut features: Vec<Feature> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "feature"))
        .map(|path| {
            Feature::parse_path(&path, GherkinEnv::default())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .expand_examples()
                .unwrap()
        })
        .collect();
    features.sort_by(|a, b| a.path.cmp(&b.path));
    features
}

/// The text between the first quote after `prefix` and the last quote.
fn quoted<'a>(step: &'a str, prefix: &str) -> Option<&'a str> {
    let start = step.find(prefix)? + prefix.len();
    let rest = &step[start..];
    let end = rest.rfind('"')?;
    Some(&rest[..end])
}

#[test]
fn portable_scenarios_quote_only_the_contracts_fixed_phrases() {
    let mut problems = Vec::new();
    let mut portable = 0;
    for feature in features() {
        let file = feature.path.clone().unwrap_or_default();
        for scenario in &feature.scenarios {
            let about_the_simulator = feature
                .tags
                .iter()
                .chain(&scenario.tags)
                .any(|t| t == "simulator");
            if about_the_simulator {
                continue;
            }
            portable += 1;
            let steps = feature
                .background
                .iter()
                .flat_map(|b| &b.steps)
                .chain(&scenario.steps);
            for step in steps {
                let at = format!("{}:{}", file.display(), step.position.line);
                let text = step.value.as_str();
                for prefix in REASON_STEPS {
                    if let Some(reason) = quoted(text, prefix)
                        && !is_fixed_phrase(reason)
                    {
                        problems.push(format!(
                            "{at}: \"{reason}\" is not a fixed phrase of {CONTRACT}; check the code only, or tag the scenario @simulator"
                        ));
                    }
                }
                if checks_the_simulator(text) {
                    problems.push(format!(
                        "{at}: \"{text}\" checks what the contract leaves to each backend; tag the scenario @simulator"
                    ));
                }
                let mut replies: Vec<String> = REPLY_STEPS
                    .iter()
                    .filter_map(|prefix| quoted(text, prefix.trim_end_matches('!')))
                    .map(str::to_owned)
                    .collect();
                if text.ends_with("receives, in order:") {
                    let rows = step.table.iter().flat_map(|t| &t.rows).skip(1);
                    replies.extend(rows.filter_map(|row| row.first().cloned()));
                }
                for reply in replies {
                    let Ok(message) = request_from_text(&reply) else {
                        continue;
                    };
                    if let (Some(Code::Fail | Code::Invalid), Some(reason)) =
                        (message.code(), message.reason())
                        && !is_fixed_phrase(reason)
                    {
                        problems.push(format!(
                            "{at}: the reply \"{reply}\" quotes the reason \"{reason}\", which {CONTRACT} leaves to each backend; write the reply without its reason, or tag the scenario @simulator"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        portable > 50,
        "only {portable} portable scenarios were read"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_notices_a_reason_the_contract_leaves_free() {
    assert!(!is_fixed_phrase("set-section needs 7 arguments (got 3)"));
    assert_eq!(
        quoted(
            "the backend refuses it, saying \"wrong timestamp 'x'\"",
            REASON_STEPS[0]
        ),
        Some("wrong timestamp 'x'")
    );
    let reply = request_from_text("!status,fail,status takes no arguments (got 1)").unwrap();
    assert!(!is_fixed_phrase(reply.reason().unwrap()));
    assert!(checks_the_simulator(
        "the reply holds 2 numbers between 0 and 100"
    ));
    assert!(!checks_the_simulator(
        "the reply holds a number for each section"
    ));
}
