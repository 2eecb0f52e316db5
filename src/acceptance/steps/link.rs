//! The link to the backend: a proxy the world puts between the scenario's
//! clients and the backend under test when a scenario asks for one, to
//! make the backend look as real ones and their networks do at their worst
//! (a reply that takes too long, a connection that drops, a reply cut into
//! pieces or longer than DISCOS's buffer, garbage, a backend that goes away
//! and comes back). Clients that connect after the link is in place go
//! through it; the verified teardown shuts it down and checks that nothing
//! of it is left.
//!
//! Every fault step is the fault of `discos-sim proxy --fault` said in
//! words, and is read by the same grammar (`the link to the backend has the
//! fault "…"` takes that syntax as it is). Scenarios made of these steps are
//! about the proxy, not about the backend: they are tagged `@proxy`.
//!
//! A fault usually keeps the client from a proper reply, which every other
//! step would take for a failure of the backend. So a request whose fate
//! is the subject is sent with `… , whatever comes back` (or `… and waits
//! at most … for the reply`), which keeps what came of it, and the `Then`
//! steps here say what that was.

use std::time::Duration;

use cucumber::{given, then, when};

use super::Who;
use crate::acceptance::DiscosWorld;
use crate::acceptance::link::{Attempt, GRACE, Link, SHUTDOWN_LIMIT};
use crate::acceptance::world::Party;
use crate::client::{Client, ClientError, ClientOptions, DEFAULT_REPLY_TIMEOUT, Direction};
use crate::poll::{Pace, Poller};
use crate::protocol::{LineEnd, request_from_text};
use crate::proxy::{Config, Fault, Proxy};

/// How often a client tries to connect again while it waits for the link
/// to come back.
const RECONNECT_EVERY: Duration = Duration::from_millis(10);

/// A span of time as a scenario says it (`2 seconds`, `500
/// milliseconds`), read from two groups of a step's pattern. Not a
/// parameter of its own: "did you mean" masks a custom parameter wherever
/// its pattern appears, and "200 milliseconds" is in many sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span(pub Duration);

impl Span {
    fn of(amount: u64, unit: &str) -> Span {
        Span(match unit.trim_end_matches('s') {
            "second" => Duration::from_secs(amount),
            _ => Duration::from_millis(amount),
        })
    }
    /// As the fault syntax writes it.
    fn text(self) -> String {
        format!("{}ms", self.0.as_millis())
    }
}

/// The client a regex step names.
fn parse_who(text: &str) -> Who {
    text.parse()
        .unwrap_or(Who(crate::acceptance::world::DEFAULT_CLIENT.to_owned()))
}

/// The link of the scenario, put in front of the backend if it is not yet.
async fn link(world: &mut DiscosWorld) -> &mut Link {
    if world.link.is_none() {
        if let Some(party) = world.parties.first() {
            let name = party.name.clone();
            world.fail(format!(
                "client \"{name}\" is already connected to the backend itself; say the link's faults (or \"Given a link to the backend\") before any client connects"
            ));
        }
        let backend = world.backend_address().await;
        let config = Config {
            shutdown_grace: GRACE,
            ..Config::new(backend)
        };
        match Proxy::start(config).await {
            Ok(proxy) => {
                world.link = Some(Link {
                    proxy,
                    attempt: None,
                });
            }
            Err(error) => world.fail(format!("the link to the backend could not start: {error}")),
        }
    }
    match world.link.as_mut() {
        Some(link) => link,
        None => unreachable!("the link was just put in place"),
    }
}

/// Adds a fault to the link, read by the same grammar as `--fault`.
async fn add(world: &mut DiscosWorld, text: &str) {
    let fault: Fault = match text.parse() {
        Ok(fault) => fault,
        Err(error) => world.fail(error.to_string()),
    };
    link(world).await.proxy.faults().add(fault);
}

/// A proxy between the clients and the backend, with no fault yet: faults
/// added later act on the clients already connected through it.
#[given("a link to the backend")]
async fn a_link(world: &mut DiscosWorld) {
    link(world).await;
}

