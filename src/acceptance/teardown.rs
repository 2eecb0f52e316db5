//! Verified teardown: after every scenario, close what it opened, wait for
//! each thing to end, then check that nothing is left.
//!
//! A test that leaves a connection or a process behind passes today and
//! breaks the next one tomorrow; here it fails now, naming what leaked.

use std::fmt::Write as _;
use std::time::Duration;

use super::DiscosWorld;
use super::discos::Discos;
use super::judgement::{Asked, exchange_problem, unasked_lines};
use crate::client::{Client, ClientError, Direction, Received};
use crate::console::Breaches;
use crate::protocol::Message;

impl DiscosWorld {
    /// Closes the browsers and the clients, shuts the backend down and stops
    /// every process; returns what was left behind (empty when all is clean).
    pub async fn tear_down(&mut self) -> Vec<String> {
        let mut leaks = Vec::new();
        let mut unasked = Vec::new();
        // Browsers first: each page holds a backend connection through the
        // console.
        self.tear_down_web(&mut leaks, &mut unasked).await;
        for (id, message) in self.last_look().await {
            match id {
                Some("one-reply") => unasked.push(message),
                Some(id) => leaks.insert(0, self.requirement_failure(id, message)),
                None => leaks.push(message),
            }
        }
        for index in 0..self.parties.len() {
            let party = &mut self.parties[index];
            // Closing waits for the backend to close its end too; what
            // comes meanwhile came unasked, but for late replies to
            // requests a step stopped waiting for.
            match party.client.close().await {
                Ok(mut lines) => {
                    let late = party.owed.min(lines.len());
                    lines.drain(..late);
                    if !lines.is_empty() {
                        unasked.push(self.describe_unasked(
                            index,
                            &lines,
                            "by the end of the scenario",
                        ));
                    }
                }
                Err(error) => leaks.push(format!(
                    "client \"{}\" did not close cleanly: {error}",
                    party.name
                )),
            }
        }
        // Kept, closed, for the transcript the report shows.
        if let Some(discos) = self.discos.as_mut() {
            match discos.close().await {
                Ok(lines) if !lines.is_empty() => {
                    let offset = discos
                        .client()
                        .transcript()
                        .started()
                        .saturating_duration_since(self.started);
                    unasked.push(unasked_lines(
                        super::discos::NAME,
                        None,
                        offset,
                        &lines,
                        "by the end of the scenario",
                    ));
                }
                Ok(_) => {}
                Err(error) => leaks.push(format!(
                    "DISCOS's connection did not close cleanly: {error}"
                )),
            }
        }
        // The link before the backend: its connections to the backend
        // close with it.
        if let Some(link) = self.link.take() {
            leaks.extend(link.tear_down().await);
        }
        if let Some(backend) = self.backend.take() {
            leaks.extend(backend.tear_down().await);
        }
        if let Some(broker) = self.broker.take() {
            leaks.extend(broker.tear_down().await);
        }
        // Leaked on purpose; the checks above have seen them.
        self.leaked.clear();
        if !unasked.is_empty() {
            // What the backend sent unasked is a broken requirement, graded
            // as such, before anything the teardown found left.
            leaks.insert(0, self.requirement_failure("one-reply", unasked.join("\n")));
        }
        leaks
    }
}

impl DiscosWorld {
    /// Closes the browsers and the console, adding what they left to
    /// `leaks`, and what the backend sent the console's connections that
    /// the contract forbids: lines nobody asked for to `unasked`, the rest
    /// to `leaks`, graded.
    async fn tear_down_web(&mut self, leaks: &mut Vec<String>, unasked: &mut Vec<String>) {
        let Some(web) = self.web.take() else {
            return;
        };
        // A second reply sent late comes to the pages' connections too.
        let settle = self.settings.settle;
        if let Some(heard) = web
            .last_heard()
            .filter(|_| !self.failed && !settle.is_zero())
        {
            quiet_for(Some(heard), settle).await;
        }
        let (left, mut breaches) = web.tear_down().await;
        leaks.extend(left);
        // A backend a step stopped closes the pages' connections, as the
        // scenario wants.
        if !self.backend.as_ref().is_some_and(|b| b.is_running()) {
            breaches.found.retain(|breach| !breach.hung_up);
        }
        for (id, message) in console_breaches(&breaches) {
            if id == "one-reply" {
                unasked.push(message);
            } else {
                leaks.insert(0, self.requirement_failure(id, message));
            }
        }
    }

