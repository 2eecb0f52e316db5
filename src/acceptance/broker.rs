//! The message broker of an acceptance run, and what each `@broker`
//! scenario builds on it.
//!
//! A run has one broker ([`RunBroker`]): the one `--broker amqp://…` (or
//! `DISCOS_BROKER`) names, or a `rabbitmq-server` of the run's own, started
//! on first use — Erlang takes seconds to boot, too long to pay per
//! scenario — and stopped, with every process it started verified gone,
//! when the run ends.
//!
//! Each scenario ([`ScenarioBroker`]) has an [`Orchestrator`] of its own
//! whose services depend on the broker: its publishing backend and its
//! subscribers. A failed start names the service and stops what had
//! started. Each scenario publishes on an exchange of its own, so
//! scenarios running at once never see each other's events, and names
//! every connection it opens after itself, so that its teardown can ask the
//! broker (`rabbitmqctl list_connections`) whether it left one open.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::target::Target;
use crate::backend::{BackendHandler, Simulator};
use crate::events::{
    self, BrokerError, BrokerUrl, Event, Link, Publisher, PublisherConfig, Received, Subscriber,
    SubscriberConfig, Update,
};
use crate::events::{Broker, BrokerConnection};
use crate::orchestration::{Executor, OrchestrationError, Orchestrator, Readiness, Service};
use crate::poll::{Pace, Poller};
use crate::protocol::Message;
use crate::server::{Config, Server};

/// Set to 1, `@broker` scenarios fail where `rabbitmq-server` is not
/// installed instead of being skipped: how CI makes sure it really used a
/// broker.
pub const REQUIRE_BROKER_ENV: &str = "DISCOS_REQUIRE_BROKER";
/// The environment variables a `cmd:` backend is told where to publish
/// with (`discos-sim serve` reads them as `--publish` and `--exchange`).
pub const PUBLISH_ENV: &str = "DISCOS_PUBLISH";
/// See [`PUBLISH_ENV`].
pub const EXCHANGE_ENV: &str = "DISCOS_EXCHANGE";

/// How long a backend may take to start and, in process, to connect to the
/// broker.
const BACKEND_LIMIT: Duration = Duration::from_secs(30);
/// How long a backend, a subscriber or a publisher may take to close.
const CLOSE_LIMIT: Duration = Duration::from_secs(10);
/// How long a connection the scenario closed may stay in the broker's list.
const CONNECTION_LIMIT: Duration = Duration::from_secs(10);
/// The longest pause between a scenario's attempts to reach a broker that
/// went away: short, so that events resume soon after it is back.
const RETRY: Duration = Duration::from_millis(500);

/// Tells scenarios of one run apart on the broker.
static SCENARIOS: AtomicU64 = AtomicU64::new(0);

/// The broker every `@broker` scenario of a run uses.
#[derive(Debug)]
pub struct RunBroker {
    external: Option<BrokerUrl>,
    own: Mutex<Own>,
    /// The latest list of the broker's connections, and when it was asked
    /// for: scenarios ending together share one `rabbitmqctl`.
    listed: Mutex<Option<(Instant, Vec<BrokerConnection>)>>,
}

#[derive(Debug)]
enum Own {
    NotStarted,
    Running(Box<Broker>),
    /// It failed to start: later scenarios fail at once, with the same why.
    Failed(String),
    Stopped,
}

impl Default for RunBroker {
    fn default() -> RunBroker {
        RunBroker::new(None)
    }
}

impl RunBroker {
    /// The broker at `external`, or (with `None`) one of the run's own.
    pub fn new(external: Option<BrokerUrl>) -> RunBroker {
        RunBroker {
            external,
            own: Mutex::new(Own::NotStarted),
            listed: Mutex::new(None),
        }
    }

    /// Whether the broker is someone else's (`--broker`): it cannot be
    /// stopped, and its connections cannot be listed.
    pub fn is_external(&self) -> bool {
        self.external.is_some()
    }

