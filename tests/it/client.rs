//! The protocol client against backends that misbehave on the wire: every
//! line comes with its bytes and how it ended, a reply cut by the
//! connection's end or stalled half-way is told as such, lines nobody asked
//! for are handed out, and nothing a backend sends makes a transcript or a
//! close unbounded.

use std::time::Duration;

use discos_acceptance::client::{Client, ClientError, ClientOptions, Direction, SHOWN_LINE};
use discos_acceptance::protocol::LineEnd;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A backend written as a script: it greets, then for each request line it
/// reads, writes the next of `replies` as given (bytes exactly), and after
/// the last one does what `then` says.
#[derive(Clone, Copy)]
enum Then {
    /// Closes its side at once.
    Close,
    /// Keeps the connection open, reading and answering nothing.
    Wait,
    /// Writes lines without end once the client has closed its side.
    FloodOnClose,
}

async fn scripted(replies: &'static [&'static [u8]], then: Then) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        serve(stream, replies, then).await;
    });
    address
}

async fn serve(stream: TcpStream, replies: &[&[u8]], then: Then) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"!version,ok,1.4\r\n").await;
    let mut line = String::new();
    for reply in replies {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let _ = write.write_all(reply).await;
    }
    match then {
        Then::Close => {}
        Then::Wait => {
            // Until the client goes: then end too.
            let mut rest = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut lines, &mut rest).await;
        }
        Then::FloodOnClose => {
            let mut rest = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut lines, &mut rest).await;
            while write.write_all(b"!status,ok,1,ok,0\r\n").await.is_ok() {}
        }
    }
}

