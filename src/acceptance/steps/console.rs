//! Steps of a user at the web console, in a real browser.

use std::time::Duration;

use cucumber::{given, then, when};

use crate::acceptance::DiscosWorld;
use crate::acceptance::web::{save_page, suffixed};
use crate::acceptance::world::DEFAULT_USER;
use crate::report::artifact_stem;

/// How long a user waits for the page to show something.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// Opens the web console, served in front of the backend, in a real
/// headless Chromium with a fresh profile for the user; the first such
/// step of a scenario starts the console and the WebDriver.
#[given("the user opens the console")]
#[when("the user opens the console")]
async fn the_user_opens_the_console(world: &mut DiscosWorld) {
    world.open_console(&[DEFAULT_USER]).await;
}

/// Opens the web console for two users by these names, each in a
/// Chromium of their own with a fresh profile.
#[given(expr = "the users {string} and {string} open the console")]
async fn two_users_open_the_console(world: &mut DiscosWorld, a: String, b: String) {
    world.open_console(&[&a, &b]).await;
}

/// Opens the web console for the user named in quotes, in a Chromium of
/// their own with a fresh profile.
#[given(expr = "{string} opens the console")]
#[when(expr = "{string} opens the console")]
async fn user_opens_the_console(world: &mut DiscosWorld, user: String) {
    world.open_console(&[&user]).await;
}

/// Types the line into the console's input, as a person would (the `?`
/// may be left out).
#[when(expr = "the user enters {string}")]
async fn the_user_enters(world: &mut DiscosWorld, line: String) {
    enters(world, DEFAULT_USER, &line).await;
}

/// The named user types the line into their console's input.
#[when(expr = "{string} enters {string}")]
async fn user_enters(world: &mut DiscosWorld, user: String, line: String) {
    enters(world, &user, &line).await;
}

async fn enters(world: &mut DiscosWorld, user: &str, line: &str) {
    if let Err(error) = world.browser(user).enter(line).await {
        world.fail_in_browser(user, error);
    }
}

/// Presses the page's button with this label (`send`).
#[when(expr = "the user hits {string}")]
async fn the_user_hits(world: &mut DiscosWorld, button: String) {
    hits(world, DEFAULT_USER, &button).await;
}

/// The named user presses their page's button with this label.
#[when(expr = "{string} hits {string}")]
async fn user_hits(world: &mut DiscosWorld, user: String, button: String) {
    hits(world, &user, &button).await;
}

async fn hits(world: &mut DiscosWorld, user: &str, button: &str) {
    if let Err(error) = world.browser(user).hit(button).await {
        world.fail_in_browser(user, error);
    }
}

/// Waits, up to 10 seconds, until the named user's page shows this text.
#[then(expr = "{string} sees {string}")]
async fn user_sees(world: &mut DiscosWorld, user: String, text: String) {
    sees(world, &user, &text).await;
}

/// Waits, bounded, until `user`'s page shows `text`.
pub(crate) async fn sees(world: &mut DiscosWorld, user: &str, text: &str) {
    if let Err(error) = world.browser(user).wait_for_text(text, PATIENCE).await {
        world.fail_in_browser(user, error);
    }
}

/// Waits, up to 10 seconds, until the page's transcript shows this many
/// exchanges (a request and its reply each), and checks it shows no more.
#[then(expr = "the page shows {int} exchange(s)")]
async fn the_page_shows_exchanges(world: &mut DiscosWorld, expected: usize) {
    page_shows(world, DEFAULT_USER, expected).await;
}

/// Waits, up to 10 seconds, until the named user's page shows this many
/// exchanges, and checks it shows no more.
#[then(expr = "the page of {string} shows {int} exchange(s)")]
async fn the_page_of_shows_exchanges(world: &mut DiscosWorld, user: String, expected: usize) {
    page_shows(world, &user, expected).await;
}

async fn page_shows(world: &mut DiscosWorld, user: &str, expected: usize) {
    let browser = world.browser(user);
    // Replies arrive as they happen: wait for the expected count, then check
    // that no more than that is shown.
    let shown = match browser.wait_for_exchanges(expected, PATIENCE).await {
        Ok(shown) => shown,
        Err(error) => world.fail_in_browser(user, error),
    };
    if shown != expected {
        world.fail_in_browser(
            user,
            format!("expected the page to show {expected} exchange(s), but it shows {shown}"),
        );
    }
}

/// Saves a screenshot and the HTML of the user's page under this name,
/// beside those of failed steps (`--artifacts`), linked from the HTML
/// report.
#[when(expr = "the user takes a screenshot {string}")]
#[then(expr = "the user takes a screenshot {string}")]
async fn the_user_takes_a_screenshot(world: &mut DiscosWorld, name: String) {
    let stem = artifact_stem(&world.settings.artifacts, &world.feature, &world.scenario);
    let stem = suffixed(&stem, &name);
    if let Err(error) = save_page(world.browser(DEFAULT_USER), &stem).await {
        world.fail(format!("cannot save the screenshot \"{name}\": {error:#}"));
    }
}
