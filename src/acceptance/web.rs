//! The web side of a scenario: the console in front of the backend, a
//! WebDriver, and one real browser per user.
//!
//! Everything here is started for one scenario and torn down with it; the
//! teardown proves that no browser process outlived the scenario by looking
//! for its unique profile directory among the machine's processes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::browser::{Browser, BrowserOptions, Installation, processes_mentioning};
use crate::console::{self, Console};
use crate::orchestration::{Executor, Readiness};

/// How long the driver may take to answer `/status`, and a page to connect.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long, after the sessions end, the browser's processes may take to go.
const EXIT_LIMIT: Duration = Duration::from_secs(10);
/// How long the console may take to notice a closed page and close its
/// backend connection.
const RELAY_LIMIT: Duration = Duration::from_secs(5);
/// How often a teardown wait looks again.
const POLL: Duration = Duration::from_millis(20);

/// Tells scenarios of one run apart in their scratch directories.
static SCENARIOS: AtomicU64 = AtomicU64::new(0);

/// The console, the WebDriver and the browsers of one scenario.
#[derive(Debug)]
pub struct Web {
    /// Profiles and the driver's home live here; unique to the scenario.
    scratch: PathBuf,
    console: Option<Console>,
    /// The chromedriver this scenario started; `None` with `--webdriver`.
    driver: Option<Executor>,
    webdriver: String,
    /// Chromium on this machine, or `None` on a remote WebDriver.
    chromium: Option<PathBuf>,
    /// Each user's browser, by name, in the order they opened the console.
    users: Vec<(String, Browser)>,
}

