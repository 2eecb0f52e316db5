//! Where the broker is: `amqp://USER:PASS@HOST:PORT/VHOST`, read once and
//! checked, so that a typo is an error at the command line and not a
//! reconnect loop; written without the password wherever it is shown.

use std::fmt;
use std::str::FromStr;

use lapin::uri::{AMQPScheme, AMQPUri};

/// The default AMQP port, used when the URL names none.
pub const DEFAULT_PORT: u16 = 5672;

/// A broker's address and credentials.
///
/// `Display` and `Debug` leave the password out, so a URL can go into logs
/// and error messages; [`BrokerUrl::with_secret`] is for handing it on.
#[derive(Clone, PartialEq)]
pub struct BrokerUrl {
    uri: AMQPUri,
}

impl BrokerUrl {
    /// The parsed URI, as lapin connects to it.
    pub fn uri(&self) -> AMQPUri {
        self.uri.clone()
    }

    /// The user name it logs in as.
    pub fn user(&self) -> &str {
        &self.uri.authority.userinfo.username
    }

    /// The password it logs in with.
    pub fn password(&self) -> &str {
        &self.uri.authority.userinfo.password
    }

    /// The broker's host.
    pub fn host(&self) -> &str {
        &self.uri.authority.host
    }

    /// The broker's port.
    pub fn port(&self) -> u16 {
        self.uri.authority.port
    }

    /// The virtual host.
    pub fn vhost(&self) -> &str {
        &self.uri.vhost
    }

    /// The same broker with another password: how a test proves that a wrong
    /// one is refused.
    pub fn with_password(&self, password: &str) -> BrokerUrl {
        let mut uri = self.uri.clone();
        uri.authority.userinfo.password = password.to_owned();
        BrokerUrl { uri }
    }

    /// The whole URL, password included, for handing to another program
    /// (an environment variable, a command line); never for a log.
    pub fn with_secret(&self) -> String {
        self.uri.to_string()
    }
}

impl FromStr for BrokerUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<BrokerUrl, String> {
        let example =
            "amqp://USER:PASSWORD@HOST:PORT/VHOST, e.g. amqp://guest:guest@127.0.0.1:5672/%2f";
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(format!("'{text}' is not a broker URL; expected {example}"));
        };
        match scheme {
            "amqp" => {}
            "amqps" => {
                return Err(format!(
                    "'{}' asks for TLS (amqps://), which this build does not speak; use amqp://",
                    Masked(text)
                ));
            }
            other => {
                return Err(format!(
                    "'{}' has the scheme '{other}'; expected {example}",
                    Masked(text)
                ));
            }
        }
        let host = host_of(rest);
        if host.is_empty() {
            return Err(format!(
                "'{}' has no host; expected {example}",
                Masked(text)
            ));
        }
        let mut uri: AMQPUri = text
            .parse()
            .map_err(|error| format!("'{}' is not a broker URL: {error}", Masked(text)))?;
        // The URI parser keeps only domain names and falls back to
        // "localhost" for an IP address: take the host as written, so that
        // amqp://10.0.0.5/ reaches 10.0.0.5.
        uri.authority.host = host.to_owned();
        if uri.scheme != AMQPScheme::AMQP {
            return Err(format!("'{}' is not an amqp:// URL", Masked(text)));
        }
        if uri.authority.port == 0 {
            return Err(format!(
                "'{}' has port 0; name the broker's port",
                Masked(text)
            ));
        }
        Ok(BrokerUrl { uri })
    }
}

/// The host part of what follows `scheme://`: after any `user:pass@`,
/// before any `:port`, `/vhost` or `?query`; an IPv6 literal keeps its
/// brackets off.
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or_default();
    }
    host_port.split(':').next().unwrap_or_default()
}

/// A URL as text with its password replaced by `***`.
struct Masked<'a>(&'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        let masked = text.split_once("://").and_then(|(scheme, rest)| {
            let (userinfo, after) = rest.split_once('@')?;
            let (user, _) = userinfo.split_once(':')?;
            Some(format!("{scheme}://{user}:***@{after}"))
        });
        f.write_str(masked.as_deref().unwrap_or(text))
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host().contains(':') {
            format!("[{}]", self.host())
        } else {
            self.host().to_owned()
        };
        let vhost = if self.vhost() == "/" {
            "%2f".to_owned()
        } else {
            self.vhost().to_owned()
        };
        write!(f, "amqp://{}@{host}:{}/{vhost}", self.user(), self.port())
    }
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BrokerUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_is_read_and_shown_without_its_password() {
        let url: BrokerUrl = "amqp://scope:s3cret@10.0.0.5:5673/telescope"
            .parse()
            .unwrap();
        assert_eq!(
            (
                url.user(),
                url.password(),
                url.host(),
                url.port(),
                url.vhost()
            ),
            ("scope", "s3cret", "10.0.0.5", 5673, "telescope")
        );
        assert_eq!(url.to_string(), "amqp://scope@10.0.0.5:5673/telescope");
        assert!(!format!("{url:?}").contains("s3cret"));
        let again: BrokerUrl = url.with_secret().parse().unwrap();
        assert_eq!(again, url);
    }

    #[test]
    fn defaults_are_rabbitmqs() {
        let url: BrokerUrl = "amqp://127.0.0.1".parse().unwrap();
        assert_eq!((url.user(), url.password()), ("guest", "guest"));
        assert_eq!((url.host(), url.port()), ("127.0.0.1", DEFAULT_PORT));
        let url: BrokerUrl = "amqp://guest:guest@[::1]:5672/%2f".parse().unwrap();
        assert_eq!((url.host(), url.vhost()), ("::1", "/"));
        assert_eq!(url.to_string(), "amqp://guest@[::1]:5672/%2f");
    }

    #[test]
    fn bad_urls_say_what_is_wrong_and_never_show_the_password() {
        let cases = [
            ("127.0.0.1:5672", "is not a broker URL"),
            ("http://u:pw@host/", "has the scheme 'http'"),
            ("amqps://u:pw@host/", "TLS"),
            ("amqp://u:pw@host:99999/", "is not a broker URL"),
            ("amqp://u:pw@:5672/", "has no host"),
            ("amqp://u:pw@host:0/", "port 0"),
        ];
        for (text, expected) in cases {
            let error = text.parse::<BrokerUrl>().unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("pw@"), "{text}: {error}");
        }
    }
}
