//! The simulator: a backend that behaves as protocol.md says a DISCOS backend
//! does, without hardware.
//!
//! All connections share one [`Simulator`] (a configuration set by one client
//! is seen by the next), so its state sits behind a mutex held only for the
//! few instructions a command needs, never across an await. The two values
//! read by the commands a busy client repeats (`get-tpi`, `get-tp0`,
//! `status`) are also kept in atomics, written under the lock and read
//! without it, so many connections reading them do not queue on the mutex.
//!
//! Timed `start`/`stop` are tokio timers. Each pending action has an id; a
//! timer that fires after being replaced finds a different id and does
//! nothing, so replacing never races with firing.
//!
//! Given an [`EventSink`], the simulator also publishes every change of its
//! state: after each change, still under the lock, [`Shared::publish`]
//! compares the state with what the last events told and emits one event
//! per thing that changed — so events leave in the order the changes
//! happened, a request that changes nothing publishes nothing, and a timer
//! that fires is published like a request.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio::task::AbortHandle;

use super::catalogue::MAX_BANDWIDTH_MHZ;
use super::{Backend, BackendError, BackendResult, Catalogue, Hardware, Status};
use crate::events::{EventKind, EventSink, current_request};
use crate::protocol::{SectionUpdate, Timestamp, TsysRange};

/// Sections, and inputs, of a configuration when no catalogue says
/// otherwise.
pub const DEFAULT_SECTIONS: usize = 2;
/// What `get-configuration` answers before any `set-configuration`.
pub const UNCONFIGURED: &str = "unconfigured";

/// The settings of one section, as `set-section` left them.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Start frequency, MHz.
    pub start_frequency: f64,
    /// Bandwidth, MHz.
    pub bandwidth: f64,
    /// Feed number.
    pub feed: i64,
    /// Acquisition mode.
    pub mode: String,
    /// Sample rate, MHz.
    pub sample_rate: f64,
    /// Frequency bins.
    pub bins: i64,
}

impl Default for Section {
    fn default() -> Section {
        Section {
            start_frequency: 0.0,
            bandwidth: MAX_BANDWIDTH_MHZ,
            feed: 0,
            mode: "stokes".to_owned(),
            sample_rate: 0.0,
            bins: 1024,
        }
    }
}

/// Everything the simulator holds, as a copy a test can look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The configuration id, if one was set.
    pub configuration: Option<String>,
    /// Integration time, ms.
    pub integration: u64,
    /// Whether it acquires now.
    pub acquiring: bool,
    /// When a pending `start` fires.
    pub pending_start: Option<Timestamp>,
    /// When a pending `stop` fires.
    pub pending_stop: Option<Timestamp>,
    /// Every section's settings.
    pub sections: Vec<Section>,
    /// Sections of the current configuration.
    pub active_sections: usize,
    /// Inputs of the current configuration: `get-tpi`'s values.
    pub inputs: usize,
    /// The enabled feeds.
    pub feeds: (i64, i64),
    /// Calibration interleave, if `cal-on` was sent.
    pub calibration: Option<u64>,
    /// The file name, if one was set.
    pub filename: Option<String>,
    /// The shift.
    pub shift: i64,
    /// How many `convert-data`, `end-schedule` and `backend-park` it received.
    pub conversions: u64,
    /// See `conversions`.
    pub schedules_ended: u64,
    /// See `conversions`.
    pub parks: u64,
}

/// A simulated DISCOS backend (see protocol.md for its behaviour).
#[derive(Debug)]
pub struct Simulator {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    catalogue: Option<Catalogue>,
    /// Its hardware: the catalogue's, or room for all DISCOS sends.
    hardware: Hardware,
    /// `snapshot.inputs`, readable without the lock.
    inputs: AtomicUsize,
    /// `snapshot.acquiring`, readable without the lock.
    acquiring: AtomicBool,
    /// Where changes are published, if anywhere.
    events: Option<EventSink>,
}

