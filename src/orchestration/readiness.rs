//! What "ready" means for a service, and how to observe it without sleeping:
//! output lines are matched as they arrive; ports, sockets and files are
//! probed at once, then every millisecond while a service is most likely to
//! come up, then with a short exponential back-off.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::Empty;
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use regex::Regex;
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::oneshot;

use super::output::Output;
use crate::poll::{Pace, Poller};

/// Pause between two probes while [`FAST_PHASE`] lasts: a connect attempt on
/// loopback costs microseconds, so probing every millisecond sees a port
/// about a millisecond after it opens for a few percent of one core.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(1);
/// How long probes go at the [`FIRST_BACKOFF`] pace: most local services
/// (a backend, chromedriver) are ready well within it, and it bounds what a
/// service that never comes up costs in probes.
pub const FAST_PHASE: Duration = Duration::from_millis(500);
/// Longest pause between two probes, reached by doubling after the fast
/// phase: bounds the extra latency of a slow start to 20 ms, five times
/// better than mirakuru's fixed 100 ms poll, at 50 probes a second.
pub const MAX_BACKOFF: Duration = Duration::from_millis(20);

/// The signal that tells a service is ready to be used.
///
/// `{port}` anywhere in an address, URL, path or pattern is replaced by the
/// port the executor allocated, so a condition can be written before the port
/// is known.
#[derive(Debug, Clone)]
pub struct Readiness(Kind);

#[derive(Debug, Clone)]
enum Kind {
    None,
    Output(String),
    Tcp(String),
    Http {
        method: String,
        url: String,
        statuses: Vec<u16>,
    },
    UnixSocket(PathBuf),
    PidFile(PathBuf),
    Custom(Custom),
    All(Vec<Readiness>),
}

/// A probe of a service's own, with the words that say what it waits for.
#[derive(Clone)]
pub(crate) struct Custom {
    what: String,
    probe: ProbeFn,
}

/// Whether a service is ready, asked once; given the executor's port.
type ProbeFn = Arc<dyn Fn(Option<u16>) -> BoxFuture<'static, bool> + Send + Sync>;

impl fmt::Debug for Custom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Custom").field("what", &self.what).finish()
    }
}

impl Readiness {
    /// Started means spawned: for processes nobody waits on.
    pub fn none() -> Self {
        Self(Kind::None)
    }

    /// A line of stdout or stderr matching the regular expression `pattern`
    /// (checked when the executor starts, so a bad pattern is an error, not a
    /// panic).
    pub fn output(pattern: impl Into<String>) -> Self {
        Self(Kind::Output(pattern.into()))
    }

    /// A TCP address (`host:port`) accepting connections.
    pub fn tcp(address: impl Into<String>) -> Self {
        Self(Kind::Tcp(address.into()))
    }

    /// An HTTP `GET` of `url` answering with one of `statuses`; probed only
    /// once the port accepts, as a web server is not ready before that.
    pub fn http(url: impl Into<String>, statuses: impl IntoIterator<Item = u16>) -> Self {
        Self::http_method("GET", url, statuses)
    }

    /// As [`Readiness::http`] with another method, for services whose health
    /// check answers only `HEAD` or `POST`.
    pub fn http_method(
        method: impl Into<String>,
        url: impl Into<String>,
        statuses: impl IntoIterator<Item = u16>,
    ) -> Self {
        Self(Kind::Http {
            method: method.into(),
            url: url.into(),
            statuses: statuses.into_iter().collect(),
        })
    }

    /// A unix socket at `path` accepting connections.
    pub fn unix_socket(path: impl Into<PathBuf>) -> Self {
        Self(Kind::UnixSocket(path.into()))
    }

    /// A pid file at `path` holding a process id: daemons write it once they
    /// are initialised.
    pub fn pid_file(path: impl Into<PathBuf>) -> Self {
        Self(Kind::PidFile(path.into()))
    }

    /// A condition only the service's own protocol can tell (a broker
    /// that accepts a login, not only a connection): `probe` is asked,
    /// with the executor's port, as often as the other probes are, until
    /// it says yes; `what` says what it waits for, `{port}` substituted
    /// (and a `{port}` in it makes the executor allocate one).
    pub fn probe<F, Fut>(what: impl Into<String>, probe: F) -> Self
    where
        F: Fn(Option<u16>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        Self(Kind::Custom(Custom {
            what: what.into(),
            probe: Arc::new(move |port| Box::pin(probe(port))),
        }))
    }

    /// Every one of `conditions` (checked concurrently).
    pub fn all(conditions: impl IntoIterator<Item = Readiness>) -> Self {
        Self(Kind::All(conditions.into_iter().collect()))
    }

    /// True when the condition mentions `{port}`, so the executor must
    /// allocate one even if the command does not.
    pub(crate) fn wants_port(&self) -> bool {
        match &self.0 {
            Kind::None => false,
            Kind::Output(text) | Kind::Tcp(text) => text.contains("{port}"),
            Kind::Custom(custom) => custom.what.contains("{port}"),
            Kind::Http { url, .. } => url.contains("{port}"),
            Kind::UnixSocket(path) | Kind::PidFile(path) => {
                path.to_string_lossy().contains("{port}")
            }
            Kind::All(conditions) => conditions.iter().any(Readiness::wants_port),
        }
    }

