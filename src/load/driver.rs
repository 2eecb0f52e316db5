//! The active run: every connection keeps DEPTH requests in flight and
//! checks each reply against the request it answers.
//!
//! One task per connection, and no lock between them: each keeps its own
//! counts and histogram, merged once at the end, so the tool measures the
//! backend rather than itself. A connection writes once per batch of
//! replies it reads (see [`Client::reply_buffered`]), as a real pipelining
//! client would.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::cpu::Usage;
use super::progress::Counters;
use super::report::Tally;
use super::{Config, Stop, connect_all};
use crate::client::Client;
use crate::protocol::{Code, Message};

/// The longest latency the histogram tells apart, in nanoseconds; longer
/// ones are counted at this value. No reply waits this long anyway: the
/// reply timeout ends a connection long before.
const LATENCY_CEILING_NS: u64 = 3_600 * 1_000_000_000;

/// A histogram for latencies in nanoseconds, three significant digits.
pub(super) fn latency_histogram() -> Histogram<u64> {
    // Valid bounds, checked by the tests: this cannot fail.
    Histogram::new_with_bounds(1, LATENCY_CEILING_NS, 3).expect("valid histogram bounds")
}

/// When a connection stops sending.
#[derive(Debug, Clone, Copy)]
enum Quota {
    /// After this many more requests.
    Count(u64),
    /// At this instant.
    Until(Instant),
}

impl Quota {
    /// Takes one request from the quota, if any is left at `now`.
    fn take(&mut self, now: Instant) -> bool {
        match self {
            Quota::Count(0) => false,
            Quota::Count(left) => {
                *left -= 1;
                true
            }
            Quota::Until(deadline) => now < *deadline,
        }
    }
}

/// What one connection did.
#[derive(Debug)]
pub(super) struct Outcome {
    pub(super) sent: u64,
    pub(super) replies: u64,
    /// Replies that were not `ok` or did not carry the request's name.
    pub(super) bad_replies: u64,
    pub(super) unanswered: u64,
    pub(super) latency: Histogram<u64>,
    pub(super) errors: Tally,
    /// Why the connection failed before it was done, if it did.
    pub(super) failure: Option<String>,
}

/// The whole active run, connections merged.
#[derive(Debug)]
pub(super) struct ActiveRun {
    pub(super) outcomes: Vec<Outcome>,
    pub(super) connect_failures: Tally,
    pub(super) elapsed: Duration,
    /// What the load tool used during the run, when the system says.
    pub(super) tool: Option<Usage>,
    /// What the server used during the run, given its pid.
    pub(super) server: Option<Usage>,
}

/// Opens the connections, then loads them all at once until `stop`.
pub(super) async fn run(
    config: &Config,
    address: &str,
    stop: Stop,
    counters: &Arc<Counters>,
) -> ActiveRun {
    let (clients, connect_failures) =
        connect_all(config, address, config.connections, counters).await;
    let request = Arc::new(config.request.clone());
    let usage = || {
        let tool = Usage::of(std::process::id());
        let server = config.server_pid.and_then(Usage::of);
        (tool, server)
    };
    let (tool_before, server_before) = usage();
    let started = Instant::now();
    counters.started(started);
    let connections = clients.len() as u64;
    let mut tasks = tokio::task::JoinSet::new();
    for (index, client) in clients.into_iter().enumerate() {
        let quota = match stop {
            // Spread exactly: the first `requests % connections` take one more.
            Stop::Requests(requests) => {
                let share = requests / connections.max(1);
                let extra = u64::from((index as u64) < requests % connections.max(1));
                Quota::Count(share + extra)
            }
            Stop::Duration(duration) => Quota::Until(started + duration),
        };
        let connection = Connection {
            client,
            request: request.clone(),
            depth: config.pipeline,
            reply_timeout: config.reply_timeout,
            counters: counters.clone(),
        };
        tasks.spawn(connection.drive(quota));
    }
    let mut outcomes = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(outcome) => outcomes.push(outcome),
            // A panic in the tool is a bug, but it must still show up.
            Err(error) => outcomes.push(Outcome {
                failure: Some(format!("the load task failed: {error}")),
                ..Outcome::empty()
            }),
        }
    }
    let elapsed = started.elapsed();
    let (tool_after, server_after) = usage();
    let since = |after: Option<Usage>, before: Option<Usage>| Some(after?.since(before?));
    ActiveRun {
        outcomes,
        connect_failures,
        elapsed,
        tool: since(tool_after, tool_before),
        server: since(server_after, server_before),
    }
}

struct Connection {
    client: Client,
    request: Arc<Message>,
    depth: usize,
    reply_timeout: Duration,
    counters: Arc<Counters>,
}

