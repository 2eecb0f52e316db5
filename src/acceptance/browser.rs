//! A real browser, driven through WebDriver, for scenarios that speak of a
//! user: "the user enters a line, hits send and sees the answer".
//!
//! A thin layer over [fantoccini]: the steps say what a person does
//! ([`Browser::enter`], [`Browser::hit`], [`Browser::wait_for_text`]) and
//! this module turns it into WebDriver commands against the console page.
//! Errors name what was attempted and, for waits, what the page showed
//! instead, because "element not found" alone does not help a reviewer.
//!
//! It speaks plain HTTP to the WebDriver endpoint (a local chromedriver or a
//! Selenium Grid on the LAN), so no TLS stack is compiled in.
//!
//! A session is had in one of two ways. Through a remote endpoint, the
//! driver starts the browser from [`BrowserOptions::capabilities`]
//! ([`Browser::connect`]). On this machine, the browser is started as a
//! process of ours from [`BrowserOptions::command_line`], so that it can be
//! started ahead of need and torn down with its whole process group, and the
//! driver attaches to it through its DevTools port ([`Browser::attach`]).
//!
//! [`Installation`] finds Debian's `chromium`, its `chromium-headless-shell`
//! and `chromedriver`; [`processes_mentioning`] lets teardown prove no
//! browser process outlived its scenario, by its unique `--user-data-dir`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::ClientBuilder;
use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions, PointerAction,
};
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, NewSessionError};
use fantoccini::key::Key;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::system::processes;

use crate::poll::{Pace, Poller};

/// What to install when the browser is missing, in one line a skipped
/// scenario can print.
pub const INSTALL_HINT: &str = "install Chromium and its WebDriver: apt-get install chromium chromium-driver (and chromium-headless-shell, for faster headless runs)";

/// Set to the path or name of a browser program, headless runs use it
/// instead of the headless shell: to see a scenario in the full Chromium.
pub const BROWSER_ENV: &str = "DISCOS_BROWSER";

/// Switches for every browser of ours: no sandbox (root in containers), no
/// GPU, nothing that phones home or updates itself mid-run, shared memory in
/// the temporary directory (a container's `/dev/shm` is small).
const SWITCHES: [&str; 7] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
];

/// What chromedriver passes to a browser it starts itself, given to one it
/// attaches to instead: the page must behave the same either way (automation
/// flag in `navigator.webdriver`, no pop-up blocking, no throttled timers).
const AS_CHROMEDRIVER_DOES: [&str; 14] = [
    "--allow-pre-commit-input",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-hang-monitor",
    "--disable-popup-blocking",
    "--disable-prompt-on-repost",
    "--enable-automation",
    "--no-service-autorun",
    "--password-store=basic",
    "--use-mock-keychain",
    "--test-type=webdriver",
    "--disable-features=IgnoreDuplicateNavs,Prewarm",
];

/// The line on stderr with which a browser started with
/// `--remote-debugging-port=0` announces where its DevTools listen.
pub const DEVTOOLS_BANNER: &str = r"^DevTools listening on ws://127\.0\.0\.1:[0-9]+/";

/// How often waits look at the page again: fast enough that a scenario does
/// not dawdle, slow enough not to flood the driver.
const POLL: Duration = Duration::from_millis(10);

/// The most page text an error quotes.
const QUOTE: usize = 600;

/// What went wrong driving the browser.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// The WebDriver endpoint could not start a browser session.
    #[error("cannot open a browser session through {webdriver}: {source}")]
    Session {
        /// The WebDriver endpoint.
        webdriver: String,
        /// What fantoccini reported.
        source: NewSessionError,
    },
    /// A WebDriver command failed.
    #[error("the browser could not {action}: {source}")]
    Command {
        /// What was attempted, e.g. "open http://127.0.0.1:8080/".
        action: String,
        /// What fantoccini reported.
        source: CmdError,
    },
    /// A wait ran out.
    #[error("waited {after:?} for {waiting_for}; the page shows:\n{}", as_lines(.page_text))]
    Timeout {
        /// What was awaited.
        waiting_for: String,
        /// How long.
        after: Duration,
        /// The page's visible text when the wait gave up (shortened).
        page_text: String,
    },
    /// No button answers to the name.
    #[error("no button with id or text {name:?} on the page; buttons there: {buttons:?}")]
    NoButton {
        /// The name asked for.
        name: String,
        /// The ids or texts of the buttons present.
        buttons: Vec<String>,
    },
    /// The element is there, but a person could not use it.
    #[error("{what} cannot be used: {why}")]
    NotUsable {
        /// The element, e.g. `the button "send"`.
        what: String,
        /// Why not: hidden, disabled, or covered by another element.
        why: String,
    },
    /// A script gave back something of the wrong shape.
    #[error("the page answered {asked} with {got}")]
    Unexpected {
        /// What was asked.
        asked: String,
        /// What came back.
        got: String,
    },
}

