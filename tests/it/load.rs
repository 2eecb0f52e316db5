//! `discos-sim load` itself: its counts are exact, every error is counted,
//! a server that closes or goes silent ends the run instead of hanging it,
//! and its command line refuses bad arguments with a reason.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use discos_acceptance::backend::{Handler, HandlerKind};
use discos_acceptance::load::{Config, Report, Stop, run_load};
use discos_acceptance::protocol::Message;
use discos_acceptance::server::{Config as ServerConfig, Server};

const BIN: &str = env!("CARGO_BIN_EXE_discos-sim");

/// Longer than any run here takes; reached only if the tool hangs.
const HANG: Duration = Duration::from_secs(60);

async fn serve(kind: HandlerKind) -> Server {
    serve_handler(kind.build(None)).await
}

async fn serve_handler(handler: Arc<dyn Handler>) -> Server {
    Server::start(ServerConfig::default(), handler)
        .await
        .expect("server starts")
}

async fn load(config: Config) -> Report {
    tokio::time::timeout(HANG, run_load(&config))
        .await
        .expect("the load tool ends by itself")
}

fn requests(server: &Server, connections: usize, pipeline: usize, count: u64) -> Config {
    Config {
        connections,
        pipeline,
        stop: Some(Stop::Requests(count)),
        ..Config::new(server.local_addr().to_string())
    }
}

/// Runs the binary with `args` and returns (exit code, stdout, stderr).
async fn cli(args: &[&str]) -> (Option<i32>, String, String) {
    let run = tokio::process::Command::new(BIN)
        .arg("load")
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(HANG, run)
        .await
        .expect("discos-sim load ends by itself")
        .expect("discos-sim runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn url(server: &Server) -> String {
    format!("tcp://{}", server.local_addr())
}

#[tokio::test]
async fn counts_are_exact_against_a_server_that_answers_ok() {
    let server = serve(HandlerKind::AlwaysOk).await;
    // 1001 does not divide by 3: the spread must still add up.
    let report = load(requests(&server, 3, 4, 1001)).await;
    assert_eq!(report.requests, 1001);
    assert_eq!(report.replies, 1001);
    assert_eq!((report.errors, report.unanswered), (0, 0));
    assert_eq!(report.failed_connections, 0);
    assert!(report.passed());
    let p50 = report.latency_p50_us.expect("latencies were measured");
    let max = report.latency_max_us.expect("latencies were measured");
    assert!(p50 > 0.0 && p50 <= max, "p50 {p50} max {max}");
    assert!(report.requests_per_second > 0.0);
    server.shutdown().await;
}

#[tokio::test]
async fn the_simulator_answers_every_pipelined_get_tpi_ok() {
    let server = serve(HandlerKind::Simulator).await;
    let report = load(requests(&server, 4, 32, 5000)).await;
    assert_eq!((report.requests, report.replies), (5000, 5000));
    assert_eq!(report.errors, 0, "{report}");
    assert!(report.passed());
    server.shutdown().await;
}

#[tokio::test]
async fn every_fail_reply_is_counted_and_shown() {
    let server = serve(HandlerKind::AlwaysFail).await;
    let report = load(requests(&server, 2, 8, 300)).await;
    assert_eq!(report.requests, 300);
    assert_eq!(report.errors, 300);
    assert_eq!(report.unanswered, 0);
    assert_eq!(report.failed_connections, 0);
    assert!(!report.passed());
    let sample = &report.error_samples.kinds[0];
    assert_eq!(sample.count, 300);
    assert!(sample.text.starts_with("!get-tpi,fail,"), "{}", sample.text);
    assert!(report.to_string().contains("!get-tpi,fail,"), "{report}");
    server.shutdown().await;
}

/// Answers every request `ok`, but always under the name `status`.
struct WrongName;

#[async_trait]
impl Handler for WrongName {
    async fn handle(&self, _: &Message) -> Message {
        Message::ok("status", ["0"])
    }
}

#[tokio::test]
async fn an_ok_reply_under_another_name_is_an_error() {
    let server = serve_handler(Arc::new(WrongName)).await;
    let report = load(requests(&server, 1, 1, 10)).await;
    assert_eq!((report.requests, report.errors), (10, 10));
    let sample = &report.error_samples.kinds[0].text;
    assert!(sample.contains("in reply to ?get-tpi"), "{sample}");
    server.shutdown().await;
}

/// A backend that sends the handshake, answers `answered` requests, then
/// closes the connection.
async fn closing_server(answered: usize) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        write.write_all(b"!version,ok,1.4\r\n").await.unwrap();
        let mut lines = BufReader::new(read).lines();
        for _ in 0..answered {
            let line = lines.next_line().await.unwrap().unwrap();
            let name = line.trim_start_matches('?');
            write
                .write_all(format!("!{name},ok,1.0\r\n").as_bytes())
                .await
                .unwrap();
        }
        // Close mid-run (a FIN, not a reset: reading on until the client
        // goes, so no unread request turns the close into an RST).
        write.shutdown().await.unwrap();
        while let Ok(Some(_)) = lines.next_line().await {}
    });
    (address, task)
}

