//! A process's output, line by line: kept in a bounded buffer for error
//! messages and tests, and matched against readiness patterns as each line
//! arrives, so an output-coordinated start wakes on the line itself instead of
//! on a poll.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use regex::Regex;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::oneshot;

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

    pub(crate) fn push(&self, line: String) {
        let mut state = self.state();
        for watcher in &mut state.watchers {
            if watcher.notify.is_some() && watcher.pattern.is_match(&line) {
                if let Some(notify) = watcher.notify.take() {
                    let _ = notify.send(());
                }
            }
        }
        state.watchers.retain(|watcher| watcher.notify.is_some());
        if state.lines.len() == self.capacity {
            state.lines.pop_front();
        }
        state.lines.push_back(line);
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
/// replaced rather than lost, so a binary blurt cannot stop the capture.
pub(crate) async fn capture(
    stream: impl AsyncRead + Unpin,
    output: Arc<Output>,
    echo: Option<String>,
) {
    let mut reader = BufReader::new(stream);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                while buffer.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buffer.pop();
                }
                let line = String::from_utf8_lossy(&buffer).into_owned();
                if let Some(name) = &echo {
                    eprintln!("[{name}] {line}");
                }
                output.push(line);
            }
        }
    }
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