/// Any fault, written as `discos-sim proxy --fault` takes it (`delay 2s
/// on get-tpi`, `drop after 3 requests`, `slice 1 byte every 5ms`…).
#[given(expr = "the link to the backend has the fault {string}")]
#[when(expr = "the link to the backend has the fault {string}")]
async fn has_the_fault(world: &mut DiscosWorld, fault: String) {
    add(world, &fault).await;
}

/// Holds every reply (the greeting too) that long before passing it on.
#[given(
    regex = r#"^the link to the backend delays every reply by (\d+) (milliseconds?|seconds?)$"#
)]
#[when(regex = r#"^the link to the backend delays every reply by (\d+) (milliseconds?|seconds?)$"#)]
async fn delays_replies(world: &mut DiscosWorld, amount: u64, unit: String) {
    let span = Span::of(amount, &unit);
    add(world, &format!("delay {}", span.text())).await;
}

/// Holds every reply to this command that long: the backend answered at
/// once, the client waits.
#[given(
    regex = r#"^the link to the backend delays every reply to "([^"]*)" by (\d+) (milliseconds?|seconds?)$"#
)]
#[when(
    regex = r#"^the link to the backend delays every reply to "([^"]*)" by (\d+) (milliseconds?|seconds?)$"#
)]
async fn delays_replies_to(world: &mut DiscosWorld, command: String, amount: u64, unit: String) {
    let span = Span::of(amount, &unit);
    add(world, &format!("delay {} on {command}", span.text())).await;
}

/// Holds every reply that long, give or take up to the second span.
#[given(
    regex = r#"^the link to the backend delays every reply by (\d+) (milliseconds?|seconds?), give or take (\d+) (milliseconds?|seconds?)$"#
)]
async fn delays_replies_jittered(
    world: &mut DiscosWorld,
    amount: u64,
    unit: String,
    give: u64,
    or_take: String,
) {
    let (span, jitter) = (Span::of(amount, &unit), Span::of(give, &or_take));
    add(
        world,
        &format!("delay {} jitter {}", span.text(), jitter.text()),
    )
    .await;
}

/// Holds every request that long before the backend gets it.
#[given(
    regex = r#"^the link to the backend delays every request by (\d+) (milliseconds?|seconds?)$"#
)]
async fn delays_requests(world: &mut DiscosWorld, amount: u64, unit: String) {
    let span = Span::of(amount, &unit);
    add(world, &format!("delay {} on requests", span.text())).await;
}

/// Writes every reply in pieces of this many bytes, a pause between two:
/// a client must put lines together from whatever TCP hands it.
#[given(
    regex = r#"^the link to the backend cuts every reply into pieces of (\d+) bytes?, (\d+) (milliseconds?|seconds?) apart$"#
)]
async fn slices(world: &mut DiscosWorld, bytes: usize, amount: u64, unit: String) {
    let span = Span::of(amount, &unit);
    add(world, &format!("slice {bytes} bytes every {}", span.text())).await;
}

/// Holds replies until this many are waiting (100 ms at most for the
/// first) and writes them in one piece.
#[given(expr = "the link to the backend merges every {int} replies into one piece")]
async fn merges(world: &mut DiscosWorld, lines: usize) {
    add(world, &format!("merge {lines}")).await;
}

/// Closes the connection once the reply to that many requests has reached
/// the client, as a backend that goes away would.
#[given(expr = "the link to the backend drops the connection after {int} request(s)")]
async fn drops_after(world: &mut DiscosWorld, requests: u64) {
    add(world, &format!("drop after {requests} requests")).await;
}

/// Passes the first half of the reply to this command, then closes the
/// connection.
#[given(
    expr = "the link to the backend drops the connection in the middle of the reply to {string}"
)]
async fn drops_mid_reply(world: &mut DiscosWorld, command: String) {
    add(world, &format!("drop mid-reply on {command}")).await;
}

