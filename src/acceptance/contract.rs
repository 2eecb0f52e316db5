//! What `docs/protocol.md` fixes, in the form the steps check it.
//!
//! The features are a conformance suite: a failing step of a portable
//! scenario must mean "this backend breaks the contract", and say which
//! clause, so that a backend author can read it and decide whether to fix
//! the backend or question the contract. So the steps compare replies only
//! as the contract does (name, code, success fields, numbers as numbers,
//! the fixed phrases word for word) and cite the clause's anchor.

use crate::protocol::{Code, Message, request_from_text};

/// Where the contract lives, relative to the project's root.
pub const CONTRACT: &str = "docs/protocol.md";

/// The text of the contract, compiled in so that a check can prove the
/// features and the contract agree.
pub const CONTRACT_TEXT: &str = include_str!("../../docs/protocol.md");

/// The anchor of the clause about the simulator's own behaviour, which the
/// `@simulator` scenarios check.
pub const SIMULATOR_CLAUSE: &str = "the-simulators-own-behaviour";

/// The commands of protocol 1.4; each has a clause of its own, anchored by
/// its name.
pub const COMMANDS: [&str; 19] = [
    "status",
    "version",
    "get-configuration",
    "set-configuration",
    "get-integration",
    "set-integration",
    "get-tpi",
    "get-tp0",
    "time",
    "start",
    "stop",
    "set-section",
    "cal-on",
    "set-filename",
    "convert-data",
    "set-enable",
    "end-schedule",
    "backend-park",
    "set-shift",
];

/// The reasons the contract fixes word for word; `<…>` stands for what the
/// request held.
pub const FIXED_PHRASES: [&str; 7] = [
    "invalid command '<name>'",
    "cannot find configuration '<id>'",
    "integration time must be an integer number",
    "wrong timestamp '<time>'",
    "set-section needs 7 arguments",
    "wrong parameter format",
    "interleave samples must be a positive int",
];

/// The anchor of the clause that governs the reply to a request named
/// `name`: the command's own, or the rule for unknown commands.
pub fn clause_of(name: &str) -> &'static str {
    COMMANDS
        .iter()
        .find(|command| **command == name)
        .copied()
        .unwrap_or("unknown-commands")
}

/// Whether `reason` is one of the [`FIXED_PHRASES`], placeholders filled.
pub fn is_fixed_phrase(reason: &str) -> bool {
    FIXED_PHRASES.iter().any(|pattern| fills(pattern, reason))
}

/// Whether `text` is `pattern` with each `<…>` replaced by some text.
fn fills(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('<');
    let Some(first) = parts.next() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut pieces: Vec<&str> = Vec::new();
    for part in parts {
        let literal = part.split_once('>').map_or(part, |(_, literal)| literal);
        pieces.push(literal);
    }
    if pieces.is_empty() {
        return rest.is_empty();
    }
    let last = pieces.len() - 1;
    for (index, literal) in pieces.iter().enumerate() {
        if index == last {
            return rest.len() >= literal.len() && rest.ends_with(literal);
        }
        match rest.find(literal) {
            Some(at) => rest = &rest[at + literal.len()..],
            None => return false,
        }
    }
    true
}

/// Compares a reply with the reply a scenario expects, as the contract
/// does: the same name and code; for `ok`, the same fields, numbers
/// compared as numbers; for `fail` and `invalid`, the same reason if the
/// expected reply gives one (`!stop,fail` matches any reason). The error
/// says what differs.
pub fn compare(expected: &str, got: &Message) -> Result<(), String> {
    let wanted = request_from_text(expected)
        .map_err(|error| format!("the expected reply \"{expected}\" is not a message: {error}"))?;
    let Some(code) = wanted.code() else {
        return Err(format!(
            "the expected reply \"{expected}\" is a request; write a reply, starting with '!'"
        ));
    };
    if got.name != wanted.name {
        return Err(format!(
            "the reply is named '{}', not '{}'",
            got.name, wanted.name
        ));
    }
    if got.code() != Some(code) {
        return Err(format!(
            "the reply's code is {}, not {code}",
            got.code().map_or("missing", Code::as_str)
        ));
    }
    if code != Code::Ok {
        return match (wanted.reason(), got.reason()) {
            (None, _) => Ok(()),
            (Some(want), Some(have)) if want == have => Ok(()),
            (Some(want), have) => Err(format!(
                "the reason is \"{}\", not \"{want}\"",
                have.unwrap_or_default()
            )),
        };
    }
    if got.arguments.len() != wanted.arguments.len() {
        return Err(format!(
            "the reply has {} field(s) after ok, not {}",
            got.arguments.len(),
            wanted.arguments.len()
        ));
    }
    for (index, (have, want)) in got.arguments.iter().zip(&wanted.arguments).enumerate() {
        if !same_value(have, want) {
            return Err(format!("field {} is '{have}', not '{want}'", index + 1));
        }
    }
    Ok(())
}

