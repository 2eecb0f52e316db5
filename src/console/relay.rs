//! The WebSocket relay: one per open page, holding that page's own backend
//! connection for exactly as long as the page is open.
//!
//! The page sends request lines as typed; the relay tells the page what it
//! sends and what comes back, as small JSON messages:
//!
//! - `{"type":"status","state":"connecting"|"connected"|"closed","text":…}`
//! - `{"type":"request","line":"?set-configuration,K2000"}`
//! - `{"type":"reply","line":"!set-configuration,ok","code":"ok"}` — `code`
//!   is the reply's return code, or `error` when no proper reply came
//! - `{"type":"event","text":…}` — anything else worth showing (a line that
//!   could not be sent, something the backend sent unprompted)
//!
//! Lines go to the backend as typed, only with a `?` added when it was left
//! out, so a malformed line reaches the backend and the page shows the
//! backend's own `invalid` answer rather than the console's opinion.

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::OwnedSemaphorePermit;

use super::http::Arrival;
use super::{Open, Shared};
use crate::client::{Client, ClientError, ClientOptions, Received};
use crate::protocol::escape_line;
use crate::protocol::{DEFAULT_MAX_LINE, Message, latin1};

/// The largest WebSocket message accepted from a page: room for the longest
/// line a backend accepts by default and then some, so that the backend, not
/// the console, is the one that answers an over-long line.
const MAX_MESSAGE: usize = 4 * DEFAULT_MAX_LINE;

/// How much of a page's socket is read at a time. One typed line at a
/// time needs little, and the default (128 KiB, allocated for every open
/// page) made each page cost more than the backend connection it relays to.
const READ_BUFFER: usize = 4 * 1024;

/// The longest wait for a page to acknowledge the close: a page that does
/// not answer must not hold up a shutdown.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// WebSocket close code for a normal closure.
const NORMAL_CLOSURE: u16 = 1000;

/// Upgrades `/ws` and relays on the new socket, unless the console has as
/// many pages open as it may: then `503`, saying so.
pub(super) async fn upgrade(
    ws: WebSocketUpgrade,
    State(shared): State<Shared>,
    arrival: Option<Extension<Arrival>>,
) -> Response {
    let Ok(page) = shared.pages.clone().try_acquire_owned() else {
        let peer = arrival.map(|Extension(arrival)| arrival.peer.to_string());
        tracing::warn!(
            peer = peer.as_deref().unwrap_or("unknown"),
            limit = shared.max_websockets,
            "refused a WebSocket: as many pages open as --max-websockets allows"
        );
        let reason = format!(
            "refused: the console has {} pages open, as many as it may \
             (--max-websockets); close one and try again\n",
            shared.max_websockets
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            reason,
        )
            .into_response();
    };
    // Counted from now, not from when the upgrade completes, so a shutdown
    // that starts in between still waits for this relay.
    let task = shared.tracker.token();
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| async move {
            relay(socket, shared, page).await;
            drop(task);
        })
}

/// Why a relay ends.
enum Ending {
    /// The page closed its socket (or it broke).
    PageClosed,
    /// The console is shutting down.
    Shutdown,
    /// The backend went away or misbehaved; the text says how, for the page.
    Backend(String),
}

/// What an exchange left behind.
enum After {
    Continue,
    Stop(Ending),
}

/// One page's relay: connects to the backend, relays lines until the page,
/// the backend or a shutdown ends it, then closes both ends cleanly.
async fn relay(mut socket: WebSocket, shared: Shared, page: OwnedSemaphorePermit) {
    // The permit goes before the count (a tuple drops in order), so whoever
    // sees a relay counted closed may open another page.
    let _relay = (page, Open::new(&shared.stats.relays));
    let Some(mut client) = connect(&mut socket, &shared).await else {
        return;
    };
    let backend_open = Open::new(&shared.stats.backends);
    let text = format!(
        "connected to {} (DISCOS protocol {})",
        client.peer(),
        client.version()
    );
    tell_status(&mut socket, "connected", &text).await;
    heard(&shared);
    check_framing(
        &mut socket,
        &shared,
        "the greeting",
        client.handshake_line(),
    )
    .await;

    let ending = relay_lines(&mut socket, &shared, &mut client).await;
    let goodbye = match &ending {
        Ending::PageClosed => None,
        Ending::Shutdown => Some("the console is shutting down".to_owned()),
        Ending::Backend(text) => Some(text.clone()),
    };
    match client.close().await {
        Ok(lines) => {
            for received in lines {
                note_unprompted(&shared, &received.shown());
            }
        }
        Err(error) => tracing::debug!(%error, "closing the backend connection"),
    }
    drop(client);
    drop(backend_open);
    if let Some(text) = goodbye {
        say_goodbye(&mut socket, &text, shared.reply_timeout).await;
    }
}