#[tokio::test]
async fn a_server_that_closes_mid_run_is_reported_not_waited_for() {
    let (address, server) = closing_server(5).await;
    let config = Config {
        pipeline: 4,
        stop: Some(Stop::Requests(100)),
        ..Config::new(address)
    };
    let report = load(config).await;
    server.await.unwrap();
    assert_eq!(report.replies, 5);
    assert_eq!(report.failed_connections, 1);
    assert!(report.unanswered > 0, "{report}");
    assert_eq!(report.errors, report.unanswered);
    assert_eq!(report.requests, report.replies + report.unanswered);
    assert!(!report.passed());
    let failure = &report.connection_failures.kinds[0].text;
    assert!(failure.contains("closed the connection"), "{failure}");
}

#[tokio::test]
async fn a_server_that_goes_silent_ends_the_run_at_the_reply_timeout() {
    // Handshake, then nothing: the listener holds the connection open.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let silent = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"!version,ok,1.4\r\n").await.unwrap();
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut sink).await;
    });
    let config = Config {
        reply_timeout: Duration::from_millis(200),
        ..Config::new(address)
    };
    let report = load(config).await;
    assert_eq!((report.requests, report.replies), (1, 0));
    assert_eq!((report.errors, report.unanswered), (1, 1));
    assert_eq!(report.failed_connections, 1);
    let failure = &report.connection_failures.kinds[0].text;
    assert!(failure.contains("none came"), "{failure}");
    silent.abort();
}

#[tokio::test]
async fn connections_that_cannot_open_are_counted() {
    // A port nothing listens on: bind one, then free it.
    let address = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let report = load(Config {
        connections: 3,
        ..Config::new(address)
    })
    .await;
    assert_eq!(report.failed_connections, 3);
    assert_eq!(report.requests, 0);
    assert_eq!(report.connection_failures.kinds[0].count, 3);
    assert!(!report.passed());
}

#[tokio::test]
async fn idle_connections_are_held_and_a_sample_answers() {
    let server = serve(HandlerKind::Simulator).await;
    let config = Config {
        idle_connections: 50,
        idle_sample: 10,
        stop: None,
        // This test process serves, so its own memory is the server's.
        server_pid: Some(std::process::id()),
        ..Config::new(server.local_addr().to_string())
    };
    let report = load(config).await;
    let idle = report.idle.as_ref().expect("an idle report");
    assert_eq!((idle.idle_connections, idle.idle_held), (50, 50));
    assert_eq!((idle.idle_sampled, idle.idle_answering), (10, 10));
    assert!(idle.server_rss_bytes.is_some_and(|rss| rss > 0));
    assert_eq!(report.requests, 0, "no active run was asked for");
    assert!(report.passed(), "{report}");
    server.shutdown().await;
}

