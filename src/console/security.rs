//! Who may drive the console: only its own page, reached by one of its own
//! names.
//!
//! The console has no login, so a browser is trusted to keep other sites
//! away from it. Browsers do not do that for WebSockets on their own: any
//! page, from any site, may open `ws://127.0.0.1:8080/ws` and drive the
//! backend with the operator's browser as its hands (cross-site WebSocket
//! hijacking). What browsers do give is the truth about who asks:
//!
//! - `Origin` says which page opened a WebSocket. An upgrade whose origin is
//!   not the console's own page, nor one allowed with `--allow-origin`, is
//!   refused. An upgrade without `Origin` is accepted: browsers always send
//!   one, so it comes from a program (a test, a script), which could as well
//!   connect to the backend itself.
//! - `Host` says which name the browser used. A site whose name is made to
//!   resolve to 127.0.0.1 (DNS rebinding) is same-origin with itself, so
//!   `Origin` alone cannot tell it from the console; its `Host` can. Only the
//!   console's own names are accepted: the address a connection arrived at,
//!   `localhost`, `127.0.0.1` and `[::1]`, each with the console's port, and
//!   the host of every allowed origin (a proxy or a tunnel in front).
//!
//! Every response also carries a Content-Security-Policy that lets the page
//! load only its own script and style and connect only to its own
//! WebSocket, and that no other page may frame (clickjacking).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::http::Arrival;

/// What the page needs, and nothing more: its own script and style, a
/// WebSocket to the host it came from, no frames around it.
fn content_security_policy(host: Option<&str>) -> String {
    let connect = match host {
        Some(host) => format!("ws://{host} wss://{host}"),
        None => "'none'".to_owned(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// A web origin as a browser sends it in `Origin`: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    https: bool,
    /// Lower case; an IPv6 address in brackets.
    host: String,
    port: u16,
}

impl Origin {
    fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    fn default_port(&self) -> u16 {
        if self.https { 443 } else { 80 }
    }
}

impl FromStr for Origin {
    type Err = String;

    /// Reads `http://HOST[:PORT]` or `https://HOST[:PORT]`, with nothing
    /// after (a trailing `/` is forgiven).
    fn from_str(text: &str) -> Result<Origin, String> {
        let form = "write http://HOST[:PORT] or https://HOST[:PORT]";
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(format!("'{text}' is not an origin; {form}"));
        };
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return Err(format!("'{text}' has the scheme '{scheme}'; {form}")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "'{text}' has more than a scheme, a host and a port; {form}"
            ));
        }
        let (host, port) =
            host_and_port(rest).ok_or_else(|| format!("'{text}' has no valid host; {form}"))?;
        let mut origin = Origin {
            https,
            host,
            port: 0,
        };
        origin.port = port.unwrap_or(origin.default_port());
        if origin.port == 0 {
            return Err(format!("'{text}' has the port 0; {form}"));
        }
        Ok(origin)
    }
}

impl fmt::Display for Origin {
    /// As browsers write it: the port only when it is not the scheme's own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme(), self.host)?;
        if self.port != self.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// Splits `host[:port]` (the form of `Host`), lowering the host's case;
/// `None` if it is not one.
fn host_and_port(text: &str) -> Option<(String, Option<u16>)> {
    if text.contains('@') {
        return None;
    }
    let authority = Authority::from_str(text).ok()?;
    if authority.host().is_empty() {
        return None;
    }
    // Read here, since `Authority` forgets a port that is not a number.
    let after_host = &text[text.rfind(']').unwrap_or(0)..];
    let port = match after_host.rsplit_once(':') {
        Some((_, port)) => Some(port.parse::<u16>().ok()?),
        None => None,
    };
    Some((authority.host().to_ascii_lowercase(), port))
}

/// The address a host names, if it is written as one (`[::1]` in brackets).
fn ip_of(host: &str) -> Option<IpAddr> {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        None => host.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
    .map(|ip| ip.to_canonical())
}

/// Why a request is refused, for the response body and the log.
#[derive(Debug)]
pub(super) struct Refusal(String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("refused: {}\n", self.0),
        )
            .into_response()
    }
}

/// The console's own names and its deliberate exceptions, shared by every
/// request handler.
#[derive(Debug, Clone)]
pub(super) struct Guard {
    /// The port the console listens on, the one its own names carry.
    port: u16,
    allowed: Arc<[Origin]>,
}

impl Guard {
    pub(super) fn new(port: u16, allowed: &[Origin]) -> Guard {
        Guard {
            port,
            allowed: allowed.into(),
        }
    }

    /// Whether `host` with `port` is one of the console's own names for a
    /// connection that arrived at `local`.
    fn is_own(&self, host: &str, port: u16, local: Option<IpAddr>) -> bool {
        if port != self.port {
            return false;
        }
        if host == "localhost" {
            return true;
        }
        match ip_of(host) {
            Some(ip) => {
                ip == IpAddr::V4(Ipv4Addr::LOCALHOST)
                    || ip == IpAddr::V6(Ipv6Addr::LOCALHOST)
                    || Some(ip) == local.map(|local| local.to_canonical())
            }
            None => false,
        }
    }