#[derive(Debug)]
struct State {
    snapshot: Snapshot,
    /// The state as the events published so far describe it; kept only
    /// when publishing.
    published: Option<Snapshot>,
    start_timer: Option<Timer>,
    stop_timer: Option<Timer>,
    next_timer_id: u64,
}

#[derive(Debug)]
struct Timer {
    id: u64,
    task: AbortHandle,
    /// The request that scheduled it, for the events its firing causes.
    cause: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Start,
    Stop,
}

impl Default for Simulator {
    fn default() -> Simulator {
        Simulator::new(None)
    }
}

impl Simulator {
    /// A simulator that knows every configuration whose id starts with a
    /// letter (2 sections, 2 inputs each) or, given a catalogue, exactly
    /// the catalogue's entries, on the catalogue's hardware.
    pub fn new(catalogue: Option<Catalogue>) -> Simulator {
        Simulator::build(catalogue, None)
    }

    /// As [`Simulator::new`], publishing every change of its state into
    /// `events` (see the module documentation).
    pub fn with_events(catalogue: Option<Catalogue>, events: EventSink) -> Simulator {
        Simulator::build(catalogue, Some(events))
    }

    fn build(catalogue: Option<Catalogue>, events: Option<EventSink>) -> Simulator {
        let hardware = catalogue
            .as_ref()
            .map(|c| c.hardware.clone())
            .unwrap_or_default();
        let snapshot = Snapshot {
            configuration: None,
            integration: 0,
            acquiring: false,
            pending_start: None,
            pending_stop: None,
            sections: vec![Section::default(); hardware.sections],
            active_sections: DEFAULT_SECTIONS,
            inputs: DEFAULT_SECTIONS,
            feeds: (0, 1),
            calibration: None,
            filename: None,
            shift: 0,
            conversions: 0,
            schedules_ended: 0,
            parks: 0,
        };
        Simulator {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    published: events.is_some().then(|| snapshot.clone()),
                    snapshot,
                    start_timer: None,
                    stop_timer: None,
                    next_timer_id: 0,
                }),
                catalogue,
                hardware,
                inputs: AtomicUsize::new(DEFAULT_SECTIONS),
                acquiring: AtomicBool::new(false),
                events,
            }),
        }
    }

    /// A copy of the whole state, for tests and for people debugging.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.lock().snapshot.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// Replaces the pending `action` with one firing at `at`.
    fn schedule(&self, state: &mut State, action: Action, at: Timestamp, now: Timestamp) {
        let delay = at.until(now).unwrap_or_default();
        let id = state.next_timer_id;
        state.next_timer_id += 1;
        // A timer must not keep a dropped simulator alive.
        let shared: Weak<Shared> = Arc::downgrade(&self.shared);
        let task = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(shared) = shared.upgrade() {
                shared.fire(action, id);
            }
        })
        .abort_handle();
        let cause = self.shared.events.as_ref().and_then(|_| current_request());
        let timer = Some(Timer { id, task, cause });
        match action {
            Action::Start => {
                cancel(&mut state.start_timer);
                state.start_timer = timer;
                state.snapshot.pending_start = Some(at);
            }
            Action::Stop => {
                cancel(&mut state.stop_timer);
                state.stop_timer = timer;
                state.snapshot.pending_stop = Some(at);
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No code holding the lock can panic half-way through a change, so a
        // poisoned lock still guards consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes a change of `state` seen: copies the values read without the
    /// lock, and publishes events for what changed since the last events.
    /// Called, with the lock held, after every change.
    fn publish(&self, state: &mut State) {
        self.publish_change(state, None);
    }

    /// As [`Shared::publish`], for a change that a timer of `action`,
    /// scheduled by the request `cause`, has just made.
    fn publish_change(&self, state: &mut State, fired: Option<(Action, Option<String>)>) {
        self.inputs.store(state.snapshot.inputs, Ordering::SeqCst);
        self.acquiring
            .store(state.snapshot.acquiring, Ordering::SeqCst);
        let (Some(events), Some(before)) = (&self.events, &state.published) else {
            return;
        };
        let (action, cause) = match fired {
            Some((action, cause)) => (Some(action), cause),
            None => (None, None),
        };
        for (kind, details) in changes(before, &state.snapshot, action) {
            events.emit(kind, details, cause.clone());
        }
        state.published = Some(state.snapshot.clone());
    }

    fn fire(&self, action: Action, id: u64) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let mut cause = None;
        match action {
            Action::Start if state.start_timer.as_ref().is_some_and(|t| t.id == id) => {
                cause = state.start_timer.take().and_then(|timer| timer.cause);
                state.snapshot.pending_start = None;
                state.snapshot.acquiring = true;
            }
            Action::Stop if state.stop_timer.as_ref().is_some_and(|t| t.id == id) => {
                cause = state.stop_timer.take().and_then(|timer| timer.cause);
                state.snapshot.pending_stop = None;
                state.snapshot.acquiring = false;
                cancel(&mut state.start_timer);
                state.snapshot.pending_start = None;
            }
            // Replaced or cancelled after it woke up: nothing to do.
            _ => {}
        }
        self.publish_change(state, Some((action, cause)));
    }
}

