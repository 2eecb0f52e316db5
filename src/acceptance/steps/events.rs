//! Steps about a backend's events on a message broker, in an operator's
//! words: "When the client starts the acquisition", "Then the subscriber
//! receives the event "acquisition started" within 1 second".
//!
//! A subscriber's events are read in order: a step that looks for an event
//! takes the first one with that name among those no step has read yet, and
//! counts those before it as read, so "in order" means what it says and an
//! event the scenario did not mention does not get in the way.

use std::time::{Duration, Instant};

use cucumber::gherkin::Step;
use cucumber::{given, then, when};

use super::table_rows;
use crate::acceptance::DiscosWorld;
use crate::acceptance::broker::ScenarioBroker;
use crate::acceptance::target::BackendUnderTest;
use crate::protocol::{Code, Timestamp, request_from_text};

/// The name of the subscriber that steps about "the subscriber" use.
const DEFAULT_SUBSCRIBER: &str = "subscriber";
/// How long a reply may take while the broker is away: the protocol never
/// waits for the broker, so this is a bound for a loaded machine only.
const ANSWER_LIMIT: Duration = Duration::from_secs(1);

/// The scenario's broker, reached (or started) on first use.
async fn broker(world: &mut DiscosWorld) -> &mut ScenarioBroker {
    if world.broker.is_none() {
        match ScenarioBroker::start(world.settings.broker.clone()).await {
            Ok(broker) => world.broker = Some(broker),
            Err(error) => world.fail(format!("the message broker could not start: {error}")),
        }
    }
    let Some(broker) = world.broker.as_mut() else {
        unreachable!("the broker was just set");
    };
    broker
}

/// The scenario's broker, which a step before must have asked for.
fn started(world: &mut DiscosWorld) -> &mut ScenarioBroker {
    if world.broker.is_none() {
        world.fail("there is no message broker; say \"Given a message broker\" first");
    }
    let Some(broker) = world.broker.as_mut() else {
        unreachable!("checked above");
    };
    broker
}

fn duration(amount: u64, unit: &str) -> Duration {
    if unit.starts_with("second") {
        Duration::from_secs(amount)
    } else {
        Duration::from_millis(amount)
    }
}

/// Reaches the message broker given with `--broker`, or starts a
/// rabbitmq-server for the scenario; fails if neither can be had.
#[given("a message broker")]
async fn a_message_broker(world: &mut DiscosWorld) {
    broker(world).await;
}

/// Starts the backend under test told to publish its events on the
/// scenario's broker; it must come before any step that talks to the
/// backend, which would otherwise start one that publishes nothing.
#[given("a backend that publishes its events")]
async fn a_publishing_backend(world: &mut DiscosWorld) {
    if world.backend.is_some() {
        world.fail(
            "the scenario already has a backend; say \"Given a backend that publishes its events\" before anything talks to it",
        );
    }
    let target = world.settings.target.clone();
    let started = broker(world).await.start_backend(&target).await;
    match started {
        Ok(address) => world.backend = Some(BackendUnderTest::Orchestrated(address)),
        Err(error) => world.fail(format!("the backend could not start: {error}")),
    }
}

/// Subscribes "the subscriber" to the backend's events, from now on.
#[given("a subscriber")]
async fn a_subscriber(world: &mut DiscosWorld) {
    subscribe(world, DEFAULT_SUBSCRIBER).await;
}

/// Subscribes two named subscribers, each of which receives every
/// event from now on.
#[given(expr = "the subscribers {string} and {string}")]
async fn two_subscribers(world: &mut DiscosWorld, a: String, b: String) {
    subscribe(world, &a).await;
    subscribe(world, &b).await;
}

async fn subscribe(world: &mut DiscosWorld, name: &str) {
    let subscribed = broker(world).await.add_subscriber(name).await;
    if let Err(error) = subscribed {
        world.fail(format!(
            "the subscriber \"{name}\" could not subscribe: {error}"
        ));
    }
}

/// Waits for the subscriber's next event of that name (those before it
/// count as read) and fails if none comes within the time given.
#[then(
    regex = r#"^the subscriber receives the event "([^"]*)" within (\d+) (milliseconds?|seconds?)$"#
)]
async fn receives(world: &mut DiscosWorld, event: String, amount: u64, unit: String) {
    expect(world, DEFAULT_SUBSCRIBER, &event, duration(amount, &unit)).await;
}

