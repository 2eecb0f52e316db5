//! The HTML report in a real browser: Debian's Chromium, driven through
//! chromedriver, opens the report of a run with failing scenarios from a
//! file:// URL (no server, no network) and does what a reviewer does —
//! reads the counts, follows a failure from the index to its scenario,
//! filters by status and by tag, looks at the embedded screenshot.
//!
//! Skipped, with a line saying what to install, where Chromium or
//! chromedriver is missing; `DISCOS_REQUIRE_BROWSER=1` makes that a failure
//! instead, so CI cannot pass without really driving the browser.

use crate::browser_support::{installation, remove, scratch, start_driver, stop_driver};

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;

use discos_acceptance::acceptance::browser::BrowserOptions;
use discos_acceptance::acceptance::{self, Options, Outcome, Status};

/// Runs the report fixtures (some of which fail on purpose, one of them in
/// the browser, leaving a screenshot) and writes the HTML report to `html`.
async fn run_with_report(scratch: &Path, html: &Path) -> Outcome {
    let _turn = crate::ONE_RUN_AT_A_TIME.lock().await;
    let features = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/features/report");
    let artifacts = scratch.join("artifacts").display().to_string();
    let html = html.display().to_string();
    let options =
        Options::try_parse_from(["acceptance", "--artifacts", &artifacts, "--html", &html])
            .expect("options parse");
    acceptance::run_quietly(options, &features)
        .await
        .expect("the run starts")
}