    /// Where clients connect, starting the run's own broker on first use.
    pub async fn url(&self) -> Result<BrokerUrl, String> {
        if let Some(url) = &self.external {
            return Ok(url.clone());
        }
        let mut own = self.own.lock().await;
        if let Own::NotStarted = &*own {
            *own = match start_own().await {
                Ok(broker) => Own::Running(Box::new(broker)),
                Err(error) => Own::Failed(error),
            };
        }
        match &*own {
            Own::Running(broker) => broker
                .url()
                .ok_or_else(|| "the broker has no port".to_owned()),
            Own::Failed(error) => Err(error.clone()),
            Own::NotStarted | Own::Stopped => Err("the run's broker has been stopped".to_owned()),
        }
    }

    /// Stops the run's broker, runs `f`, and starts it again on the same
    /// port (the orchestration's `while_stopped`).
    pub async fn while_stopped<T>(&self, f: impl AsyncFnOnce() -> T) -> Result<T, String> {
        if let Some(url) = &self.external {
            return Err(format!(
                "the broker at {url} is not this run's to stop; tag the scenario @restarts-broker to skip it there"
            ));
        }
        let result = {
            let mut own = self.own.lock().await;
            let Own::Running(broker) = &mut *own else {
                return Err("the run's broker is not running".to_owned());
            };
            broker.while_stopped(f).await.map_err(|e| e.to_string())
        };
        // Locked after `own` is released: the listing locks them the other
        // way round.
        *self.listed.lock().await = None;
        result
    }

    /// The connections open on the run's own broker, as it lists them at
    /// some moment after `since`; `None` for an external broker, which
    /// this run cannot ask.
    pub async fn connections_since(
        &self,
        since: Instant,
    ) -> Result<Option<Vec<BrokerConnection>>, String> {
        if self.external.is_some() {
            return Ok(None);
        }
        let mut listed = self.listed.lock().await;
        if let Some((at, connections)) = &*listed
            && *at >= since
        {
            return Ok(Some(connections.clone()));
        }
        let asked = Instant::now();
        let own = self.own.lock().await;
        let Own::Running(broker) = &*own else {
            return Err("the run's broker is not running".to_owned());
        };
        let connections = broker.connections().await?;
        *listed = Some((asked, connections.clone()));
        Ok(Some(connections))
    }

    /// The end of the run: checks that no connection is left open on the
    /// run's own broker, stops it, and says what was left (connections,
    /// processes, its folder).
    pub async fn shut_down(&self) -> Vec<String> {
        let mut own = self.own.lock().await;
        let Own::Running(broker) = std::mem::replace(&mut *own, Own::Stopped) else {
            return Vec::new();
        };
        let mut broker = *broker;
        let mut problems = Vec::new();
        match broker.connections().await {
            Ok(connections) if connections.is_empty() => {}
            Ok(connections) => problems.push(format!(
                "{} connection(s) still open on the broker at the end of the run: {}",
                connections.len(),
                describe(&connections)
            )),
            Err(error) => problems.push(format!("cannot list the broker's connections: {error}")),
        }
        let dir = broker.dir().to_path_buf();
        if let Err(error) = broker.stop().await {
            problems.push(format!("the broker did not stop cleanly: {error}"));
        }
        let left = broker.leftover_processes();
        if !left.is_empty() {
            let left: Vec<String> = left
                .iter()
                .map(|(pid, cmd)| format!("{pid} {cmd}"))
                .collect();
            problems.push(format!(
                "broker process(es) still alive: {}",
                left.join(", ")
            ));
        }
        if dir.exists() {
            problems.push(format!(
                "the broker's folder {} is still there",
                dir.display()
            ));
        }
        problems
    }
}

/// Starts a broker of the run's own; the error is the orchestration's,
/// with the broker's last output.
async fn start_own() -> Result<Broker, String> {
    let mut broker = Broker::new("broker").map_err(|error| error.to_string())?;
    let started = Instant::now();
    match broker.start().await {
        Ok(()) => {
            tracing::info!("message broker ready in {:.1?}", started.elapsed());
            Ok(broker)
        }
        Err(error) => Err(error.to_string()),
    }
}

