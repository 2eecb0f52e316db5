//! The proxy over real TCP: every fault as a client sees it on the wire,
//! read as DISCOS reads (a byte at a time, up to the line feed), the
//! control interface, the bounds, the drained shutdown, and a recorded
//! session replayed. Timings are printed as measured figures; the only
//! assertions on time are the lower bounds a delay promises.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use discos_acceptance::backend::HandlerKind;
use discos_acceptance::client::{Client, ClientError};
use discos_acceptance::orchestration::reaper;
use discos_acceptance::protocol::LineEnd;
use discos_acceptance::proxy::{Config, Control, Proxy, Recorder};
use discos_acceptance::server::{self, Server};

const LONG_ENOUGH: Duration = Duration::from_secs(5);

async fn simulator() -> Server {
    Server::start(
        server::Config::default(),
        HandlerKind::Simulator.build(None),
    )
    .await
    .expect("the simulator starts")
}

async fn proxy(backend: &Server, faults: &[&str]) -> Proxy {
    proxy_with(backend.local_addr().to_string(), faults, |_| {}).await
}

async fn proxy_with(backend: String, faults: &[&str], adjust: impl FnOnce(&mut Config)) -> Proxy {
    let mut config = Config::new(backend);
    config.faults = faults
        .iter()
        .map(|text| text.parse().unwrap_or_else(|e| panic!("{e}")))
        .collect();
    config.shutdown_grace = Duration::from_secs(1);
    adjust(&mut config);
    Proxy::start(config).await.expect("the proxy starts")
}

/// A raw connection through the proxy, its greeting read.
async fn raw(proxy: &Proxy) -> TcpStream {
    let mut stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    stream.set_nodelay(true).unwrap();
    assert_eq!(line(&mut stream).await, b"!version,ok,1.4\r\n");
    stream
}

/// One line, read as DISCOS reads it: a byte at a time up to the line feed.
async fn line(stream: &mut TcpStream) -> Vec<u8> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let read = tokio::time::timeout(LONG_ENOUGH, stream.read(&mut byte))
            .await
            .expect("a line within 5 s")
            .expect("the connection reads");
        assert!(read == 1, "the connection ended after {line:?}");
        line.push(byte[0]);
        if byte[0] == b'\n' {
            return line;
        }
    }
}

/// Everything until the end of the stream (or the error that ends it).
async fn rest(stream: &mut TcpStream) -> (Vec<u8>, Option<std::io::ErrorKind>) {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(LONG_ENOUGH, stream.read(&mut buffer)).await {
            Err(_) => panic!("the connection did not end within 5 s; {bytes:?} came"),
            Ok(Ok(0)) => return (bytes, None),
            Ok(Ok(read)) => bytes.extend_from_slice(&buffer[..read]),
            Ok(Err(error)) => return (bytes, Some(error.kind())),
        }
    }
}

async fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).await.unwrap();
}

/// Shuts the proxy down and checks it drained cleanly.
async fn shut_down(proxy: Proxy) {
    let drained = proxy
        .shutdown_within(LONG_ENOUGH)
        .await
        .expect("the proxy's tasks end");
    assert_eq!(drained.cut, 0, "{drained:?}");
}

