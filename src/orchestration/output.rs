//! A process's output, line by line: kept as a bounded tail for error
//! messages and tests, and matched against readiness patterns as each line
//! arrives, so an output-coordinated start wakes on the line itself instead of
//! on a poll.
//!
//! Bounded because a backend under test may write anything: a gigabyte with
//! no line break must cost this process no more than a quiet backend does.
//! A line is kept up to [`LONGEST_OUTPUT_LINE`] bytes (the rest counted, not
//! stored), the tail up to its line capacity and [`KEPT_BYTES`], and what was
//! dropped is counted so that a message can say how much it does not show.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use regex::Regex;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::oneshot;

/// The longest output line kept, in bytes; longer ones keep their start and
/// say how many bytes were cut. A stack trace's line fits; a binary blurt
/// does not need to.
pub const LONGEST_OUTPUT_LINE: usize = 1000;
/// The most bytes of output lines one process's tail holds, whatever its
/// line capacity: with [`LONGEST_OUTPUT_LINE`], the memory a process's
/// output can cost is this plus the readers' buffers.
pub const KEPT_BYTES: usize = 256 * 1024;
/// How much each reader takes from a pipe at a time.
const READ_BUFFER: usize = 64 * 1024;

/// How much a process wrote in all, kept or not: for a message to say what
/// it leaves out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Lines written (a last one without a line break counts).
    pub lines: u64,
    /// Bytes written, line breaks included.
    pub bytes: u64,
}

/// The lines a process printed, newest last, at most `capacity` of them.
///
/// Shared between the reader tasks (which push) and the executor (which
/// reads), so it stays readable while the process runs and after it ended.
#[derive(Debug)]
pub(crate) struct Output {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    lines: VecDeque<String>,
    /// The bytes of `lines`.
    kept: usize,
    written: Written,
    watchers: Vec<Watcher>,
}

/// A readiness pattern waiting for its first matching line.
#[derive(Debug)]
struct Watcher {
    pattern: Regex,
    notify: Option<oneshot::Sender<()>>,
}

impl Output {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
        })
    }

    /// A poisoned lock only means a reader task panicked mid-push; the lines
    /// are still worth reading.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a pattern; the receiver fires on the first line that matches
    /// it from now on. Registered before the process is spawned, so no line
    /// can slip past between spawn and registration.
    pub(crate) fn watch(&self, pattern: Regex) -> oneshot::Receiver<()> {
        let (notify, receiver) = oneshot::channel();
        self.state().watchers.push(Watcher {
            pattern,
            notify: Some(notify),
        });
        receiver
    }

    /// Forgets the patterns of a previous start.
    pub(crate) fn clear_watchers(&self) {
        self.state().watchers.clear();
    }

    /// Keeps a line as written (at most [`LONGEST_OUTPUT_LINE`] bytes of
    /// it; a longer one is cut there, saying so).
    #[cfg(test)]
    pub(crate) fn push(&self, line: String) {
        let length = line.len() as u64;
        let mut end = line.len().min(LONGEST_OUTPUT_LINE);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        let mut line = line;
        line.truncate(end);
        self.keep(line, length + 1, length - end as u64);
    }

    /// Keeps the start of a line (`line`, at most [`LONGEST_OUTPUT_LINE`]
    /// bytes as written) that was `written` bytes long with its line break,
    /// of which `cut` were not kept.
    fn keep(&self, line: String, written: u64, cut: u64) {
        let mut state = self.state();
        state.written.lines += 1;
        state.written.bytes += written;
        for watcher in &mut state.watchers {
            if watcher.notify.is_some()
                && watcher.pattern.is_match(&line)
                && let Some(notify) = watcher.notify.take()
            {
                let _ = notify.send(());
            }
        }
        state.watchers.retain(|watcher| watcher.notify.is_some());
        let line = if cut > 0 {
            format!("{line} [{cut} more bytes of this line not kept]")
        } else {
            line
        };
        state.kept += line.len();
        state.lines.push_back(line);
        while state.lines.len() > self.capacity
            || (state.kept > KEPT_BYTES && state.lines.len() > 1)
        {
            if let Some(gone) = state.lines.pop_front() {
                state.kept -= gone.len();
            }
        }
    }

    /// How much the process wrote in all, kept or not.
    pub(crate) fn written(&self) -> Written {
        self.state().written
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.state().lines.iter().cloned().collect()
    }

    pub(crate) fn last(&self, count: usize) -> Vec<String> {
        let state = self.state();
        let skip = state.lines.len().saturating_sub(count);
        state.lines.iter().skip(skip).cloned().collect()
    }
}

