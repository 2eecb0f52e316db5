//! What a backend publishes: one [`Event`] per change of its state, named by
//! an [`EventKind`], with the backend's time and the request that caused it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Every routing key starts with this word, so one binding (`backend.#`)
/// takes everything a backend publishes.
pub const ROUTING_PREFIX: &str = "backend";

/// What changed. The name is what people read (`acquisition started`); the
/// routing key is what a subscriber binds to (`backend.acquisition.started`,
/// or `backend.acquisition.*` for every acquisition event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The acquisition began, at once or when a timed start fired.
    AcquisitionStarted,
    /// The acquisition ended, at once or when a timed stop fired.
    AcquisitionStopped,
    /// A start at a time was accepted (or replaced the pending one).
    StartScheduled,
    /// A pending start will not happen: a stop or a start now came first.
    StartCancelled,
    /// A stop at a time was accepted (or replaced the pending one).
    StopScheduled,
    /// A pending stop will not happen.
    StopCancelled,
    /// A configuration was set.
    ConfigurationSet,
    /// One or more sections changed.
    SectionSet,
    /// The integration time changed.
    IntegrationSet,
    /// The file name changed.
    FilenameSet,
    /// The enabled feeds changed.
    FeedsEnabled,
    /// Calibration was turned on, or its interleave changed.
    CalibrationOn,
    /// A data conversion was asked for.
    DataConverted,
    /// The backend was parked.
    BackendParked,
    /// The schedule ended.
    ScheduleEnded,
    /// The shift changed.
    ShiftSet,
}

impl EventKind {
    /// Every kind, in the order a change that touches several is published.
    pub const ALL: [EventKind; 16] = [
        EventKind::ConfigurationSet,
        EventKind::SectionSet,
        EventKind::IntegrationSet,
        EventKind::FeedsEnabled,
        EventKind::CalibrationOn,
        EventKind::FilenameSet,
        EventKind::ShiftSet,
        EventKind::StartCancelled,
        EventKind::StopCancelled,
        EventKind::StartScheduled,
        EventKind::StopScheduled,
        EventKind::AcquisitionStarted,
        EventKind::AcquisitionStopped,
        EventKind::DataConverted,
        EventKind::ScheduleEnded,
        EventKind::BackendParked,
    ];

    /// The name people read and features quote.
    pub fn name(self) -> &'static str {
        self.names().0
    }

    /// The routing key it is published with.
    pub fn routing_key(self) -> &'static str {
        self.names().1
    }

    /// The kind called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            EventKind::AcquisitionStarted => ("acquisition started", "backend.acquisition.started"),
            EventKind::AcquisitionStopped => ("acquisition stopped", "backend.acquisition.stopped"),
            EventKind::StartScheduled => (
                "acquisition start scheduled",
                "backend.acquisition.start-scheduled",
            ),
            EventKind::StartCancelled => (
                "acquisition start cancelled",
                "backend.acquisition.start-cancelled",
            ),
            EventKind::StopScheduled => (
                "acquisition stop scheduled",
                "backend.acquisition.stop-scheduled",
            ),
            EventKind::StopCancelled => (
                "acquisition stop cancelled",
                "backend.acquisition.stop-cancelled",
            ),
            EventKind::ConfigurationSet => ("configuration set", "backend.configuration"),
            EventKind::SectionSet => ("section set", "backend.section"),
            EventKind::IntegrationSet => ("integration set", "backend.integration"),
            EventKind::FilenameSet => ("filename set", "backend.filename"),
            EventKind::FeedsEnabled => ("feeds enabled", "backend.feeds"),
            EventKind::CalibrationOn => ("calibration on", "backend.calibration"),
            EventKind::DataConverted => ("data converted", "backend.data-conversion"),
            EventKind::BackendParked => ("backend parked", "backend.park"),
            EventKind::ScheduleEnded => ("schedule ended", "backend.end-schedule"),
            EventKind::ShiftSet => ("shift set", "backend.shift"),
        }
    }
}

/// One change of a backend's state, as it travels: a JSON object on the
/// topic exchange, one per message.
///
/// ```json
/// {"event":"configuration set","sequence":3,"time":"1795361845.646607733",
///  "request":"?set-configuration,K2000","source":"127.0.0.1:8978",
///  "details":{"configuration":"K2000","inputs":2,"sections":2}}
/// ```
///
/// `sequence` counts the backend's events from 1 without gaps, so a
/// subscriber that sees a jump knows it missed events (dropped while the
/// broker was away, or published while it was not subscribed); an event
/// published again after a reconnect carries the same number, so a
/// repeat can be recognised. `time` is the backend's clock when the change
/// happened, in the protocol's own form (decimal Unix seconds). `request` is
/// the request line that caused the change — for a timed start or stop, the
/// request that scheduled it — and is absent for a change no request caused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event's name, as [`EventKind::name`] gives it.
    pub event: String,
    /// The backend's count of its events, from 1.
    pub sequence: u64,
    /// The backend's time of the change, decimal Unix seconds.
    pub time: String,
    /// The request line that caused the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Which backend: its address, unless configured otherwise.
    pub source: String,
    /// What the change left, by name: a configuration and its sections, a
    /// section's settings, the time a start is scheduled for…
    #[serde(default)]
    pub details: Map<String, Value>,
}

impl Event {
    /// The kind, if this build knows the event's name (an event from a newer
    /// backend may have one it does not).
    pub fn kind(&self) -> Option<EventKind> {
        EventKind::from_name(&self.event)
    }

    /// The routing key this event is published with.
    pub fn routing_key(&self) -> String {
        match self.kind() {
            Some(kind) => kind.routing_key().to_owned(),
            None => format!("{ROUTING_PREFIX}.{}", self.event.replace(' ', "-")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_routing_keys_are_unique_and_round_trip() {
        let mut names = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for kind in EventKind::ALL {
            assert!(names.insert(kind.name()), "{kind:?}");
            assert!(keys.insert(kind.routing_key()), "{kind:?}");
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
            let key = kind.routing_key();
            assert!(key.starts_with("backend."), "{key}");
            // Topic words are dot-separated; none may be empty or a wildcard.
            assert!(
                key.split('.')
                    .all(|w| !w.is_empty() && w != "*" && w != "#"),
                "{key}"
            );
        }
        assert_eq!(EventKind::from_name("no such event"), None);
    }

    #[test]
    fn an_event_reads_back_as_it_was_written() {
        let mut details = Map::new();
        details.insert("configuration".into(), "K2000".into());
        let event = Event {
            event: EventKind::ConfigurationSet.name().into(),
            sequence: 3,
            time: "1795361845.646607733".into(),
            request: Some("?set-configuration,K2000".into()),
            source: "127.0.0.1:8978".into(),
            details,
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
        assert_eq!(event.routing_key(), "backend.configuration");
        let unknown = Event {
            event: "dome opened".into(),
            ..event
        };
        assert_eq!(unknown.routing_key(), "backend.dome-opened");
    }
}