/// How to start the browser.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// A fresh directory for the browser's profile; unique per scenario, so
    /// that teardown can find the browser's processes by it.
    pub user_data_dir: PathBuf,
    /// No window: what CI and most runs want.
    pub headless: bool,
    /// The Chromium binary, on the WebDriver endpoint's machine; `None` lets
    /// the driver pick (right for a remote grid).
    pub chromium: Option<PathBuf>,
    /// Window size in pixels, which is also the size of screenshots.
    pub window_size: (u32, u32),
    /// More command-line switches for Chromium.
    pub extra_args: Vec<String>,
}

impl BrowserOptions {
    /// Headless Chromium from this machine's [`Installation`] (when found),
    /// with its profile in `user_data_dir`.
    pub fn new(user_data_dir: impl Into<PathBuf>) -> BrowserOptions {
        BrowserOptions {
            user_data_dir: user_data_dir.into(),
            headless: true,
            chromium: Installation::find().ok().map(|found| found.chromium),
            window_size: (1024, 768),
            extra_args: Vec::new(),
        }
    }

    fn switches(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.headless {
            args.push("--headless".to_owned());
        }
        args.extend(SWITCHES.map(str::to_owned));
        args.push(format!("--user-data-dir={}", self.user_data_dir.display()));
        args.push(format!(
            "--window-size={},{}",
            self.window_size.0, self.window_size.1
        ));
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// The WebDriver capabilities for a driver that starts the browser
    /// itself (a remote endpoint).
    pub fn capabilities(&self) -> Capabilities {
        let args = self.switches();
        let mut chrome = json!({ "args": args });
        if let Some(binary) = &self.chromium {
            chrome["binary"] = Value::String(binary.display().to_string());
        }
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".to_owned(), chrome);
        capabilities
    }

    /// The command line that starts `program` as these options say, with
    /// what chromedriver would add, its DevTools on a port it picks and
    /// announces ([`DEVTOOLS_BANNER`]), and a blank page for the driver to
    /// attach to ([`Browser::attach`]).
    pub fn command_line(&self, program: &Path) -> Vec<String> {
        let mut argv = vec![program.display().to_string()];
        argv.extend(self.switches());
        argv.extend(AS_CHROMEDRIVER_DOES.map(str::to_owned));
        argv.push("--remote-debugging-port=0".to_owned());
        argv.push("about:blank".to_owned());
        argv
    }
}

/// The DevTools address (`127.0.0.1:PORT`) in a browser's
/// [`DEVTOOLS_BANNER`] line, if one of `lines` is that line.
pub fn devtools_address(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|line| {
        let rest = line.strip_prefix("DevTools listening on ws://")?;
        let address = rest.split('/').next()?;
        address
            .rsplit_once(':')
            .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
            .then(|| address.to_owned())
    })
}

/// One browser session showing one page at a time.
#[derive(Debug)]
pub struct Browser {
    client: fantoccini::Client,
    webdriver: String,
    /// Whether the driver takes DevTools commands; see [`Browser::enter`].
    devtools: std::sync::OnceLock<bool>,
}

impl Browser {
    /// Opens a browser session through the WebDriver endpoint at
    /// `webdriver` (e.g. `http://127.0.0.1:9515`).
    pub async fn connect(
        webdriver: &str,
        options: &BrowserOptions,
    ) -> Result<Browser, BrowserError> {
        Browser::session(webdriver, options.capabilities()).await
    }