fn describe(connections: &[BrokerConnection]) -> String {
    let named: Vec<String> = connections
        .iter()
        .map(|c| match &c.client_name {
            Some(name) => format!("\"{name}\" ({})", c.name),
            None => c.name.clone(),
        })
        .collect();
    named.join(", ")
}

/// The events side of one scenario.
#[derive(Debug)]
pub struct ScenarioBroker {
    run: Arc<RunBroker>,
    url: BrokerUrl,
    /// Starts every connection name of the scenario.
    tag: String,
    exchange: String,
    orchestrator: Orchestrator,
    /// Where the publishing backend listens, once started.
    backend: Option<Arc<std::sync::Mutex<Option<String>>>>,
    subscribers: Vec<(String, Arc<Mutex<Inbox>>)>,
    /// The monitoring client of the connection scenarios: its link, or
    /// why the broker refused it.
    monitoring: Option<Result<Link, BrokerError>>,
    /// Links left open on purpose, to prove the teardown check.
    leaked: Vec<Link>,
    /// The latest event a step found, for the steps that look into it.
    last_event: Option<Event>,
    /// Requests sent while the broker was away, with their replies and how
    /// long each took.
    during_outage: Vec<(String, Message, Duration)>,
}

/// What one subscriber has received, and how far the steps have read.
#[derive(Debug)]
pub struct Inbox {
    subscriber: Option<Subscriber>,
    received: Vec<Received>,
    /// Events before this index have been checked (or skipped) by a step.
    cursor: usize,
    subscriptions: u64,
}

impl ScenarioBroker {
    /// Reaches (or starts) the run's broker through the scenario's
    /// orchestrator; fails with the orchestration's reason.
    pub async fn start(run: Arc<RunBroker>) -> Result<ScenarioBroker, String> {
        let n = SCENARIOS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let mut orchestrator = Orchestrator::new("the scenario").service(
            RunBrokerService {
                run: run.clone(),
                up: false,
            },
            Vec::<String>::new(),
        );
        orchestrator.start().await.map_err(|e| e.to_string())?;
        let url = run.url().await?;
        Ok(ScenarioBroker {
            run,
            url,
            tag: format!("discos-acceptance {pid}.{n}"),
            exchange: format!("discos.acceptance.{pid}.{n}"),
            orchestrator,
            backend: None,
            subscribers: Vec::new(),
            monitoring: None,
            leaked: Vec::new(),
            last_event: None,
            during_outage: Vec::new(),
        })
    }

    /// The broker's URL, with the right password.
    pub fn url(&self) -> &BrokerUrl {
        &self.url
    }

    /// The run's broker.
    pub fn run(&self) -> Arc<RunBroker> {
        self.run.clone()
    }

    fn name(&self, role: &str) -> String {
        format!("{} {role}", self.tag)
    }

    /// Adds `service`, depending on the broker, and starts it.
    async fn add(&mut self, service: impl Service + 'static) -> Result<(), String> {
        let orchestrator = std::mem::replace(&mut self.orchestrator, Orchestrator::new(""));
        self.orchestrator = orchestrator.service(service, ["broker"]);
        self.orchestrator.start().await.map_err(|e| e.to_string())
    }

    /// Starts the backend under test, publishing its events on the
    /// scenario's exchange: the simulator in process (ready once it
    /// listens and its publisher is connected), or the `cmd:` target's
    /// command, told where to publish by `DISCOS_PUBLISH` and
    /// `DISCOS_EXCHANGE`. Returns where it listens.
    pub async fn start_backend(&mut self, target: &Target) -> Result<String, String> {
        if self.backend.is_some() {
            return Err("the scenario already has a backend that publishes its events".into());
        }
        let address = Arc::new(std::sync::Mutex::new(None));
        let backend = match target {
            Target::Embedded => PublishingBackend::Embedded {
                url: self.url.clone(),
                exchange: self.exchange.clone(),
                connection_name: self.name("backend"),
                address: address.clone(),
                running: None,
            },
            Target::Command(command) => {
                let executor = Executor::shell("backend", command.clone())
                    .env(PUBLISH_ENV, self.url.with_secret())
                    .env(EXCHANGE_ENV, self.exchange.clone())
                    .ready_when(Readiness::tcp("127.0.0.1:{port}"))
                    .timeout(BACKEND_LIMIT);
                PublishingBackend::Process {
                    executor: Box::new(executor),
                    address: address.clone(),
                }
            }
            Target::Address(address) => {
                return Err(format!(
                    "the backend at tcp://{address} is already running and cannot be told where to publish"
                ));
            }
        };
        self.add(backend).await?;
        self.backend = Some(address.clone());
        let started = address.lock().unwrap_or_else(|e| e.into_inner()).clone();
        started.ok_or_else(|| "the backend started but has no address".to_owned())
    }

