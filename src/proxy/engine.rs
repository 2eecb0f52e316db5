//! The fault engine: which faults are active, and what they do to one line.
//!
//! The faults live in one registry shared by every link and the control
//! interface, so a fault added while clients are connected acts on their
//! next line. A link reads the registry once per batch of lines (one atomic
//! load tells it whether anything changed), so a proxy without faults pays
//! nothing for them.
//!
//! Going down is the one fault that acts on the proxy rather than on a
//! line: it is kept here as a state the acceptor watches.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

use super::fault::{Action, Direction, Fault};

/// An active fault and the number it is known by.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Entry {
    /// Its number, for the control interface (`DELETE /faults/3`).
    pub id: u64,
    /// The fault, as it reads.
    #[serde(serialize_with = "as_text")]
    pub fault: Fault,
}

fn as_text<S: serde::Serializer>(fault: &Fault, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(fault)
}

/// Whether the proxy is down, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum DownState {
    /// Listening.
    #[default]
    Up,
    /// Not listening, because of the fault `id`, until `until` (or until
    /// that fault is removed).
    Down {
        /// The fault that took it down.
        id: u64,
        /// When it comes back by itself.
        until: Option<Instant>,
    },
}

/// The faults of one proxy.
#[derive(Debug)]
pub struct Faults {
    entries: RwLock<Arc<[Entry]>>,
    generation: AtomicU64,
    next_id: AtomicU64,
    down: watch::Sender<DownState>,
    /// Serialises changes, so a generation always names one list.
    change: Mutex<()>,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            entries: RwLock::new(Arc::from(Vec::new())),
            generation: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            down: watch::Sender::new(DownState::Up),
            change: Mutex::new(()),
        }
    }
}

impl Faults {
    /// Adds a fault; it acts from the next line on. A `down` without a
    /// command takes the proxy down at once.
    pub fn add(&self, fault: Fault) -> Entry {
        let _change = self.change.lock().unwrap_or_else(|e| e.into_inner());
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let entry = Entry { id, fault };
        let mut list: Vec<Entry> = self.list().to_vec();
        list.push(entry.clone());
        self.publish(list);
        if let Action::Down { span } = entry.fault.action
            && entry.fault.command.is_none()
            && roll(entry.fault.probability)
        {
            self.go_down(id, span);
        }
        entry
    }

    /// Removes the fault numbered `id`; false if there is none. Removing
    /// the `down` that holds the proxy down brings it back.
    pub fn remove(&self, id: u64) -> bool {
        let _change = self.change.lock().unwrap_or_else(|e| e.into_inner());
        let list: Vec<Entry> = self.list().iter().filter(|e| e.id != id).cloned().collect();
        let removed = list.len() < self.list().len();
        if removed {
            self.publish(list);
            self.down.send_if_modified(|state| match *state {
                DownState::Down { id: down, .. } if down == id => {
                    *state = DownState::Up;
                    true
                }
                _ => false,
            });
        }
        removed
    }

    /// Removes every fault, and brings the proxy back if it is down.
    pub fn clear(&self) {
        let _change = self.change.lock().unwrap_or_else(|e| e.into_inner());
        self.publish(Vec::new());
        self.down.send_replace(DownState::Up);
    }

    /// The faults active now, in the order they were added.
    pub fn list(&self) -> Arc<[Entry]> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the proxy is down now.
    pub fn is_down(&self) -> bool {
        *self.down.borrow() != DownState::Up
    }

