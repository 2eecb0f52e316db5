//! What a run found, for a person (text) or a program (one JSON object).
//!
//! Field names carry their unit (`elapsed_seconds`, `latency_p99_us`) so a
//! figure pasted into a README or read by a script cannot be misread.

use std::fmt;

use hdrhistogram::Histogram;
use serde::Serialize;

/// How many distinct kinds of error a tally keeps with their text; more kinds
/// are only counted, so a backend answering garbage cannot grow the report.
const KINDS_KEPT: usize = 8;

/// Counts errors by their description, keeping the first few kinds' text so
/// the report can show a sample of each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Each kind kept: how many times, and what it was.
    pub kinds: Vec<ErrorSample>,
    /// Errors of kinds beyond the ones kept.
    pub other: u64,
}

/// One kind of error and how often it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorSample {
    /// How many times.
    pub count: u64,
    /// What happened, e.g. the reply received and the request it answered.
    pub text: String,
}

impl Tally {
    /// Counts `count` errors described by `text`.
    pub fn add(&mut self, count: u64, text: &str) {
        if count == 0 {
            return;
        }
        if let Some(kind) = self.kinds.iter_mut().find(|k| k.text == text) {
            kind.count += count;
        } else if self.kinds.len() < KINDS_KEPT {
            self.kinds.push(ErrorSample {
                count,
                text: text.to_owned(),
            });
        } else {
            self.other += count;
        }
    }

    /// Adds another tally's counts to this one.
    pub fn merge(&mut self, other: Tally) {
        for kind in other.kinds {
            self.add(kind.count, &kind.text);
        }
        self.other += other.other;
    }

    /// Every error counted.
    pub fn total(&self) -> u64 {
        self.kinds.iter().map(|k| k.count).sum::<u64>() + self.other
    }

    fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The backend, tcp://HOST:PORT.
    pub target: String,
    /// The request sent, as on the wire without its line end.
    pub command: String,
    /// Connections asked for the active run (0 when there was none).
    pub connections: usize,
    /// Requests kept in flight on each.
    pub pipeline: usize,
    /// Requests sent.
    pub requests: u64,
    /// Replies received, whatever they said.
    pub replies: u64,
    /// Requests that did not get an `ok` reply carrying their name: bad
    /// replies plus requests left unanswered when a connection failed.
    pub errors: u64,
    /// Of `errors`, the requests that got no reply at all.
    pub unanswered: u64,
    /// Connections that could not be opened, or failed before the run ended
    /// (closed, timed out, I/O error), idle ones included.
    pub failed_connections: u64,
    /// From the first request to the last reply.
    pub elapsed_seconds: f64,
    /// Replies per second of `elapsed_seconds`.
    pub requests_per_second: f64,
    /// Latency from writing a request to reading its reply; `null` without replies.
    pub latency_p50_us: Option<f64>,
    /// See `latency_p50_us`.
    pub latency_p90_us: Option<f64>,
    /// See `latency_p50_us`.
    pub latency_p99_us: Option<f64>,
    /// See `latency_p50_us`.
    pub latency_max_us: Option<f64>,
    /// CPU time the load tool used per reply: with the server's, says
    /// whether the machine could have gone faster.
    pub tool_cpu_us_per_request: Option<f64>,
    /// Time the load tool's threads spent runnable but waiting for a CPU,
    /// per reply: large when other work competes for the machine.
    pub tool_cpu_wait_us_per_request: Option<f64>,
    /// CPU time the server used per reply (given `--server-pid`).
    pub server_cpu_us_per_request: Option<f64>,
    /// Time the server's threads waited for a CPU, per reply (given
    /// `--server-pid`).
    pub server_cpu_wait_us_per_request: Option<f64>,
    /// The bad replies and unanswered requests, by kind.
    pub error_samples: Tally,
    /// Why connections failed, by kind.
    pub connection_failures: Tally,
    /// The idle connections' figures, when some were asked for.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub idle: Option<IdleReport>,
}

/// What the idle connections showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdleReport {
    /// Idle connections asked for.
    pub idle_connections: usize,
    /// Idle connections that were opened and held (handshake read, and the
    /// unfinished line sent, if one was asked for).
    pub idle_held: usize,
    /// The bytes of the unfinished line each idle connection sent; 0 for none.
    pub idle_unfinished_line_bytes: usize,
    /// Held connections sent a `status` at the end.
    pub idle_sampled: usize,
    /// Sampled connections that answered it `ok`.
    pub idle_answering: usize,
    /// The server's resident memory while the connections were held, when
    /// `--server-pid` was given.
    pub server_rss_bytes: Option<u64>,
    /// The most resident memory the server ever had, read at the same time:
    /// what the connections cost it at their worst.
    pub server_peak_rss_bytes: Option<u64>,
    /// Why sampled connections did not answer, by kind.
    pub idle_failures: Tally,
}

