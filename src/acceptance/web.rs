//! The web side of a scenario: the console in front of the backend, and one
//! real browser per user, each with a fresh profile.
//!
//! A browser costs most of a browser scenario's time to start, so a run
//! keeps one ready ([`Browsers`]): one chromedriver for the whole run,
//! started by its first browser scenario, and the next user's browser
//! started while the current scenario runs; users who open the console
//! together have their browsers started side by side. Isolation is not
//! traded for it:
//! each browser is a process group of its own, started for one user of one
//! scenario with an empty profile, and torn down with that scenario — its
//! group stopped and `/proc` checked for every process of it — never
//! handed to another.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::browser::{
    Browser, BrowserOptions, DEVTOOLS_BANNER, Installation, devtools_address, processes_mentioning,
};
use crate::console::{self, Breaches, Console};
use crate::orchestration::{Executor, Readiness, Signal};
use crate::poll::{Pace, Poller};

/// How long the driver may take to answer `/status`, a browser to start,
/// and a page to connect.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long the driver gets to exit on SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How long, after the sessions end, the browser's processes may take to go.
const EXIT_LIMIT: Duration = Duration::from_secs(10);
/// How long the console may take to notice a closed page and close its
/// backend connection.
const RELAY_LIMIT: Duration = Duration::from_secs(5);
/// How often a teardown wait looks again.
const POLL: Duration = Duration::from_millis(20);

/// Tells runs of one process apart in their scratch directories.
static RUNS: AtomicU64 = AtomicU64::new(0);

/// The browsers of one run: where they come from, and the one made ready
/// for the next user.
///
/// With a remote WebDriver (`--webdriver`), each user's session is opened
/// there when needed and the endpoint starts its browser. Otherwise the run
/// starts one chromedriver at its first browser, and each browser itself:
/// once a user's page is connected, the next user's browser is started, and
/// the driver attached to it, while the scenario runs. [`Browsers::shut_down`], at the
/// end of the run, stops the spare browser and the driver and checks that
/// nothing of them is left.
#[derive(Debug)]
pub struct Browsers {
    /// The remote WebDriver endpoint, if the run was given one.
    remote: Option<String>,
    pool: tokio::sync::Mutex<Pool>,
    removals: Removals,
}

/// Folders of closed browsers being removed. Removing a profile takes a
/// tenth of a second on this disk, and isolation does not wait on it (the
/// next browser has a folder of its own): it goes on in the background, and
/// the run's shutdown waits for it.
type Removals = Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>;

#[derive(Debug, Default)]
struct Pool {
    /// Profiles, homes and the driver's home live here; unique to the run.
    scratch: Option<PathBuf>,
    /// Browsers started so far, to name their folders.
    started: u64,
    installation: Option<Installation>,
    /// The run's chromedriver, once a browser was asked for.
    driver: Option<Executor>,
    /// The next user's browser, starting or ready.
    spare: Option<JoinHandle<anyhow::Result<FreshBrowser>>>,
}

impl Browsers {
    /// Browsers from the remote endpoint `webdriver`, or from this machine
    /// when it is `None`; nothing starts before the first is asked for.
    pub fn new(webdriver: Option<String>) -> Browsers {
        Browsers {
            remote: webdriver.map(|url| url.trim_end_matches('/').to_owned()),
            pool: tokio::sync::Mutex::default(),
            removals: Removals::default(),
        }
    }