    /// The scenario's last look at each connection it left open, DISCOS's
    /// too, before they are closed: once
    /// [`Settings::settle`](super::Settings::settle) has passed since the
    /// last line any of them received (a second reply sent late comes
    /// meanwhile), `?version`, asked twice, must get one proper reply each
    /// on a connection still open. A backend that hung up after its last reply,
    /// or sent more than it was asked, fails here though every step passed.
    /// Only after a passing scenario, on a backend still running and no
    /// link between, with nothing owed or half sent: what a step broke on
    /// purpose is not looked at again. Returns what it found: the
    /// requirement each broke, if one, and the words.
    async fn last_look(&mut self) -> Vec<(Option<&'static str>, String)> {
        if self.failed
            || self.link.is_some()
            || !self.backend.as_ref().is_some_and(|b| b.is_running())
        {
            return Vec::new();
        }
        let looked: Vec<usize> = (0..self.parties.len())
            .filter(|&index| {
                let party = &self.parties[index];
                !party.client.is_closed()
                    && party.owed == 0
                    && party.unfinished.is_empty()
                    && party.client.partial().is_empty()
            })
            .collect();
        let settle = self.settings.settle;
        if !settle.is_zero() {
            let mut clients: Vec<&Client> = looked
                .iter()
                .map(|&index| &self.parties[index].client)
                .collect();
            clients.extend(self.discos.as_ref().map(Discos::client));
            settle_after(&clients, settle).await;
        }
        // On a connection the scenario sent nothing on, the look's replies
        // are the only ones: a second reply to them comes after them.
        let fresh: Vec<usize> = looked
            .iter()
            .copied()
            .filter(|&index| self.parties[index].last_asked.is_none())
            .collect();
        let discos_fresh = self.discos.as_ref().is_some_and(|discos| {
            discos
                .client()
                .transcript()
                .entries()
                .iter()
                .all(|entry| entry.direction != Direction::Sent)
        });
        let mut found = Vec::new();
        for index in looked {
            found.extend(self.look_at(index).await);
        }
        found.extend(self.look_at_discos().await);
        if found.is_empty() && !settle.is_zero() && (!fresh.is_empty() || discos_fresh) {
            found.extend(self.listen_again(&fresh, discos_fresh, settle).await);
        }
        found
    }

    /// After the look's own replies, on the connections it was the only
    /// request on (parties `fresh`, DISCOS's if `discos`): what comes within
    /// `settle` came unasked.
    async fn listen_again(
        &mut self,
        fresh: &[usize],
        discos: bool,
        settle: Duration,
    ) -> Vec<(Option<&'static str>, String)> {
        let mut clients: Vec<&Client> = fresh
            .iter()
            .map(|&index| &self.parties[index].client)
            .collect();
        if discos {
            clients.extend(self.discos.as_ref().map(Discos::client));
        }
        settle_after(&clients, settle).await;
        let when = "after the replies to the scenario's last ?version";
        let mut found = Vec::new();
        for &index in fresh {
            let lines = self.arrived_unasked(index);
            if !lines.is_empty() {
                found.push((
                    Some("one-reply"),
                    self.describe_unasked(index, &lines, when),
                ));
            }
        }
        let started = self.started;
        if let Some(client) = self
            .discos
            .as_mut()
            .filter(|_| discos)
            .and_then(Discos::connection_to_look_at)
        {
            let lines = client.arrived().unwrap_or_default();
            if !lines.is_empty() {
                let offset = client
                    .transcript()
                    .started()
                    .saturating_duration_since(started);
                let message = unasked_lines(super::discos::NAME, None, offset, &lines, when);
                found.push((Some("one-reply"), message));
            }
        }
        found
    }