fn quick() -> ClientOptions {
    ClientOptions {
        reply_timeout: Duration::from_millis(300),
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn each_reply_comes_with_its_bytes_and_how_it_ended() {
    let address = scripted(
        &[b"!time,ok,1.000000\n", b"!status,ok,1.000000,ok,0\r\n"],
        Then::Wait,
    )
    .await;
    let mut client = Client::connect(address).await.unwrap();
    let greeting = client.handshake_line().expect("the handshake's line");
    assert_eq!(&greeting.line.raw[..], b"!version,ok,1.4\r\n");
    assert_eq!(greeting.line.end, LineEnd::CrLf);

    // A bare LF parses, and says how it ended.
    let reply = client.request_text("time").await.unwrap();
    assert_eq!(reply.name, "time");
    let line = client.last_line().expect("the reply's line");
    assert_eq!(line.line.end, LineEnd::Lf);
    assert_eq!(&line.line.raw[..], b"!time,ok,1.000000\n");
    assert_eq!(line.line.content(), b"!time,ok,1.000000");
    let entry = client.transcript().entries().last().unwrap().clone();
    assert_eq!(entry.direction, Direction::Received);
    assert_eq!(entry.end, Some(LineEnd::Lf));
    assert_eq!(
        entry.shown(),
        "!time,ok,1.000000 \u{27e8}ended by a bare LF, without its CR\u{27e9}"
    );

    client.request_text("status").await.unwrap();
    assert_eq!(client.last_line().unwrap().line.end, LineEnd::CrLf);
    assert_eq!(
        client.transcript().entries().last().unwrap().shown(),
        "!status,ok,1.000000,ok,0",
        "a line ended as the contract says carries no note"
    );
    assert!(client.arrived().unwrap().is_empty(), "nothing unasked");
    assert!(client.partial().is_empty());
    assert!(client.close().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_reply_cut_by_the_connections_end_is_not_a_whole_reply() {
    let address = scripted(&[b"!set-integration,fail,E09"], Then::Close).await;
    let mut client = Client::connect_with(address, quick()).await.unwrap();
    let error = client.request_text("set-integration,10").await.unwrap_err();
    assert!(
        matches!(error, ClientError::Cut { bytes: 25, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains(
            "closed the connection in the middle of the reply to ?set-integration,10: 25 byte(s) came (!set-integration,fail,E09), without their line end"
        ),
        "{text}"
    );
    let line = client.last_line().unwrap();
    assert_eq!(line.line.end, LineEnd::Eof);
    assert!(client.backend_closed());
    let shown: Vec<String> = client
        .transcript()
        .entries()
        .iter()
        .map(|entry| entry.shown().into_owned())
        .collect();
    assert_eq!(
        shown[shown.len() - 2..],
        [
            "!set-integration,fail,E09 \u{27e8}cut: the connection closed before its line end\u{27e9}",
            "connection closed by the backend"
        ],
        "the cut line, then the close: {shown:?}"
    );
}

#[tokio::test]
async fn half_a_reply_then_silence_says_how_much_came() {
    let address = scripted(&[b"!set-integration,fa"], Then::Wait).await;
    let mut client = Client::connect_with(address, quick()).await.unwrap();
    let error = client.request_text("set-integration,10").await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, ClientError::Stalled { bytes: 19, .. }),
        "{error:?}"
    );
    assert!(
        text.contains(
            "for the reply to ?set-integration,10 from 127.0.0.1:"
        ) && text.contains(": 19 byte(s) of a line came (!set-integration,fa), then nothing more, and no line end"),
        "{text}"
    );
    assert!(!text.contains("none came"), "{text}");
    assert_eq!(client.partial(), b"!set-integration,fa");
}

#[tokio::test]
async fn lines_nobody_asked_for_are_handed_out() {
    let address = scripted(
        &[
            b"!time,ok,1.0\r\n!time,ok,2.0\r\n",
            b"!status,ok,1,ok,0\r\n!stop,ok\r\n",
        ],
        Then::Wait,
    )
    .await;
    let mut client = Client::connect_with(address, quick()).await.unwrap();
    client.request_text("time").await.unwrap();
    // Written with the reply, the extra line came with it.
    let extra = client.arrived().unwrap();
    assert_eq!(extra.len(), 1, "{extra:?}");
    assert_eq!(&extra[0].line.raw[..], b"!time,ok,2.0\r\n");
    client.request_text("status").await.unwrap();
    // Closing reads what is still on its way.
    let unasked = client.close().await.unwrap();
    let unasked: Vec<&[u8]> = unasked.iter().map(|r| &r.line.raw[..]).collect();
    assert_eq!(unasked, [&b"!stop,ok\r\n"[..]]);
}

#[tokio::test]
async fn an_over_long_line_is_shown_cut_and_as_what_the_backend_sent() {
    static LONG: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
        let mut line = b"!set-filename,ok,".to_vec();
        line.resize(100_000, b'x');
        line.extend_from_slice(b"\r\n");
        line
    });
    let long: &'static [u8] = &LONG;
    let replies: &'static [&'static [u8]] = Box::leak(Box::new([long]));
    let address = scripted(replies, Then::Wait).await;
    let mut client = Client::connect_with(
        address,
        ClientOptions {
            max_line: 4096,
            ..quick()
        },
    )
    .await
    .unwrap();
    let error = client.request_text("set-filename,a").await.unwrap_err();
    assert!(matches!(error, ClientError::Malformed { .. }), "{error:?}");
    let entry = client.transcript().entries().last().unwrap().clone();
    assert_eq!(entry.end, Some(LineEnd::Discarded));
    assert!(
        entry.text.starts_with("!set-filename,ok,xxxx"),
        "the backend's own bytes: {}",
        entry.text
    );
    assert!(
        entry.text.chars().count() < SHOWN_LINE + 60,
        "{}",
        entry.text
    );
    assert!(entry.text.contains("cut here"), "{}", entry.text);
    assert!(
        entry.shown().contains("over the line limit"),
        "{}",
        entry.shown()
    );
}

#[tokio::test]
async fn a_backend_flooding_a_closing_connection_costs_a_bounded_transcript() {
    let address = scripted(&[b"!time,ok,1.0\r\n"], Then::FloodOnClose).await;
    let mut client = Client::connect_with(address, quick()).await.unwrap();
    client.request_text("time").await.unwrap();
    let error = client.close().await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("for the backend to close the connection"),
        "{error}"
    );
    let entries = client.transcript().entries();
    assert!(entries.len() < 30, "{} entries", entries.len());
    assert!(
        entries
            .iter()
            .any(|e| e.text.contains("more line(s) came while closing")),
        "the lines not kept are counted"
    );
}