    /// Subscribes `name` to every event on the scenario's exchange.
    pub async fn add_subscriber(&mut self, name: &str) -> Result<(), String> {
        if self.subscribers.iter().any(|(n, _)| n == name) {
            return Err(format!("there is already a subscriber \"{name}\""));
        }
        let inbox = Arc::new(Mutex::new(Inbox {
            subscriber: None,
            received: Vec::new(),
            cursor: 0,
            subscriptions: 0,
        }));
        let mut config = SubscriberConfig::new(self.url.clone());
        config.exchange = self.exchange.clone();
        config.connection_name = self.name(&format!("subscriber {name}"));
        config.max_retry = RETRY;
        self.add(SubscriberService {
            name: format!("subscriber {name}"),
            config,
            inbox: inbox.clone(),
        })
        .await?;
        self.subscribers.push((name.to_owned(), inbox));
        Ok(())
    }

    fn inbox(&self, name: &str) -> Result<Arc<Mutex<Inbox>>, String> {
        self.subscribers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, inbox)| inbox.clone())
            .ok_or_else(|| match name {
                "subscriber" => {
                    "there is no subscriber; say \"Given a subscriber\" first".to_owned()
                }
                _ => format!("there is no subscriber \"{name}\""),
            })
    }

    /// Waits up to `limit` for subscriber `name` to receive `wanted`, among
    /// the events no step has read yet; the events before it count as read.
    /// The error lists what it did receive.
    pub async fn expect_event(
        &mut self,
        name: &str,
        wanted: &str,
        limit: Duration,
    ) -> Result<Event, String> {
        let inbox = self.inbox(name)?;
        let mut inbox = inbox.lock().await;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let cursor = inbox.cursor;
            if let Some(offset) = inbox.received[cursor..]
                .iter()
                .position(|r| r.event.event == wanted)
            {
                inbox.cursor = cursor + offset + 1;
                let event = inbox.received[cursor + offset].event.clone();
                self.last_event = Some(event.clone());
                return Ok(event);
            }
            if !inbox.pull(deadline).await {
                let seen: Vec<String> = inbox.received[cursor..]
                    .iter()
                    .map(|r| format!("\"{}\" (#{})", r.event.event, r.event.sequence))
                    .collect();
                let seen = if seen.is_empty() {
                    "none".to_owned()
                } else {
                    seen.join(", ")
                };
                return Err(format!(
                    "the {} did not receive the event \"{wanted}\" within {limit:?}; it received: {seen}",
                    subscriber_name(name)
                ));
            }
        }
    }

    /// Fails if subscriber `name` receives any event within `window`.
    pub async fn expect_nothing(&mut self, name: &str, window: Duration) -> Result<(), String> {
        let inbox = self.inbox(name)?;
        let mut inbox = inbox.lock().await;
        let deadline = tokio::time::Instant::now() + window;
        while inbox.received.len() == inbox.cursor && inbox.pull(deadline).await {}
        let unread: Vec<String> = inbox.received[inbox.cursor..]
            .iter()
            .map(|r| format!("\"{}\" (caused by {:?})", r.event.event, r.event.request))
            .collect();
        if unread.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "expected the {} to receive nothing, but it received {}",
                subscriber_name(name),
                unread.join(", ")
            ))
        }
    }

    /// Waits up to `limit` until every subscriber has subscribed again
    /// after the broker came back.
    pub async fn expect_resubscribed(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + limit;
        for (name, inbox) in &self.subscribers {
            let mut inbox = inbox.lock().await;
            while inbox.subscriptions < 2 {
                if !inbox.pull(deadline).await {
                    return Err(format!(
                        "the {} did not subscribe again within {limit:?}",
                        subscriber_name(name)
                    ));
                }
            }
        }
        Ok(())
    }

    /// The latest event a step found.
    pub fn last_event(&self) -> Result<&Event, String> {
        self.last_event
            .as_ref()
            .ok_or_else(|| "no event yet: check that the subscriber receives one first".to_owned())
    }

    /// Connects a monitoring client, keeping the link or the refusal.
    pub async fn connect_monitoring(&mut self, password_right: bool) {
        let url = if password_right {
            self.url.clone()
        } else {
            self.url.with_password("not-the-password")
        };
        if let Some(Ok(link)) = self.monitoring.take() {
            link.close().await;
        }
        self.monitoring = Some(Link::open(&url, &self.name("monitoring client")).await);
    }

    /// The monitoring client's link or refusal.
    pub fn monitoring(&self) -> Option<&Result<Link, BrokerError>> {
        self.monitoring.as_ref()
    }

    /// Opens a connection and leaves it open past the teardown's check.
    pub async fn leak_connection(&mut self) -> Result<(), String> {
        let link = Link::open(&self.url, &self.name("leaked on purpose"))
            .await
            .map_err(|e| e.to_string())?;
        self.leaked.push(link);
        Ok(())
    }

    /// Remembers a request made while the broker was away.
    pub fn record_outage(&mut self, request: &str, reply: Message, took: Duration) {
        self.during_outage.push((request.to_owned(), reply, took));
    }

    /// The requests made while the broker was away.
    pub fn outage(&self) -> &[(String, Message, Duration)] {
        &self.during_outage
    }

    /// Closes the monitoring client, stops the subscribers and the
    /// backend, then asks the broker whether a connection of this
    /// scenario is still open; says what was left.
    pub async fn tear_down(mut self) -> Vec<String> {
        let mut leaks = Vec::new();
        if let Some(Ok(link)) = self.monitoring.take() {
            link.close().await;
        }
        if let Err(error) = self.orchestrator.stop().await {
            leaks.push(error.to_string());
        }
        let closed = Instant::now();
        let backend = self
            .backend
            .as_ref()
            .and_then(|address| address.lock().unwrap_or_else(|e| e.into_inner()).clone());
        let ours = |connection: &BrokerConnection| {
            connection.client_name.as_deref().is_some_and(|name| {
                name.starts_with(&format!("{} ", self.tag))
                    || backend
                        .as_deref()
                        .is_some_and(|address| name.ends_with(&format!(" {address}")))
            })
        };
        // A connection closed a moment ago may still be listed, and the
        // broker's listing has no events: ask again.
        let mut poller = Poller::within(CONNECTION_LIMIT, Pace::every(Duration::from_millis(100)));
        loop {
            match self.run.connections_since(closed).await {
                Ok(None) => {
                    // Not ours to ask: what the scenario opened it closed.
                    if !self.leaked.is_empty() {
                        leaks.push(format!(
                            "{} connection(s) to the broker left open",
                            self.leaked.len()
                        ));
                    }
                    break;
                }
                Ok(Some(connections)) => {
                    let left: Vec<BrokerConnection> =
                        connections.into_iter().filter(|c| ours(c)).collect();
                    if left.is_empty() {
                        break;
                    }
                    if poller.expired() || !self.leaked.is_empty() {
                        leaks.push(format!(
                            "{} connection(s) still open on the broker after the scenario: {}",
                            left.len(),
                            describe(&left)
                        ));
                        break;
                    }
                    poller.pause().await;
                }
                Err(error) => {
                    leaks.push(format!(
                        "cannot ask the broker for its connections: {error}"
                    ));
                    break;
                }
            }
        }
        for link in self.leaked.drain(..) {
            link.close().await;
        }
        if self.run.is_external() {
            self.delete_exchange().await;
        }
        leaks
    }

    /// Removes the scenario's exchange from a broker that outlives the run.
    async fn delete_exchange(&self) {
        if let Ok(link) = Link::open(&self.url, &self.name("cleanup")).await {
            let _ = link
                .channel
                .exchange_delete(
                    self.exchange.as_str().into(),
                    lapin::options::ExchangeDeleteOptions::default(),
                )
                .await;
            link.close().await;
        }
    }
}