    /// A browser for each of `users` users, all fresh, their profiles
    /// empty, their pages blank. The ready one goes to the first user; those
    /// of the others start side by side, since a scenario that opens the
    /// console for two users at once waits for the last of them. If any
    /// cannot be had, those that could are closed again and the error says
    /// why.
    pub async fn take(&self, users: usize) -> anyhow::Result<Vec<FreshBrowser>> {
        let mut pool = self.pool.lock().await;
        let starts = match &self.remote {
            Some(remote) => self.connect_remote(&mut pool, remote, users).await?,
            None => self.start_local(&mut pool, users).await?,
        };
        drop(pool);
        let mut fresh = Vec::new();
        let mut failure = None;
        for start in starts {
            match start {
                // It died while it waited: say so rather than hand it out.
                Ok(browser) if !browser.is_running() => {
                    let output = browser.last_output();
                    let leaks = browser.close("the spare browser").await;
                    failure.get_or_insert(anyhow::anyhow!(
                        "the browser started for this user exited before it was used{}{output}",
                        if leaks.is_empty() {
                            String::new()
                        } else {
                            format!(" (and {})", leaks.join("; "))
                        }
                    ));
                }
                Ok(browser) => fresh.push(browser),
                Err(error) => {
                    failure.get_or_insert(error);
                }
            }
        }
        match failure {
            None => Ok(fresh),
            Some(error) => {
                let mut leaks = Vec::new();
                for browser in fresh {
                    leaks.extend(browser.close("a browser started with it").await);
                }
                if leaks.is_empty() {
                    Err(error)
                } else {
                    Err(anyhow::anyhow!("{error:#} (and {})", leaks.join("; ")))
                }
            }
        }
    }

    /// Sessions of a remote WebDriver endpoint, one per user, opened side
    /// by side.
    async fn connect_remote(
        &self,
        pool: &mut Pool,
        remote: &str,
        users: usize,
    ) -> anyhow::Result<Vec<anyhow::Result<FreshBrowser>>> {
        let mut sessions = Vec::new();
        for _ in 0..users {
            let dir = pool.next_dir()?;
            let options = BrowserOptions {
                chromium: None,
                ..BrowserOptions::new(dir.join("profile"))
            };
            let removals = self.removals.clone();
            sessions.push(async move {
                let browser = Browser::connect(remote, &options).await?;
                Ok(FreshBrowser::new(browser, None, dir, &removals))
            });
        }
        Ok(futures::future::join_all(sessions).await)
    }

    /// Local browsers, one per user: the spare one first, if it is ready,
    /// the others started side by side.
    async fn start_local(
        &self,
        pool: &mut Pool,
        users: usize,
    ) -> anyhow::Result<Vec<anyhow::Result<FreshBrowser>>> {
        let webdriver = pool.driver().await?;
        let installation = pool
            .installation
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no browser installation"))?;
        let mut starts = Vec::new();
        if users > 0
            && let Some(spare) = pool.spare.take()
        {
            starts.push(spare);
        }
        while starts.len() < users {
            let dir = pool.next_dir()?;
            starts.push(tokio::spawn(prepare(
                installation.clone(),
                webdriver.clone(),
                dir,
                self.removals.clone(),
            )));
        }
        Ok(futures::future::join_all(starts)
            .await
            .into_iter()
            .map(|start| {
                start.unwrap_or_else(|error| {
                    Err(anyhow::anyhow!("the browser's start was lost: {error}"))
                })
            })
            .collect())
    }

    /// Starts the next user's browser, unless one is already starting or
    /// there is no local driver (a remote endpoint, or none started yet).
    /// Called once a user's page is connected, so that the start overlaps
    /// the scenario's steps and teardown rather than the page's own load:
    /// on a small machine both want the CPU.
    pub async fn prepare_next(&self) -> anyhow::Result<()> {
        let mut pool = self.pool.lock().await;
        if self.remote.is_some() || pool.spare.is_some() {
            return Ok(());
        }
        let (Some(installation), Some(port)) = (
            pool.installation.clone(),
            pool.driver.as_ref().and_then(Executor::port),
        ) else {
            return Ok(());
        };
        let dir = pool.next_dir()?;
        let webdriver = format!("http://127.0.0.1:{port}");
        pool.spare = Some(tokio::spawn(prepare(
            installation,
            webdriver,
            dir,
            self.removals.clone(),
        )));
        Ok(())
    }

