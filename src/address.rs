//! Where a backend is, as people write it: `HOST:PORT`, or `tcp://HOST:PORT`
//! as a URL (how the acceptance `--target` tells it from other kinds of
//! target); both are read everywhere.
//!
//! One reading for every command that names a backend (`send`, `console
//! --backend`, `load`, the acceptance `--target`), so a typo gets the same
//! clear reason everywhere, before anything connects: a host that is really a
//! URL of another scheme, or holds one (`127.0.0.1:tcp://x`), would otherwise
//! reach the resolver and come back as a puzzling DNS error.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

/// The forms an address is written in, for error messages.
const FORMS: &str = "HOST:PORT or tcp://HOST:PORT";

/// A backend's host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The host name or address; an IPv6 address without its brackets.
    pub host: String,
    /// The port, 1 to 65535.
    pub port: u16,
}

impl FromStr for Address {
    type Err = String;

    /// Reads `HOST:PORT` or `tcp://HOST:PORT` (`[::1]:8978` for IPv6; the
    /// URL may end with a `/`).
    fn from_str(text: &str) -> Result<Address, String> {
        let address = match text.strip_prefix("tcp://") {
            Some(rest) => rest.strip_suffix('/').unwrap_or(rest),
            None => text,
        };
        if let Some(at) = address.find("://") {
            let scheme = &address[..at];
            return Err(if address.len() == text.len() && is_scheme(scheme) {
                format!("'{text}' has the scheme '{scheme}'; write {FORMS}")
            } else {
                format!("'{text}' holds a URL ('://') inside its host or port; write {FORMS}")
            });
        }
        parse(text, address)
    }
}

impl fmt::Display for Address {
    /// `HOST:PORT`, as a socket address is written (IPv6 in brackets), so
    /// it can be handed to a connect call as it is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A URL scheme as RFC 3986 spells it: a letter, then letters, digits, `+`,
/// `-` or `.`.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Reads `address`, a part of `text`; errors quote `text`.
fn parse(text: &str, address: &str) -> Result<Address, String> {
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let Some((host, rest)) = rest.split_once(']') else {
            return Err(format!(
                "'{text}' opens an IPv6 address with '[' but never closes it; write {FORMS}"
            ));
        };
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "'{text}' has no valid host: '{host}' in brackets is not an IPv6 address"
            ));
        }
        match rest.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if rest.is_empty() => (host, None),
            None => {
                return Err(format!(
                    "'{text}' has '{rest}' after its IPv6 address where ':PORT' goes"
                ));
            }
        }
    } else {
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        };
        if host.contains(':') {
            return Err(format!(
                "'{text}' has more than one ':'; an IPv6 address goes in brackets, e.g. [::1]:8978"
            ));
        }
        if let Some(bad) = host
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        {
            return Err(format!(
                "'{text}' has no valid host: '{host}' holds {bad:?}; a host is a name or an IP address"
            ));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(format!("'{text}' has no host; write {FORMS}"));
    }
    let Some(port) = port else {
        return Err(format!("'{text}' has no port; write {FORMS}"));
    };
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(Address {
            host: host.to_owned(),
            port,
        }),
        _ => Err(format!(
            "'{text}' has no valid port: '{port}' is not a port from 1 to 65535; write {FORMS}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_written() {
        for (text, host, shown) in [
            ("127.0.0.1:8978", "127.0.0.1", "127.0.0.1:8978"),
            ("tcp://127.0.0.1:8978", "127.0.0.1", "127.0.0.1:8978"),
            ("tcp://localhost:8978/", "localhost", "localhost:8978"),
            (
                "backend-1.example_site:80",
                "backend-1.example_site",
                "backend-1.example_site:80",
            ),
            ("[::1]:80", "::1", "[::1]:80"),
            ("tcp://[::1]:80", "::1", "[::1]:80"),
        ] {
            let address: Address = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(address.host, host, "{text}");
            assert_eq!(address.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (text, reason) in [
            (
                "localhost",
                "has no port; write HOST:PORT or tcp://HOST:PORT",
            ),
            ("tcp://localhost", "has no port"),
            (":80", "has no host"),
            ("tcp://:80", "has no host"),
            ("h:http", "'http' is not a port"),
            ("h:0", "'0' is not a port"),
            ("h:70000", "'70000' is not a port"),
            ("tcp://localhost:0", "'0' is not a port"),
            ("[::1:80", "never closes"),
            ("[::1]", "has no port"),
            ("[::1]80", "'80' after its IPv6 address"),
            ("[nope]:80", "'nope' in brackets is not an IPv6 address"),
            ("::1:80", "an IPv6 address goes in brackets"),
            ("http://localhost:80", "has the scheme 'http'"),
            ("udp://localhost:80", "has the scheme 'udp'"),
            ("127.0.0.1:tcp://x", "holds a URL ('://') inside"),
            ("tcp://tcp://x:80", "holds a URL ('://') inside"),
            ("tcp://x:80/path", "has no valid port: '80/path'"),
            ("a/b:80", "'a/b' holds '/'"),
            ("my host:80", "'my host' holds ' '"),
        ] {
            let error = text.parse::<Address>().unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }
}