/// Reads `stream` to its end, line by line, into `output`; non-UTF-8 bytes are
/// replaced rather than lost, so a binary blurt cannot stop the capture. A
/// line is held only up to [`LONGEST_OUTPUT_LINE`] bytes while it is read:
/// the rest is counted and skipped, so no line costs more than that.
pub(crate) async fn capture(
    stream: impl AsyncRead + Unpin,
    output: Arc<Output>,
    echo: Option<String>,
) {
    let mut reader = BufReader::with_capacity(READ_BUFFER, stream);
    // One byte over the limit, so that a line of exactly the limit and its
    // CR is still whole.
    let mut line = Vec::with_capacity(256);
    let mut length: u64 = 0;
    loop {
        let (used, ended) = match reader.fill_buf().await {
            Ok([]) | Err(_) => {
                if length > 0 {
                    finish(&output, &mut line, length, false, echo.as_deref());
                }
                break;
            }
            Ok(chunk) => {
                let (part, ended) = match chunk.iter().position(|byte| *byte == b'\n') {
                    Some(at) => (&chunk[..at], true),
                    None => (chunk, false),
                };
                let room = (LONGEST_OUTPUT_LINE + 1).saturating_sub(line.len());
                line.extend_from_slice(&part[..part.len().min(room)]);
                length += part.len() as u64;
                (part.len() + usize::from(ended), ended)
            }
        };
        reader.consume(used);
        if ended {
            finish(&output, &mut line, length, true, echo.as_deref());
            length = 0;
        }
    }
}

/// Hands a read line to `output` and clears it for the next: `line` holds
/// its start, `length` is how long it was (without its LF), `broken` whether
/// a LF ended it.
fn finish(output: &Output, line: &mut Vec<u8>, length: u64, broken: bool, echo: Option<&str>) {
    let written = length + u64::from(broken);
    let mut length = length;
    if line.len() as u64 == length {
        while line.last().is_some_and(|b| *b == b'\r') {
            line.pop();
            length -= 1;
        }
    }
    line.truncate(LONGEST_OUTPUT_LINE);
    let cut = length - line.len() as u64;
    let text = String::from_utf8_lossy(line).into_owned();
    if let Some(name) = echo {
        eprintln!("[{name}] {text}");
    }
    output.keep(text, written, cut);
    line.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_lines() {
        let output = Output::new(3);
        for i in 0..10 {
            output.push(format!("line {i}"));
        }
        assert_eq!(output.lines(), ["line 7", "line 8", "line 9"]);
        assert_eq!(output.last(2), ["line 8", "line 9"]);
    }

    #[tokio::test]
    async fn a_long_line_is_kept_cut_and_counted_while_it_is_read() {
        let output = Output::new(10);
        let mut text = b"first\r\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 5 * READ_BUFFER));
        text.extend(b"\nlast without a break");
        capture(&text[..], output.clone(), None).await;
        let lines = output.lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0], "first");
        let cut = 5 * READ_BUFFER - LONGEST_OUTPUT_LINE;
        assert_eq!(
            lines[1],
            format!(
                "{} [{cut} more bytes of this line not kept]",
                "x".repeat(LONGEST_OUTPUT_LINE)
            )
        );
        assert_eq!(lines[2], "last without a break");
        assert_eq!(
            output.written(),
            Written {
                lines: 3,
                bytes: text.len() as u64
            }
        );
    }

    #[test]
    fn the_tail_holds_no_more_than_its_bytes() {
        let output = Output::new(100_000);
        for _ in 0..10_000 {
            output.push("y".repeat(2 * LONGEST_OUTPUT_LINE));
        }
        let kept: usize = output.lines().iter().map(String::len).sum();
        assert!(kept <= KEPT_BYTES, "{kept}");
        assert!(kept > KEPT_BYTES / 2, "{kept}");
        assert_eq!(output.written().lines, 10_000);
    }

    #[test]
    fn an_excerpt_stays_short_and_says_what_it_leaves_out() {
        let output = Output::new(100);
        for _ in 0..50 {
            output.push("\0".repeat(10 * LONGEST_OUTPUT_LINE));
        }
        let excerpt = super::super::error::output_excerpt(&output.last(20), output.written());
        assert!(excerpt.len() < 4096, "{}", excerpt.len());
        assert!(
            excerpt.contains("50 line(s), 500050 byte(s) in all"),
            "{excerpt}"
        );
        assert!(excerpt.contains("\\u{0}"), "escaped: {excerpt}");
        assert!(!excerpt.contains('\0'));
    }

    #[test]
    fn a_watcher_fires_on_the_first_matching_line_only() {
        let output = Output::new(10);
        let mut receiver = output.watch(Regex::new("^ready$").expect("valid pattern"));
        output.push("not yet".into());
        assert!(receiver.try_recv().is_err());
        output.push("ready".into());
        assert!(receiver.try_recv().is_ok());
    }
}
