//! What the report's tags and target mean, for a reviewer who has not read
//! the README: `@fresh`, `@embedded`, `@must:crlf`, "Target embedded".

use crate::protocol::contract::{Strength, requirement_tag};

/// The tags the suite gives a meaning to, with what each means.
pub const TAGS: [(&str, &str); 11] = [
    (
        "simulator",
        "checks the simulator's own behaviour (its wording, its limits), not the contract; another backend skips it",
    ),
    (
        "fresh",
        "needs a backend nobody else has touched; skipped on a backend that is already running and shared (tcp://)",
    ),
    (
        "embedded",
        "looks inside the simulator, which runs in the test process only on the embedded target",
    ),
    (
        "browser",
        "drives the web console in a real (headless) Chromium, one per user",
    ),
    (
        "broker",
        "checks the backend's events on a message broker (RabbitMQ)",
    ),
    (
        "restarts-broker",
        "stops and starts the run's message broker; skipped with a broker the run did not start",
    ),
    (
        "serial",
        "runs alone, after the scenarios that run at the same time as others",
    ),
    (
        "sardara",
        "needs the configurations of Sardara, DISCOS's SRT backend (runs with --profile sardara)",
    ),
    (
        "skarab",
        "needs the configurations of Skarab, DISCOS's other backend (runs with --profile skarab)",
    ),
    (
        "wip",
        "still being written: left out unless --tags names it, and its undefined steps do not fail the run",
    ),
    (
        "deliberate-leak",
        "leaks a connection on purpose, to prove the teardown check; left out unless --tags names it",
    ),
];

/// What `tag` (without `@`) means: one of [`TAGS`], or the requirement a
/// `@must:`/`@should:` tag names; `None` for a tag the suite gives no
/// meaning to.
pub fn tag(tag: &str) -> Option<String> {
    if let Some((strength, id)) = requirement_tag(tag) {
        let weight = match strength {
            Strength::Must => "a failure means DISCOS cannot drive the backend, and fails the run",
            Strength::Should => {
                "a failure is non-strict: shown, failing the run only with --strict"
            }
        };
        return Some(format!(
            "checks the contract's {strength} requirement `{id}`: {weight}"
        ));
    }
    TAGS.iter()
        .find(|(name, _)| *name == tag)
        .map(|(_, meaning)| (*meaning).to_owned())
}

/// What a run's target (as `--target` names it) is.
pub fn target(target: &str) -> String {
    if target == "embedded" {
        "the simulator (the code of discos-sim serve), started inside the test process for each scenario".to_owned()
    } else if let Some(command) = target.strip_prefix("cmd:") {
        format!(
            "a backend started for each scenario as the command `{command}`, {{port}} a free port"
        )
    } else if let Some(address) = target.strip_prefix("tcp://") {
        format!("a backend already running at {address}, shared by every scenario (one at a time)")
    } else {
        "the backend the run was pointed at".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_targets_are_explained() {
        assert!(tag("fresh").unwrap().contains("nobody else has touched"));
        assert!(
            tag("must:crlf")
                .unwrap()
                .contains("MUST requirement `crlf`")
        );
        assert!(tag("should:x").unwrap().contains("non-strict"));
        assert_eq!(tag("my-own-tag"), None);
        assert!(target("embedded").contains("inside the test process"));
        assert!(target("cmd:python3 b.py --port {port}").contains("`python3 b.py --port {port}`"));
        assert!(target("tcp://127.0.0.1:9").contains("already running at 127.0.0.1:9"));
    }
}
