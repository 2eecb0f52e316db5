//! Starting and stopping acquisitions, now or at a time said as people say
//! it ("in 200 milliseconds", "at a time one hour ago", "at midnight on 1
//! January 2100"), and what `status` says about it.
//!
//! The checks talk through the default client and read their own replies,
//! so a scenario can say "the backend is acquiring within 1 second" and the
//! step polls `status` until it is — observing, never sleeping blindly.

use std::time::Duration;

use cucumber::{given, then, when};

use super::Who;
use crate::acceptance::DiscosWorld;
use crate::acceptance::world::{DEFAULT_CLIENT, TimedRequests};
use crate::poll::{Pace, Poller};
use crate::protocol::Timestamp;

/// How often a waiting step asks for `status`.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// Starts an acquisition now (`start`) and fails unless the backend
/// accepts it: a precondition, whose reply later steps do not check.
#[given("the acquisition is started")]
#[when("the acquisition is started")]
async fn started_now(world: &mut DiscosWorld) {
    world.ask_ok("start").await;
    answered(world);
}

/// Brings a shared backend to a known state; a fresh one already is.
#[given("the backend is not acquiring")]
async fn make_not_acquiring(world: &mut DiscosWorld) {
    if world.acquiring().await {
        world.ask_ok("stop").await;
    }
}

/// Stops the acquisition now (`stop`) and fails unless the backend
/// accepts it; its reply is not one that later steps check.
#[when("the acquisition is stopped")]
async fn stopped_now(world: &mut DiscosWorld) {
    world.ask_ok("stop").await;
    answered(world);
}

/// A timed start or stop as a precondition: it must be accepted, and its
/// reply is not one that later steps check.
#[given(
    regex = r"^the acquisition is (started|stopped) in (\d+|one|two|three) (milliseconds?|seconds?|minutes?|hours?)$"
)]
#[when(
    regex = r"^the acquisition is (started|stopped) in (\d+|one|two|three) (milliseconds?|seconds?|minutes?|hours?)$"
)]
async fn timed(world: &mut DiscosWorld, action: String, count: String, unit: String) {
    let at = Timestamp::now().after(duration(amount(&count), &unit));
    let command = if action == "started" { "start" } else { "stop" };
    let request = format!("{command},{}", at.acs_ticks());
    let reply = world.ask(&request).await;
    let now = Timestamp::now();
    if reply.code() != Some(crate::protocol::Code::Ok) {
        let late = if at.until(now).is_none() {
            format!(
                " — but it was answered {} after the time it names, and a time already past is \
                 rightly refused: {TOO_LOADED}",
                humantime::format_duration(since(at, now))
            )
        } else {
            lateness(world, now)
        };
        world.fail(format!(
            "expected {request:?} to succeed, but the reply is\n    {reply}{late}"
        ));
    }
    let first_due = world.timed.map_or(at, |timed| timed.first_due.min(at));
    world.timed = Some(TimedRequests {
        first_due,
        last_answered: now,
    });
}

/// What a failed timing check adds when the machine, not the backend, may
/// have missed the time: the scenario's times are a few seconds apart, and a
/// request or a check that comes after a time it was meant to precede proves
/// nothing about the backend.
const TOO_LOADED: &str = "this machine answers too late for the scenario's times \
    (is it oversubscribed? a lower --concurrency gives each scenario more of it)";

/// Notes that a request about the acquisition was answered now.
fn answered(world: &mut DiscosWorld) {
    if let Some(timed) = &mut world.timed {
        timed.last_answered = Timestamp::now();
    }
}

/// How long after `due` the time `now` is, to the millisecond (zero if
/// before).
fn since(due: Timestamp, now: Timestamp) -> Duration {
    let late = now.since_epoch().saturating_sub(due.since_epoch());
    Duration::from_millis(u64::try_from(late.as_millis()).unwrap_or(u64::MAX))
}

/// The words a failed check adds when what it saw at `seen` came after the
/// scenario's first timed start or stop was due: then it cannot tell what
/// the backend did before that time. Empty otherwise.
fn lateness(world: &DiscosWorld, seen: Timestamp) -> String {
    match world.timed {
        Some(timed) if timed.first_due.until(seen).is_none() => format!(
            " — but this was seen {} after the scenario's first timed start or stop was due, \
             so it cannot tell what the backend did before that time: {TOO_LOADED}",
            humantime::format_duration(since(timed.first_due, seen))
        ),
        _ => String::new(),
    }
}