/// Polls `probe` every 5 ms until it holds, for at most 5 s.
async fn eventually(what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + LONG_ENOUGH;
    let mut every = tokio::time::interval(Duration::from_millis(5));
    while !probe() {
        assert!(tokio::time::Instant::now() < deadline, "{what} within 5 s");
        every.tick().await;
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::test]
async fn without_faults_every_byte_passes_unchanged_both_ways() {
    // A backend of the test's own, which answers with bytes no well-made
    // backend sends: a bare line feed, no code, a lone CR, latin-1.
    let backend = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = backend.local_addr().unwrap().to_string();
    const GREETING: &[u8] = b"!version,ok,1.4\n";
    const REPLIES: &[u8] = b"!odd\r\n!caf\xe9,ok,\\,\r\n\r\n!last,ok";
    let backend = tokio::spawn(async move {
        let (mut stream, _) = backend.accept().await.unwrap();
        stream.write_all(GREETING).await.unwrap();
        let mut got = Vec::new();
        let mut buffer = [0u8; 256];
        while !got.ends_with(b"END\n") {
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "the requests ended early: {got:?}");
            got.extend_from_slice(&buffer[..read]);
        }
        stream.write_all(REPLIES).await.unwrap();
        stream.shutdown().await.unwrap();
        let _ = stream.read(&mut buffer).await;
        got
    });
    let proxy = proxy_with(address, &[], |_| {}).await;
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let requests: &[u8] = b"?status\r\n?bare\n\xff\x00junk\r\n?set-filename,a\\,b\r\n  \r\nEND\n";
    // In pieces, as a slow client sends them.
    for piece in requests.chunks(5) {
        send(&mut client, piece).await;
    }
    assert_eq!(line(&mut client).await, GREETING);
    let (replies, error) = rest(&mut client).await;
    assert_eq!(error, None);
    assert_eq!(replies, REPLIES, "the backend's bytes, unchanged");
    // The client's close reaches the backend, which waits for it.
    drop(client);
    assert_eq!(
        backend.await.unwrap(),
        requests,
        "the client's bytes, unchanged"
    );
    assert_eq!(proxy.links_closed_within(LONG_ENOUGH).await, 0);
    shut_down(proxy).await;
}

#[tokio::test]
async fn a_delayed_reply_arrives_no_sooner_than_the_delay_and_others_pass_at_once() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["delay 200ms on get-configuration"]).await;
    let mut stream = raw(&proxy).await;
    let mut took = Vec::new();
    for request in ["?get-configuration\r\n", "?version\r\n"] {
        let started = Instant::now();
        send(&mut stream, request.as_bytes()).await;
        let reply = line(&mut stream).await;
        took.push(started.elapsed());
        assert!(reply.ends_with(b"\r\n"));
    }
    eprintln!(
        "delay 200ms on get-configuration: its reply after {}, a version reply after {}",
        ms(took[0]),
        ms(took[1])
    );
    assert!(took[0] >= Duration::from_millis(200), "{:?}", took[0]);
    drop(stream);
    shut_down(proxy).await;
}

#[tokio::test]
async fn jitter_spreads_the_delays_around_the_delay() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["delay 60ms jitter 40ms on version"]).await;
    let mut stream = raw(&proxy).await;
    let mut took = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        send(&mut stream, b"?version\r\n").await;
        line(&mut stream).await;
        took.push(started.elapsed());
    }
    took.sort();
    eprintln!(
        "delay 60ms jitter 40ms, 20 replies: min {}, median {}, max {}",
        ms(took[0]),
        ms(took[10]),
        ms(took[19])
    );
    assert!(
        took[0] >= Duration::from_millis(20),
        "never below 60 - 40 ms"
    );
    assert!(
        took[19] - took[0] >= Duration::from_millis(10),
        "20 draws over ±40 ms are not all within 10 ms of each other: {took:?}"
    );
    drop(stream);
    shut_down(proxy).await;
}

#[tokio::test]
async fn a_delayed_request_reaches_the_backend_late_and_in_order() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["delay 150ms on set-configuration requests"]).await;
    let mut stream = raw(&proxy).await;
    let started = Instant::now();
    send(
        &mut stream,
        b"?set-configuration,K2000\r\n?get-configuration\r\n",
    )
    .await;
    assert_eq!(line(&mut stream).await, b"!set-configuration,ok\r\n");
    assert_eq!(line(&mut stream).await, b"!get-configuration,ok,K2000\r\n");
    let took = started.elapsed();
    eprintln!(
        "delay 150ms on set-configuration requests: both replies after {}",
        ms(took)
    );
    assert!(took >= Duration::from_millis(150));
    drop(stream);
    shut_down(proxy).await;
}

#[tokio::test]
async fn a_sliced_reply_comes_in_pieces_with_pauses_between() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["slice 4 bytes every 15ms on get-configuration"]).await;
    let mut stream = raw(&proxy).await;
    let writes_before = proxy.client_writes();
    send(&mut stream, b"?get-configuration\r\n").await;
    let mut reads: Vec<(usize, Instant)> = Vec::new();
    let mut reply = Vec::new();
    let mut buffer = [0u8; 256];
    while !reply.ends_with(b"\n") {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0);
        reads.push((read, Instant::now()));
        reply.extend_from_slice(&buffer[..read]);
    }
    let pieces = proxy.client_writes() - writes_before;
    let gaps: Vec<String> = reads
        .windows(2)
        .map(|pair| ms(pair[1].1 - pair[0].1))
        .collect();
    eprintln!(
        "slice 4 bytes every 15ms: a {}-byte reply in {pieces} writes; the client read {} times, sizes {:?}, gaps {}",
        reply.len(),
        reads.len(),
        reads.iter().map(|(size, _)| *size).collect::<Vec<_>>(),
        gaps.join(", ")
    );
    assert_eq!(
        pieces as usize,
        reply.len().div_ceil(4),
        "one write per piece"
    );
    assert!(reads.len() > 1, "the reply did not come in one piece");
    drop(stream);
    shut_down(proxy).await;
}