/// Connects the page's own backend connection, telling the page; `None`
/// (the page told why, and closed) when none could be had or the console
/// is shutting down.
async fn connect(socket: &mut WebSocket, shared: &Shared) -> Option<Client> {
    let backend = shared.backend.clone();
    tell_status(socket, "connecting", &format!("connecting to {backend}…")).await;
    let options = ClientOptions {
        reply_timeout: shared.reply_timeout,
        // The page is the transcript; the relay need not keep another.
        transcript: false,
        ..ClientOptions::default()
    };
    let connected = tokio::select! {
        connected = Client::connect_with(backend, options) => connected,
        () = shared.token.cancelled() => {
            say_goodbye(socket, "the console is shutting down", shared.reply_timeout).await;
            return None;
        }
    };
    match connected {
        Ok(client) => Some(client),
        Err(error) => {
            let text = format!("cannot connect to the backend: {error}");
            say_goodbye(socket, &text, shared.reply_timeout).await;
            None
        }
    }
}

/// Relays typed lines and shows what the backend sends unprompted, until
/// the page closes, the backend's connection ends, or the console shuts
/// down: one `select!` over the page and the backend.
async fn relay_lines(socket: &mut WebSocket, shared: &Shared, client: &mut Client) -> Ending {
    loop {
        tokio::select! {
            biased;
            () = shared.token.cancelled() => return Ending::Shutdown,
            incoming = socket.recv() => {
                let line = match incoming {
                    None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return Ending::PageClosed,
                    Some(Ok(WsMessage::Text(text))) => text.as_str().to_owned(),
                    Some(Ok(WsMessage::Binary(bytes))) => latin1::decode(&bytes),
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                };
                if let After::Stop(ending) = exchange(socket, shared, client, &line).await {
                    return ending;
                }
            }
            received = client.receive() => match received {
                // Nothing to say while idle; keep listening.
                Err(ClientError::Timeout { .. }) => {}
                Err(ClientError::Closed { .. }) => {
                    let what = "the backend closed a page's connection while the page kept it open".to_owned();
                    note(shared, "one-reply", what, true);
                    return Ending::Backend("backend closed the connection".to_owned());
                }
                Ok(message) | Err(ClientError::NotAReply { message, .. }) => {
                    unprompted(socket, shared, &message.to_string()).await;
                }
                Err(ClientError::Malformed { error, .. }) => {
                    let line = client.last_line().map(Received::shown).unwrap_or_default();
                    note_unprompted(shared, &line);
                    tell_event(socket, &format!("backend sent a malformed line: {error}")).await;
                }
                Err(error) => return Ending::Backend(format!("backend connection lost: {error}")),
            },
        }
    }
}

/// Sends one typed line and shows its reply: what came before it, unasked,
/// is shown as such, not as its reply.
async fn exchange(
    socket: &mut WebSocket,
    shared: &Shared,
    client: &mut Client,
    line: &str,
) -> After {
    for received in client.arrived().unwrap_or_default() {
        unprompted(socket, shared, &received.shown()).await;
    }
    if line.contains(['\r', '\n']) {
        tell_event(
            socket,
            &format!(
                "not sent: one line at a time, without line breaks: {}",
                escape_line(line)
            ),
        )
        .await;
        return After::Continue;
    }
    // As typed, with only the `?` added, so the backend judges the line.
    let wire = if line.starts_with(['?', '!']) {
        line.to_owned()
    } else {
        format!("?{line}")
    };
    let mut bytes = match latin1::encode(&wire) {
        Ok(bytes) => bytes,
        Err(error) => {
            tell_event(socket, &format!("not sent: {error}")).await;
            return After::Continue;
        }
    };
    bytes.extend_from_slice(b"\r\n");
    tell(
        socket,
        json!({"type": "request", "line": escape_line(&wire)}),
    )
    .await;
    if let Err(error) = client.send_raw(&bytes).await {
        tell_reply(socket, "(not sent)", "error").await;
        return After::Stop(Ending::Backend(format!(
            "cannot send to the backend: {error}"
        )));
    }
    let received = client.receive().await;
    // Told after the reply, which the page shows first.
    let line = match &received {
        Ok(_)
        | Err(
            ClientError::NotAReply { .. } | ClientError::Malformed { .. } | ClientError::Cut { .. },
        ) => {
            heard(shared);
            client.last_line().cloned()
        }
        Err(ClientError::Closed { .. }) => {
            let what = format!(
                "the backend closed the connection instead of replying to {}",
                escape_line(&wire)
            );
            note(shared, "one-reply", what, true);
            None
        }
        Err(_) => None,
    };
    let after = show_reply(socket, received).await;
    let which = format!("the reply to {}", escape_line(&wire));
    check_framing(socket, shared, &which, line.as_ref()).await;
    after
}

