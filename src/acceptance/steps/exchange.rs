//! Steps that send requests and check replies, line by line.
//!
//! "sends" waits for the reply; "receives" checks the latest reply of that
//! client, "receives, in order" every reply since the last check; "the reply"
//! is the latest reply of any client.

use std::time::Duration;

use cucumber::gherkin::Step;
use cucumber::{then, when};

use super::table_rows;
use crate::acceptance::DiscosWorld;
use crate::acceptance::world::{DEFAULT_CLIENT, DEFAULT_USER};
use crate::protocol::{Code, Timestamp};

#[when(expr = "the client/user sends {string}")]
async fn the_client_sends(world: &mut DiscosWorld, line: String) {
    world.send(DEFAULT_CLIENT, &line).await;
}

#[when(expr = "client {string} sends {string}")]
async fn client_sends(world: &mut DiscosWorld, name: String, line: String) {
    world.send(&name, &line).await;
}

#[when(expr = "the client/user sends the raw line {string}")]
async fn the_client_sends_raw(world: &mut DiscosWorld, raw: String) {
    world.send_raw(DEFAULT_CLIENT, &raw).await;
}

#[when(expr = "client {string} sends the raw line {string}")]
async fn client_sends_raw(world: &mut DiscosWorld, name: String, raw: String) {
    world.send_raw(&name, &raw).await;
}

/// A line far over any sane limit, to see it refused without harm.
#[when(expr = "the client sends a line of {int} bytes")]
async fn the_client_sends_a_long_line(world: &mut DiscosWorld, length: usize) {
    let mut line = "?set-filename,".to_owned();
    line.extend(std::iter::repeat_n('x', length.saturating_sub(line.len())));
    line.push_str("\\r\\n");
    world.send_raw(DEFAULT_CLIENT, &line).await;
}

#[when(expr = "the client/user sends, without waiting for replies:")]
async fn the_client_pipelines(world: &mut DiscosWorld, step: &Step) {
    let lines: Vec<String> = table_rows(world, step)
        .into_iter()
        .filter_map(|row| row.into_iter().next())
        .collect();
    world.send_pipelined(DEFAULT_CLIENT, &lines).await;
}

#[then(expr = "the client receives {string}")]
async fn the_client_receives(world: &mut DiscosWorld, expected: String) {
    receives(world, DEFAULT_CLIENT, &expected).await;
}

#[then(expr = "client {string} receives {string}")]
async fn client_receives(world: &mut DiscosWorld, name: String, expected: String) {
    receives(world, &name, &expected).await;
}

/// The seeds' phrasing; with a browser open it reads the page instead.
#[then(expr = "the user sees {string}")]
async fn the_user_sees(world: &mut DiscosWorld, expected: String) {
    if world
        .web
        .as_ref()
        .is_some_and(|web| web.user(DEFAULT_USER).is_some())
    {
        super::console::sees(world, DEFAULT_USER, &expected).await;
    } else {
        receives(world, DEFAULT_CLIENT, &expected).await;
    }
}

async fn receives(world: &mut DiscosWorld, name: &str, expected: &str) {
    let replies = world.take_unchecked(name).await;
    let Some(latest) = replies.last() else {
        world.fail(format!(
            "expected {name} to receive\n    {expected}\nbut it has received nothing since the last check"
        ));
    };
    let got = latest.to_string();
    if got != expected {
        world.fail(format!(
            "expected {name} to receive\n    {expected}\nbut it received\n    {got}"
        ));
    }
}

#[then(expr = "the client receives, in order:")]
async fn the_client_receives_in_order(world: &mut DiscosWorld, step: &Step) {
    let expected: Vec<String> = table_rows(world, step)
        .into_iter()
        .filter_map(|row| row.into_iter().next())
        .collect();
    let got: Vec<String> = world
        .take_unchecked(DEFAULT_CLIENT)
        .await
        .iter()
        .map(ToString::to_string)
        .collect();
    if got != expected {
        world.fail(format!(
            "expected the client to receive, in order,\n    {}\nbut it received\n    {}",
            expected.join("\n    "),
            got.join("\n    ")
        ));
    }
}

#[then(regex = r"^the reply is (ok|fail|invalid)$")]
async fn the_reply_is(world: &mut DiscosWorld, code: String) {
    let expected = match code.as_str() {
        "ok" => Code::Ok,
        "fail" => Code::Fail,
        _ => Code::Invalid,
    };
    let reply = world.reply();
    if reply.code() != Some(expected) {
        world.fail(format!(
            "expected the reply to be {expected}, but it is\n    {reply}"
        ));
    }
}

#[then(expr = "the reply says {string}")]
async fn the_reply_says(world: &mut DiscosWorld, part: String) {
    let reply = world.reply();
    let says = reply.reason().is_some_and(|reason| reason.contains(&part));
    if !says {
        world.fail(format!(
            "expected the reply to give a reason containing \"{part}\", but it is\n    {reply}"
        ));
    }
}

#[then(expr = "the reply has {int} value(s)")]
async fn the_reply_has_values(world: &mut DiscosWorld, count: usize) {
    let reply = world.reply();
    if reply.code() != Some(Code::Ok) || reply.arguments.len() != count {
        world.fail(format!(
            "expected an ok reply with {count} value(s), but it is\n    {reply}"
        ));
    }
}

#[then(expr = "the reply has {int} value(s) between {float} and {float}")]
async fn the_reply_has_values_between(world: &mut DiscosWorld, count: usize, low: f64, high: f64) {
    the_reply_has_values(world, count).await;
    let reply = world.reply();
    for value in &reply.arguments {
        match value.parse::<f64>() {
            Ok(number) if (low..=high).contains(&number) => {}
            _ => world.fail(format!(
                "expected every value between {low} and {high}, but '{value}' is not, in\n    {reply}"
            )),
        }
    }
}

#[then(expr = "the reply carries the current time")]
async fn the_reply_carries_the_current_time(world: &mut DiscosWorld) {
    let reply = world.reply();
    let time = reply
        .arguments
        .first()
        .and_then(|t| t.parse::<Timestamp>().ok());
    let Some(time) = time else {
        world.fail(format!(
            "expected a time as the first value, in\n    {reply}"
        ));
    };
    let now = Timestamp::now();
    let skew = time
        .until(now)
        .or_else(|| now.until(time))
        .unwrap_or_default();
    let decimals = reply.arguments[0]
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len());
    if skew > Duration::from_secs(5) || decimals < 6 {
        world.fail(format!(
            "expected decimal Unix seconds with at least 6 decimals within 5 s of now ({now}), in\n    {reply}"
        ));
    }
}
