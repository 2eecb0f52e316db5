//! The console in a real browser: Debian's Chromium, driven through
//! chromedriver, does what a user does — opens the page, types a line, hits
//! send, sees the answer — and leaves no browser process behind.
//!
//! Another site's page, open in the same browser, cannot drive the console:
//! its WebSocket is refused and the backend never hears of it.
//!
//! Skipped, with a line saying what to install, where Chromium or
//! chromedriver is missing; `DISCOS_REQUIRE_BROWSER=1` makes that a failure
//! instead, so CI cannot pass without really driving the browser.

use crate::browser_support::{
    LIMIT, POLL, installation, remove, scratch, start_driver, stop_driver,
};

use std::path::PathBuf;
use std::time::Instant;

use fantoccini::key::Key;

use discos_acceptance::acceptance::browser::{Browser, BrowserError, BrowserOptions};
use discos_acceptance::backend::HandlerKind;
use discos_acceptance::client::Client;
use discos_acceptance::console::{self, Console};
use discos_acceptance::poll::{Pace, Poller};
use discos_acceptance::server::{self, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_enters_a_line_hits_send_and_sees_the_answer() {
    let started = Instant::now();
    let Some(installation) = installation() else {
        return;
    };
    let scratch = scratch("console-browser");
    let profile = scratch.join("profile");
    let (driver, webdriver) = start_driver(&installation, &scratch).await;

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
        // A button the page lacks is named, with those it has.
        match browser.hit("launch").await {
            Err(BrowserError::NoButton { name, buttons }) => {
                assert_eq!(name, "launch");
                assert!(buttons.contains(&"send".to_owned()), "{buttons:?}");
            }
            other => panic!("expected no button \"launch\", got {other:?}"),
        }
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

    stop_driver(driver, &profile).await;
    // A counter, no event: look again until the limit.
    let mut poller = Poller::within(LIMIT, Pace::every(POLL));
    while console.backend_connections() > 0 {
        assert!(
            poller.pause().await,
            "the page's backend connection outlived the browser"
        );
    }
    console.shutdown().await;
    remove(&scratch);
    eprintln!("browser test took {:.2?}", started.elapsed());
}

/// What another site's page does with the console's address: opens its
/// WebSocket and, if that opens, sets the configuration. It writes the
/// outcome on itself for the test to read.
fn hostile_page(console: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>another site</title></head>
<body><p id="outcome">trying</p>
<script>
const outcome = document.getElementById("outcome");
const socket = new WebSocket("ws://{console}/ws");
let opened = false;
socket.onopen = () => {{ opened = true; socket.send("set-configuration,PWNED"); }};
socket.onmessage = (event) => {{
  if (JSON.parse(event.data).type === "reply") outcome.textContent = "outcome: hijacked, " + event.data;
}};
socket.onclose = (event) => {{
  if (!opened) outcome.textContent = "outcome: refused, close code " + event.code;
}};
</script></body></html>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sites_page_cannot_drive_the_console() {
    let Some(installation) = installation() else {
        return;
    };
    let scratch = scratch("console-browser");
    let profile = scratch.join("profile");
    let (driver, webdriver) = start_driver(&installation, &scratch).await;

    let simulator = Server::start(
        server::Config::default(),
        HandlerKind::Simulator.build(None),
    )
    .await
    .unwrap();
    let backend = simulator.local_addr().to_string();
    let console = Console::start(console::Config {
        backend: backend.clone(),
        ..console::Config::default()
    })
    .await
    .unwrap();
    let console_address = console.local_addr().to_string();
    let mut client = Client::connect(backend.clone()).await.unwrap();
    let before = client.request_text("get-configuration").await.unwrap();

    // Another origin: the same machine, another port.
    let site = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site_url = format!("http://{}/", site.local_addr().unwrap());
    let page = hostile_page(&console_address);
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(page) }),
    );
    let site_stop = tokio_util::sync::CancellationToken::new();
    let site_task = tokio::spawn(
        axum::serve(site, router)
            .with_graceful_shutdown(site_stop.clone().cancelled_owned())
            .into_future(),
    );

    let options = BrowserOptions {
        chromium: Some(installation.chromium.clone()),
        // A name of another site made to resolve to this machine, as DNS
        // rebinding does; no proxy may answer for it instead.
        extra_args: vec![
            "--host-resolver-rules=MAP rebound.example 127.0.0.1".to_owned(),
            "--no-proxy-server".to_owned(),
        ],
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
    let port = console.local_addr().port();
    let outcome = async {
        browser.open(&site_url).await?;
        browser.wait_for_text("outcome:", LIMIT).await?;
        let hijack = browser.text().await?;
        browser
            .open(&format!("http://rebound.example:{port}/"))
            .await?;
        // Loaded once `open` returns: a refusal or a page, nothing to wait for.
        let rebound = browser.text().await?;
        Ok::<_, BrowserError>((hijack, rebound))
    }
    .await;
    let closed = browser.close().await;
    let (hijack, rebound) = outcome.unwrap_or_else(|e| panic!("{e}"));
    closed.expect("the session ends");

    assert!(hijack.contains("outcome: refused"), "{hijack}");
    let after = client.request_text("get-configuration").await.unwrap();
    assert_eq!(
        after.to_string(),
        before.to_string(),
        "the configuration is untouched"
    );
    assert_eq!(
        simulator.accepted_connections(),
        1,
        "the console opened no backend connection for the other site"
    );
    assert!(
        rebound.contains(&format!(
            "refused: the host 'rebound.example:{port}' is not this console's"
        )),
        "{rebound}"
    );
    assert!(!rebound.contains("DISCOS console"), "{rebound}");

    client.close().await.unwrap();
    stop_driver(driver, &profile).await;
    site_stop.cancel();
    site_task.await.unwrap().unwrap();
    console.shutdown().await;
    simulator.shutdown().await;
    remove(&scratch);
}

