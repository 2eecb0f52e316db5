//! Backend events: the publisher, the subscriber, `serve --publish` and
//! `discos-sim events`, against a real RabbitMQ started for the test by the
//! orchestration layer — and what happens when there is no broker at all.
//!
//! The broker takes seconds to boot, so one test starts one broker and runs
//! every check that needs it in turn. Without `rabbitmq-server` installed it
//! says so and passes; with `DISCOS_REQUIRE_BROKER=1` (as in CI) it fails.
//! Time limits are generous bounds for a loaded two-core machine, never
//! claims about speed.

use std::time::{Duration, Instant};

use discos_acceptance::backend::{Backend, BackendHandler, Handler, Simulator};
use discos_acceptance::client::Client;
use discos_acceptance::events::{
    self, BrokerUrl, Event, Link, Publisher, PublisherConfig, Subscriber, SubscriberConfig, Update,
};
use discos_acceptance::events::{Broker, RabbitMq};
use discos_acceptance::orchestration::{Executor, OrchestrationError, Readiness, Service};
use discos_acceptance::poll::{Pace, Poller};
use discos_acceptance::protocol::Message;
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions, QueuePurgeOptions};
use lapin::types::FieldTable;

const PATIENCE: Duration = Duration::from_secs(30);

use crate::ONE_RUN_AT_A_TIME;

/// Runs the acceptance features of `features` with `args`, keeping what
/// the run prints in its outcome (a deliberate failure's ✘ lines are not
/// this test's output).
async fn acceptance_run(args: &[&str], features: &str) -> discos_acceptance::acceptance::Outcome {
    use clap::Parser;
    let _turn = ONE_RUN_AT_A_TIME.lock().await;
    let artifacts = format!("{}/events-artifacts", env!("CARGO_TARGET_TMPDIR"));
    let mut argv = vec!["acceptance", "--artifacts", &artifacts];
    argv.extend_from_slice(args);
    let options = discos_acceptance::acceptance::Options::try_parse_from(argv).expect("options");
    let features = format!("{}/{features}", env!("CARGO_MANIFEST_DIR"));
    discos_acceptance::acceptance::run_quietly(options, std::path::Path::new(&features))
        .await
        .expect("the run starts")
}

fn sim() -> &'static str {
    env!("CARGO_BIN_EXE_discos-sim")
}

/// The broker's programs, or `None` (with a note) where they are missing
/// and not required.
fn rabbitmq_or_skip() -> Option<RabbitMq> {
    match RabbitMq::find() {
        Ok(found) => Some(found),
        Err(missing) if std::env::var("DISCOS_REQUIRE_BROKER").as_deref() == Ok("1") => {
            panic!("DISCOS_REQUIRE_BROKER=1, but {missing}")
        }
        Err(missing) => {
            eprintln!("skipped: {missing}");
            None
        }
    }
}

/// The next event a subscriber receives, within `limit`; other updates
/// (subscribed, lost) are skipped.
async fn next_event(subscriber: &mut Subscriber, limit: Duration) -> Event {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, subscriber.next()).await {
            Ok(Some(Update::Event(received))) => return received.event,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the subscriber closed"),
            Err(_) => panic!("no event within {limit:?}"),
        }
    }
}

/// Waits for the subscriber to report that it subscribed again.
async fn resubscribed(subscriber: &mut Subscriber, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, subscriber.next()).await {
            Ok(Some(Update::Subscribed { again: true })) => return,
            Ok(Some(Update::Event(received))) => {
                panic!("an event before subscribing again: {:?}", received.event)
            }
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the subscriber closed"),
            Err(_) => panic!("not subscribed again within {limit:?}"),
        }
    }
}

/// Polls the broker's list of connections until none is named `name`.
async fn connection_gone(broker: &Broker, name: &str) {
    // rabbitmqctl's list has no event to wait on.
    let mut poller = Poller::within(PATIENCE, Pace::every(Duration::from_millis(50)));
    loop {
        let connections = broker.connections().await.expect("rabbitmqctl");
        if !connections
            .iter()
            .any(|c| c.client_name.as_deref() == Some(name))
        {
            return;
        }
        assert!(
            poller.pause().await,
            "connection {name} still open: {connections:?}"
        );
    }
}

