//! Where a backend is, as people write it: `HOST:PORT`, or `tcp://HOST:PORT`
//! where a scheme tells it apart from other kinds of target.
//!
//! One reading for every command that names a backend (`send`, `console
//! --backend`, `load`, the acceptance `--target`), so a typo gets the same clear reason
//! everywhere, before anything connects.

use std::fmt;
use std::str::FromStr;

/// A backend's host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The host name or address; an IPv6 address without its brackets.
    pub host: String,
    /// The port, 1 to 65535.
    pub port: u16,
}

impl Address {
    /// Reads `tcp://HOST:PORT`; another scheme, or none, is named in the
    /// error.
    pub fn from_url(text: &str) -> Result<Address, String> {
        let Some(address) = text.strip_prefix("tcp://") else {
            return Err(match text.split_once("://") {
                Some((scheme, _)) => {
                    format!("'{text}' has the scheme '{scheme}'; write tcp://HOST:PORT")
                }
                None => format!("'{text}' has no scheme; write tcp://{text}"),
            });
        };
        let address = address.strip_suffix('/').unwrap_or(address);
        parse(text, address, "tcp://HOST:PORT")
    }
}

impl FromStr for Address {
    type Err = String;

    /// Reads `HOST:PORT` (`[::1]:8978` for IPv6).
    fn from_str(text: &str) -> Result<Address, String> {
        parse(text, text, "HOST:PORT")
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

/// Reads `address`, a part of `text`; errors quote `text` and show `form`.
fn parse(text: &str, address: &str, form: &str) -> Result<Address, String> {
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let Some((host, rest)) = rest.split_once(']') else {
            return Err(format!(
                "'{text}' opens an IPv6 address with '[' but never closes it; write {form}"
            ));
        };
        (host, rest.strip_prefix(':'))
    } else {
        match address.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    if host.is_empty() {
        return Err(format!("'{text}' has no host; write {form}"));
    }
    let Some(port) = port else {
        return Err(format!("'{text}' has no port; write {form}"));
    };
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(Address {
            host: host.to_owned(),
            port,
        }),
        _ => Err(format!(
            "'{text}' has no valid port: '{port}' is not a port from 1 to 65535; write {form}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_written() {
        let address: Address = "127.0.0.1:8978".parse().unwrap();
        assert_eq!(address.to_string(), "127.0.0.1:8978");
        let address: Address = "[::1]:80".parse().unwrap();
        assert_eq!(address.host, "::1");
        assert_eq!(address.to_string(), "[::1]:80");
        let address = Address::from_url("tcp://localhost:8978/").unwrap();
        assert_eq!(address.to_string(), "localhost:8978");
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (text, reason) in [
            ("localhost", "has no port; write HOST:PORT"),
            (":80", "has no host"),
            ("h:http", "'http' is not a port"),
            ("h:0", "'0' is not a port"),
            ("h:70000", "'70000' is not a port"),
            ("[::1:80", "never closes"),
        ] {
            let error = text.parse::<Address>().unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (text, reason) in [
            ("127.0.0.1:8978", "has no scheme"),
            ("http://localhost:80", "scheme 'http'"),
            ("tcp://localhost", "has no port; write tcp://HOST:PORT"),
            ("tcp://:80", "has no host"),
            ("tcp://localhost:0", "'0' is not a port"),
        ] {
            let error = Address::from_url(text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }
}
