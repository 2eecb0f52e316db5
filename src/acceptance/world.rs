//! The World: everything one scenario has made, as plain data.
//!
//! A scenario gets a fresh World; steps fill it (a backend, clients, their
//! replies) and the after hook tears it down and checks nothing leaked. The
//! helpers here keep steps small: each step reads as its sentence and leaves
//! the mechanics to a method.
//!
//! # `send` or `ask`: which reply later steps check
//!
//! A step that sends a request for *later* steps to check uses
//! [`DiscosWorld::send`] (or [`send_request`], [`send_raw`],
//! [`send_pipelined`]): its reply becomes "the reply" that `Then the backend
//! accepts it`, `refuses it` or `answers "…"` read, and joins the client's
//! replies that `Then the client receives …` take. A step that checks a
//! reply itself uses [`DiscosWorld::ask`] (or [`ask_ok`], which also fails
//! unless it is `ok`): a precondition (`Given the backend is configured as
//! "K2000"`), or the question behind a check (`Then the configuration is
//! "K2000"` asks `get-configuration`). Its exchange shows in the transcript,
//! but "the reply" stays the one before it.
//!
//! So a `When` step must `send`: one that `ask`s leaves `Then the backend
//! accepts it` checking an earlier reply, while the transcript's last line
//! shows this one — a failure that seems to contradict its own transcript.
//! `ask` always talks through the default client ("the client").
//!
//! [`send_request`]: DiscosWorld::send_request
//! [`send_raw`]: DiscosWorld::send_raw
//! [`send_pipelined`]: DiscosWorld::send_pipelined
//! [`ask_ok`]: DiscosWorld::ask_ok

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::broker::ScenarioBroker;
use super::browser::Browser;
use super::discos::Discos;
use super::judgement::Asked;
use super::settings::Settings;
use super::target::BackendUnderTest;
use super::web::Web;
use crate::client::{Client, ClientOptions, Direction};
use crate::protocol::contract::{CONTRACT, SIMULATOR_CLAUSE, requirement};
use crate::protocol::{Message, Timestamp, latin1};

pub use super::link::Link;

/// The name of the client that steps about "the client" (or "the user") use.
pub const DEFAULT_CLIENT: &str = "client";

/// The name of the browser user that steps about "the user" use.
pub const DEFAULT_USER: &str = "user";

/// One protocol client of the scenario, with the replies no step has checked.
#[derive(Debug)]
pub struct Party {
    /// The name steps call it by: "client", "A", "B"…
    pub name: String,
    /// The connection.
    pub client: Client,
    /// Replies received since a step last checked this client's replies.
    pub unchecked: VecDeque<Message>,
    /// The latest request it sent, as the transcript shows it: what a line
    /// nobody asked for came after.
    pub last_asked: Option<String>,
    /// Replies owed to requests a step stopped waiting for on purpose
    /// (`… and waits at most 100 milliseconds for the reply`): the next
    /// lines to come are those late replies, not lines nobody asked for.
    pub owed: usize,
    /// Raw bytes sent since the last line feed: the start of a line sent
    /// in steps, which its reply is judged against once the line is whole.
    pub unfinished: Vec<u8>,
}

impl Party {
    /// A client just connected, owed nothing.
    pub fn new(name: &str, client: Client) -> Party {
        Party {
            name: name.to_owned(),
            client,
            unchecked: VecDeque::new(),
            last_asked: None,
            owed: 0,
            unfinished: Vec::new(),
        }
    }
}

