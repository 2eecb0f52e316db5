//! Where a backend drops its events: a bounded queue in front of the
//! publisher, filled without waiting.
//!
//! A backend emits with its state lock held, so the events leave in the
//! order the changes happened; that is also why emitting can never wait.
//! When the queue is full (the broker is slow, or away for longer than the
//! queue lasts) the event is dropped, counted and logged, and its sequence
//! number is spent anyway, so subscribers see the gap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::cause::current_request;
use super::event::{Event, EventKind};
use crate::protocol::Timestamp;

/// A backend's handle on its event queue; cheap to clone.
#[derive(Debug, Clone)]
pub struct EventSink {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sender: mpsc::Sender<Event>,
    /// Named when publishing begins: a backend's address is known only once
    /// it listens, after it was built with its sink.
    source: OnceLock<String>,
    sequence: AtomicU64,
    dropped: AtomicU64,
}

/// The receiving end of a backend's event queue, for a
/// [`Publisher`](super::Publisher) to drain.
#[derive(Debug)]
pub struct EventQueue {
    pub(crate) receiver: mpsc::Receiver<Event>,
    pub(crate) sink: EventSink,
}

/// A queue of `capacity` events: the sink a backend is built with, and the
/// end a publisher takes once the backend's address is known.
pub fn queue(capacity: usize) -> (EventSink, EventQueue) {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    let sink = EventSink::new(sender);
    let queue = EventQueue {
        receiver,
        sink: sink.clone(),
    };
    (sink, queue)
}

impl EventSink {
    fn new(sender: mpsc::Sender<Event>) -> EventSink {
        EventSink {
            inner: Arc::new(Inner {
                sender,
                source: OnceLock::new(),
                sequence: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Names the backend in its events' `source`; the first name stays.
    pub(crate) fn name_source(&self, source: &str) {
        let _ = self.inner.source.set(source.to_owned());
    }

    /// The backend's name in its events.
    pub fn source(&self) -> &str {
        self.inner.source.get().map_or("discos-sim", String::as_str)
    }

    /// Queues an event of `kind`, stamped now, caused by `request` (or, when
    /// `None`, by the request being answered on this task). Never waits.
    pub fn emit(&self, kind: EventKind, details: Map<String, Value>, request: Option<String>) {
        let sequence = self.inner.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let event = Event {
            event: kind.name().to_owned(),
            sequence,
            time: Timestamp::now().to_string(),
            request: request.or_else(current_request),
            source: self.source().to_owned(),
            details,
        };
        if let Err(error) = self.inner.sender.try_send(event) {
            let dropped = self.inner.dropped.fetch_add(1, Ordering::SeqCst) + 1;
            let why = match error {
                mpsc::error::TrySendError::Full(_) => "the event queue is full",
                mpsc::error::TrySendError::Closed(_) => "the publisher has stopped",
            };
            // The first drop, then every thousandth: enough to see it
            // happening without a log line per event in a flood.
            if dropped == 1 || dropped.is_multiple_of(1000) {
                tracing::warn!(
                    sequence,
                    dropped,
                    capacity = self.inner.sender.max_capacity(),
                    "event {} dropped: {why} ({dropped} dropped so far)",
                    kind.name()
                );
            }
        }
    }

    /// Events dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::SeqCst)
    }

    /// Events emitted so far, dropped ones included.
    pub fn emitted(&self) -> u64 {
        self.inner.sequence.load(Ordering::SeqCst)
    }

    /// Events waiting in the queue.
    pub fn queued(&self) -> usize {
        self.inner.sender.max_capacity() - self.inner.sender.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_and_the_numbers_show_the_gap() {
        let (sink, queue) = queue(2);
        let mut receiver = queue.receiver;
        sink.name_source("test");
        for _ in 0..5 {
            sink.emit(EventKind::ShiftSet, Map::new(), None);
        }
        assert_eq!((sink.emitted(), sink.dropped(), sink.queued()), (5, 3, 2));
        let first = receiver.recv().await.unwrap();
        let second = receiver.recv().await.unwrap();
        assert_eq!((first.sequence, second.sequence), (1, 2));
        sink.emit(EventKind::ShiftSet, Map::new(), Some("?set-shift,1".into()));
        let next = receiver.recv().await.unwrap();
        assert_eq!(next.sequence, 6, "dropped numbers stay spent");
        assert_eq!(next.request.as_deref(), Some("?set-shift,1"));
        assert_eq!(next.source, "test");
        assert!(next.time.parse::<Timestamp>().is_ok(), "{}", next.time);
    }
}