/// The events that tell how `after` differs from `before`, in the order of
/// [`EventKind::ALL`]; `fired` says that a timer made the change, so that a
/// pending start that ends because it fired reads as the acquisition
/// starting, not as the start being cancelled.
fn changes(
    before: &Snapshot,
    after: &Snapshot,
    fired: Option<Action>,
) -> Vec<(EventKind, Map<String, Value>)> {
    let details = |value: Value| match value {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let start_fired = matches!(fired, Some(Action::Start));
    let stop_fired = matches!(fired, Some(Action::Stop));
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string());
    let mut found = Vec::new();
    for kind in EventKind::ALL {
        let event = match kind {
            EventKind::ConfigurationSet => (before.configuration != after.configuration
                || before.active_sections != after.active_sections
                || before.inputs != after.inputs)
                .then(|| json!({"configuration": after.configuration, "sections": after.active_sections, "inputs": after.inputs})),
            EventKind::SectionSet => {
                let changed: Vec<Value> = (0..after.sections.len())
                    .filter(|&i| before.sections.get(i).is_none_or(|s| !same_section(s, &after.sections[i])))
                    .map(|i| {
                        let s = &after.sections[i];
                        json!({"section": i, "start_frequency": s.start_frequency,
                               "bandwidth": s.bandwidth, "feed": s.feed, "mode": s.mode,
                               "sample_rate": s.sample_rate, "bins": s.bins})
                    })
                    .collect();
                (!changed.is_empty()).then(|| json!({"sections": changed}))
            }
            EventKind::IntegrationSet => (before.integration != after.integration)
                .then(|| json!({"integration_ms": after.integration})),
            EventKind::FeedsEnabled => (before.feeds != after.feeds)
                .then(|| json!({"feeds": [after.feeds.0, after.feeds.1]})),
            EventKind::CalibrationOn => (before.calibration != after.calibration)
                .then(|| json!({"interleave": after.calibration})),
            EventKind::FilenameSet => (before.filename != after.filename)
                .then(|| json!({"filename": after.filename})),
            EventKind::ShiftSet => (before.shift != after.shift).then(|| json!({"shift": after.shift})),
            EventKind::StartCancelled => (before.pending_start.is_some()
                && after.pending_start.is_none()
                && !start_fired)
                .then(|| json!({"was_at": time(before.pending_start)})),
            EventKind::StopCancelled => (before.pending_stop.is_some()
                && after.pending_stop.is_none()
                && !stop_fired)
                .then(|| json!({"was_at": time(before.pending_stop)})),
            EventKind::StartScheduled => (after.pending_start.is_some()
                && after.pending_start != before.pending_start)
                .then(|| json!({"at": time(after.pending_start)})),
            EventKind::StopScheduled => (after.pending_stop.is_some()
                && after.pending_stop != before.pending_stop)
                .then(|| json!({"at": time(after.pending_stop)})),
            EventKind::AcquisitionStarted => (!before.acquiring && after.acquiring).then(|| {
                let scheduled = if start_fired { time(before.pending_start) } else { None };
                json!({"scheduled_at": scheduled, "configuration": after.configuration})
            }),
            EventKind::AcquisitionStopped => (before.acquiring && !after.acquiring).then(|| {
                let scheduled = if stop_fired { time(before.pending_stop) } else { None };
                json!({"scheduled_at": scheduled})
            }),
            EventKind::DataConverted => (before.conversions != after.conversions)
                .then(|| json!({"conversions": after.conversions})),
            EventKind::ScheduleEnded => (before.schedules_ended != after.schedules_ended)
                .then(|| json!({"schedules_ended": after.schedules_ended})),
            EventKind::BackendParked => (before.parks != after.parks).then(|| json!({"parks": after.parks})),
        };
        if let Some(value) = event {
            found.push((kind, details(value)));
        }
    }
    found
}

