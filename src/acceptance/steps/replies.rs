//! Steps that check the latest reply as the contract fixes it: accepted
//! (`ok`), refused (`fail`, with a fixed phrase when one is given), or
//! rejected as malformed (`invalid`); and what a success carries.

use std::time::Duration;

use cucumber::then;

use super::exchange::anchor;
use crate::acceptance::DiscosWorld;
use crate::protocol::contract::{clause_of, is_fixed_phrase, number};
use crate::protocol::{Code, Message, Timestamp};

/// How far the backend's clock may be from this machine's.
const CLOCK_SKEW: Duration = Duration::from_secs(5);

/// The request was carried out.
#[then("the backend accepts it")]
async fn accepts(world: &mut DiscosWorld) {
    expect_code(world, Code::Ok, "accept the request (ok)");
}

/// A well-formed request the backend could not carry out; its reason is the
/// backend's own.
#[then("the backend refuses it")]
async fn refuses(world: &mut DiscosWorld) {
    expect_code(world, Code::Fail, "refuse the request (fail)");
}

/// Refused, with a reason of at least one word, whatever it says: DISCOS
/// reads a refusal's first word, and raises an error without one.
#[then("the backend refuses it, giving a reason")]
async fn refuses_giving_a_reason(world: &mut DiscosWorld) {
    let reply = expect_code(world, Code::Fail, "refuse the request (fail)");
    if reply.reason().is_none_or(|reason| reason.trim().is_empty()) {
        world.fail_requirement(
            "reason-given",
            format!("expected a refusal with a reason, but the reply is\n    {reply}"),
        );
    }
}

/// Refused with exactly this reason: in a portable scenario a phrase the
/// contract fixes (docs/protocol.md#fixed-phrases); in a `@simulator` one,
/// the simulator's own words.
#[then(expr = "the backend refuses it, saying {string}")]
async fn refuses_saying(world: &mut DiscosWorld, reason: String) {
    let reply = expect_code(world, Code::Fail, "refuse the request (fail)");
    if reply.reason() != Some(reason.as_str()) {
        let clause = if is_fixed_phrase(&reason) {
            "fixed-phrases"
        } else {
            clause_of(&reply.name)
        };
        world.fail_clause(
            clause,
            format!(
                "expected the reason to be exactly\n    {reason}\nbut the reply is\n    {reply}"
            ),
        );
    }
}

/// The reason holds this text: for the simulator's own wording, where a
/// scenario cares about part of it (a time in a reason changes every run).
#[then(expr = "the reply says {string}")]
async fn the_reply_says(world: &mut DiscosWorld, part: String) {
    let reply = world.reply().clone();
    if !reply.reason().is_some_and(|reason| reason.contains(&part)) {
        world.fail_clause(
            clause_of(&reply.name),
            format!("expected the reason to hold \"{part}\", but the reply is\n    {reply}"),
        );
    }
}

/// Whatever the reason is, it is not this one: a negative tick count is a
/// time long past, not a timestamp that cannot be read.
#[then(expr = "the reason is not {string}")]
async fn the_reason_is_not(world: &mut DiscosWorld, reason: String) {
    let reply = world.reply().clone();
    if reply.reason() == Some(reason.as_str()) {
        world.fail_clause(
            clause_of(&reply.name),
            format!("expected another reason than \"{reason}\", but the reply is\n    {reply}"),
        );
    }
}

/// The line was malformed; the reason is the backend's own.
#[then("the backend rejects the line as malformed")]
async fn rejects(world: &mut DiscosWorld) {
    expect_code(
        world,
        Code::Invalid,
        "reject the line as malformed (invalid)",
    );
}

/// Malformed, and the reply carries this name: the line's, when one can be
/// read from it, else `undefined`.
#[then(expr = "the backend rejects the line as malformed, under the name {string}")]
async fn rejects_under_the_name(world: &mut DiscosWorld, name: String) {
    let reply = expect_code(
        world,
        Code::Invalid,
        "reject the line as malformed (invalid)",
    );
    if reply.name != name {
        world.fail_clause(
            "malformed-lines",
            format!("expected the reply to be named '{name}', but it is\n    {reply}"),
        );
    }
}

/// The simulator's own words for what is wrong with a line.
#[then(expr = "the backend rejects the line as malformed, saying {string}")]
async fn rejects_saying(world: &mut DiscosWorld, reason: String) {
    let reply = expect_code(
        world,
        Code::Invalid,
        "reject the line as malformed (invalid)",
    );
    if reply.reason() != Some(reason.as_str()) {
        world.fail_clause(
            "malformed-lines",
            format!(
                "expected the reason to be exactly\n    {reason}\nbut the reply is\n    {reply}"
            ),
        );
    }
}

/// Exactly one reply came for the line, whatever its code: a backend may
/// read odd bytes as latin-1 or refuse them, but never stays silent.
#[then("the backend answers the line")]
async fn answers_the_line(world: &mut DiscosWorld) {
    let _ = world.reply();
}

fn expect_code(world: &mut DiscosWorld, code: Code, what: &str) -> Message {
    let reply = world.reply().clone();
    if reply.code() != Some(code) {
        let clause = if code == Code::Invalid {
            "malformed-lines"
        } else {
            anchor(&reply)
        };
        world.fail_clause(
            clause,
            format!("expected the backend to {what}, but it answered\n    {reply}"),
        );
    }
    reply
}