/// Resets the client's connection (TCP RST) when it sends this command;
/// the backend never gets it.
#[given(expr = "the link to the backend resets the connection when the client sends {string}")]
async fn resets_on_request(world: &mut DiscosWorld, command: String) {
    add(world, &format!("reset on {command} requests")).await;
}

/// Resets the client's connection instead of passing the reply to this
/// command: the backend did it, the client never learns.
#[given(expr = "the link to the backend resets the connection instead of the reply to {string}")]
async fn resets_on_reply(world: &mut DiscosWorld, command: String) {
    add(world, &format!("reset on {command}")).await;
}

/// From the reply to this command on, passes no reply at all; the
/// connection stays open.
#[given(expr = "the link to the backend stops answering at the reply to {string}")]
async fn hangs(world: &mut DiscosWorld, command: String) {
    add(world, &format!("hang on {command}")).await;
}

/// Sends random bytes (one line that is no message) instead of the reply
/// to this command, then closes the connection.
#[given(expr = "the link to the backend answers {string} with garbage and closes the connection")]
async fn garbage(world: &mut DiscosWorld, command: String) {
    add(world, &format!("garbage on {command}")).await;
}

/// Pads the reply to this command with an argument of `x`s to 600 bytes,
/// past the 512 bytes DISCOS reads a reply into.
#[given(expr = "the link to the backend makes the reply to {string} longer than 512 bytes")]
async fn long_reply(world: &mut DiscosWorld, command: String) {
    add(world, &format!("long-reply on {command}")).await;
    world.broken_on_purpose.push("short-lines");
}

/// Answers `fail` to this command in the backend's place: the backend
/// never sees the request.
#[given(expr = "the link to the backend refuses every {string} before the backend sees it")]
async fn fails_requests(world: &mut DiscosWorld, command: String) {
    add(world, &format!("fail on {command} requests")).await;
}

/// Turns the backend's reply to this command into `fail`: the backend did
/// it, the client is told it did not.
#[given(expr = "the link to the backend turns every reply to {string} into a refusal")]
async fn fails_replies(world: &mut DiscosWorld, command: String) {
    add(world, &format!("fail on {command}")).await;
}

/// Stops listening and closes every connection through it, for that long;
/// then listens again on the same port.
#[given(regex = r#"^the link to the backend goes down for (\d+) (milliseconds?|seconds?)$"#)]
#[when(regex = r#"^the link to the backend goes down for (\d+) (milliseconds?|seconds?)$"#)]
async fn goes_down_for(world: &mut DiscosWorld, amount: u64, unit: String) {
    let span = Span::of(amount, &unit);
    add(world, &format!("down for {}", span.text())).await;
    stopped_listening(world).await;
}

/// Waits until the link has seen its `down`: the step that says it went
/// down is then true.
async fn stopped_listening(world: &mut DiscosWorld) {
    let link = link(world).await;
    if !link.proxy.wait_until_listening(false, SHUTDOWN_LIMIT).await {
        world.fail(format!(
            "the link to the backend was told to go down, but still listened after {SHUTDOWN_LIMIT:?}"
        ));
    }
}

/// Stops listening and closes every connection through it, until it is
/// told to come back.
#[when("the link to the backend goes down")]
async fn goes_down(world: &mut DiscosWorld) {
    add(world, "down").await;
    stopped_listening(world).await;
}

/// Listens again after going down.
#[when("the link to the backend comes back")]
async fn comes_back(world: &mut DiscosWorld) {
    let faults = link(world).await.proxy.faults().clone();
    for entry in faults.list().iter() {
        if matches!(entry.fault.action, crate::proxy::Action::Down { .. }) {
            faults.remove(entry.id);
        }
    }
}

/// Removes every fault: the link passes everything on again.
#[when("the link to the backend behaves again")]
async fn behaves_again(world: &mut DiscosWorld) {
    link(world).await.proxy.faults().clear();
}

/// Sends a request (the `?` may be left out) and keeps whatever came of
/// it, a reply or no reply, for the steps below; a reply also becomes "the
/// reply" the usual steps check.
#[when(expr = "{client} sends {string}, whatever comes back")]
async fn sends_whatever(world: &mut DiscosWorld, who: Who, line: String) {
    attempt(world, &who.0, &line, DEFAULT_REPLY_TIMEOUT).await;
}

