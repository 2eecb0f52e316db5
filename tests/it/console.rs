//! The web console without a browser: the page it serves, the WebSocket
//! relay to a real simulator over TCP, its shutdown, and its command line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use discos_acceptance::backend::HandlerKind;
use discos_acceptance::client::Client;
use discos_acceptance::console::{Config, Console};
use discos_acceptance::poll::{Pace, Poller};
use discos_acceptance::server::{self, Server};

const BIN: &str = env!("CARGO_BIN_EXE_discos-sim");
const LIMIT: Duration = Duration::from_secs(5);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn simulator() -> Server {
    Server::start(
        server::Config::default(),
        HandlerKind::Simulator.build(None),
    )
    .await
    .expect("simulator starts")
}

async fn console_for(backend: &str) -> Console {
    Console::start(Config {
        backend: backend.to_owned(),
        ..Config::default()
    })
    .await
    .expect("console starts")
}

/// Polls `probe` every 5 ms until it holds, for at most `limit`.
async fn eventually(limit: Duration, what: &str, mut probe: impl FnMut() -> bool) {
    let mut poller = Poller::within(limit, Pace::every(Duration::from_millis(5)));
    loop {
        if probe() {
            return;
        }
        assert!(poller.pause().await, "{what} within {limit:?}");
    }
}

/// Sends `request`, a whole request, over a fresh connection and reads
/// the response to its end: (status line, headers and body).
async fn raw(console: &Console, request: &str) -> (String, String) {
    let mut stream = TcpStream::connect(console.local_addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(LIMIT, stream.read_to_string(&mut response))
        .await
        .expect("the response in time")
        .unwrap();
    let (status, rest) = response.split_once("\r\n").expect("a status line");
    (status.to_owned(), rest.to_owned())
}

/// `GET path` with `Host: host`.
async fn get_as(console: &Console, host: &str, path: &str) -> (String, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    raw(console, &request).await
}

/// `GET path` as a browser on this machine asks it.
async fn get(console: &Console, path: &str) -> (String, String) {
    get_as(console, &console.local_addr().to_string(), path).await
}

/// The value of header `name` in a response's headers and body.
fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The body of a response.
fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

async fn open_socket(console: &Console) -> Socket {
    let url = format!("ws://{}/ws", console.local_addr());
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the WebSocket opens");
    socket
}

/// Opens `/ws` at `console` as a page of `origin` would, naming the
/// console `host`: the socket, or the refusal's status and body.
async fn open_socket_as(
    console: &Console,
    host: &str,
    origin: Option<&str>,
) -> Result<Socket, (u16, String)> {
    socket_at(&console.local_addr().to_string(), host, origin).await
}

/// As [`open_socket_as`], for the console at `address`.
async fn socket_at(
    address: &str,
    host: &str,
    origin: Option<&str>,
) -> Result<Socket, (u16, String)> {
    let url = format!("ws://{address}/ws");
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("host", HeaderValue::from_str(host).unwrap());
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    // The connection goes to the console whatever the Host says.
    let stream = TcpStream::connect(address).await.unwrap();
    match tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            Err((
                response.status().as_u16(),
                String::from_utf8_lossy(body).into_owned(),
            ))
        }
        Err(error) => panic!("neither a WebSocket nor a refusal: {error}"),
    }
}

/// The next JSON message from the relay; `None` once the socket closed.
/// After a close frame it reads on, as a browser does, so the answering
/// close frame is sent and the relay sees a clean close.
async fn next(socket: &mut Socket) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(LIMIT, socket.next())
            .await
            .expect("a message from the relay in time");
        match frame {
            None | Some(Err(_)) => return None,
            Some(Ok(WsMessage::Close(_))) => {}
            Some(Ok(WsMessage::Text(text))) => {
                return Some(serde_json::from_str(text.as_str()).expect("JSON from the relay"));
            }
            Some(Ok(_)) => {}
        }
    }
}

/// Reads until a status message in `state`, returning its text.
async fn until_status(socket: &mut Socket, state: &str) -> String {
    loop {
        let message = next(socket)
            .await
            .unwrap_or_else(|| panic!("socket closed before status {state}"));
        if message["type"] == "status" && message["state"] == state {
            return message["text"].as_str().unwrap().to_owned();
        }
    }
}

