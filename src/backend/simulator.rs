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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use async_trait::async_trait;
use tokio::task::AbortHandle;

use super::{Backend, BackendError, BackendResult, Catalogue, Status};
use crate::protocol::{SectionUpdate, Timestamp};

/// Sections a backend has at most.
pub const MAX_SECTIONS: usize = 5;
/// The widest bandwidth a section accepts, in MHz.
pub const MAX_BANDWIDTH_MHZ: f64 = 2000.0;
/// Sections of a configuration when no catalogue says otherwise.
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
    /// `snapshot.active_sections`, readable without the lock.
    active_sections: AtomicUsize,
    /// `snapshot.acquiring`, readable without the lock.
    acquiring: AtomicBool,
}

#[derive(Debug)]
struct State {
    snapshot: Snapshot,
    start_timer: Option<Timer>,
    stop_timer: Option<Timer>,
    next_timer_id: u64,
}

#[derive(Debug)]
struct Timer {
    id: u64,
    task: AbortHandle,
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
    /// letter or, given a catalogue, exactly the catalogue's entries.
    pub fn new(catalogue: Option<Catalogue>) -> Simulator {
        let snapshot = Snapshot {
            configuration: None,
            integration: 0,
            acquiring: false,
            pending_start: None,
            pending_stop: None,
            sections: vec![Section::default(); MAX_SECTIONS],
            active_sections: DEFAULT_SECTIONS,
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
                    snapshot,
                    start_timer: None,
                    stop_timer: None,
                    next_timer_id: 0,
                }),
                catalogue,
                active_sections: AtomicUsize::new(DEFAULT_SECTIONS),
                acquiring: AtomicBool::new(false),
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
        let timer = Some(Timer { id, task });
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

    /// Copies the values read without the lock from `state`; called, with
    /// the lock held, after every change to them.
    fn publish(&self, state: &State) {
        self.active_sections
            .store(state.snapshot.active_sections, Ordering::SeqCst);
        self.acquiring
            .store(state.snapshot.acquiring, Ordering::SeqCst);
    }

    fn fire(&self, action: Action, id: u64) {
        let mut guard = self.lock();
        let state = &mut *guard;
        match action {
            Action::Start if state.start_timer.as_ref().is_some_and(|t| t.id == id) => {
                state.start_timer = None;
                state.snapshot.pending_start = None;
                state.snapshot.acquiring = true;
            }
            Action::Stop if state.stop_timer.as_ref().is_some_and(|t| t.id == id) => {
                state.stop_timer = None;
                state.snapshot.pending_stop = None;
                state.snapshot.acquiring = false;
                cancel(&mut state.start_timer);
                state.snapshot.pending_start = None;
            }
            // Replaced or cancelled after it woke up: nothing to do.
            _ => {}
        }
        self.publish(state);
    }
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

    async fn set_configuration(&self, id: &str) -> BackendResult<()> {
        let sections = match &self.shared.catalogue {
            Some(catalogue) => catalogue.get(id).map(|c| c.sections),
            None => id
                .starts_with(|c: char| c.is_ascii_alphabetic())
                .then_some(DEFAULT_SECTIONS),
        };
        let Some(sections) = sections else {
            return fail(format!("cannot find configuration '{id}'"));
        };
        let mut state = self.state();
        state.snapshot.configuration = Some(id.to_owned());
        state.snapshot.active_sections = sections;
        self.shared.publish(&state);
        Ok(())
    }

    async fn get_integration(&self) -> BackendResult<u64> {
        Ok(self.state().snapshot.integration)
    }

    async fn set_integration(&self, milliseconds: u64) -> BackendResult<()> {
        self.state().snapshot.integration = milliseconds;
        Ok(())
    }

    async fn get_tpi(&self) -> BackendResult<Vec<f64>> {
        let sections = self.shared.active_sections.load(Ordering::SeqCst);
        Ok((0..sections)
            .map(|_| rand::random_range(0.0..100.0))
            .collect())
    }

    async fn get_tp0(&self) -> BackendResult<Vec<f64>> {
        Ok(vec![
            0.0;
            self.shared.active_sections.load(Ordering::SeqCst)
        ])
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
                Ok(())
            }
        }
    }

    async fn set_section(&self, update: &SectionUpdate) -> BackendResult<()> {
        let range = match update.section {
            None => 0..MAX_SECTIONS,
            Some(section) => match usize::try_from(section) {
                Ok(index) if index < MAX_SECTIONS => index..index + 1,
                _ => {
                    return fail(format!(
                        "section {section} is beyond the maximum: sections go from 0 to {}",
                        MAX_SECTIONS - 1
                    ));
                }
            },
        };
        if let Some(bandwidth) = update.bandwidth {
            if bandwidth > MAX_BANDWIDTH_MHZ {
                return fail(format!(
                    "bandwidth {bandwidth} MHz is above the maximum of {MAX_BANDWIDTH_MHZ} MHz"
                ));
            }
            if bandwidth < 0.0 {
                return fail(format!("bandwidth {bandwidth} MHz is negative"));
            }
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
        Ok(())
    }

    async fn cal_on(&self, interleave: u64) -> BackendResult<()> {
        self.state().snapshot.calibration = Some(interleave);
        Ok(())
    }

    async fn set_filename(&self, path: &str) -> BackendResult<()> {
        self.state().snapshot.filename = Some(path.to_owned());
        Ok(())
    }

    async fn convert_data(&self) -> BackendResult<()> {
        self.state().snapshot.conversions += 1;
        Ok(())
    }

    async fn set_enable(&self, feed1: i64, feed2: i64) -> BackendResult<()> {
        let feeds = (MAX_SECTIONS / 2) as i64;
        if let Some(feed) = [feed1, feed2].into_iter().find(|f| !(0..feeds).contains(f)) {
            return fail(format!(
                "feed {feed} is out of range: feeds go from 0 to {}",
                feeds - 1
            ));
        }
        self.state().snapshot.feeds = (feed1, feed2);
        Ok(())
    }

    async fn end_schedule(&self) -> BackendResult<()> {
        self.state().snapshot.schedules_ended += 1;
        Ok(())
    }

    async fn backend_park(&self) -> BackendResult<()> {
        self.state().snapshot.parks += 1;
        Ok(())
    }

    async fn set_shift(&self, shift: i64) -> BackendResult<()> {
        self.state().snapshot.shift = shift;
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

    #[tokio::test]
    async fn dropping_the_simulator_cancels_its_timers() {
        let sim = Simulator::default();
        sim.start(Some(soon(60_000))).await.unwrap();
        let weak = Arc::downgrade(&sim.shared);
        drop(sim);
        assert!(weak.upgrade().is_none());
    }
}