    /// Opens a session through `webdriver` on a browser that is already
    /// running, reached at its DevTools address `devtools` (`host:port`):
    /// the driver neither starts nor, at [`Browser::close`], stops it.
    pub async fn attach(webdriver: &str, devtools: &str) -> Result<Browser, BrowserError> {
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "debuggerAddress": devtools }),
        );
        Browser::session(webdriver, capabilities).await
    }

    /// A WebDriver session asking for `capabilities`.
    async fn session(webdriver: &str, capabilities: Capabilities) -> Result<Browser, BrowserError> {
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(webdriver)
            .await
            .map_err(|source| BrowserError::Session {
                webdriver: webdriver.to_owned(),
                source,
            })?;
        Ok(Browser {
            client,
            webdriver: webdriver.to_owned(),
            devtools: std::sync::OnceLock::new(),
        })
    }

    /// The WebDriver endpoint this session runs on.
    pub fn webdriver(&self) -> &str {
        &self.webdriver
    }

    /// Loads `url` and waits until the page has loaded.
    pub async fn open(&self, url: &str) -> Result<(), BrowserError> {
        self.client
            .goto(url)
            .await
            .map_err(command(format!("open {url}")))
    }

    /// Enters `text` into the console's request field (`#line`), replacing
    /// what was there, as Playwright's `fill` does: the field is checked to
    /// be one a person could type into, focused and its text selected, and
    /// the text goes in through the browser's own editing (DevTools'
    /// `Input.insertText`, the path of a paste or an input method), so the
    /// page sees the `beforeinput` and `input` events of typing. Key by key
    /// would cost a round trip a character and tell the console nothing
    /// more: it listens to its form, not to keys. WebDriver's key codes in
    /// `text` ([`Key`], e.g. Enter) are pressed where they stand. A driver
    /// without DevTools commands (not Chrome's) gets WebDriver's own key
    /// presses for all of it.
    pub async fn enter(&self, text: &str) -> Result<(), BrowserError> {
        let action = || format!("type {text:?} into the request field #line");
        let field = self
            .actionable(
                FOCUS_FIELD,
                "line",
                || "the request field #line".to_owned(),
                action,
            )
            .await?;
        if !self.takes_devtools().await.map_err(command(action()))? {
            field.clear().await.map_err(command(action()))?;
            return field.send_keys(text).await.map_err(command(action()));
        }
        let pieces = pieces(text);
        if !matches!(pieces.first(), Some(Piece::Text(_))) {
            // Nothing inserted first to replace the selection: delete it,
            // as a person would.
            self.press(&[Key::Backspace.into()])
                .await
                .map_err(command(action()))?;
        }
        for piece in pieces {
            match piece {
                Piece::Text(text) => self
                    .client
                    .issue_cmd(DevTools::new("Input.insertText", json!({ "text": text })))
                    .await
                    .map(drop),
                Piece::Keys(keys) => self.press(&keys).await,
            }
            .map_err(command(action()))?;
        }
        Ok(())
    }

    /// Whether the driver takes DevTools commands, asked once a session
    /// with one that changes nothing.
    async fn takes_devtools(&self) -> Result<bool, CmdError> {
        if let Some(known) = self.devtools.get() {
            return Ok(*known);
        }
        let probe = DevTools::new("Browser.getVersion", json!({}));
        let takes = match self.client.issue_cmd(probe).await {
            Ok(_) => true,
            Err(error) if error.is_unknown_command() || error.is_unknown_method() => false,
            Err(error) => return Err(error),
        };
        Ok(*self.devtools.get_or_init(|| takes))
    }

    /// Presses and releases each of `keys` in turn, in one request.
    async fn press(&self, keys: &[char]) -> Result<(), CmdError> {
        let presses = keys
            .iter()
            .fold(KeyActions::new("keyboard".to_owned()), |presses, &key| {
                presses
                    .then(KeyAction::Down { value: key })
                    .then(KeyAction::Up { value: key })
            });
        self.client.perform_actions(presses).await
    }

    /// Clicks the button whose id or visible text is `name` ("send"), as a
    /// person would: one script finds it, scrolls it into view and checks it
    /// could be clicked (shown, enabled, not covered), then a mouse press and
    /// release at its centre go through WebDriver's input actions — a real
    /// click, without the element click's own checks, which cost
    /// chromedriver 50–100 ms a click here and say less when they fail.
    pub async fn hit(&self, name: &str) -> Result<(), BrowserError> {
        let action = || format!("click the button {name:?}");
        let button = self
            .actionable(FIND_BUTTON, name, || format!("the button {name:?}"), action)
            .await?;
        let click = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element: button,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client
            .perform_actions(click)
            .await
            .map_err(command(action()))
    }

    /// Runs `script` (one of [`FOCUS_FIELD`], [`FIND_BUTTON`]) on `wanted`
    /// and hands back the element it found ready for a person's hand, or
    /// says why there is none: missing (with the page's buttons, for a
    /// button), or shown but not usable.
    async fn actionable(
        &self,
        script: &str,
        wanted: &str,
        what: impl Fn() -> String,
        action: impl Fn() -> String,
    ) -> Result<Element, BrowserError> {
        let found = self
            .client
            .execute(&format!("{ACTIONABLE}{script}"), vec![json!(wanted)])
            .await
            .map_err(command(action()))?;
        if let Some(id) = found["element"][WEB_ELEMENT].as_str() {
            return Ok(Element::from_element_id(
                self.client.clone(),
                id.to_owned().into(),
            ));
        }
        if let Some(why) = found["refused"].as_str() {
            return Err(BrowserError::NotUsable {
                what: what(),
                why: why.to_owned(),
            });
        }
        match serde_json::from_value::<Vec<String>>(found["seen"].clone()) {
            Ok(buttons) if script == FIND_BUTTON => Err(BrowserError::NoButton {
                name: wanted.to_owned(),
                buttons,
            }),
            Ok(_) => Err(BrowserError::NotUsable {
                what: what(),
                why: "the page has no such element".to_owned(),
            }),
            Err(_) => Err(unexpected(&what(), &found)),
        }
    }

    /// The page's visible text.
    pub async fn text(&self) -> Result<String, BrowserError> {
        let value = self
            .script(
                "return document.body ? document.body.innerText : '';",
                "read the page's text",
            )
            .await?;
        match value {
            Value::String(text) => Ok(text),
            other => Err(unexpected("its text", &other)),
        }
    }

    /// Waits until the page shows `text`; bounded, because a reply that
    /// never comes must fail the scenario, not hang it.
    pub async fn wait_for_text(&self, text: &str, timeout: Duration) -> Result<(), BrowserError> {
        // WebDriver has no page events: look again.
        let mut poller = Poller::within(timeout, Pace::every(POLL));
        loop {
            let page = self.text().await?;
            if page.contains(text) {
                return Ok(());
            }
            if !poller.pause().await {
                return Err(BrowserError::Timeout {
                    waiting_for: format!("the page to show {text:?}"),
                    after: timeout,
                    page_text: shorten(&page),
                });
            }
        }
    }

    /// Exchanges the transcript shows complete: a request with its reply.
    pub async fn exchanges(&self) -> Result<usize, BrowserError> {
        let value = self
            .script(
                "return document.querySelectorAll('#transcript li.exchange .reply[data-code]').length;",
                "count the exchanges",
            )
            .await?;
        value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| unexpected("the count of exchanges", &value))
    }

    /// Waits until at least `n` exchanges are complete and returns how many
    /// there are then, for the caller to compare.
    pub async fn wait_for_exchanges(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<usize, BrowserError> {
        // WebDriver has no page events: look again.
        let mut poller = Poller::within(timeout, Pace::every(POLL));
        loop {
            let count = self.exchanges().await?;
            if count >= n {
                return Ok(count);
            }
            if !poller.pause().await {
                return Err(BrowserError::Timeout {
                    waiting_for: format!("{n} exchanges (saw {count})"),
                    after: timeout,
                    page_text: shorten(&self.text().await.unwrap_or_default()),
                });
            }
        }
    }

    /// The console's connection state (`connecting`, `connected`, `closed`)
    /// and the text shown with it.
    pub async fn status(&self) -> Result<(String, String), BrowserError> {
        let value = self
            .script(
                "const s = document.getElementById('status'); \
                 return s ? [s.dataset.state || '', s.textContent] : null;",
                "read the status #status",
            )
            .await?;
        match value.as_array().map(Vec::as_slice) {
            Some([Value::String(state), Value::String(text)]) => Ok((state.clone(), text.clone())),
            _ => Err(unexpected("the status #status", &value)),
        }
    }

    /// What the browser shows now, as PNG.
    pub async fn screenshot(&self) -> Result<Vec<u8>, BrowserError> {
        self.client
            .screenshot()
            .await
            .map_err(command("take a screenshot".to_owned()))
    }

    /// The page's current DOM, serialised.
    pub async fn page_html(&self) -> Result<String, BrowserError> {
        self.client
            .source()
            .await
            .map_err(command("read the page's HTML".to_owned()))
    }

    /// Ends the session: the driver closes the browser and its processes.
    pub async fn close(self) -> Result<(), BrowserError> {
        self.client
            .close()
            .await
            .map_err(command("end the browser session".to_owned()))
    }

    async fn script(&self, script: &str, action: &str) -> Result<Value, BrowserError> {
        self.client
            .execute(script, Vec::new())
            .await
            .map_err(command(action.to_owned()))
    }
}