fn simulator_publishing(url: &BrokerUrl, exchange: &str) -> (BackendHandler<Simulator>, Publisher) {
    let (sink, queue) = events::queue(events::DEFAULT_CAPACITY);
    let mut config = PublisherConfig::new(url.clone(), "test backend");
    config.exchange = exchange.to_owned();
    config.connection_name = format!("test publisher on {exchange}");
    let publisher = Publisher::start(config, queue);
    (
        BackendHandler::new(Simulator::with_events(None, sink)),
        publisher,
    )
}

async fn subscriber(url: &BrokerUrl, exchange: &str, name: &str) -> Subscriber {
    let mut config = SubscriberConfig::new(url.clone());
    config.exchange = exchange.to_owned();
    config.connection_name = name.to_owned();
    config.max_retry = Duration::from_millis(500);
    Subscriber::connect(config).await.expect("subscribe")
}

async fn request(handler: &BackendHandler<Simulator>, text: &str) -> Message {
    let request = discos_acceptance::protocol::request_from_text(text).expect("a request");
    handler.handle(&request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_on_a_real_broker() {
    if rabbitmq_or_skip().is_none() {
        return;
    }
    let mut broker = Broker::new("broker").expect("a broker");
    let started = Instant::now();
    broker.start().await.expect("the broker starts");
    eprintln!("broker ready in {:.1?}", started.elapsed());
    let url = broker.url().expect("a started broker has a URL");
    let dir = broker.dir().to_path_buf();
    assert!(dir.starts_with(std::env::temp_dir()) && dir.is_dir());

    connect_log_in_and_open_a_channel(&broker, &url).await;
    a_wrong_password_is_refused_with_the_reason(&url).await;
    changes_arrive_in_order_with_their_request_and_time(&url).await;
    the_backend_answers_while_the_broker_is_away_and_nothing_is_lost(&mut broker, &url).await;
    serve_publishes_and_events_prints(&broker, &url).await;
    the_features_run_on_an_existing_broker(&url).await;

    let connections = broker.connections().await.expect("rabbitmqctl");
    assert_eq!(connections, Vec::new(), "every check closed what it opened");
    broker.stop().await.expect("the broker stops cleanly");
    assert_eq!(broker.leftover_processes(), Vec::new());
    assert!(!dir.exists(), "{} is left behind", dir.display());
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", url.port()))
            .await
            .is_err(),
        "the broker's port still accepts"
    );
}

async fn connect_log_in_and_open_a_channel(broker: &Broker, url: &BrokerUrl) {
    let link = Link::open(url, "test link").await.expect("connect");
    assert!(link.connection.status().connected());
    assert!(link.channel.status().connected());
    let connections = broker.connections().await.expect("rabbitmqctl");
    let ours = connections
        .iter()
        .find(|c| c.client_name.as_deref() == Some("test link"))
        .unwrap_or_else(|| panic!("the broker lists it: {connections:?}"));
    assert_eq!(ours.user, "guest");
    link.close().await;
    connection_gone(broker, "test link").await;
}

async fn a_wrong_password_is_refused_with_the_reason(url: &BrokerUrl) {
    let error = Link::open(
        &url.with_password("not the password"),
        "test wrong password",
    )
    .await
    .expect_err("a wrong password is refused");
    assert!(error.is_refusal(), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("refused the login of \"guest\"") && message.contains("ACCESS"),
        "{message}"
    );
    assert!(!message.contains("not the password"), "{message}");
}

async fn changes_arrive_in_order_with_their_request_and_time(url: &BrokerUrl) {
    let exchange = "test.order";
    let mut subscriber = subscriber(url, exchange, "test subscriber").await;
    let (handler, publisher) = simulator_publishing(url, exchange);
    publisher.connected().await;
    let before = discos_acceptance::protocol::Timestamp::now();
    for line in [
        "set-configuration,K2000",
        "start",
        "stop",
        "set-integration,100",
    ] {
        let reply = request(&handler, line).await;
        assert_eq!(
            reply.code(),
            Some(discos_acceptance::protocol::Code::Ok),
            "{reply}"
        );
    }
    // A refused request publishes nothing.
    let refused = request(&handler, "stop").await;
    assert_eq!(
        refused.code(),
        Some(discos_acceptance::protocol::Code::Fail)
    );
    let mut received = Vec::new();
    for _ in 0..4 {
        received.push(next_event(&mut subscriber, PATIENCE).await);
    }
    let names: Vec<&str> = received.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "configuration set",
            "acquisition started",
            "acquisition stopped",
            "integration set"
        ]
    );
    let sequences: Vec<u64> = received.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4]);
    let first = &received[0];
    assert_eq!(first.request.as_deref(), Some("?set-configuration,K2000"));
    assert_eq!(first.source, "test backend");
    assert_eq!(first.details["configuration"], "K2000");
    let time: discos_acceptance::protocol::Timestamp = first.time.parse().expect("a time");
    assert!(time >= before, "{time} is before the request ({before})");
    let stats = publisher.shutdown(PATIENCE).await;
    assert_eq!(
        (stats.emitted, stats.published, stats.dropped, stats.unsent),
        (4, 4, 0, 0)
    );
    assert!(subscriber.close(PATIENCE).await);
}

