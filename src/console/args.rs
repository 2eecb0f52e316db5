//! The command line of `discos-sim console`, kept next to the console so the
//! binary only wires it to signals.

use std::time::Duration;

use clap::builder::TypedValueParser;

use super::{Config, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_WEBSOCKETS, Origin};
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
    // Documented where it is defined: clap would read a doc comment here as help.
    #[allow(missing_docs)]
    #[command(flatten)]
    pub options: ConsoleOptions,
}

impl ConsoleArgs {
    /// The console these arguments ask for.
    pub fn config(&self) -> Config {
        self.options.apply(Config {
            address: format!("{}:{}", self.host, self.port),
            backend: self.backend.clone(),
            reply_timeout: self.reply_timeout,
            ..Config::default()
        })
    }
}

/// Who may drive the console and how much it holds: the options shared by
/// `discos-sim console` and `discos-sim serve --console-port`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleOptions {
    /// Let pages of this origin drive the console too, on purpose, e.g.
    /// `https://console.example` behind a proxy, or `http://localhost:9000`
    /// through a tunnel; its host is then accepted as the console's name.
    /// Repeatable. Without it, only the console's own page may open its
    /// WebSocket.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<Origin>,
    /// Pages open at once (each a WebSocket and a backend connection); one
    /// more is refused with 503 and the reason.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_WEBSOCKETS,
          value_parser = clap::value_parser!(u64).range(1..=65_536).map(|v| v as usize))]
    pub max_websockets: usize,
    /// Longest wait for a request's headers, e.g. 10s; a client slower than
    /// that (or idle that long between requests) is disconnected.
    #[arg(long, value_name = "D", default_value = "10s", value_parser = crate::duration::parse)]
    pub header_timeout: Duration,
}

impl ConsoleOptions {
    /// The first of these options set to something other than its default,
    /// so that a command where they would do nothing can say so.
    pub fn first_given(&self) -> Option<&'static str> {
        if !self.allow_origins.is_empty() {
            Some("--allow-origin")
        } else if self.max_websockets != DEFAULT_MAX_WEBSOCKETS {
            Some("--max-websockets")
        } else if self.header_timeout != DEFAULT_HEADER_TIMEOUT {
            Some("--header-timeout")
        } else {
            None
        }
    }

    /// `config` with these options in it.
    pub fn apply(&self, config: Config) -> Config {
        Config {
            allowed_origins: self.allow_origins.clone(),
            max_websockets: self.max_websockets,
            header_timeout: self.header_timeout,
            ..config
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
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        options: ConsoleOptions,
    }

    #[test]
    fn option_defaults_are_the_documented_ones() {
        let cli = Cli::try_parse_from(["console"]).unwrap();
        assert_eq!(cli.options.header_timeout, DEFAULT_HEADER_TIMEOUT);
        assert_eq!(cli.options.first_given(), None);
        assert_eq!(cli.options.max_websockets, DEFAULT_MAX_WEBSOCKETS);
        assert!(cli.options.allow_origins.is_empty());
        let cli = Cli::try_parse_from([
            "console",
            "--allow-origin",
            "https://A.example",
            "--allow-origin=http://localhost:9000/",
        ])
        .unwrap();
        let allowed: Vec<String> = cli
            .options
            .allow_origins
            .iter()
            .map(Origin::to_string)
            .collect();
        assert_eq!(allowed, ["https://a.example", "http://localhost:9000"]);
        assert_eq!(cli.options.first_given(), Some("--allow-origin"));
        let cli = Cli::try_parse_from(["console", "--header-timeout", "2s"]).unwrap();
        assert_eq!(cli.options.first_given(), Some("--header-timeout"));
    }

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
