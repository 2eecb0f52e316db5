//! What the tests that drive a real browser share: finding Chromium (or
//! saying what to install), a scratch folder, and waiting until no browser
//! process is left.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use discos_acceptance::acceptance::browser::{Installation, processes_mentioning};
use discos_acceptance::acceptance::web::chromedriver;
use discos_acceptance::orchestration::Executor;
use discos_acceptance::poll::{Pace, Poller};

/// How long a browser may take to start, answer or go.
pub const LIMIT: Duration = Duration::from_secs(20);
/// How often to look again at what has no event to wait for.
pub const POLL: Duration = Duration::from_millis(50);

/// A fresh directory for this run, under cargo's scratch space for tests,
/// with a `home` folder for chromedriver.
pub fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("home")).unwrap();
    dir
}

/// Chromium and chromedriver, or `None` (said on stderr) when they are
/// missing and `DISCOS_REQUIRE_BROWSER=1` does not make that a failure.
pub fn installation() -> Option<Installation> {
    match Installation::find() {
        Ok(installation) => Some(installation),
        Err(missing) => {
            if std::env::var("DISCOS_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("DISCOS_REQUIRE_BROWSER=1 but {missing}");
            }
            eprintln!("skipped: {missing}");
            None
        }
    }
}

/// Waits until no process mentions `profile` (the browser's profile
/// directory), failing the test after [`LIMIT`].
pub async fn wait_until_gone(profile: &Path) {
    let marker = profile.display().to_string();
    // /proc has no events: look again until the limit.
    let mut poller = Poller::within(LIMIT, Pace::every(POLL));
    loop {
        let left = processes_mentioning(&marker);
        if left.is_empty() {
            return;
        }
        assert!(
            poller.pause().await,
            "browser processes outlived the test: {left:#?}"
        );
    }
}

/// Removes a scratch folder; one already gone is fine.
pub fn remove(scratch: &Path) {
    match std::fs::remove_dir_all(scratch) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => eprintln!("cannot remove {}: {e}", scratch.display()),
    }
}

/// The installation's chromedriver, started with its home in `scratch`,
/// and its WebDriver address.
pub async fn start_driver(installation: &Installation, scratch: &Path) -> (Executor, String) {
    let mut driver = chromedriver(&installation.chromedriver, &scratch.join("home")).timeout(LIMIT);
    driver.start().await.unwrap_or_else(|e| panic!("{e}"));
    let webdriver = format!("http://127.0.0.1:{}", driver.port().unwrap());
    (driver, webdriver)
}

/// Stops chromedriver with its group, and waits until no process of the
/// browser whose profile is `profile` is left.
pub async fn stop_driver(mut driver: Executor, profile: &Path) {
    driver
        .stop()
        .await
        .expect("chromedriver stops with its group");
    wait_until_gone(profile).await;
}
