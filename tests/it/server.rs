//! The server and the simulator over real TCP: every command, every failure
//! row of protocol.md, and everything a misbehaving client can do.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use discos_acceptance::backend::{Catalogue, Handler, HandlerKind};
use discos_acceptance::client::{Client, ClientError};
use discos_acceptance::protocol::{Code, Message, Timestamp};
use discos_acceptance::server::{BATCH_ROOM, Config, Drained, Server};

async fn serve(handler: Arc<dyn Handler>) -> Server {
    serve_with(Config::default(), handler).await
}

async fn serve_with(config: Config, handler: Arc<dyn Handler>) -> Server {
    Server::start(config, handler).await.expect("server starts")
}

async fn simulator() -> Server {
    serve(HandlerKind::Simulator.build(None)).await
}

async fn connect(server: &Server) -> Client {
    Client::connect(server.local_addr().to_string())
        .await
        .expect("client connects")
}

/// Sends `line` and returns the reply as text.
async fn ask(client: &mut Client, line: &str) -> String {
    client
        .request_text(line)
        .await
        .unwrap_or_else(|e| panic!("{line}: {e}\n{}", client.transcript()))
        .to_string()
}

/// Closes `clients`, then shuts `server` down and checks that no connection
/// had to be cut: a client left open holds the drain for the whole grace.
async fn close_and_shut_down(server: Server, clients: impl IntoIterator<Item = Client>) {
    for mut client in clients {
        client
            .close()
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", client.transcript()));
    }
    let drained = server.shutdown().await;
    assert_eq!(
        (drained.unclosed, drained.cut),
        (0, 0),
        "every connection closed by its client: {drained:?}"
    );
}

/// Polls `probe` every 5 ms until it holds, for at most `limit`.
async fn eventually(limit: Duration, what: &str, mut probe: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut every = tokio::time::interval(Duration::from_millis(5));
    loop {
        every.tick().await;
        if probe().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within {limit:?}"
        );
    }
}

async fn acquiring(client: &mut Client) -> bool {
    let status = client.request_text("status").await.unwrap();
    status.arguments[2] == "1"
}

fn in_ms(ms: u64) -> String {
    Timestamp::now()
        .after(Duration::from_millis(ms))
        .acs_ticks()
        .to_string()
}

#[tokio::test]
async fn every_connection_opens_with_the_handshake() {
    let server = simulator().await;
    let client = connect(&server).await;
    assert_eq!(client.handshake().to_string(), "!version,ok,1.4");
    assert_eq!(client.version(), "1.4");
    close_and_shut_down(server, [client]).await;
}

