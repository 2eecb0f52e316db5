//! A subscriber: a queue of its own on the backend's exchange, bound to the
//! events it wants, read as they arrive — what `discos-sim events` prints
//! and what the acceptance world listens with.
//!
//! The queue is exclusive and goes away with the connection, so a
//! subscriber leaves nothing behind on the broker. When the broker goes
//! away the subscriber says so, subscribes again once it is back, and says
//! that too; events published while it had no queue are not delivered to it
//! (the sequence numbers show the gap).

use std::time::{Duration, SystemTime};

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Consumer, ExchangeKind};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::backoff::{MAX_RETRY, retry_pace};
use super::connection::{BrokerError, Link};
use super::event::Event;
use super::publisher::DEFAULT_EXCHANGE;
use super::url::BrokerUrl;

/// The binding that takes every event a backend publishes.
pub const ALL_EVENTS: &str = "backend.#";
/// Deliveries the broker sends ahead of the acknowledgements: the bound on
/// what a slow reader makes the subscriber hold.
const PREFETCH: u16 = 1000;
/// The consumer's tag on its channel.
const CONSUMER_TAG: &str = "discos-events";

/// What to subscribe to, and where.
#[derive(Debug, Clone)]
pub struct SubscriberConfig {
    /// The broker.
    pub url: BrokerUrl,
    /// The backend's exchange; declared (durable, topic) if it does not exist
    /// yet, so a subscriber may start before the backend.
    pub exchange: String,
    /// Routing-key patterns: `backend.#` for everything,
    /// `backend.acquisition.*` for the acquisition only.
    pub bindings: Vec<String>,
    /// The connection's name on the broker.
    pub connection_name: String,
    /// The longest pause between two attempts to subscribe again.
    pub max_retry: Duration,
}

impl SubscriberConfig {
    /// Every event on the default exchange.
    pub fn new(url: BrokerUrl) -> SubscriberConfig {
        SubscriberConfig {
            url,
            exchange: DEFAULT_EXCHANGE.to_owned(),
            bindings: vec![ALL_EVENTS.to_owned()],
            connection_name: "discos-sim events".to_owned(),
            max_retry: MAX_RETRY,
        }
    }
}

/// An event as a subscriber received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The event.
    pub event: Event,
    /// The routing key it came with.
    pub routing_key: String,
    /// When it arrived, by this machine's clock.
    pub at: SystemTime,
}

/// What a subscriber reports, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// An event.
    Event(Received),
    /// A message that is not an event (another program's, on the same
    /// exchange); reported rather than lost.
    NotAnEvent {
        /// Its routing key.
        routing_key: String,
        /// Why it could not be read.
        reason: String,
    },
    /// Subscribed: the first time, or again after the broker came back.
    Subscribed {
        /// False the first time.
        again: bool,
    },
    /// The broker went away; the subscriber tries again with a back-off.
    Lost {
        /// What happened.
        reason: String,
    },
}

/// A running subscriber; see the module documentation.
#[derive(Debug)]
pub struct Subscriber {
    updates: mpsc::Receiver<Update>,
    token: CancellationToken,
    /// Aborted if the owner is dropped without a shutdown.
    task: AbortOnDropHandle<()>,
}

impl Subscriber {
    /// Subscribes and returns once the queue is bound and consuming; fails
    /// if the first attempt does (a wrong password, no broker), so a typo
    /// at the command line is an error, not a silent retry. Later losses
    /// are retried.
    pub async fn connect(config: SubscriberConfig) -> Result<Subscriber, BrokerError> {
        let link = subscribe(&config).await?;
        let (sender, updates) = mpsc::channel(usize::from(PREFETCH));
        let token = CancellationToken::new();
        let (first, subscribed) = oneshot::channel();
        let worker = Worker {
            config,
            updates: sender,
            token: token.clone(),
        };
        let task = AbortOnDropHandle::new(tokio::spawn(worker.run(link, first)));
        // The first update is the subscription itself.
        let _ = subscribed.await;
        Ok(Subscriber {
            updates,
            token,
            task,
        })
    }

    /// The next update; `None` once the subscriber is closed.
    pub async fn next(&mut self) -> Option<Update> {
        self.updates.recv().await
    }

    /// Cancels the consumer and closes the connection, waiting at most
    /// `limit`; the broker then drops the queue. True if it closed in time.
    pub async fn close(self, limit: Duration) -> bool {
        self.token.cancel();
        let mut updates = self.updates;
        let task = self.task;
        // Keep taking updates, so the worker is never stuck sending one.
        let drained = async {
            let drain = async { while updates.recv().await.is_some() {} };
            let (_, joined) = tokio::join!(drain, task);
            joined
        };
        // On time out the task is dropped, which aborts it.
        tokio::time::timeout(limit, drained).await.is_ok()
    }
}