#[tokio::test]
async fn idle_connections_may_each_hold_an_unfinished_line() {
    // Room for 5 of the 20 unfinished lines: the server refuses the others
    // at once, and every connection still answers.
    let server = Server::start(
        ServerConfig {
            max_buffered: 200_000,
            ..ServerConfig::default()
        },
        HandlerKind::Simulator.build(None),
    )
    .await
    .expect("server starts");
    let config = Config {
        idle_connections: 20,
        idle_unfinished_line: 20_000,
        idle_sample: 20,
        stop: None,
        server_pid: Some(std::process::id()),
        ..Config::new(server.local_addr().to_string())
    };
    let report = load(config).await;
    let idle = report.idle.as_ref().expect("an idle report");
    assert_eq!(idle.idle_unfinished_line_bytes, 20_000);
    assert_eq!((idle.idle_held, idle.idle_answering), (20, 20), "{report}");
    let (rss, peak) = (
        idle.server_rss_bytes.unwrap(),
        idle.server_peak_rss_bytes.unwrap(),
    );
    assert!(peak >= rss, "peak {peak} below {rss}");
    assert!(report.passed(), "{report}");
    assert!(
        report
            .to_string()
            .contains("each in the middle of a line of 20000 bytes")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn idle_connections_and_an_active_run_combine() {
    let server = serve(HandlerKind::Simulator).await;
    let config = Config {
        idle_connections: 20,
        idle_sample: 5,
        ..requests(&server, 2, 2, 100)
    };
    let report = load(config).await;
    assert_eq!(report.requests, 100);
    let idle = report.idle.as_ref().expect("an idle report");
    assert_eq!((idle.idle_sampled, idle.idle_answering), (5, 5));
    assert!(report.passed());
    server.shutdown().await;
}

#[tokio::test]
async fn the_binary_prints_json_with_unit_named_fields() {
    let server = serve(HandlerKind::Simulator).await;
    let (code, stdout, stderr) = cli(&[
        &url(&server),
        "--connections",
        "2",
        "--pipeline",
        "8",
        "--requests",
        "400",
        "--json",
    ])
    .await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(json["requests"], 400);
    assert_eq!(json["errors"], 0);
    assert_eq!(json["failed_connections"], 0);
    for field in [
        "elapsed_seconds",
        "requests_per_second",
        "latency_p50_us",
        "latency_p90_us",
        "latency_p99_us",
        "latency_max_us",
    ] {
        assert!(json[field].as_f64().is_some(), "{field} in {json}");
    }
    assert!(
        json.get("idle_connections").is_none(),
        "no idle run: {json}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_binary_reports_idle_connections_in_json() {
    let server = serve(HandlerKind::Simulator).await;
    let pid = std::process::id().to_string();
    let (code, stdout, stderr) = cli(&[
        &url(&server),
        "--idle-connections",
        "30",
        "--idle-unfinished-line",
        "65535",
        "--server-pid",
        &pid,
        "--json",
    ])
    .await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(json["idle_connections"], 30);
    assert_eq!(json["idle_unfinished_line_bytes"], 65535);
    assert_eq!(json["idle_sampled"], 30);
    assert_eq!(json["idle_answering"], 30);
    assert!(json["server_rss_bytes"].as_u64().is_some_and(|b| b > 0));
    assert!(
        json["server_peak_rss_bytes"]
            .as_u64()
            .is_some_and(|b| b > 0)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_binary_exits_1_on_errors_and_shows_a_sample() {
    let server = serve(HandlerKind::AlwaysFail).await;
    let (code, stdout, _) = cli(&[&url(&server), "--requests", "50"]).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("errors             50"), "{stdout}");
    assert!(stdout.contains("50 × !get-tpi,fail,"), "{stdout}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_binary_sends_the_command_asked_for() {
    let server = serve(HandlerKind::Simulator).await;
    // HOST:PORT, as send takes it; the other tests give tcp://HOST:PORT.
    let (code, stdout, stderr) = cli(&[
        &server.local_addr().to_string(),
        "--requests",
        "20",
        "--command",
        "set-integration,10",
        "--json",
    ])
    .await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(json["command"], "?set-integration,10");
    assert_eq!(json["requests"], 20);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_arguments_get_one_clear_line() {
    for (args, expected) in [
        (
            &["tcp://127.0.0.1:1", "--requests", "5", "--duration", "1s"][..],
            "cannot be used with",
        ),
        (&["http://127.0.0.1:1"][..], "scheme 'http'"),
        (
            &["127.0.0.1:tcp://127.0.0.1:1"][..],
            "holds a URL ('://') inside",
        ),
        (&["tcp://127.0.0.1"][..], "has no port"),
        (&["tcp://127.0.0.1:1", "--pipeline", "0"][..], "--pipeline"),
        (
            &["tcp://127.0.0.1:1", "--connections", "x"][..],
            "--connections",
        ),
        (
            &["tcp://127.0.0.1:1", "--duration", "soon"][..],
            "not a duration",
        ),
        (
            &["tcp://127.0.0.1:1", "--command", "!status,ok"][..],
            "is a reply",
        ),
        (
            &["tcp://127.0.0.1:1", "--server-pid", "4000000000"][..],
            "--server-pid",
        ),
        (
            &["tcp://127.0.0.1:1", "--idle-unfinished-line", "10"][..],
            "--idle-connections",
        ),
    ] {
        let (code, stdout, stderr) = cli(args).await;
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
}

/// Reads `child`'s stderr lines until one satisfies `wanted`; every line
/// read, in order.
async fn stderr_until(
    stderr: &mut tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    wanted: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(HANG, stderr.next_line())
            .await
            .expect("a line on stderr in time")
            .expect("stderr readable")
            .unwrap_or_else(|| panic!("stderr ended; it said {seen:?}"));
        let done = wanted(&line);
        seen.push(line);
        if done {
            return seen;
        }
    }
}

/// A long run says what it will do, writes a plain progress line every few
/// seconds where stderr is no terminal, and on Ctrl-C prints what it had
/// measured and exits 130, in text and in JSON.
#[tokio::test]
async fn a_long_run_shows_progress_and_ctrl_c_prints_what_was_measured() {
    let server = serve(HandlerKind::AlwaysOk).await;
    for json in [false, true] {
        let mut command = tokio::process::Command::new(BIN);
        command
            .args(["load", &url(&server), "--duration", "10m"])
            .args(if json { &["--json"][..] } else { &[][..] })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("discos-sim runs");
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let said = stderr_until(&mut stderr, |line| line.contains(" connected ")).await;
        assert!(
            said[0].starts_with(&format!(
                "load on {}: ?get-tpi for 10m over 1 connection(s), 1 in flight on each; Ctrl-C stops it",
                url(&server)
            )),
            "{said:?}"
        );
        let progress = said.last().unwrap();
        assert!(
            progress.contains("1 connected  0 failed") && !progress.contains('\x1b'),
            "a plain line: {progress:?}"
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id().unwrap() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let output = tokio::time::timeout(HANG, child.wait_with_output())
            .await
            .expect("an interrupted run ends at once")
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(130), "{stdout}");
        if json {
            let figures: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
            assert_eq!(figures["interrupted"], true, "{figures}");
            assert_eq!(figures["connections_opened"], 1, "{figures}");
            assert!(figures["replies"].as_u64().unwrap() > 0, "{figures}");
            assert_eq!(figures["errors"], 0, "{figures}");
        } else {
            assert!(
                stdout.starts_with("interrupted: what was measured until then"),
                "{stdout}"
            );
            assert!(stdout.contains("1 connected  0 failed"), "{stdout}");
            assert!(stdout.contains(" 0 errors "), "{stdout}");
        }
    }
}
