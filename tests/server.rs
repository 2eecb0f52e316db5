//! The server and the simulator over real TCP: every command, every failure
//! row of protocol.md, and everything a misbehaving client can do.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use discos_acceptance::backend::{Catalogue, Handler, HandlerKind};
use discos_acceptance::client::{Client, ClientError};
use discos_acceptance::protocol::{Code, Message, Timestamp};
use discos_acceptance::server::{Config, Server};

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
    server.shutdown().await;
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
    server.shutdown().await;
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
            "!get-tpi,fail,get-tpi takes no arguments (got 1)",
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
            "set-section,5,*,*,*,*,*,*",
            "!set-section,fail,section 5 is beyond the maximum: sections go from 0 to 4",
        ),
        (
            "set-section,0,*,2000.5,*,*,*,*",
            "!set-section,fail,bandwidth 2000.5 MHz is above the maximum of 2000 MHz",
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
            "set-enable,0,2",
            "!set-enable,fail,feed 2 is out of range: feeds go from 0 to 1",
        ),
        (
            "set-enable,-1,0",
            "!set-enable,fail,feed -1 is out of range: feeds go from 0 to 1",
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
    server.shutdown().await;
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
    server.shutdown().await;
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
    server.shutdown().await;
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
    server.shutdown().await;
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
    server.shutdown().await;
}

#[tokio::test]
async fn decimal_second_timestamps_are_accepted_too() {
    let server = simulator().await;
    let mut c = connect(&server).await;
    let at = Timestamp::now()
        .after(Duration::from_secs(3600))
        .to_string();
    assert_eq!(ask(&mut c, &format!("start,{at}")).await, "!start,ok");
    server.shutdown().await;
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
    server.shutdown().await;
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
    server.shutdown().await;
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
    server.shutdown().await;
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
    server.shutdown().await;
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
    server.shutdown().await;
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
    c.close().await.unwrap();
    server.shutdown().await;
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
    server.shutdown().await;
}

#[tokio::test]
async fn the_debug_handlers_echo_or_fail_anything() {
    let ok = serve(HandlerKind::AlwaysOk.build(None)).await;
    let mut c = connect(&ok).await;
    assert_eq!(
        ask(&mut c, "anything,a\\,b,,c").await,
        "!anything,ok,a\\,b,,c"
    );
    let fail = serve(HandlerKind::AlwaysFail.build(None)).await;
    let mut c = connect(&fail).await;
    assert_eq!(
        ask(&mut c, "status").await,
        "!status,fail,the always-fail handler fails every request"
    );
    // Syntax is checked before any handler: malformed is still invalid.
    c.send_raw(b"?a b\r\n").await.unwrap();
    assert_eq!(c.receive().await.unwrap().code(), Some(Code::Invalid));
    ok.shutdown().await;
    fail.shutdown().await;
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
    server.shutdown().await;
}

#[tokio::test]
async fn beyond_the_connection_limit_a_client_is_told_why() {
    let config = Config {
        max_connections: 2,
        ..Config::default()
    };
    let server = serve_with(config, HandlerKind::Simulator.build(None)).await;
    let _a = connect(&server).await;
    let _b = connect(&server).await;
    let refused = Client::connect(server.local_addr().to_string())
        .await
        .unwrap_err();
    let ClientError::Refused { reason, .. } = refused else {
        panic!("expected a refusal, got {refused}");
    };
    assert_eq!(reason, "too many connections: the limit is 2");
    assert_eq!(server.refused_connections(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_every_connection_and_waits_for_every_task() {
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
    server.shutdown().await;
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
        "only the handshake, then the close"
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
    server.shutdown().await;
}