async fn the_backend_answers_while_the_broker_is_away_and_nothing_is_lost(
    broker: &mut Broker,
    url: &BrokerUrl,
) {
    let exchange = "test.restart";
    // A durable queue of one's own, as an archive would have: it outlives
    // the broker's restart, so what is published after it holds all.
    let archive = Link::open(url, "test archive").await.expect("connect");
    archive
        .channel
        .exchange_declare(
            exchange.into(),
            lapin::ExchangeKind::Topic,
            lapin::options::ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("exchange");
    archive
        .channel
        .queue_declare(
            "test.archive".into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue");
    archive
        .channel
        .queue_bind(
            "test.archive".into(),
            exchange.into(),
            "backend.#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");
    archive.close().await;

    let mut subscriber = subscriber(url, exchange, "test restart subscriber").await;
    let (handler, publisher) = simulator_publishing(url, exchange);
    publisher.connected().await;
    request(&handler, "set-configuration,K2000").await;
    assert_eq!(
        next_event(&mut subscriber, PATIENCE).await.event,
        "configuration set"
    );

    let answered = broker
        .while_stopped(async || {
            let mut slowest = Duration::ZERO;
            for line in ["start", "set-integration,50", "stop", "status", "get-tpi"] {
                let asked = Instant::now();
                let reply = request(&handler, line).await;
                slowest = slowest.max(asked.elapsed());
                assert_eq!(
                    reply.code(),
                    Some(discos_acceptance::protocol::Code::Ok),
                    "{reply} while the broker is away"
                );
            }
            slowest
        })
        .await
        .expect("the broker stops and starts again");
    assert!(
        answered < Duration::from_secs(1),
        "a reply took {answered:?} while the broker was away"
    );
    resubscribed(&mut subscriber, PATIENCE).await;
    publisher.connected().await;
    // After the restart, the new event reaches the new subscription (the
    // three queued while the broker was away may come first, or not: they
    // were published before or after it subscribed again).
    request(&handler, "set-shift,3").await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let event = next_event(&mut subscriber, PATIENCE).await;
        if event.event == "shift set" {
            assert_eq!(event.sequence, 5);
            break;
        }
        assert!(Instant::now() < deadline, "no shift set event");
    }
    let stats = publisher.shutdown(PATIENCE).await;
    assert_eq!(
        (stats.emitted, stats.dropped, stats.unsent),
        (5, 0, 0),
        "{stats:?}"
    );
    assert!(stats.connections >= 2, "{stats:?}");
    assert!(subscriber.close(PATIENCE).await);

    // The archive holds every event, in order, the three from the outage
    // included: they waited in the publisher's queue.
    let archive = Link::open(url, "test archive").await.expect("connect");
    let mut sequences = Vec::new();
    while let Some(message) = archive
        .channel
        .basic_get("test.archive".into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get")
    {
        let event: Event = serde_json::from_slice(&message.delivery.data).expect("an event");
        sequences.push(event.sequence);
    }
    sequences.dedup();
    assert_eq!(sequences, [1, 2, 3, 4, 5], "the archive's events");
    archive
        .channel
        .queue_purge("test.archive".into(), QueuePurgeOptions::default())
        .await
        .expect("purge");
    archive.close().await;
}

async fn serve_publishes_and_events_prints(broker: &Broker, url: &BrokerUrl) {
    let exchange = "test.cli";
    let mut events = Executor::new(
        "events",
        [
            sim().to_owned(),
            "events".to_owned(),
            url.with_secret(),
            "--exchange".to_owned(),
            exchange.to_owned(),
            "--json".to_owned(),
        ],
    )
    .ready_when(Readiness::output("^subscribed to exchange test.cli"))
    .timeout(PATIENCE);
    events.start().await.expect("discos-sim events subscribes");
    // For a person: one line per event, only the acquisition's.
    let mut acquisition = Executor::new(
        "events --only",
        [
            sim().to_owned(),
            "events".to_owned(),
            url.with_secret(),
            "--exchange".to_owned(),
            exchange.to_owned(),
            "--only".to_owned(),
            "backend.acquisition.*".to_owned(),
        ],
    )
    .ready_when(Readiness::output("^subscribed to exchange test.cli"))
    .timeout(PATIENCE);
    acquisition
        .start()
        .await
        .expect("discos-sim events --only subscribes");
    let mut serve = Executor::new(
        "serve",
        [
            sim().to_owned(),
            "serve".to_owned(),
            "--port".to_owned(),
            "0".to_owned(),
        ],
    )
    .env("DISCOS_PUBLISH", url.with_secret())
    .env("DISCOS_EXCHANGE", exchange)
    .ready_when(Readiness::all([
        Readiness::output("^listening on "),
        Readiness::output("publishing events to"),
    ]))
    .timeout(PATIENCE);
    serve.start().await.expect("discos-sim serve publishes");
    let address = serve
        .output_lines()
        .iter()
        .find_map(|line| line.strip_prefix("listening on ").map(str::to_owned))
        .expect("the address");
    let mut client = Client::connect(address.as_str()).await.expect("connect");
    for line in ["set-configuration,K2000", "start"] {
        let reply = client.request_text(line).await.expect("a reply");
        assert_eq!(
            reply.code(),
            Some(discos_acceptance::protocol::Code::Ok),
            "{reply}"
        );
    }
    client.close().await.expect("close");
    // The output buffer has no event for a line arriving.
    let mut poller = Poller::within(PATIENCE, Pace::every(Duration::from_millis(20)));
    let printed = loop {
        let printed: Vec<Event> = events
            .output_lines()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        if printed.len() >= 2 {
            break printed;
        }
        assert!(
            poller.pause().await,
            "discos-sim events printed {:?}",
            events.output_lines()
        );
    };
    assert_eq!(printed[0].event, "configuration set");
    assert_eq!(printed[0].source, address);
    assert_eq!(printed[1].event, "acquisition started");
    assert_eq!(printed[1].request.as_deref(), Some("?start"));
    let names: Vec<String> = broker
        .connections()
        .await
        .expect("rabbitmqctl")
        .into_iter()
        .filter_map(|c| c.client_name)
        .collect();
    assert!(
        names.contains(&format!("discos-sim serve on {address}")),
        "{names:?}"
    );
    // The output buffer has no event for a line arriving.
    let mut poller = Poller::within(PATIENCE, Pace::every(Duration::from_millis(20)));
    let shown = loop {
        let shown: Vec<String> = acquisition
            .output_lines()
            .into_iter()
            .filter(|line| line.contains("  #"))
            .collect();
        if !shown.is_empty() {
            break shown;
        }
        assert!(poller.pause().await, "{:?}", acquisition.output_lines());
    };
    assert_eq!(shown.len(), 1, "only the acquisition's events: {shown:?}");
    assert!(
        shown[0].contains("#2     acquisition started")
            && shown[0].ends_with(&format!("(?start on {address})")),
        "{shown:?}"
    );
    serve.stop().await.expect("serve stops");
    events.stop().await.expect("events stops");
    acquisition.stop().await.expect("events --only stops");
    assert!(
        serve
            .output_lines()
            .iter()
            .any(|line| line.contains("event publisher stopped: 2 event(s) published")),
        "{:?}",
        serve.output_lines()
    );

    // A wrong password: an error at once, naming the cause, exit status 2.
    let output = tokio::process::Command::new(sim())
        .args(["events", &url.with_password("wrong").with_secret()])
        .output()
        .await
        .expect("run discos-sim events");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refused the login of \"guest\""),
        "{stderr}"
    );
    // Our one line, not the AMQP library's log besides.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("ERROR"), "{stderr}");
}

