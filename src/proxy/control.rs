//! The control interface: a small HTTP endpoint on 127.0.0.1 that changes
//! a running proxy's faults, as toxiproxy users are used to.
//!
//! | request | does |
//! |---|---|
//! | `GET /` | the proxy: where it listens, its backend, links open, whether it is down, its faults |
//! | `GET /faults` | the faults, `[{"id":1,"fault":"delay 2s on get-tpi"}]` |
//! | `POST /faults` | adds the fault in the body, written as `--fault` takes it; `201` and the fault, or `400` and why |
//! | `DELETE /faults/ID` | removes a fault (a `down` it names comes back up); `204`, or `404` |
//! | `DELETE /faults` | removes every fault; `204` |
//!
//! ```sh
//! curl -d 'delay 2s on get-tpi' http://127.0.0.1:8979/faults
//! curl -X DELETE http://127.0.0.1:8979/faults/1
//! ```
//!
//! It has no login, like the console, and is guarded in the same spirit:
//! only its own names are accepted in `Host` (`127.0.0.1`, `localhost`,
//! `[::1]` with its port), which defeats DNS rebinding, and a request that
//! carries an `Origin` is refused, since only browsers send one: a web page
//! open in the operator's browser cannot add a fault.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Fault, Proxy, Shared};
use crate::console::http;

/// How long a request's headers may take to arrive.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// A running control interface; dropping it stops it,
/// [`Control::shutdown`] also waits.
#[derive(Debug)]
pub struct Control {
    local_addr: SocketAddr,
    token: CancellationToken,
    tracker: TaskTracker,
}

#[derive(Clone)]
struct View {
    shared: Arc<Shared>,
    listening: SocketAddr,
}

impl Control {
    /// Serves the control interface of `proxy` on `address` (`host:port`,
    /// port 0 for a free one).
    pub async fn start(address: &str, proxy: &Proxy) -> std::io::Result<Control> {
        let listener = TcpListener::bind(address).await?;
        let local_addr = listener.local_addr()?;
        let view = View {
            shared: proxy.shared.clone(),
            listening: proxy.local_addr(),
        };
        let guard = Names::of(local_addr.port());
        let router = Router::new()
            .route("/", get(status))
            .route("/faults", get(list).post(add).delete(clear))
            .route("/faults/{id}", delete(remove))
            .with_state(view)
            .layer(axum::middleware::from_fn_with_state(guard, guarded));
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        tracker.spawn(http::serve(listener, router, HEADER_TIMEOUT, token.clone()));
        tracing::info!(%local_addr, "proxy control listening");
        Ok(Control {
            local_addr,
            token,
            tracker,
        })
    }

    /// Where the interface listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Its address, what `curl` is given.
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }

    /// Stops listening and returns when every connection has ended.
    pub async fn shutdown(self) {
        self.token.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// The names the interface answers to.
#[derive(Debug, Clone)]
struct Names(Arc<[String]>);

impl Names {
    fn of(port: u16) -> Names {
        Names(
            ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .map(|host| format!("{host}:{port}"))
                .collect(),
        )
    }
}

/// Refuses a request by a foreign name or from a web page.
async fn guarded(State(names): State<Names>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map(str::to_ascii_lowercase);
    let refusal = if let Some(origin) = request.headers().get(header::ORIGIN) {
        Some(format!(
            "a request from the web page {} (it carries an Origin): the control interface is for programs and people on this machine",
            String::from_utf8_lossy(origin.as_bytes())
        ))
    } else if !host.as_ref().is_some_and(|host| names.0.contains(host)) {
        Some(format!(
            "the host '{}' is not this interface's; it answers to {}",
            host.as_deref().unwrap_or(""),
            names.0.join(", ")
        ))
    } else {
        None
    };
    match refusal {
        None => next.run(request).await,
        Some(reason) => {
            tracing::warn!(path = %request.uri().path(), %reason, "proxy control: request refused");
            error(StatusCode::FORBIDDEN, format!("refused: {reason}"))
        }
    }
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn status(State(view): State<View>) -> Response {
    let faults = view.shared.faults.list();
    Json(json!({
        "listening": view.listening.to_string(),
        "backend": view.shared.backend,
        "links": view.shared.stats.open.load(std::sync::atomic::Ordering::SeqCst),
        "down": view.shared.faults.is_down(),
        "faults": &*faults,
    }))
    .into_response()
}

async fn list(State(view): State<View>) -> Response {
    Json(&*view.shared.faults.list()).into_response()
}

async fn add(State(view): State<View>, body: String) -> Response {
    let text = body.trim();
    if text.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "the body is empty: send a fault as --fault takes it, e.g. delay 2s on get-tpi"
                .to_owned(),
        );
    }
    match text.parse::<Fault>() {
        Ok(fault) => {
            let entry = view.shared.faults.add(fault);
            tracing::info!(id = entry.id, fault = %entry.fault, "fault added");
            (StatusCode::CREATED, Json(entry)).into_response()
        }
        Err(reason) => error(StatusCode::BAD_REQUEST, reason.to_string()),
    }
}

async fn remove(State(view): State<View>, Path(id): Path<String>) -> Response {
    let Ok(number) = id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("'{id}' is not a fault's number; GET /faults lists them"),
        );
    };
    if view.shared.faults.remove(number) {
        tracing::info!(id = number, "fault removed");
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(
            StatusCode::NOT_FOUND,
            format!("no fault {number}; GET /faults lists them"),
        )
    }
}

async fn clear(State(view): State<View>) -> Response {
    view.shared.faults.clear();
    tracing::info!("every fault removed");
    StatusCode::NO_CONTENT.into_response()
}