/// The state of one scenario.
///
/// A step of your own takes `world: &mut DiscosWorld` and leaves the
/// mechanics to its methods: [`send`](Self::send) a request whose reply a
/// later `Then` checks, [`ask`](Self::ask) one the step checks itself (the
/// difference matters: see [the module
/// docs](self#send-or-ask-which-reply-later-steps-check)), and
/// [`fail`](Self::fail), [`fail_clause`](Self::fail_clause) or
/// [`fail_requirement`](Self::fail_requirement) with what was expected,
/// which adds the scenario's transcript.
#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct DiscosWorld {
    /// How this run was configured (target, artifacts…), shared by all
    /// scenarios.
    pub settings: Arc<Settings>,
    /// The feature's name, for artifact files.
    pub feature: String,
    /// The scenario's name, for messages and artifact files.
    pub scenario: String,
    /// The scenario's tags and its feature's, without `@`: a `@simulator`
    /// scenario checks the simulator's own behaviour, not the contract.
    pub tags: Vec<String>,
    /// When the scenario started; transcript times count from here.
    pub started: Instant,
    /// The backend under test, once a step asked for one.
    pub backend: Option<BackendUnderTest>,
    /// The clients, in the order they connected.
    pub parties: Vec<Party>,
    /// The latest reply any client received, and which client.
    pub last_reply: Option<(String, Message)>,
    /// Connections leaked on purpose, to prove the teardown check works.
    pub leaked: Vec<TcpStream>,
    /// The console and the browsers, once a user opened the console.
    pub web: Option<Web>,
    /// The message broker's side of the scenario, once a step asked for it.
    pub broker: Option<ScenarioBroker>,
    /// DISCOS, once a step connected it to the backend.
    pub discos: Option<Discos>,
    /// The proxy between the clients and the backend, once a step about
    /// the link to the backend asked for one.
    pub link: Option<Link>,
    /// Requirements the scenario's own link breaks on purpose (a reply it
    /// makes longer than 512 bytes breaks `short-lines`): what the link did,
    /// which the scenario checks, is not the backend's fault, and the
    /// judgement of replies leaves them out.
    pub broken_on_purpose: Vec<&'static str>,
    /// The scenario's timed starts and stops, once one was asked: a check
    /// answered after the first of them was due cannot tell what the
    /// backend did before that time, and says so when it fails.
    pub timed: Option<TimedRequests>,
    /// Whether a step failed: the teardown then closes what is open without
    /// its last look at the connections, which would only repeat, slowly,
    /// what the failure said.
    pub failed: bool,
}

/// When a scenario's timed starts and stops were due and answered.
#[derive(Debug, Clone, Copy)]
pub struct TimedRequests {
    /// The earliest time any of them named.
    pub first_due: Timestamp,
    /// When the reply to the latest request about the acquisition came.
    pub last_answered: Timestamp,
}

impl DiscosWorld {
    fn new() -> DiscosWorld {
        DiscosWorld {
            settings: Arc::default(),
            feature: String::new(),
            scenario: String::new(),
            tags: Vec::new(),
            started: Instant::now(),
            backend: None,
            parties: Vec::new(),
            last_reply: None,
            leaked: Vec::new(),
            web: None,
            broker: None,
            discos: None,
            link: None,
            broken_on_purpose: Vec::new(),
            timed: None,
            failed: false,
        }
    }

    /// Fails the step with `message` followed by the scenario's transcript.
    pub fn fail(&self, message: impl AsRef<str>) -> ! {
        panic!("{}\n\n{}", message.as_ref(), self.transcript())
    }

    /// Fails a check of what the backend did, naming the clause of the
    /// contract it checks (`docs/protocol.md#set-section`), so that a
    /// backend author knows what to read; in a `@simulator` scenario the
    /// check is of the simulator's own behaviour, and says so.
    pub fn fail_clause(&self, anchor: &str, message: impl AsRef<str>) -> ! {
        let clause = if self.is_about_the_simulator() {
            format!("{CONTRACT}#{SIMULATOR_CLAUSE} (the simulator's own behaviour)")
        } else {
            format!("{CONTRACT}#{anchor}")
        };
        self.fail(format!("{clause}: {}", message.as_ref()))
    }