    /// Party `index`'s last look: what came unasked, or how the connection
    /// failed its last `?version`.
    async fn look_at(&mut self, index: usize) -> Option<(Option<&'static str>, String)> {
        let party = &mut self.parties[index];
        let name = party.name.clone();
        let after = match &party.last_asked {
            Some(last) => format!("after its last request, {last},"),
            None => "before it sent any request,".to_owned(),
        };
        let found = look(&mut party.client).await;
        let describe = |lines: &[Received], when: &str| self.describe_unasked(index, lines, when);
        let (finding, owed) = self.finding(
            &format!("client \"{name}\""),
            &name,
            &after,
            found,
            describe,
        );
        if owed {
            self.parties[index].owed += 1;
        }
        finding
    }

    /// DISCOS's last look at its connection, as a client's.
    async fn look_at_discos(&mut self) -> Option<(Option<&'static str>, String)> {
        let started = self.started;
        let discos = self.discos.as_mut()?;
        let client = discos.connection_to_look_at()?;
        if client.is_closed() || !client.partial().is_empty() {
            return None;
        }
        let offset = client
            .transcript()
            .started()
            .saturating_duration_since(started);
        let found = look(client).await;
        let name = super::discos::NAME;
        let describe =
            |lines: &[Received], when: &str| unasked_lines(name, None, offset, lines, when);
        self.finding(name, name, "after its last request,", found, describe)
            .0
    }

