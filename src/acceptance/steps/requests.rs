//! Requests in the domain's words: each step sends one request (shown as
//! its line in the transcript) and leaves its reply for a `Then` to check.
//!
//! A value a person would say is said, not encoded: "sets the integration
//! time to 250 milliseconds", "sets section 0 to:" over a table of named
//! fields. A value in quotes is sent as written, so that a scenario can
//! send what a backend must refuse ("sets the integration time to "ten"").

use cucumber::gherkin::Step;
use cucumber::{given, then, when};

use super::{Who, table_rows};
use crate::acceptance::DiscosWorld;
use crate::acceptance::world::DEFAULT_CLIENT;
use crate::protocol::contract::same_value;

/// Sends `status`; its reply is left for a `Then` to check.
#[when(expr = "{client} asks for the status")]
async fn asks_for_the_status(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "status").await;
}

/// Sends `version`; its reply is left for a `Then` to check.
#[when(expr = "{client} asks for the protocol version")]
async fn asks_for_the_version(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "version").await;
}

/// Sends `time`; its reply is left for a `Then` to check.
#[when(expr = "{client} asks for the time")]
async fn asks_for_the_time(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "time").await;
}

/// Sends `get-configuration`; its reply is left for a `Then` to check.
#[when(expr = "{client} asks for the configuration")]
async fn asks_for_the_configuration(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "get-configuration").await;
}

/// Sends `set-configuration` with this id; its reply is left for a
/// `Then` to check.
#[when(expr = "{client} sets the configuration to {string}")]
async fn sets_the_configuration(world: &mut DiscosWorld, who: Who, id: String) {
    world.send(&who.0, &format!("set-configuration,{id}")).await;
}

/// A precondition, not a subject: it must succeed, and its reply is not one
/// that later steps check.
#[given(expr = "the backend is configured as {string}")]
async fn configured_as(world: &mut DiscosWorld, id: String) {
    world.ask_ok(&format!("set-configuration,{id}")).await;
}

/// Asks `get-configuration` and compares the id.
#[then(expr = "the configuration is {string}")]
async fn the_configuration_is(world: &mut DiscosWorld, id: String) {
    reads(
        world,
        DEFAULT_CLIENT,
        "get-configuration",
        &id,
        "the configuration",
    )
    .await;
}

/// The client asks `get-configuration` and reads this id.
#[then(expr = "{client} sees the configuration {string}")]
async fn sees_the_configuration(world: &mut DiscosWorld, who: Who, id: String) {
    reads(world, &who.0, "get-configuration", &id, "the configuration").await;
}

/// Sends `get-integration`; its reply is left for a `Then` to check.
#[when(expr = "{client} asks for the integration time")]
async fn asks_for_the_integration(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "get-integration").await;
}

/// Sends `set-integration` with this many milliseconds; its reply is
/// left for a `Then` to check.
#[when(expr = "{client} sets the integration time to {int} millisecond(s)")]
async fn sets_the_integration(world: &mut DiscosWorld, who: Who, ms: i64) {
    world.send(&who.0, &format!("set-integration,{ms}")).await;
}

/// The value as written, to see what a backend does with it.
#[when(expr = "{client} sets the integration time to {string}")]
async fn sets_the_integration_to_text(world: &mut DiscosWorld, who: Who, value: String) {
    world
        .send(&who.0, &format!("set-integration,{value}"))
        .await;
}

/// Sets the integration time (`set-integration`) and fails unless the
/// backend accepts it: a precondition, whose reply later steps do not check.
#[given(expr = "the integration time is set to {int} millisecond(s)")]
async fn integration_is_set(world: &mut DiscosWorld, ms: u64) {
    world.ask_ok(&format!("set-integration,{ms}")).await;
}

/// Asks `get-integration` and compares the number.
#[then(expr = "the integration time is {int} millisecond(s)")]
async fn the_integration_is(world: &mut DiscosWorld, ms: u64) {
    let ms = ms.to_string();
    reads(
        world,
        DEFAULT_CLIENT,
        "get-integration",
        &ms,
        "the integration time",
    )
    .await;
}

/// The client asks `get-integration` and reads this many milliseconds.
#[then(expr = "{client} sees an integration time of {int} millisecond(s)")]
async fn sees_the_integration(world: &mut DiscosWorld, who: Who, ms: u64) {
    let ms = ms.to_string();
    reads(
        world,
        &who.0,
        "get-integration",
        &ms,
        "the integration time",
    )
    .await;
}

/// Asks `request` through `name` and checks the one value of its reply.
async fn reads(world: &mut DiscosWorld, name: &str, request: &str, expected: &str, what: &str) {
    let reply = world.send(name, request).await;
    let value = match reply.arguments.as_slice() {
        [value] if reply.code() == Some(crate::protocol::Code::Ok) => value.clone(),
        _ => world.fail_clause(
            request,
            format!("expected {what} to be \"{expected}\", but the reply is\n    {reply}"),
        ),
    };
    if !same_value(&value, expected) {
        world.fail_clause(
            request,
            format!("expected {what} to be \"{expected}\", but it is \"{value}\"\n    {reply}"),
        );
    }
}