/// Shows the page the reply that came, or why none did.
async fn show_reply(socket: &mut WebSocket, received: Result<Message, ClientError>) -> After {
    match received {
        Ok(reply) => {
            tell_reply(socket, &reply.to_string(), code_of(&reply)).await;
            After::Continue
        }
        Err(ClientError::NotAReply { message, .. }) => {
            tell_reply(socket, &message.to_string(), "error").await;
            After::Continue
        }
        Err(ClientError::Malformed { error, .. }) => {
            tell_reply(socket, &format!("(malformed: {error})"), "error").await;
            After::Continue
        }
        Err(ClientError::Closed { .. }) => {
            tell_reply(socket, "(no reply)", "error").await;
            After::Stop(Ending::Backend("backend closed the connection".to_owned()))
        }
        Err(ClientError::Timeout { after, .. }) => {
            tell_reply(socket, "(no reply)", "error").await;
            // A late reply would be shown against the next request.
            After::Stop(Ending::Backend(format!(
                "backend did not reply within {after:?}; disconnected"
            )))
        }
        Err(error) => {
            tell_reply(socket, "(no reply)", "error").await;
            After::Stop(Ending::Backend(format!("backend connection lost: {error}")))
        }
    }
}

fn code_of(reply: &Message) -> &'static str {
    reply.code().map_or("error", |code| code.as_str())
}

async fn tell(socket: &mut WebSocket, message: serde_json::Value) {
    // A page that is gone is noticed by the next receive; nothing to do here.
    let _ = socket
        .send(WsMessage::Text(message.to_string().into()))
        .await;
}

async fn tell_status(socket: &mut WebSocket, state: &str, text: &str) {
    tell(
        socket,
        json!({"type": "status", "state": state, "text": text}),
    )
    .await;
}

async fn tell_reply(socket: &mut WebSocket, line: &str, code: &str) {
    let line = escape_line(line);
    tell(socket, json!({"type": "reply", "line": line, "code": code})).await;
}

/// Shows the page a line the backend sent that no request awaited, and
/// keeps it for whoever judges the backend.
async fn unprompted(socket: &mut WebSocket, shared: &Shared, line: &str) {
    note_unprompted(shared, line);
    tell_event(socket, &format!("backend sent unprompted: {line}")).await;
}

fn note_unprompted(shared: &Shared, line: &str) {
    heard(shared);
    note(
        shared,
        "one-reply",
        format!("the backend sent, unprompted: {line}"),
        false,
    );
}

/// Shows the page, and keeps, how `which` (the greeting, the reply to a
/// line) breaks the framing DISCOS reads by, if it does.
async fn check_framing(
    socket: &mut WebSocket,
    shared: &Shared,
    which: &str,
    received: Option<&Received>,
) {
    let Some(received) = received else {
        return;
    };
    if let Some(misframed) = received.line.misframed() {
        let what = format!("{which} {misframed}: {}", received.shown());
        tell_event(socket, &format!("not as DISCOS reads it: {what}")).await;
        note(shared, misframed.requirement(), what, false);
    }
}

/// Keeps when a line from the backend last came.
fn heard(shared: &Shared) {
    *shared
        .stats
        .last_heard
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::time::Instant::now());
}

fn note(shared: &Shared, requirement: &'static str, what: String, hung_up: bool) {
    shared
        .stats
        .breaches
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .note(requirement, what, hung_up);
}

async fn tell_event(socket: &mut WebSocket, text: &str) {
    tell(socket, json!({"type": "event", "text": text})).await;
}

/// Tells the page why it is being closed, closes the socket, and waits
/// (bounded) for the page to acknowledge, so the close is clean on both ends.
async fn say_goodbye(socket: &mut WebSocket, text: &str, limit: Duration) {
    tell_status(socket, "closed", text).await;
    // Close reasons are limited to 123 bytes; the status message carries the whole text.
    let mut reason = String::new();
    for c in text.chars() {
        if reason.len() + c.len_utf8() > 120 {
            break;
        }
        reason.push(c);
    }
    let frame = CloseFrame {
        code: NORMAL_CLOSURE,
        reason: reason.into(),
    };
    if socket.send(WsMessage::Close(Some(frame))).await.is_err() {
        return;
    }
    let drained = async { while let Some(Ok(_)) = socket.recv().await {} };
    let _ = tokio::time::timeout(limit.min(CLOSE_WAIT), drained).await;
}