fn command(action: String) -> impl FnOnce(CmdError) -> BrowserError {
    move |source| BrowserError::Command { action, source }
}

/// The key under which WebDriver hands a script's element back (the W3C
/// web element identifier).
const WEB_ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What a person's hand needs of an element, in the page: `usable(el)` is
/// `null` when it is shown, enabled and on top at its centre (scrolled into
/// view first), else why not.
const ACTIONABLE: &str = "const describe = e => e ? e.tagName.toLowerCase() \
       + (e.id ? '#' + e.id : '') \
       + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '') \
       : 'nothing';\
     const usable = e => {\
       if (e.disabled) return 'it is disabled';\
       e.scrollIntoView({ block: 'center', inline: 'center' });\
       const box = e.getBoundingClientRect();\
       const style = getComputedStyle(e);\
       if (box.width === 0 || box.height === 0 || style.visibility !== 'visible') return 'it is not shown';\
       const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);\
       if (top !== e && !e.contains(top)) return 'it is covered by ' + describe(top);\
       return null;\
     };";

/// The button whose id, text or value is `arguments[0]`, if usable.
const FIND_BUTTON: &str = "const wanted = arguments[0];\
     const buttons = Array.from(document.querySelectorAll(\
       'button, input[type=submit], input[type=button]'));\
     const text = b => (b.innerText || '').trim();\
     const found = buttons.find(b => [b.id, text(b), b.value || ''].includes(wanted));\
     if (!found) return { seen: buttons.map(b => b.id || text(b)) };\
     const why = usable(found);\
     return why ? { refused: why } : { element: found };";