impl Outcome {
    fn empty() -> Outcome {
        Outcome {
            sent: 0,
            replies: 0,
            bad_replies: 0,
            unanswered: 0,
            latency: latency_histogram(),
            errors: Tally::default(),
            failure: None,
        }
    }
}

impl Connection {
    async fn drive(mut self, mut quota: Quota) -> Outcome {
        let mut outcome = Outcome::empty();
        // Grown as needed: a huge --pipeline must not reserve memory up front.
        let mut in_flight: VecDeque<Instant> = VecDeque::with_capacity(self.depth.min(1024));
        let mut published = (0, 0);
        let mut now = Instant::now();
        while in_flight.len() < self.depth && quota.take(now) {
            if let Err(failure) = self.feed(now).await {
                outcome.failure = Some(failure);
                break;
            }
            in_flight.push_back(now);
            outcome.sent += 1;
        }
        while outcome.failure.is_none() {
            let Some(&sent_at) = in_flight.front() else {
                break;
            };
            if !self.client.reply_buffered() {
                // About to wait on the socket: send what was queued, and let
                // the progress line see this batch.
                self.publish(&outcome, &mut published);
                if let Err(failure) = self.flush().await {
                    outcome.failure = Some(failure);
                    break;
                }
            }
            let reply = match self.client.receive().await {
                Ok(reply) => reply,
                Err(error) => {
                    outcome.failure = Some(error.to_string());
                    break;
                }
            };
            now = Instant::now();
            in_flight.pop_front();
            outcome.replies += 1;
            let nanoseconds = now.saturating_duration_since(sent_at).as_nanos();
            outcome
                .latency
                .saturating_record(u64::try_from(nanoseconds).unwrap_or(u64::MAX));
            if reply.code() != Some(Code::Ok) || reply.name != self.request.name {
                outcome.bad_replies += 1;
                let text = if reply.name == self.request.name {
                    format!("{reply}")
                } else {
                    format!("{reply} (in reply to {})", self.request)
                };
                outcome.errors.add(1, &text);
            }
            if quota.take(now) {
                if let Err(failure) = self.feed(now).await {
                    outcome.failure = Some(failure);
                    break;
                }
                in_flight.push_back(now);
                outcome.sent += 1;
            }
        }
        outcome.unanswered = in_flight.len() as u64;
        if let Some(failure) = &outcome.failure {
            outcome.errors.add(
                outcome.unanswered,
                &format!("no reply: the connection failed: {failure}"),
            );
        }
        self.publish(&outcome, &mut published);
        outcome
    }

    async fn feed(&mut self, now: Instant) -> Result<(), String> {
        // Feeding writes only when the buffer is full; a server that stops
        // reading must still not hold the tool forever. The deadline counts
        // from the `now` in hand: one clock read less per request.
        let deadline = tokio::time::Instant::from_std(now + self.reply_timeout);
        match tokio::time::timeout_at(deadline, self.client.feed(&self.request)).await {
            Ok(result) => result.map_err(|error| error.to_string()),
            Err(_) => Err(self.stalled()),
        }
    }

    async fn flush(&mut self) -> Result<(), String> {
        match tokio::time::timeout(self.reply_timeout, self.client.flush()).await {
            Ok(result) => result.map_err(|error| error.to_string()),
            Err(_) => Err(self.stalled()),
        }
    }

    fn stalled(&self) -> String {
        format!(
            "{} took no request for {:?}",
            self.client.peer(),
            self.reply_timeout
        )
    }

    /// Adds what happened since the last call to the shared counters.
    fn publish(&self, outcome: &Outcome, published: &mut (u64, u64)) {
        let (replies, errors) = (outcome.replies, outcome.bad_replies);
        self.counters
            .replies
            .fetch_add(replies - published.0, Ordering::Relaxed);
        self.counters
            .errors
            .fetch_add(errors - published.1, Ordering::Relaxed);
        *published = (replies, errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_quota_gives_exactly_its_count() {
        let mut quota = Quota::Count(3);
        let now = Instant::now();
        assert_eq!((0..10).filter(|_| quota.take(now)).count(), 3);
    }

    #[test]
    fn a_deadline_quota_ends_at_its_deadline() {
        let now = Instant::now();
        let mut quota = Quota::Until(now + Duration::from_millis(10));
        assert!(quota.take(now));
        assert!(!quota.take(now + Duration::from_millis(10)));
    }

    #[test]
    fn the_histogram_holds_the_longest_latency() {
        let mut histogram = latency_histogram();
        histogram.saturating_record(u64::MAX);
        histogram.saturating_record(1);
        assert_eq!(histogram.len(), 2);
    }
}