/// As above, waiting that long at most.
#[when(
    regex = r#"^(the client|the user|the operator|the observer|the astronomer|client "[^"]*") sends "([^"]*)" and waits at most (\d+) (milliseconds?|seconds?) for the reply$"#
)]
async fn sends_and_waits(
    world: &mut DiscosWorld,
    who: String,
    line: String,
    amount: u64,
    unit: String,
) {
    let (who, span) = (parse_who(&who), Span::of(amount, &unit));
    attempt(world, &who.0, &line, span.0).await;
}

async fn attempt(world: &mut DiscosWorld, name: &str, line: &str, wait: Duration) {
    let request = match request_from_text(line) {
        Ok(request) => request,
        Err(error) => world.fail(format!("cannot send {line:?}: {error}")),
    };
    let party = world.party(name).await;
    let started = std::time::Instant::now();
    let attempt = match party.client.send(&request).await {
        Err(error) => outcome_of(error),
        Ok(()) => match tokio::time::timeout(wait, party.client.receive_line()).await {
            Err(_) => Attempt::NoReply { waited: wait },
            Ok(Err(error)) => outcome_of(error),
            Ok(Ok(received)) => {
                let after = started.elapsed();
                let line = received.line;
                match line.message {
                    // Whatever it looks like, a line the connection's end
                    // cut is no reply.
                    _ if line.end == LineEnd::Eof => {
                        Attempt::Cut(crate::protocol::latin1::decode(line.content()))
                    }
                    Ok(reply) if !reply.is_request() => {
                        party.unchecked.push_back(reply.clone());
                        world.last_reply = Some((name.to_owned(), reply.clone()));
                        Attempt::Replied { reply, after }
                    }
                    Ok(request) => Attempt::Other(format!("the request {request} came back")),
                    Err(error) => {
                        let then_closed = matches!(
                            tokio::time::timeout(wait, party.client.receive_line()).await,
                            Ok(Err(ClientError::Closed { .. }))
                        );
                        Attempt::NotAReply {
                            line: error.to_string(),
                            then_closed,
                        }
                    }
                }
            }
        },
    };
    // A reply not waited for may still come: a late reply, not a line
    // nobody asked for.
    if matches!(attempt, Attempt::NoReply { .. })
        && let Some(party) = world.parties.iter_mut().find(|p| p.name == name)
    {
        party.owed += 1;
    }
    // A connection the fault broke is closed now, so that the teardown
    // finds it closed, not broken.
    if !matches!(attempt, Attempt::NoReply { .. } | Attempt::Replied { .. })
        && let Some(party) = world.parties.iter_mut().find(|p| p.name == name)
    {
        let _ = party.client.close().await;
    }
    link(world).await.attempt = Some(attempt);
}

/// What a client error says happened to the connection.
fn outcome_of(error: ClientError) -> Attempt {
    match error {
        ClientError::Closed { .. } => Attempt::Closed,
        ClientError::Cut { line, .. } => Attempt::Cut(line),
        ClientError::Timeout { after, .. } => Attempt::NoReply { waited: after },
        ClientError::Io { source, .. } if source.kind() == std::io::ErrorKind::ConnectionReset => {
            Attempt::Reset
        }
        other => Attempt::Other(other.to_string()),
    }
}

