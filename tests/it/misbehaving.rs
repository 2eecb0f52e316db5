//! Backends that break how they reply, one way each
//! (`fixtures/misbehaving.py --mode M`), run through `discos-sim check` as
//! a backend author runs it: no scenario that ran may pass (each ends with
//! a last look at its connections, a request too), unless the mode breaks
//! only some replies; and the failures must say what happened, in that
//! mistake's own words, graded by the requirement it breaks.

use std::path::PathBuf;
use std::process::Command;

use std::sync::Mutex;

use discos_acceptance::acceptance::Status;
use discos_acceptance::report::{self, Direction, Report, ScenarioReport};

/// One run at a time: each starts a backend per scenario, 8 at once.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const BIN: &str = env!("CARGO_BIN_EXE_discos-sim");

/// The scenarios each backend is tried on: requests sent every way a
/// scenario sends them (a step's own, a precondition's, pipelined, raw
/// bytes, a line too long, bytes that are not UTF-8, two clients), a few
/// dozen in all. The whole portable suite takes minutes per backend on a
/// loaded machine; each of these misbehaviours was also run against all of
/// it (the commit that added this file gives the figures).
const SELECTION: &str = "@must:one-reply or @should:malformed-lines or @must:split-lines \
    or @must:ids-as-written or @must:start-stop or @must:cal-on or @should:line-limit \
    or @should:non-utf8 or @must:shared-state";

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/misbehaving.py")
}

/// Runs the selection against the backend in `mode`; its report and what
/// the run printed.
fn check(mode: &str) -> (Report, String) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let json = std::env::temp_dir().join(format!(
        "discos-misbehaving-{mode}-{}.json",
        std::process::id()
    ));
    // The pages and screenshots of its failed browser steps, removed with
    // the report.
    let artifacts = json.with_extension("artifacts");
    let target = format!(
        "cmd:python3 {} --mode {mode} --port {{port}}",
        fixture().display()
    );
    let output = Command::new(BIN)
        .args(["check", "--target", &target, "--tags", SELECTION])
        .arg("--report-json")
        .arg(&json)
        .arg("--artifacts")
        .arg(&artifacts)
        .output()
        .expect("discos-sim check runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let printed = format!("{stdout}\n{stderr}");
    assert_eq!(
        output.status.code(),
        Some(1),
        "a run against --mode {mode} must fail, and run:\n{printed}"
    );
    let report = report::read_json(&json).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_dir_all(&artifacts);
    (report, printed)
}

/// Whether a scenario ran (was not skipped on this machine).
fn ran(scenario: &ScenarioReport) -> bool {
    scenario.status() != Status::Skipped
}

/// Whether a scenario received a line `broken` says is one the mode broke.
fn received(scenario: &ScenarioReport, broken: fn(&str) -> bool) -> bool {
    scenario
        .transcript
        .iter()
        .any(|line| line.direction == Direction::Received && broken(&line.text))
}

/// Fails unless every scenario of the run failed (each ends with a last
/// look at its connections, a request too), a MUST `id` among the grades,
/// and `words` in at least one failure.
fn turns_red(mode: &str, id: &str, words: &str) {
    turns_red_where(mode, id, words, ran);
}

/// Fails unless every scenario `affected` picks failed (at least 3), a
/// MUST `id` among the grades, and `words` in at least one failure.
fn turns_red_where(mode: &str, id: &str, words: &str, affected: impl Fn(&ScenarioReport) -> bool) {
    let (report, printed) = check(mode);
    let mut count = 0;
    let mut graded = false;
    let mut worded = false;
    for (_, scenario) in report.scenarios() {
        if !affected(scenario) {
            continue;
        }
        count += 1;
        assert_eq!(
            scenario.status(),
            Status::Failed,
            "--mode {mode}: \"{}\" met the misbehaviour and did not fail:\n{printed}",
            scenario.name
        );
        let reason = scenario.reason().unwrap_or_default();
        graded |= scenario.graded.as_ref().is_some_and(|graded| {
            graded.id == id && reason.contains(&format!("MUST {id} \u{2014} "))
        });
        worded |= reason.contains(words);
    }
    assert!(
        count >= 3,
        "--mode {mode}: only {count} scenario(s) met the misbehaviour:\n{printed}"
    );
    assert!(
        graded,
        "--mode {mode}: no failure was graded MUST {id}:\n{printed}"
    );
    assert!(
        worded,
        "--mode {mode}: no failure says \"{words}\":\n{printed}"
    );
}

#[test]
fn a_reply_for_another_command_fails_naming_both() {
    turns_red("wrong-name", "same-name", "is named 'status', not");
}

#[test]
fn every_reply_sent_twice_fails_showing_the_extra_one() {
    turns_red(
        "twice",
        "one-reply",
        "line(s) nobody asked for, after the reply it waited for",
    );
}

#[test]
fn a_second_reply_that_comes_late_fails_too() {
    turns_red("twice-late", "one-reply", "line(s) nobody asked for");
}

#[test]
fn a_line_before_any_request_fails() {
    // Protocol scenarios fail on connecting, before they send anything;
    // the console's, whose pages show the line as an event, at their end.
    turns_red_where(
        "unasked",
        "greeting",
        "nobody asked for, right after the greeting",
        ran,
    );
}

#[test]
fn a_backend_that_hangs_up_after_one_reply_fails() {
    turns_red(
        "hangup-after-one",
        "one-reply",
        "while the client kept it open",
    );
}

#[test]
fn half_a_reply_then_the_end_of_the_connection_is_a_cut_reply() {
    turns_red(
        "cut",
        "crlf",
        "the reply was cut: the backend closed the connection after",
    );
}

#[test]
fn half_a_reply_then_silence_is_said_so() {
    turns_red("stall", "one-reply", "part of a reply came, then silence");
}

#[test]
fn a_bare_lf_fails_saying_what_discos_reads() {
    // The greeting ends with a bare LF too: scenarios fail on connecting,
    // before they send anything; the console's, whose pages show it, at
    // their end.
    turns_red_where(
        "bare-lf",
        "crlf",
        "ends with a bare LF, without its CR",
        ran,
    );
}

#[test]
fn a_cr_too_many_fails_saying_what_discos_reads() {
    turns_red_where(
        "double-cr",
        "crlf",
        "ends with CR CR LF, a CR too many",
        ran,
    );
}

#[test]
fn bytes_after_the_last_line_fail_in_the_teardown() {
    turns_red(
        "trailing-bytes",
        "one-reply",
        "bytes after the last line, without a line end, then the connection closed",
    );
}

#[test]
fn a_refusal_without_its_reason_fails() {
    // Only refusals lose their reason: a scenario of successes may pass.
    turns_red_where(
        "no-reason",
        "reason-given",
        "a refusal without a reason",
        |scenario| {
            received(scenario, |line| {
                line.ends_with(",fail") || line.ends_with(",invalid")
            })
        },
    );
}

#[test]
fn a_reply_without_its_code_fails() {
    // Only successes lose their code: a scenario of refusals may pass.
    turns_red_where(
        "no-code",
        "code-first",
        "has no return code right after its name",
        |scenario| {
            received(scenario, |line| {
                let code = line.split(',').nth(1).unwrap_or_default();
                line.starts_with('!') && !["ok", "fail", "invalid"].contains(&code)
            })
        },
    );
}

#[test]
fn a_reply_past_512_bytes_fails() {
    // Only successes are padded: a scenario of refusals may pass.
    turns_red_where(
        "long",
        "short-lines",
        "so every line is under 512",
        |scenario| received(scenario, |line| line.len() > 511),
    );
}
