//! `discos-sim serve`, `send` and `check` as a user runs them.

use std::io::{BufRead, BufReader};
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
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
            "'localhost' has no port; write HOST:PORT",
        ),
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
    let target = format!("tcp://{}", served.address);
    // From a directory with no features in it: they come from the binary.
    let output = Command::new(BIN)
        .current_dir(std::env::temp_dir())
        .args(["check", "--target", &target, "--name", "handshake|version"])
        .output()
        .expect("discos-sim check runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("passed"), "{stdout}");
    assert!(!stdout.contains("failed"), "{stdout}");
    assert_eq!(served.signal(Signal::SIGTERM).code(), Some(0));

    let output = Command::new(BIN)
        .args(["check", "--target", "simulator"])
        .output()
        .expect("discos-sim check runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown target 'simulator'"), "{stderr}");
}