    /// Fails a check that knows the requirement of the contract it checks
    /// (`crlf`, `same-name`, `one-reply`…), whatever the scenario's tag
    /// names: a reply ending in a bare LF, met in a scenario about a SHOULD,
    /// is still a failed MUST `crlf`. The message starts with the
    /// requirement's strength, id and clause (`MUST same-name —
    /// docs/protocol.md#replies: …`), which the reports grade the failure
    /// by. In a `@simulator` scenario the check is of the simulator's own
    /// behaviour, and says so.
    pub fn fail_requirement(&self, id: &str, message: impl AsRef<str>) -> ! {
        self.fail(self.requirement_failure(id, message))
    }

    /// The words [`Self::fail_requirement`] fails with, before the
    /// transcript: for a check outside a step (the teardown's).
    pub fn requirement_failure(&self, id: &str, message: impl AsRef<str>) -> String {
        let message = message.as_ref();
        let cited = match requirement(id) {
            Some(requirement) => format!("{}: {message}", requirement.citation()),
            None => format!(
                "{CONTRACT} lists no requirement `{id}`, which the step names (see its table of requirements): {message}"
            ),
        };
        if self.is_about_the_simulator() {
            format!("{CONTRACT}#{SIMULATOR_CLAUSE} (the simulator's own behaviour): {cited}")
        } else {
            cited
        }
    }

    /// Whether the scenario is tagged `@simulator`.
    pub fn is_about_the_simulator(&self) -> bool {
        self.tags.iter().any(|tag| tag == "simulator")
    }

    /// Every line every client sent and received, in time order, with the
    /// time since the scenario started.
    pub fn transcript(&self) -> String {
        let mut lines: Vec<(Duration, String)> = Vec::new();
        for (name, client) in self.clients() {
            let transcript = client.transcript();
            let offset = transcript.started().saturating_duration_since(self.started);
            for entry in transcript.entries() {
                let arrow = match entry.direction {
                    Direction::Sent => "->",
                    Direction::Received => "<-",
                    Direction::Event => "--",
                };
                lines.push((
                    offset + entry.at,
                    format!("{name:>8} {arrow} {}", entry.shown()),
                ));
            }
        }
        if lines.is_empty() {
            return if self.web.is_some() {
                "Transcript: nothing was sent or received by the scenario's clients; the console's exchanges are those its page shows.".to_owned()
            } else {
                "Transcript: nothing was sent or received.".to_owned()
            };
        }
        lines.sort_by_key(|(at, _)| *at);
        let mut text = String::from("Transcript (seconds since the scenario started):\n");
        for (at, line) in lines {
            let _ = writeln!(text, "  {:>8.3}s {line}", at.as_secs_f64());
        }
        text
    }

    /// Every connection of the scenario to the backend, by the name its
    /// transcript shows: the clients, in the order they connected, then
    /// DISCOS's.
    pub fn clients(&self) -> impl Iterator<Item = (&str, &Client)> {
        let discos = self
            .discos
            .as_ref()
            .map(|discos| (super::discos::NAME, discos.client()));
        self.parties
            .iter()
            .map(|party| (party.name.as_str(), &party.client))
            .chain(discos)
    }

    /// The backend's address, starting the default backend if no step has.
    pub async fn backend_address(&mut self) -> String {
        if self.backend.is_none() {
            self.start_backend(None).await;
        }
        match &self.backend {
            Some(backend) => backend.address(),
            None => self.fail("no backend"),
        }
    }

    /// Where clients connect: the link to the backend when a scenario put
    /// one in front of it, else the backend itself.
    pub async fn client_address(&mut self) -> String {
        match &self.link {
            Some(link) => link.address(),
            None => self.backend_address().await,
        }
    }

    /// Starts the backend under test as the target says; a target that cannot
    /// start fails the step with why.
    pub async fn start_backend(&mut self, catalogue: Option<&str>) {
        if self.backend.is_some() {
            self.fail("the scenario already has a backend; say \"Given a backend\" once");
        }
        let settings = self.settings.clone();
        match settings.start_backend(catalogue).await {
            Ok(backend) => self.backend = Some(backend),
            Err(error) => self.fail(format!("the backend could not start: {error:#}")),
        }
    }