    /// Stops the spare browser and the driver, checks in `/proc` that no
    /// process of theirs is left, and removes the run's folder; says what
    /// was left. A later [`Browsers::take`] starts afresh.
    pub async fn shut_down(&self) -> Vec<String> {
        let mut pool = self.pool.lock().await;
        let mut leaks = Vec::new();
        if let Some(spare) = pool.spare.take() {
            match spare.await {
                Ok(Ok(fresh)) => leaks.extend(fresh.close("the spare browser").await),
                // A start that failed stopped what it started; nobody asked
                // for this browser, so its failure fails nothing.
                Ok(Err(_)) => {}
                Err(error) => leaks.push(format!("the spare browser's start was lost: {error}")),
            }
        }
        if let Some(mut driver) = pool.driver.take()
            && let Err(error) = driver.stop().await
        {
            leaks.push(format!("the WebDriver: {error}"));
        }
        let removals = std::mem::take(
            &mut *self
                .removals
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for removal in removals {
            let _ = removal.await;
        }
        if let Some(scratch) = pool.scratch.take() {
            let marker = format!("{}/", scratch.display());
            if !wait_until(EXIT_LIMIT, || processes_mentioning(&marker).is_empty()).await {
                leaks.push(format!(
                    "browser process(es) still alive {EXIT_LIMIT:?} after the run's browsers stopped: {}",
                    listed(&processes_mentioning(&marker))
                ));
            }
            let _ = std::fs::remove_dir_all(&scratch);
        }
        pool.installation = None;
        leaks
    }
}

impl Pool {
    /// The run's folder, made on first use.
    fn scratch(&mut self) -> anyhow::Result<PathBuf> {
        if let Some(scratch) = &self.scratch {
            return Ok(scratch.clone());
        }
        let scratch = std::env::temp_dir().join(format!(
            "discos-browser-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&scratch)?;
        // Removed by the shutdown; by the reaper if the run is killed first.
        crate::orchestration::reaper().remove_at_exit(&scratch)?;
        Ok(self.scratch.insert(scratch).clone())
    }

    /// A new folder for one browser, in the run's folder.
    fn next_dir(&mut self) -> anyhow::Result<PathBuf> {
        let dir = self.scratch()?.join(format!("browser-{}", self.started));
        self.started += 1;
        Ok(dir)
    }

    /// The URL of the run's chromedriver, started on first use.
    async fn driver(&mut self) -> anyhow::Result<String> {
        if let Some(driver) = &self.driver
            && !driver.is_running()
        {
            let output = driver.last_output();
            self.driver = None;
            anyhow::bail!("the run's chromedriver exited{output}");
        }
        if self.driver.is_none() {
            let installation = Installation::find()?;
            let home = self.scratch()?.join("driver-home");
            std::fs::create_dir_all(&home)?;
            let mut driver = chromedriver(&installation.chromedriver, &home)
                .timeout(START_LIMIT)
                .grace(GRACE);
            driver.start().await?;
            self.driver = Some(driver);
            self.installation = Some(installation);
        }
        let port = self
            .driver
            .as_ref()
            .and_then(Executor::port)
            .unwrap_or_default();
        Ok(format!("http://127.0.0.1:{port}"))
    }
}

impl Drop for Pool {
    /// A run dropped without its shutdown (a panic) still loses its driver,
    /// through the executor's own drop, and its folder.
    fn drop(&mut self) {
        if let Some(spare) = self.spare.take() {
            spare.abort();
        }
        if let Some(mut driver) = self.driver.take() {
            driver.kill();
        }
        if let Some(scratch) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(scratch);
        }
    }
}

/// Starts a headless browser with an empty profile in `dir`, and a session
/// of `webdriver` attached to it.
async fn prepare(
    installation: Installation,
    webdriver: String,
    dir: PathBuf,
    removals: Removals,
) -> anyhow::Result<FreshBrowser> {
    let home = dir.join("home");
    std::fs::create_dir_all(&home)?;
    let options = BrowserOptions::new(dir.join("profile"));
    let program = installation.browser(options.headless);
    let mut process = Executor::new("chromium", options.command_line(program))
        .env("HOME", home.display().to_string())
        .env(
            "XDG_CONFIG_HOME",
            home.join(".config").display().to_string(),
        )
        .env("XDG_CACHE_HOME", home.join(".cache").display().to_string())
        .ready_when(Readiness::output(DEVTOOLS_BANNER))
        .timeout(START_LIMIT)
        // Its profile is thrown away: nothing is lost by not letting it
        // save, and a graceful exit costs a tenth of a second.
        .stop_signal(Signal::SIGKILL);
    process.start().await?;
    let attached = match devtools_address(&process.output_lines()) {
        Some(devtools) => {
            match tokio::time::timeout(START_LIMIT, Browser::attach(&webdriver, &devtools)).await {
                Ok(attached) => attached.map_err(anyhow::Error::from),
                Err(_) => Err(anyhow::anyhow!(
                    "chromedriver did not attach to the browser at {devtools} within {START_LIMIT:?}"
                )),
            }
        }
        None => Err(anyhow::anyhow!(
            "the browser announced no DevTools address{}",
            process.last_output()
        )),
    };
    match attached {
        Ok(browser) => Ok(FreshBrowser::new(browser, Some(process), dir, &removals)),
        Err(error) => {
            let _ = process.stop().await;
            let _ = std::fs::remove_dir_all(&dir);
            Err(error)
        }
    }
}

/// One user's browser: its WebDriver session, its processes when they are
/// ours, and its folder (profile and home).
#[derive(Debug)]
pub struct FreshBrowser {
    browser: Option<Browser>,
    /// The browser's process group; `None` on a remote WebDriver.
    process: Option<Executor>,
    dir: PathBuf,
    removals: Removals,
}

impl FreshBrowser {
    fn new(
        browser: Browser,
        process: Option<Executor>,
        dir: PathBuf,
        removals: &Removals,
    ) -> FreshBrowser {
        FreshBrowser {
            browser: Some(browser),
            process,
            dir,
            removals: removals.clone(),
        }
    }