/// Sends `get-tpi`; its reply is left for a `Then` to check.
#[when(expr = "{client} asks for the total power")]
async fn asks_for_the_total_power(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "get-tpi").await;
}

/// Sends `get-tp0`; its reply is left for a `Then` to check.
#[when(expr = "{client} asks for the zero level")]
async fn asks_for_the_zero_level(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "get-tp0").await;
}

/// The file name as a person writes it; the request escapes its commas.
#[when(expr = "{client} sets the file name to {string}")]
async fn sets_the_file_name(world: &mut DiscosWorld, who: Who, path: String) {
    let request = crate::protocol::Message::request("set-filename", [path]);
    world.send_request(&who.0, &request).await;
}

/// Sends `cal-on`; its reply is left for a `Then` to check.
#[when(expr = "{client} switches the calibration mark on")]
async fn calibration_on(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "cal-on").await;
}

/// Sends `cal-on` with this interleave, as written; its reply is left
/// for a `Then` to check.
#[when(expr = "{client} switches the calibration mark on with an interleave of {word}")]
async fn calibration_interleaved(world: &mut DiscosWorld, who: Who, interleave: String) {
    world.send(&who.0, &format!("cal-on,{interleave}")).await;
}

/// Sends `convert-data`; its reply is left for a `Then` to check.
#[when(expr = "{client} asks the backend to convert the data")]
async fn converts(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "convert-data").await;
}

/// Sends `end-schedule`; its reply is left for a `Then` to check.
#[when(expr = "{client} ends the schedule")]
async fn ends_the_schedule(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "end-schedule").await;
}

/// Sends `backend-park`; its reply is left for a `Then` to check.
#[when(expr = "{client} parks the backend")]
async fn parks(world: &mut DiscosWorld, who: Who) {
    world.send(&who.0, "backend-park").await;
}

/// Sends `set-shift` with this value, as written; its reply is left for
/// a `Then` to check.
#[when(expr = "{client} sets the shift to {word}")]
async fn sets_the_shift(world: &mut DiscosWorld, who: Who, shift: String) {
    world.send(&who.0, &format!("set-shift,{shift}")).await;
}

/// Sends `set-enable` with these two feeds, as written; its reply is left
/// for a `Then` to check.
#[when(expr = "{client} enables the feeds {word} and {word}")]
async fn enables_the_feeds(world: &mut DiscosWorld, who: Who, feed1: String, feed2: String) {
    world
        .send(&who.0, &format!("set-enable,{feed1},{feed2}"))
        .await;
}

/// The fields of `set-section`, in the order the request carries them.
const SECTION_FIELDS: [&str; 6] = [
    "start frequency",
    "bandwidth",
    "feed",
    "mode",
    "sample rate",
    "bins",
];

/// `set-section` by field name, over a table with the fields as its header
/// and their values below (or one `| field | value |` row per field);
/// fields left out are sent as `*`, which leaves them as they are.
#[when(expr = "{client} sets section {word} to:")]
async fn sets_section(world: &mut DiscosWorld, who: Who, section: String, step: &Step) {
    let rows = table_rows(world, step);
    let header_form =
        rows.len() == 2 && rows[0].iter().all(|f| SECTION_FIELDS.contains(&f.as_str()));
    let pairs: Vec<(String, String)> = if header_form {
        rows[0]
            .iter()
            .cloned()
            .zip(rows[1].iter().cloned())
            .collect()
    } else {
        rows.iter()
            .map(|row| match row.as_slice() {
                [field, value] => (field.clone(), value.clone()),
                _ => world.fail(format!(
                    "a section's table has the fields as its header and their values below, or one \"| field | value |\" row per field; got the row {row:?}"
                )),
            })
            .collect()
    };
    let mut values = vec!["*".to_owned(); SECTION_FIELDS.len()];
    for (field, value) in pairs {
        match SECTION_FIELDS.iter().position(|f| *f == field) {
            Some(index) => values[index] = value,
            None => world.fail(format!(
                "unknown section field \"{field}\"; the fields are: {}",
                SECTION_FIELDS.join(", ")
            )),
        }
    }
    world
        .send(
            &who.0,
            &format!("set-section,{section},{}", values.join(",")),
        )
        .await;
}

/// One field of a section, the others left as they are.
#[when(
    regex = r#"^(the client|the user|the operator|the observer|the astronomer|client "[^"]*") sets the (start frequency|bandwidth|feed|mode|sample rate|bins) of section (\S+) to "([^"]*)"$"#
)]
async fn sets_a_section_field(
    world: &mut DiscosWorld,
    who: String,
    field: String,
    section: String,
    value: String,
) {
    let who: Who = who.parse().unwrap_or(Who(DEFAULT_CLIENT.to_owned()));
    let values: Vec<&str> = SECTION_FIELDS
        .iter()
        .map(|f| if *f == field { value.as_str() } else { "*" })
        .collect();
    world
        .send(
            &who.0,
            &format!("set-section,{section},{}", values.join(",")),
        )
        .await;
}