/// A total power, RMS or zero level reply: at least one number, one per
/// input of the configuration in use (how many is the backend's own).
#[then("the reply holds a number for each input")]
async fn a_number_per_input(world: &mut DiscosWorld) {
    let reply = expect_code(world, Code::Ok, "accept the request (ok)");
    numbers(world, &reply);
}

/// As many values as the total power (a zero level, an RMS, a total power
/// with a Tsys range): asks `get-tpi` itself to count.
#[then("the reply holds as many numbers as the total power has")]
async fn as_many_as_the_total_power(world: &mut DiscosWorld) {
    let reply = expect_code(world, Code::Ok, "accept the request (ok)");
    let levels = numbers(world, &reply);
    let power = world.ask_ok("get-tpi").await;
    let sections = numbers(world, &power);
    if levels.len() != sections.len() {
        world.fail_clause(
            clause_of(&reply.name),
            format!(
                "expected as many values as get-tpi has ({}), but the reply is\n    {reply}",
                sections.len()
            ),
        );
    }
}

/// The simulator's own: exactly this many values, each in a range.
#[then(expr = "the reply holds {int} number(s) between {float} and {float}")]
async fn numbers_between(world: &mut DiscosWorld, count: usize, low: f64, high: f64) {
    let reply = expect_code(world, Code::Ok, "accept the request (ok)");
    let values = numbers(world, &reply);
    let outside = values.iter().find(|v| !(low..=high).contains(*v));
    if values.len() != count || outside.is_some() {
        world.fail_clause(
            clause_of(&reply.name),
            format!(
                "expected {count} number(s) between {low} and {high}, but the reply is\n    {reply}"
            ),
        );
    }
}

fn numbers(world: &DiscosWorld, reply: &Message) -> Vec<f64> {
    let values: Option<Vec<f64>> = reply.arguments.iter().map(|v| number(v)).collect();
    match values {
        Some(values) if !values.is_empty() => values,
        _ => world.fail_clause(
            clause_of(&reply.name),
            format!("expected one number per input, at least one, but the reply is\n    {reply}"),
        ),
    }
}

/// `status`: the backend's time, a word for its state, and 1 or 0 for
/// whether it acquires.
#[then("the reply holds the current time, a state and whether the backend acquires")]
async fn holds_status(world: &mut DiscosWorld) {
    let reply = expect_code(world, Code::Ok, "accept the request (ok)");
    let [time, state, acquiring] = reply.arguments.as_slice() else {
        world.fail_clause(
            "status",
            format!("expected a time, a state and 0 or 1, but the reply is\n    {reply}"),
        );
    };
    unix_seconds(world, &reply, time);
    if state.is_empty() || !matches!(acquiring.as_str(), "0" | "1") {
        world.fail_clause(
            "status",
            format!("expected a state word and 0 or 1, but the reply is\n    {reply}"),
        );
    }
}

/// `time`: the backend's clock, close to this machine's, in decimal Unix
/// seconds to the microsecond.
#[then("the reply holds the current time")]
async fn holds_the_current_time(world: &mut DiscosWorld) {
    let (reply, time) = the_time(world);
    current_time(world, &reply, &time);
}

/// `time`: the backend's clock, close to this machine's, in whole Unix
/// seconds before any dot: what DISCOS reads of it.
#[then("the reply holds the current time in Unix seconds")]
async fn holds_unix_seconds(world: &mut DiscosWorld) {
    let (reply, time) = the_time(world);
    unix_seconds(world, &reply, &time);
}

fn the_time(world: &mut DiscosWorld) -> (Message, String) {
    let reply = expect_code(world, Code::Ok, "accept the request (ok)");
    let [time] = reply.arguments.as_slice() else {
        world.fail_clause(
            "time",
            format!("expected only a time after ok, but the reply is\n    {reply}"),
        );
    };
    let time = time.clone();
    (reply, time)
}

/// The digits before the dot are Unix seconds, close to this machine's:
/// DISCOS reads a time as the integer it starts with.
fn unix_seconds(world: &DiscosWorld, reply: &Message, text: &str) {
    let now = i64::try_from(Timestamp::now().since_epoch().as_secs()).unwrap_or(i64::MAX);
    let whole = text.split_once('.').map_or(text, |(whole, _)| whole);
    let close = whole
        .parse::<i64>()
        .is_ok_and(|seconds| seconds.abs_diff(now) <= CLOCK_SKEW.as_secs());
    if !close {
        world.fail_requirement(
            "unix-seconds",
            format!(
                "expected the time to start with the Unix seconds, within {CLOCK_SKEW:?} of now ({now}), as DISCOS reads it, but the reply is\n    {reply}"
            ),
        );
    }
}

/// Unix seconds first (what DISCOS reads, a MUST whatever the scenario),
/// then to the microsecond, as the reference writes them.
fn current_time(world: &DiscosWorld, reply: &Message, text: &str) {
    unix_seconds(world, reply, text);
    let decimals = text
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len());
    if decimals < 6 {
        world.fail_requirement(
            "time-precision",
            format!("expected decimal Unix seconds with at least 6 decimals, but the reply is\n    {reply}"),
        );
    }
}

/// The simulator's own state word in `status`.
#[then(expr = "the state is {string}")]
async fn the_state_is(world: &mut DiscosWorld, state: String) {
    let reply = expect_code(world, Code::Ok, "accept the request (ok)");
    if reply.arguments.get(1) != Some(&state) {
        world.fail_clause(
            "status",
            format!("expected the state \"{state}\", but the reply is\n    {reply}"),
        );
    }
}
