//! Higher-level steps about what the backend does, in an operator's words.
//!
//! They talk through the default client and check their own replies, so a
//! scenario can say "the backend is acquiring within 1 second" and the step
//! polls `status` until it is — observing, never sleeping blindly.

use std::time::Duration;

use cucumber::gherkin::Step;
use cucumber::{given, then, when};

use super::table_rows;
use crate::acceptance::DiscosWorld;
use crate::protocol::Timestamp;

/// How often a waiting step asks for `status`.
const POLL_EVERY: Duration = Duration::from_millis(10);

#[given(expr = "the backend is configured as {string}")]
async fn configured_as(world: &mut DiscosWorld, id: String) {
    world.ask_ok(&format!("set-configuration,{id}")).await;
}

#[given(expr = "the integration time is {int} milliseconds")]
async fn integration_time(world: &mut DiscosWorld, ms: u64) {
    world.ask_ok(&format!("set-integration,{ms}")).await;
}

#[given("the acquisition is started")]
#[when("the acquisition is started")]
async fn started_now(world: &mut DiscosWorld) {
    world.ask_ok("start").await;
}

/// Brings a shared backend to a known state; a fresh one already is.
#[given("the backend is not acquiring")]
async fn make_not_acquiring(world: &mut DiscosWorld) {
    if world.acquiring().await {
        world.ask_ok("stop").await;
    }
}

#[when("the acquisition is stopped")]
async fn stopped_now(world: &mut DiscosWorld) {
    world.ask_ok("stop").await;
}

#[given(regex = r"^the acquisition is (started|stopped) in (\d+) (milliseconds?|seconds?)$")]
#[when(regex = r"^the acquisition is (started|stopped) in (\d+) (milliseconds?|seconds?)$")]
async fn timed(world: &mut DiscosWorld, action: String, amount: u64, unit: String) {
    let at = Timestamp::now().after(duration(amount, &unit));
    let command = if action == "started" { "start" } else { "stop" };
    world.ask_ok(&format!("{command},{}", at.acs_ticks())).await;
}

#[then(regex = r"^the backend is acquiring within (\d+) (milliseconds?|seconds?)$")]
async fn acquiring_within(world: &mut DiscosWorld, amount: u64, unit: String) {
    wait_for(world, true, duration(amount, &unit)).await;
}

#[then(regex = r"^the backend is not acquiring within (\d+) (milliseconds?|seconds?)$")]
async fn not_acquiring_within(world: &mut DiscosWorld, amount: u64, unit: String) {
    wait_for(world, false, duration(amount, &unit)).await;
}

#[then("the backend is acquiring")]
async fn is_acquiring(world: &mut DiscosWorld) {
    if !world.acquiring().await {
        world.fail("expected the backend to be acquiring, but status says it is not");
    }
}

#[then("the backend is not acquiring")]
async fn is_not_acquiring(world: &mut DiscosWorld) {
    if world.acquiring().await {
        world.fail("expected the backend not to be acquiring, but status says it is");
    }
}

#[then(regex = r"^the backend stays not acquiring for (\d+) (milliseconds?|seconds?)$")]
async fn stays_not_acquiring(world: &mut DiscosWorld, amount: u64, unit: String) {
    let window = duration(amount, &unit);
    let until = tokio::time::Instant::now() + window;
    let mut every = tokio::time::interval(POLL_EVERY);
    while tokio::time::Instant::now() < until {
        every.tick().await;
        if world.acquiring().await {
            world.fail(format!(
                "expected the backend not to acquire for {window:?}, but status says it is acquiring"
            ));
        }
    }
}

/// Polls `status` until acquiring is `wanted`, failing after `limit`.
async fn wait_for(world: &mut DiscosWorld, wanted: bool, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut every = tokio::time::interval(POLL_EVERY);
    loop {
        every.tick().await;
        if world.acquiring().await == wanted {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let state = if wanted { "acquiring" } else { "not acquiring" };
            world.fail(format!(
                "expected the backend to be {state} within {limit:?}, but it is not"
            ));
        }
    }
}

fn duration(amount: u64, unit: &str) -> Duration {
    if unit.starts_with("second") {
        Duration::from_secs(amount)
    } else {
        Duration::from_millis(amount)
    }
}

/// `set-section` by field name: fields left out are sent as `*`.
#[when(expr = "the client sets section {word} to:")]
async fn sets_section(world: &mut DiscosWorld, section: String, step: &Step) {
    const FIELDS: [&str; 6] = [
        "start frequency",
        "bandwidth",
        "feed",
        "mode",
        "sample rate",
        "bins",
    ];
    let mut values = vec!["*".to_owned(); FIELDS.len()];
    for row in table_rows(world, step) {
        let [field, value] = row.as_slice() else {
            world.fail(format!("each row needs a field and a value, got {row:?}"));
        };
        match FIELDS.iter().position(|f| f == field) {
            Some(index) => values[index] = value.clone(),
            None => world.fail(format!(
                "unknown section field \"{field}\"; the fields are: {}",
                FIELDS.join(", ")
            )),
        }
    }
    world
        .send(
            crate::acceptance::world::DEFAULT_CLIENT,
            &format!("set-section,{section},{}", values.join(",")),
        )
        .await;
}