    /// Opens the console in a real browser for each of `users`, starting
    /// the backend, the console and the WebDriver as needed.
    pub async fn open_console(&mut self, users: &[&str]) {
        if self.web.is_none() {
            let backend = self.client_address().await;
            let browsers = self.settings.browsers.clone();
            match Web::start(backend, browsers).await {
                Ok(web) => self.web = Some(web),
                Err(error) => self.fail(format!("the console could not open: {error:#}")),
            }
        }
        let opened = match self.web.as_mut() {
            Some(web) => web.open(users).await,
            None => Ok(()),
        };
        if let Err(error) = opened {
            self.fail(format!("{error:#}"));
        }
    }

    /// The browser of `user`; fails the step if that user has not opened the
    /// console.
    pub fn browser(&self, user: &str) -> &Browser {
        match self.web.as_ref().and_then(|web| web.user(user)) {
            Some(browser) => browser,
            None => self.fail(format!(
                "\"{user}\" has not opened the console; say \"Given the user opens the console\" first"
            )),
        }
    }

    /// Fails the step with a browser error, saying which user saw it.
    pub fn fail_in_browser(&self, user: &str, error: impl std::fmt::Display) -> ! {
        self.fail(format!("in the browser of \"{user}\": {error}"))
    }

    /// Connects a client named `name` (its handshake read and checked).
    pub async fn connect(&mut self, name: &str) {
        if self.parties.iter().any(|p| p.name == name) {
            self.fail(format!("client \"{name}\" is already connected"));
        }
        let address = self.client_address().await;
        match Client::connect_with(address.as_str(), ClientOptions::default()).await {
            Ok(client) => self.parties.push(Party::new(name, client)),
            Err(error) => self.fail_connect(name, &address, error),
        }
        self.judge_greeting(name);
    }

    /// The client named `name`, connecting it first if needed.
    pub async fn party(&mut self, name: &str) -> &mut Party {
        if !self.parties.iter().any(|p| p.name == name) {
            self.connect(name).await;
        }
        let index = self.parties.iter().position(|p| p.name == name);
        match index {
            Some(index) => &mut self.parties[index],
            None => self.fail(format!("client \"{name}\" is not connected")),
        }
    }

    /// Sends a request typed as text and waits for its reply, which
    /// becomes "the reply" later steps check (see [the module
    /// docs](self#send-or-ask-which-reply-later-steps-check)).
    pub async fn send(&mut self, name: &str, text: &str) -> Message {
        let request = self.request_of(text);
        self.send_request(name, &request).await
    }

    /// Sends a request built as a message (its arguments escaped as the
    /// wire needs) and waits for its reply.
    pub async fn send_request(&mut self, name: &str, request: &Message) -> Message {
        let reply = self.exchange_one(name, request).await;
        self.received(name, reply)
    }

    /// Sends a request, through the default client, for a step that checks
    /// the reply itself: it shows in the transcript but does not become
    /// "the reply" later steps check; a `When` step uses [`Self::send`]
    /// (see [the module docs](self#send-or-ask-which-reply-later-steps-check)).
    /// Its reply is judged as every reply is (named as its request, CR LF
    /// ended, the only one).
    pub async fn ask(&mut self, text: &str) -> Message {
        let request = self.request_of(text);
        self.exchange_one(DEFAULT_CLIENT, &request).await
    }

    fn request_of(&self, text: &str) -> Message {
        match crate::protocol::request_from_text(text) {
            Ok(request) => request,
            Err(error) => self.fail(format!("cannot send {text:?}: {error}")),
        }
    }

    /// Sends one request and takes its one reply, judged against it
    /// ([`super::judgement`]): every request a scenario sends goes
    /// through here or [`Self::send_pipelined`] or [`Self::send_raw`].
    async fn exchange_one(&mut self, name: &str, request: &Message) -> Message {
        let asked = Asked::request(request);
        self.check_unasked();
        let party = self.party(name).await;
        party.last_asked = Some(asked.shown.clone());
        let result = party.client.request(request).await;
        let reply = match result {
            Ok(reply) => reply,
            Err(error) => self.fail_exchange(name, &asked, error),
        };
        self.judge(name, &asked, &reply);
        self.check_unasked_of(name);
        reply
    }

