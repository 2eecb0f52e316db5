//! Steps that send lines as they are and check replies line by line: for
//! scenarios whose subject is the line itself (the handshake, malformed
//! lines, extra arguments, pipelining, bad bytes).
//!
//! "sends" waits for the reply; "receives" checks the latest reply of that
//! client, "receives, in order" every reply since the last check. Replies
//! compare as the contract fixes them: name and code, the fields of a
//! success, numbers as numbers; a `fail` or `invalid` reply written
//! without a reason (`!stop,fail`) matches any reason.

use cucumber::gherkin::Step;
use cucumber::{then, when};

use super::{Who, column};
use crate::acceptance::DiscosWorld;
use crate::acceptance::world::{DEFAULT_CLIENT, DEFAULT_USER};
use crate::protocol::contract::{clause_of, compare};
use crate::protocol::{Code, Message};

/// A request line as typed: the `?` may be left out.
#[when(expr = "{client} sends {string}")]
async fn sends(world: &mut DiscosWorld, who: Who, line: String) {
    world.send(&who.0, &line).await;
}

/// Bytes exactly as written, with `\r`, `\n`, `\t`, `\\` and `\xNN`; one
/// reply is read for every line feed sent.
#[when(expr = "{client} sends the raw line {string}")]
async fn sends_raw(world: &mut DiscosWorld, who: Who, raw: String) {
    world.send_raw(&who.0, &raw).await;
}

/// A line far longer than a backend may buffer, to see it refused
/// without harm (a file name of that many bytes).
#[when(regex = r"^the client sends a line of (\d+) (bytes|kilobytes|megabytes)$")]
async fn sends_a_long_line(world: &mut DiscosWorld, amount: usize, unit: String) {
    let length = amount
        * match unit.as_str() {
            "megabytes" => 1_000_000,
            "kilobytes" => 1_000,
            _ => 1,
        };
    let mut line = "?set-filename,".to_owned();
    line.extend(std::iter::repeat_n('x', length.saturating_sub(line.len())));
    line.push_str("\\r\\n");
    world.send_raw(DEFAULT_CLIENT, &line).await;
}

/// Every request of the table (under its header, `| request |`), sent at
/// once; their replies are then read.
#[when(expr = "{client} sends, without waiting for replies:")]
async fn pipelines(world: &mut DiscosWorld, who: Who, step: &Step) {
    let lines = column(world, step, "request");
    world.send_pipelined(&who.0, &lines).await;
}

/// The latest reply this client received since the last check, compared
/// as the contract fixes replies: name and code, the fields of a success,
/// numbers as numbers; one written without a reason (`!stop,fail`) matches
/// any reason.
#[then(expr = "{client} receives {string}")]
async fn receives(world: &mut DiscosWorld, who: Who, expected: String) {
    receives_latest(world, &who.0, &expected).await;
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
        receives_latest(world, DEFAULT_CLIENT, &expected).await;
    }
}

/// The latest reply of any client, compared as the contract does.
#[then(expr = "the backend answers {string}")]
async fn the_backend_answers(world: &mut DiscosWorld, expected: String) {
    let reply = world.reply().clone();
    check(world, "the backend to answer", &expected, &reply);
}

async fn receives_latest(world: &mut DiscosWorld, name: &str, expected: &str) {
    let replies = world.take_unchecked(name).await;
    let Some(latest) = replies.last() else {
        world.fail(format!(
            "expected {name} to receive\n    {expected}\nbut it has received nothing since the last check"
        ));
    };
    check(world, &format!("{name} to receive"), expected, latest);
}

fn check(world: &DiscosWorld, what: &str, expected: &str, got: &Message) {
    if let Err(difference) = compare(expected, got) {
        world.fail_clause(
            anchor(got),
            format!("expected {what}\n    {expected}\nbut it is\n    {got}\n({difference})"),
        );
    }
}

/// The clause a reply answers to: the command's own, or the rule for
/// malformed lines.
pub(crate) fn anchor(reply: &Message) -> &'static str {
    if reply.code() == Some(Code::Invalid) {
        "malformed-lines"
    } else {
        clause_of(&reply.name)
    }
}

/// Every reply since the last check, in order, against the table (under
/// its header, `| reply |`).
#[then(expr = "{client} receives, in order:")]
async fn receives_in_order(world: &mut DiscosWorld, who: Who, step: &Step) {
    let expected = column(world, step, "reply");
    let got = world.take_unchecked(&who.0).await;
    let mismatch = if got.len() == expected.len() {
        expected
            .iter()
            .zip(&got)
            .enumerate()
            .find_map(|(index, (want, have))| {
                compare(want, have)
                    .err()
                    .map(|why| (anchor(have), format!("reply {}: {why}", index + 1)))
            })
    } else {
        Some((
            "transport-and-framing",
            format!(
                "{} replies for {} expected: every request gets exactly one",
                got.len(),
                expected.len()
            ),
        ))
    };
    if let Some((anchor, why)) = mismatch {
        let got: Vec<String> = got.iter().map(ToString::to_string).collect();
        world.fail_clause(
            anchor,
            format!(
                "expected {}, in order,\n    {}\nbut the replies are\n    {}\n({why})",
                who.0,
                expected.join("\n    "),
                got.join("\n    ")
            ),
        );
    }
}