/// As "the subscriber receives the event", for the named subscriber.
#[then(
    regex = r#"^the subscriber "([^"]*)" receives the event "([^"]*)" within (\d+) (milliseconds?|seconds?)$"#
)]
async fn named_receives(
    world: &mut DiscosWorld,
    name: String,
    event: String,
    amount: u64,
    unit: String,
) {
    expect(world, &name, &event, duration(amount, &unit)).await;
}

/// The events of the table's rows (one name a row), in that order,
/// others between them allowed, all within the time given.
#[then(
    regex = r"^the subscriber receives these events in order within (\d+) (milliseconds?|seconds?):$"
)]
async fn receives_in_order(world: &mut DiscosWorld, amount: u64, unit: String, step: &Step) {
    let limit = duration(amount, &unit);
    let started = Instant::now();
    for row in table_rows(world, step) {
        let [event] = row.as_slice() else {
            world.fail(format!("each row names one event, got {row:?}"));
        };
        // The whole list within the limit, not each event.
        let left = limit.saturating_sub(started.elapsed());
        expect(world, DEFAULT_SUBSCRIBER, event, left).await;
    }
}

async fn expect(world: &mut DiscosWorld, name: &str, event: &str, limit: Duration) {
    let received = started(world).expect_event(name, event, limit).await;
    if let Err(error) = received {
        world.fail(error);
    }
}

/// Fails if the subscriber receives any event during the time given:
/// for a request that must publish nothing.
#[then(regex = r"^the subscriber receives nothing for (\d+) (milliseconds?|seconds?)$")]
async fn receives_nothing(world: &mut DiscosWorld, amount: u64, unit: String) {
    let quiet = started(world)
        .expect_nothing(DEFAULT_SUBSCRIBER, duration(amount, &unit))
        .await;
    if let Err(error) = quiet {
        world.fail(error);
    }
}

/// What the last event received says of the configuration, file name
/// or shift, compared with the quoted text.
#[then(regex = r#"^the event says the (configuration|file name|shift) is "([^"]*)"$"#)]
async fn the_event_says(world: &mut DiscosWorld, what: String, expected: String) {
    let key = match what.as_str() {
        "file name" => "filename",
        other => other,
    };
    let event = match started(world).last_event() {
        Ok(event) => event.clone(),
        Err(error) => world.fail(error),
    };
    let value = match event.details.get(key) {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => world.fail(format!(
            "the event \"{}\" says nothing of the {what}: {event:?}",
            event.event
        )),
    };
    if value != expected {
        world.fail(format!(
            "expected the event to say the {what} is \"{expected}\", but it says \"{value}\""
        ));
    }
}

/// The last event received names a request the client sent, and its
/// time is a time during the scenario.
#[then("the event carries the backend's time and the request that caused it")]
async fn carries_time_and_request(world: &mut DiscosWorld) {
    let event = match started(world).last_event() {
        Ok(event) => event.clone(),
        Err(error) => world.fail(error),
    };
    let sent = requests_sent(world);
    let Some(request) = &event.request else {
        world.fail(format!(
            "the event \"{}\" names no request: {event:?}",
            event.event
        ));
    };
    if !sent.contains(request) {
        world.fail(format!(
            "the event \"{}\" says {request} caused it, but the client sent: {}",
            event.event,
            sent.join(", ")
        ));
    }
    let time = match event.time.parse::<Timestamp>() {
        Ok(time) => time,
        Err(error) => world.fail(format!(
            "the event's time \"{}\" is not a time: {error}",
            event.time
        )),
    };
    let scenario_began = Timestamp::now()
        .since_epoch()
        .saturating_sub(world.started.elapsed());
    if time.since_epoch() < scenario_began || time > Timestamp::now() {
        world.fail(format!(
            "the event's time {time} is not during the scenario (now {})",
            Timestamp::now()
        ));
    }
}

/// Every request the default client sent, as the backend saw them.
fn requests_sent(world: &DiscosWorld) -> Vec<String> {
    world
        .parties
        .iter()
        .flat_map(|party| party.client.transcript().entries().to_vec())
        .filter(|entry| entry.direction == crate::client::Direction::Sent)
        .filter_map(|entry| request_from_text(&entry.text).ok())
        .map(|request| request.to_string())
        .collect()
}

/// Connects to the broker as a monitoring tool would, with the
/// broker's user and password; the `Then` steps check how it went.
#[when("a monitoring client connects to the broker with the right password")]
async fn monitoring_right(world: &mut DiscosWorld) {
    broker(world).await.connect_monitoring(true).await;
}

/// Tries to connect to the broker with a wrong password; the `Then`
/// steps check that it was refused, and how.
#[when("a monitoring client connects to the broker with a wrong password")]
async fn monitoring_wrong(world: &mut DiscosWorld) {
    broker(world).await.connect_monitoring(false).await;
}