/// The value of a script run in the page.
async fn eval(client: &Client, script: &str) -> Value {
    client
        .execute(script, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// Ids of the scenarios the page shows (not hidden by a filter).
async fn shown(client: &Client) -> Vec<String> {
    let ids = eval(
        client,
        "return Array.from(document.querySelectorAll('details.scenario'))\
           .filter(s => !s.hidden && s.offsetParent !== null).map(s => s.id);",
    )
    .await;
    serde_json::from_value(ids).expect("a list of ids")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_follows_a_failure_and_filters_by_status() {
    let started = Instant::now();
    let Some(installation) = installation() else {
        return;
    };
    let scratch = scratch("report-browser");
    let html = scratch.join("report.html");
    let outcome = run_with_report(&scratch, &html).await;
    assert!(!outcome.passed, "scenarios fail on purpose");
    let report = &outcome.report;
    let tally = report.tally();
    let (total, passed, failed, non_strict) = (
        report.scenarios().count(),
        tally.passed,
        tally.failed(),
        tally.non_strict,
    );
    assert!(
        failed >= 1 && non_strict >= 1 && passed >= 2,
        "{}",
        outcome.output
    );
    let (feature, section9) = report
        .scenarios()
        .find(|(_, s)| s.name.starts_with("Section 20 can be set"))
        .expect("the failing sections scenario ran");
    assert_eq!(section9.status(), Status::Failed);
    let section9_id = discos_acceptance::report::scenario_id(feature, section9);

    let profile = scratch.join("profile");
    let (driver, webdriver) = start_driver(&installation, &scratch).await;
    let options = BrowserOptions {
        chromium: Some(installation.chromium.clone()),
        window_size: (1280, 900),
        ..BrowserOptions::new(&profile)
    };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(options.capabilities())
        .connect(&webdriver)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", driver.output_lines().join("\n")));
    // The reviewer opens a copy of the page far from where it was written.
    let elsewhere = scratch.join("downloads/some/folder/report.html");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::copy(&html, &elsewhere).unwrap();
    let url = format!("file://{}", elsewhere.display());
    client.goto(&url).await.expect("the report opens");

    // The counts at the top are the run's.
    for (id, count) in [
        ("count-total", total),
        ("count-passed", passed),
        ("count-failed", failed),
        ("count-non-strict", non_strict),
    ] {
        assert_eq!(text_of(&client, &format!("#{id}")).await, count.to_string());
    }
    let index = client
        .find_all(Locator::Css("#failures a.failure"))
        .await
        .unwrap();
    assert_eq!(
        index.len(),
        failed + non_strict,
        "one entry per failure, non-strict ones included"
    );
    assert!(
        text_of(&client, "#verdict")
            .await
            .starts_with("DISCOS cannot drive this backend: MUST set-section failed in "),
        "the verdict comes first"
    );
    assert!(
        text_of(&client, "#shown")
            .await
            .contains(&format!("{total} of {total}"))
    );

    // The reviewer folds the failed scenario away and shows passed ones
    // only: it is hidden.
    client
        .find(Locator::Css(&format!("#{section9_id} > summary")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let open = format!("return document.getElementById('{section9_id}').open;");
    assert_eq!(eval(&client, &open).await, Value::Bool(false));
    client
        .find(Locator::Css(".filters button[data-status='passed']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let visible = shown(&client).await;
    assert_eq!(visible.len(), passed, "{visible:?}");
    assert!(!visible.contains(&section9_id));
    assert_eq!(
        text_of(&client, "#shown").await,
        format!("{passed} of {total} scenario(s) shown")
    );

    // The failure's link in the index brings it back, open, in view.
    let mut link = None;
    for candidate in index {
        if candidate
            .text()
            .await
            .unwrap()
            .contains("Section 20 can be set")
        {
            link = Some(candidate);
        }
    }
    let link = link.expect("the index lists the failing sections scenario");
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some(format!("#{section9_id}").as_str())
    );
    client
        .execute("window.scrollTo(0, 0);", Vec::new())
        .await
        .unwrap();
    link.click().await.unwrap();
    let current = client.current_url().await.unwrap();
    assert_eq!(current.fragment(), Some(section9_id.as_str()));
    assert_eq!(eval(&client, &open).await, Value::Bool(true));
    assert!(shown(&client).await.contains(&section9_id));
    // Scrolled to, its top is at the top of the window, give or take the
    // fraction of a pixel that layout rounding leaves.
    let in_view = format!(
        "const r = document.getElementById('{section9_id}').getBoundingClientRect();\
         return r.top > -1 && r.top < window.innerHeight;"
    );
    assert_eq!(eval(&client, &in_view).await, Value::Bool(true));
    let message = text_of(&client, &format!("#{section9_id} .message")).await;
    assert!(!message.is_empty(), "the failed step's message is shown");

    // A clause the failure names opens the contract the page carries, at
    // that clause.
    client
        .execute("window.scrollTo(0, 0);", Vec::new())
        .await
        .unwrap();
    let clause = client
        .find(Locator::Css("#failures a.clause"))
        .await
        .expect("a failure names a clause of the contract");
    let href = clause.attr("href").await.unwrap().unwrap_or_default();
    let anchor = clause.text().await.unwrap();
    assert!(href.starts_with("#c-"), "{href}");
    clause.click().await.unwrap();
    let current = client.current_url().await.unwrap();
    assert_eq!(
        current.path(),
        url::Url::parse(&url).unwrap().path(),
        "still this page"
    );
    let id = current.fragment().unwrap_or_default().to_owned();
    assert_eq!(format!("#{id}"), href);
    let heading = format!(
        "const h = document.getElementById('{id}');\
         if (!h) return null;\
         const r = h.getBoundingClientRect();\
         return [/^H[1-6]$/.test(h.tagName), h.closest('#contract') !== null,\
                 r.top > -1 && r.top < window.innerHeight];"
    );
    assert_eq!(
        eval(&client, &heading).await,
        serde_json::json!([true, true, true]),
        "{anchor} opens at its heading, in the contract, in view"
    );
    assert!(
        anchor.ends_with(id.trim_start_matches("c-")),
        "the link says which clause: {anchor}"
    );

    // Failed only: exactly the failures of the index.
    client
        .find(Locator::Css(".filters button[data-status='failed']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let visible = shown(&client).await;
    assert_eq!(visible.len(), failed, "{visible:?}");
    assert!(visible.contains(&section9_id));
    let pressed = eval(
        &client,
        "return document.querySelector(\".filters button[data-status='failed']\")\
           .getAttribute('aria-pressed');",
    )
    .await;
    assert_eq!(pressed, Value::String("true".into()));

    // Non-strict only: the scenario whose SHOULD failed.
    client
        .find(Locator::Css(".filters button[data-status='non-strict']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let visible = shown(&client).await;
    assert_eq!(visible.len(), non_strict, "{visible:?}");
    assert!(!visible.contains(&section9_id));

    // A tag, from the by-tag table: its scenarios, whatever their status.
    let tagged = report
        .scenarios()
        .filter(|(_, s)| s.tags.iter().any(|t| t == "clients"))
        .count();
    client
        .find(Locator::Css("#by-tag button[data-tag='clients']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(shown(&client).await.len(), tagged);

    // The browser's screenshot is in the page itself, and decodes.
    let screenshot = eval(
        &client,
        "const img = document.querySelector('figure img');\
         return img ? [img.src.slice(0, 22), img.naturalWidth] : null;",
    )
    .await;
    let png = client.screenshot().await;
    let closed = client.close().await;
    assert_eq!(
        screenshot[0], "data:image/png;base64,",
        "the failed browser scenario's screenshot is embedded: {screenshot}"
    );
    assert!(
        screenshot[1].as_u64() > Some(0),
        "and it decodes: {screenshot}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("src=\"http"), "nothing is fetched");
    // Kept for a person to look at what the browser saw.
    if let Ok(png) = png {
        let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_browser.png");
        if let Err(e) = std::fs::write(&shot, png) {
            eprintln!("cannot keep the screenshot at {}: {e}", shot.display());
        }
    }
    closed.expect("the session ends");

    stop_driver(driver, &profile).await;
    remove(&scratch);
    eprintln!("report browser test took {:.2?}", started.elapsed());
}