async fn connected(console: &Console) -> Socket {
    let mut socket = open_socket(console).await;
    until_status(&mut socket, "connected").await;
    socket
}

/// Sends a line and returns (request line, reply line, reply code).
async fn exchange(socket: &mut Socket, line: &str) -> (String, String, String) {
    socket.send(WsMessage::text(line)).await.unwrap();
    let request = next(socket).await.expect("the request echoed");
    assert_eq!(request["type"], "request", "{request}");
    let reply = next(socket).await.expect("a reply");
    assert_eq!(reply["type"], "reply", "{reply}");
    (
        request["line"].as_str().unwrap().to_owned(),
        reply["line"].as_str().unwrap().to_owned(),
        reply["code"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_page_is_served_with_the_ids_the_steps_use() {
    let console = console_for("127.0.0.1:1").await;
    assert!(console.url().starts_with("http://127.0.0.1:"));
    let (status, page) = get(&console, "/").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        page.to_lowercase().contains("content-type: text/html"),
        "{page}"
    );
    for needed in [
        r#"id="transcript""#,
        r#"id="line""#,
        r#"id="send""#,
        r#"id="status" data-state="connecting""#,
        r#"src="/console.js""#,
        r#"href="/console.css""#,
    ] {
        assert!(page.contains(needed), "{needed} missing from the page");
    }
    let (status, script) = get(&console, "/console.js").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(script.contains("text/javascript"));
    assert!(script.contains(r#"item.className = "exchange""#));
    assert!(script.contains("dataset.code"));
    let (status, style) = get(&console, "/console.css").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(style.contains("text/css"));
    let (status, health) = get(&console, "/status").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(health.contains(r#""ready":true"#), "{health}");
    let (status, _) = get(&console, "/nothing-here").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    console.shutdown_within(LIMIT).await.expect("no task left");
}

#[tokio::test]
async fn a_line_goes_to_the_backend_with_its_question_mark_added() {
    let server = simulator().await;
    let console = console_for(&server.local_addr().to_string()).await;
    let mut socket = open_socket(&console).await;
    let text = until_status(&mut socket, "connected").await;
    assert!(text.contains(&server.local_addr().to_string()), "{text}");
    assert!(text.contains("1.4"), "{text}");

    let (request, reply, code) = exchange(&mut socket, "set-configuration,K2000").await;
    assert_eq!(request, "?set-configuration,K2000");
    assert_eq!(reply, "!set-configuration,ok");
    assert_eq!(code, "ok");
    let (request, reply, code) = exchange(&mut socket, "?get-configuration").await;
    assert_eq!(request, "?get-configuration");
    assert_eq!(
        (reply.as_str(), code.as_str()),
        ("!get-configuration,ok,K2000", "ok")
    );

    // Really the backend's state, as another client sees it.
    let mut other = Client::connect(server.local_addr().to_string())
        .await
        .unwrap();
    let seen = other.request_text("get-configuration").await.unwrap();
    assert_eq!(seen.to_string(), "!get-configuration,ok,K2000");
    other.close().await.unwrap();

    let (_, reply, code) = exchange(&mut socket, "set-integration,soon").await;
    assert_eq!(code, "fail", "{reply}");
    assert!(
        reply.contains("integration time must be an integer"),
        "{reply}"
    );

    socket.close(None).await.unwrap();
    console.shutdown_within(LIMIT).await.expect("no task left");
    server.shutdown().await;
}

#[tokio::test]
async fn a_malformed_line_shows_the_backends_invalid_reply() {
    let server = simulator().await;
    let console = console_for(&server.local_addr().to_string()).await;
    let mut socket = connected(&console).await;
    let (request, reply, code) = exchange(&mut socket, r"set-filename,a\q").await;
    assert_eq!(request, r"?set-filename,a\q", "sent as typed");
    assert_eq!(code, "invalid");
    assert!(reply.starts_with("!set-filename,invalid,"), "{reply}");
    let (_, reply, code) = exchange(&mut socket, "9lives").await;
    assert_eq!(code, "invalid", "{reply}");
    let (_, reply, code) = exchange(&mut socket, "!status,ok").await;
    assert_eq!(code, "invalid", "a reply sent to the backend: {reply}");
    // Still usable afterwards.
    let (_, reply, code) = exchange(&mut socket, "version").await;
    assert_eq!((reply.as_str(), code.as_str()), ("!version,ok,1.4", "ok"));

    // What cannot be put on the wire as one line is not sent, and said so.
    for unsendable in ["status\r\nstatus", "set-filename,€"] {
        socket.send(WsMessage::text(unsendable)).await.unwrap();
        let said = next(&mut socket).await.unwrap();
        assert_eq!(said["type"], "event", "{said}");
        assert!(
            said["text"].as_str().unwrap().starts_with("not sent"),
            "{said}"
        );
    }
    let (_, reply, _) = exchange(&mut socket, "version").await;
    assert_eq!(reply, "!version,ok,1.4", "nothing stray was sent");
    socket.close(None).await.unwrap();
    console.shutdown_within(LIMIT).await.expect("no task left");
    server.shutdown().await;
}

#[tokio::test]
async fn a_line_longer_than_the_read_buffer_reaches_the_backend_whole() {
    let server = simulator().await;
    let console = console_for(&server.local_addr().to_string()).await;
    let mut socket = connected(&console).await;
    // Far beyond one read of the socket, within what a backend accepts.
    let name = "K".repeat(40 * 1024);
    let (request, reply, code) = exchange(&mut socket, &format!("set-configuration,{name}")).await;
    assert_eq!(request.len(), "?set-configuration,".len() + name.len());
    assert_eq!(
        (reply.as_str(), code.as_str()),
        ("!set-configuration,ok", "ok")
    );
    let (_, reply, _) = exchange(&mut socket, "get-configuration").await;
    assert_eq!(reply, format!("!get-configuration,ok,{name}"));
    socket.close(None).await.unwrap();
    console.shutdown_within(LIMIT).await.expect("no task left");
    server.shutdown().await;
}

#[tokio::test]
async fn the_backend_connection_closes_when_the_socket_closes() {
    let server = simulator().await;
    let console = console_for(&server.local_addr().to_string()).await;
    let mut first = connected(&console).await;
    let mut second = connected(&console).await;
    assert_eq!(console.open_relays(), 2);
    assert_eq!(console.backend_connections(), 2);
    eventually(LIMIT, "the simulator sees both pages", || {
        server.open_connections() == 2
    })
    .await;

    first.close(None).await.unwrap();
    while next(&mut first).await.is_some() {}
    eventually(LIMIT, "the first page's backend connection closed", || {
        server.open_connections() == 1 && console.backend_connections() == 1
    })
    .await;
    eventually(LIMIT, "the first relay ended", || {
        console.open_relays() == 1
    })
    .await;
    let (_, reply, _) = exchange(&mut second, "version").await;
    assert_eq!(reply, "!version,ok,1.4", "the other page is untouched");

    // A page that vanishes without a close frame counts too.
    drop(second);
    eventually(LIMIT, "every backend connection closed", || {
        server.open_connections() == 0
            && console.backend_connections() == 0
            && console.open_relays() == 0
    })
    .await;
    eventually(LIMIT, "only the HTTP task left", || {
        console.live_tasks() == 1
    })
    .await;
    console.shutdown_within(LIMIT).await.expect("no task left");
    server.shutdown().await;
}

#[tokio::test]
async fn a_backend_that_goes_away_is_shown() {
    let server = simulator().await;
    let console = console_for(&server.local_addr().to_string()).await;
    let mut socket = connected(&console).await;
    server.shutdown().await;
    let text = until_status(&mut socket, "closed").await;
    assert_eq!(text, "backend closed the connection");
    assert!(next(&mut socket).await.is_none(), "the socket closes too");
    eventually(LIMIT, "the relay ended", || {
        console.open_relays() == 0 && console.backend_connections() == 0
    })
    .await;
    console.shutdown_within(LIMIT).await.expect("no task left");
}

#[tokio::test]
async fn a_silent_backend_is_shown_and_disconnected() {
    // A backend that greets, then never answers: the request shows at once,
    // the missing reply after the reply timeout, and the connection is
    // dropped so a late reply cannot be shown against the next request.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let backend = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"!version,ok,1.4\r\n").await.unwrap();
        let mut heard = Vec::new();
        // Until the console closes the connection.
        tokio::time::timeout(LIMIT, stream.read_to_end(&mut heard))
            .await
            .expect("the console closes the connection")
            .unwrap();
        heard
    });
    let console = Console::start(Config {
        backend: address,
        reply_timeout: Duration::from_millis(300),
        ..Config::default()
    })
    .await
    .unwrap();
    let mut socket = connected(&console).await;
    socket.send(WsMessage::text("status")).await.unwrap();
    let request = next(&mut socket).await.unwrap();
    assert_eq!(request["type"], "request");
    assert_eq!(request["line"], "?status");
    let reply = next(&mut socket).await.unwrap();
    assert_eq!(
        (&reply["type"], &reply["code"]),
        (&"reply".into(), &"error".into())
    );
    let text = until_status(&mut socket, "closed").await;
    assert!(
        text.starts_with("backend did not reply within 300ms"),
        "{text}"
    );
    assert!(next(&mut socket).await.is_none());
    let heard = backend.await.unwrap();
    assert_eq!(heard, b"?status\r\n");
    assert_eq!(console.backend_connections(), 0);
    console.shutdown_within(LIMIT).await.expect("no task left");
}

#[tokio::test]
async fn an_unreachable_backend_is_shown() {
    // A port that was free a moment ago: nothing listens there.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = free.local_addr().unwrap().to_string();
    drop(free);
    let console = console_for(&address).await;
    let mut socket = open_socket(&console).await;
    let text = until_status(&mut socket, "closed").await;
    assert!(text.starts_with("cannot connect to the backend"), "{text}");
    assert!(text.contains(&address), "{text}");
    assert!(next(&mut socket).await.is_none());
    console.shutdown_within(LIMIT).await.expect("no task left");
}

#[tokio::test]
async fn shutdown_with_pages_open_closes_everything_and_waits() {
    let server = simulator().await;
    let console = console_for(&server.local_addr().to_string()).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(connected(&console).await);
    }
    assert_eq!(console.backend_connections(), 3);
    assert_eq!(console.live_tasks(), 4, "the server and one task per page");
    let address = console.local_addr();
    // The pages keep reading, as browsers do, while the console shuts down.
    let pages = async {
        for socket in &mut sockets {
            let text = until_status(socket, "closed").await;
            assert_eq!(text, "the console is shutting down");
            assert!(next(socket).await.is_none());
        }
    };
    let shutdown = async {
        tokio::time::timeout(LIMIT, console.shutdown())
            .await
            .expect("shutdown returns with pages open");
    };
    tokio::join!(pages, shutdown);
    assert!(
        TcpStream::connect(address).await.is_err(),
        "no longer listening"
    );
    eventually(LIMIT, "the simulator sees every connection closed", || {
        server.open_connections() == 0
    })
    .await;
    server.shutdown().await;
}

/// A `discos-sim` child, killed if a test fails before it ends it.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn first_lines(child: &mut std::process::Child, n: usize) -> Vec<String> {
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    (0..n)
        .map(|_| {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            line.trim_end().to_owned()
        })
        .collect()
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    kill(Pid::from_raw(child.0.id() as i32), Signal::SIGTERM).unwrap();
    child.0.wait().unwrap()
}

#[test]
fn the_console_command_prints_where_it_listens_and_ends_on_sigterm() {
    let mut child = Child(
        Command::new(BIN)
            .args(["console", "--backend", "127.0.0.1:8978", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = child.0.stderr.take().unwrap();
    let lines = first_lines(&mut child.0, 1);
    let url = lines[0]
        .strip_prefix("console on ")
        .unwrap_or_else(|| panic!("unexpected first line {:?}", lines[0]));
    let address = url
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("not an http URL: {url}"));
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    std::net::TcpStream::connect(address).expect("the console accepts connections");
    assert!(terminate(child).success());
    let mut said = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
    assert!(
        !said.contains("WARNING"),
        "on 127.0.0.1 nothing to warn of: {said}"
    );
}

#[test]
fn serve_with_a_console_port_serves_both_and_ends_both() {
    let mut child = Child(
        Command::new(BIN)
            .args(["serve", "--port", "0", "--console-port", "0"])
            .args([
                "--allow-origin",
                "http://localhost:9000",
                "--max-websockets",
                "1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lines = first_lines(&mut child.0, 2);
    assert!(lines[0].starts_with("listening on 127.0.0.1:"), "{lines:?}");
    assert!(
        lines[1].starts_with("console on http://127.0.0.1:"),
        "{lines:?}"
    );
    let simulator = lines[0].strip_prefix("listening on ").unwrap().to_owned();
    let console = lines[1]
        .strip_prefix("console on http://")
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // Through a tunnel on port 9000, allowed by --allow-origin.
        let mut socket = socket_at(&console, "localhost:9000", Some("http://localhost:9000"))
            .await
            .unwrap_or_else(|refusal| panic!("the allowed origin refused: {refusal:?}"));
        let text = until_status(&mut socket, "connected").await;
        assert!(
            text.contains(&simulator),
            "relays to its own simulator: {text}"
        );
        let (_, reply, _) = exchange(&mut socket, "version").await;
        assert_eq!(reply, "!version,ok,1.4");
        // --max-websockets 1: no room for a second page.
        let refused = socket_at(&console, &console, None).await;
        assert_eq!(refused.err().map(|(status, _)| status), Some(503));
        socket.close(None).await.unwrap();
        while next(&mut socket).await.is_some() {}
    });
    assert!(terminate(child).success());
}

#[test]
fn a_bad_backend_address_is_refused_clearly() {
    for bad in ["localhost", "127.0.0.1:http", ":8978"] {
        let out = Command::new(BIN)
            .args(["console", "--backend", bad])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--backend"), "{bad}: {stderr}");
        assert!(stderr.contains("HOST:PORT"), "{bad}: {stderr}");
        assert!(!stderr.contains("panicked"), "{bad}: {stderr}");
    }
    let out = Command::new(BIN)
        .args(["console", "--backend", "127.0.0.1:1", "--reply-timeout=-3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a duration"), "{stderr}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let console = console_for("127.0.0.1:1").await;
    let own = console.local_addr().to_string();
    let refused = get_as(&console, "evil.example", "/").await;
    for (what, (status, response)) in [
        ("the page", get(&console, "/").await),
        ("the script", get(&console, "/console.js").await),
        ("the status", get(&console, "/status").await),
        ("a missing page", get(&console, "/nothing-here").await),
        ("a refusal", refused),
    ] {
        let policy = header(&response, "content-security-policy")
            .unwrap_or_else(|| panic!("{what} ({status}) has no CSP: {response}"));
        for needed in [
            "frame-ancestors 'none'",
            "default-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(policy.contains(needed), "{what}: {needed} not in {policy}");
        }
        assert_eq!(
            header(&response, "x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(header(&response, "x-frame-options"), Some("DENY"), "{what}");
    }
    // The page may connect to its own WebSocket, and nowhere else.
    let (_, page) = get(&console, "/").await;
    let policy = header(&page, "content-security-policy").unwrap();
    assert!(
        policy.contains(&format!("connect-src ws://{own} wss://{own};")),
        "{policy}"
    );
    assert!(policy.contains("script-src 'self'"), "{policy}");
    console.shutdown_within(LIMIT).await.expect("no task left");
}

#[tokio::test]
async fn a_request_by_a_name_that_is_not_the_consoles_is_refused() {
    let server = simulator().await;
    let console = console_for(&server.local_addr().to_string()).await;
    let port = console.local_addr().port();
    // A name made to resolve here (DNS rebinding), or another port's.
    for foreign in [
        format!("evil.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1).max(1)),
        "localhost".to_owned(),
    ] {
        let (status, response) = get_as(&console, &foreign, "/").await;
        assert_eq!(status, "HTTP/1.1 403 Forbidden", "{foreign}: {response}");
        let said = body(&response);
        assert!(
            said.starts_with(&format!(
                "refused: the host '{foreign}' is not this console's"
            )),
            "{said}"
        );
        assert!(said.contains(&format!("localhost:{port}")), "{said}");
        assert!(!said.contains("DISCOS console"), "no page: {said}");
        let refused = open_socket_as(&console, &foreign, None).await;
        let (status, said) = refused.expect_err("no WebSocket for a foreign name");
        assert_eq!(status, 403);
        assert!(said.contains("is not this console's"), "{said}");
    }
    let (status, response) = raw(&console, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    assert!(body(&response).contains("no Host header"), "{response}");
    // The console's own names.
    for own in [
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        let (status, response) = get_as(&console, &own, "/").await;
        assert_eq!(status, "HTTP/1.1 200 OK", "{own}: {response}");
    }
    assert_eq!(console.open_relays(), 0);
    assert_eq!(
        server.accepted_connections(),
        0,
        "the backend was not touched"
    );
    console.shutdown_within(LIMIT).await.expect("no task left");
    server.shutdown().await;
}

#[tokio::test]
async fn a_websocket_from_another_sites_page_is_refused() {
    let server = simulator().await;
    let console = console_for(&server.local_addr().to_string()).await;
    let own = console.local_addr().to_string();
    let port = console.local_addr().port();
    for foreign in [
        "http://evil.example".to_owned(),
        format!("http://127.0.0.1:{}", port.wrapping_add(1).max(1)),
        format!("https://127.0.0.1:{port}"),
        "null".to_owned(),
    ] {
        let refused = open_socket_as(&console, &own, Some(&foreign)).await;
        let (status, said) = refused
            .err()
            .unwrap_or_else(|| panic!("{foreign} got a socket"));
        assert_eq!(status, 403, "{foreign}: {said}");
        assert!(
            said.starts_with(&format!(
                "refused: a WebSocket opened by a page of {foreign}"
            )),
            "{said}"
        );
        assert!(
            said.contains(&format!("--allow-origin {foreign}")),
            "{said}"
        );
    }
    assert_eq!(console.open_relays(), 0);
    assert_eq!(
        server.accepted_connections(),
        0,
        "no backend connection for a refused page"
    );

    // The console's own page, by any of its names; and a program, which
    // sends no Origin.
    for origin in [
        Some(format!("http://{own}")),
        Some(format!("http://localhost:{port}")),
        None,
    ] {
        let mut socket = open_socket_as(&console, &own, origin.as_deref())
            .await
            .unwrap_or_else(|refusal| panic!("{origin:?} refused: {refusal:?}"));
        until_status(&mut socket, "connected").await;
        let (_, reply, _) = exchange(&mut socket, "version").await;
        assert_eq!(reply, "!version,ok,1.4");
        socket.close(None).await.unwrap();
        while next(&mut socket).await.is_some() {}
    }
    console.shutdown_within(LIMIT).await.expect("no task left");
    server.shutdown().await;
}

#[tokio::test]
async fn an_allowed_origin_may_drive_the_console() {
    let server = simulator().await;
    let console = Console::start(Config {
        backend: server.local_addr().to_string(),
        allowed_origins: vec![
            "https://console.example".parse().unwrap(),
            "http://localhost:9000".parse().unwrap(),
        ],
        ..Config::default()
    })
    .await
    .unwrap();
    let own = console.local_addr().to_string();
    // Behind a proxy that keeps the Host, and through a tunnel on another
    // port: the page and its WebSocket.
    for (host, origin) in [
        ("console.example", "https://console.example"),
        (own.as_str(), "https://console.example"),
        ("localhost:9000", "http://localhost:9000"),
    ] {
        let (status, _) = get_as(&console, host, "/").await;
        assert_eq!(status, "HTTP/1.1 200 OK", "{host}");
        let mut socket = open_socket_as(&console, host, Some(origin))
            .await
            .unwrap_or_else(|refusal| panic!("{origin} via {host} refused: {refusal:?}"));
        until_status(&mut socket, "connected").await;
        let (_, reply, _) = exchange(&mut socket, "set-configuration,K2000").await;
        assert_eq!(reply, "!set-configuration,ok");
        socket.close(None).await.unwrap();
        while next(&mut socket).await.is_some() {}
    }
    // The allowance is for that origin exactly.
    let refused = open_socket_as(&console, &own, Some("http://console.example")).await;
    assert_eq!(refused.err().map(|(status, _)| status), Some(403));
    console.shutdown_within(LIMIT).await.expect("no task left");
    server.shutdown().await;
}

#[tokio::test]
async fn pages_beyond_the_limit_are_refused_with_the_reason() {
    let server = simulator().await;
    let console = Console::start(Config {
        backend: server.local_addr().to_string(),
        max_websockets: 2,
        ..Config::default()
    })
    .await
    .unwrap();
    let own = console.local_addr().to_string();
    let mut first = connected(&console).await;
    let _second = connected(&console).await;
    let refused = open_socket_as(&console, &own, None).await;
    let (status, said) = refused.expect_err("a third page is refused");
    assert_eq!(status, 503, "{said}");
    assert!(
        said.starts_with(
            "refused: the console has 2 pages open, as many as it may (--max-websockets)"
        ),
        "{said}"
    );
    assert_eq!(console.open_relays(), 2);
    assert_eq!(server.open_connections(), 2, "no backend connection for it");
    let (status, response) = get(&console, "/status").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "the page itself still loads");
    assert!(response.contains(r#""max_websockets":2"#), "{response}");

    // A page that closes makes room for another.
    first.close(None).await.unwrap();
    while next(&mut first).await.is_some() {}
    eventually(LIMIT, "the first relay ended", || {
        console.open_relays() == 1
    })
    .await;
    let mut third = open_socket_as(&console, &own, None)
        .await
        .expect("room for a page again");
    until_status(&mut third, "connected").await;
    console.shutdown_within(LIMIT).await.expect("no task left");
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_slow_to_send_its_headers_is_cut_off() {
    let console = Console::start(Config {
        backend: "127.0.0.1:1".to_owned(),
        header_timeout: Duration::from_millis(300),
        ..Config::default()
    })
    .await
    .unwrap();
    // Slowloris: a header a byte at a time, never finished.
    let mut stream = TcpStream::connect(console.local_addr()).await.unwrap();
    let start = format!("GET / HTTP/1.1\r\nHost: {}\r\n", console.local_addr());
    stream.write_all(start.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = stream.split();
    let trickle = async {
        let mut every = tokio::time::interval(Duration::from_millis(20));
        loop {
            every.tick().await;
            if writer.write_all(b"X").await.is_err() {
                return;
            }
        }
    };
    let mut heard = Vec::new();
    let cut_off = tokio::select! {
        // The end of the stream, or a reset: either way, closed.
        _ = reader.read_to_end(&mut heard) => true,
        () = trickle => true,
        () = tokio::time::sleep(LIMIT) => false,
    };
    assert!(cut_off, "still connected after {LIMIT:?}");
    let heard = String::from_utf8_lossy(&heard);
    assert!(
        !heard.contains("200 OK"),
        "no page for an unfinished request: {heard}"
    );

    // Silent from the start counts too.
    let mut silent = TcpStream::connect(console.local_addr()).await.unwrap();
    let mut nothing = Vec::new();
    let closed = tokio::time::timeout(LIMIT, silent.read_to_end(&mut nothing)).await;
    assert!(closed.is_ok(), "a silent client is disconnected");

    // A request that comes in time is served as ever.
    let (status, _) = get(&console, "/").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    console.shutdown_within(LIMIT).await.expect("no task left");
}

#[test]
fn bad_console_options_are_refused_clearly() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--allow-origin", "evil.example"],
            "'evil.example' is not an origin",
        ),
        (
            &["--allow-origin", "ftp://a.example"],
            "has the scheme 'ftp'",
        ),
        (
            &["--allow-origin", "http://a.example/x"],
            "more than a scheme, a host and a port",
        ),
        (&["--max-websockets", "0"], "--max-websockets"),
        (&["--header-timeout", "10"], "no unit; write e.g. 10s"),
        (&["--header-timeout", "0s"], "too short"),
    ];
    for (args, expected) in cases {
        let out = Command::new(BIN)
            .args(["console", "--backend", "127.0.0.1:1"])
            .args(*args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // Where there is no console, its options would do nothing.
    let out = Command::new(BIN)
        .args([
            "serve",
            "--port",
            "0",
            "--allow-origin",
            "http://localhost:9000",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--allow-origin is for the console: add --console-port PORT"),
        "{stderr}"
    );
}