/// Asks `status` every 10 ms until it says the backend acquires, and
/// fails if it does not within the time given: for a timed start.
#[then(regex = r"^the backend is acquiring within (\d+) (milliseconds?|seconds?)$")]
async fn acquiring_within(world: &mut DiscosWorld, amount: u64, unit: String) {
    wait_for(world, true, duration(amount, &unit)).await;
}

/// Asks `status` every 10 ms until it says the backend does not acquire,
/// and fails if it still does after the time given: for a timed stop.
#[then(regex = r"^the backend is not acquiring within (\d+) (milliseconds?|seconds?)$")]
async fn not_acquiring_within(world: &mut DiscosWorld, amount: u64, unit: String) {
    wait_for(world, false, duration(amount, &unit)).await;
}

/// `status` says the backend acquires, now.
#[then("the backend is acquiring")]
async fn is_acquiring(world: &mut DiscosWorld) {
    if !world.acquiring().await {
        let late = lateness(world, Timestamp::now());
        world.fail(format!(
            "expected the backend to be acquiring, but status says it is not{late}"
        ));
    }
}

/// `status` says the backend does not acquire, now.
#[then("the backend is not acquiring")]
async fn is_not_acquiring(world: &mut DiscosWorld) {
    if world.acquiring().await {
        let late = lateness(world, Timestamp::now());
        world.fail(format!(
            "expected the backend not to be acquiring, but status says it is{late}"
        ));
    }
}

/// `status`, asked every 10 ms for the whole time given, never says the
/// backend acquires: for a start that was cancelled or refused.
#[then(regex = r"^the backend stays not acquiring for (\d+) (milliseconds?|seconds?)$")]
async fn stays_not_acquiring(world: &mut DiscosWorld, amount: u64, unit: String) {
    let window = duration(amount, &unit);
    let until = tokio::time::Instant::now() + window;
    let mut every = tokio::time::interval(POLL_EVERY);
    while tokio::time::Instant::now() < until {
        every.tick().await;
        if world.acquiring().await {
            // What could have kept it from acquiring is the latest request
            // about the acquisition: it must have come before the first time.
            let late = world
                .timed
                .map(|timed| lateness(world, timed.last_answered))
                .unwrap_or_default();
            world.fail(format!(
                "expected the backend not to acquire for {window:?}, but status says it is acquiring{late}"
            ));
        }
    }
}

/// Polls `status` until acquiring is `wanted`, failing after `limit`.
async fn wait_for(world: &mut DiscosWorld, wanted: bool, limit: Duration) {
    let mut poller = Poller::within(limit, Pace::every(POLL_EVERY));
    loop {
        if world.acquiring().await == wanted {
            return;
        }
        if !poller.pause().await {
            let state = if wanted { "acquiring" } else { "not acquiring" };
            world.fail(format!(
                "expected the backend to be {state} within {limit:?}, but it is not"
            ));
        }
    }
}

fn duration(amount: u64, unit: &str) -> Duration {
    match unit.trim_end_matches('s') {
        "hour" => Duration::from_secs(amount * 3600),
        "minute" => Duration::from_secs(amount * 60),
        "second" => Duration::from_secs(amount),
        _ => Duration::from_millis(amount),
    }
}

/// `start` or `stop` now, its reply left for a `Then` to check.
#[when(expr = "{client} starts the acquisition")]
async fn starts(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "start").await;
}

/// Sends `stop` now; its reply is left for a `Then` to check.
#[when(expr = "{client} stops the acquisition")]
async fn stops(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "stop").await;
    answered(world);
}

/// A time as the request carries it: a tick count (what DISCOS sends), or
/// decimal seconds when the scenario says "written in decimal seconds".
fn written(at: Timestamp, decimal: &str) -> String {
    if decimal.is_empty() {
        at.acs_ticks().to_string()
    } else {
        let since = at.since_epoch();
        format!("{}.{:06}", since.as_secs(), since.subsec_micros())
    }
}

