//! How a run of the features is configured: which backend, where reports
//! and artifacts go.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::broker::RunBroker;
use super::target::{BackendUnderTest, DEFAULT_READY_TIMEOUT, Launch, ReadyWhen, Target};
use super::web::Browsers;
use crate::orchestration::OrchestrationError;

/// Settings shared by every scenario of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The backend under test.
    pub target: Target,
    /// Where failure artifacts (screenshots, page HTML) are written.
    pub artifacts: PathBuf,
    /// The directory that holds the features directory: relative file names
    /// in features (a catalogue) are looked up here first.
    pub root: PathBuf,
    /// A WebDriver endpoint to use instead of starting chromedriver.
    pub webdriver: Option<String>,
    /// How long a backend may take to get ready.
    pub ready_timeout: Duration,
    /// How long a scenario's end listens, after the last line each client
    /// received, for lines nobody asked for (`--settle`).
    pub settle: Duration,
    /// How a `cmd:` backend says it is ready, if not by its port accepting.
    pub ready_when: Option<ReadyWhen>,
    /// The run's browsers (its WebDriver, the next user's browser), which
    /// outlive any one scenario; the runner shuts them down at the end.
    pub browsers: Arc<Browsers>,
    /// The message broker of the @broker scenarios.
    pub broker: Arc<RunBroker>,
    /// The profile every backend of the run is given (`--profile`), unless
    /// a scenario names a catalogue of its own.
    pub profile: Option<crate::backend::Profile>,
    /// How the run's backend starts went, for the run to tell a machine
    /// too busy to start them in time from a backend that cannot start.
    pub starts: Arc<Starts>,
}

/// The run's backend starts as they went: how many, how many were not
/// ready within `--ready-timeout`, how many were starting at once at the
/// most, and how long the first took, started alone before any scenario.
#[derive(Debug, Default)]
pub struct Starts {
    started: AtomicUsize,
    late: AtomicUsize,
    starting: AtomicUsize,
    peak: AtomicUsize,
    first: Mutex<Option<Duration>>,
}

impl Starts {
    /// What the run should say when starts timed out though the first was
    /// ready in time: the machine is busier than the backend is slow, and
    /// fewer at once would hold; `None` when no start timed out, or the
    /// first did too.
    pub fn oversubscribed(&self, ready_timeout: Duration) -> Option<String> {
        let started = self.started.load(Ordering::SeqCst);
        let late = self.late.load(Ordering::SeqCst);
        let peak = self.peak.load(Ordering::SeqCst);
        let first = (*self.first.lock().unwrap_or_else(PoisonError::into_inner))?;
        if late == 0 {
            return None;
        }
        Some(format!(
            "{late} of {started} backend starts were not ready within --ready-timeout {}, with up to {peak} starting at once, while the first, started alone, was ready in {:.1?}: this machine is likely too busy for --concurrency {peak}, not the backend broken; a lower --concurrency (say {}) gives each start more of it, as would a longer --ready-timeout",
            humantime::format_duration(ready_timeout),
            first,
            (peak / 2).max(1)
        ))
    }

    /// Runs one start, counted.
    async fn count<T>(&self, start: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
        let began = Instant::now();
        let now = self.starting.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let result = start.await;
        self.starting.fetch_sub(1, Ordering::SeqCst);
        self.started.fetch_add(1, Ordering::SeqCst);
        match &result {
            Err(error)
                if matches!(
                    error.downcast_ref::<OrchestrationError>(),
                    Some(OrchestrationError::NotReadyInTime { .. })
                ) =>
            {
                self.late.fetch_add(1, Ordering::SeqCst);
            }
            Ok(_) => {
                let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
                first.get_or_insert(began.elapsed());
            }
            Err(_) => {}
        }
        result
    }
}

impl Settings {
    /// Starts (or, for a shared target, reaches) the backend for a
    /// scenario, with the catalogue file it names (looked up as
    /// [`Settings::resolve`] does), if it names one.
    pub async fn start_backend(&self, catalogue: Option<&str>) -> anyhow::Result<BackendUnderTest> {
        let catalogue = catalogue
            .map(|name| self.resolve(name).map_err(anyhow::Error::msg))
            .transpose()?;
        self.starts
            .count(BackendUnderTest::start(self.launch(), catalogue))
            .await
    }

    /// What starting a backend takes from these settings.
    pub fn launch(&self) -> Launch<'_> {
        Launch {
            target: &self.target,
            ready_timeout: self.ready_timeout,
            ready_when: self.ready_when.as_ref(),
            profile: self.profile,
        }
    }

    /// Finds a file a feature names: absolute as it is, relative beside the
    /// features directory, then in the current directory.
    pub fn resolve(&self, name: &str) -> Result<PathBuf, String> {
        let path = Path::new(name);
        let candidates = if path.is_absolute() {
            vec![path.to_path_buf()]
        } else {
            vec![self.root.join(path), path.to_path_buf()]
        };
        candidates
            .iter()
            .find(|candidate| candidate.is_file())
            .map(|found| found.canonicalize().unwrap_or_else(|_| found.clone()))
            .ok_or_else(|| {
                let tried: Vec<_> = candidates.iter().map(|c| c.display().to_string()).collect();
                format!(
                    "cannot find the file \"{name}\" (looked at {})",
                    tried.join(" and ")
                )
            })
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            target: Target::Embedded,
            artifacts: PathBuf::from("target/acceptance"),
            root: PathBuf::from("."),
            webdriver: None,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            settle: Duration::ZERO,
            ready_when: None,
            browsers: Arc::new(Browsers::new(None)),
            broker: Arc::default(),
            profile: None,
            starts: Arc::default(),
        }
    }
}
