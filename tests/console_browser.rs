//! The console in a real browser: Debian's Chromium, driven through
//! chromedriver, does what a user does — opens the page, types a line, hits
//! send, sees the answer — and leaves no browser process behind.
//!
//! Skipped, with a line saying what to install, where Chromium or
//! chromedriver is missing; `DISCOS_REQUIRE_BROWSER=1` makes that a failure
//! instead, so CI cannot pass without really driving the browser.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::key::Key;

use discos_acceptance::acceptance::browser::{
    Browser, BrowserError, BrowserOptions, Installation, processes_mentioning,
};
use discos_acceptance::acceptance::web::chromedriver;
use discos_acceptance::backend::HandlerKind;
use discos_acceptance::client::Client;
use discos_acceptance::console::{self, Console};
use discos_acceptance::server::{self, Server};

const LIMIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// A fresh directory for this run, under cargo's scratch space for tests.
fn scratch() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("console-browser-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("home")).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_enters_a_line_hits_send_and_sees_the_answer() {
    let started = Instant::now();
    let installation = match Installation::find() {
        Ok(installation) => installation,
        Err(missing) => {
            if std::env::var("DISCOS_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("DISCOS_REQUIRE_BROWSER=1 but {missing}");
            }
            eprintln!("skipped: {missing}");
            return;
        }
    };
    let scratch = scratch();
    let profile = scratch.join("profile");
    let mut driver = chromedriver(&installation.chromedriver, &scratch.join("home")).timeout(LIMIT);
    driver.start().await.unwrap_or_else(|e| panic!("{e}"));
    let webdriver = format!("http://127.0.0.1:{}", driver.port().unwrap());

    let simulator = Server::start(
        server::Config::default(),
        HandlerKind::Simulator.build(None),
    )
    .await
    .unwrap();
    let backend = simulator.local_addr().to_string();
    let mut simulator = Some(simulator);
    let console = Console::start(console::Config {
        backend,
        ..console::Config::default()
    })
    .await
    .unwrap();

    let options = BrowserOptions {
        chromium: Some(installation.chromium.clone()),
        ..BrowserOptions::new(&profile)
    };
    let browser = Browser::connect(&webdriver, &options)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{e}\nchromedriver said:\n{}",
                driver.output_lines().join("\n")
            )
        });
    let outcome = async {
        browser.open(&console.url()).await?;
        browser.wait_for_text("connected to", LIMIT).await?;
        let (state, _) = browser.status().await?;
        assert_eq!(state, "connected");
        browser.enter("set-configuration,K2000").await?;
        browser.hit("send").await?;
        browser
            .wait_for_text("!set-configuration,ok", LIMIT)
            .await?;
        let exchanges = browser.exchanges().await?;
        let html = browser.page_html().await?;
        let png = browser.screenshot().await?;
        // Enter in the field sends too.
        let enter = char::from(Key::Enter);
        browser.enter(&format!("get-configuration{enter}")).await?;
        browser
            .wait_for_text("!get-configuration,ok,K2000", LIMIT)
            .await?;
        let more = browser.wait_for_exchanges(2, LIMIT).await?;

        // The browser really set it: another client sees it.
        let simulator = simulator.take().expect("the simulator runs");
        let mut other = Client::connect(simulator.local_addr().to_string())
            .await
            .expect("another client connects");
        let seen = other.request_text("get-configuration").await;
        assert_eq!(
            seen.map(|reply| reply.to_string()).ok().as_deref(),
            Some("!get-configuration,ok,K2000")
        );
        other.close().await.expect("the other client closes");

        // A backend that goes away is shown on the page.
        simulator.shutdown().await;
        browser
            .wait_for_text("backend closed the connection", LIMIT)
            .await?;
        let (state, _) = browser.status().await?;
        Ok::<_, BrowserError>((exchanges, more, html, png, state))
    }
    .await;
    let closed = browser.close().await;
    let (exchanges, more, html, png, gone) = outcome.unwrap_or_else(|e| panic!("{e}"));
    closed.expect("the session ends");
    assert_eq!(exchanges, 1);
    assert_eq!(more, 2);
    assert_eq!(gone, "closed", "the status shows the backend gone");
    assert!(html.contains(r#"data-code="ok""#), "{html}");
    assert!(html.contains("?set-configuration,K2000"), "{html}");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    // Kept for a person to look at what the browser saw.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console_browser.png");
    if let Err(e) = std::fs::write(&shot, &png) {
        eprintln!("cannot keep the screenshot at {}: {e}", shot.display());
    }

    driver
        .stop()
        .await
        .expect("chromedriver stops with its group");
    let marker = profile.display().to_string();
    let deadline = Instant::now() + LIMIT;
    loop {
        let left = processes_mentioning(&marker);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "browser processes outlived the test: {left:#?}"
        );
        tokio::time::sleep(POLL).await; // /proc has no events: look again
    }
    let deadline = Instant::now() + LIMIT;
    while console.backend_connections() > 0 {
        assert!(
            Instant::now() < deadline,
            "the page's backend connection outlived the browser"
        );
        tokio::time::sleep(POLL).await; // a counter, no event: look again
    }
    console.shutdown().await;
    match std::fs::remove_dir_all(&scratch) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => eprintln!("cannot remove {}: {e}", scratch.display()),
    }
    eprintln!("browser test took {:.2?}", started.elapsed());
}
