//! The features and the contract stay in step: a portable scenario (one not
//! tagged `@simulator`, `@embedded` or `@proxy`: those check the simulator,
//! or the proxy in front of the backend, not the backend) may quote a reason only if `docs/protocol.md` fixes
//! it word for word, so that its failure can only mean "this backend breaks
//! the contract", never "it words a reason differently from our simulator";
//! and it names the one requirement of the contract it checks, with the
//! strength the contract gives it, so that its failure is graded right.

use std::collections::BTreeMap;
use std::path::Path;

use cucumber::feature::Ext as _;
use cucumber::gherkin::{Feature, GherkinEnv};

use discos_acceptance::protocol::contract::{
    CONTRACT, Requirement, Strength, is_fixed_phrase, requirement_tag, requirements,
};
use discos_acceptance::protocol::{Code, request_from_text};

/// Why a scenario with this tag is not portable, if it is not: the runner
/// runs it on the embedded simulator alone unless `--tags` names the tag
/// (`src/run`'s `skip_reason`), so its failure says nothing of another
/// backend, and it names no requirement of the contract.
fn not_portable(tag: &str) -> Option<&'static str> {
    match tag {
        "simulator" => Some("@simulator, about the simulator's own behaviour"),
        "embedded" => Some("@embedded, looking inside the in-process simulator"),
        "proxy" => Some("@proxy, about the link put in front of the backend"),
        _ => None,
    }
}

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
            if feature
                .tags
                .iter()
                .chain(&scenario.tags)
                .any(|t| not_portable(t).is_some())
            {
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
        "the reply holds a number for each input"
    ));
}

/// The requirement tags (`must:crlf`) among `tags`.
fn requirement_tags(tags: &[String]) -> Vec<&String> {
    tags.iter()
        .filter(|t| requirement_tag(t).is_some())
        .collect()
}

/// What the requirement tags of some features say.
struct Tagging {
    /// How many portable scenarios there are.
    tagged: usize,
    /// Each requirement a portable scenario names, with where those
    /// scenarios are (`features/x.feature:12`).
    checked: BTreeMap<String, Vec<String>>,
    /// What is wrong with the tags, one line each.
    problems: Vec<String>,
}

