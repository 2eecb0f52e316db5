//! Signals in the runner: an interrupted run ends cleanly and says so.
//!
//! The first SIGINT, SIGTERM or SIGHUP stops the run from starting
//! scenarios; those already running finish their steps (each bounded by its
//! own timeouts) and get their verified teardown, as always; the summary
//! then shows what ran, the scenarios that never started are listed as
//! skipped ("interrupted by SIGINT before it started"), and the process
//! exits with 128 + the signal's number (130, 143, 129), as a shell reports
//! a command a signal ended. A second signal ends the run at once: the
//! [reaper](mod@reaper) kills every process the run started
//! and removes its scratch folders, then the process exits.
//!
//! cucumber has no way to stop starting scenarios, so the runner's `before`
//! hook asks [`refuse_if_interrupted`], which fails that hook with a
//! [`NotStarted`] payload, so none of its steps runs; [`LeaveOutNotStarted`],
//! a writer in front of all the others, drops every event of such a scenario
//! and records it in the report as skipped, as the filter records scenarios
//! a target cannot run. Nothing of it reaches the terminal, the JUnit or the
//! JSON report as a failure.
//!
//! Only a run started through [`super::main`] or [`super::main_with`] (the
//! process's own entry point: `cargo test --test acceptance`, `discos-sim
//! check`, another crate's `harness = false` test) takes the signals over;
//! [`super::run`], called from a test, leaves them alone.

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cucumber::event::{self, HookType, Source};
use cucumber::gherkin;
use cucumber::{Event, World, Writer, parser, writer};
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};

use crate::orchestration::reaper;
use crate::report::Report;

/// The first signal received, as its number; 0 while none has come.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Scenarios started and not yet finished, for the message the first signal
/// prints.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The panic payload of a `before` hook that refused to start a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotStarted(pub Signal);

impl NotStarted {
    /// Why the scenario did not run, as the report and the terminal say it.
    pub fn reason(&self) -> String {
        format!("interrupted by {} before it started", self.0)
    }
}

/// The signal that interrupted this run, if one did.
pub fn received() -> Option<Signal> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        number => Signal::try_from(number).ok(),
    }
}

/// The exit status of an interrupted run, 128 + the signal's number; `None`
/// when no signal came.
pub fn exit_code() -> Option<ExitCode> {
    received().map(exit_code_for)
}

fn exit_code_for(signal: Signal) -> ExitCode {
    ExitCode::from(u8::try_from(128 + signal as i32).unwrap_or(u8::MAX))
}

/// Called first in the runner's `before` hook: once a signal has come, fails
/// the hook so that the scenario's steps do not run.
pub fn refuse_if_interrupted() {
    if let Some(signal) = received() {
        std::panic::panic_any(NotStarted(signal));
    }
}

/// Handles SIGINT, SIGTERM and SIGHUP on `runtime` for as long as the
/// returned guard lives. The handlers are in place when this returns.
pub fn watch(runtime: &tokio::runtime::Runtime) -> Watch {
    let _context = runtime.enter();
    let streams = [
        (SignalKind::interrupt(), Signal::SIGINT),
        (SignalKind::terminate(), Signal::SIGTERM),
        (SignalKind::hangup(), Signal::SIGHUP),
    ]
    .into_iter()
    .filter_map(|(kind, name)| match signal(kind) {
        Ok(stream) => Some((stream, name)),
        Err(error) => {
            eprintln!("warning: cannot handle {name}: {error}");
            None
        }
    })
    .collect::<Vec<_>>();
    Watch(runtime.spawn(handle(streams)))
}

