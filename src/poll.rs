//! Looking again until something holds or a deadline passes, for what has
//! no event to wait on: `/proc`, a port that is not open yet, a page shown
//! by WebDriver, a broker's list of connections.
//!
//! Every such loop is written the same way — look, stop if it holds, stop if
//! the deadline has passed, pause, look again — with a [`Poller`] keeping
//! the deadline and a [`Pace`] choosing the pauses:
//!
//! ```
//! # use std::time::Duration;
//! # use discos_acceptance::poll::{Pace, Poller};
//! # fn ready() -> bool { true }
//! let mut poller = Poller::within(Duration::from_secs(5), Pace::every(Duration::from_millis(1)));
//! let held = loop {
//!     if ready() {
//!         break true;
//!     }
//!     if !poller.pause_blocking() {
//!         break false;
//!     }
//! };
//! assert!(held);
//! ```
//!
//! The loop stays the caller's, so a look may borrow what it likes, return
//! early with an error, or keep what it saw for the message a timeout gives.

use std::time::Duration;

use tokio::time::Instant;

/// The pauses between two looks: a steady pace for a first stretch, then
/// each pause twice the one before, up to a ceiling.
///
/// A fixed pace ([`Pace::every`]) suits a look that costs little or is
/// bounded by its deadline anyway; a doubling one ([`Pace::doubling`]) one
/// that may be wanted for long, such as reconnecting to a broker, so that a
/// long outage does not flood anybody with attempts.
#[derive(Debug, Clone)]
pub struct Pace {
    first: Duration,
    steady_for: Duration,
    max: Duration,
    last: Option<Duration>,
}

impl Pace {
    /// The same pause every time.
    pub const fn every(pause: Duration) -> Pace {
        Pace::steady_then_doubling(pause, Duration::ZERO, pause)
    }

    /// `first`, then twice the pause before, never more than `max`.
    pub const fn doubling(first: Duration, max: Duration) -> Pace {
        Pace::steady_then_doubling(first, Duration::ZERO, max)
    }

    /// `first` as long as less than `steady_for` has passed since the first
    /// look, then twice the pause before, never more than `max`: a service
    /// most likely to come up soon is seen soon, one that is slow costs few
    /// looks.
    pub const fn steady_then_doubling(
        first: Duration,
        steady_for: Duration,
        max: Duration,
    ) -> Pace {
        Pace {
            first,
            steady_for,
            max,
            last: None,
        }
    }

    /// The pause before the next look, `waited` after the first one (which
    /// matters only to a pace with a steady stretch).
    pub fn next_pause(&mut self, waited: Duration) -> Duration {
        let pause = match self.last {
            _ if waited < self.steady_for => self.first,
            None => self.first.min(self.max),
            Some(last) => last.saturating_mul(2).min(self.max),
        };
        self.last = Some(pause);
        pause
    }

    /// Back to the first pause, after a look that succeeded: the next
    /// failure is retried soon again.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// A deadline and a [`Pace`]: says, after each look that did not succeed,
/// whether to look again, and pauses before it.
#[derive(Debug, Clone)]
pub struct Poller {
    started: Instant,
    deadline: Option<Instant>,
    pace: Pace,
}

impl Poller {
    /// Looks again until `limit` has passed since now.
    pub fn within(limit: Duration, pace: Pace) -> Poller {
        let started = Instant::now();
        Poller {
            started,
            deadline: started.checked_add(limit),
            pace,
        }
    }

    /// Looks again for as long as it takes: for a wait its caller bounds
    /// (a `timeout` around it) or that cannot fail.
    pub fn forever(pace: Pace) -> Poller {
        Poller {
            started: Instant::now(),
            deadline: None,
            pace,
        }
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
    }

    /// Pauses before the next look and returns true; returns false at once
    /// if the deadline has passed, when the caller gives up.
    pub async fn pause(&mut self) -> bool {
        match self.next_pause() {
            Some(pause) => {
                tokio::time::sleep(pause).await;
                true
            }
            None => false,
        }
    }

    /// [`Poller::pause`] for a caller without a runtime (a `Drop`, an
    /// exit path): blocks the thread for the pause.
    pub fn pause_blocking(&mut self) -> bool {
        match self.next_pause() {
            Some(pause) => {
                std::thread::sleep(pause);
                true
            }
            None => false,
        }
    }

    fn next_pause(&mut self) -> Option<Duration> {
        if self.expired() {
            return None;
        }
        let waited = Instant::now().saturating_duration_since(self.started);
        Some(self.pace.next_pause(waited))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(pause: Duration) -> u128 {
        pause.as_millis()
    }

    #[test]
    fn a_doubling_pace_reaches_its_ceiling_and_starts_over_after_a_reset() {
        let mut pace = Pace::doubling(Duration::from_millis(100), Duration::from_millis(500));
        let pauses: Vec<u128> = (0..5)
            .map(|_| ms(pace.next_pause(Duration::ZERO)))
            .collect();
        assert_eq!(pauses, [100, 200, 400, 500, 500]);
        pace.reset();
        assert_eq!(ms(pace.next_pause(Duration::ZERO)), 100);
    }

    #[test]
    fn a_steady_pace_doubles_from_where_it_was_once_its_stretch_is_over() {
        let mut pace = Pace::steady_then_doubling(
            Duration::from_millis(1),
            Duration::from_millis(500),
            Duration::from_millis(20),
        );
        for waited in [0, 1, 250, 499] {
            assert_eq!(ms(pace.next_pause(Duration::from_millis(waited))), 1);
        }
        let after: Vec<u128> = [500, 502, 506, 514, 530, 10_000]
            .into_iter()
            .map(|waited| ms(pace.next_pause(Duration::from_millis(waited))))
            .collect();
        assert_eq!(after, [2, 4, 8, 16, 20, 20]);
    }

    #[test]
    fn a_fixed_pace_never_changes() {
        let mut pace = Pace::every(Duration::from_millis(10));
        let pauses: Vec<u128> = (0..4)
            .map(|_| ms(pace.next_pause(Duration::ZERO)))
            .collect();
        assert_eq!(pauses, [10, 10, 10, 10]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_poller_gives_up_once_its_deadline_has_passed() {
        let started = Instant::now();
        let mut poller = Poller::within(
            Duration::from_millis(100),
            Pace::every(Duration::from_millis(30)),
        );
        let mut looks = 1;
        while poller.pause().await {
            looks += 1;
        }
        // Looks at 0, 30, 60, 90 and 120 ms; after the last, the deadline
        // has passed.
        assert_eq!(looks, 5);
        assert_eq!(started.elapsed(), Duration::from_millis(120));
        assert!(poller.expired());
    }

    #[tokio::test(start_paused = true)]
    async fn a_poller_without_a_deadline_never_gives_up() {
        let mut poller = Poller::forever(Pace::every(Duration::from_secs(3600)));
        for _ in 0..100 {
            assert!(poller.pause().await);
        }
        assert!(!poller.expired());
    }

    #[test]
    fn a_blocking_poller_pauses_the_thread_until_its_deadline() {
        let started = std::time::Instant::now();
        let mut poller = Poller::within(
            Duration::from_millis(20),
            Pace::every(Duration::from_millis(5)),
        );
        while poller.pause_blocking() {}
        assert!(started.elapsed() >= Duration::from_millis(20));
    }
}
