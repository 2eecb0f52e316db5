//! Points in time as the protocol carries them.
//!
//! Requests may give a time in two forms: the ACS form, an integer count of
//! 100-nanosecond ticks since the Unix epoch (what DISCOS sends), or decimal
//! Unix seconds with a dot (the protocol text's own example). Replies always
//! use decimal Unix seconds, as the reference implementation does.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Nanoseconds in one ACS tick.
const NANOS_PER_TICK: u128 = 100;

/// A point in time, at nanosecond resolution, since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    since_epoch: Duration,
}

impl Timestamp {
    /// The latest time a request can name: a tick count beyond `u64` is
    /// read as this.
    pub const FAR_FUTURE: Timestamp = Timestamp {
        since_epoch: Duration::from_secs(u64::MAX / 10_000_000),
    };

    /// The current time of the system clock.
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// The time `ticks` × 100 ns after the Unix epoch.
    pub fn from_acs_ticks(ticks: u64) -> Timestamp {
        let nanos = u128::from(ticks) * NANOS_PER_TICK;
        Timestamp {
            since_epoch: Duration::new(
                (nanos / 1_000_000_000) as u64,
                (nanos % 1_000_000_000) as u32,
            ),
        }
    }

    /// This time as 100-ns ticks since the Unix epoch, as DISCOS sends it.
    pub fn acs_ticks(&self) -> u64 {
        (self.since_epoch.as_nanos() / NANOS_PER_TICK) as u64
    }

    /// This time as a duration since the Unix epoch.
    pub fn since_epoch(&self) -> Duration {
        self.since_epoch
    }

    /// How long from now until this time; `None` if it is already past.
    pub fn until(&self, now: Timestamp) -> Option<Duration> {
        self.since_epoch.checked_sub(now.since_epoch)
    }

    /// This time shifted by `offset` (saturating at the far future).
    pub fn after(&self, offset: Duration) -> Timestamp {
        Timestamp {
            since_epoch: self.since_epoch.saturating_add(offset),
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        Timestamp {
            // A clock set before 1970 is not a time a telescope observes at.
            since_epoch: time.duration_since(UNIX_EPOCH).unwrap_or_default(),
        }
    }
}

impl From<Timestamp> for SystemTime {
    fn from(time: Timestamp) -> SystemTime {
        UNIX_EPOCH + time.since_epoch
    }
}

/// A request's timestamp that is neither ACS ticks nor decimal seconds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("wrong timestamp '{text}'")]
pub struct TimestampError {
    /// The timestamp as sent.
    pub text: String,
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Reads ACS ticks (`17953395590538408`) or decimal Unix seconds
    /// (`1430922782.97088300`), told apart by the dot.
    fn from_str(text: &str) -> Result<Timestamp, TimestampError> {
        let wrong = || TimestampError {
            text: text.to_owned(),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match text.split_once('.') {
            None => {
                // An integer is a tick count whatever its sign: a negative
                // one is before the epoch, which is as past as a time can be
                // for a telescope, so it is read as the epoch itself.
                let (negative, digits) = match text.as_bytes().first() {
                    Some(b'-') => (true, &text[1..]),
                    Some(b'+') => (false, &text[1..]),
                    _ => (false, text),
                };
                if !all_digits(digits) {
                    return Err(wrong());
                }
                if negative {
                    return Ok(Timestamp::from_acs_ticks(0));
                }
                // Beyond u64 ticks (the year 60 000) is the far future.
                Ok(digits
                    .parse::<u64>()
                    .map_or(Timestamp::FAR_FUTURE, Timestamp::from_acs_ticks))
            }
            Some((seconds, fraction)) if all_digits(seconds) && all_digits(fraction) => {
                let seconds: u64 = seconds.parse().map_err(|_| wrong())?;
                // Digits beyond the nanosecond are below the clock's resolution.
                let nanos = fraction
                    .bytes()
                    .chain(std::iter::repeat(b'0'))
                    .take(9)
                    .fold(0u32, |n, digit| n * 10 + u32::from(digit - b'0'));
                Ok(Timestamp {
                    since_epoch: Duration::new(seconds, nanos),
                })
            }
            _ => Err(wrong()),
        }
    }
}

/// Decimal Unix seconds with nine fractional digits, the reply form.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.since_epoch.as_secs(),
            self.since_epoch.subsec_nanos()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acs_ticks_are_100_ns_since_the_unix_epoch() {
        let t: Timestamp = "17953395590538408".parse().unwrap();
        assert_eq!(t.since_epoch(), Duration::new(1_795_339_559, 53_840_800));
        assert_eq!(t.acs_ticks(), 17_953_395_590_538_408);
    }

    #[test]
    fn decimal_seconds_are_told_apart_by_the_dot() {
        let t: Timestamp = "1430922782.97088300".parse().unwrap();
        assert_eq!(t.since_epoch(), Duration::new(1_430_922_782, 970_883_000));
        let t: Timestamp = "1.0000000019".parse().unwrap();
        assert_eq!(t.since_epoch(), Duration::new(1, 1));
    }

    #[test]
    fn replies_use_decimal_seconds_with_nine_digits() {
        let t = Timestamp::from_acs_ticks(14_309_227_829_708_830);
        assert_eq!(t.to_string(), "1430922782.970883000");
        assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
    }

    #[test]
    fn anything_else_is_a_wrong_timestamp() {
        for text in [
            "", "abc", "-", "+", "--5", "1.", ".5", "1.2.3", "-1.5", "1e9", " 1",
        ] {
            let err = text.parse::<Timestamp>().unwrap_err();
            assert_eq!(err.to_string(), format!("wrong timestamp '{text}'"));
        }
    }

    #[test]
    fn an_integer_is_a_tick_count_whatever_its_sign() {
        let epoch = Timestamp::from_acs_ticks(0);
        assert_eq!("-5".parse::<Timestamp>(), Ok(epoch));
        assert_eq!("-99999999999999999999".parse::<Timestamp>(), Ok(epoch));
        assert_eq!("+5".parse::<Timestamp>(), Ok(Timestamp::from_acs_ticks(5)));
        assert_eq!(
            "99999999999999999999".parse::<Timestamp>(),
            Ok(Timestamp::FAR_FUTURE)
        );
    }
}