/// Stops handling the signals when dropped.
#[derive(Debug)]
pub struct Watch(tokio::task::JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn handle(mut streams: Vec<(tokio::signal::unix::Signal, Signal)>) {
    let Some(first) = next(&mut streams).await else {
        return;
    };
    RECEIVED.store(first as i32, Ordering::SeqCst);
    eprintln!(
        "\n{first} received: no new scenario starts; the {} running finish and are torn down. \
         Send it again to end at once.",
        RUNNING.load(Ordering::SeqCst)
    );
    let Some(second) = next(&mut streams).await else {
        return;
    };
    let reaped = reaper().reap_now();
    eprintln!(
        "{second} received again: ending now; {} process(es) killed, {} folder(s) removed",
        reaped.killed.len(),
        reaped.removed.len()
    );
    crate::run::foreground::give_back();
    std::process::exit(i32::from(128u8.saturating_add(second as u8)));
}

/// The next signal of any of `streams`; `None` if there are none.
async fn next(streams: &mut [(tokio::signal::unix::Signal, Signal)]) -> Option<Signal> {
    if streams.is_empty() {
        return None;
    }
    let waits = streams.iter_mut().map(|(stream, name)| {
        let name = *name;
        Box::pin(async move {
            stream.recv().await;
            name
        })
    });
    let (name, _, _) = futures::future::select_all(waits).await;
    Some(name)
}

type Events<W> = Vec<parser::Result<Event<event::Cucumber<W>>>>;

/// A writer that leaves out, everywhere, the scenarios a `before` hook
/// refused with [`NotStarted`], and records them in the report as skipped.
///
/// A scenario's first events (started, before hook started) are held until
/// its before hook has ended, since only then is it known whether it runs.
pub struct LeaveOutNotStarted<W: World, Wr> {
    writer: Wr,
    report: Arc<Mutex<Report>>,
    held: HashMap<Source<gherkin::Scenario>, Events<W>>,
    left_out: HashSet<Source<gherkin::Scenario>>,
}

impl<W: World, Wr> LeaveOutNotStarted<W, Wr> {
    /// Wraps `writer`; scenarios left out are added to `report`.
    pub fn new(writer: Wr, report: Arc<Mutex<Report>>) -> Self {
        LeaveOutNotStarted {
            writer,
            report,
            held: HashMap::new(),
            left_out: HashSet::new(),
        }
    }
}

/// What to do with one event.
enum Decision {
    Pass,
    Hold(Source<gherkin::Scenario>),
    Release(Source<gherkin::Scenario>),
    LeaveOut(
        Source<gherkin::Feature>,
        Source<gherkin::Scenario>,
        NotStarted,
    ),
    Drop,
    Finished,
}

impl<W: World, Wr> LeaveOutNotStarted<W, Wr> {
    fn decide(&self, event: &parser::Result<Event<event::Cucumber<W>>>) -> Decision {
        let Ok(event) = event else {
            return Decision::Pass;
        };
        let (feature, scenario, happened) = match &event.value {
            event::Cucumber::Finished => return Decision::Finished,
            event::Cucumber::Feature(feature, event::Feature::Scenario(scenario, e))
            | event::Cucumber::Feature(
                feature,
                event::Feature::Rule(_, event::Rule::Scenario(scenario, e)),
            ) => (feature, scenario, &e.event),
            _ => return Decision::Pass,
        };
        if self.left_out.contains(scenario) {
            return Decision::Drop;
        }
        match happened {
            event::Scenario::Started
            | event::Scenario::Hook(HookType::Before, event::Hook::Started) => {
                Decision::Hold(scenario.clone())
            }
            event::Scenario::Hook(HookType::Before, event::Hook::Failed(_, info)) => {
                match info.downcast_ref::<NotStarted>() {
                    Some(refused) => {
                        Decision::LeaveOut(feature.clone(), scenario.clone(), *refused)
                    }
                    None => Decision::Release(scenario.clone()),
                }
            }
            event::Scenario::Hook(HookType::Before, event::Hook::Passed) => {
                Decision::Release(scenario.clone())
            }
            _ if self.held.contains_key(scenario) => Decision::Release(scenario.clone()),
            _ => Decision::Pass,
        }
    }
}

impl<W, Wr> Writer<W> for LeaveOutNotStarted<W, Wr>
where
    W: World,
    Wr: Writer<W>,
{
    type Cli = Wr::Cli;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<event::Cucumber<W>>>,
        cli: &Self::Cli,
    ) {
        let finishing = is_finish(&event);
        match self.decide(&event) {
            Decision::Pass => {
                if finishing {
                    RUNNING.fetch_sub(1, Ordering::SeqCst);
                }
                self.writer.handle_event(event, cli).await;
            }
            Decision::Hold(scenario) => {
                let held = self.held.entry(scenario).or_default();
                if held.is_empty() {
                    RUNNING.fetch_add(1, Ordering::SeqCst);
                }
                held.push(event);
            }
            Decision::Release(scenario) => {
                for earlier in self.held.remove(&scenario).unwrap_or_default() {
                    self.writer.handle_event(earlier, cli).await;
                }
                if finishing {
                    RUNNING.fetch_sub(1, Ordering::SeqCst);
                }
                self.writer.handle_event(event, cli).await;
            }
            Decision::LeaveOut(feature, scenario, refused) => {
                if self.held.remove(&scenario).is_some() {
                    RUNNING.fetch_sub(1, Ordering::SeqCst);
                }
                super::recorder::skip(
                    &mut self.report.lock().unwrap_or_else(|e| e.into_inner()),
                    &feature,
                    &scenario,
                    &refused.reason(),
                );
                self.left_out.insert(scenario);
            }
            Decision::Drop => {}
            Decision::Finished => {
                let not_started = self.left_out.len();
                self.writer.handle_event(event, cli).await;
                if let Some(signal) = received() {
                    println!(
                        "Interrupted by {signal}: {not_started} scenario(s) not started, listed below as skipped"
                    );
                }
            }
        }
    }
}

impl<W, Wr> writer::Stats<W> for LeaveOutNotStarted<W, Wr>
where
    W: World,
    Wr: writer::Stats<W>,
{
    fn passed_steps(&self) -> usize {
        self.writer.passed_steps()
    }

    fn skipped_steps(&self) -> usize {
        self.writer.skipped_steps()
    }

    fn failed_steps(&self) -> usize {
        self.writer.failed_steps()
    }

    fn retried_steps(&self) -> usize {
        self.writer.retried_steps()
    }

    fn parsing_errors(&self) -> usize {
        self.writer.parsing_errors()
    }

    fn hook_errors(&self) -> usize {
        self.writer.hook_errors()
    }

    fn execution_has_failed(&self) -> bool {
        self.writer.execution_has_failed()
    }
}

/// It only leaves events out; the order is the writer's it wraps.
impl<W: World, Wr: writer::Normalized> writer::Normalized for LeaveOutNotStarted<W, Wr> {}

/// Whether `event` ends its scenario.
fn is_finish<W>(event: &parser::Result<Event<event::Cucumber<W>>>) -> bool {
    matches!(
        event,
        Ok(Event {
            value: event::Cucumber::Feature(
                _,
                event::Feature::Scenario(
                    _,
                    event::RetryableScenario {
                        event: event::Scenario::Finished,
                        ..
                    }
                ) | event::Feature::Rule(
                    _,
                    event::Rule::Scenario(
                        _,
                        event::RetryableScenario {
                            event: event::Scenario::Finished,
                            ..
                        }
                    )
                )
            ),
            ..
        })
    )
}
