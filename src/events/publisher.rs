//! The publisher: takes a backend's events from its queue and puts them on
//! the broker's topic exchange, each confirmed by the broker; when the broker
//! is down at the start or goes away later, it says so and tries again with
//! a back-off, while the backend goes on answering and its events wait.
//!
//! Delivery is at least once: an event the broker had not confirmed when the
//! connection broke is published again on the next one, with the same
//! sequence number, so a subscriber can tell a repeat from a new event.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, ExchangeKind, PublisherConfirm};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::backoff::{MAX_RETRY, retry_pace};
use super::connection::{BrokerError, Link};
use super::event::Event;
use super::sink::{EventQueue, EventSink};
use super::url::BrokerUrl;

/// The exchange events go to unless told otherwise.
pub const DEFAULT_EXCHANGE: &str = "discos";
/// Events a backend's queue holds, by default, before new ones are dropped:
/// hours of a busy schedule's changes, or seconds of a flood, in a few tens
/// of megabytes at most.
pub const DEFAULT_CAPACITY: usize = 65_536;
/// Events published and not yet confirmed, at most: enough to keep the
/// connection busy, few enough to send again after a reconnect.
const MAX_IN_FLIGHT: usize = 1024;
/// The `app_id` property of every message, so a broker's tools can tell
/// which program published it.
const APP_ID: &str = "discos-sim";

/// How a publisher reaches its broker and names its events.
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// The broker.
    pub url: BrokerUrl,
    /// The topic exchange, declared durable if it does not exist.
    pub exchange: String,
    /// Which backend, in every event's `source`.
    pub source: String,
    /// The connection's name on the broker.
    pub connection_name: String,
    /// The longest pause between two connection attempts.
    pub max_retry: Duration,
}

impl PublisherConfig {
    /// The defaults: exchange `discos`, the connection named after `source`.
    pub fn new(url: BrokerUrl, source: impl Into<String>) -> PublisherConfig {
        let source = source.into();
        PublisherConfig {
            url,
            exchange: DEFAULT_EXCHANGE.to_owned(),
            connection_name: format!("discos-sim events of {source}"),
            source,
            max_retry: MAX_RETRY,
        }
    }
}

/// What a publisher has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublisherStats {
    /// Events the backend emitted, dropped ones included.
    pub emitted: u64,
    /// Events the broker confirmed.
    pub published: u64,
    /// Events dropped because the queue was full.
    pub dropped: u64,
    /// Events the broker refused (a negative confirm).
    pub rejected: u64,
    /// Events published a second time after a connection broke.
    pub sent_again: u64,
    /// Events neither confirmed, dropped nor refused: still queued, or given
    /// up at shutdown.
    pub unsent: u64,
    /// Times a connection to the broker was made.
    pub connections: u64,
    /// Whether it is connected now.
    pub connected: bool,
}

#[derive(Debug, Default)]
struct Counters {
    published: AtomicU64,
    rejected: AtomicU64,
    sent_again: AtomicU64,
    connections: AtomicU64,
    connected: AtomicBool,
}

/// A running publisher; see the module documentation.
#[derive(Debug)]
pub struct Publisher {
    sink: EventSink,
    counters: Arc<Counters>,
    connected: watch::Receiver<bool>,
    token: CancellationToken,
    /// Aborted if the owner is dropped without a shutdown.
    task: AbortOnDropHandle<()>,
}

impl Publisher {
    /// Starts publishing what arrives in `queue` in the background and
    /// returns at once: a broker that is down now is tried again until it
    /// answers (or until shutdown), and never fails the backend. Must be
    /// called within a tokio runtime.
    pub fn start(config: PublisherConfig, queue: EventQueue) -> Publisher {
        let EventQueue { receiver, sink } = queue;
        sink.name_source(&config.source);
        let counters = Arc::new(Counters::default());
        let (state, connected) = watch::channel(false);
        let token = CancellationToken::new();
        let worker = Worker {
            config,
            receiver,
            counters: counters.clone(),
            state,
            token: token.clone(),
            again: VecDeque::new(),
        };
        let task = AbortOnDropHandle::new(tokio::spawn(worker.run()));
        Publisher {
            sink,
            counters,
            connected,
            token,
            task,
        }
    }

    /// The handle the backend emits into.
    pub fn sink(&self) -> EventSink {
        self.sink.clone()
    }

    /// What it has done so far.
    pub fn stats(&self) -> PublisherStats {
        Publisher::stats_of(&self.sink, &self.counters)
    }

    /// Resolves once it is connected and ready to publish (at once if it
    /// is): what a caller waits on before relying on the broker.
    pub async fn connected(&self) {
        let mut connected = self.connected.clone();
        // An error means the worker ended; then it never connects again.
        let _ = connected.wait_for(|connected| *connected).await;
    }