/// Sections compared bit for bit, so that a NaN a client set counts as set
/// once, not as a change every time.
fn same_section(a: &Section, b: &Section) -> bool {
    a.start_frequency.to_bits() == b.start_frequency.to_bits()
        && a.bandwidth.to_bits() == b.bandwidth.to_bits()
        && a.feed == b.feed
        && a.mode == b.mode
        && a.sample_rate.to_bits() == b.sample_rate.to_bits()
        && a.bins == b.bins
}

fn cancel(timer: &mut Option<Timer>) {
    if let Some(timer) = timer.take() {
        timer.task.abort();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let mut state = self.state();
        cancel(&mut state.start_timer);
        cancel(&mut state.stop_timer);
    }
}

/// A `set-section` quantity in MHz, if given, is neither negative nor above
/// the hardware's maximum, if it has one.
fn within(what: &str, value: Option<f64>, most: Option<f64>) -> BackendResult<()> {
    let Some(value) = value else {
        return Ok(());
    };
    if let Some(most) = most.filter(|most| value > *most) {
        return fail(format!(
            "{what} {value} MHz is above the maximum of {most} MHz"
        ));
    }
    if value < 0.0 {
        return fail(format!("{what} {value} MHz is negative"));
    }
    Ok(())
}

fn fail<T>(reason: impl Into<String>) -> BackendResult<T> {
    Err(BackendError::new(reason))
}

#[async_trait]
impl Backend for Simulator {
    async fn status(&self) -> BackendResult<Status> {
        Ok(Status {
            time: Timestamp::now(),
            state: "ok".to_owned(),
            acquiring: self.shared.acquiring.load(Ordering::SeqCst),
        })
    }

    async fn get_configuration(&self) -> BackendResult<String> {
        let state = self.state();
        Ok(state
            .snapshot
            .configuration
            .clone()
            .unwrap_or_else(|| UNCONFIGURED.to_owned()))
    }

    fn knows(&self, command: &str) -> bool {
        self.shared
            .catalogue
            .as_ref()
            .is_none_or(|catalogue| catalogue.knows(command))
    }

    async fn set_configuration(&self, id: &str) -> BackendResult<()> {
        let known = match &self.shared.catalogue {
            Some(catalogue) => catalogue.get(id).map(|c| (c.sections, c.inputs)),
            None => id
                .starts_with(|c: char| c.is_ascii_alphabetic())
                .then_some((DEFAULT_SECTIONS, DEFAULT_SECTIONS)),
        };
        let Some((sections, inputs)) = known else {
            return fail(format!("cannot find configuration '{id}'"));
        };
        let mut state = self.state();
        state.snapshot.configuration = Some(id.to_owned());
        state.snapshot.active_sections = sections;
        state.snapshot.inputs = inputs;
        self.shared.publish(&mut state);
        Ok(())
    }

    async fn get_integration(&self) -> BackendResult<u64> {
        Ok(self.state().snapshot.integration)
    }

    async fn set_integration(&self, milliseconds: u64) -> BackendResult<()> {
        let mut state = self.state();
        state.snapshot.integration = milliseconds;
        self.shared.publish(&mut state);
        Ok(())
    }