    /// The session, to drive the page.
    pub fn browser(&self) -> Option<&Browser> {
        self.browser.as_ref()
    }

    /// The folder of its profile and home: every process of a browser
    /// started on this machine names it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn is_running(&self) -> bool {
        self.process.as_ref().is_none_or(Executor::is_running)
    }

    fn last_output(&self) -> String {
        self.process
            .as_ref()
            .map(Executor::last_output)
            .unwrap_or_default()
    }

    /// Ends the session, kills the browser's process group, checks in
    /// `/proc` that no process of the group (the stop's own check) nor any
    /// naming its profile is left (the headless shell's children do not name
    /// it; the full Chromium's do), and has its folder removed in the
    /// background; says what was left, naming the browser as `whose`.
    pub async fn close(mut self, whose: &str) -> Vec<String> {
        let mut leaks = Vec::new();
        if let Some(browser) = self.browser.take()
            && let Err(error) = browser.close().await
        {
            leaks.push(format!("{whose} did not close: {error}"));
        }
        if let Some(mut process) = self.process.take()
            && let Err(error) = process.stop().await
        {
            leaks.push(format!("{whose}: {error}"));
        }
        let marker = format!("{}/", self.dir.display());
        if !wait_until(EXIT_LIMIT, || processes_mentioning(&marker).is_empty()).await {
            leaks.push(format!(
                "process(es) of {whose} still alive {EXIT_LIMIT:?} after the session ended: {}",
                listed(&processes_mentioning(&marker))
            ));
        }
        let dir = std::mem::take(&mut self.dir);
        let removal = tokio::task::spawn_blocking(move || {
            let _ = std::fs::remove_dir_all(dir);
        });
        let mut removals = self
            .removals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        removals.retain(|removal| !removal.is_finished());
        removals.push(removal);
        leaks
    }
}

impl Drop for FreshBrowser {
    /// Dropped without [`FreshBrowser::close`] (a panic), it still loses its
    /// processes and its folder.
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
        // Empty once close() handed it to the background removal.
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The console and the browsers of one scenario.
#[derive(Debug)]
pub struct Web {
    console: Option<Console>,
    browsers: Arc<Browsers>,
    /// Each user's browser, by name, in the order they opened the console.
    users: Vec<(String, FreshBrowser)>,
}

impl Web {
    /// Serves the console in front of `backend`; users' browsers come from
    /// the run's `browsers`.
    pub async fn start(backend: String, browsers: Arc<Browsers>) -> anyhow::Result<Web> {
        let console = Console::start(console::Config {
            backend,
            ..console::Config::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve the console: {e}"))?;
        Ok(Web {
            console: Some(console),
            browsers,
            users: Vec::new(),
        })
    }

    /// Opens a fresh browser for each of `users` on the console, side by
    /// side, and waits until every page says it is connected to the
    /// backend. An error names the user it befell.
    pub async fn open(&mut self, users: &[&str]) -> anyhow::Result<()> {
        for (index, user) in users.iter().enumerate() {
            if self.user(user).is_some() || users[..index].contains(user) {
                anyhow::bail!("\"{user}\" has already opened the console");
            }
        }
        let fresh = self.browsers.take(users.len()).await.map_err(|error| {
            error.context(match users {
                [user] => format!("no browser could be started for {user:?}"),
                _ => format!("the browsers of {} could not all be started", quoted(users)),
            })
        })?;
        // Held before the pages open, so teardown closes them whatever happens.
        let first = self.users.len();
        self.users
            .extend(users.iter().map(|user| user.to_string()).zip(fresh));
        let url = self.console.as_ref().map(Console::url).unwrap_or_default();
        let pages = self.users[first..].iter().map(|(user, fresh)| {
            let url = &url;
            async move {
                let connected = async {
                    let browser = fresh
                        .browser()
                        .ok_or_else(|| anyhow::anyhow!("its browser is gone"))?;
                    browser.open(url).await?;
                    browser.wait_for_text("connected to", START_LIMIT).await?;
                    anyhow::Ok(())
                };
                connected.await.map_err(|error| {
                    error.context(format!("\"{user}\" could not open the console"))
                })
            }
        });
        for opened in futures::future::join_all(pages).await {
            opened?;
        }
        self.browsers.prepare_next().await?;
        Ok(())
    }

    /// When a line from the backend last came to the console.
    pub fn last_heard(&self) -> Option<std::time::Instant> {
        self.console.as_ref().and_then(Console::last_heard)
    }

    /// The browser of `user`, if that user opened the console.
    pub fn user(&self, user: &str) -> Option<&Browser> {
        self.users
            .iter()
            .find(|(name, _)| name == user)
            .and_then(|(_, fresh)| fresh.browser())
    }

    /// Writes each user's page, as a screenshot and as HTML, beside `stem`:
    /// what the browser showed when the scenario failed. The first user's
    /// files are `stem.png` and `stem.html`, the others' carry their name.
    pub async fn save_pages(&self, stem: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        for (index, (name, fresh)) in self.users.iter().enumerate() {
            let Some(browser) = fresh.browser() else {
                continue;
            };
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

    /// Ends every browser session, stops each browser's processes and the
    /// console, and says what was left: a session that would not end, a
    /// browser process still alive, a console still relaying; and what the
    /// backend sent the console's connections that the contract forbids
    /// (lines no page asked for, lines DISCOS would misread), which the
    /// pages showed as events.
    pub async fn tear_down(mut self) -> (Vec<String>, Breaches) {
        let mut leaks = Vec::new();
        // Side by side: most of a close is the kernel tearing a browser down.
        let closes = self.users.drain(..).map(|(name, fresh)| async move {
            fresh.close(&format!("the browser of \"{name}\"")).await
        });
        leaks.extend(
            futures::future::join_all(closes)
                .await
                .into_iter()
                .flatten(),
        );
        let mut breaches = Breaches::default();
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
            breaches = console.breaches();
            if let Err(alive) = console.shutdown_within(RELAY_LIMIT).await {
                leaks.push(format!(
                    "{alive} console task(s) still alive {RELAY_LIMIT:?} after its shutdown began"
                ));
            }
        }
        (leaks, breaches)
    }
}

/// `"Anna" and "Bruno"`, or `"Anna", "Bruno" and "Carla"`.
fn quoted(users: &[&str]) -> String {
    let quoted: Vec<String> = users.iter().map(|user| format!("{user:?}")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => "nobody".to_owned(),
    }
}

fn listed(processes: &[(u32, String)]) -> String {
    processes
        .iter()
        .map(|(pid, command)| format!("{pid} ({})", shorten(command)))
        .collect::<Vec<_>>()
        .join(", ")
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
    // /proc and the console counters have no events.
    let mut poller = Poller::within(limit, Pace::every(POLL));
    loop {
        if done() {
            return true;
        }
        if !poller.pause().await {
            return false;
        }
    }
}

fn shorten(command: &str) -> String {
    match command.char_indices().nth(120) {
        Some((end, _)) => format!("{}…", &command[..end]),
        None => command.to_owned(),
    }
}