/// The monitoring client's connection is open and logged in.
#[then("the monitoring client is connected and logged in")]
async fn monitoring_connected(world: &mut DiscosWorld) {
    let problem = match started(world).monitoring() {
        None => Some("no monitoring client has connected".to_owned()),
        Some(Err(error)) => Some(format!("the monitoring client could not connect: {error}")),
        Some(Ok(link)) if !link.connection.status().connected() => {
            Some("the monitoring client's connection is not open".to_owned())
        }
        Some(Ok(_)) => None,
    };
    if let Some(problem) = problem {
        world.fail(problem);
    }
}

/// The broker opens (and closes) a channel for the monitoring client.
#[then("the monitoring client can open a channel")]
async fn monitoring_channel(world: &mut DiscosWorld) {
    let opened = match started(world).monitoring() {
        Some(Ok(link)) => match link.connection.create_channel().await {
            Ok(channel) => {
                let open = channel.status().connected();
                let closed = channel.close(200, "OK".into()).await;
                match (open, closed) {
                    (true, Ok(())) => Ok(()),
                    (false, _) => Err("the channel opened but is not open".to_owned()),
                    (_, Err(error)) => Err(format!("the channel would not close: {error}")),
                }
            }
            Err(error) => Err(format!("the broker refused a channel: {error}")),
        },
        _ => Err("the monitoring client is not connected".to_owned()),
    };
    if let Err(problem) = opened {
        world.fail(problem);
    }
}

/// The broker refused the monitoring client's login, and the error
/// says so in those words.
#[then("the broker refuses the monitoring client, saying the login was refused")]
async fn monitoring_refused(world: &mut DiscosWorld) {
    let problem = match started(world).monitoring() {
        None => Some("no monitoring client has tried to connect".to_owned()),
        Some(Ok(_)) => Some("the broker let the monitoring client in".to_owned()),
        Some(Err(error)) if !error.is_refusal() => Some(format!(
            "expected the login to be refused, but the connection failed otherwise: {error}"
        )),
        Some(Err(error)) if !error.to_string().contains("refused the login") => {
            Some(format!("the refusal does not say why clearly: {error}"))
        }
        Some(Err(_)) => None,
    };
    if let Some(problem) = problem {
        world.fail(problem);
    }
}

/// Stops the broker, sends four requests while it is away, then starts
/// it again: a backend must keep answering without its broker.
#[when("the broker goes away and comes back while the client keeps working")]
async fn broker_restarts(world: &mut DiscosWorld) {
    let run = started(world).run();
    let restarted = run
        .while_stopped(async || {
            let mut answered = Vec::new();
            for line in ["set-integration,50", "get-integration", "status", "get-tpi"] {
                let asked = Instant::now();
                let reply = world.ask(line).await;
                answered.push((line, reply, asked.elapsed()));
            }
            answered
        })
        .await;
    match restarted {
        Ok(answered) => {
            let broker = started(world);
            for (line, reply, took) in answered {
                broker.record_outage(line, reply, took);
            }
        }
        Err(error) => world.fail(format!("the broker could not be restarted: {error}")),
    }
}

/// Each request sent while the broker was away got `ok` within a
/// second.
#[then("the client was answered at once throughout")]
async fn answered_throughout(world: &mut DiscosWorld) {
    let outage = started(world).outage().to_vec();
    if outage.is_empty() {
        world.fail("the client sent nothing while the broker was away");
    }
    for (request, reply, took) in outage {
        if reply.code() != Some(Code::Ok) || took > ANSWER_LIMIT {
            world.fail(format!(
                "while the broker was away, {request} was answered {reply} after {took:?}"
            ));
        }
    }
}

/// After the broker came back, the subscriber receives events again
/// within the time given.
#[then(regex = r"^the subscriber is subscribed again within (\d+) (milliseconds?|seconds?)$")]
async fn subscribed_again(world: &mut DiscosWorld, amount: u64, unit: String) {
    let again = started(world)
        .expect_resubscribed(duration(amount, &unit))
        .await;
    if let Err(error) = again {
        world.fail(error);
    }
}

/// Opens a broker connection that no teardown closes, so that a test
/// can see the teardown check name it.
#[when("a connection to the broker is leaked on purpose")]
async fn leaks_a_connection(world: &mut DiscosWorld) {
    let leaked = broker(world).await.leak_connection().await;
    if let Err(error) = leaked {
        world.fail(format!("cannot open a connection to leak: {error}"));
    }
}