    async fn get_tpi(&self, _range: Option<TsysRange>) -> BackendResult<Vec<f64>> {
        // The Tsys range picks where in the band a real backend measures;
        // the simulator's noise is the same everywhere.
        let inputs = self.shared.inputs.load(Ordering::SeqCst);
        Ok((0..inputs)
            .map(|_| rand::random_range(0.0..100.0))
            .collect())
    }

    async fn get_rms(&self) -> BackendResult<Vec<f64>> {
        let inputs = self.shared.inputs.load(Ordering::SeqCst);
        Ok((0..inputs).map(|_| rand::random_range(0.0..1.0)).collect())
    }

    async fn get_tp0(&self) -> BackendResult<Vec<f64>> {
        Ok(vec![0.0; self.shared.inputs.load(Ordering::SeqCst)])
    }

    async fn start(&self, at: Option<Timestamp>) -> BackendResult<()> {
        let mut state = self.state();
        let state = &mut *state;
        match at {
            None if state.snapshot.acquiring => fail("already acquiring"),
            None => {
                // The newest start wins over one still pending.
                cancel(&mut state.start_timer);
                state.snapshot.pending_start = None;
                state.snapshot.acquiring = true;
                self.shared.publish(state);
                Ok(())
            }
            Some(at) => {
                let now = Timestamp::now();
                if at <= now {
                    return fail(format!("start time {at} is already past (now {now})"));
                }
                self.schedule(state, Action::Start, at, now);
                self.shared.publish(state);
                Ok(())
            }
        }
    }

    async fn stop(&self, at: Option<Timestamp>) -> BackendResult<()> {
        let mut state = self.state();
        let state = &mut *state;
        match at {
            None if !state.snapshot.acquiring && state.start_timer.is_none() => {
                fail("not acquiring")
            }
            None => {
                // A stop now supersedes a pending stop and cancels a pending start.
                cancel(&mut state.start_timer);
                cancel(&mut state.stop_timer);
                state.snapshot.pending_start = None;
                state.snapshot.pending_stop = None;
                state.snapshot.acquiring = false;
                self.shared.publish(state);
                Ok(())
            }
            Some(at) => {
                let now = Timestamp::now();
                if at <= now {
                    return fail(format!("stop time {at} is already past (now {now})"));
                }
                self.schedule(state, Action::Stop, at, now);
                self.shared.publish(state);
                Ok(())
            }
        }
    }

    async fn set_section(&self, update: &SectionUpdate) -> BackendResult<()> {
        let hardware = &self.shared.hardware;
        let range = match update.section {
            None => 0..hardware.sections,
            Some(section) => match usize::try_from(section) {
                Ok(index) if index < hardware.sections => index..index + 1,
                _ => {
                    return fail(format!(
                        "section {section} is beyond the maximum: sections go from 0 to {}",
                        hardware.sections - 1
                    ));
                }
            },
        };
        within("bandwidth", update.bandwidth, Some(hardware.max_bandwidth))?;
        within(
            "start frequency",
            update.start_frequency,
            hardware.max_frequency,
        )?;
        within("sample rate", update.sample_rate, hardware.max_sample_rate)?;
        if let Some(bins) = update.bins.filter(|bins| !hardware.bins.allow(*bins)) {
            return fail(format!(
                "{bins} bins cannot be made: bins are {}",
                hardware.bins.describe()
            ));
        }
        let mut state = self.state();
        for section in &mut state.snapshot.sections[range] {
            section.start_frequency = update.start_frequency.unwrap_or(section.start_frequency);
            section.bandwidth = update.bandwidth.unwrap_or(section.bandwidth);
            section.feed = update.feed.unwrap_or(section.feed);
            if let Some(mode) = &update.mode {
                section.mode.clone_from(mode);
            }
            section.sample_rate = update.sample_rate.unwrap_or(section.sample_rate);
            section.bins = update.bins.unwrap_or(section.bins);
        }
        self.shared.publish(&mut state);
        Ok(())
    }

    async fn cal_on(&self, interleave: u64) -> BackendResult<()> {
        let mut state = self.state();
        state.snapshot.calibration = Some(interleave);
        self.shared.publish(&mut state);
        Ok(())
    }