    /// Judges a reply client `name` just took against `asked`.
    fn judge(&self, name: &str, asked: &Asked, reply: &Message) {
        let line = self
            .parties
            .iter()
            .find(|party| party.name == name)
            .and_then(|party| party.client.last_line());
        self.judge_reply(name, asked, reply, line);
    }

    /// Sends a request for a step and fails unless the reply is `ok`.
    pub async fn ask_ok(&mut self, text: &str) -> Message {
        let reply = self.ask(text).await;
        if reply.code() != Some(crate::protocol::Code::Ok) {
            self.fail(format!(
                "expected {text:?} to succeed, but the reply is\n    {reply}"
            ));
        }
        reply
    }

    /// Whether `status` says the backend is acquiring.
    pub async fn acquiring(&mut self) -> bool {
        let status = self.ask_ok("status").await;
        match status.arguments.get(2).map(String::as_str) {
            Some("1") => true,
            Some("0") => false,
            _ => self.fail(format!(
                "expected status to end with acquiring 0 or 1, but it is\n    {status}"
            )),
        }
    }

    /// Sends several requests at once, then reads all their replies, each
    /// judged against its request.
    pub async fn send_pipelined(&mut self, name: &str, lines: &[String]) {
        let mut requests = Vec::with_capacity(lines.len());
        for line in lines {
            match crate::protocol::request_from_text(line) {
                Ok(request) => requests.push(request),
                Err(error) => self.fail(format!("cannot send {line:?}: {error}")),
            }
        }
        self.check_unasked();
        let party = self.party(name).await;
        for request in &requests {
            if let Err(error) = party.client.feed(request).await {
                self.fail(format!("client \"{name}\" pipelining: {error}"));
            }
        }
        let party = self.party(name).await;
        party.last_asked = requests.last().map(|r| Asked::request(r).shown);
        if let Err(error) = party.client.flush().await {
            self.fail(format!("client \"{name}\" pipelining: {error}"));
        }
        for request in &requests {
            let asked = Asked::request(request);
            let party = self.party(name).await;
            match party.client.receive().await {
                Ok(reply) => {
                    self.judge(name, &asked, &reply);
                    self.received(name, reply);
                }
                Err(error) => self.fail_exchange(name, &asked, error),
            }
        }
        self.check_unasked_of(name);
    }

    /// Sends bytes as they are and reads one reply per line feed sent,
    /// each judged against its line.
    pub async fn send_raw(&mut self, name: &str, text: &str) {
        let bytes = match unescape(text) {
            Ok(bytes) => bytes,
            Err(error) => self.fail(format!(
                "the raw line {text:?} is not well written: {error}"
            )),
        };
        self.check_unasked();
        let party = self.party(name).await;
        // A line sent in steps is one line to the backend: judge its reply
        // against all of it, not the last piece alone.
        let mut line = std::mem::take(&mut party.unfinished);
        line.extend_from_slice(&bytes);
        let mut asked = Vec::new();
        for piece in line.split_inclusive(|&b| b == b'\n') {
            if piece.ends_with(b"\n") {
                asked.push(Asked::raw_line(piece));
            } else {
                party.unfinished = piece.to_vec();
            }
        }
        party.last_asked = asked.last().map(|a| a.shown.clone());
        if let Err(error) = party.client.send_raw(&bytes).await {
            self.fail(format!("client \"{name}\" sending raw bytes: {error}"));
        }
        for asked in &asked {
            let party = self.party(name).await;
            match party.client.receive().await {
                Ok(reply) => {
                    self.judge(name, asked, &reply);
                    self.received(name, reply);
                }
                Err(error) => self.fail_exchange(name, asked, error),
            }
        }
        self.check_unasked_of(name);
    }