    /// What a look at the connection of `who` (`client "A"`, `DISCOS`;
    /// `name` in exchange messages) found, in words, graded; and whether
    /// the reply to the last `?version` is still owed (another line came
    /// where it was due). `after` says after what the backend hung up;
    /// `describe` puts lines nobody asked for into words.
    fn finding(
        &self,
        who: &str,
        name: &str,
        after: &str,
        found: Look,
        describe: impl Fn(&[Received], &str) -> String,
    ) -> (Option<(Option<&'static str>, String)>, bool) {
        let asked = last_request();
        let finding = match found {
            Look::Unasked(lines) => describe(&lines, "by the end of the scenario"),
            Look::HungUp => hung_up(who, after),
            Look::Failed(error) => return (Some(exchange_problem(name, &asked, error)), false),
            Look::Reply(reply, line) => {
                match self.reply_problem(name, &asked, &reply, line.as_ref()) {
                    None => return (None, false),
                    // Another line where its reply was due: one nobody asked
                    // for; the reply may still come, and is owed.
                    Some(("same-name", _)) => {
                        let lines: Vec<Received> = line.into_iter().collect();
                        let message = describe(
                            &lines,
                            "where the reply to the scenario's last ?version was due",
                        );
                        return (Some((Some("one-reply"), message)), true);
                    }
                    Some((id, message)) => return (Some((Some(id), message)), false),
                }
            }
        };
        (Some((Some("one-reply"), finding)), false)
    }
}

/// The request of the last look, as its messages show it.
fn last_request() -> Asked {
    Asked {
        shown: "?version (the scenario's last look at its connection)".to_owned(),
        ..Asked::request(&Message::request("version", Vec::<String>::new()))
    }
}

/// The words for a backend that closed `who`'s connection first.
fn hung_up(who: &str, after: &str) -> String {
    format!(
        "the backend closed the connection of {who} {after} while the client kept it open; DISCOS keeps one connection for a whole observation, so its next request would get no reply"
    )
}

/// Waits until `settle` has passed since the last line any of `clients`
/// received (at most `settle` from now).
async fn settle_after(clients: &[&Client], settle: Duration) {
    let heard = clients
        .iter()
        .filter_map(|client| Some(client.transcript().started() + client.last_line()?.at));
    quiet_for(heard.max(), settle).await;
}

/// Waits until `settle` has passed since `heard`, the last time a line
/// came (at most `settle` from now; `settle` from now when none came).
async fn quiet_for(heard: Option<std::time::Instant>, settle: Duration) {
    let now = tokio::time::Instant::now();
    let quiet = heard.map_or(now, tokio::time::Instant::from_std) + settle;
    tokio::time::sleep_until(quiet.min(now + settle)).await;
}

/// What one connection's last look found.
enum Look {
    /// Lines that had come unasked.
    Unasked(Vec<Received>),
    /// The backend had closed the connection.
    HungUp,
    /// No reply, or a line that is none.
    Failed(ClientError),
    /// A reply, to judge against the request (`line` as it came).
    Reply(Message, Option<Received>),
}

/// Looks at `client`: what came unasked, whether the backend closed it,
/// and else what the last requests got: `?version` twice, one after the
/// other, so that a backend that hangs up after each first reply is seen
/// on a connection the scenario sent nothing on. The first reply that is
/// not a proper one is the answer.
async fn look(client: &mut Client) -> Look {
    let lines = client.arrived().unwrap_or_default();
    if !lines.is_empty() {
        return Look::Unasked(lines);
    }
    if client.backend_closed() {
        return Look::HungUp;
    }
    let request = Message::request("version", Vec::<String>::new());
    let mut asks = 0;
    loop {
        asks += 1;
        let answered = match client.send(&request).await {
            Ok(()) => client.receive().await,
            Err(error) => return Look::Failed(error),
        };
        let line = client.last_line().cloned();
        match answered {
            Ok(reply)
                if asks < 2
                    && reply.name == "version"
                    && line.as_ref().is_some_and(|l| l.line.misframed().is_none()) => {}
            Ok(reply) => return Look::Reply(reply, line),
            Err(error) => return Look::Failed(error),
        }
    }
}

/// What the console's connections received that the contract forbids,
/// one message per requirement broken, each with what came: the pages
/// showed each as an event, and a step that reads a page may have passed
/// on one of them.
fn console_breaches(breaches: &Breaches) -> Vec<(&'static str, String)> {
    let mut by_requirement: Vec<(&'static str, Vec<&str>)> = Vec::new();
    for breach in &breaches.found {
        match by_requirement
            .iter_mut()
            .find(|(id, _)| *id == breach.requirement)
        {
            Some((_, found)) => found.push(&breach.what),
            None => by_requirement.push((breach.requirement, vec![&breach.what])),
        }
    }
    let last = by_requirement.len().saturating_sub(1);
    by_requirement
        .into_iter()
        .enumerate()
        .map(|(index, (id, found))| {
            let mut text = format!(
                "the console's connections to the backend received what DISCOS would misread or not expect (each page shows it as an event; {}):",
                if id == "one-reply" {
                    "a backend answers every request with exactly one reply and sends nothing unasked but the greeting"
                } else {
                    "every line a backend sends ends with CR LF and is under 512 bytes"
                }
            );
            for what in found {
                let _ = write!(text, "\n    {what}");
            }
            if index == last && breaches.more > 0 {
                let _ = write!(text, "\n    and {} more", breaches.more);
            }
            (id, text)
        })
        .collect()
}

/// The message that fails a scenario whose teardown found leaks, or lines
/// the backend sent unasked: each thing found, on a line of its own. When
/// the first names a requirement (`MUST one-reply — …`), the message starts
/// with it, so that the failure is graded by it.
pub fn leak_report(scenario: &str, leaks: &[String]) -> String {
    let (cited, rest) = match leaks.split_first() {
        Some((first, rest)) if crate::protocol::contract::cited(first).is_some() => {
            (Some(first.as_str()), rest)
        }
        _ => (None, leaks),
    };
    let mut message = match cited {
        Some(first) => format!("{first}\n"),
        None => String::new(),
    };
    if !rest.is_empty() {
        let _ = write!(
            message,
            "the scenario \"{scenario}\" left {} thing(s) behind:",
            rest.len()
        );
        for leak in rest {
            message.push_str("\n  - ");
            message.push_str(leak);
        }
    }
    message.trim_end().to_owned()
}
