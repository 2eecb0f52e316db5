//! The command line of `discos-sim console`, kept next to the console so the
//! binary only wires it to signals.

use std::time::Duration;

use super::Config;
use crate::address::Address;

/// Command-line arguments of `discos-sim console`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleArgs {
    /// The backend to relay to, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_backend)]
    pub backend: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one (printed on stdout).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Seconds to wait for the backend to connect or to answer a line.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_seconds)]
    pub reply_timeout: Duration,
}

impl ConsoleArgs {
    /// The console these arguments ask for.
    pub fn config(&self) -> Config {
        Config {
            address: format!("{}:{}", self.host, self.port),
            backend: self.backend.clone(),
            reply_timeout: self.reply_timeout,
        }
    }
}

/// Checks a backend address has the `HOST:PORT` shape, so a typo is named at
/// start-up instead of on every page that fails to connect.
pub fn parse_backend(text: &str) -> Result<String, String> {
    text.parse::<Address>().map(|address| address.to_string())
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds < 1e9 => {
            Ok(Duration::from_secs_f64(seconds))
        }
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_addresses() {
        assert_eq!(
            parse_backend("127.0.0.1:8978").as_deref(),
            Ok("127.0.0.1:8978")
        );
        assert_eq!(parse_backend("[::1]:1").as_deref(), Ok("[::1]:1"));
        assert!(parse_backend("localhost").unwrap_err().contains("no port"));
        assert!(parse_backend(":80").unwrap_err().contains("no host"));
        assert!(parse_backend("h:99999").unwrap_err().contains("not a port"));
        assert!(parse_backend("h:0").is_err());
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("nan").is_err());
        assert!(parse_seconds("soon").is_err());
    }
}