    fn publish(&self, list: Vec<Entry>) {
        *self.entries.write().unwrap_or_else(|e| e.into_inner()) = Arc::from(list);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Takes the proxy down because of fault `id`, for `span` (or until the
    /// fault is removed).
    pub(super) fn go_down(&self, id: u64, span: Option<Duration>) {
        let until = span.map(|span| Instant::now() + span);
        self.down.send_replace(DownState::Down { id, until });
    }

    /// Brings the proxy back after a down that ended by itself; a `down`
    /// fault without a command has then done its work and is removed, one
    /// with a command stays, to act on its next line.
    pub(super) fn come_back(&self, id: u64) {
        let spent = self
            .list()
            .iter()
            .any(|e| e.id == id && e.fault.command.is_none());
        if spent {
            self.remove(id);
        }
        self.down.send_if_modified(|state| match *state {
            DownState::Down { id: down, .. } if down == id => {
                *state = DownState::Up;
                true
            }
            _ => false,
        });
    }

    pub(super) fn watch_down(&self) -> watch::Receiver<DownState> {
        self.down.subscribe()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// Whether a fault of this probability acts this time.
fn roll(probability: f64) -> bool {
    probability >= 1.0 || rand::random::<f64>() < probability
}

/// What happens to a line instead of passing it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum End {
    /// Half of it, then the connection is closed.
    DropMidway,
    /// The client's connection is reset.
    Reset,
    /// Neither it nor any later line of its direction passes.
    Hang,
    /// This many random bytes instead, then the connection is closed.
    Garbage(usize),
    /// A `fail` reply with this reason, in the backend's place.
    Fail(String),
    /// The proxy goes down (fault `id`, for how long).
    Down(u64, Option<Duration>),
}

/// What the active faults do to one line.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Plan {
    /// How long it waits before it is written.
    pub(super) delay: Duration,
    /// Written in pieces of this many bytes, this far apart.
    pub(super) slice: Option<(usize, Duration)>,
    /// Padded to this many bytes.
    pub(super) long: Option<usize>,
    /// Replaced by something else, if a fault says so.
    pub(super) end: Option<End>,
    /// The connection closes once the reply to this request has reached
    /// the client.
    pub(super) close_after_reply: bool,
}

/// One link's view of the faults: the list it last read, and what it
/// counts (requests, for `drop after`).
#[derive(Debug)]
pub(super) struct LinkFaults {
    faults: Arc<Faults>,
    generation: u64,
    list: Arc<[Entry]>,
    active: [bool; 2],
    merge: [Option<(usize, Duration)>; 2],
    counted: HashMap<u64, u64>,
}

fn index(direction: Direction) -> usize {
    match direction {
        Direction::Requests => 0,
        Direction::Replies => 1,
    }
}

impl LinkFaults {
    pub(super) fn new(faults: Arc<Faults>) -> LinkFaults {
        let mut view = LinkFaults {
            generation: u64::MAX,
            list: Arc::from(Vec::new()),
            active: [false; 2],
            merge: [None; 2],
            counted: HashMap::new(),
            faults,
        };
        view.refresh();
        view
    }

    /// Reads the registry again if it changed since the last look.
    pub(super) fn refresh(&mut self) {
        let generation = self.faults.generation();
        if generation == self.generation {
            return;
        }
        self.generation = generation;
        self.list = self.faults.list();
        self.active = [false; 2];
        self.merge = [None; 2];
        for entry in self.list.iter() {
            let fault = &entry.fault;
            let at = index(fault.direction);
            match fault.action {
                // Acts on the proxy, or is a standing state: not per line,
                // unless it names the command that triggers it.
                Action::Down { .. } if fault.command.is_none() => {}
                Action::Merge { lines, within } => {
                    self.active[at] = true;
                    self.merge[at].get_or_insert((lines, within));
                }
                _ => self.active[at] = true,
            }
        }
    }

    /// Whether any fault acts on lines of `direction`: if none does, the
    /// link passes them on as they come, without looking at each.
    pub(super) fn active(&self, direction: Direction) -> bool {
        self.active[index(direction)]
    }

    /// The merge in force on `direction`: how many lines in one piece, and
    /// the longest the first waits.
    pub(super) fn merge(&self, direction: Direction) -> Option<(usize, Duration)> {
        self.merge[index(direction)]
    }

    /// What the faults do to a line of `direction` named `name`.
    pub(super) fn plan(&mut self, direction: Direction, name: Option<&str>) -> Plan {
        let mut plan = Plan::default();
        let list = self.list.clone();
        for entry in list.iter() {
            let fault = &entry.fault;
            if !fault.matches(direction, name) {
                continue;
            }
            if let Action::DropAfter { requests } = fault.action {
                let count = self.counted.entry(entry.id).or_insert(0);
                *count += 1;
                if *count == requests && roll(fault.probability) {
                    plan.close_after_reply = true;
                }
                continue;
            }
            if matches!(fault.action, Action::Merge { .. }) || !roll(fault.probability) {
                continue;
            }
            let end = match &fault.action {
                Action::Delay { by, jitter } => {
                    plan.delay += jittered(*by, *jitter);
                    None
                }
                Action::Slice { bytes, every } => {
                    plan.slice = Some((*bytes, *every));
                    None
                }
                Action::LongReply { bytes } => {
                    plan.long = Some(*bytes);
                    None
                }
                Action::DropMidway => Some(End::DropMidway),
                Action::Reset => Some(End::Reset),
                Action::Hang => Some(End::Hang),
                Action::Garbage { bytes } => Some(End::Garbage(*bytes)),
                Action::Fail { reason } => Some(End::Fail(reason.clone())),
                Action::Down { span } => Some(End::Down(entry.id, *span)),
                Action::Merge { .. } | Action::DropAfter { .. } => None,
            };
            // The first fault that replaces the line wins.
            if plan.end.is_none() {
                plan.end = end;
            }
        }
        plan
    }

    /// Takes the proxy down, as a `down` fault with a command does when its
    /// line passes.
    pub(super) fn go_down(&self, id: u64, span: Option<Duration>) {
        self.faults.go_down(id, span);
    }
}

/// `by`, give or take up to `jitter`, never below zero.
fn jittered(by: Duration, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return by;
    }
    let spread = jitter.as_secs_f64();
    let offset = rand::random::<f64>() * 2.0 * spread - spread;
    Duration::from_secs_f64((by.as_secs_f64() + offset).max(0.0))
}

/// `count` random bytes: no line feed but the last byte, and a first byte
/// that starts no message, so a client reads exactly one line that is not
/// a message.
pub(super) fn garbage(count: usize) -> Bytes {
    let mut bytes: Vec<u8> = (0..count)
        .map(|_| {
            loop {
                let byte = rand::random::<u8>();
                if byte != b'\n' {
                    break byte;
                }
            }
        })
        .collect();
    if let Some(first) = bytes.first_mut()
        && matches!(*first, b'?' | b'!')
    {
        *first = b'#';
    }
    if let Some(last) = bytes.last_mut() {
        *last = b'\n';
    }
    Bytes::from(bytes)
}

/// The line padded with an argument of `x`s to `length` bytes, CR LF
/// included (a line already that long is left as it is).
pub(super) fn lengthen(line: &[u8], length: usize) -> Bytes {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let mut long = body.to_vec();
    // The comma and the CR LF.
    let room = length.saturating_sub(body.len() + 3);
    if room > 0 {
        long.push(b',');
        long.extend(std::iter::repeat_n(b'x', room));
    }
    long.extend_from_slice(b"\r\n");
    Bytes::from(long)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(text: &str) -> Fault {
        text.parse().unwrap()
    }

    #[test]
    fn a_link_without_faults_looks_at_no_line() {
        let faults = Arc::new(Faults::default());
        let mut link = LinkFaults::new(faults.clone());
        assert!(!link.active(Direction::Requests) && !link.active(Direction::Replies));
        let entry = faults.add(fault("delay 2s on get-tpi"));
        link.refresh();
        assert!(link.active(Direction::Replies));
        assert!(!link.active(Direction::Requests));
        assert_eq!(
            link.plan(Direction::Replies, Some("get-tpi")).delay,
            Duration::from_secs(2)
        );
        assert_eq!(
            link.plan(Direction::Replies, Some("status")),
            Plan::default()
        );
        assert!(faults.remove(entry.id));
        assert!(!faults.remove(entry.id));
        link.refresh();
        assert!(!link.active(Direction::Replies));
    }

    #[test]
    fn drop_after_counts_the_requests_of_its_command() {
        let faults = Arc::new(Faults::default());
        faults.add(fault("drop after 2 requests on get-tpi"));
        let mut link = LinkFaults::new(faults);
        let closes: Vec<bool> = ["get-tpi", "status", "get-tpi", "get-tpi"]
            .iter()
            .map(|name| link.plan(Direction::Requests, Some(name)).close_after_reply)
            .collect();
        assert_eq!(closes, [false, false, true, false]);
    }

    #[test]
    fn the_first_fault_that_replaces_a_line_wins_and_delays_add_up() {
        let faults = Arc::new(Faults::default());
        faults.add(fault("delay 1s"));
        faults.add(fault("fail on start"));
        faults.add(fault("reset on start"));
        faults.add(fault("delay 500ms on start"));
        let mut link = LinkFaults::new(faults);
        let plan = link.plan(Direction::Replies, Some("start"));
        assert_eq!(plan.delay, Duration::from_millis(1500));
        assert_eq!(
            plan.end,
            Some(End::Fail(super::super::fault::DEFAULT_FAIL_REASON.into()))
        );
    }

    #[test]
    fn down_without_a_command_takes_the_proxy_down_at_once_and_is_spent() {
        let faults = Faults::default();
        let entry = faults.add(fault("down for 5s"));
        assert!(faults.is_down());
        faults.come_back(entry.id);
        assert!(!faults.is_down());
        assert!(
            faults.list().is_empty(),
            "a down without a command is spent"
        );
        let standing = faults.add(fault("down on get-tpi"));
        assert!(!faults.is_down());
        faults.go_down(standing.id, None);
        assert!(faults.remove(standing.id));
        assert!(!faults.is_down(), "removing the down brings the proxy back");
    }

    #[test]
    fn garbage_is_one_line_that_is_no_message() {
        let bytes = garbage(200);
        assert_eq!(bytes.len(), 200);
        assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(bytes.last(), Some(&b'\n'));
        assert!(crate::protocol::parse(&bytes).is_err());
    }

    #[test]
    fn a_lengthened_reply_is_exactly_as_long_as_asked_and_still_a_reply() {
        let long = lengthen(b"!get-tpi,ok,1.5,2.5\r\n", 600);
        assert_eq!(long.len(), 600);
        let message = crate::protocol::parse(&long).unwrap();
        assert_eq!(message.name, "get-tpi");
        assert_eq!(message.arguments[..2], ["1.5", "2.5"]);
        assert_eq!(lengthen(b"!a,ok\n", 3).as_ref(), b"!a,ok\r\n");
    }
}