#[tokio::test]
async fn merged_replies_come_in_one_piece() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["merge 2 within 2s"]).await;
    let mut stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    // The greeting waits for the first reply: both come in one piece.
    send(&mut stream, b"?version\r\n").await;
    let mut buffer = [0u8; 256];
    let read = stream.read(&mut buffer).await.unwrap();
    assert_eq!(&buffer[..read], b"!version,ok,1.4\r\n!version,ok,1.4\r\n");
    assert_eq!((proxy.client_writes(), proxy.client_lines()), (1, 2));
    drop(stream);
    shut_down(proxy).await;
}

#[tokio::test]
async fn drop_after_closes_once_the_last_reply_is_through() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["drop after 2 requests"]).await;
    let mut stream = raw(&proxy).await;
    for _ in 0..2 {
        send(&mut stream, b"?version\r\n").await;
        assert_eq!(line(&mut stream).await, b"!version,ok,1.4\r\n");
    }
    let _ = stream.write_all(b"?version\r\n").await;
    assert_eq!(
        rest(&mut stream).await,
        (Vec::new(), None),
        "an end of stream, no reply"
    );
    assert_eq!(proxy.links_closed_within(LONG_ENOUGH).await, 0);
    assert_eq!(proxy.faulted_links(), 1);
    shut_down(proxy).await;
    assert_eq!(
        backend.open_connections(),
        0,
        "the backend's side was closed too"
    );
}

#[tokio::test]
async fn drop_mid_reply_passes_half_a_line_then_the_end() {
    let backend = simulator().await;
    // The greeting is the reply named version.
    let proxy = proxy(&backend, &["drop mid-reply on version"]).await;
    let mut stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let (bytes, error) = rest(&mut stream).await;
    assert_eq!(error, None);
    assert_eq!(
        bytes, b"!version",
        "half of the 17-byte greeting, then the end"
    );
    // Our client does not take the half line for a reply.
    let proxy2 = proxy_with(backend.local_addr().to_string(), &[], |_| {}).await;
    let mut client = Client::connect(proxy2.local_addr().to_string())
        .await
        .unwrap();
    proxy2
        .faults()
        .add("drop mid-reply on get-configuration".parse().unwrap());
    client
        .send(&discos_acceptance::protocol::request_from_text("get-configuration").unwrap())
        .await
        .unwrap();
    let cut = client.receive_line().await.unwrap();
    assert_eq!(cut.line.end, LineEnd::Eof, "cut by the connection's end");
    assert!(
        cut.line.raw.starts_with(b"!get-configur"),
        "{:?}",
        cut.line.raw
    );
    assert!(matches!(
        client.receive().await,
        Err(ClientError::Closed { .. })
    ));
    client.close().await.unwrap();
    shut_down(proxy).await;
    shut_down(proxy2).await;
}

#[tokio::test]
async fn reset_on_a_request_or_a_reply_resets_the_client() {
    let backend = simulator().await;
    for (fault, configured) in [
        ("reset on set-configuration requests", false),
        ("reset on set-configuration", true),
    ] {
        let proxy = proxy(&backend, &[fault]).await;
        let mut stream = raw(&proxy).await;
        send(&mut stream, b"?set-configuration,K2000\r\n").await;
        let (bytes, error) = rest(&mut stream).await;
        assert_eq!(
            (bytes.as_slice(), error),
            (&b""[..], Some(std::io::ErrorKind::ConnectionReset)),
            "{fault}"
        );
        // Whether the backend got it: on requests it did not.
        let mut direct = Client::connect(backend.local_addr().to_string())
            .await
            .unwrap();
        let reply = direct.request_text("get-configuration").await.unwrap();
        assert_eq!(
            reply.to_string().ends_with("K2000"),
            configured,
            "{fault}: {reply}"
        );
        direct.close().await.unwrap();
        assert_eq!(proxy.links_closed_within(LONG_ENOUGH).await, 0);
        shut_down(proxy).await;
    }
}