    /// The names a refusal lists, so the person reading it knows what to
    /// type instead.
    fn own_names(&self, local: Option<IpAddr>) -> String {
        let mut names = vec![format!("localhost:{}", self.port)];
        for ip in [
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            local.map(|local| local.to_canonical()),
        ]
        .into_iter()
        .flatten()
        {
            let name = SocketAddr::new(ip, self.port).to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        for origin in self.allowed.iter() {
            let name = format!("{}:{}", origin.host, origin.port);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.join(", ")
    }

    /// Accepts a request named by one of the console's own names or by the
    /// host of an allowed origin; anything else may be a name made to
    /// resolve here by another site.
    pub(super) fn check_host(
        &self,
        request: &Request,
        local: Option<IpAddr>,
    ) -> Result<String, Refusal> {
        let hosts: Vec<&HeaderValue> = request.headers().get_all(header::HOST).iter().collect();
        let named = match (hosts.as_slice(), request.uri().authority()) {
            // A request for an absolute URL is judged by that URL.
            (_, Some(authority)) => authority.as_str().to_owned(),
            ([host], None) => match host.to_str() {
                Ok(host) => host.to_owned(),
                Err(_) => return Err(Refusal("the Host header is not text".to_owned())),
            },
            ([], None) => {
                return Err(Refusal(
                    "no Host header: say which console is meant".to_owned(),
                ));
            }
            (_, None) => return Err(Refusal("more than one Host header".to_owned())),
        };
        // A Host without a port means its scheme's: 80 for the console,
        // which speaks plain HTTP; 80 or 443 for an allowed origin.
        let accepted = host_and_port(&named).is_some_and(|(host, port)| {
            self.is_own(&host, port.unwrap_or(80), local)
                || self.allowed.iter().any(|origin| {
                    origin.host == host && port.unwrap_or(origin.default_port()) == origin.port
                })
        });
        if accepted {
            Ok(named.to_ascii_lowercase())
        } else {
            Err(Refusal(format!(
                "the host '{named}' is not this console's; it answers to {} \
                 (a name another site makes resolve here is not enough; \
                 a proxy or tunnel in front needs --allow-origin)",
                self.own_names(local)
            )))
        }
    }

    /// Accepts a WebSocket opened by the console's own page (or an allowed
    /// one), or by a program, which sends no `Origin`.
    pub(super) fn check_origin(
        &self,
        headers: &HeaderMap,
        local: Option<IpAddr>,
    ) -> Result<(), Refusal> {
        let Some(value) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let text = String::from_utf8_lossy(value.as_bytes());
        let accepted = text.parse::<Origin>().is_ok_and(|origin| {
            (!origin.https && self.is_own(&origin.host, origin.port, local))
                || self.allowed.contains(&origin)
        });
        if accepted {
            Ok(())
        } else {
            Err(Refusal(format!(
                "a WebSocket opened by a page of {text}, not by this console's own page; \
                 to let that page drive the backend on purpose, start the console \
                 with --allow-origin {text}"
            )))
        }
    }
}

/// Whether a request asks to become a WebSocket.
fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::UPGRADE)
        .iter()
        .any(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Refuses a request by a foreign name, or a WebSocket from a foreign page,
/// and puts the security headers on every response.
pub(super) async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let arrival = request.extensions().get::<Arrival>().copied();
    let local = arrival.map(|arrival| arrival.local.ip());
    let peer = arrival.map(|arrival| arrival.peer.to_string());
    let peer = peer.as_deref().unwrap_or("unknown");
    let checked = guard.check_host(&request, local).and_then(|host| {
        if is_websocket_upgrade(request.headers()) {
            guard.check_origin(request.headers(), local)?;
        }
        Ok(host)
    });
    let (host, mut response) = match checked {
        Ok(host) => {
            let response = next.run(request).await;
            (Some(host), response)
        }
        Err(refusal) => {
            tracing::warn!(
                %peer,
                method = %request.method(),
                path = %request.uri().path(),
                "refused: {}",
                refusal.0
            );
            (None, refusal.into_response())
        }
    };
    secure(response.headers_mut(), host.as_deref());
    response
}

/// The headers every response carries, whatever produced it.
fn secure(headers: &mut HeaderMap, host: Option<&str>) {
    let policy = content_security_policy(host);
    match HeaderValue::from_str(&policy) {
        Ok(policy) => {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        // A host is checked text, so this cannot happen; the strictest
        // policy is the safe way to be wrong.
        Err(_) => {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            );
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // For browsers that predate frame-ancestors.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// The warning to print when the console listens beyond this machine:
/// it has no login and no encryption, so whoever reaches it drives the
/// backend.
pub fn exposure_warning(address: SocketAddr) -> Option<String> {
    let ip = address.ip().to_canonical();
    if ip.is_loopback() {
        return None;
    }
    let reach = if ip.is_unspecified() {
        "on every network interface of this machine".to_owned()
    } else {
        format!("on {ip}, reachable from beyond this machine")
    };
    Some(format!(
        "WARNING: the console listens {reach} ({address}).\n\
         WARNING: it has no login and no encryption: anyone who can reach it \
         can drive the backend.\n\
         WARNING: prefer --host 127.0.0.1 and an SSH tunnel, or an \
         authenticating proxy in front (with --allow-origin)."
    ))
}

/// The body of a `403` as the console writes it, for tests of the refusal.
#[cfg(test)]
fn body_of(refusal: Refusal) -> String {
    refusal.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(host: Option<&str>) -> Request {
        let mut builder = axum::http::Request::get("/ws");
        if let Some(host) = host {
            builder = builder.header(header::HOST, host);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn origins_are_read_as_browsers_write_them() {
        let origin: Origin = "HTTPS://Console.Example".parse().unwrap();
        assert_eq!(origin.to_string(), "https://console.example");
        assert_eq!(origin.port, 443);
        let origin: Origin = "http://localhost:9000/".parse().unwrap();
        assert_eq!(origin.to_string(), "http://localhost:9000");
        let origin: Origin = "http://[::1]:80".parse().unwrap();
        assert_eq!(origin.to_string(), "http://[::1]");
        for bad in [
            "null",
            "console.example",
            "ftp://console.example",
            "http://",
            "http://a.example/path",
            "http://user@a.example",
            "http://a.example:99999",
            "http://a.example:0",
            "http://a.example:http",
        ] {
            let error = bad.parse::<Origin>().expect_err(bad);
            assert!(error.contains(bad), "{bad}: {error}");
            assert!(error.contains("http://HOST[:PORT]"), "{bad}: {error}");
        }
    }

    #[test]
    fn own_names_and_allowed_hosts_are_accepted() {
        let allowed = ["https://console.example".parse().unwrap()];
        let guard = Guard::new(8080, &allowed);
        let lan = Some("192.168.1.5".parse().unwrap());
        for good in [
            "localhost:8080",
            "LOCALHOST:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "192.168.1.5:8080",
            "console.example:443",
        ] {
            assert!(
                guard.check_host(&request(Some(good)), lan).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "evil.example:8080",
            "localhost:8081",
            "localhost",
            "127.0.0.2:8080",
            "192.168.1.6:8080",
            "console.example:8080",
            "user@localhost:8080",
            "",
        ] {
            let refusal = guard.check_host(&request(Some(bad)), lan).unwrap_err();
            let body = body_of(refusal);
            assert!(body.contains("is not this console's"), "{bad}: {body}");
            assert!(body.contains("192.168.1.5:8080"), "{bad}: {body}");
        }
        let body = body_of(guard.check_host(&request(None), lan).unwrap_err());
        assert!(body.contains("no Host header"), "{body}");
        // Port 80 may go unsaid.
        let guard = Guard::new(80, &[]);
        assert!(guard.check_host(&request(Some("localhost")), None).is_ok());
    }

    #[test]
    fn only_the_own_page_and_allowed_origins_may_open_a_websocket() {
        let allowed = ["https://console.example".parse().unwrap()];
        let guard = Guard::new(8080, &allowed);
        let local = Some("127.0.0.1".parse().unwrap());
        let with = |origin: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
            headers
        };
        for good in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
            "https://console.example",
        ] {
            assert!(guard.check_origin(&with(good), local).is_ok(), "{good}");
        }
        assert!(guard.check_origin(&HeaderMap::new(), local).is_ok());
        for bad in [
            "http://127.0.0.1:8081",
            "http://evil.example:8080",
            "https://localhost:8080",
            "http://console.example",
            "null",
        ] {
            let body = body_of(guard.check_origin(&with(bad), local).unwrap_err());
            assert!(body.contains(&format!("--allow-origin {bad}")), "{body}");
        }
    }

    #[test]
    fn the_policy_lets_the_page_connect_only_to_its_own_host() {
        let policy = content_security_policy(Some("127.0.0.1:8080"));
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(policy.contains("default-src 'none'"), "{policy}");
        assert!(
            policy.contains("connect-src ws://127.0.0.1:8080 wss://127.0.0.1:8080;"),
            "{policy}"
        );
        assert!(content_security_policy(None).contains("connect-src 'none'"));
    }

    #[test]
    fn listening_beyond_this_machine_is_warned_about() {
        assert_eq!(exposure_warning("127.0.0.1:8080".parse().unwrap()), None);
        assert_eq!(exposure_warning("127.0.0.2:8080".parse().unwrap()), None);
        assert_eq!(exposure_warning("[::1]:8080".parse().unwrap()), None);
        let all = exposure_warning("0.0.0.0:8080".parse().unwrap()).unwrap();
        assert!(all.contains("every network interface"), "{all}");
        assert!(all.contains("anyone who can reach it"), "{all}");
        let lan = exposure_warning("192.168.1.5:8080".parse().unwrap()).unwrap();
        assert!(lan.contains("on 192.168.1.5"), "{lan}");
        assert!(exposure_warning("[::]:8080".parse().unwrap()).is_some());
    }
}