fn subscriber_name(name: &str) -> String {
    match name {
        "subscriber" => "subscriber".to_owned(),
        other => format!("subscriber \"{other}\""),
    }
}

impl Inbox {
    /// Takes the subscriber's next update, waiting until `deadline`; false
    /// when none came in time.
    async fn pull(&mut self, deadline: tokio::time::Instant) -> bool {
        let Some(subscriber) = self.subscriber.as_mut() else {
            return false;
        };
        match tokio::time::timeout_at(deadline, subscriber.next()).await {
            Ok(Some(Update::Event(received))) => self.received.push(received),
            Ok(Some(Update::Subscribed { .. })) => self.subscriptions += 1,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return false,
        }
        true
    }
}

/// The run's broker as a service of a scenario's orchestrator: starting it
/// starts the run's broker on first use; stopping it leaves it to the run.
#[derive(Debug)]
struct RunBrokerService {
    run: Arc<RunBroker>,
    up: bool,
}

#[async_trait]
impl Service for RunBrokerService {
    fn name(&self) -> &str {
        "broker"
    }
    async fn start(&mut self) -> Result<(), OrchestrationError> {
        self.run
            .url()
            .await
            .map_err(|reason| OrchestrationError::Failed {
                name: "the message broker".to_owned(),
                reason,
            })?;
        self.up = true;
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), OrchestrationError> {
        self.up = false;
        Ok(())
    }
    fn kill(&mut self) {
        self.up = false;
    }
    fn is_running(&self) -> bool {
        self.up
    }
}

