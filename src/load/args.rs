//! The command line of `discos-sim load`, and the checks that turn it into a
//! [`Config`]: every mistake is caught here with a one-line reason, before a
//! single connection is opened.

use std::time::Duration;

use clap::builder::TypedValueParser;

use super::{Config, ProgressStyle, Stop};
use crate::address::Address;
use crate::protocol::{Message, request_from_text};

/// How long a run lasts when neither `--requests` nor `--duration` is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(5);

/// Command-line arguments of `discos-sim load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The backend to load, HOST:PORT or tcp://HOST:PORT.
    #[arg(value_name = "ADDRESS")]
    pub target: Address,
    /// Connections sending requests at once.
    #[arg(long, short = 'c', value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000).map(|v| v as usize))]
    pub connections: usize,
    /// Requests kept in flight on each connection (1: ping-pong).
    #[arg(long, short = 'p', value_name = "DEPTH", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=65_536).map(|v| v as usize))]
    pub pipeline: usize,
    /// Send exactly this many requests, spread over the connections.
    #[arg(long, short = 'n', value_name = "R", conflicts_with = "duration",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,
    /// Send requests for this long, e.g. 5s, 500ms, 1m (5s when neither this
    /// nor --requests is given, unless only idle connections are asked for).
    #[arg(long, short = 'd', value_name = "D", value_parser = crate::duration::parse)]
    pub duration: Option<Duration>,
    /// The request to send, as `discos-sim send` takes it (the `?` may be
    /// left out); every reply must be `ok` and carry its name.
    #[arg(long, value_name = "REQUEST", default_value = "get-tpi", value_parser = parse_request)]
    pub command: Message,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Open and hold this many idle connections, then check a sample of
    /// them still answers `status`.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=1_000_000).map(|v| v as usize))]
    pub idle_connections: usize,
    /// Each idle connection also sends the first BYTES bytes of a line (a
    /// `set-filename`) and never its end, as a client stalled mid-line
    /// does: what unfinished lines cost the backend. The sample finishes
    /// them before asking `status`.
    #[arg(long, value_name = "BYTES", default_value_t = 0, requires = "idle_connections",
          value_parser = clap::value_parser!(u64).range(0..=1 << 20).map(|v| v as usize))]
    pub idle_unfinished_line: usize,
    /// How many of the idle connections to check.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000).map(|v| v as usize))]
    pub idle_sample: usize,
    /// The server's process id, to report its resident memory (local servers only).
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Longest wait for a connection and its handshake.
    #[arg(long, value_name = "D", default_value = "5s", value_parser = crate::duration::parse)]
    pub connect_timeout: Duration,
    /// Longest wait for a reply; a silent server ends the run after this.
    #[arg(long, value_name = "D", default_value = "5s", value_parser = crate::duration::parse)]
    pub reply_timeout: Duration,
    /// Runtime threads of the load tool; 1 runs everything on one thread,
    /// which leaves the other cores to a server on the same machine.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=1024).map(|v| v as usize))]
    pub threads: usize,
}

impl LoadArgs {
    /// The run these arguments ask for; `progress` says how to show it
    /// going on (the caller knows whether stderr is a terminal).
    pub fn to_config(&self, progress: Option<ProgressStyle>) -> Config {
        let stop = match (self.requests, self.duration) {
            (Some(requests), _) => Some(Stop::Requests(requests)),
            (None, Some(duration)) => Some(Stop::Duration(duration)),
            // Only idle connections were asked for: no active run.
            (None, None) if self.idle_connections > 0 => None,
            (None, None) => Some(Stop::Duration(DEFAULT_DURATION)),
        };
        Config {
            address: self.target.to_string(),
            connections: self.connections,
            pipeline: self.pipeline,
            stop,
            request: self.command.clone(),
            idle_connections: self.idle_connections,
            idle_unfinished_line: self.idle_unfinished_line,
            idle_sample: self.idle_sample,
            server_pid: self.server_pid,
            connect_timeout: self.connect_timeout,
            reply_timeout: self.reply_timeout,
            progress,
        }
    }
}

/// Reads the request to send; a reply (`!…`) is refused, since a backend
/// answers it `invalid` and the run would measure only errors.
pub fn parse_request(text: &str) -> Result<Message, String> {
    let message = request_from_text(text).map_err(|error| format!("'{text}': {error}"))?;
    if !message.is_request() {
        return Err(format!(
            "'{text}' is a reply; give a request such as get-tpi or ?status"
        ));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_must_be_a_request() {
        assert_eq!(parse_request("get-tpi").unwrap().name, "get-tpi");
        assert_eq!(
            parse_request("?set-integration,10").unwrap().arguments,
            ["10"]
        );
        assert!(
            parse_request("!status,ok")
                .unwrap_err()
                .contains("is a reply")
        );
        assert!(parse_request("?bad\\x").is_err());
    }
}
