//! Backend events on a real broker, measured: how fast a burst of 10 000
//! state changes reaches a subscriber (events per second, and the latency
//! from the backend's change to the subscriber's receipt, p50/p99), and what
//! `--publish` costs the protocol: the 50 × 32 `get-tpi` load against
//! `discos-sim serve` without and with it.
//!
//! `cargo bench --bench events`; needs Debian's `rabbitmq-server` (the bench
//! starts a broker of its own through the orchestration layer and stops it).
//! The figures go to stdout; nothing here asserts a speed.

use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;

use discos_acceptance::backend::{BackendHandler, Simulator};
use discos_acceptance::client::Client;
use discos_acceptance::events::{
    self, BrokerUrl, Publisher, PublisherConfig, Subscriber, SubscriberConfig, Update,
};
use discos_acceptance::events::{Broker, RabbitMq};
use discos_acceptance::orchestration::{Executor, Readiness, Service};
use discos_acceptance::protocol::{Code, Message, Timestamp};
use discos_acceptance::server::{Config, Server};

const BURST: u64 = 10_000;
/// Changes made one at a time, each waited for, for the latency of an event
/// that does not queue behind others.
const SINGLES: u64 = 200;
const LOAD_RUNS: usize = 3;

fn main() {
    if let Err(missing) = RabbitMq::find() {
        eprintln!("skipped: {missing}");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut broker = Broker::new("broker").expect("a broker");
        let started = Instant::now();
        broker.start().await.expect("the broker starts");
        println!("broker ready in {:.1?}", started.elapsed());
        let url = broker.url().expect("its URL");
        burst(&url).await;
        singles(&url).await;
        load(&url).await;
        broker.stop().await.expect("the broker stops");
    });
}

/// A subscriber on `exchange`, and the simulator served in process
/// publishing to it, its publisher connected.
async fn publishing_simulator(url: &BrokerUrl, exchange: &str) -> (Subscriber, Server, Publisher) {
    let mut config = SubscriberConfig::new(url.clone());
    config.exchange = exchange.to_owned();
    let subscriber = Subscriber::connect(config).await.expect("subscribe");
    let (sink, queue) = events::queue(events::DEFAULT_CAPACITY);
    let server = Server::start(
        Config::default(),
        std::sync::Arc::new(BackendHandler::new(Simulator::with_events(None, sink))),
    )
    .await
    .expect("a server");
    let mut publisher_config = PublisherConfig::new(url.clone(), server.local_addr().to_string());
    publisher_config.exchange = exchange.to_owned();
    let publisher = Publisher::start(publisher_config, queue);
    publisher.connected().await;
    (subscriber, server, publisher)
}

/// 10 000 `set-integration` requests, pipelined on one connection to the
/// simulator served in process, each a change and so an event.
async fn burst(url: &BrokerUrl) {
    let exchange = "bench.burst";
    let (mut subscriber, server, publisher) = publishing_simulator(url, exchange).await;

    let receiving = tokio::spawn(async move {
        let mut latencies = Histogram::<u64>::new(3).expect("a histogram");
        let mut first_change: Option<SystemTime> = None;
        let mut last_receipt = SystemTime::UNIX_EPOCH;
        let mut received = 0;
        while received < BURST {
            let Some(Update::Event(event)) = subscriber.next().await else {
                continue;
            };
            let changed: SystemTime = event
                .event
                .time
                .parse::<Timestamp>()
                .expect("a time")
                .into();
            first_change.get_or_insert(changed);
            let latency = event.at.duration_since(changed).unwrap_or_default();
            latencies
                .record(latency.as_micros() as u64)
                .expect("in range");
            last_receipt = event.at;
            received += 1;
        }
        subscriber.close(Duration::from_secs(5)).await;
        let span = last_receipt
            .duration_since(first_change.unwrap_or(last_receipt))
            .unwrap_or_default();
        (latencies, span)
    });

    let mut client = Client::connect(server.local_addr().to_string().as_str())
        .await
        .expect("connect");
    let requests: Vec<Message> = (1..=BURST)
        .map(|ms| Message::request("set-integration", [ms.to_string()]))
        .collect();
    let sent = Instant::now();
    for chunk in requests.chunks(1000) {
        let replies = client.pipeline(chunk).await.expect("replies");
        assert!(replies.iter().all(|r| r.code() == Some(Code::Ok)));
    }
    let answered = sent.elapsed();
    let (latencies, span) = tokio::time::timeout(Duration::from_secs(120), receiving)
        .await
        .expect("every event within two minutes")
        .expect("the receiving task");
    client.close().await.expect("close");
    server.shutdown().await;
    let stats = publisher.shutdown(Duration::from_secs(10)).await;
    println!(
        "burst of {BURST} changes: all answered in {answered:.2?}; received by the subscriber in {span:.2?} \
         = {:.0} events/s; latency change -> subscriber p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         published {}, dropped {}",
        BURST as f64 / span.as_secs_f64().max(1e-9),
        latencies.value_at_quantile(0.50) as f64 / 1000.0,
        latencies.value_at_quantile(0.99) as f64 / 1000.0,
        latencies.max() as f64 / 1000.0,
        stats.published,
        stats.dropped
    );
}