/// A bound, consuming subscription on one connection.
struct Subscription {
    link: Link,
    consumer: Consumer,
}

/// Connects, declares the exchange and an exclusive queue, binds it and
/// starts consuming.
async fn subscribe(config: &SubscriberConfig) -> Result<Subscription, BrokerError> {
    let url = &config.url;
    let link = Link::open(url, &config.connection_name).await?;
    let prepared = async {
        let channel = &link.channel;
        channel
            .exchange_declare(
                config.exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        for binding in &config.bindings {
            channel
                .queue_bind(
                    queue.name().clone(),
                    config.exchange.as_str().into(),
                    binding.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        channel
            .basic_qos(PREFETCH, BasicQosOptions::default())
            .await?;
        channel
            .basic_consume(
                queue.name().clone(),
                CONSUMER_TAG.into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
    };
    match prepared.await {
        Ok(consumer) => Ok(Subscription { link, consumer }),
        Err(error) => {
            let error = BrokerError::from_lapin(url, &error);
            link.close().await;
            Err(error)
        }
    }
}

struct Worker {
    config: SubscriberConfig,
    updates: mpsc::Sender<Update>,
    token: CancellationToken,
}

impl Worker {
    async fn run(self, first: Subscription, subscribed: oneshot::Sender<()>) {
        let mut subscription = Some(first);
        let mut again = false;
        let mut backoff = retry_pace(self.config.max_retry);
        let mut subscribed = Some(subscribed);
        loop {
            let current = match subscription.take() {
                Some(current) => current,
                None => {
                    let attempt = tokio::select! {
                        biased;
                        () = self.token.cancelled() => return,
                        attempt = subscribe(&self.config) => attempt,
                    };
                    match attempt {
                        Ok(current) => current,
                        Err(error) => {
                            let pause = backoff.next_pause(Duration::ZERO);
                            tracing::debug!(
                                "cannot subscribe again: {error}; next try in {pause:?}"
                            );
                            tokio::select! {
                                () = self.token.cancelled() => return,
                                () = tokio::time::sleep(pause) => continue,
                            }
                        }
                    }
                }
            };
            backoff.reset();
            if self
                .updates
                .send(Update::Subscribed { again })
                .await
                .is_err()
            {
                current.link.close().await;
                return;
            }
            if let Some(subscribed) = subscribed.take() {
                let _ = subscribed.send(());
            }
            again = true;
            match self.consume(current).await {
                None => return,
                Some(reason) => {
                    if self.updates.send(Update::Lost { reason }).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Forwards deliveries until shutdown (`None`) or until the connection
    /// breaks (`Some(why)`).
    async fn consume(&self, subscription: Subscription) -> Option<String> {
        let Subscription { link, mut consumer } = subscription;
        let mut connection_events = link.connection.events_listener();
        let lost = loop {
            tokio::select! {
                biased;
                () = self.token.cancelled() => break None,
                Some(event) = connection_events.next() => {
                    if let lapin::Event::Error(error) = event {
                        break Some(error.to_string());
                    }
                }
                delivery = consumer.next() => match delivery {
                    None => break Some("the broker cancelled the subscription".to_owned()),
                    Some(Err(error)) => break Some(error.to_string()),
                    Some(Ok(delivery)) => {
                        let routing_key = delivery.routing_key.to_string();
                        let update = match serde_json::from_slice::<Event>(&delivery.data) {
                            Ok(event) => Update::Event(Received {
                                event,
                                routing_key,
                                at: SystemTime::now(),
                            }),
                            Err(error) => Update::NotAnEvent {
                                routing_key,
                                reason: error.to_string(),
                            },
                        };
                        let sent = tokio::select! {
                            () = self.token.cancelled() => false,
                            sent = self.updates.send(update) => sent.is_ok(),
                        };
                        if !sent {
                            break None;
                        }
                        if let Err(error) = delivery.ack(BasicAckOptions::default()).await {
                            break Some(error.to_string());
                        }
                    }
                },
            }
        };
        if lost.is_none() && link.channel.status().connected() {
            let _ = link
                .channel
                .basic_cancel(CONSUMER_TAG.into(), BasicCancelOptions::default())
                .await;
        }
        link.close().await;
        lost
    }
}