/// `--broker`: the features use a broker the run did not start (this
/// test's); the scenario that would restart it is skipped, saying why.
async fn the_features_run_on_an_existing_broker(url: &BrokerUrl) {
    use discos_acceptance::acceptance::Status;
    let secret = url.with_secret();
    let outcome = acceptance_run(&["--broker", &secret, "--tags", "@broker"], "features").await;
    let ran: Vec<(String, Status, Option<String>)> = outcome
        .report
        .scenarios()
        .map(|(_, s)| (s.name.clone(), s.status(), s.skip_reason.clone()))
        .collect();
    assert!(outcome.passed, "{ran:#?}\n{}", outcome.output);
    let skipped: Vec<_> = ran
        .iter()
        .filter(|(_, _, reason)| reason.is_some())
        .collect();
    assert_eq!(skipped.len(), 1, "{ran:#?}");
    assert!(
        skipped[0]
            .2
            .as_deref()
            .unwrap_or_default()
            .contains("@restarts-broker"),
        "{skipped:?}"
    );
    assert!(ran.len() >= 9, "{ran:#?}");
}

#[tokio::test]
async fn a_broker_that_is_down_never_stops_the_backend_and_a_full_queue_drops_and_counts() {
    // Nothing listens on a port just freed.
    let port = discos_acceptance::orchestration::free_port().unwrap();
    let url: BrokerUrl = format!("amqp://guest:guest@127.0.0.1:{port}/%2f")
        .parse()
        .unwrap();
    let (sink, queue) = events::queue(3);
    let mut config = PublisherConfig::new(url, "nowhere");
    config.max_retry = Duration::from_millis(200);
    let publisher = Publisher::start(config, queue);
    let simulator = Simulator::with_events(None, sink);
    let asked = Instant::now();
    for shift in 1..=10 {
        simulator.set_shift(shift).await.expect("answered");
    }
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    let stats = publisher.stats();
    assert_eq!((stats.emitted, stats.dropped, stats.published), (10, 7, 0));
    assert!(!stats.connected);
    let stats = publisher.shutdown(Duration::from_secs(5)).await;
    assert_eq!(stats.unsent, 3, "{stats:?}");
}