#[tokio::test]
async fn a_hung_link_passes_nothing_and_stays_open() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["hang on time"]).await;
    let mut stream = raw(&proxy).await;
    send(&mut stream, b"?version\r\n").await;
    assert_eq!(line(&mut stream).await, b"!version,ok,1.4\r\n");
    send(&mut stream, b"?time\r\n?version\r\n").await;
    let mut byte = [0u8; 1];
    let waited = Duration::from_millis(300);
    let read = tokio::time::timeout(waited, stream.read(&mut byte)).await;
    assert!(read.is_err(), "nothing came in {waited:?}: {read:?}");
    assert_eq!(proxy.open_links(), 1, "the connection is still open");
    // Closing ends the link as any other.
    drop(stream);
    assert_eq!(proxy.links_closed_within(LONG_ENOUGH).await, 0);
    shut_down(proxy).await;
}

#[tokio::test]
async fn garbage_is_one_line_that_is_no_message_then_the_end() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["garbage 100 bytes on status"]).await;
    let mut stream = raw(&proxy).await;
    send(&mut stream, b"?status\r\n").await;
    let (bytes, error) = rest(&mut stream).await;
    assert_eq!(error, None);
    assert_eq!(bytes.len(), 100);
    assert_eq!(bytes.iter().position(|&b| b == b'\n'), Some(99));
    assert!(discos_acceptance::protocol::parse(&bytes).is_err());
    shut_down(proxy).await;
}

#[tokio::test]
async fn a_long_reply_is_exactly_as_long_as_asked_and_still_parses() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["long-reply 1000 bytes on get-configuration"]).await;
    let mut stream = raw(&proxy).await;
    send(
        &mut stream,
        b"?set-configuration,K2000\r\n?get-configuration\r\n",
    )
    .await;
    assert_eq!(line(&mut stream).await, b"!set-configuration,ok\r\n");
    let long = line(&mut stream).await;
    assert_eq!(long.len(), 1000);
    let reply = discos_acceptance::protocol::parse(&long).unwrap();
    assert_eq!(reply.arguments[0], "K2000");
    drop(stream);
    shut_down(proxy).await;
}

#[tokio::test]
async fn fail_answers_in_the_backends_place_in_its_turn() {
    let backend = simulator().await;
    let proxy = proxy(
        &backend,
        &["fail \"board 3 is hot\" on set-configuration requests"],
    )
    .await;
    let mut stream = raw(&proxy).await;
    // Pipelined: the proxy's own reply waits for the one before it.
    send(
        &mut stream,
        b"?get-configuration\r\n?set-configuration,K2000\r\n?version\r\n",
    )
    .await;
    assert!(line(&mut stream).await.starts_with(b"!get-configuration,"));
    assert_eq!(
        line(&mut stream).await,
        b"!set-configuration,fail,board 3 is hot\r\n"
    );
    assert_eq!(line(&mut stream).await, b"!version,ok,1.4\r\n");
    drop(stream);
    // The backend never saw it; on replies, it does and is not believed.
    let mut direct = Client::connect(backend.local_addr().to_string())
        .await
        .unwrap();
    let reply = direct.request_text("get-configuration").await.unwrap();
    assert!(!reply.to_string().contains("K2000"), "{reply}");
    let proxy2 = proxy_with(
        backend.local_addr().to_string(),
        &["fail on set-configuration"],
        |_| {},
    )
    .await;
    let mut stream = raw(&proxy2).await;
    send(&mut stream, b"?set-configuration,K2000\r\n").await;
    assert_eq!(
        line(&mut stream).await,
        b"!set-configuration,fail,failure injected by the proxy\r\n"
    );
    let reply = direct.request_text("get-configuration").await.unwrap();
    assert_eq!(reply.to_string(), "!get-configuration,ok,K2000");
    direct.close().await.unwrap();
    drop(stream);
    shut_down(proxy).await;
    shut_down(proxy2).await;
}