/// One change at a time, each event waited for before the next change.
async fn singles(url: &BrokerUrl) {
    let exchange = "bench.singles";
    let (mut subscriber, server, publisher) = publishing_simulator(url, exchange).await;
    let mut client = Client::connect(server.local_addr().to_string().as_str())
        .await
        .expect("connect");
    let mut latencies = Histogram::<u64>::new(3).expect("a histogram");
    for ms in 1..=SINGLES {
        let asked = Instant::now();
        let reply = client
            .request(&Message::request("set-integration", [ms.to_string()]))
            .await
            .expect("a reply");
        assert_eq!(reply.code(), Some(Code::Ok));
        loop {
            if let Some(Update::Event(_)) = subscriber.next().await {
                break;
            }
        }
        latencies
            .record(asked.elapsed().as_micros() as u64)
            .expect("in range");
    }
    client.close().await.expect("close");
    server.shutdown().await;
    publisher.shutdown(Duration::from_secs(10)).await;
    subscriber.close(Duration::from_secs(5)).await;
    println!(
        "{SINGLES} changes one at a time: request sent -> event received p50 {:.2} ms, p99 {:.2} ms",
        latencies.value_at_quantile(0.50) as f64 / 1000.0,
        latencies.value_at_quantile(0.99) as f64 / 1000.0
    );
}

/// `discos-sim load … --connections 50 --pipeline 32 --duration 5s` against
/// `discos-sim serve`, without and with `--publish`, alternating.
async fn load(url: &BrokerUrl) {
    let mut without = Vec::new();
    let mut with = Vec::new();
    for _ in 0..LOAD_RUNS {
        without.push(load_once(None).await);
        with.push(load_once(Some(url)).await);
    }
    let median = |runs: &mut Vec<f64>| {
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    };
    let (plain, publishing) = (median(&mut without), median(&mut with));
    println!(
        "50 x 32 get-tpi, median of {LOAD_RUNS}: {plain:.0} requests/s without --publish, \
         {publishing:.0} with ({:.1} %); runs without {without:.0?}, with {with:.0?}",
        100.0 * publishing / plain
    );
}

async fn load_once(publish: Option<&BrokerUrl>) -> f64 {
    let sim = env!("CARGO_BIN_EXE_discos-sim");
    let mut argv = vec![sim.to_owned(), "serve".into(), "--port".into(), "0".into()];
    let mut ready = vec![Readiness::output("^listening on ")];
    if let Some(url) = publish {
        argv.extend([
            "--publish".into(),
            url.with_secret(),
            "--exchange".into(),
            "bench.load".into(),
        ]);
        ready.push(Readiness::output("publishing events to"));
    }
    let mut serve = Executor::new("serve", argv).ready_when(Readiness::all(ready));
    serve.start().await.expect("serve starts");
    let address = serve
        .output_lines()
        .iter()
        .find_map(|line| line.strip_prefix("listening on ").map(str::to_owned))
        .expect("its address");
    let output = tokio::process::Command::new(sim)
        .args([
            "load",
            &format!("tcp://{address}"),
            "--connections",
            "50",
            "--pipeline",
            "32",
        ])
        .args(["--duration", "5s", "--json"])
        .output()
        .await
        .expect("discos-sim load");
    serve.stop().await.expect("serve stops");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the load report");
    report["requests_per_second"]
        .as_f64()
        .expect("requests per second")
}