/// Tries to connect through the link and keeps whether it could.
#[when(expr = "{client} tries to connect")]
async fn tries_to_connect(world: &mut DiscosWorld, who: Who) {
    let address = link(world).await.address();
    let options = ClientOptions::default();
    let attempt = match Client::connect_with(address, options).await {
        Ok(client) => {
            replace_party(world, &who.0, client).await;
            Attempt::Replied {
                reply: crate::protocol::handshake(),
                after: Duration::ZERO,
            }
        }
        Err(ClientError::Connect { source, .. }) => Attempt::Refused(source.to_string()),
        Err(ClientError::Closed { .. }) => Attempt::Closed,
        Err(ClientError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::ConnectionReset =>
        {
            Attempt::Reset
        }
        Err(error) => Attempt::Other(error.to_string()),
    };
    link(world).await.attempt = Some(attempt);
}

/// Connects the client through the link again, trying every 10 ms: the
/// link has come back once it can.
#[then(
    regex = r#"^(the client|the user|the operator|the observer|the astronomer|client "[^"]*") can connect again within (\d+) (milliseconds?|seconds?)$"#
)]
async fn can_connect_again(world: &mut DiscosWorld, who: String, amount: u64, unit: String) {
    let (who, span) = (parse_who(&who), Span::of(amount, &unit));
    let address = link(world).await.address();
    let mut poller = Poller::within(span.0, Pace::every(RECONNECT_EVERY));
    let last = loop {
        let options = ClientOptions {
            reply_timeout: span.0,
            ..ClientOptions::default()
        };
        match Client::connect_with(address.as_str(), options).await {
            Ok(client) => {
                replace_party(world, &who.0, client).await;
                return;
            }
            Err(error) => {
                if !poller.pause().await {
                    break error;
                }
            }
        }
    };
    world.fail(format!(
        "expected {} to connect through the link within {:?}, but the last try failed: {last}",
        who.0, span.0
    ));
}

/// Puts a fresh connection in place of the client's old one, closing it.
async fn replace_party(world: &mut DiscosWorld, name: &str, client: Client) {
    if let Some(index) = world.parties.iter().position(|p| p.name == name) {
        let mut old = world.parties.remove(index);
        let _ = old.client.close().await;
    }
    world.parties.push(Party::new(name, client));
}

fn the_attempt(world: &DiscosWorld) -> &Attempt {
    match world.link.as_ref().and_then(|link| link.attempt.as_ref()) {
        Some(attempt) => attempt,
        None => world.fail(
            "nothing was sent through the link \"whatever comes back\"; say \"When the client sends \\\"…\\\", whatever comes back\" first",
        ),
    }
}

fn unexpected(world: &DiscosWorld, expected: &str) -> ! {
    world.fail(format!(
        "expected {expected}, but {}",
        match the_attempt(world) {
            Attempt::Replied { reply, after } =>
                format!("the reply came after {after:?}:\n    {reply}"),
            Attempt::NoReply { waited } => format!("no reply came in {waited:?}"),
            Attempt::Closed => "the connection closed before a reply came".to_owned(),
            Attempt::Cut(partial) =>
                format!("the connection closed in the middle of a line, after {partial:?}"),
            Attempt::Reset => "the connection was reset".to_owned(),
            Attempt::NotAReply { line, then_closed } => format!(
                "a line that is not a reply came ({line}){}",
                if *then_closed {
                    ", then the connection closed"
                } else {
                    ""
                }
            ),
            Attempt::Refused(why) => format!("the connection was refused: {why}"),
            Attempt::Other(why) => format!("this happened: {why}"),
        }
    ))
}

/// No reply came in all the time the client waited.
#[then("no reply has come")]
async fn no_reply(world: &mut DiscosWorld) {
    if !matches!(the_attempt(world), Attempt::NoReply { .. }) {
        unexpected(world, "no reply");
    }
}

/// The connection ended (an end of stream) before a whole reply came.
#[then("the connection closes before a reply comes")]
async fn closes_before(world: &mut DiscosWorld) {
    if !matches!(the_attempt(world), Attempt::Closed) {
        unexpected(world, "the connection to close before a reply");
    }
}

/// The connection closed in the middle of a line: part of a reply came,
/// and a client must not take it for a whole one.
#[then("the connection closes in the middle of a reply")]
async fn closes_mid_reply(world: &mut DiscosWorld) {
    if !matches!(the_attempt(world), Attempt::Cut(_)) {
        unexpected(world, "the connection to close in the middle of a reply");
    }
}