#[tokio::test]
async fn down_refuses_connections_closes_links_and_comes_back_on_its_port() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &[]).await;
    let address = proxy.local_addr();
    let mut before = raw(&proxy).await;
    let went_down = Instant::now();
    proxy.faults().add("down for 400ms".parse().unwrap());
    assert!(proxy.wait_until_listening(false, LONG_ENOUGH).await);
    let (_, _) = rest(&mut before).await;
    let refused = TcpStream::connect(address).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(proxy.wait_until_listening(true, LONG_ENOUGH).await);
    let back = went_down.elapsed();
    let mut after = raw(&proxy).await;
    send(&mut after, b"?version\r\n").await;
    assert_eq!(line(&mut after).await, b"!version,ok,1.4\r\n");
    eprintln!("down for 400ms: listening again after {}", ms(back));
    assert!(back >= Duration::from_millis(400));
    assert!(
        proxy.faults().list().is_empty(),
        "a down without a command is spent"
    );
    drop(after);
    shut_down(proxy).await;
}

#[tokio::test]
async fn down_on_a_command_is_triggered_by_it() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["down on backend-park requests"]).await;
    let mut stream = raw(&proxy).await;
    send(&mut stream, b"?backend-park\r\n").await;
    let (bytes, _) = rest(&mut stream).await;
    assert!(bytes.is_empty(), "no reply: {bytes:?}");
    assert!(!proxy.is_listening());
    // Removing the fault brings it back.
    let id = proxy.faults().list()[0].id;
    assert!(proxy.faults().remove(id));
    assert!(proxy.wait_until_listening(true, LONG_ENOUGH).await);
    drop(raw(&proxy).await);
    shut_down(proxy).await;
}

#[tokio::test]
async fn the_link_is_bounded_and_says_why_it_refuses() {
    let backend = simulator().await;
    let proxy = proxy_with(backend.local_addr().to_string(), &[], |config| {
        config.max_connections = 1;
    })
    .await;
    let mut first = raw(&proxy).await;
    let mut second = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let (bytes, _) = rest(&mut second).await;
    assert_eq!(
        bytes,
        b"!version,fail,too many connections to the proxy: the limit is 1\r\n"
    );
    assert_eq!(proxy.refused_links(), 1);
    send(&mut first, b"?version\r\n").await;
    assert_eq!(line(&mut first).await, b"!version,ok,1.4\r\n");
    drop(first);
    shut_down(proxy).await;

    // A backend that cannot be reached is said in place of the greeting.
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = gone.local_addr().unwrap().to_string();
    drop(gone);
    let proxy = proxy_with(address.clone(), &[], |_| {}).await;
    let error = Client::connect(proxy.local_addr().to_string())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains(&format!("the proxy cannot reach the backend at {address}")),
        "{text}"
    );
    assert_eq!(proxy.unreachable(), 1);
    shut_down(proxy).await;
}

#[tokio::test]
async fn a_client_that_floods_a_delayed_link_is_held_back_by_tcp() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["delay 30s on requests"]).await;
    let stream = raw(&proxy).await;
    let (reader, mut writer) = stream.into_split();
    let flood = tokio::spawn(async move {
        let chunk = b"?time\r\n".repeat(10_000);
        let mut sent = 0usize;
        // Sends until TCP holds it back (a write that does not finish).
        loop {
            match tokio::time::timeout(Duration::from_secs(1), writer.write_all(&chunk)).await {
                Ok(Ok(())) => sent += chunk.len(),
                _ => return (sent, writer),
            }
        }
    });
    let (sent, writer) = flood.await.unwrap();
    let held = proxy.buffered_bytes();
    assert!(held > 0, "the link holds what it read");
    eprintln!(
        "a client pipelining into a link delayed 30 s: {sent} bytes sent before TCP held it back, the proxy holding {held} bytes of them"
    );
    assert!(held <= 2 * (64 * 1024 + 8 * 1024), "{held} bytes held");
    assert!(sent > held, "the rest waits in TCP, not in the proxy");
    drop((writer, reader));
    // Requests held 30 s cannot be answered within the grace: cut.
    let drained = proxy
        .shutdown_within(LONG_ENOUGH)
        .await
        .expect("the tasks end");
    assert_eq!(drained.cut, 1, "{drained:?}");
}

