//! Backend events on a message broker.
//!
//! Monitoring screens and data pipelines want to know what a backend is
//! doing without polling it over the protocol. With `discos-sim serve
//! --publish amqp://…`, every change of the simulator's state — an
//! acquisition started or stopped (also when a timed one fires), a
//! configuration, a section, the integration time, a file name, the feeds,
//! calibration, a park, the end of a schedule, a shift — is published at once
//! as a JSON [`Event`] on a topic exchange, with the routing key
//! `backend.<event>`, the backend's time and the request that caused it.
//!
//! The protocol comes first. The backend drops each event into a bounded
//! queue ([`EventSink`]) and goes on answering; the [`Publisher`] takes them
//! from there, waits for the broker's confirm of each, and reconnects with a
//! back-off when the broker is down or goes away, saying so in its log. Only
//! when the queue is full are events dropped — counted and logged, and seen
//! by subscribers as a gap in the sequence numbers.
//!
//! The [`Subscriber`] is the other end: `discos-sim events amqp://…` prints
//! what it receives, and the acceptance world checks with it that events
//! arrive, in order, within a second.

mod backoff;
mod cause;
mod connection;
mod event;
mod publisher;
mod rabbitmq;
mod sink;
mod subscriber;
mod url;

pub use backoff::{FIRST_RETRY, MAX_RETRY};
pub use cause::{caused_by, current_request};
pub use connection::{BrokerError, CONNECT_LIMIT, Link};
pub use event::{Event, EventKind, ROUTING_PREFIX};
pub use publisher::{
    DEFAULT_CAPACITY, DEFAULT_EXCHANGE, Publisher, PublisherConfig, PublisherStats,
};
pub use rabbitmq::{BROKER_START_LIMIT, Broker, BrokerConnection, RABBITMQ_INSTALL_HINT, RabbitMq};
pub use sink::{EventQueue, EventSink, queue};
pub use subscriber::{ALL_EVENTS, Received, Subscriber, SubscriberConfig, Update};
pub use url::{BrokerUrl, DEFAULT_PORT};