#[tokio::test]
async fn serve_refuses_bad_publish_options_before_listening() {
    let cases: [(&[&str], &str); 4] = [
        (&["--publish", "127.0.0.1:5672"], "is not a broker URL"),
        (&["--publish", "amqps://guest:guest@host/"], "TLS"),
        (&["--exchange", "discos"], "--exchange is for --publish"),
        (
            &[
                "--publish",
                "amqp://guest:guest@127.0.0.1/",
                "--handler",
                "always-ok",
            ],
            "for the simulator handler only",
        ),
    ];
    for (args, expected) in cases {
        let output = tokio::process::Command::new(sim())
            .args(["serve", "--port", "0"])
            .args(args)
            .env_remove("DISCOS_PUBLISH")
            .env_remove("DISCOS_EXCHANGE")
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} listened");
    }
}

#[tokio::test]
async fn serve_keeps_answering_without_its_broker_and_says_so() {
    let port = discos_acceptance::orchestration::free_port().unwrap();
    let mut serve = Executor::new(
        "serve",
        [
            sim().to_owned(),
            "serve".to_owned(),
            "--port".to_owned(),
            "0".to_owned(),
            "--publish".to_owned(),
            format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
        ],
    )
    .ready_when(Readiness::all([
        Readiness::output("^listening on "),
        Readiness::output("cannot publish events: cannot reach the broker"),
    ]))
    .timeout(PATIENCE);
    serve
        .start()
        .await
        .expect("serve starts without its broker");
    let address = serve
        .output_lines()
        .iter()
        .find_map(|line| line.strip_prefix("listening on ").map(str::to_owned))
        .expect("the address");
    let mut client = Client::connect(address.as_str()).await.expect("connect");
    let reply = client
        .request_text("set-configuration,K2000")
        .await
        .unwrap();
    assert_eq!(reply.to_string(), "!set-configuration,ok");
    client.close().await.unwrap();
    let status = serve.stop().await.expect("stops").expect("was running");
    assert!(status.success(), "{status}");
    let log = serve.output_lines().join("\n");
    assert!(
        !log.contains("guest:guest"),
        "the password is in the log:\n{log}"
    );
    assert!(log.contains("1 never sent"), "{log}");
    // Each retry is said in our words, never in the AMQP library's.
    assert!(
        !log.contains("ERROR") && !log.contains("lapin"),
        "the library's log:\n{log}"
    );
}