impl Report {
    /// Whether the backend passed: no error, no failed connection, every
    /// idle connection held and every sampled one answering.
    pub fn passed(&self) -> bool {
        self.errors == 0
            && self.failed_connections == 0
            && self.idle.as_ref().is_none_or(|idle| {
                idle.idle_held == idle.idle_connections && idle.idle_answering == idle.idle_sampled
            })
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
    }

    pub(super) fn set_latency(&mut self, latency: &Histogram<u64>) {
        if latency.is_empty() {
            return;
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        self.latency_p50_us = Some(us(latency.value_at_quantile(0.50)));
        self.latency_p90_us = Some(us(latency.value_at_quantile(0.90)));
        self.latency_p99_us = Some(us(latency.value_at_quantile(0.99)));
        self.latency_max_us = Some(us(latency.max()));
    }
}

fn latency(us: Option<f64>) -> String {
    match us {
        None => "-".to_owned(),
        Some(us) if us < 1000.0 => format!("{us:.1} µs"),
        Some(us) => format!("{:.2} ms", us / 1000.0),
    }
}

fn bytes(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}

fn samples(f: &mut fmt::Formatter<'_>, title: &str, tally: &Tally) -> fmt::Result {
    if tally.is_empty() {
        return Ok(());
    }
    writeln!(f, "  {title}:")?;
    for kind in &tally.kinds {
        writeln!(f, "    {:>10} × {}", kind.count, kind.text)?;
    }
    if tally.other > 0 {
        writeln!(f, "    {:>10} × of other kinds", tally.other)?;
    }
    Ok(())
}

/// The text report, as `discos-sim load` prints it.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.connections > 0 {
            writeln!(f, "discos-sim load {}: {}", self.target, self.command)?;
            writeln!(
                f,
                "  connections        {} × pipeline {}",
                self.connections, self.pipeline
            )?;
            writeln!(
                f,
                "  requests           {} in {:.3} s ({} replies)",
                self.requests, self.elapsed_seconds, self.replies
            )?;
            writeln!(f, "  requests/s         {:.0}", self.requests_per_second)?;
            writeln!(
                f,
                "  latency            p50 {}  p90 {}  p99 {}  max {}",
                latency(self.latency_p50_us),
                latency(self.latency_p90_us),
                latency(self.latency_p99_us),
                latency(self.latency_max_us)
            )?;
            if let Some(cpu) = self.tool_cpu_us_per_request {
                write!(f, "  CPU per request    tool {cpu:.2} µs")?;
                if let Some(wait) = self.tool_cpu_wait_us_per_request {
                    write!(f, " (+{wait:.2} µs waiting for a CPU)")?;
                }
                if let Some(cpu) = self.server_cpu_us_per_request {
                    write!(f, ", server {cpu:.2} µs")?;
                }
                if let Some(wait) = self.server_cpu_wait_us_per_request {
                    write!(f, " (+{wait:.2} µs waiting for a CPU)")?;
                }
                writeln!(f)?;
            }
            writeln!(
                f,
                "  errors             {} ({} unanswered)",
                self.errors, self.unanswered
            )?;
        }
        if self.connections == 0 {
            writeln!(f, "discos-sim load {}: idle connections", self.target)?;
        }
        writeln!(f, "  failed connections {}", self.failed_connections)?;
        if let Some(idle) = &self.idle {
            write!(
                f,
                "  idle connections   {} of {} held",
                idle.idle_held, idle.idle_connections
            )?;
            if idle.idle_unfinished_line_bytes > 0 {
                write!(
                    f,
                    ", each in the middle of a line of {} bytes",
                    idle.idle_unfinished_line_bytes
                )?;
            }
            writeln!(
                f,
                ", {} of {} sampled answering",
                idle.idle_answering, idle.idle_sampled
            )?;
            if let Some(rss) = idle.server_rss_bytes {
                write!(f, "  server RSS         {} ({rss} bytes)", bytes(rss))?;
                if let Some(peak) = idle.server_peak_rss_bytes {
                    write!(f, ", peak {}", bytes(peak))?;
                }
                writeln!(f)?;
            }
        }
        samples(f, "errors", &self.error_samples)?;
        samples(f, "connection failures", &self.connection_failures)?;
        if let Some(idle) = &self.idle {
            samples(f, "idle connections not answering", &idle.idle_failures)?;
        }
        write!(
            f,
            "  verdict            {}",
            if self.passed() { "ok" } else { "FAILED" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_keeps_a_few_kinds_and_counts_the_rest() {
        let mut tally = Tally::default();
        for i in 0..20 {
            let text = format!("kind {i}");
            tally.add(2, &text);
        }
        tally.add(1, "kind 0");
        assert_eq!(tally.kinds.len(), KINDS_KEPT);
        assert_eq!(tally.kinds[0].count, 3);
        assert_eq!(tally.other, 24);
        assert_eq!(tally.total(), 41);
        let mut merged = Tally::default();
        merged.merge(tally.clone());
        merged.merge(tally);
        assert_eq!(merged.total(), 82);
    }
}