/// The backend under test, publishing its events.
#[derive(Debug)]
enum PublishingBackend {
    Embedded {
        url: BrokerUrl,
        exchange: String,
        connection_name: String,
        address: Arc<std::sync::Mutex<Option<String>>>,
        running: Option<Box<(Server, Publisher)>>,
    },
    Process {
        executor: Box<Executor>,
        address: Arc<std::sync::Mutex<Option<String>>>,
    },
}

#[async_trait]
impl Service for PublishingBackend {
    fn name(&self) -> &str {
        "backend"
    }

    async fn start(&mut self) -> Result<(), OrchestrationError> {
        let failed = |reason: String| OrchestrationError::Failed {
            name: "the backend".to_owned(),
            reason,
        };
        match self {
            PublishingBackend::Embedded {
                url,
                exchange,
                connection_name,
                address,
                running,
            } => {
                if running.is_some() {
                    return Ok(());
                }
                let (sink, queue) = events::queue(events::DEFAULT_CAPACITY);
                let handler = Arc::new(BackendHandler::new(Simulator::with_events(None, sink)));
                let server = Server::start(Config::default(), handler)
                    .await
                    .map_err(|e| failed(format!("cannot start the embedded simulator: {e}")))?;
                let mut config = PublisherConfig::new(url.clone(), server.local_addr().to_string());
                config.exchange = exchange.clone();
                config.connection_name = connection_name.clone();
                config.max_retry = RETRY;
                let publisher = Publisher::start(config, queue);
                if tokio::time::timeout(BACKEND_LIMIT, publisher.connected())
                    .await
                    .is_err()
                {
                    publisher.shutdown(CLOSE_LIMIT).await;
                    server.shutdown().await;
                    return Err(failed(format!(
                        "its publisher did not connect to the broker at {url} within {BACKEND_LIMIT:?}"
                    )));
                }
                *address.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(server.local_addr().to_string());
                *running = Some(Box::new((server, publisher)));
                Ok(())
            }
            PublishingBackend::Process { executor, address } => {
                executor.start().await?;
                *address.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(format!("127.0.0.1:{}", executor.port().unwrap_or_default()));
                Ok(())
            }
        }
    }