impl Web {
    /// Serves the console in front of `backend` and makes a WebDriver
    /// available: `webdriver` if given, otherwise a chromedriver started for
    /// this scenario and ready when its `/status` answers.
    pub async fn start(backend: String, webdriver: Option<&str>) -> anyhow::Result<Web> {
        let scratch = std::env::temp_dir().join(format!(
            "discos-browser-{}-{}",
            std::process::id(),
            SCENARIOS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(scratch.join("home"))?;
        // Removed by the teardown; by the reaper if the run is killed first.
        crate::orchestration::reaper().remove_at_exit(&scratch)?;
        let mut web = Web {
            scratch,
            console: None,
            driver: None,
            webdriver: String::new(),
            chromium: None,
            users: Vec::new(),
        };
        // From here on `web` owns what starts; a failure still tears it down
        // when the World does.
        let console = Console::start(console::Config {
            backend,
            ..console::Config::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve the console: {e}"))?;
        web.console = Some(console);
        match webdriver {
            Some(url) => web.webdriver = url.trim_end_matches('/').to_owned(),
            None => {
                let installation = Installation::find()?;
                let home = web.scratch.join("home");
                let mut driver = chromedriver(&installation.chromedriver, &home)
                    .timeout(START_LIMIT)
                    .grace(Duration::from_secs(2));
                driver.start().await?;
                web.webdriver = format!("http://127.0.0.1:{}", driver.port().unwrap_or_default());
                web.driver = Some(driver);
                web.chromium = Some(installation.chromium);
            }
        }
        Ok(web)
    }

    /// Opens a browser for `user` on the console and waits until the page
    /// says it is connected to the backend.
    pub async fn open(&mut self, user: &str) -> anyhow::Result<()> {
        if self.user(user).is_some() {
            anyhow::bail!("\"{user}\" has already opened the console");
        }
        let options = BrowserOptions {
            chromium: self.chromium.clone(),
            ..BrowserOptions::new(self.scratch.join(format!("profile-{}", self.users.len())))
        };
        let browser = Browser::connect(&self.webdriver, &options).await?;
        // Held before the page opens, so teardown closes it whatever happens.
        self.users.push((user.to_owned(), browser));
        let url = self.console.as_ref().map(Console::url).unwrap_or_default();
        let browser = &self.users[self.users.len() - 1].1;
        browser.open(&url).await?;
        browser.wait_for_text("connected to", START_LIMIT).await?;
        Ok(())
    }

    /// The browser of `user`, if that user opened the console.
    pub fn user(&self, user: &str) -> Option<&Browser> {
        self.users
            .iter()
            .find(|(name, _)| name == user)
            .map(|(_, browser)| browser)
    }

    /// Writes each user's page, as a screenshot and as HTML, beside `stem`:
    /// what the browser showed when the scenario failed. The first user's
    /// files are `stem.png` and `stem.html`, the others' carry their name.
    pub async fn save_pages(&self, stem: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        for (index, (name, browser)) in self.users.iter().enumerate() {
            let stem = if index == 0 {
                stem.to_path_buf()
            } else {
                suffixed(stem, name)
            };
            if let Err(error) = save_page(browser, &stem).await {
                problems.push(format!("cannot save the page of \"{name}\": {error:#}"));
            }
        }
        problems
    }

    /// Ends every browser session, stops the driver and the console, and
    /// says what was left: a session that would not end, a console still
    /// relaying, a browser or driver process still alive.
    pub async fn tear_down(mut self) -> Vec<String> {
        let mut leaks = Vec::new();
        for (name, browser) in self.users.drain(..) {
            if let Err(error) = browser.close().await {
                leaks.push(format!("the browser of \"{name}\" did not close: {error}"));
            }
        }
        if let Some(mut driver) = self.driver.take()
            && let Err(error) = driver.stop().await
        {
            leaks.push(format!("the WebDriver: {error}"));
        }
        if let Some(console) = self.console.take() {
            // A closed page closes its socket; the console then closes the
            // backend connection behind it.
            let relays = wait_until(RELAY_LIMIT, || {
                console.open_relays() + console.backend_connections() == 0
            })
            .await;
            if !relays {
                leaks.push(format!(
                    "the console still had {} page(s) and {} backend connection(s) open {RELAY_LIMIT:?} after every browser closed",
                    console.open_relays(),
                    console.backend_connections()
                ));
            }
            if let Err(alive) = console.shutdown_within(RELAY_LIMIT).await {
                leaks.push(format!(
                    "{alive} console task(s) still alive {RELAY_LIMIT:?} after its shutdown began"
                ));
            }
        }
        let scratch = self.scratch.display().to_string();
        if !wait_until(EXIT_LIMIT, || processes_mentioning(&scratch).is_empty()).await {
            let left: Vec<_> = processes_mentioning(&scratch)
                .into_iter()
                .map(|(pid, command)| format!("{pid} ({})", shorten(&command)))
                .collect();
            leaks.push(format!(
                "browser process(es) still alive {EXIT_LIMIT:?} after the session ended: {}",
                left.join(", ")
            ));
        }
        leaks
    }
}

impl Drop for Web {
    /// A World dropped without its teardown (a panic in a hook) still loses
    /// its driver, through the executor's own drop, and its profiles.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// A chromedriver on a free port, ready when its `/status` answers, with
/// `home` as its home so that nothing it or its browsers write lands in the
/// real one.
pub fn chromedriver(program: &Path, home: &Path) -> Executor {
    Executor::new(
        "chromedriver",
        [program.display().to_string(), "--port={port}".to_owned()],
    )
    .env("HOME", home.display().to_string())
    .env(
        "XDG_CONFIG_HOME",
        home.join(".config").display().to_string(),
    )
    .env("XDG_CACHE_HOME", home.join(".cache").display().to_string())
    .ready_when(Readiness::http("http://127.0.0.1:{port}/status", [200]))
}

/// `stem` with `--name` appended to its file name.
pub fn suffixed(stem: &Path, name: &str) -> PathBuf {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut file = stem.file_name().unwrap_or_default().to_os_string();
    file.push(format!("--{slug}"));
    stem.with_file_name(file)
}

/// Saves `browser`'s page as `stem.png` and `stem.html`.
pub async fn save_page(browser: &Browser, stem: &Path) -> anyhow::Result<()> {
    if let Some(dir) = stem.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let png = browser.screenshot().await?;
    std::fs::write(stem.with_extension("png"), png)?;
    let html = browser.page_html().await?;
    std::fs::write(stem.with_extension("html"), html)?;
    Ok(())
}

/// Polls `done` until it holds or `limit` passes; true if it held.
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await; // /proc and the console counters have no events
    }
}

fn shorten(command: &str) -> String {
    match command.char_indices().nth(120) {
        Some((end, _)) => format!("{}…", &command[..end]),
        None => command.to_owned(),
    }
}