/// The connection ended one way or another (an end of stream, a reset,
/// in the middle of a line or between two) before a reply came: as it
/// does when the backend goes away, which may or may not have read the
/// request first.
#[then("the connection is lost")]
async fn is_lost(world: &mut DiscosWorld) {
    if !matches!(
        the_attempt(world),
        Attempt::Closed | Attempt::Reset | Attempt::Cut(_)
    ) {
        unexpected(world, "the connection to be lost");
    }
}

/// The connection was reset (TCP RST) instead of answered.
#[then("the connection is reset")]
async fn is_reset(world: &mut DiscosWorld) {
    if !matches!(the_attempt(world), Attempt::Reset) {
        unexpected(world, "the connection to be reset");
    }
}

/// A line came that is no message of the protocol, and then the
/// connection closed.
#[then("a line that is not a reply comes, and then the connection closes")]
async fn garbage_then_close(world: &mut DiscosWorld) {
    if !matches!(
        the_attempt(world),
        Attempt::NotAReply {
            then_closed: true,
            ..
        }
    ) {
        unexpected(
            world,
            "a line that is not a reply, then the connection's end",
        );
    }
}

/// The connection could not be made: nothing listens.
#[then("the connection is refused")]
async fn is_refused(world: &mut DiscosWorld) {
    if !matches!(the_attempt(world), Attempt::Refused(_)) {
        unexpected(world, "the connection to be refused");
    }
}

/// The latest reply came no sooner than that after its request: its
/// request and reply as the client's transcript timed them.
#[then(regex = r#"^the reply took at least (\d+) (milliseconds?|seconds?)$"#)]
async fn took_at_least(world: &mut DiscosWorld, amount: u64, unit: String) {
    let span = Span::of(amount, &unit);
    let Some((name, _)) = world.last_reply.clone() else {
        world.fail("no reply yet: send a request first");
    };
    let took = world
        .parties
        .iter()
        .find(|party| party.name == name)
        .and_then(last_exchange);
    match took {
        Some(took) if took >= span.0 => {}
        Some(took) => world.fail(format!(
            "expected the reply to take at least {:?}, but it took {took:?}",
            span.0
        )),
        None => world.fail("the transcript holds no request and reply to time"),
    }
}

/// How long the last reply took after the request before it.
fn last_exchange(party: &Party) -> Option<Duration> {
    let entries = party.client.transcript().entries();
    let received = entries
        .iter()
        .rposition(|entry| entry.direction == Direction::Received)?;
    let sent = entries[..received]
        .iter()
        .rposition(|entry| entry.direction == Direction::Sent)?;
    entries[received].at.checked_sub(entries[sent].at)
}

/// The latest reply, on the wire with its CR LF, is longer than this.
#[then(expr = "the reply is longer than {int} bytes")]
async fn longer_than(world: &mut DiscosWorld, bytes: usize) {
    let reply = world.reply().clone();
    let length = reply.to_bytes().len();
    if length <= bytes {
        world.fail(format!(
            "expected a reply longer than {bytes} bytes, but it is {length} bytes:\n    {reply}"
        ));
    }
}

/// Slicing seen from the link's side: it wrote the replies so far to its
/// clients in more pieces than there were replies.
#[then("the link has written the replies in more pieces than there are replies")]
async fn more_pieces(world: &mut DiscosWorld) {
    let link = link(world).await;
    let (writes, lines) = (link.proxy.client_writes(), link.proxy.client_lines());
    if writes <= lines {
        world.fail(format!(
            "expected more pieces than replies, but the link wrote {lines} replies in {writes} pieces"
        ));
    }
}

/// Merging seen from the link's side: it wrote the replies so far in fewer
/// pieces than there were replies.
#[then("the link has written the replies in fewer pieces than there are replies")]
async fn fewer_pieces(world: &mut DiscosWorld) {
    let link = link(world).await;
    let (writes, lines) = (link.proxy.client_writes(), link.proxy.client_lines());
    if writes >= lines {
        world.fail(format!(
            "expected fewer pieces than replies, but the link wrote {lines} replies in {writes} pieces"
        ));
    }
}