    async fn stop(&mut self) -> Result<(), OrchestrationError> {
        match self {
            PublishingBackend::Embedded { running, .. } => {
                let Some(both) = running.take() else {
                    return Ok(());
                };
                let (server, publisher) = *both;
                let mut problems = Vec::new();
                let open = server.open_connections();
                if open > 0 {
                    problems.push(format!(
                        "{open} connection(s) still open on it after every client closed"
                    ));
                }
                if let Err(alive) = server.shutdown_within(CLOSE_LIMIT).await {
                    problems.push(format!(
                        "{alive} of its task(s) still alive after the shutdown"
                    ));
                }
                let stats = publisher.shutdown(CLOSE_LIMIT).await;
                if stats.unsent + stats.dropped + stats.rejected > 0 {
                    problems.push(format!(
                        "of its {} event(s), {} were never published, {} dropped and {} refused",
                        stats.emitted, stats.unsent, stats.dropped, stats.rejected
                    ));
                }
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(OrchestrationError::Failed {
                        name: "the backend".to_owned(),
                        reason: problems.join("; "),
                    })
                }
            }
            PublishingBackend::Process { executor, .. } => {
                let died = !executor.is_running();
                let status = executor.stop().await?;
                match status {
                    Some(status) if died => Err(OrchestrationError::Failed {
                        name: "the backend".to_owned(),
                        reason: format!(
                            "it had exited ({status}) before the scenario ended{}",
                            executor.last_output()
                        ),
                    }),
                    _ => Ok(()),
                }
            }
        }
    }

    fn kill(&mut self) {
        match self {
            PublishingBackend::Embedded { running, .. } => {
                // Dropping them cancels their tasks.
                running.take();
            }
            PublishingBackend::Process { executor, .. } => {
                executor.kill();
            }
        }
    }

    fn is_running(&self) -> bool {
        match self {
            PublishingBackend::Embedded { running, .. } => running.is_some(),
            PublishingBackend::Process { executor, .. } => executor.is_running(),
        }
    }

    fn as_executor(&self) -> Option<&Executor> {
        match self {
            PublishingBackend::Process { executor, .. } => Some(executor),
            PublishingBackend::Embedded { .. } => None,
        }
    }
}

/// A subscriber as a service: ready once its queue is bound and consuming.
#[derive(Debug)]
struct SubscriberService {
    name: String,
    config: SubscriberConfig,
    inbox: Arc<Mutex<Inbox>>,
}

#[async_trait]
impl Service for SubscriberService {
    fn name(&self) -> &str {
        &self.name
    }

    async fn start(&mut self) -> Result<(), OrchestrationError> {
        let mut inbox = self.inbox.lock().await;
        if inbox.subscriber.is_some() {
            return Ok(());
        }
        let subscriber = Subscriber::connect(self.config.clone())
            .await
            .map_err(|error| OrchestrationError::Failed {
                name: self.name.clone(),
                reason: error.to_string(),
            })?;
        inbox.subscriber = Some(subscriber);
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), OrchestrationError> {
        let mut inbox = self.inbox.lock().await;
        let Some(subscriber) = inbox.subscriber.take() else {
            return Ok(());
        };
        if subscriber.close(CLOSE_LIMIT).await {
            Ok(())
        } else {
            Err(OrchestrationError::Failed {
                name: self.name.clone(),
                reason: format!("it did not close within {CLOSE_LIMIT:?}"),
            })
        }
    }

    fn kill(&mut self) {
        if let Ok(mut inbox) = self.inbox.try_lock() {
            inbox.subscriber.take();
        }
    }

    fn is_running(&self) -> bool {
        self.inbox
            .try_lock()
            .map_or(true, |inbox| inbox.subscriber.is_some())
    }
}