    async fn set_filename(&self, path: &str) -> BackendResult<()> {
        let mut state = self.state();
        state.snapshot.filename = Some(path.to_owned());
        self.shared.publish(&mut state);
        Ok(())
    }

    async fn convert_data(&self) -> BackendResult<()> {
        let mut state = self.state();
        state.snapshot.conversions += 1;
        self.shared.publish(&mut state);
        Ok(())
    }

    async fn set_enable(&self, feed1: i64, feed2: i64) -> BackendResult<()> {
        let feeds = i64::try_from(self.shared.hardware.feeds).unwrap_or(i64::MAX);
        if let Some(feed) = [feed1, feed2].into_iter().find(|f| !(0..feeds).contains(f)) {
            return fail(format!(
                "feed {feed} is out of range: feeds go from 0 to {}",
                feeds - 1
            ));
        }
        let mut state = self.state();
        state.snapshot.feeds = (feed1, feed2);
        self.shared.publish(&mut state);
        Ok(())
    }

    async fn end_schedule(&self) -> BackendResult<()> {
        let mut state = self.state();
        state.snapshot.schedules_ended += 1;
        self.shared.publish(&mut state);
        Ok(())
    }

    async fn backend_park(&self) -> BackendResult<()> {
        let mut state = self.state();
        state.snapshot.parks += 1;
        self.shared.publish(&mut state);
        Ok(())
    }