    /// The condition as a person reads it, with `{port}` substituted.
    pub(crate) fn describe(&self, port: Option<u16>) -> String {
        Substituted {
            readiness: self,
            port,
        }
        .to_string()
    }

    /// Turns the condition into a probe: substitutes `{port}`, validates
    /// patterns and URLs, and registers output patterns before the process
    /// can print anything.
    pub(crate) fn prepare(&self, port: Option<u16>, output: &Output) -> Result<Probe, String> {
        let subst = |text: &str| substitute(text, port);
        Ok(match &self.0 {
            Kind::None => Probe::None,
            Kind::Output(pattern) => {
                let pattern = subst(pattern);
                let regex = Regex::new(&pattern)
                    .map_err(|error| format!("bad output pattern `{pattern}`: {error}"))?;
                Probe::Output(output.watch(regex))
            }
            Kind::Tcp(address) => Probe::Tcp(subst(address)),
            Kind::Http {
                method,
                url,
                statuses,
            } => {
                let url = subst(url);
                let uri: Uri = url
                    .parse()
                    .map_err(|error| format!("bad URL `{url}`: {error}"))?;
                if uri.scheme_str() != Some("http") {
                    return Err(format!("bad URL `{url}`: only http:// can be probed"));
                }
                let host = uri
                    .host()
                    .ok_or_else(|| format!("bad URL `{url}`: no host"))?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let address = match uri.port_u16() {
                    Some(port) if host.contains(':') => format!("[{host}]:{port}"),
                    Some(port) => format!("{host}:{port}"),
                    None => format!("{host}:80"),
                };
                let method = Method::from_bytes(method.as_bytes())
                    .map_err(|_| format!("bad HTTP method `{method}`"))?;
                let statuses = statuses
                    .iter()
                    .map(|status| {
                        StatusCode::from_u16(*status)
                            .map_err(|_| format!("bad HTTP status {status}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Probe::Http {
                    address,
                    method,
                    uri,
                    statuses,
                }
            }
            Kind::UnixSocket(path) => Probe::UnixSocket(subst_path(path, port)),
            Kind::PidFile(path) => Probe::PidFile(subst_path(path, port)),
            Kind::Custom(custom) => Probe::Custom(custom.clone(), port),
            Kind::All(conditions) => Probe::All(
                conditions
                    .iter()
                    .map(|condition| condition.prepare(port, output))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

pub(crate) fn substitute(text: &str, port: Option<u16>) -> String {
    match port {
        Some(port) => text.replace("{port}", &port.to_string()),
        None => text.to_owned(),
    }
}

fn subst_path(path: &std::path::Path, port: Option<u16>) -> PathBuf {
    match path.to_str() {
        Some(text) => PathBuf::from(substitute(text, port)),
        None => path.to_path_buf(),
    }
}

struct Substituted<'a> {
    readiness: &'a Readiness,
    port: Option<u16>,
}

impl fmt::Display for Substituted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |text: &str| substitute(text, self.port);
        match &self.readiness.0 {
            Kind::None => write!(f, "nothing (started means spawned)"),
            Kind::Output(pattern) => write!(f, "an output line matching /{}/", s(pattern)),
            Kind::Tcp(address) => write!(f, "TCP {} to accept connections", s(address)),
            Kind::Http {
                method,
                url,
                statuses,
            } => {
                let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
                write!(
                    f,
                    "HTTP {method} {} to answer {}",
                    s(url),
                    statuses.join(" or ")
                )
            }
            Kind::UnixSocket(path) => write!(
                f,
                "unix socket {} to accept connections",
                subst_path(path, self.port).display()
            ),
            Kind::PidFile(path) => write!(
                f,
                "pid file {} to appear",
                subst_path(path, self.port).display()
            ),
            Kind::Custom(custom) => write!(f, "{}", s(&custom.what)),
            Kind::All(conditions) => {
                write!(f, "all of [")?;
                for (i, condition) in conditions.iter().enumerate() {
                    if i > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "{}", condition.describe(self.port))?;
                }
                write!(f, "]")
            }
        }
    }
}

impl fmt::Display for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.describe(None))
    }
}

/// A prepared condition, ready to be awaited.
#[derive(Debug)]
pub(crate) enum Probe {
    None,
    Output(oneshot::Receiver<()>),
    Tcp(String),
    Http {
        address: String,
        method: Method,
        uri: Uri,
        statuses: Vec<StatusCode>,
    },
    UnixSocket(PathBuf),
    PidFile(PathBuf),
    Custom(Custom, Option<u16>),
    All(Vec<Probe>),
}

impl Probe {
    /// Resolves once the condition holds; never gives up (the executor's
    /// timeout and its watch on the process bound the wait).
    pub(crate) fn wait(self) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            match self {
                Probe::None => {}
                Probe::Output(receiver) => {
                    if receiver.await.is_err() {
                        // The watchers were cleared: this start was abandoned.
                        std::future::pending::<()>().await;
                    }
                }
                Probe::Tcp(address) => {
                    backoff(|| async { TcpStream::connect(address.as_str()).await.is_ok() }).await
                }
                Probe::Http {
                    address,
                    method,
                    uri,
                    statuses,
                } => {
                    backoff(|| async {
                        matches!(http_status(&address, &method, &uri).await,
                                 Some(status) if statuses.contains(&status))
                    })
                    .await
                }
                Probe::UnixSocket(path) => {
                    backoff(|| async { UnixStream::connect(&path).await.is_ok() }).await
                }
                Probe::PidFile(path) => {
                    backoff(|| async {
                        tokio::fs::read_to_string(&path)
                            .await
                            .is_ok_and(|text| text.trim().parse::<u32>().is_ok())
                    })
                    .await
                }
                Probe::Custom(custom, port) => backoff(|| (custom.probe)(port)).await,
                Probe::All(probes) => {
                    futures::future::join_all(probes.into_iter().map(Probe::wait)).await;
                }
            }
        })
    }
}