/// The field with id `arguments[0]`, if usable and not read-only, focused
/// with its text selected, so that what is entered replaces it.
const FOCUS_FIELD: &str = "const field = document.getElementById(arguments[0]);\
     if (!field) return { seen: [] };\
     const why = field.readOnly ? 'it is read-only' : usable(field);\
     if (why) return { refused: why };\
     field.focus();\
     if (field.select) field.select();\
     return document.activeElement === field ? { element: field } : { refused: 'it does not take the focus' };";

/// Text to insert, or WebDriver key codes to press, in the order they came.
#[derive(Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Keys(Vec<char>),
}

/// `text` cut where WebDriver's key codes (the private-use characters
/// U+E000 to U+E05D, [`Key`]) begin and end.
fn pieces(text: &str) -> Vec<Piece> {
    let is_key = |c: char| ('\u{E000}'..='\u{E05D}').contains(&c);
    let mut pieces: Vec<Piece> = Vec::new();
    for c in text.chars() {
        match (pieces.last_mut(), is_key(c)) {
            (Some(Piece::Keys(keys)), true) => keys.push(c),
            (Some(Piece::Text(text)), false) => text.push(c),
            (_, true) => pieces.push(Piece::Keys(vec![c])),
            (_, false) => pieces.push(Piece::Text(c.to_string())),
        }
    }
    pieces
}