#[tokio::test]
async fn shutdown_drains_replies_owed_then_ends_both_sides() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &["delay 300ms on time"]).await;
    let mut stream = raw(&proxy).await;
    send(&mut stream, b"?time\r\n?version\r\n").await;
    // The backend has answered once the link holds the delayed reply.
    eventually("the link holds the delayed reply", || {
        proxy.buffered_bytes() > 0
    })
    .await;
    // The client reads to the end of the stream, then closes.
    let reader = tokio::spawn(async move { rest(&mut stream).await });
    let drained = proxy.shutdown().await;
    let (bytes, error) = reader.await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(error, None, "an end of stream, not a reset");
    assert!(text.starts_with("!time,ok,"), "{text}");
    assert!(text.ends_with("\r\n!version,ok,1.4\r\n"), "{text}");
    assert_eq!((drained.drained, drained.cut), (1, 0), "{drained:?}");
    assert_eq!(backend.open_connections(), 0);
}

#[tokio::test]
async fn shutdown_resets_a_client_whose_replies_are_still_held_when_the_grace_ends() {
    let backend = simulator().await;
    let proxy = proxy_with(
        backend.local_addr().to_string(),
        &["delay 30s on time"],
        |config| {
            config.shutdown_grace = Duration::from_millis(200);
        },
    )
    .await;
    let mut stream = raw(&proxy).await;
    send(&mut stream, b"?time\r\n").await;
    eventually("the link holds the delayed reply", || {
        proxy.buffered_bytes() > 0
    })
    .await;
    let started = Instant::now();
    let drained = proxy.shutdown().await;
    eprintln!(
        "a reply held 30 s at shutdown, grace 200 ms: shut down after {}",
        ms(started.elapsed())
    );
    let (bytes, error) = rest(&mut stream).await;
    assert_eq!(
        (bytes.as_slice(), error),
        (&b""[..], Some(std::io::ErrorKind::ConnectionReset)),
        "a reset, so that no cut reply passes for a whole one"
    );
    assert_eq!(drained.cut, 1, "{drained:?}");
}