#[tokio::test]
async fn every_command_succeeds_as_protocol_md_says() {
    let server = simulator().await;
    let mut c = connect(&server).await;
    let status = c.request_text("status").await.unwrap();
    assert_eq!(status.code(), Some(Code::Ok));
    let [time, state, acquiring] = status.arguments.as_slice() else {
        panic!("status has three values: {status}");
    };
    let (_, fraction) = time.split_once('.').expect("decimal seconds");
    assert!(fraction.len() >= 6, "at least six decimals: {time}");
    assert!(time.parse::<Timestamp>().unwrap() <= Timestamp::now());
    assert_eq!((state.as_str(), acquiring.as_str()), ("ok", "0"));

    let simple = [
        ("version", "!version,ok,1.4"),
        ("get-configuration", "!get-configuration,ok,unconfigured"),
        ("set-configuration,K2000", "!set-configuration,ok"),
        ("get-configuration", "!get-configuration,ok,K2000"),
        ("get-integration", "!get-integration,ok,0"),
        ("set-integration,250", "!set-integration,ok"),
        ("get-integration", "!get-integration,ok,250"),
        ("get-tp0", "!get-tp0,ok,0,0"),
        ("start", "!start,ok"),
        ("stop", "!stop,ok"),
        (
            "set-section,0,100.5,1000,0,stokes,2000,1024",
            "!set-section,ok",
        ),
        ("set-section,*,*,*,*,*,*,*", "!set-section,ok"),
        ("cal-on", "!cal-on,ok"),
        ("cal-on,10", "!cal-on,ok"),
        ("set-filename,/data/2026\\,11\\,22.fits", "!set-filename,ok"),
        ("convert-data", "!convert-data,ok"),
        ("set-enable,0,1", "!set-enable,ok"),
        ("end-schedule", "!end-schedule,ok"),
        ("backend-park", "!backend-park,ok"),
        ("set-shift,-12", "!set-shift,ok"),
    ];
    for (line, expected) in simple {
        assert_eq!(ask(&mut c, line).await, expected, "{line}");
    }

    let tpi = c.request_text("get-tpi").await.unwrap();
    assert_eq!(tpi.arguments.len(), 2, "one value per section: {tpi}");
    for value in &tpi.arguments {
        let value: f64 = value.parse().unwrap();
        assert!((0.0..100.0).contains(&value), "{value}");
    }
    let time = c.request_text("time").await.unwrap();
    assert!(time.arguments[0].parse::<Timestamp>().is_ok(), "{time}");
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn every_failure_row_fails_with_its_reason() {
    let server = simulator().await;
    let mut c = connect(&server).await;
    let rows = [
        ("status,1", "!status,fail,status takes no arguments (got 1)"),
        (
            "version,1",
            "!version,fail,version takes no arguments (got 1)",
        ),
        (
            "get-configuration,x",
            "!get-configuration,fail,get-configuration takes no arguments (got 1)",
        ),
        (
            "set-configuration",
            "!set-configuration,fail,set-configuration needs a configuration id",
        ),
        (
            "set-configuration,2000",
            "!set-configuration,fail,cannot find configuration '2000'",
        ),
        (
            "get-integration,1",
            "!get-integration,fail,get-integration takes no arguments (got 1)",
        ),
        (
            "set-integration",
            "!set-integration,fail,set-integration needs an integration time in milliseconds",
        ),
        (
            "set-integration,ten",
            "!set-integration,fail,integration time must be an integer number",
        ),
        (
            "set-integration,-5",
            "!set-integration,fail,integration time must not be negative (got -5)",
        ),
        (
            "get-tpi,1",
            "!get-tpi,fail,get-tpi takes no arguments or the 2 numbers of a Tsys range (got 1)",
        ),
        (
            "get-tpi,1,x",
            "!get-tpi,fail,the Tsys range must be numbers in MHz (got 'x')",
        ),
        (
            "get-rms,1",
            "!get-rms,fail,get-rms takes no arguments (got 1)",
        ),
        (
            "get-tp0,1",
            "!get-tp0,fail,get-tp0 takes no arguments (got 1)",
        ),
        ("time,1", "!time,fail,time takes no arguments (got 1)"),
        ("stop", "!stop,fail,not acquiring"),
        ("start,yesterday", "!start,fail,wrong timestamp 'yesterday'"),
        ("stop,noon", "!stop,fail,wrong timestamp 'noon'"),
        (
            "set-section,0,1",
            "!set-section,fail,set-section needs 7 arguments",
        ),
        (
            "set-section,0,abc,1,0,m,1,1",
            "!set-section,fail,wrong parameter format",
        ),
        (
            "set-section,14,*,*,*,*,*,*",
            "!set-section,fail,section 14 is beyond the maximum: sections go from 0 to 13",
        ),
        (
            "set-section,0,*,2300.5,*,*,*,*",
            "!set-section,fail,bandwidth 2300.5 MHz is above the maximum of 2300 MHz",
        ),
        (
            "cal-on,-2",
            "!cal-on,fail,interleave samples must be a positive int",
        ),
        (
            "cal-on,often",
            "!cal-on,fail,interleave samples must be a positive int",
        ),
        (
            "set-filename",
            "!set-filename,fail,set-filename needs a file name",
        ),
        (
            "convert-data,1",
            "!convert-data,fail,convert-data takes no arguments (got 1)",
        ),
        (
            "set-enable,0",
            "!set-enable,fail,set-enable needs 2 arguments (got 1)",
        ),
        (
            "set-enable,a,b",
            "!set-enable,fail,feeds must be integer numbers (got 'a')",
        ),
        (
            "set-enable,0,8",
            "!set-enable,fail,feed 8 is out of range: feeds go from 0 to 7",
        ),
        (
            "set-enable,-1,0",
            "!set-enable,fail,feed -1 is out of range: feeds go from 0 to 7",
        ),
        (
            "end-schedule,1",
            "!end-schedule,fail,end-schedule takes no arguments (got 1)",
        ),
        (
            "backend-park,1",
            "!backend-park,fail,backend-park takes no arguments (got 1)",
        ),
        (
            "set-shift",
            "!set-shift,fail,set-shift needs exactly one argument (got 0)",
        ),
        (
            "set-shift,1,2",
            "!set-shift,fail,set-shift needs exactly one argument (got 2)",
        ),
        (
            "set-shift,1.5",
            "!set-shift,fail,shift must be an integer number (got '1.5')",
        ),
        ("launch", "!launch,fail,invalid command 'launch'"),
    ];
    for (line, expected) in rows {
        assert_eq!(ask(&mut c, line).await, expected, "{line}");
    }
    assert_eq!(ask(&mut c, "start").await, "!start,ok");
    assert_eq!(ask(&mut c, "start").await, "!start,fail,already acquiring");
    let past = ask(&mut c, "start,1430922782.970883").await;
    assert!(
        past.starts_with("!start,fail,start time 1430922782.970883000 is already past"),
        "{past}"
    );
    let past = ask(&mut c, "stop,14309227829708830").await;
    assert!(
        past.starts_with("!stop,fail,stop time 1430922782.970883000 is already past"),
        "{past}"
    );
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn malformed_lines_are_invalid_and_the_connection_goes_on() {
    let server = simulator().await;
    let mut c = connect(&server).await;
    c.send_raw(b"status\r\n?sta tus\r\n?cmd,\\q\r\n\r\n!status,ok\r\n?1x\n?status\n")
        .await
        .unwrap();
    let expect = [
        ("status", Code::Invalid),
        ("sta", Code::Invalid),
        ("cmd", Code::Invalid),
        ("undefined", Code::Invalid),
        ("status", Code::Invalid),
        ("undefined", Code::Invalid),
        ("status", Code::Ok),
    ];
    for (name, code) in expect {
        let reply = c.receive().await.unwrap();
        assert_eq!(
            (reply.name.as_str(), reply.code()),
            (name, Some(code)),
            "{reply}"
        );
    }
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn a_timed_start_and_stop_change_status_at_their_times() {
    let server = simulator().await;
    let mut c = connect(&server).await;
    assert_eq!(
        ask(&mut c, &format!("start,{}", in_ms(150))).await,
        "!start,ok"
    );
    assert_eq!(
        ask(&mut c, &format!("stop,{}", in_ms(400))).await,
        "!stop,ok"
    );
    // The server keeps answering while the times are pending.
    assert!(!acquiring(&mut c).await);
    eventually(
        Duration::from_secs(5),
        "acquiring after the start time",
        async || acquiring(&mut c).await,
    )
    .await;
    eventually(
        Duration::from_secs(5),
        "not acquiring after the stop time",
        async || !acquiring(&mut c).await,
    )
    .await;
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn a_new_timed_start_replaces_the_pending_one_and_stop_cancels_it() {
    let server = simulator().await;
    let mut c = connect(&server).await;
    // Replaced by a start in an hour: the first must never fire.
    assert_eq!(
        ask(&mut c, &format!("start,{}", in_ms(100))).await,
        "!start,ok"
    );
    assert_eq!(
        ask(&mut c, &format!("start,{}", in_ms(3_600_000))).await,
        "!start,ok"
    );
    // A timed stop that fires before the start cancels the start.
    assert_eq!(
        ask(&mut c, &format!("stop,{}", in_ms(200))).await,
        "!stop,ok"
    );
    // Observe the stop firing: an immediate stop then has nothing to stop.
    eventually(
        Duration::from_secs(5),
        "the timed stop to fire",
        async || c.request_text("stop").await.unwrap().to_string() == "!stop,fail,not acquiring",
    )
    .await;
    assert!(!acquiring(&mut c).await, "the replaced start never fired");
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn an_immediate_stop_cancels_a_pending_start() {
    let server = simulator().await;
    let mut c = connect(&server).await;
    assert_eq!(
        ask(&mut c, &format!("start,{}", in_ms(3_600_000))).await,
        "!start,ok"
    );
    assert_eq!(ask(&mut c, "stop").await, "!stop,ok");
    assert_eq!(ask(&mut c, "stop").await, "!stop,fail,not acquiring");
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn decimal_second_timestamps_are_accepted_too() {
    let server = simulator().await;
    let mut c = connect(&server).await;
    let at = Timestamp::now()
        .after(Duration::from_secs(3600))
        .to_string();
    assert_eq!(ask(&mut c, &format!("start,{at}")).await, "!start,ok");
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = simulator().await;
    let mut c = connect(&server).await;
    let names = [
        "status",
        "get-tpi",
        "time",
        "version",
        "get-integration",
        "bogus",
    ];
    let requests: Vec<Message> = (0..600)
        .map(|i| Message::request(names[i % names.len()], Vec::<String>::new()))
        .collect();
    let replies = c.pipeline(&requests).await.unwrap();
    for (request, reply) in requests.iter().zip(&replies) {
        assert_eq!(reply.name, request.name);
    }
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn two_clients_share_one_backend_state() {
    let server = simulator().await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    assert_eq!(
        ask(&mut a, "set-configuration,K2000").await,
        "!set-configuration,ok"
    );
    assert_eq!(
        ask(&mut b, "get-configuration").await,
        "!get-configuration,ok,K2000"
    );
    assert_eq!(ask(&mut b, "start").await, "!start,ok");
    assert_eq!(ask(&mut a, "start").await, "!start,fail,already acquiring");
    close_and_shut_down(server, [a, b]).await;
}

#[tokio::test]
async fn a_200_kib_line_is_refused_and_the_next_request_answered() {
    let server = simulator().await;
    let mut c = connect(&server).await;
    let mut long = b"?set-filename,".to_vec();
    long.resize(200 * 1024, b'x');
    long.extend_from_slice(b"\r\n?get-configuration\r\n");
    c.send_raw(&long).await.unwrap();
    let refused = c.receive().await.unwrap();
    assert_eq!(
        refused.to_string(),
        "!set-filename,invalid,line longer than 65536 bytes; it was discarded"
    );
    let next = c.receive().await.unwrap();
    assert_eq!(next.to_string(), "!get-configuration,ok,unconfigured");
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn the_line_limit_is_configurable() {
    let config = Config {
        max_line: 16,
        ..Config::default()
    };
    let server = serve_with(config, HandlerKind::Simulator.build(None)).await;
    let mut c = connect(&server).await;
    let reply = ask(&mut c, "set-filename,0123456789").await;
    assert_eq!(
        reply,
        "!set-filename,invalid,line longer than 16 bytes; it was discarded"
    );
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn non_utf8_and_nul_bytes_get_answers_not_a_crash() {
    let server = serve(HandlerKind::AlwaysOk.build(None)).await;
    let mut c = connect(&server).await;
    c.send_raw(b"?echo,caf\xe9\x00\xff\r\n\x00\x00\r\n?na\xffme\r\n")
        .await
        .unwrap();
    let echo = c.receive().await.unwrap();
    assert_eq!(
        echo.arguments,
        ["caf\u{e9}\u{0}\u{ff}"],
        "bytes come back as latin-1"
    );
    assert_eq!(c.receive().await.unwrap().code(), Some(Code::Invalid));
    assert_eq!(c.receive().await.unwrap().code(), Some(Code::Invalid));
    assert_eq!(ask(&mut c, "status").await, "!status,ok");
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn fifty_abrupt_disconnects_mid_line_leave_nothing_behind() {
    let server = simulator().await;
    for i in 0..50 {
        let mut raw = TcpStream::connect(server.local_addr()).await.unwrap();
        raw.write_all(format!("?set-configuration,K{i}").as_bytes())
            .await
            .unwrap();
        // The handshake is left unread, so the close is a reset.
        drop(raw);
    }
    eventually(
        Duration::from_secs(5),
        "every connection seen closed",
        async || server.open_connections() == 0,
    )
    .await;
    assert_eq!(server.accepted_connections(), 50);
    let mut c = connect(&server).await;
    assert_eq!(ask(&mut c, "status").await.split(',').count(), 5);
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn a_panicking_handler_costs_one_fail_reply() {
    let server = serve(HandlerKind::AlwaysPanic.build(None)).await;
    let mut c = connect(&server).await;
    for _ in 0..3 {
        let reply = c.request_text("status").await.unwrap();
        assert_eq!(reply.code(), Some(Code::Fail));
        assert!(
            reply
                .reason()
                .unwrap()
                .starts_with("internal error: the always-panic handler panics")
        );
    }
    let mut other = connect(&server).await;
    assert_eq!(
        other.request_text("time").await.unwrap().code(),
        Some(Code::Fail)
    );
    close_and_shut_down(server, [c, other]).await;
}

#[tokio::test]
async fn the_debug_handlers_echo_or_fail_anything() {
    let ok = serve(HandlerKind::AlwaysOk.build(None)).await;
    let mut c = connect(&ok).await;
    assert_eq!(
        ask(&mut c, "anything,a\\,b,,c").await,
        "!anything,ok,a\\,b,,c"
    );
    close_and_shut_down(ok, [c]).await;
    let fail = serve(HandlerKind::AlwaysFail.build(None)).await;
    let mut c = connect(&fail).await;
    assert_eq!(
        ask(&mut c, "status").await,
        "!status,fail,the always-fail handler fails every request"
    );
    // Syntax is checked before any handler: malformed is still invalid.
    c.send_raw(b"?a b\r\n").await.unwrap();
    assert_eq!(c.receive().await.unwrap().code(), Some(Code::Invalid));
    close_and_shut_down(fail, [c]).await;
}

#[tokio::test]
async fn a_catalogue_decides_which_configurations_exist_and_their_sections() {
    let catalogue = Catalogue::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/catalogue.toml"
    ))
    .unwrap();
    let server = serve(HandlerKind::Simulator.build(Some(catalogue))).await;
    let mut c = connect(&server).await;
    assert_eq!(
        ask(&mut c, "set-configuration,C4").await,
        "!set-configuration,ok"
    );
    assert_eq!(c.request_text("get-tpi").await.unwrap().arguments.len(), 4);
    assert_eq!(
        ask(&mut c, "set-configuration,TP1").await,
        "!set-configuration,ok"
    );
    assert_eq!(ask(&mut c, "get-tp0").await, "!get-tp0,ok,0");
    assert_eq!(
        ask(&mut c, "set-configuration,XYZ").await,
        "!set-configuration,fail,cannot find configuration 'XYZ'"
    );
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn beyond_the_connection_limit_a_client_is_told_why() {
    let config = Config {
        max_connections: 2,
        ..Config::default()
    };
    let server = serve_with(config, HandlerKind::Simulator.build(None)).await;
    let a = connect(&server).await;
    let b = connect(&server).await;
    let refused = Client::connect(server.local_addr().to_string())
        .await
        .unwrap_err();
    let ClientError::Refused { reason, .. } = refused else {
        panic!("expected a refusal, got {refused}");
    };
    assert_eq!(reason, "too many connections: the limit is 2");
    assert_eq!(server.refused_connections(), 1);
    close_and_shut_down(server, [a, b]).await;
}

#[tokio::test]
async fn shutdown_drains_every_connection_and_waits_for_every_task() {
    let server = simulator().await;
    let mut clients = Vec::new();
    for _ in 0..10 {
        clients.push(connect(&server).await);
    }
    // One more in the middle of a line.
    let mut raw = TcpStream::connect(server.local_addr()).await.unwrap();
    raw.write_all(b"?set-confi").await.unwrap();
    eventually(Duration::from_secs(5), "11 connections open", async || {
        server.open_connections() == 11
    })
    .await;
    let address = server.local_addr();
    let shutdown = tokio::spawn(server.shutdown());
    for client in &mut clients {
        assert!(matches!(
            client.receive().await,
            Err(ClientError::Closed { .. })
        ));
    }
    let mut rest = Vec::new();
    raw.read_to_end(&mut rest).await.unwrap();
    assert_eq!(
        rest, b"!version,ok,1.4\r\n",
        "only the handshake, then the end of the stream: an unfinished line is not answered"
    );
    // The drain ends as each client closes.
    drop(clients);
    drop(raw);
    let drained = shutdown.await.unwrap();
    assert_eq!(
        drained,
        Drained {
            drained: 11,
            unclosed: 0,
            cut: 0
        }
    );
    assert!(
        TcpStream::connect(address).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn the_counts_a_teardown_check_reads_are_exact() {
    let server = simulator().await;
    assert_eq!(server.live_tasks(), 1, "just the acceptor");
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    assert!(ask(&mut a, "status").await.starts_with("!status,ok"));
    assert_eq!(server.open_connections(), 2);
    a.close().await.unwrap();
    // Once close returns, the server has already counted the connection closed.
    assert_eq!(server.open_connections(), 1);
    b.close().await.unwrap();
    assert_eq!(server.open_connections(), 0);
    close_and_shut_down(server, []).await;
}

/// The first line of every connection.
const HANDSHAKE: &[u8] = b"!version,ok,1.4\r\n";

/// Answers every request with 900 bytes: a few bytes of request ask for a
/// lot of reply, so a client that reads slowly soon has the server waiting
/// to write to it, with requests it has not read yet.
struct BigReplies;

#[async_trait]
impl Handler for BigReplies {
    async fn handle(&self, request: &Message) -> Message {
        Message::ok(&request.name, ["x".repeat(900)])
    }
}

nix::ioctl_read_bad!(siocoutq, nix::libc::TIOCOUTQ, nix::libc::c_int);

/// What a pipeliner read: whole replies after the handshake, and how its
/// stream ended.
#[derive(Debug)]
struct Read {
    replies: u64,
    /// Bytes after the last line end: a reply cut in the middle.
    cut: Vec<u8>,
    error: Option<std::io::Error>,
}

/// A client that sends `count` copies of a request at once (pipelining)
/// and reads its replies slowly, 8 KiB a millisecond, through a small
/// receive buffer, checking each is whole and named as asked; or one that
/// never reads at all.
struct Pipeliner {
    fd: RawFd,
    request_len: u64,
    written: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    writer: Option<JoinHandle<OwnedWriteHalf>>,
    write: Option<OwnedWriteHalf>,
    /// The reading task, or for one that never reads, its unread socket.
    reader: Result<JoinHandle<Read>, OwnedReadHalf>,
}

impl Pipeliner {
    async fn start(address: SocketAddr, request: &str, count: usize, reads: bool) -> Pipeliner {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(address).await.unwrap();
        let fd = stream.as_raw_fd();
        let (mut read, mut write) = stream.into_split();
        let line = format!("?{request}\r\n");
        let written = Arc::new(AtomicU64::new(0));
        let writer = tokio::spawn({
            let (written, all) = (written.clone(), line.repeat(count));
            async move {
                // Written in pieces, so the count says how far it got.
                for piece in all.as_bytes().chunks(4096) {
                    if write.write_all(piece).await.is_err() {
                        break;
                    }
                    written.fetch_add(piece.len() as u64, Ordering::SeqCst);
                }
                write
            }
        });
        let received = Arc::new(AtomicU64::new(0));
        let expected = format!("!{request},ok,").into_bytes();
        if !reads {
            return Pipeliner {
                fd,
                request_len: line.len() as u64,
                written,
                received,
                writer: Some(writer),
                write: None,
                reader: Err(read),
            };
        }
        let reader = tokio::spawn({
            let received = received.clone();
            async move {
                let mut pending = Vec::new();
                let mut replies = 0;
                let mut handshake = true;
                let mut chunk = [0; 8192];
                let mut pace = tokio::time::interval(Duration::from_millis(1));
                let error = loop {
                    pace.tick().await;
                    match read.read(&mut chunk).await {
                        Ok(0) => break None,
                        Ok(n) => {
                            received.fetch_add(n as u64, Ordering::SeqCst);
                            pending.extend_from_slice(&chunk[..n]);
                            let mut used = 0;
                            for line in pending.split_inclusive(|&b| b == b'\n') {
                                if !line.ends_with(b"\r\n") {
                                    break;
                                }
                                used += line.len();
                                if std::mem::take(&mut handshake) {
                                    assert_eq!(line, HANDSHAKE);
                                } else {
                                    assert!(
                                        line.starts_with(&expected),
                                        "{:?}",
                                        String::from_utf8_lossy(line)
                                    );
                                    replies += 1;
                                }
                            }
                            pending.drain(..used);
                        }
                        Err(error) => break Some(error),
                    }
                };
                Read {
                    replies,
                    cut: pending,
                    error,
                }
            }
        });
        Pipeliner {
            fd,
            request_len: line.len() as u64,
            written,
            received,
            writer: Some(writer),
            write: None,
            reader: Ok(reader),
        }
    }

    /// Bytes written that the server's host has not taken yet.
    fn unsent(&self) -> u64 {
        let mut count: nix::libc::c_int = 0;
        #[allow(unsafe_code)]
        // SAFETY: TIOCOUTQ writes one int through the pointer, which points
        // to a live c_int; the descriptor is open while the write half lives
        // (in the writer task, then in `write`), that is until `finish`.
        unsafe { siocoutq(self.fd, &mut count) }.expect("TIOCOUTQ");
        count as u64
    }

    /// Requests the server's host has taken (acknowledged): it has them,
    /// read or not; a lower bound while the writer goes on.
    fn delivered(&self) -> u64 {
        let written = self.written.load(Ordering::SeqCst);
        written.saturating_sub(self.unsent()) / self.request_len
    }

    /// Whether the server accepted the connection (its handshake arrived: a
    /// connection still in the listen backlog is reset when the listener
    /// closes) and either stopped reading (the client's send queue backs
    /// up) or has every request.
    fn settled(&mut self) -> bool {
        if self.received.load(Ordering::SeqCst) < HANDSHAKE.len() as u64 {
            return false;
        }
        if self.unsent() > 0 {
            return true;
        }
        match &self.writer {
            Some(writer) => writer.is_finished(),
            None => true,
        }
    }

    /// Closes the connection at once, whatever is unread or unsent.
    fn abandon(mut self) {
        if let Some(writer) = self.writer.take() {
            writer.abort();
        }
    }

    /// Waits for the end of the stream, then closes; what was read.
    async fn finish(mut self) -> Read {
        let read = match self.reader {
            Ok(reader) => reader.await.unwrap(),
            Err(_) => panic!("this pipeliner does not read"),
        };
        // The writer may still be sending: the server throws it away now.
        if let Some(writer) = self.writer.take() {
            self.write = Some(writer.await.unwrap());
        }
        read
    }
}

/// Starts `count` pipeliners sending `each` copies of `request` and returns
/// them once each is `settled`, with how many requests of each had then
/// reached the server.
async fn settled_pipeliners(
    address: SocketAddr,
    request: &str,
    count: usize,
    each: usize,
) -> (Vec<Pipeliner>, Vec<u64>) {
    let mut clients = Vec::new();
    for _ in 0..count {
        clients.push(Pipeliner::start(address, request, each, true).await);
    }
    eventually(
        Duration::from_secs(60),
        "every pipeliner accepted, and backed up or done writing",
        async || clients.iter_mut().all(Pipeliner::settled),
    )
    .await;
    let delivered = clients.iter().map(Pipeliner::delivered).collect();
    (clients, delivered)
}

/// Lets each pipeliner read to the end of its stream and checks it saw no
/// reset, no reply cut, and a reply to every request that had reached the
/// server before the shutdown; returns the replies of each.
async fn check_pipeliners(clients: Vec<Pipeliner>, delivered: Vec<u64>) -> Vec<u64> {
    let mut counts = Vec::new();
    for (i, (client, delivered)) in clients.into_iter().zip(delivered).enumerate() {
        let written = client.written.load(Ordering::SeqCst) / client.request_len;
        let read = client.finish().await;
        assert!(read.error.is_none(), "client {i}: {read:?}");
        assert!(
            read.cut.is_empty(),
            "client {i}: a reply was cut: {:?}",
            String::from_utf8_lossy(&read.cut)
        );
        assert!(
            read.replies >= delivered,
            "client {i}: {} replies, but {delivered} requests had reached the server before the shutdown",
            read.replies
        );
        assert!(read.replies <= written, "client {i}: {read:?} to {written}");
        counts.push(read.replies);
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_every_request_that_arrived_and_resets_no_one() {
    let config = Config {
        shutdown_grace: Duration::from_secs(60),
        ..Config::default()
    };
    let server = serve_with(config, Arc::new(BigReplies)).await;
    // 6000 requests of 6 bytes each: all reach the server, but 5.4 MB of
    // replies do not fit the sockets' buffers, so the server is left
    // waiting on each client with requests it has not read.
    let (clients, delivered) = settled_pipeliners(server.local_addr(), "big", 20, 6000).await;
    assert!(delivered.iter().all(|&d| d == 6000), "{delivered:?}");
    let shutdown = tokio::spawn(server.shutdown());
    let replies = check_pipeliners(clients, delivered).await;
    assert_eq!(replies, [6000; 20]);
    let drained = shutdown.await.unwrap();
    assert_eq!(
        drained,
        Drained {
            drained: 20,
            unclosed: 0,
            cut: 0
        }
    );
}

#[tokio::test]
async fn a_client_that_closes_ends_its_drain_at_once() {
    let config = Config {
        shutdown_grace: Duration::from_secs(3600),
        ..Config::default()
    };
    let server = serve_with(config, HandlerKind::Simulator.build(None)).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut client = connect(&server).await;
        assert!(ask(&mut client, "status").await.starts_with("!status,ok"));
        clients.push(client);
    }
    let shutdown = tokio::spawn(server.shutdown_within(Duration::from_secs(60)));
    for mut client in clients {
        // Sees the end of the stream, so the drain has begun, then closes:
        // no hour of grace is spent.
        assert!(matches!(
            client.receive().await,
            Err(ClientError::Closed { .. })
        ));
        client.close().await.unwrap();
    }
    let drained = shutdown.await.unwrap();
    assert_eq!(
        drained,
        Ok(Drained {
            drained: 5,
            unclosed: 0,
            cut: 0
        })
    );
}

#[tokio::test]
async fn a_client_that_never_closes_or_never_reads_is_cut_off_after_the_grace() {
    let config = Config {
        shutdown_grace: Duration::from_millis(300),
        ..Config::default()
    };
    let server = serve_with(config, Arc::new(BigReplies)).await;
    // One reads everything, and then just stays.
    let mut stays = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut handshake = [0; HANDSHAKE.len()];
    stays.read_exact(&mut handshake).await.unwrap();
    // One asks for 5.4 MB of replies and never reads them.
    let mut deaf = Pipeliner::start(server.local_addr(), "big", 6000, false).await;
    // Its handshake, unread, is in its socket once the server accepted it.
    deaf.received
        .store(HANDSHAKE.len() as u64, Ordering::SeqCst);
    eventually(
        Duration::from_secs(30),
        "the deaf client done writing",
        async || deaf.settled(),
    )
    .await;
    let drained = server.shutdown_within(Duration::from_secs(30)).await;
    assert_eq!(
        drained,
        Ok(Drained {
            drained: 0,
            unclosed: 1,
            cut: 1
        })
    );
    let mut rest = Vec::new();
    let end = stays.read_to_end(&mut rest).await;
    assert!(
        matches!(end, Ok(0)),
        "every reply written, then the end of the stream: {end:?}"
    );
    // Its replies unwritten, the deaf one is reset: its last reply may be
    // cut in the middle, and an end of stream would pass it for a whole one.
    let Err(mut read) = deaf.reader else {
        unreachable!("a deaf pipeliner keeps its socket")
    };
    let mut replies = Vec::new();
    let end = read.read_to_end(&mut replies).await;
    assert!(
        matches!(&end, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{end:?} after {} bytes",
        replies.len()
    );
}

#[tokio::test]
async fn a_line_not_finished_in_time_is_invalid_and_the_stream_resyncs_at_its_end() {
    let config = Config {
        line_timeout: Duration::from_millis(200),
        ..Config::default()
    };
    let server = serve_with(config, HandlerKind::Simulator.build(None)).await;
    let mut c = connect(&server).await;
    c.send_raw(b"?set-configuration,K2").await.unwrap();
    assert_eq!(
        c.receive().await.unwrap().to_string(),
        "!set-configuration,invalid,line not finished within 200ms; it was discarded"
    );
    assert_eq!(server.unfinished_line_bytes(), 0, "its room is given back");
    // The rest of that line is not a request; the next line is.
    c.send_raw(b"000\r\n?get-configuration\r\n").await.unwrap();
    assert_eq!(
        c.receive().await.unwrap().to_string(),
        "!get-configuration,ok,unconfigured"
    );
    close_and_shut_down(server, [c]).await;
}

#[tokio::test]
async fn an_unfinished_line_beyond_the_budget_is_refused_and_the_connection_goes_on() {
    // Half of the budget, 100 000 bytes, for unfinished lines: room for one
    // line of 60 000 bytes, not two.
    let config = Config {
        max_buffered: 200_000,
        ..Config::default()
    };
    let server = serve_with(config, HandlerKind::Simulator.build(None)).await;
    let mut first = connect(&server).await;
    let mut second = connect(&server).await;
    let mut line = b"?set-filename,".to_vec();
    line.resize(60_000, b'x');
    first.send_raw(&line).await.unwrap();
    eventually(Duration::from_secs(10), "the first line kept", async || {
        server.unfinished_line_bytes() == 60_000
    })
    .await;
    second.send_raw(&line).await.unwrap();
    let refused = second.receive().await.unwrap();
    assert_eq!(refused.code(), Some(Code::Invalid), "{refused}");
    assert!(
        refused
            .reason()
            .unwrap()
            .starts_with("no room to keep this unfinished line"),
        "{refused}"
    );
    assert!(server.unfinished_line_bytes() <= 100_000);
    // Both go on: the first line completes, the rest of the second is
    // discarded up to its end.
    first.send_raw(b"\r\n").await.unwrap();
    assert_eq!(
        first.receive().await.unwrap().to_string(),
        "!set-filename,ok"
    );
    second.send_raw(b"xxx\r\n").await.unwrap();
    assert!(ask(&mut second, "status").await.starts_with("!status,ok"));
    assert_eq!(server.unfinished_line_bytes(), 0);
    close_and_shut_down(server, [first, second]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_waits_for_room_while_a_client_that_does_not_read_holds_it() {
    // Room for one batch being served at a time.
    let config = Config {
        max_line: 4096,
        max_buffered: 2 * BATCH_ROOM,
        ..Config::default()
    };
    let server = serve_with(config, Arc::new(BigReplies)).await;
    let deaf = Pipeliner::start(server.local_addr(), "big", 6000, false).await;
    let mut other = connect(&server).await;
    // Once the server is stuck writing to the deaf client, holding the only
    // room, the other's request waits for it; before that it is answered.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other connection never waited for room"
        );
        other.send_raw(b"?big\r\n").await.unwrap();
        tokio::select! {
            reply = other.receive() => {
                assert_eq!(reply.unwrap().code(), Some(Code::Ok));
            }
            () = eventually(
                deadline - tokio::time::Instant::now(),
                "the other connection waiting for room",
                async || server.connections_waiting_for_room() == 1,
            ) => break,
        }
    }
    // The deaf client goes away: its room comes back, the waiting request
    // is answered, nothing was lost.
    deaf.abandon();
    let reply = other.receive().await.unwrap();
    assert_eq!(reply.code(), Some(Code::Ok), "{reply}");
    assert_eq!(server.connections_waiting_for_room(), 0);
    close_and_shut_down(server, [other]).await;
}

/// A child process, killed if a failing test leaves it running.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `discos-sim serve` child, ready once its `listening on` line is read.
fn serve_process(args: &[&str]) -> (Child, SocketAddr) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_discos-sim"))
        .args(["serve", "--port", "0"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("discos-sim starts");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let address = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim()
        .parse()
        .unwrap();
    (Child(child), address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_serve_drains_slow_pipelining_clients() {
    let (mut child, address) = serve_process(&["--shutdown-grace", "60s"]);
    // 700 KB of requests each, 3 MB of replies: more than the sockets
    // hold, so SIGTERM finds the server waiting on them, requests unread.
    let (clients, delivered) = settled_pipeliners(address, "time", 10, 100_000).await;
    kill(Pid::from_raw(child.0.id() as i32), Signal::SIGTERM).unwrap();
    check_pipeliners(clients, delivered).await;
    let status = tokio::task::spawn_blocking(move || child.0.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn a_second_signal_ends_the_drain_at_once() {
    let (mut child, address) = serve_process(&["--shutdown-grace", "1h"]);
    // A client that stays: the drain would wait the whole hour for it.
    let mut stays = TcpStream::connect(address).await.unwrap();
    let mut handshake = [0; HANDSHAKE.len()];
    stays.read_exact(&mut handshake).await.unwrap();
    let pid = Pid::from_raw(child.0.id() as i32);
    kill(pid, Signal::SIGTERM).unwrap();
    // The end of the stream: the drain has begun.
    assert_eq!(stays.read(&mut handshake).await.unwrap(), 0);
    kill(pid, Signal::SIGINT).unwrap();
    let status = tokio::task::spawn_blocking(move || child.0.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(130), "{status}");
}

#[test]
fn serve_refuses_bounds_that_cannot_work() {
    let cases: &[(&[&str], &str)] = &[
        (&["--max-line", "100"], "--max-line"),
        (&["--max-line", "2000000"], "--max-line"),
        (
            &["--line-timeout", "30"],
            "'30' has no unit; write e.g. 30s",
        ),
        (&["--line-timeout", "1ms"], "too short: at least 100ms"),
        (&["--shutdown-grace", "2h"], "too long: at most 1h"),
        (&["--shutdown-grace", "1e30"], "not a duration"),
        (
            &["--max-buffered", "1000"],
            "a buffer budget of 1000 bytes is too small",
        ),
    ];
    for (args, expected) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_discos-sim"))
            .args(["serve", "--port", "0"])
            .args(*args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// A client that reads replies as DISCOS's components do: byte by byte to
/// the LF, into a 512-byte buffer, the last character (the CR) dropped, the
/// code read strictly. Every line it reads must be one DISCOS can read.
struct AsDiscos {
    stream: TcpStream,
    /// What was sent and read, for the failure message.
    log: Vec<String>,
}

impl AsDiscos {
    async fn connect(server: &Server) -> AsDiscos {
        let stream = TcpStream::connect(server.local_addr()).await.unwrap();
        let mut discos = AsDiscos {
            stream,
            log: Vec::new(),
        };
        // The greeting: one line, its content ignored.
        let greeting = discos.line().await;
        discos.log.push(format!("greeting {greeting}"));
        discos
    }

    /// One line as DISCOS reads it: to the LF, which must follow a CR, and
    /// under 512 bytes with both.
    async fn line(&mut self) -> String {
        let mut bytes = Vec::new();
        loop {
            let mut byte = [0u8; 1];
            let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut byte))
                .await
                .unwrap_or_else(|_| panic!("no reply within 5 s\n{}", self.log.join("\n")))
                .unwrap();
            assert_eq!(n, 1, "the backend closed\n{}", self.log.join("\n"));
            if byte[0] == b'\n' {
                break;
            }
            bytes.push(byte[0]);
        }
        assert!(
            bytes.len() + 1 < 512,
            "a line of {} bytes overruns DISCOS's 512-byte buffer\n{}",
            bytes.len() + 1,
            self.log.join("\n")
        );
        assert_eq!(
            bytes.pop(),
            Some(b'\r'),
            "DISCOS drops the character before the LF: it must be the CR\n{}",
            self.log.join("\n")
        );
        String::from_utf8(bytes).unwrap()
    }

    /// Sends `request` as DISCOS writes it and reads the reply as DISCOS's
    /// library parses it: `!`, the request's name, a code exactly `ok`,
    /// `fail` or `invalid`, and (for a refusal) a reason. Returns the code
    /// and the fields after it.
    async fn send(&mut self, request: &str) -> (String, Vec<String>) {
        assert!(
            request.len() + 3 < 512,
            "DISCOS builds requests in 512 bytes"
        );
        self.stream
            .write_all(format!("?{request}\r\n").as_bytes())
            .await
            .unwrap();
        let reply = self.line().await;
        self.log.push(format!("?{request} → {reply}"));
        let name = request.split(',').next().unwrap();
        let fields: Vec<String> = reply.split(',').map(str::to_owned).collect();
        assert_eq!(
            fields[0],
            format!("!{name}"),
            "the reply is named as its request\n{}",
            self.log.join("\n")
        );
        let code = fields.get(1).cloned().unwrap_or_default();
        assert!(
            matches!(code.as_str(), "ok" | "fail" | "invalid"),
            "DISCOS reads the code strictly\n{}",
            self.log.join("\n")
        );
        if code != "ok" {
            assert!(
                fields.get(2).is_some_and(|reason| !reason.is_empty()),
                "a refusal without a reason makes DISCOS throw\n{}",
                self.log.join("\n")
            );
        }
        (code, fields[2..].to_vec())
    }

    /// A request whose refusal DISCOS reports, or acts on: it must be `ok`.
    async fn ok(&mut self, request: &str) -> Vec<String> {
        let (code, fields) = self.send(request).await;
        assert_eq!(
            code,
            "ok",
            "DISCOS needs {request} done\n{}",
            self.log.join("\n")
        );
        fields
    }

    /// `get-tpi` or `get-rms`: exactly `inputs` numbers, as DISCOS reads
    /// them into its sequence of doubles.
    async fn values(&mut self, request: &str, inputs: usize) {
        let values = self.ok(request).await;
        assert_eq!(
            values.len(),
            inputs,
            "DISCOS reads one value per input\n{}",
            self.log.join("\n")
        );
        for value in values {
            assert!(value.parse::<f64>().is_ok(), "{value} is not a double");
        }
    }
}

/// An observation as DISCOS runs it (connect, configure, sections, Tsys,
/// two scans of two subscans with their double stop, file names, end of
/// schedule), for a configuration of `inputs` inputs whose sections DISCOS
/// sets with `sections`.
async fn observe(
    server: &Server,
    configuration: &str,
    sections: &[String],
    inputs: usize,
    skarab: bool,
) {
    let mut discos = AsDiscos::connect(server).await;
    discos
        .ok(&format!("set-configuration,{configuration}"))
        .await;
    let read_back = discos.ok("get-configuration").await;
    assert_eq!(read_back.first().map(String::as_str), Some(configuration));
    for section in sections {
        discos.ok(&format!("set-section,{section}")).await;
    }
    discos.ok("set-integration,40").await;
    discos.ok("cal-on").await;
    discos.ok("cal-on,10").await;
    if skarab {
        discos.ok("set-shift,3").await;
        discos.ok("set-enable,7,7").await;
    } else if inputs > 2 {
        discos.ok("set-enable,0,3").await;
    }
    // tsys: the power, the zero (a get-tpi too), the power with the mark.
    for _ in 0..3 {
        discos.values("get-tpi,0,0", inputs).await;
    }
    discos.values("get-tpi,22235.1,300", inputs).await;
    discos.values("get-tpi,1e+06,2.5e-05", inputs).await;
    discos.values("get-rms", inputs).await;
    let base =
        "/archive/data/proj/20250110/20250110-093012-proj-3C286/tmp/20250110-093012-proj-3C286";
    for scan in 1..=2 {
        if scan > 1 {
            // The scan's end: a second stop, which DISCOS sends to an idle backend.
            discos.send("stop").await;
        }
        for subscan in 1..=2 {
            discos.ok("start").await;
            let (_, status) = discos.send("status").await;
            assert_eq!(status.get(2).map(String::as_str), Some("1"), "acquiring");
            discos.ok("stop").await;
            // DISCOS reads the line and never parses it.
            discos
                .send(&format!("set-filename,{base}_{scan:03}_{subscan:03}.fits"))
                .await;
        }
    }
    discos.send("stop").await;
    let (_, status) = discos.send("status").await;
    assert_eq!(
        status.get(2).map(String::as_str),
        Some("0"),
        "idle after the stops"
    );
    let (_, time) = discos.send("time").await;
    let seconds: i64 = time[0].split('.').next().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((seconds - now).abs() < 5, "Unix seconds: {}", time[0]);
    let (_, version) = discos.send("version").await;
    assert!(!version.is_empty());
    if skarab {
        discos.ok("backend-park").await;
        discos.ok("end-schedule").await;
    }
}

/// `set-section` lines as DISCOS sends them for `count` sections: feeds
/// two by two, polarisation `pol` (or alternating 0 and 1 when `None`).
fn sections(count: usize, bandwidth: &str, rate: &str, bins: u32, pol: Option<u8>) -> Vec<String> {
    (0..count)
        .map(|j| {
            let pol = pol.unwrap_or((j % 2) as u8);
            let feed = if pol == 2 { j } else { j / 2 };
            format!("{j},0,{bandwidth},{feed},{pol},{rate},{bins}")
        })
        .collect()
}

async fn profile(name: &str) -> Server {
    let catalogue = Catalogue::profile(name).unwrap();
    serve(HandlerKind::Simulator.build(Some(catalogue))).await
}

#[tokio::test]
async fn without_a_profile_the_simulator_runs_discos_s_sk00_observation() {
    let server = simulator().await;
    observe(
        &server,
        "SK00",
        &sections(2, "1500", "3000", 16384, None),
        2,
        false,
    )
    .await;
    // And takes every other line DISCOS sends: Skarab's commands, SL00's
    // 2300 MHz, section 13 of SK77, Skarab's feed 7.
    let mut discos = AsDiscos::connect(&server).await;
    for line in [
        "set-configuration,SKARAB_1S",
        "set-section,0,0,2300,0,0,4600,1024",
        "set-section,13,0,1500,6,1,3000,1024",
        "set-section,0,906.25,187.5,0,0,375,32768",
        "set-enable,7,7",
        "set-shift,3",
        "backend-park",
        "end-schedule",
    ] {
        discos.ok(line).await;
    }
    discos.values("get-rms", 2).await;
    server.shutdown().await;
}

#[tokio::test]
async fn with_the_sardara_profile_discos_runs_sk00_sk77_and_sk77s() {
    let server = profile("sardara").await;
    let runs = [
        ("SK00", sections(2, "1500", "3000", 16384, None), 2),
        ("SK77", sections(14, "1500", "3000", 1024, None), 14),
        ("SK77S", sections(7, "1500", "3000", 1024, Some(2)), 14),
        ("SK00S", sections(1, "1500", "3000", 1024, Some(2)), 2),
        ("SK01", sections(4, "1500", "3000", 1024, None), 4),
    ];
    for (configuration, lines, inputs) in runs {
        observe(&server, configuration, &lines, inputs, false).await;
    }
    let mut discos = AsDiscos::connect(&server).await;
    discos.ok("set-configuration,SL00").await;
    discos.ok("set-section,0,0,2300,0,0,4600,1024").await;
    // Beyond Sardara's hardware, as DISCOS's own limits are.
    for line in [
        "set-section,14,0,1500,0,0,3000,1024",
        "set-section,0,0,2400,0,0,3000,1024",
        "set-section,0,151,1500,0,0,3000,1024",
        "set-section,0,0,1500,0,0,3000,2048",
        "set-section,0,0,1500,0,0,5000,1024",
        "set-enable,7,7",
        "set-configuration,SK03S",
        "set-configuration,sk00",
    ] {
        assert_eq!(discos.send(line).await.0, "fail", "{line}");
    }
    let (_, reason) = discos.send("set-section,0,0,1500,0,0,3000,2048").await;
    assert_eq!(
        reason,
        ["2048 bins cannot be made: bins are one of 1024 or 16384"],
        "a reason without a comma, which DISCOS would cut"
    );
    // What DISCOS's Sardara never sends, it does not know.
    let (code, reason) = discos.send("set-shift,3").await;
    assert_eq!(
        (code.as_str(), reason[0].as_str()),
        ("fail", "invalid command 'set-shift'")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn with_the_skarab_profile_discos_runs_skarab_1() {
    let server = profile("skarab").await;
    observe(
        &server,
        "SKARAB_1",
        &sections(14, "1400", "2800", 2048, None),
        14,
        true,
    )
    .await;
    observe(
        &server,
        "SKARAB_2S",
        &(0..7)
            .map(|j| format!("{j},906.25,187.5,{j},2,375,32768"))
            .collect::<Vec<_>>(),
        14,
        true,
    )
    .await;
    let mut discos = AsDiscos::connect(&server).await;
    for line in [
        "set-section,0,0,1400,0,0,2800,1000",
        "set-section,0,1501,1400,0,0,2800,2048",
        "set-enable,8,8",
        "set-configuration,SKARAB_7S",
        "set-configuration,SKARAB_6",
    ] {
        assert_eq!(discos.send(line).await.0, "fail", "{line}");
    }
    server.shutdown().await;
}

#[test]
fn every_profile_is_valid_and_names_its_backend() {
    for profile in discos_acceptance::backend::PROFILES {
        let catalogue = Catalogue::profile(profile.name).unwrap();
        assert!(!catalogue.name.is_empty(), "{}", profile.path);
        let on_disk = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(profile.path),
        )
        .unwrap();
        assert_eq!(
            on_disk, profile.text,
            "{} is compiled in as it is",
            profile.path
        );
    }
    let sardara = Catalogue::profile("sardara").unwrap();
    let ids: Vec<&str> = sardara
        .configurations
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "SK00", "SK01", "SK03", "SK04", "SK06", "SK77", "SCC00", "SCH00", "SL00", "SP00",
            "SK00S", "SK77S", "SCC00S", "SCH00S", "SL00S", "SP00S"
        ]
    );
    let skarab = Catalogue::profile("skarab").unwrap();
    assert_eq!(skarab.configurations.len(), 15);
    assert!(skarab.configurations.iter().all(|c| c.inputs == 14));
}