/// A number said in words or digits: "one hour", "200 milliseconds".
fn amount(text: &str) -> u64 {
    match text {
        "one" | "an" | "a" => 1,
        "two" => 2,
        "three" => 3,
        digits => digits.parse().unwrap_or(0),
    }
}

/// Sends a timed `start` or `stop` for that long from now, as a tick
/// count (what DISCOS sends) or in decimal seconds when the step says so;
/// its reply is left for a `Then` to check.
#[when(
    regex = r#"^(the client|the user|the operator|the observer|the astronomer|client "[^"]*") (starts|stops) the acquisition in (\d+|one|two|three) (milliseconds?|seconds?|minutes?|hours?)(, written in decimal seconds)?$"#
)]
async fn timed_in(
    world: &mut DiscosWorld,
    who: String,
    action: String,
    count: String,
    unit: String,
    decimal: String,
) {
    let at = Timestamp::now().after(duration(amount(&count), &unit));
    send_timed(world, &who, &action, &written(at, &decimal)).await;
}

/// Sends a timed `start` or `stop` for a time that long ago, one already
/// past (as a tick count, or in decimal seconds when the step says so);
/// its reply is left for a `Then` to check.
#[when(
    regex = r#"^(the client|the user|the operator|the observer|the astronomer|client "[^"]*") (starts|stops) the acquisition at a time (\d+|one|two|three) (milliseconds?|seconds?|minutes?|hours?) ago(, written in decimal seconds)?$"#
)]
async fn timed_ago(
    world: &mut DiscosWorld,
    who: String,
    action: String,
    count: String,
    unit: String,
    decimal: String,
) {
    let now = Timestamp::now().since_epoch();
    let at = now.saturating_sub(duration(amount(&count), &unit));
    let at = Timestamp::from_acs_ticks((at.as_nanos() / 100) as u64);
    send_timed(world, &who, &action, &written(at, &decimal)).await;
}

/// Sends a timed `start` or `stop` for midnight (UTC) at the start of the
/// date given (as a tick count, or in decimal seconds when the step says
/// so); its reply is left for a `Then` to check.
#[when(
    regex = r#"^(the client|the user|the operator|the observer|the astronomer|client "[^"]*") (starts|stops) the acquisition at midnight on (\d{1,2}) (January|February|March|April|May|June|July|August|September|October|November|December) (\d{4})(, written in decimal seconds)?$"#
)]
async fn timed_on(
    world: &mut DiscosWorld,
    who: String,
    action: String,
    day: u32,
    month: String,
    year: i64,
    decimal: String,
) {
    let Some(seconds) = midnight(year, &month, day) else {
        world.fail(format!("{day} {month} {year} is not a date after 1970"));
    };
    let at = Timestamp::from_acs_ticks(seconds * 10_000_000);
    send_timed(world, &who, &action, &written(at, &decimal)).await;
}

/// A time written as the scenario quotes it, to see what a backend makes
/// of something that is not a time.
#[when(
    regex = r#"^(the client|the user|the operator|the observer|the astronomer|client "[^"]*") (starts|stops) the acquisition at "([^"]*)"$"#
)]
async fn timed_as_written(world: &mut DiscosWorld, who: String, action: String, time: String) {
    send_timed(world, &who, &action, &time).await;
}

async fn send_timed(world: &mut DiscosWorld, who: &str, action: &str, time: &str) {
    let who: Who = who.parse().unwrap_or(Who(DEFAULT_CLIENT.to_owned()));
    let command = if action == "starts" { "start" } else { "stop" };
    world.send(&who.0, &format!("{command},{time}")).await;
}

/// Unix seconds at midnight UTC of a date; `None` before 1970 or for a day
/// the month does not have.
fn midnight(year: i64, month: &str, day: u32) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day == 0 || i64::from(day) > days_in_month[(month - 1) as usize] {
        return None;
    }
    // Days from the civil calendar, after Howard Hinnant's algorithm.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    u64::try_from(days * 86_400).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnights_are_unix_seconds() {
        assert_eq!(midnight(1970, "January", 1), Some(0));
        assert_eq!(midnight(2100, "January", 1), Some(4_102_444_800));
        assert_eq!(midnight(2000, "February", 29), Some(951_782_400));
        assert_eq!(midnight(2100, "February", 29), None);
        assert_eq!(midnight(1969, "December", 31), None);
    }
}