/// A page with what a person can and cannot use: the request field with
/// old text in it, a send button that shows what the form held and how many
/// `input` events the field had, and buttons disabled, hidden and covered.
const HANDS_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>hands</title></head><body>
<form id="form"><input id="line" value="old text"><button id="send">send</button></form>
<p id="out">nothing sent</p>
<button id="off" disabled>off</button>
<button id="hidden" style="visibility: hidden">hidden</button>
<div style="position: relative; display: inline-block">
  <button id="under">under</button>
  <div id="cover" class="modal shade" style="position: absolute; inset: 0"></div>
</div>
<script>
  let inputs = 0;
  const line = document.getElementById("line");
  line.addEventListener("input", () => { inputs += 1; });
  document.getElementById("form").addEventListener("submit", (event) => {
    event.preventDefault();
    document.getElementById("out").textContent = "sent [" + line.value + "] after " + inputs + " input event(s)";
  });
</script></body></html>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entering_replaces_the_text_and_what_a_person_could_not_use_is_said() {
    let Some(installation) = installation() else {
        return;
    };
    let scratch = scratch("browser-hands");
    let profile = scratch.join("profile");
    let (driver, webdriver) = start_driver(&installation, &scratch).await;
    let options = BrowserOptions {
        chromium: Some(installation.chromium.clone()),
        ..BrowserOptions::new(&profile)
    };
    let browser = Browser::connect(&webdriver, &options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let page = format!("data:text/html;charset=utf-8,{}", percent(HANDS_PAGE));
    let outcome = async {
        browser.open(&page).await?;
        // The old text is replaced, and the field hears it as typing.
        browser.enter("set-configuration,K2000").await?;
        browser.hit("send").await?;
        browser
            .wait_for_text(
                "sent [set-configuration,K2000] after 1 input event(s)",
                LIMIT,
            )
            .await?;
        // A key code is pressed where it stands: Enter submits the form.
        let enter = char::from(Key::Enter);
        browser.enter(&format!("get-tpi{enter}")).await?;
        browser
            .wait_for_text("sent [get-tpi] after 2 input event(s)", LIMIT)
            .await?;
        // Nothing entered leaves the field empty.
        browser.enter("").await?;
        browser.hit("send").await?;
        browser.wait_for_text("sent [] after 3", LIMIT).await?;
        let mut refusals = Vec::new();
        for name in ["off", "hidden", "under"] {
            refusals.push(browser.hit(name).await);
        }
        Ok::<_, BrowserError>(refusals)
    }
    .await;
    let closed = browser.close().await;
    let refusals = outcome.unwrap_or_else(|e| panic!("{e}"));
    closed.expect("the session ends");
    let said: Vec<String> = refusals
        .into_iter()
        .map(|refusal| match refusal {
            Err(error @ BrowserError::NotUsable { .. }) => error.to_string(),
            other => panic!("expected the button to be refused, got {other:?}"),
        })
        .collect();
    assert_eq!(
        said,
        [
            "the button \"off\" cannot be used: it is disabled",
            "the button \"hidden\" cannot be used: it is not shown",
            "the button \"under\" cannot be used: it is covered by div#cover.modal.shade",
        ]
    );
    stop_driver(driver, &profile).await;
    remove(&scratch);
}

/// `text` percent-encoded for a `data:` URL.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