/// A DevTools command through chromedriver's `goog/cdp/execute`, such as
/// `Input.insertText`: the text a paste or an input method would insert at
/// the caret.
#[derive(Debug)]
struct DevTools {
    command: &'static str,
    params: Value,
}

impl DevTools {
    fn new(command: &'static str, params: Value) -> DevTools {
        DevTools { command, params }
    }
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

fn unexpected(asked: &str, got: &Value) -> BrowserError {
    BrowserError::Unexpected {
        asked: asked.to_owned(),
        got: shorten(&got.to_string()),
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(QUOTE) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Chromium and its WebDriver as installed on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// The browser.
    pub chromium: PathBuf,
    /// The WebDriver server for it.
    pub chromedriver: PathBuf,
    /// The same engine without a window at all (Debian's
    /// `chromium-headless-shell`, what Playwright runs headless): it starts
    /// in a third of the time and a tenth of the CPU, so headless runs use
    /// it where it is installed, unless [`BROWSER_ENV`] names another.
    pub headless_shell: Option<PathBuf>,
    /// The program [`BROWSER_ENV`] names, found.
    pub chosen: Option<PathBuf>,
}

/// The browser, its driver or both are not installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} not found on PATH; {INSTALL_HINT}", missing.join(" and "))]
pub struct NotInstalled {
    /// What is missing: `chromium`, `chromedriver`, or the program
    /// [`BROWSER_ENV`] names.
    pub missing: Vec<String>,
}

impl Installation {
    /// Looks for Debian's `chromium` and `chromedriver` (both needed) and
    /// `chromium-headless-shell` (used where present), on PATH and where
    /// Debian puts them, and for the program [`BROWSER_ENV`] names.
    pub fn find() -> Result<Installation, NotInstalled> {
        let chromium = find_program(&["chromium", "chromium-browser", "/usr/bin/chromium"]);
        let chromedriver = find_program(&[
            "chromedriver",
            "/usr/bin/chromedriver",
            "/usr/lib/chromium/chromedriver",
        ]);
        // The program itself, not Debian's shell wrapper around it: one
        // process less to start, and the browser leads its process group.
        let headless_shell = find_program(&[
            "/usr/lib/chromium/chromium-headless-shell",
            "chromium-headless-shell",
            "chrome-headless-shell",
        ]);
        let chosen = match std::env::var(BROWSER_ENV) {
            Ok(name) if !name.is_empty() => {
                Some(find_program(&[&name]).ok_or_else(|| NotInstalled {
                    missing: vec![format!("{name} (named by {BROWSER_ENV})")],
                })?)
            }
            _ => None,
        };
        match (chromium, chromedriver) {
            (Some(chromium), Some(chromedriver)) => Ok(Installation {
                chromium,
                chromedriver,
                headless_shell,
                chosen,
            }),
            (chromium, chromedriver) => Err(NotInstalled {
                missing: [
                    chromium.is_none().then_some("chromium"),
                    chromedriver.is_none().then_some("chromedriver"),
                ]
                .into_iter()
                .flatten()
                .map(str::to_owned)
                .collect(),
            }),
        }
    }
}

impl Installation {
    /// The program a browser is started from: the one [`BROWSER_ENV`]
    /// names, else the headless shell for a headless browser where it is
    /// installed, else Chromium.
    pub fn browser(&self, headless: bool) -> &Path {
        match (&self.chosen, &self.headless_shell) {
            (Some(chosen), _) => chosen,
            (None, Some(shell)) if headless => shell,
            _ => &self.chromium,
        }
    }
}

/// The first of `names` that is installed: a path as it is, a bare name
/// looked up on PATH.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    names
        .iter()
        .find_map(|name| crate::system::find_program(name))
}

/// Processes (other than this one) whose command line contains `text`, as
/// (pid, command line with spaces between arguments): how teardown proves
/// that no browser process outlived its scenario, by the scenario's unique
/// user-data-dir. Processes that end while being read are skipped, and so
/// are zombies (their command line is empty): they are dead, and those of a
/// browser are reaped by init, not by the scenario.
pub fn processes_mentioning(text: &str) -> Vec<(u32, String)> {
    let own = std::process::id();
    let mut found: Vec<(u32, String)> = processes::pids()
        .into_iter()
        .filter(|&pid| pid != own)
        .filter_map(|pid| {
            let line = processes::cmdline(pid)?;
            line.contains(text).then_some((pid, line))
        })
        .collect();
    found.sort();
    found
}

/// A page's text as lines a person reads, indented under the message,
/// instead of one quoted string of `\n`s.
fn as_lines(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_carry_the_switches_chromium_needs_here() {
        let mut options = BrowserOptions::new("/tmp/profile-x");
        options.chromium = Some(PathBuf::from("/usr/bin/chromium"));
        let capabilities = options.capabilities();
        let chrome = &capabilities["goog:chromeOptions"];
        let args: Vec<&str> = chrome["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        for needed in [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--user-data-dir=/tmp/profile-x",
        ] {
            assert!(args.contains(&needed), "{needed} missing from {args:?}");
        }
        assert_eq!(chrome["binary"], "/usr/bin/chromium");
        options.headless = false;
        options.chromium = None;
        let capabilities = options.capabilities();
        assert!(capabilities["goog:chromeOptions"].get("binary").is_none());
        assert!(
            !capabilities["goog:chromeOptions"]["args"]
                .as_array()
                .unwrap()
                .contains(&json!("--headless"))
        );
    }

    #[test]
    fn missing_programs_are_named_with_what_to_install() {
        let error = NotInstalled {
            missing: vec!["chromium".to_owned(), "chromedriver".to_owned()],
        };
        let text = error.to_string();
        assert!(
            text.contains("chromium and chromedriver not found"),
            "{text}"
        );
        assert!(
            text.contains("apt-get install chromium chromium-driver"),
            "{text}"
        );
        assert!(find_program(&["surely-not-a-program-here", "/nonexistent/x"]).is_none());
        assert_eq!(
            find_program(&["sh"]).is_some(),
            Path::new("/bin/sh").exists()
        );
    }

    #[test]
    fn processes_are_found_by_their_command_line() {
        let marker = format!("discos-marker-{}", std::process::id());
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .arg0_marker(&marker)
            .spawn()
            .expect("sleep runs");
        // The child's command line shows once the kernel has switched it to
        // the new program; wait for that, bounded.
        let mut poller = Poller::within(
            Duration::from_secs(5),
            Pace::every(Duration::from_millis(5)),
        );
        let mut found = processes_mentioning(&marker);
        while found.is_empty() && poller.pause_blocking() {
            found = processes_mentioning(&marker); // /proc has no events: look again
        }
        child.kill().ok();
        child.wait().ok();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, child.id());
        assert!(processes_mentioning(&marker).is_empty());
    }

    trait Arg0Marker {
        fn arg0_marker(&mut self, marker: &str) -> &mut Self;
    }

    impl Arg0Marker for std::process::Command {
        fn arg0_marker(&mut self, marker: &str) -> &mut Self {
            use std::os::unix::process::CommandExt;
            self.arg0(format!("sleep-{marker}"))
        }
    }

    #[test]
    fn text_is_cut_where_key_codes_begin_and_end() {
        let enter = char::from(Key::Enter);
        let tab = char::from(Key::Tab);
        assert_eq!(pieces(""), Vec::new());
        assert_eq!(pieces("version"), vec![Piece::Text("version".to_owned())]);
        assert_eq!(
            pieces(&format!("get-tpi{enter}{tab}é{enter}")),
            vec![
                Piece::Text("get-tpi".to_owned()),
                Piece::Keys(vec![enter, tab]),
                Piece::Text("é".to_owned()),
                Piece::Keys(vec![enter]),
            ]
        );
    }

    #[test]
    fn long_text_is_shortened() {
        assert_eq!(shorten("abc"), "abc");
        let long = "é".repeat(QUOTE + 5);
        assert_eq!(shorten(&long).chars().count(), QUOTE + 1);
    }
}