/// Probes at once, then every millisecond for [`FAST_PHASE`], then after
/// 2, 4 … ms, never more than [`MAX_BACKOFF`] apart.
async fn backoff<F, Fut>(mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let mut poller = Poller::forever(pace());
    while !probe().await && poller.pause().await {}
}

/// The pace of the probes: see [`FIRST_BACKOFF`], [`FAST_PHASE`] and
/// [`MAX_BACKOFF`].
pub(crate) const fn pace() -> Pace {
    Pace::steady_then_doubling(FIRST_BACKOFF, FAST_PHASE, MAX_BACKOFF)
}

/// One HTTP/1 request on a fresh connection, closed afterwards so a probe
/// never leaves a pooled connection open on the service.
async fn http_status(address: &str, method: &Method, uri: &Uri) -> Option<StatusCode> {
    let stream = TcpStream::connect(address).await.ok()?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    let driver = tokio::spawn(connection);
    let path = uri
        .path_and_query()
        .map_or("/", |path_and_query| path_and_query.as_str());
    let request = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(
            hyper::header::HOST,
            uri.authority().map_or("", |a| a.as_str()),
        )
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .ok()?;
    let status = sender.send_request(request).await.ok().map(|r| r.status());
    drop(sender);
    driver.abort();
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_is_substituted_everywhere() {
        let readiness = Readiness::all([
            Readiness::tcp("127.0.0.1:{port}"),
            Readiness::http("http://127.0.0.1:{port}/health", [200, 204]),
        ]);
        assert!(readiness.wants_port());
        assert_eq!(
            readiness.describe(Some(4242)),
            "all of [TCP 127.0.0.1:4242 to accept connections; \
             HTTP GET http://127.0.0.1:4242/health to answer 200 or 204]"
        );
    }

    #[test]
    fn probes_go_every_millisecond_then_back_off_to_the_cap() {
        let mut pace = pace();
        let at = Duration::from_millis;
        for ms in [0, 1, 250, 499] {
            assert_eq!(pace.next_pause(at(ms)), FIRST_BACKOFF, "at {ms} ms");
        }
        let after: Vec<u64> = [500, 502, 506, 514, 530, 550, 570, 10_000]
            .into_iter()
            .map(|ms| pace.next_pause(at(ms)).as_millis() as u64)
            .collect();
        assert_eq!(after, [2, 4, 8, 16, 20, 20, 20, 20]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_port_that_never_opens_costs_few_probes() {
        // Counted on tokio's paused clock: the schedule's own arithmetic,
        // not the machine's speed.
        let probes = std::sync::atomic::AtomicUsize::new(0);
        let waited = tokio::time::timeout(
            Duration::from_secs(5),
            backoff(|| async {
                probes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                false
            }),
        )
        .await;
        assert!(waited.is_err(), "the probe never succeeds");
        let probes = probes.into_inner();
        // At most one a millisecond in the fast phase (501), four while the
        // pause doubles, then 50 a second for the 4.5 s left (225); tokio's
        // timer may stretch a 1 ms pause to 2 ms, which halves the first part.
        assert!((450..=730).contains(&probes), "{probes} probes in 5 s");
    }

    #[test]
    fn bad_conditions_are_errors_not_panics() {
        let output = Output::new(1);
        for readiness in [
            Readiness::output("(unclosed"),
            Readiness::http("not a url at all", [200]),
            Readiness::http("https://example.org/", [200]),
            Readiness::http("http://127.0.0.1:1/", [1000]),
            Readiness::http_method("NOT A METHOD", "http://127.0.0.1:1/", [200]),
        ] {
            assert!(readiness.prepare(None, &output).is_err(), "{readiness}");
        }
    }
}