/// What is wrong with the requirement tags of `features`, graded against
/// `table`: each portable scenario names exactly one requirement (its own
/// tag, else its feature's), which the table lists with that strength; a
/// scenario that is not portable names none of its own.
fn requirement_problems(features: &[Feature], table: &[Requirement]) -> Tagging {
    let mut problems = Vec::new();
    let mut checked: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut tagged = 0;
    let check = |at: &str, tag: &str| -> Option<String> {
        let (strength, id) = requirement_tag(tag)?;
        match table.iter().find(|r| r.id == id) {
            None => Some(format!(
                "{at}: @{tag} names a requirement {CONTRACT} does not list; its ids are {}",
                table
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(requirement) if requirement.strength != strength => Some(format!(
                "{at}: @{tag}, but {CONTRACT} makes `{id}` a {}: tag it @{}:{id}",
                requirement.strength,
                requirement.strength.tag()
            )),
            Some(_) => None,
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for feature in features {
        let path = feature.path.clone().unwrap_or_default();
        let file = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let default = requirement_tags(&feature.tags);
        if default.len() > 1 {
            problems.push(format!(
                "{file}:{}: the feature names {} requirements ({}); a feature names at most one, for the scenarios that name none",
                feature.position.line,
                default.len(),
                default.iter().map(|t| format!("@{t}")).collect::<Vec<_>>().join(" ")
            ));
        }
        for tag in &default {
            problems.extend(check(&format!("{file}:{}", feature.position.line), tag));
        }
        let scenarios = feature
            .scenarios
            .iter()
            .chain(feature.rules.iter().flat_map(|r| &r.scenarios));
        for scenario in scenarios {
            let at = format!("{file}:{}", scenario.position.line);
            let own = requirement_tags(&scenario.tags);
            let tags = || feature.tags.iter().chain(&scenario.tags);
            if let Some(kind) = tags().find_map(|t| not_portable(t)) {
                if let Some(tag) = own.first() {
                    problems.push(format!(
                        "{at}: \"{}\" is {kind}, and names @{tag}; a requirement is named by the portable scenario that checks it",
                        scenario.name
                    ));
                }
                continue;
            }
            let named = match (own.as_slice(), default.as_slice()) {
                ([tag], _) | ([], [tag]) => requirement_tag(tag),
                _ => None,
            };
            if let Some((_, id)) = named {
                checked.entry(id.to_owned()).or_default().push(at.clone());
            }
            match (own.as_slice(), default.as_slice()) {
                ([tag], _) => problems.extend(check(&at, tag)),
                ([], [_]) => {}
                ([], _) => problems.push(format!(
                    "{at}: \"{}\" names no requirement; tag it with the one it checks (@must:ID or @should:ID, from {CONTRACT}'s table), or its feature",
                    scenario.name
                )),
                (many, _) => problems.push(format!(
                    "{at}: \"{}\" names {} requirements ({}); a scenario checks one",
                    scenario.name,
                    many.len(),
                    many.iter().map(|t| format!("@{t}")).collect::<Vec<_>>().join(" ")
                )),
            }
            tagged += 1;
        }
    }
    Tagging {
        tagged,
        checked,
        problems,
    }
}

#[test]
fn the_requirement_check_names_every_kind_of_mistake() {
    let table = requirements().unwrap_or_else(|error| panic!("{error}"));
    let text = "@must:crlf @should:version-reply\n\
        Feature: mistakes\n\n\
        Scenario: none of its own\n    When the client asks for the status\n\n\
        @must:no-such-requirement\n  Scenario: unknown\n    When the client asks for the status\n\n\
        @should:crlf\n  Scenario: too weak\n    When the client asks for the status\n\n\
        @must:crlf @must:same-name\n  Scenario: two\n    When the client asks for the status\n\n\
        @simulator @must:crlf\n  Scenario: about the simulator\n    When the client asks for the status\n\n\
        @proxy @must:crlf\n  Scenario: about the link\n    When the client asks for the status\n\n\
        @proxy\n  Scenario: about the link, untagged\n    When the client asks for the status\n\n\
        @must:same-name\n  Scenario: right\n    When the client asks for the status\n";
    let feature = Feature::parse(text, GherkinEnv::default()).unwrap();
    let Tagging {
        tagged,
        checked,
        problems,
    } = requirement_problems(&[feature], table);
    let all = problems.join("\n");
    for expected in [
        "the feature names 2 requirements (@must:crlf @should:version-reply)",
        "\"none of its own\" names no requirement",
        "@must:no-such-requirement names a requirement docs/protocol.md does not list",
        "@should:crlf, but docs/protocol.md makes `crlf` a MUST: tag it @must:crlf",
        "\"two\" names 2 requirements (@must:crlf @must:same-name)",
        "\"about the simulator\" is @simulator",
        "\"about the link\" is @proxy",
    ] {
        assert!(all.contains(expected), "{expected:?} not in\n{all}");
    }
    assert_eq!(problems.len(), 7, "{all}");
    // The five portable ones, each graded by its own tag or the feature's.
    assert_eq!(tagged, 5);
    let ids: Vec<&str> = checked.keys().map(String::as_str).collect();
    assert_eq!(ids, ["crlf", "no-such-requirement", "same-name"]);
}

/// The MUSTs of the contract that no portable scenario checks yet, each
/// with what it waits for. The list only shrinks: a MUST that gains a
/// scenario leaves it (the test below fails until it does), and one that
/// has none is on it, so the list is always the contract's gaps.
const MUSTS_WITHOUT_A_SCENARIO: &[(&str, &str)] = &[];

#[test]
fn every_portable_scenario_names_one_requirement_with_the_contracts_strength() {
    let table = requirements().unwrap_or_else(|error| panic!("{error}"));
    let Tagging {
        tagged, problems, ..
    } = requirement_problems(&features(), table);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(tagged > 100, "only {tagged} portable scenarios were read");
    eprintln!("{tagged} portable scenarios, each naming one requirement");
}

#[test]
fn every_must_of_the_contract_has_a_portable_scenario() {
    let table = requirements().unwrap_or_else(|error| panic!("{error}"));
    let Tagging { checked, .. } = requirement_problems(&features(), table);
    let mut problems = Vec::new();
    for (id, _) in MUSTS_WITHOUT_A_SCENARIO {
        match table.iter().find(|r| r.id == *id) {
            None => problems.push(format!(
                "MUSTS_WITHOUT_A_SCENARIO lists `{id}`, which {CONTRACT} does not list: take it off"
            )),
            Some(requirement) if requirement.strength != Strength::Must => problems.push(format!(
                "MUSTS_WITHOUT_A_SCENARIO lists `{id}`, which {CONTRACT} makes a {}: take it off",
                requirement.strength
            )),
            Some(_) => {}
        }
        if let Some(scenarios) = checked.get(*id) {
            problems.push(format!(
                "MUST `{id}` has a scenario now ({}): take it off MUSTS_WITHOUT_A_SCENARIO",
                scenarios.join(", ")
            ));
        }
    }
    let waiting = |id: &str| {
        MUSTS_WITHOUT_A_SCENARIO
            .iter()
            .any(|(listed, _)| *listed == id)
    };
    let musts: Vec<&Requirement> = table
        .iter()
        .filter(|r| r.strength == Strength::Must)
        .collect();
    for requirement in &musts {
        if !checked.contains_key(&requirement.id) && !waiting(&requirement.id) {
            problems.push(format!(
                "MUST `{}` ({CONTRACT}:{}) has no portable scenario: write one tagged @must:{}",
                requirement.id, requirement.line, requirement.id
            ));
        }
    }
    eprintln!(
        "{} of {} MUSTs have a portable scenario; without one yet:",
        musts.iter().filter(|r| checked.contains_key(&r.id)).count(),
        musts.len()
    );
    for (id, waits_for) in MUSTS_WITHOUT_A_SCENARIO {
        eprintln!("  {id}: {waits_for}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `.rs` files under `dir`.
fn sources(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// A step that names the requirement it checks names one the contract
/// lists: its failure is graded by it.
#[test]
fn every_requirement_a_step_names_is_in_the_contract() {
    let table = requirements().unwrap_or_else(|error| panic!("{error}"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut named = 0;
    let mut problems = Vec::new();
    for file in sources(&root.join("src")) {
        let whole = std::fs::read_to_string(&file).unwrap();
        // A unit test may name a requirement that does not exist, to test
        // what a step that does is told.
        let text = whole.split("#[cfg(test)]").next().unwrap_or_default();
        for (at, _) in text.match_indices("fail_requirement(") {
            let rest = text[at + "fail_requirement(".len()..].trim_start();
            // Calls with a literal id; the definition and its docs have none.
            let Some(id) = rest
                .strip_prefix('"')
                .and_then(|rest| rest.split('"').next())
            else {
                continue;
            };
            named += 1;
            if !table.iter().any(|r| r.id == id) {
                let line = text[..at].matches('\n').count() + 1;
                problems.push(format!(
                    "{}:{line}: fail_requirement(\"{id}\"): {CONTRACT} lists no such requirement",
                    file.strip_prefix(root).unwrap_or(&file).display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{named} call(s) name a requirement of the contract");
}