    fn received(&mut self, name: &str, reply: Message) -> Message {
        if let Some(party) = self.parties.iter_mut().find(|p| p.name == name) {
            party.unchecked.push_back(reply.clone());
        }
        self.last_reply = Some((name.to_owned(), reply.clone()));
        reply
    }

    /// Takes the replies client `name` received since the last check.
    pub async fn take_unchecked(&mut self, name: &str) -> Vec<Message> {
        self.check_unasked();
        let party = self.party(name).await;
        party.unchecked.drain(..).collect()
    }

    /// The latest reply, or a failure saying none has come yet; a line
    /// nobody asked for that has come since fails the step first, for the
    /// latest reply is then not the one its request got.
    pub fn reply(&mut self) -> &Message {
        self.check_unasked();
        match &self.last_reply {
            Some((_, reply)) => reply,
            None => self.fail("no reply yet: send a request first"),
        }
    }
}

/// Turns the escapes a feature writes for raw bytes (`\r`, `\n`, `\t`,
/// `\\`, `\xNN`) into bytes; other characters must be latin-1.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let bytes = latin1::encode(text).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes.as_slice();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some((&escape, tail)) = rest.split_first() else {
            return Err("it ends with a lone backslash; write \\\\ for a backslash".into());
        };
        rest = tail;
        match escape {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex = rest.get(..2).and_then(|h| std::str::from_utf8(h).ok());
                let Some(value) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                    return Err("\\x must be followed by two hexadecimal digits".into());
                };
                out.push(value);
                rest = &rest[2..];
            }
            other => {
                return Err(format!(
                    "unknown escape \\{}; use \\r \\n \\t \\\\ or \\xNN",
                    char::from(other)
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::contract::{Strength, cited};

    /// The message a failing call makes the step fail with.
    fn failure(fail: impl FnOnce()) -> String {
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(fail)).unwrap_err();
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn a_failed_requirement_is_cited_with_its_strength_and_clause() {
        let world = DiscosWorld {
            tags: vec!["should:version-reply".to_owned()],
            ..DiscosWorld::new()
        };
        let message = failure(|| world.fail_requirement("crlf", "the reply ends with a bare LF"));
        assert!(
            message.starts_with(
                "MUST crlf — docs/protocol.md#transport-and-framing: the reply ends with a bare LF\n\n"
            ),
            "{message}"
        );
        assert_eq!(cited(&message), Some((Strength::Must, "crlf")));
    }

    #[test]
    fn a_requirement_the_contract_does_not_list_is_named_as_such() {
        let world = DiscosWorld::new();
        let message = failure(|| world.fail_requirement("no-such-thing", "the reply was late"));
        assert!(
            message.starts_with(
                "docs/protocol.md lists no requirement `no-such-thing`, which the step names"
            ),
            "{message}"
        );
        assert!(
            message.contains(": the reply was late\n\nTranscript"),
            "{message}"
        );
        let simulator = DiscosWorld {
            tags: vec!["simulator".to_owned()],
            ..DiscosWorld::new()
        };
        let message = failure(|| simulator.fail_requirement("no-such-thing", "late"));
        assert!(
            message.starts_with(
                "docs/protocol.md#the-simulators-own-behaviour (the simulator's own behaviour): "
            ),
            "{message}"
        );
    }

    #[test]
    fn raw_lines_unescape() {
        assert_eq!(unescape("?a\\r\\n").unwrap(), b"?a\r\n");
        assert_eq!(unescape("\\xff\\x00\\\\").unwrap(), b"\xff\x00\\");
        assert_eq!(unescape("caf\u{e9}").unwrap(), b"caf\xe9");
        assert!(unescape("\\q").unwrap_err().contains("unknown escape \\q"));
        assert!(
            unescape("\\x4")
                .unwrap_err()
                .contains("two hexadecimal digits")
        );
        assert!(unescape("a\\").unwrap_err().contains("lone backslash"));
        assert!(unescape("\u{20ac}").unwrap_err().contains("latin-1"));
    }
}
