//! The console's HTTP server: accepts connections and serves each with
//! hyper, with a deadline for the request headers.
//!
//! `axum::serve` would do, but it sets no deadline, so a client that opens
//! connections and sends its headers a byte at a time (slowloris) holds
//! each connection for as long as it likes. Serving each connection with
//! hyper's own builder gives the deadline, and tells every request which
//! local address its connection arrived at, which the [`Host`
//! check](super::security) needs.

use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The longest wait, at shutdown, for a connection to finish the response
/// it is writing; a plain HTTP exchange with the console takes milliseconds.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Where a request's connection came from and arrived at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    pub(crate) local: SocketAddr,
    pub(crate) peer: SocketAddr,
}

/// Serves `router` on `listener` until `token` is cancelled; returns once
/// the listener is closed and every connection has ended (upgraded
/// WebSockets are the relays' own, tracked elsewhere).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    token: CancellationToken,
) {
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            biased;
            () = token.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let local = match stream.local_addr() {
                    Ok(local) => local,
                    Err(error) => {
                        tracing::debug!(%peer, %error, "connection gone before it was served");
                        continue;
                    }
                };
                let arrival = Arrival { local, peer };
                connections.spawn(connection(
                    stream,
                    arrival,
                    router.clone(),
                    header_timeout,
                    token.clone(),
                ));
            }
            Err(error) => {
                // Out of file descriptors, mostly: pause and let some close
                // instead of spinning.
                tracing::warn!(%error, "console: accept failed");
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
            }
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// Serves one connection until it closes, or until shutdown lets it end
/// the exchange in progress.
async fn connection(
    stream: TcpStream,
    arrival: Arrival,
    router: Router,
    header_timeout: Duration,
    token: CancellationToken,
) {
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(arrival);
        router.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let mut served = pin!(
        builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
    );
    let result = tokio::select! {
        result = served.as_mut() => result,
        () = token.cancelled() => {
            served.as_mut().graceful_shutdown();
            match tokio::time::timeout(CLOSE_WAIT, served.as_mut()).await {
                Ok(result) => result,
                Err(_) => return,
            }
        }
    };
    if let Err(error) = result {
        // A header deadline passed, or a client went away: theirs to know.
        tracing::debug!(peer = %arrival.peer, %error, "console connection ended");
    }
}
