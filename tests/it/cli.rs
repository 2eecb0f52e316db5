//! `discos-sim serve`, `send`, `console` and `check` as a user runs them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_discos-sim");

/// A `discos-sim serve` child, ready once its `listening on` line is read.
struct Served {
    child: std::process::Child,
    address: String,
}

impl Served {
    fn start(args: &[&str]) -> Served {
        Served::start_with(args, Stdio::null(), &[])
    }

    /// Starts with stderr piped, to read the log after [`Served::stop`].
    fn logging(args: &[&str], env: &[(&str, &str)]) -> Served {
        Served::start_with(args, Stdio::piped(), env)
    }

    fn start_with(args: &[&str], stderr: Stdio, env: &[(&str, &str)]) -> Served {
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("discos-sim starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .trim()
            .to_owned();
        Served { child, address }
    }

    fn signal(mut self, signal: Signal) -> std::process::ExitStatus {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
        self.child.wait().unwrap()
    }

    /// Ends the server with SIGTERM; its exit status and whole log.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let mut stderr = self.child.stderr.take().expect("stderr is piped");
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        let mut log = String::new();
        stderr.read_to_string(&mut log).unwrap();
        (self.child.wait().unwrap(), log)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send(address: &str, lines: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("send")
        .arg(address)
        .args(lines)
        .output()
        .unwrap()
}

#[test]
fn serve_then_send_then_sigterm() {
    let served = Served::start(&[]);
    assert!(
        served.address.starts_with("127.0.0.1:"),
        "{}",
        served.address
    );
    let out = send(
        &served.address,
        &["status", "?set-configuration,K2000", "get-configuration"],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("!status,ok,"), "{stdout}");
    assert_eq!(
        lines[1..],
        ["!set-configuration,ok", "!get-configuration,ok,K2000"]
    );
    assert!(out.status.success());
    assert!(served.signal(Signal::SIGTERM).success(), "SIGTERM exits 0");
}

#[test]
fn sigint_exits_zero_too() {
    let served = Served::start(&["--handler", "always-ok"]);
    let out = send(&served.address, &["anything,1"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "!anything,ok,1\n");
    assert!(served.signal(Signal::SIGINT).success());
}

#[test]
fn send_exits_1_on_a_reply_that_is_not_ok() {
    let served = Served::start(&[]);
    let out = send(&served.address, &["stop"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "!stop,fail,not acquiring\n"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_catalogue_option_is_used() {
    let catalogue = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/catalogue.toml");
    let served = Served::start(&["--catalogue", catalogue]);
    let out = send(&served.address, &["set-configuration,K9"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "!set-configuration,fail,cannot find configuration 'K9'\n"
    );
}

#[test]
fn the_profile_option_makes_a_backend_discos_drives() {
    let served = Served::start(&["--profile", "sardara"]);
    let out = send(
        &served.address,
        &["set-configuration,SK77S", "get-tpi,0,0", "set-shift,3"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "!set-configuration,ok", "{stdout}");
    let values = lines[1].strip_prefix("!get-tpi,ok,").unwrap().split(',');
    assert_eq!(values.count(), 14, "SK77S has 14 inputs: {stdout}");
    assert_eq!(lines[2], "!set-shift,fail,invalid command 'set-shift'");
    let served = Served::start(&["--profile", "skarab"]);
    let out = send(
        &served.address,
        &["set-configuration,SKARAB_1", "set-shift,3"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "!set-configuration,ok\n!set-shift,ok\n"
    );
}

/// Runs discos-sim with `args` and returns its exit code and stderr.
fn refused(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_arguments_get_a_clear_error_not_a_panic() {
    let cases: &[(&[&str], &str)] = &[
        (&["serve", "--handler", "maybe"], "unknown handler 'maybe'"),
        (&["serve", "--port", "99999"], "--port"),
        (&["serve", "--max-line", "0"], "--max-line"),
        (
            &["serve", "--catalogue", "/nonexistent.toml", "--port", "0"],
            "cannot read catalogue /nonexistent.toml",
        ),
        (
            &["serve", "--profile", "roach", "--port", "0"],
            "unknown profile 'roach'; expected one of sardara, skarab",
        ),
        (
            &[
                "serve",
                "--profile",
                "sardara",
                "--catalogue",
                "fixtures/catalogue.toml",
            ],
            "--catalogue",
        ),
        (
            &["serve", "--profile", "skarab", "--handler", "always-ok"],
            "--profile is for the simulator handler only",
        ),
        (
            &["serve", "--host", "256.0.0.1", "--port", "0"],
            "cannot listen on 256.0.0.1:0",
        ),
        (
            &["send", "127.0.0.1:1", "status"],
            "cannot connect to 127.0.0.1:1",
        ),
        (&["send", "127.0.0.1:1"], "LINES"),
        (
            &["send", "localhost", "status"],
            "'localhost' has no port; write HOST:PORT or tcp://HOST:PORT",
        ),
        (
            &["send", "127.0.0.1:1", "--timeout", "1e30", "status"],
            "'1e30' is not a duration",
        ),
        (
            &["send", "127.0.0.1:1", "--timeout", "1000d", "status"],
            "'1000d' is too long",
        ),
        (
            &["send", "127.0.0.1:1", "--timeout", "0s", "status"],
            "'0s' is too short",
        ),
        (
            &["send", "127.0.0.1:1", "--timeout", "5", "status"],
            "'5' has no unit",
        ),
        (&["check", "--settle", "2m"], "'2m' is too long: at most 1m"),
        (&["check", "--settle", "250"], "'250' has no unit"),
        (&["launch"], "unrecognized subcommand 'launch'"),
    ];
    for (args, expected) in cases {
        let (code, stderr) = refused(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_malformed_line_is_sent_as_typed_to_show_the_backends_answer() {
    let served = Served::start(&[]);
    let out = send(&served.address, &["sta tus"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("!sta,invalid,syntax error"), "{stdout}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_line_beyond_latin1_is_named() {
    let served = Served::start(&[]);
    let out = send(&served.address, &["set-filename,\u{20ac}"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("U+20AC"), "{stderr}");
}

#[test]
fn check_runs_the_compiled_in_features_against_a_running_backend() {
    let served = Served::start(&[]);
    // HOST:PORT as send takes it (tcp://HOST:PORT works as well); from a
    // directory with no features in it: they come from the binary.
    let output = Command::new(BIN)
        .current_dir(std::env::temp_dir())
        .args([
            "check",
            "--target",
            &served.address,
            "--name",
            "handshake|version",
        ])
        .output()
        .expect("discos-sim check runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(!stdout.contains('✘'), "{stdout}");
    assert_eq!(served.signal(Signal::SIGTERM).code(), Some(0));

    let output = Command::new(BIN)
        .args(["check", "--target", "simulator"])
        .output()
        .expect("discos-sim check runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown target 'simulator'"), "{stderr}");
}

/// A port nothing listens on any more, and the listener that held it, to
/// prove a command refused its input before connecting: the listener would
/// have had a connection waiting.
#[test]
fn check_refuses_a_malformed_feature_before_running_anything() {
    let output = Command::new(BIN)
        .args(["check", "--features", "fixtures/features/malformed"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    // Word for word as the README shows it.
    assert_eq!(
        stderr,
        "error: a feature file cannot be run as written, so nothing was run:\n  fixtures/features/malformed/misspelt.feature:6:3: `Scenerio:` is not a keyword Gherkin knows — did you mean `Scenario:`? As written, this line and the steps under it are a description, and never run\n"
    );
    assert!(
        output.stdout.is_empty(),
        "nothing ran: {:?}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// A timing check that comes after the time it was meant to precede (the
/// link holds replies back as an oversubscribed machine would) fails
/// saying the machine answered too late, not only that the backend did.
#[test]
fn a_timing_check_made_too_late_says_so() {
    let output = Command::new(BIN)
        .args(["check", "--features", "fixtures/features/late"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    let failed = printed
        .split_once("Failed scenarios:")
        .expect("a recap of the failures")
        .1;
    assert!(
        failed.contains("but status says it is — but this was seen ")
            && failed.contains("after the scenario's first timed start or stop was due"),
        "{failed}"
    );
    assert!(
        failed.contains("is already past")
            && failed
                .contains("after the time it names, and a time already past is rightly refused"),
        "{failed}"
    );
    assert_eq!(
        failed.matches("this machine answers too late").count(),
        2,
        "{failed}"
    );
}

/// Backends that start in time alone and not once others start beside
/// them: the run says the machine, not the backend, is the likely cause,
/// and what concurrency to try. The stand-in is slow on purpose from its
/// second start on (a marker file the first leaves), which a busy machine
/// would be.
#[test]
fn starts_too_slow_beside_each_other_say_the_machine_is_too_busy() {
    let marker = std::env::temp_dir().join(format!("discos-slow-start-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let target = format!(
        "cmd:if [ -e {m} ]; then sleep 4; fi; touch {m}; exec python3 fixtures/python_backend.py --port {{port}}",
        m = marker.display()
    );
    let output = Command::new(BIN)
        .args(["check", "--target", &target, "--ready-timeout", "1s"])
        .args(["--tags", "@must:one-reply", "--concurrency", "4"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&marker);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("backend starts were not ready within --ready-timeout 1s, with up to ")
            && printed.contains("while the first, started alone, was ready in ")
            && printed.contains("a lower --concurrency (say "),
        "{printed}"
    );
}

/// The body of the first block of `text` opened by `fence`, with its
/// line end, and what follows the block.
fn fenced<'a>(text: &'a str, fence: &str) -> (String, &'a str) {
    let (_, rest) = text.split_once(fence).expect("a fenced block");
    let (body, after) = rest.split_once("\n```\n").expect("its end");
    (format!("{body}\n"), after)
}

/// The README's failing-step example, run as it says: the feature it
/// shows, the command it gives, the output it shows (timings aside).
#[test]
fn the_readmes_failing_step_example_prints_what_it_shows() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let example = readme
        .split_once("Here, `features/my.feature` expects")
        .expect("the README's example")
        .1;
    let (feature, after) = fenced(example, "```gherkin\n");
    let (shown, _) = fenced(after, "```\n");
    let folder = std::env::temp_dir().join(format!("discos-cli-readme-{}", std::process::id()));
    std::fs::create_dir_all(folder.join("features")).unwrap();
    std::fs::write(folder.join("features/my.feature"), &feature).unwrap();
    let output = Command::new(BIN)
        .current_dir(&folder)
        .args(["check", "--features", "features/my.feature"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&folder).unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    let timings = regex::Regex::new(r"\b\d+(\.\d+)? ?m?s\b").unwrap();
    let untimed = |text: &str| timings.replace_all(text, "T").into_owned();
    assert_eq!(
        untimed(printed.trim_end()),
        untimed(shown.trim_end()),
        "the README shows what the run does not print"
    );
}

/// A report that cannot be written, or a concurrency no run can hold, is
/// refused before the backend is even reached: the listener standing for
/// it has no connection waiting.
#[test]
fn check_refuses_unwritable_reports_and_huge_concurrency_before_running() {
    let folder = std::env::temp_dir().join(format!("discos-cli-reports-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("a-file");
    std::fs::write(&file, "").unwrap();
    let folder_text = folder.display().to_string();
    let under_file = file.join("junit.xml").display().to_string();
    let (listener, port) = listener();
    let target = format!("127.0.0.1:{port}");
    let cases: [(&[&str], String); 4] = [
        (
            &["--html", &folder_text],
            format!("--html {folder_text}: that is a folder; name a file"),
        ),
        (
            &["--report-json", &folder_text],
            format!("--report-json {folder_text}: that is a folder"),
        ),
        (
            &["--junit", &under_file],
            format!("--junit {under_file}: cannot make its folder"),
        ),
        (
            &["--concurrency", "99999999999"],
            "--concurrency 99999999999 is more scenarios at once than a run can hold; give at most 1024".to_owned(),
        ),
    ];
    for (args, expected) in &cases {
        let output = Command::new(BIN)
            .args(["check", "--target", &target])
            .args(*args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected.as_str()), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: something ran");
        assert!(
            nobody_connected(&listener),
            "{args:?}: the backend was reached"
        );
    }
    // A merge names the report it cannot write before reading any.
    let output = Command::new(BIN)
        .args(["report", "merge", "missing.json", "--html", &folder_text])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("--html {folder_text}: that is a folder")),
        "{stderr}"
    );
    // Checking a path leaves nothing behind.
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1);
    std::fs::remove_dir_all(&folder).unwrap();
}

/// `serve --console-port`: every port is bound before `listening on` is
/// printed, so a console port that is taken, or the backend's own, fails
/// the command with nothing announced as ready.
#[test]
fn serve_announces_nothing_when_its_console_port_cannot_be_had() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port().to_string();
    let output = Command::new(BIN)
        .args(["serve", "--port", "0", "--console-port", &taken_port])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot serve the console on 127.0.0.1:{taken_port}"
        )),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "announced: {:?}", output.stdout);

    let (free, port) = listener();
    drop(free);
    let port = port.to_string();
    let output = Command::new(BIN)
        .args(["serve", "--port", &port, "--console-port", &port])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "--console-port {port} is the port the backend listens on (--port)"
        )),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "announced: {:?}", output.stdout);
}

fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn nobody_connected(listener: &TcpListener) -> bool {
    matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[test]
fn send_reads_both_address_forms() {
    let served = Served::start(&["--handler", "always-ok"]);
    for address in [served.address.clone(), format!("tcp://{}", served.address)] {
        let out = send(&address, &["status"]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "!status,ok\n",
            "{address}"
        );
        assert!(out.status.success(), "{address}");
    }
}

#[test]
fn an_address_with_a_scheme_in_its_host_is_refused_before_connecting() {
    let (listener, port) = listener();
    for (address, reason) in [
        (
            format!("127.0.0.1:tcp://127.0.0.1:{port}"),
            "holds a URL ('://') inside",
        ),
        (
            format!("tcp://tcp://127.0.0.1:{port}"),
            "holds a URL ('://') inside",
        ),
        (format!("http://127.0.0.1:{port}"), "has the scheme 'http'"),
        (format!("127.0.0.1/x:{port}"), "'127.0.0.1/x' holds '/'"),
    ] {
        let (code, stderr) = refused(&["send", &address, "status"]);
        assert_eq!(code, Some(2), "{address}: {stderr}");
        assert!(stderr.contains(reason), "{address}: {stderr}");
    }
    assert!(nobody_connected(&listener));
}

#[test]
fn a_line_break_inside_a_line_is_refused_before_anything_is_sent() {
    let (listener, port) = listener();
    let address = format!("127.0.0.1:{port}");
    for line in [
        "get-configuration\n?set-configuration,SMUGGLED\n?start",
        "status\r",
    ] {
        let out = send(&address, &["status", line]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("line 2 ("), "{stderr}");
        assert!(stderr.contains("holds a line break"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    assert!(
        nobody_connected(&listener),
        "not even the first line went out"
    );
}

/// A backend that opens with `handshake` and answers each request line with
/// the next of `replies`, whatever was asked.
fn scripted_backend(
    handshake: &'static str,
    replies: &'static [&'static str],
) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let thread = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        writer.write_all(handshake.as_bytes()).unwrap();
        let mut lines = BufReader::new(stream).lines();
        for reply in replies {
            if lines.next().is_none() {
                return;
            }
            writer.write_all(reply.as_bytes()).unwrap();
        }
        // Until the client closes.
        for _ in lines {}
    });
    (address, thread)
}

#[test]
fn a_reply_under_another_name_is_an_error_that_says_which() {
    let (address, backend) = scripted_backend(
        "!version,ok,1.4\r\n",
        &["!status,ok\r\n", "!status,ok,0,ok,0\r\n"],
    );
    let out = send(&address, &["status", "get-configuration", "time"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert_eq!(
        stdout, "!status,ok\n!status,ok,0,ok,0\n",
        "each reply is shown"
    );
    assert!(
        stderr.contains(
            "the reply to line 2 (\"?get-configuration\") is named 'status', not 'get-configuration'"
        ),
        "{stderr}"
    );
    backend.join().unwrap();
}

#[test]
fn another_protocol_version_is_warned_about() {
    let (address, backend) = scripted_backend("!version,ok,1.3\r\n", &["!status,ok\r\n"]);
    let out = send(&address, &["status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: ")
            && stderr.contains("speaks protocol 1.3 (!version,ok,1.3), not 1.4"),
        "{stderr}"
    );
    backend.join().unwrap();

    let served = Served::start(&[]);
    let out = send(&served.address, &["version"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "!version,ok,1.4\n");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn send_waits_as_long_as_its_humane_timeout_says() {
    // A backend that opens and then never answers.
    let (address, backend) = scripted_backend("!version,ok,1.4\r\n", &[]);
    let out = Command::new(BIN)
        .args(["send", &address, "--timeout", "200ms", "status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("waited 200ms for a reply"), "{stderr}");
    backend.join().unwrap();
}

#[test]
fn each_os_error_is_printed_once() {
    let (listener, port) = listener();
    drop(listener);
    let (_, stderr) = refused(&["send", &format!("127.0.0.1:{port}"), "status"]);
    assert_eq!(stderr.matches("Connection refused").count(), 1, "{stderr}");
    let (_, stderr) = refused(&["serve", "--port", "0", "--catalogue", "/nonexistent.toml"]);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    let served = Served::start(&[]);
    let port = served.address.rsplit_once(':').unwrap().1;
    let (_, stderr) = refused(&["serve", "--port", port]);
    assert_eq!(stderr.matches("in use").count(), 1, "{stderr}");
}

#[test]
fn logs_written_to_a_pipe_hold_no_colour_codes() {
    let served = Served::logging(&[], &[]);
    let (status, log) = served.stop();
    assert!(status.success());
    assert!(log.contains("listening"), "{log}");
    assert!(log.contains("SIGTERM: shutting down"), "{log}");
    assert!(!log.contains('\x1b'), "{log:?}");
}

#[test]
fn a_panicking_handler_logs_one_line_per_panic() {
    // A backtrace, if one were printed, would be printed in full.
    let served = Served::logging(&["--handler", "always-panic"], &[("RUST_BACKTRACE", "1")]);
    let out = send(&served.address, &["status", "get-tpi", "start"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(
        stdout.starts_with("!status,fail,internal error: the always-panic handler panics"),
        "{stdout}"
    );
    let (status, log) = served.stop();
    assert!(status.success(), "{log}");
    let panics: Vec<&str> = log.lines().filter(|l| l.contains("panic")).collect();
    assert_eq!(panics.len(), 3, "{log}");
    for (line, request) in panics.iter().zip(["?status", "?get-tpi", "?start"]) {
        assert!(line.contains("handler panicked; answered fail"), "{line}");
        assert!(line.contains(&format!("request={request} ")), "{line}");
        assert!(line.contains("at=src/backend/debug.rs:"), "{line}");
    }
    assert!(!log.contains("stack backtrace"), "{log}");
    assert!(log.len() < 2_000, "{} bytes of log: {log}", log.len());
}

#[test]
fn console_takes_a_tcp_url_for_its_backend() {
    let served = Served::start(&[]);
    let backend = format!("tcp://{}", served.address);
    let mut console = Command::new(BIN)
        .args(["console", "--port", "0", "--backend", &backend])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(console.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .strip_prefix("console on http://")
        .unwrap_or_else(|| panic!("{line:?}"));
    let host = url.trim().trim_end_matches('/');
    let mut http = std::net::TcpStream::connect(host).unwrap();
    write!(
        http,
        "GET /status HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    http.read_to_string(&mut response).unwrap();
    kill(Pid::from_raw(console.id() as i32), Signal::SIGTERM).unwrap();
    assert!(console.wait().unwrap().success());
    assert!(
        response.contains(&format!("\"backend\":\"{}\"", served.address)),
        "{response}"
    );
}

// ------------------------------------------------- the DISCOS stand-in

/// Runs `fixtures/discos_standin.py` (DISCOS's components, written apart
/// from the Rust DISCOS) against `address`: its exit code and its output.
fn discos_standin(address: &str, observations: &[&str]) -> (Option<i32>, String) {
    let (host, port) = address.rsplit_once(':').expect("HOST:PORT");
    let mut command = Command::new("python3");
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/discos_standin.py"
        ))
        .args(["--host", host, "--port", port]);
    for observation in observations {
        command.args(["--observation", observation]);
    }
    let output = command.output().expect("python3 runs the DISCOS stand-in");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// The exchanges of one whole observation of the stand-in: the greeting,
/// set-configuration, a set-section per section, set-integration, cal-on,
/// status, time, three get-tpi, get-rms; two scans of two subscans (start,
/// stop, set-filename each, a status in the first, the second stop after
/// each scan); status; Skarab's end-schedule; version.
fn observation_exchanges(sections: usize, skarab: bool) -> usize {
    1 + 1 + sections + 2 + 2 + 3 + 1 + 2 * (2 * 3 + 1) + 1 + 1 + usize::from(skarab) + 1
}

fn every_exchange_right(output: &str, observation: &str, exchanges: usize) {
    let line = format!("{observation}: {exchanges} of {exchanges} exchanges as DISCOS needs them");
    assert!(output.contains(&line), "no \"{line}\" in\n{output}");
}

#[test]
fn the_discos_stand_in_finds_every_exchange_right_with_the_simulator() {
    let served = Served::start(&[]);
    let (code, output) = discos_standin(&served.address, &["sardara:SK00"]);
    assert_eq!(code, Some(0), "{output}");
    every_exchange_right(&output, "sardara SK00", observation_exchanges(2, false));
}

#[test]
fn the_discos_stand_in_finds_every_exchange_right_with_sardaras_profile() {
    let served = Served::start(&["--profile", "sardara"]);
    let observations = ["sardara:SK00", "sardara:SK77", "sardara:SK77S"];
    let (code, output) = discos_standin(&served.address, &observations);
    assert_eq!(code, Some(0), "{output}");
    every_exchange_right(&output, "sardara SK00", observation_exchanges(2, false));
    every_exchange_right(&output, "sardara SK77", observation_exchanges(14, false));
    every_exchange_right(&output, "sardara SK77S", observation_exchanges(7, false));
}

#[test]
fn the_discos_stand_in_finds_every_exchange_right_with_skarabs_profile() {
    let served = Served::start(&["--profile", "skarab"]);
    let (code, output) = discos_standin(&served.address, &["skarab:SKARAB_1"]);
    assert_eq!(code, Some(0), "{output}");
    every_exchange_right(&output, "skarab SKARAB_1", observation_exchanges(14, true));
}

#[test]
fn the_discos_stand_in_reports_what_discos_could_not_use() {
    // Every request refused (with a reason): only the greeting and the
    // second stops (a refusal is expected) are as DISCOS needs them; a
    // refused file name DISCOS does not notice, and it is wrong all the
    // same.
    let served = Served::start(&["--handler", "always-fail"]);
    let (code, output) = discos_standin(&served.address, &["sardara:SK00"]);
    assert_eq!(code, Some(1), "{output}");
    let total = observation_exchanges(2, false);
    let right = 1 + 2;
    assert!(
        output.contains(&format!(
            "{right} of {total} exchanges as DISCOS needs them; {} not",
            total - right
        )),
        "{output}"
    );
    assert!(
        output.contains("WRONG ?set-configuration,SK00 -> !set-configuration,fail,"),
        "{output}"
    );
    let (code, output) = discos_standin(&served.address, &["sardara:SK99"]);
    assert_eq!(code, Some(2), "{output}");
    assert!(output.contains("sardara at SRT knows"), "{output}");
}

/// Ctrl-C at the terminal reaches the run alone when the run shares its
/// process group with the program that started it, as under `cargo test`:
/// that program (here `sh`, which a SIGINT would end at once) is still
/// there when the run has stopped, so its line — where the prompt would
/// come back — comes after everything the run printed.
#[test]
fn ctrl_c_at_the_terminal_stops_the_run_before_the_prompt_returns() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!(
            "skipped: `script` (util-linux) gives this test its terminal; install util-linux"
        );
        return;
    }
    let inner = format!("\"{BIN}\" check --concurrency 1; echo \"parent saw $?\"");
    let command = format!("sh -c '{inner}'");
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script runs");
    let mut stdout = child.stdout.take().unwrap();
    let (chunks, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read) = stdout.read(&mut buffer) {
            if read == 0 || chunks.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });
    let patience = std::time::Duration::from_secs(120);
    let mut seen = String::new();
    let mut interrupted = false;
    loop {
        match received.recv_timeout(patience) {
            Ok(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("no end within {patience:?}; it printed:\n{seen}");
            }
        }
        // A scenario has run: Ctrl-C, typed at the terminal.
        if !interrupted && seen.contains("Feature:") {
            child.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
            interrupted = true;
        }
    }
    child.wait().unwrap();
    assert!(interrupted, "the run printed no feature:\n{seen}");
    let (run, after) = seen
        .split_once("parent saw ")
        .unwrap_or_else(|| panic!("the parent did not outlive the run:\n{seen}"));
    assert!(after.starts_with("130"), "{after}");
    assert!(
        after["130".len()..].trim().is_empty(),
        "the run printed after its parent's line:\n{after}"
    );
    assert!(run.contains("SIGINT received"), "{run}");
    assert!(
        run.contains("interrupted by SIGINT before it started"),
        "{run}"
    );
}