/// A small HTTP/1.1 exchange with the control interface: status and body.
async fn http(control: &Control, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(control.local_addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn request(control: &Control, method: &str, path: &str, body: &str, extra: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        control.local_addr(),
        body.len()
    )
}

#[tokio::test]
async fn the_control_interface_changes_faults_of_a_running_proxy() {
    let backend = simulator().await;
    let proxy = proxy(&backend, &[]).await;
    let control = Control::start("127.0.0.1:0", &proxy).await.unwrap();
    let mut stream = raw(&proxy).await;

    let (status, body) = http(
        &control,
        &request(&control, "POST", "/faults", "delay 250ms on version", ""),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (201, r#"{"id":1,"fault":"delay 250ms on version"}"#)
    );
    // It acts on the link already open.
    let started = Instant::now();
    send(&mut stream, b"?version\r\n").await;
    line(&mut stream).await;
    assert!(started.elapsed() >= Duration::from_millis(250));

    let (status, body) = http(&control, &request(&control, "GET", "/faults", "", "")).await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"[{"id":1,"fault":"delay 250ms on version"}]"#)
    );
    let (status, body) = http(&control, &request(&control, "GET", "/", "", "")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#""links":1"#) && body.contains(r#""down":false"#),
        "{body}"
    );

    let (status, body) = http(
        &control,
        &request(&control, "POST", "/faults", "delay 2 on version", ""),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("at character 7: '2' has no unit"), "{body}");
    let (status, body) = http(&control, &request(&control, "POST", "/faults", "", "")).await;
    assert_eq!(status, 400);
    assert!(body.contains("the body is empty"), "{body}");

    let (status, _) = http(&control, &request(&control, "DELETE", "/faults/1", "", "")).await;
    assert_eq!(status, 204);
    let (status, body) = http(&control, &request(&control, "DELETE", "/faults/1", "", "")).await;
    assert_eq!((status, body.contains("no fault 1")), (404, true), "{body}");
    let (status, _) = http(&control, &request(&control, "DELETE", "/faults", "", "")).await;
    assert_eq!(status, 204);

    // Not from another site's page, nor by another name.
    let (status, body) = http(
        &control,
        &request(
            &control,
            "POST",
            "/faults",
            "hang",
            "Origin: http://evil.example\r\n",
        ),
    )
    .await;
    assert_eq!(status, 403);
    assert!(body.contains("the web page http://evil.example"), "{body}");
    let rebound = format!(
        "POST /faults HTTP/1.1\r\nHost: evil.example:{}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nhang",
        control.local_addr().port()
    );
    let (status, body) = http(&control, &rebound).await;
    assert_eq!(status, 403);
    assert!(body.contains("is not this interface's"), "{body}");
    assert!(
        proxy.faults().list().is_empty(),
        "no refused request added a fault"
    );

    drop(stream);
    control.shutdown().await;
    shut_down(proxy).await;
}

/// The session recorded for the README and the replay: configure,
/// sections, the integration time, Tsys (the total power, calibration
/// mark on), a scan.
const SESSION: [&str; 13] = [
    "set-configuration,K2000",
    "set-section,0,*,1500,*,*,3000,*",
    "set-section,1,*,1500,*,*,3000,*",
    "set-integration,40",
    "get-tpi",
    "cal-on",
    "get-tpi",
    "status",
    "start",
    "status",
    "stop",
    "set-filename,/data/3C286/scan_001_001.fits",
    "time",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_session_reads_as_steps_and_replays_green_twice() {
    let backend = simulator().await;
    let recorder = Arc::new(Recorder::new());
    let proxy = proxy_with(backend.local_addr().to_string(), &[], |config| {
        config.recorder = Some(recorder.clone());
    })
    .await;
    let mut client = Client::connect(proxy.local_addr().to_string())
        .await
        .unwrap();
    for line in SESSION {
        let reply = client.request_text(line).await.unwrap();
        assert!(reply.code().is_some(), "{reply}");
    }
    client.close().await.unwrap();
    shut_down(proxy).await;

    let folder = std::env::temp_dir().join(format!("proxy-recording-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    reaper().remove_at_exit(&folder).unwrap();
    let file = folder.join("tsys-and-a-scan.feature");
    recorder.write(&file).unwrap();
    let feature = std::fs::read_to_string(&file).unwrap();
    eprintln!("{feature}");

    // Plain words: no time, no total power value, no tick count.
    assert!(!feature.contains("179"), "a time was kept: {feature}");
    assert!(!feature.contains("sends the raw line"), "{feature}");
    // The README shows this very recording.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let scenario = feature
        .split_once("  Scenario:")
        .map(|(_, scenario)| format!("  Scenario:{scenario}"))
        .unwrap();
    assert!(
        readme.contains(&scenario),
        "the README's recorded scenario is not what a recording writes; it writes:\n{scenario}"
    );

    let target = format!("tcp://{}", backend.local_addr());
    let features = folder.to_str().unwrap();
    let options = |extra: &[&str]| {
        let mut argv = vec!["acceptance", "--features", features, "--target", &target];
        argv.extend_from_slice(extra);
        discos_acceptance::acceptance::Options::try_parse_from(argv).expect("options")
    };
    let dry = discos_acceptance::acceptance::run_quietly(options(&["--dry-run"]), &folder)
        .await
        .unwrap();
    assert!(
        dry.passed,
        "a dry run finds every step defined:\n{}",
        dry.output
    );
    for run in 1..=2 {
        let outcome = discos_acceptance::acceptance::run_quietly(options(&[]), &folder)
            .await
            .unwrap();
        assert!(outcome.passed, "replay {run}:\n{}", outcome.output);
        assert!(outcome.output.contains("1 passed"), "{}", outcome.output);
    }
    std::fs::remove_dir_all(&folder).unwrap();
    assert_eq!(backend.open_connections(), 0);
}

/// The README's commands, as a user types them, with the built binary.
mod cli {
    use std::process::Stdio;

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::process::{Child, ChildStdout, Command};

    use super::*;

    const BIN: &str = env!("CARGO_BIN_EXE_discos-sim");

    /// Starts `discos-sim ARGS` and reads its first `lines` stdout lines.
    async fn start(args: &[&str], lines: usize) -> (Child, Vec<String>, BufReader<ChildStdout>) {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("discos-sim starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut read = Vec::new();
        for _ in 0..lines {
            let mut line = String::new();
            tokio::time::timeout(LONG_ENOUGH, stdout.read_line(&mut line))
                .await
                .expect("its ready line")
                .unwrap();
            read.push(line.trim().to_owned());
        }
        (child, read, stdout)
    }

    fn address(line: &str) -> String {
        line.rsplit(' ')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_owned()
    }

    async fn run(args: &[&str]) -> (Option<i32>, String, Duration) {
        let started = Instant::now();
        let output = Command::new(BIN).args(args).output().await.unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.code(), text, started.elapsed())
    }

    async fn interrupt(mut child: Child) -> (Option<i32>, String) {
        kill(Pid::from_raw(child.id().unwrap() as i32), Signal::SIGINT).unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await
            .unwrap();
        (child.wait().await.unwrap().code(), stderr)
    }

    #[tokio::test]
    async fn the_readmes_proxy_faults_control_and_recording_work_as_written() {
        let folder = std::env::temp_dir().join(format!("proxy-cli-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        reaper().remove_at_exit(&folder).unwrap();
        let (serve, lines, _out) = start(&["serve", "--port", "0"], 1).await;
        let backend = address(&lines[0]);

        // A fault from the command line.
        let (proxy, lines, _out) = start(
            &[
                "proxy",
                "--listen",
                "0",
                "--to",
                &backend,
                "--fault",
                "delay 200ms on get-tpi",
            ],
            2,
        )
        .await;
        assert!(lines[0].starts_with("listening on 127.0.0.1:"), "{lines:?}");
        assert!(
            lines[1].starts_with("control on http://127.0.0.1:"),
            "{lines:?}"
        );
        let through = address(&lines[0]);
        let control = address(&lines[1]).trim_start_matches("http://").to_owned();
        let (status, text, took) =
            run(&["send", &through, "set-configuration,K2000", "get-tpi"]).await;
        assert_eq!(status, Some(0), "{text}");
        assert!(took >= Duration::from_millis(200), "{took:?}");
        // Changed while it runs.
        let mut http = TcpStream::connect(&control).await.unwrap();
        let body = "drop after 1 request";
        http.write_all(format!("POST /faults HTTP/1.1\r\nHost: {control}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes()).await.unwrap();
        let mut response = String::new();
        http.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 201"), "{response}");
        assert!(
            response.ends_with(r#"{"id":2,"fault":"drop after 1 request"}"#),
            "{response}"
        );
        let (status, text, _) = run(&["send", &through, "version", "version"]).await;
        assert_eq!(
            status,
            Some(2),
            "the second request finds the connection closed: {text}"
        );
        assert!(text.contains("closed the connection"), "{text}");
        let (status, stderr) = interrupt(proxy).await;
        assert_eq!(status, Some(0), "{stderr}");

        // A mistake, named with its place.
        let (status, text, _) = run(&[
            "proxy",
            "--listen",
            "0",
            "--to",
            &backend,
            "--fault",
            "delay 2 on get-tpi",
        ])
        .await;
        assert_eq!(status, Some(2));
        assert!(
            text.contains("error: invalid value 'delay 2 on get-tpi' for '--fault <FAULT>': at character 7: '2' has no unit; write e.g. 2s or 2ms"),
            "{text}"
        );

        // A recording, replayed.
        let feature = folder.join("tsys-and-a-scan.feature");
        let feature_path = feature.to_str().unwrap();
        let (proxy, lines, _out) = start(
            &[
                "proxy",
                "--listen",
                "0",
                "--to",
                &backend,
                "--record",
                feature_path,
            ],
            2,
        )
        .await;
        let through = address(&lines[0]);
        let (status, text, _) = run(&[
            "send",
            &through,
            "set-configuration,K2000",
            "set-section,0,*,1500,*,*,3000,*",
            "get-tpi",
            "start",
            "stop",
        ])
        .await;
        assert_eq!(status, Some(0), "{text}");
        let (status, stderr) = interrupt(proxy).await;
        assert_eq!(status, Some(0), "{stderr}");
        assert!(
            stderr.contains(&format!("recorded 11 line(s) to {feature_path}")),
            "{stderr}"
        );
        let (status, text, _) =
            run(&["check", "--features", feature_path, "--target", &backend]).await;
        assert_eq!(status, Some(0), "{text}");
        assert!(text.contains("1 passed"), "{text}");

        let (status, stderr) = interrupt(serve).await;
        assert_eq!(status, Some(0), "{stderr}");
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