    /// Stops taking events, publishes those queued (if connected), waits for
    /// their confirms and closes the connection, all within `limit`; what
    /// could not be sent by then is counted in [`PublisherStats::unsent`].
    pub async fn shutdown(self, limit: Duration) -> PublisherStats {
        self.token.cancel();
        // On time out the task is dropped, which aborts it.
        if tokio::time::timeout(limit, self.task).await.is_err() {
            tracing::warn!("the event publisher did not finish within {limit:?}");
        }
        self.counters.connected.store(false, Ordering::SeqCst);
        let stats = PublisherStats {
            connected: false,
            ..Publisher::stats_of(&self.sink, &self.counters)
        };
        if stats.unsent > 0 || stats.dropped > 0 {
            tracing::warn!(
                published = stats.published,
                dropped = stats.dropped,
                unsent = stats.unsent,
                "event publisher stopped: {} event(s) published, {} dropped, {} never sent",
                stats.published,
                stats.dropped,
                stats.unsent
            );
        } else {
            tracing::info!(
                published = stats.published,
                "event publisher stopped: {} event(s) published",
                stats.published
            );
        }
        stats
    }

    fn stats_of(sink: &EventSink, counters: &Counters) -> PublisherStats {
        let published = counters.published.load(Ordering::SeqCst);
        let rejected = counters.rejected.load(Ordering::SeqCst);
        let emitted = sink.emitted();
        let dropped = sink.dropped();
        PublisherStats {
            emitted,
            published,
            dropped,
            rejected,
            sent_again: counters.sent_again.load(Ordering::SeqCst),
            unsent: emitted.saturating_sub(published + dropped + rejected),
            connections: counters.connections.load(Ordering::SeqCst),
            connected: counters.connected.load(Ordering::SeqCst),
        }
    }
}

/// The background task.
struct Worker {
    config: PublisherConfig,
    receiver: mpsc::Receiver<Event>,
    counters: Arc<Counters>,
    state: watch::Sender<bool>,
    token: CancellationToken,
    /// Events to publish again, in order, before any new one: those not
    /// confirmed when the last connection broke.
    again: VecDeque<Event>,
}

/// Why publishing on one connection ended.
enum Ended {
    /// Shutdown: everything was published and confirmed.
    Finished,
    /// The connection broke.
    Lost(String),
}

impl Worker {
    async fn run(mut self) {
        let url = self.config.url.clone();
        let mut backoff = retry_pace(self.config.max_retry);
        let mut failures: u64 = 0;
        loop {
            let opened = tokio::select! {
                biased;
                () = self.token.cancelled() => break,
                opened = self.open() => opened,
            };
            let link = match opened {
                Ok(link) => link,
                Err(error) => {
                    failures += 1;
                    let pause = backoff.next_pause(Duration::ZERO);
                    // The first failure and then ever more rarely: the log
                    // says the broker is missing without a line per attempt.
                    if failures.is_power_of_two() {
                        let waiting = self.receiver.len() + self.again.len();
                        tracing::warn!(
                            attempts = failures,
                            "cannot publish events: {error}; trying again in {pause:?} \
                             ({failures} attempt(s) so far, {waiting} event(s) waiting; \
                             the backend goes on answering)"
                        );
                    }
                    tokio::select! {
                        () = self.token.cancelled() => break,
                        () = tokio::time::sleep(pause) => continue,
                    }
                }
            };
            let connections = self.counters.connections.fetch_add(1, Ordering::SeqCst) + 1;
            self.set_connected(true);
            let exchange = &self.config.exchange;
            if connections == 1 {
                tracing::info!(%url, exchange, "publishing events to {url}, exchange {exchange}");
            } else {
                tracing::info!(
                    %url,
                    exchange,
                    "reconnected to the broker at {url} after {failures} failed attempt(s); \
                     publishing again ({} event(s) to send again)",
                    self.again.len()
                );
            }
            failures = 0;
            backoff.reset();
            let ended = self.publish_on(&link).await;
            self.set_connected(false);
            link.close().await;
            match ended {
                Ended::Finished => break,
                Ended::Lost(reason) => {
                    let waiting = self.receiver.len() + self.again.len();
                    tracing::warn!(
                        %url,
                        "lost the broker at {url}: {reason}; reconnecting \
                         ({waiting} event(s) waiting; the backend goes on answering)"
                    );
                }
            }
        }
    }

    fn set_connected(&self, connected: bool) {
        self.counters.connected.store(connected, Ordering::SeqCst);
        self.state.send_replace(connected);
    }

