//! Durations on the command line, read one way for every option: the humane
//! form people write (`5s`, `500ms`, `1m 30s`), positive and within sane
//! bounds, so that `--timeout 1e30` is a usage error, not a panic or a wait
//! until the end of time.

use std::time::Duration;

/// The longest duration an option takes unless it says otherwise: nothing a
/// test run or a backend waits for lasts a day.
pub const MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// Reads a humane duration between 1 ms and [`MAX`].
pub fn parse(text: &str) -> Result<Duration, String> {
    parse_within(text, Duration::from_millis(1), MAX)
}

/// Reads a humane duration between `min` and `max`; a bare number is refused
/// with the form to write, since `5` could mean seconds or milliseconds.
pub fn parse_within(text: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "'{text}' has no unit; write e.g. {text}s or {text}ms"
        ));
    }
    let duration = humantime::parse_duration(text)
        .map_err(|error| format!("'{text}' is not a duration ({error}); write e.g. 5s or 500ms"))?;
    if duration < min {
        return Err(format!(
            "'{text}' is too short: at least {}",
            humantime::format_duration(min)
        ));
    }
    if duration > max {
        return Err(format!(
            "'{text}' is too long: at most {}",
            humantime::format_duration(max)
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humane_durations_are_read() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("1m 30s"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn absurd_durations_are_refused_with_the_reason() {
        assert!(parse("0s").unwrap_err().contains("too short"));
        assert!(parse("1000d").unwrap_err().contains("too long"));
        assert!(parse("5").unwrap_err().contains("no unit; write e.g. 5s"));
        assert!(parse("1e30").unwrap_err().contains("not a duration"));
        assert!(parse("soon").unwrap_err().contains("not a duration"));
        assert!(parse("").unwrap_err().contains("not a duration"));
        assert!(
            parse_within("1s", Duration::from_secs(2), MAX)
                .unwrap_err()
                .contains("at least 2s")
        );
    }
}
