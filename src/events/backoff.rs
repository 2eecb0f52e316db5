//! How long to wait before trying the broker again: soon at first, so a
//! short outage costs little, then less and less often, so a long one does
//! not flood the broker's log with attempts.

use std::time::Duration;

use crate::poll::Pace;

/// The first pause after a failed attempt.
pub const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest pause between two attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(5);

/// Pauses doubling from [`FIRST_RETRY`] up to `max`; reset after a success.
pub(crate) const fn retry_pace(max: Duration) -> Pace {
    Pace::doubling(FIRST_RETRY, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_ceiling_and_start_over_after_a_success() {
        let mut pace = retry_pace(Duration::from_millis(500));
        let pauses: Vec<u128> = (0..5)
            .map(|_| pace.next_pause(Duration::ZERO).as_millis())
            .collect();
        assert_eq!(pauses, [100, 200, 400, 500, 500]);
        pace.reset();
        assert_eq!(pace.next_pause(Duration::ZERO), FIRST_RETRY);
    }

    #[test]
    fn a_ceiling_below_the_first_pause_is_the_pause() {
        let mut pace = retry_pace(Duration::from_millis(30));
        assert_eq!(pace.next_pause(Duration::ZERO), Duration::from_millis(30));
    }
}