    /// Connects, declares the exchange and turns publisher confirms on.
    async fn open(&self) -> Result<Link, BrokerError> {
        let url = &self.config.url;
        let link = Link::open(url, &self.config.connection_name).await?;
        let prepared = async {
            link.channel
                .exchange_declare(
                    self.config.exchange.as_str().into(),
                    ExchangeKind::Topic,
                    ExchangeDeclareOptions {
                        durable: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            link.channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
        };
        match prepared.await {
            Ok(()) => Ok(link),
            Err(error) => {
                let error = BrokerError::from_lapin(url, &error);
                link.close().await;
                Err(error)
            }
        }
    }

    /// Publishes until shutdown or until the connection breaks; on a break,
    /// every unconfirmed event goes back to `again`, in order.
    async fn publish_on(&mut self, link: &Link) -> Ended {
        let mut connection_events = link.connection.events_listener();
        let mut in_flight: VecDeque<Event> = VecDeque::new();
        let mut confirms: FuturesOrdered<PublisherConfirm> = FuturesOrdered::new();
        let mut closed = false;
        loop {
            // What the last connection left unconfirmed goes first.
            if let Err(reason) = self.send_again(link, &mut in_flight, &mut confirms).await {
                return lost(&mut self.again, in_flight, reason);
            }
            if closed && in_flight.is_empty() && self.again.is_empty() {
                return Ended::Finished;
            }
            tokio::select! {
                biased;
                Some(confirmation) = confirms.next(), if !confirms.is_empty() => {
                    let Some(event) = in_flight.pop_front() else {
                        continue;
                    };
                    match confirmation {
                        Ok(confirmation) => self.count(&event, confirmation.is_ack()),
                        Err(error) => {
                            in_flight.push_front(event);
                            return lost(&mut self.again, in_flight, error.to_string());
                        }
                    }
                }
                Some(event) = connection_events.next() => match event {
                    lapin::Event::Error(error) => {
                        return lost(&mut self.again, in_flight, error.to_string());
                    }
                    lapin::Event::ConnectionBlocked(reason) => tracing::warn!(
                        "the broker blocks publishing: {reason}; events wait in the queue"
                    ),
                    lapin::Event::ConnectionUnblocked => {
                        tracing::info!("the broker takes events again");
                    }
                    _ => {}
                },
                () = self.token.cancelled(), if !closed && !self.receiver.is_closed() => {
                    // No new events from now on; those queued still go.
                    self.receiver.close();
                }
                received = self.receiver.recv(), if !closed && in_flight.len() < MAX_IN_FLIGHT => {
                    match received {
                        Some(event) => match self.send(link, &event).await {
                            Ok(confirm) => {
                                in_flight.push_back(event);
                                confirms.push_back(confirm);
                            }
                            Err(reason) => {
                                in_flight.push_back(event);
                                return lost(&mut self.again, in_flight, reason);
                            }
                        },
                        None => closed = true,
                    }
                }
            }
        }
    }

    /// Sends what the last connection left unconfirmed, as far as the
    /// window allows; on a failure the event goes back to the front of
    /// `again`.
    async fn send_again(
        &mut self,
        link: &Link,
        in_flight: &mut VecDeque<Event>,
        confirms: &mut FuturesOrdered<PublisherConfirm>,
    ) -> Result<(), String> {
        while in_flight.len() < MAX_IN_FLIGHT {
            let Some(event) = self.again.pop_front() else {
                break;
            };
            match self.send(link, &event).await {
                Ok(confirm) => {
                    self.counters.sent_again.fetch_add(1, Ordering::SeqCst);
                    in_flight.push_back(event);
                    confirms.push_back(confirm);
                }
                Err(reason) => {
                    self.again.push_front(event);
                    return Err(reason);
                }
            }
        }
        Ok(())
    }

    /// Counts the broker's answer to `event`: taken, or refused (which is
    /// also logged, since the event is gone).
    fn count(&self, event: &Event, taken: bool) {
        if taken {
            self.counters.published.fetch_add(1, Ordering::SeqCst);
        } else {
            self.counters.rejected.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(
                sequence = event.sequence,
                "the broker refused event #{} ({})",
                event.sequence,
                event.event
            );
        }
    }

    /// Publishes one event; the returned confirm resolves when the broker
    /// has taken it.
    async fn send(&self, link: &Link, event: &Event) -> Result<PublisherConfirm, String> {
        let payload = serde_json::to_vec(event).map_err(|error| error.to_string())?;
        let timestamp = event
            .time
            .split('.')
            .next()
            .and_then(|seconds| seconds.parse().ok())
            .unwrap_or_default();
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_timestamp(timestamp)
            .with_message_id(event.sequence.to_string().into())
            .with_type(event.event.as_str().into())
            .with_app_id(APP_ID.into());
        link.channel
            .basic_publish(
                self.config.exchange.as_str().into(),
                event.routing_key().as_str().into(),
                BasicPublishOptions::default(),
                &payload,
                properties,
            )
            .await
            .map_err(|error| error.to_string())
    }
}

/// How a connection's publishing ends when it breaks: what was in flight
/// goes back to the front of `again`, in order, to be sent on the next.
fn lost(again: &mut VecDeque<Event>, in_flight: VecDeque<Event>, reason: String) -> Ended {
    for event in in_flight.into_iter().rev() {
        again.push_front(event);
    }
    Ended::Lost(reason)
}
