//! How long to wait before trying the broker again: soon at first, so a
//! short outage costs little, then less and less often, so a long one does
//! not flood the broker's log with attempts.

use std::time::Duration;

/// The first pause after a failed attempt.
pub const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest pause between two attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(5);

/// Doubling pauses between [`FIRST_RETRY`] and a ceiling.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(max: Duration) -> Backoff {
        Backoff {
            next: FIRST_RETRY.min(max),
            max,
        }
    }

    /// The pause before the next attempt; each call doubles the one after.
    pub(crate) fn pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(self.max);
        pause
    }

    /// Back to the first pause, after a success.
    pub(crate) fn reset(&mut self) {
        self.next = FIRST_RETRY.min(self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_ceiling_and_start_over_after_a_success() {
        let mut backoff = Backoff::new(Duration::from_millis(500));
        let pauses: Vec<u128> = (0..5).map(|_| backoff.pause().as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 500, 500]);
        backoff.reset();
        assert_eq!(backoff.pause(), FIRST_RETRY);
    }
}