/// Two fields are the same value: equal as numbers when both are numbers
/// (`0`, `0.0` and `0.000` are one value), equal as text otherwise.
pub fn same_value(a: &str, b: &str) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A field read as a decimal number, as the protocol writes them.
pub fn number(text: &str) -> Option<f64> {
    let decimal = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'));
    if decimal { text.parse().ok() } else { None }
}

/// The anchors a Markdown page gets from its headings, as GitHub makes
/// them: lower case, spaces to dashes, punctuation other than `-` and `_`
/// dropped.
pub fn heading_anchors(markdown: &str) -> Vec<String> {
    let mut in_code = false;
    let mut anchors = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let anchor: String = title
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        anchors.push(anchor);
    }
    anchors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_rule_the_steps_cite_has_its_anchor() {
        let anchors = heading_anchors(CONTRACT_TEXT);
        let cited = COMMANDS.iter().copied().chain([
            "unknown-commands",
            "malformed-lines",
            "replies-sent-to-a-backend",
            "fixed-phrases",
            "extra-arguments",
            "handshake",
            "transport-and-framing",
            "line-limit",
            "timestamps",
            "timed-start-and-stop",
            "numbers",
            SIMULATOR_CLAUSE,
        ]);
        for anchor in cited {
            assert!(
                anchors.iter().any(|a| a == anchor),
                "{CONTRACT} has no heading for #{anchor}; it has {anchors:?}"
            );
        }
    }

    #[test]
    fn the_fixed_phrases_are_the_contracts_own() {
        let section = CONTRACT_TEXT
            .split("### Fixed phrases")
            .nth(1)
            .and_then(|rest| rest.split("\n### ").next())
            .expect("the contract has a section of fixed phrases");
        let in_contract: Vec<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split_once('`').map(|(phrase, _)| phrase))
            .collect();
        assert_eq!(in_contract, FIXED_PHRASES);
    }

    #[test]
    fn placeholders_stand_for_any_text() {
        assert!(is_fixed_phrase("cannot find configuration 'Q9'"));
        assert!(is_fixed_phrase("wrong timestamp ''"));
        assert!(is_fixed_phrase("set-section needs 7 arguments"));
        assert!(!is_fixed_phrase("set-section needs 7 arguments (got 3)"));
        assert!(!is_fixed_phrase("cannot find configuration Q9"));
        assert!(!is_fixed_phrase("already acquiring"));
    }

    #[test]
    fn replies_compare_as_the_contract_does() {
        let reply = |line: &str| crate::protocol::parse(line.as_bytes()).unwrap();
        assert_eq!(compare("!tp,ok,0,0.0", &reply("!tp,ok,0.000,0")), Ok(()));
        assert_eq!(compare("!stop,fail", &reply("!stop,fail,idle")), Ok(()));
        assert!(
            compare("!stop,fail,x", &reply("!stop,fail,y"))
                .unwrap_err()
                .contains("the reason is \"y\"")
        );
        assert!(
            compare("!stop,ok", &reply("!stop,fail,y"))
                .unwrap_err()
                .contains("code is fail")
        );
        assert!(
            compare("!a,ok", &reply("!b,ok"))
                .unwrap_err()
                .contains("named 'b'")
        );
        assert!(
            compare("!a,ok,K2000", &reply("!a,ok,k2000"))
                .unwrap_err()
                .contains("field 1")
        );
        assert!(compare("?a", &reply("!a,ok")).is_err());
    }
}