    async fn set_shift(&self, shift: i64) -> BackendResult<()> {
        let mut state = self.state();
        state.snapshot.shift = shift;
        self.shared.publish(&mut state);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn soon(ms: u64) -> Timestamp {
        Timestamp::now().after(Duration::from_millis(ms))
    }

    #[tokio::test(start_paused = true)]
    async fn a_timed_start_fires_and_a_timed_stop_ends_it() {
        let sim = Simulator::default();
        sim.start(Some(soon(200))).await.unwrap();
        sim.stop(Some(soon(400))).await.unwrap();
        assert!(!sim.snapshot().acquiring);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(sim.snapshot().acquiring);
        assert_eq!(sim.snapshot().pending_start, None);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!sim.snapshot().acquiring);
        assert_eq!(sim.snapshot().pending_stop, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_start_replaces_the_pending_one() {
        let sim = Simulator::default();
        sim.start(Some(soon(100))).await.unwrap();
        let later = soon(500);
        sim.start(Some(later)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !sim.snapshot().acquiring,
            "the replaced start must not fire"
        );
        assert_eq!(sim.snapshot().pending_start, Some(later));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_that_fires_first_cancels_the_pending_start() {
        let sim = Simulator::default();
        sim.start(Some(soon(500))).await.unwrap();
        sim.stop(Some(soon(100))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let snapshot = sim.snapshot();
        assert!(!snapshot.acquiring);
        assert_eq!(
            (snapshot.pending_start, snapshot.pending_stop),
            (None, None)
        );
    }

    #[tokio::test]
    async fn immediate_start_and_stop_refuse_what_makes_no_sense() {
        let sim = Simulator::default();
        assert_eq!(sim.stop(None).await.unwrap_err().reason, "not acquiring");
        sim.start(None).await.unwrap();
        assert_eq!(
            sim.start(None).await.unwrap_err().reason,
            "already acquiring"
        );
        sim.stop(None).await.unwrap();
        let past = Timestamp::from_acs_ticks(1);
        assert!(
            sim.start(Some(past))
                .await
                .unwrap_err()
                .reason
                .contains("already past")
        );
    }

    #[tokio::test]
    async fn set_section_changes_only_what_is_not_a_star() {
        let sim = Simulator::default();
        let update = SectionUpdate {
            section: Some(1),
            bandwidth: Some(500.0),
            mode: Some("spectra".into()),
            ..SectionUpdate::default()
        };
        sim.set_section(&update).await.unwrap();
        let sections = sim.snapshot().sections;
        assert_eq!(sections[1].bandwidth, 500.0);
        assert_eq!(sections[1].mode, "spectra");
        assert_eq!(sections[1].bins, Section::default().bins);
        assert_eq!(sections[0], Section::default());
    }

    /// A simulator publishing into a queue the test reads.
    fn publishing() -> (Simulator, tokio::sync::mpsc::Receiver<crate::events::Event>) {
        let (sink, queue) = crate::events::queue(100);
        (Simulator::with_events(None, sink), queue.receiver)
    }

    fn names(receiver: &mut tokio::sync::mpsc::Receiver<crate::events::Event>) -> Vec<String> {
        std::iter::from_fn(|| receiver.try_recv().ok())
            .map(|event| event.event)
            .collect()
    }

    #[tokio::test]
    async fn a_change_is_published_once_with_its_request_and_what_it_left() {
        let (sim, mut events) = publishing();
        let request = crate::protocol::Message::request("set-configuration", ["K2000"]);
        crate::events::caused_by(&request, sim.set_configuration("K2000"))
            .await
            .unwrap();
        let event = events.try_recv().unwrap();
        assert_eq!(event.event, "configuration set");
        assert_eq!(event.sequence, 1);
        assert_eq!(event.request.as_deref(), Some("?set-configuration,K2000"));
        assert_eq!(event.details["configuration"], "K2000");
        assert_eq!(event.details["sections"], 2);
        assert_eq!(event.details["inputs"], 2);
        // The same configuration again changes nothing, so tells nothing.
        sim.set_configuration("K2000").await.unwrap();
        // A refused request changes nothing either.
        assert!(sim.stop(None).await.is_err());
        assert!(sim.set_configuration("9bad").await.is_err());
        assert_eq!(names(&mut events), Vec::<String>::new());
    }

    #[tokio::test]
    async fn every_kind_of_change_has_its_event() {
        let (sim, mut events) = publishing();
        sim.set_integration(100).await.unwrap();
        let update = SectionUpdate {
            section: Some(1),
            bandwidth: Some(500.0),
            ..SectionUpdate::default()
        };
        sim.set_section(&update).await.unwrap();
        sim.set_filename("scan.fits").await.unwrap();
        sim.set_enable(1, 0).await.unwrap();
        sim.cal_on(5).await.unwrap();
        sim.set_shift(3).await.unwrap();
        sim.convert_data().await.unwrap();
        sim.backend_park().await.unwrap();
        sim.end_schedule().await.unwrap();
        sim.start(None).await.unwrap();
        sim.stop(None).await.unwrap();
        assert_eq!(
            names(&mut events),
            [
                "integration set",
                "section set",
                "filename set",
                "feeds enabled",
                "calibration on",
                "shift set",
                "data converted",
                "backend parked",
                "schedule ended",
                "acquisition started",
                "acquisition stopped",
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_timed_start_is_published_when_accepted_and_when_it_fires() {
        let (sim, mut events) = publishing();
        let at = soon(200);
        let request = crate::protocol::Message::request("start", [at.to_string()]);
        crate::events::caused_by(&request, sim.start(Some(at)))
            .await
            .unwrap();
        let scheduled = events.try_recv().unwrap();
        assert_eq!(scheduled.event, "acquisition start scheduled");
        assert_eq!(scheduled.details["at"], at.to_string());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = events.try_recv().unwrap();
        assert_eq!(started.event, "acquisition started");
        assert_eq!(started.details["scheduled_at"], at.to_string());
        // Fired by a timer, caused by the request that set it.
        assert_eq!(started.request, scheduled.request);
        assert_eq!(started.sequence, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_now_cancels_a_pending_start_and_says_so() {
        let (sim, mut events) = publishing();
        sim.start(Some(soon(500))).await.unwrap();
        sim.stop(None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            names(&mut events),
            ["acquisition start scheduled", "acquisition start cancelled"]
        );
    }

    #[tokio::test]
    async fn dropping_the_simulator_cancels_its_timers() {
        let sim = Simulator::default();
        sim.start(Some(soon(60_000))).await.unwrap();
        let weak = Arc::downgrade(&sim.shared);
        drop(sim);
        assert!(weak.upgrade().is_none());
    }
}
