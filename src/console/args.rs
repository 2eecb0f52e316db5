//! The command line of `discos-sim console`, kept next to the console so the
//! binary only wires it to signals.

use std::time::Duration;

use super::Config;
use crate::address::Address;

/// Command-line arguments of `discos-sim console`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleArgs {
    /// The backend to relay to, HOST:PORT or tcp://HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_backend)]
    pub backend: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one (printed on stdout).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// How long to wait for the backend to connect or to answer a line,
    /// e.g. 5s or 500ms.
    #[arg(long, value_name = "D", default_value = "5s", value_parser = crate::duration::parse)]
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
        assert_eq!(
            parse_backend("tcp://127.0.0.1:8978").as_deref(),
            Ok("127.0.0.1:8978")
        );
        assert!(parse_backend("http://h:80").unwrap_err().contains("scheme"));
        assert!(parse_backend("localhost").unwrap_err().contains("no port"));
        assert!(parse_backend(":80").unwrap_err().contains("no host"));
        assert!(parse_backend("h:99999").unwrap_err().contains("not a port"));
        assert!(parse_backend("h:0").is_err());
    }
}