/// `events --exchange ''` would be refused by the broker in words that
/// read as a refused login, and `--only ''` would subscribe to nothing:
/// both are refused before connecting, saying why.
#[test]
fn events_refuses_an_empty_exchange_or_pattern_before_connecting() {
    let cases: [(&[&str], &str); 3] = [
        (&["--exchange", ""], "an exchange needs a name"),
        (&["--only", ""], "an empty pattern matches no event"),
        (&["--only", "backend.#", "--only", " "], "an empty pattern"),
    ];
    for (args, expected) in cases {
        let output = std::process::Command::new(sim())
            .args(["events", "amqp://guest:guest@127.0.0.1:1/%2f"])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("cannot reach"),
            "{args:?} connected: {stderr}"
        );
    }
}

#[test]
fn a_broker_needs_its_programs_or_says_how_to_install_them() {
    match RabbitMq::find() {
        Ok(found) => assert!(found.server.is_file() && found.ctl.is_file(), "{found:?}"),
        Err(missing) => assert!(
            missing.contains("apt-get install rabbitmq-server"),
            "{missing}"
        ),
    }
    match Broker::new("broker") {
        Ok(broker) => assert_eq!(broker.name(), "broker"),
        Err(OrchestrationError::InvalidConfiguration { reason, .. }) => {
            assert!(
                reason.contains("apt-get install rabbitmq-server"),
                "{reason}"
            )
        }
        Err(other) => panic!("{other}"),
    }
}

/// The teardown's broker check at work: a scenario that leaves a connection
/// on the broker fails, naming the connection; the run's broker is stopped
/// at the end all the same, with nothing of it left.
#[tokio::test(flavor = "multi_thread")]
async fn a_connection_left_on_the_broker_fails_the_scenario_and_is_named() {
    use discos_acceptance::acceptance::Status;
    if rabbitmq_or_skip().is_none() {
        return;
    }
    let outcome = acceptance_run(
        &["--tags", "@deliberate-leak"],
        "fixtures/features/broker-leak",
    )
    .await;
    assert!(
        !outcome.passed,
        "a connection left on the broker must fail the run"
    );
    let (_, scenario) = outcome.report.scenarios().next().expect("the scenario ran");
    assert_eq!(scenario.status(), Status::Failed);
    let failure = scenario
        .hook_failure
        .as_deref()
        .expect("the teardown failed");
    assert!(
        failure.contains("1 connection(s) still open on the broker after the scenario")
            && failure.contains("leaked on purpose"),
        "{failure}"
    );
    assert!(
        scenario.steps.iter().all(|s| s.status == Status::Passed),
        "only the teardown fails"
    );
}
