//! What answers requests: the [`Handler`] a server calls, the [`Backend`]
//! trait a real or simulated backend implements, the simulator, and the
//! debug handlers.
//!
//! Two levels, because two kinds of thing answer requests. A [`Backend`]
//! implements the protocol's commands and sees only typed, checked
//! [`Command`]s; [`BackendHandler`] adapts it to the [`Handler`] a server
//! calls. The debug handlers answer any request at all without knowing the
//! commands (the reference implementation's "always ok" and friends), so they
//! are handlers directly.

mod catalogue;
mod debug;
mod simulator;

use async_trait::async_trait;

pub use catalogue::{
    Bins, Catalogue, CatalogueError, Configuration, DiscosRow, FEEDS, Hardware, MAX_BANDWIDTH_MHZ,
    MAX_INPUTS, MAX_SECTIONS, Mistake, PROFILES, Profile, profile_names,
};
pub use debug::{AlwaysFail, AlwaysOk, AlwaysPanic};
pub use simulator::{DEFAULT_SECTIONS, Section, Simulator, Snapshot, UNCONFIGURED};

use crate::protocol::{Command, Message, PROTOCOL_VERSION, SectionUpdate, Timestamp, TsysRange};

/// Answers one request with one reply.
///
/// The server calls this for every well-formed request; it never sees a
/// malformed line (those are answered `invalid` before). A panic inside is
/// caught by the server and answered `fail`.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// The reply to `request`; its name should be the request's name.
    async fn handle(&self, request: &Message) -> Message;
}

/// Why a backend could not carry out a valid command; the reply is `fail`
/// with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct BackendError {
    /// The human-readable reason sent to the client.
    pub reason: String,
}

impl BackendError {
    /// A failure with this reason.
    pub fn new(reason: impl Into<String>) -> BackendError {
        BackendError {
            reason: reason.into(),
        }
    }
}

/// The result of a backend command.
pub type BackendResult<T> = Result<T, BackendError>;

/// What `status` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The backend's clock.
    pub time: Timestamp,
    /// A short word about its health, `ok` when all is well.
    pub state: String,
    /// Whether it is acquiring data now.
    pub acquiring: bool,
}

/// A DISCOS backend: one method per command of protocol 1.4.
///
/// Implement this to put a backend (or a model of one) behind the server;
/// arguments arrive typed and checked, so a method only decides whether it
/// can do what is asked.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Whether the backend knows the command `name`; one it does not is
    /// answered as an unknown command, before its arguments are read. All
    /// of them unless overridden.
    fn knows(&self, name: &str) -> bool {
        let _ = name;
        true
    }
    /// `status`.
    async fn status(&self) -> BackendResult<Status>;
    /// `version`: the protocol version spoken, 1.4 unless overridden.
    async fn version(&self) -> BackendResult<String> {
        Ok(PROTOCOL_VERSION.to_owned())
    }
    /// `get-configuration`: the id, `unconfigured` before any was set.
    async fn get_configuration(&self) -> BackendResult<String>;
    /// `set-configuration`.
    async fn set_configuration(&self, id: &str) -> BackendResult<()>;
    /// `get-integration`: milliseconds, 0 before any was set.
    async fn get_integration(&self) -> BackendResult<u64>;
    /// `set-integration`.
    async fn set_integration(&self, milliseconds: u64) -> BackendResult<()>;
    /// `get-tpi`: one value per input of the configuration in use; `range`
    /// is the Tsys range DISCOS sends (what to do with it is the backend's).
    async fn get_tpi(&self, range: Option<TsysRange>) -> BackendResult<Vec<f64>>;
    /// `get-rms`: one value per input, as many as `get-tpi`.
    async fn get_rms(&self) -> BackendResult<Vec<f64>>;
    /// `get-tp0`: as many values as `get-tpi`.
    async fn get_tp0(&self) -> BackendResult<Vec<f64>>;
    /// `time`: the backend's clock, the system clock unless overridden.
    async fn time(&self) -> BackendResult<Timestamp> {
        Ok(Timestamp::now())
    }
    /// `start`, now or at a time.
    async fn start(&self, at: Option<Timestamp>) -> BackendResult<()>;
    /// `stop`, now or at a time.
    async fn stop(&self, at: Option<Timestamp>) -> BackendResult<()>;
    /// `set-section`.
    async fn set_section(&self, update: &SectionUpdate) -> BackendResult<()>;
    /// `cal-on`.
    async fn cal_on(&self, interleave: u64) -> BackendResult<()>;
    /// `set-filename`.
    async fn set_filename(&self, path: &str) -> BackendResult<()>;
    /// `convert-data`.
    async fn convert_data(&self) -> BackendResult<()>;
    /// `set-enable`.
    async fn set_enable(&self, feed1: i64, feed2: i64) -> BackendResult<()>;
    /// `end-schedule`.
    async fn end_schedule(&self) -> BackendResult<()>;
    /// `backend-park`.
    async fn backend_park(&self) -> BackendResult<()>;
    /// `set-shift`.
    async fn set_shift(&self, shift: i64) -> BackendResult<()>;
}

/// Puts a [`Backend`] behind the server: parses each request into a
/// [`Command`], calls the backend, and writes the reply.
#[derive(Debug, Default)]
pub struct BackendHandler<B> {
    backend: B,
}

impl<B: Backend> BackendHandler<B> {
    /// Serves `backend`.
    pub fn new(backend: B) -> BackendHandler<B> {
        BackendHandler { backend }
    }

    /// The backend served, for inspection.
    pub fn backend(&self) -> &B {
        &self.backend
    }
}

#[async_trait]
impl<B: Backend> Handler for BackendHandler<B> {
    async fn handle(&self, request: &Message) -> Message {
        if !self.backend.knows(&request.name) {
            let unknown = crate::protocol::CommandError::Unknown(request.name.clone());
            return Message::fail(&request.name, unknown.to_string());
        }
        match Command::from_request(request) {
            // The request is remembered for the events the change publishes.
            Ok(command) if changes_state(&command) => {
                crate::events::caused_by(request, execute(&self.backend, command)).await
            }
            Ok(command) => execute(&self.backend, command).await,
            Err(error) => Message::fail(&request.name, error.to_string()),
        }
    }
}

/// Whether `command` may change a backend's state (and so publish events);
/// the reads a busy client repeats do not.
fn changes_state(command: &Command) -> bool {
    !matches!(
        command,
        Command::Status
            | Command::Version
            | Command::GetConfiguration
            | Command::GetIntegration
            | Command::GetTpi { .. }
            | Command::GetRms
            | Command::GetTp0
            | Command::Time
    )
}

/// Runs one command on a backend and writes its reply.
pub async fn execute<B: Backend + ?Sized>(backend: &B, command: Command) -> Message {
    let name = command.name();
    let values = |values: Vec<f64>| values.into_iter().map(measured).collect::<Vec<_>>();
    let result = match command {
        Command::Status => backend.status().await.map(|s| {
            vec![
                s.time.to_string(),
                s.state,
                u8::from(s.acquiring).to_string(),
            ]
        }),
        Command::Version => backend.version().await.map(|v| vec![v]),
        Command::GetConfiguration => backend.get_configuration().await.map(|id| vec![id]),
        Command::SetConfiguration { id } => backend.set_configuration(&id).await.map(none),
        Command::GetIntegration => backend
            .get_integration()
            .await
            .map(|ms| vec![ms.to_string()]),
        Command::SetIntegration { milliseconds } => {
            backend.set_integration(milliseconds).await.map(none)
        }
        Command::GetTpi { range } => backend.get_tpi(range).await.map(values),
        Command::GetRms => backend.get_rms().await.map(values),
        Command::GetTp0 => backend.get_tp0().await.map(values),
        Command::Time => backend.time().await.map(|t| vec![t.to_string()]),
        Command::Start { at } => backend.start(at).await.map(none),
        Command::Stop { at } => backend.stop(at).await.map(none),
        Command::SetSection(update) => backend.set_section(&update).await.map(none),
        Command::CalOn { interleave } => backend.cal_on(interleave).await.map(none),
        Command::SetFilename { path } => backend.set_filename(&path).await.map(none),
        Command::ConvertData => backend.convert_data().await.map(none),
        Command::SetEnable { feed1, feed2 } => backend.set_enable(feed1, feed2).await.map(none),
        Command::EndSchedule => backend.end_schedule().await.map(none),
        Command::BackendPark => backend.backend_park().await.map(none),
        Command::SetShift { shift } => backend.set_shift(shift).await.map(none),
    };
    match result {
        Ok(arguments) => Message::ok(name, arguments),
        Err(error) => Message::fail(name, error.reason),
    }
}

/// Writes a measured value (`get-tpi`, `get-rms`, `get-tp0`) with at most
/// six decimals, trailing zeros dropped (`42.123457`, `0.5`, `0`).
///
/// A choice, not an accident: DISCOS reads each value into a `double`, and
/// every reply must stay under its 512-byte buffer, 14 inputs included. Six
/// decimals are as many as DISCOS writes numbers with (six significant
/// digits) and keep a value of the simulator's, below 100, within 9 bytes:
/// 14 of them need 151 bytes, 32 (the most a catalogue allows) 331. Past a
/// million, or when rounding leaves nothing, the value is written with an
/// exponent (`1.5e7`), as DISCOS's own streams read it, so no value takes
/// more than 24 bytes.
///
/// `get-tpi` is what a busy client repeats, so the digits come from `ryu`
/// (the standard formatter's shortest-digits search was the largest cost of
/// answering it): rounded to six decimals, a value has at most 15
/// significant digits, and its shortest form is those digits.
pub fn measured(value: f64) -> String {
    let magnitude = value.abs();
    if !value.is_finite() {
        return value.to_string();
    }
    if magnitude >= 1e6 || (magnitude < 5e-7 && magnitude != 0.0) {
        return format!("{value:e}");
    }
    let rounded = (value * 1e6).round() / 1e6;
    if rounded == 0.0 {
        "0".to_owned()
    } else if rounded.fract() == 0.0 {
        // Whole: no decimal point, as `0` and `100` are written.
        format!("{rounded}")
    } else if magnitude < 1e-3 {
        // `ryu` writes these with an exponent; six decimals are shorter.
        let fixed = format!("{rounded:.6}");
        fixed.trim_end_matches('0').to_owned()
    } else {
        ryu::Buffer::new().format_finite(rounded).to_owned()
    }
}

fn none(_: ()) -> Vec<String> {
    Vec::new()
}

/// The handlers `discos-sim serve --handler` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HandlerKind {
    /// The simulator (the default).
    #[default]
    Simulator,
    /// [`AlwaysOk`].
    AlwaysOk,
    /// [`AlwaysFail`].
    AlwaysFail,
    /// [`AlwaysPanic`].
    AlwaysPanic,
}

impl HandlerKind {
    /// Every kind, with its name on the command line.
    pub const ALL: [(&'static str, HandlerKind); 4] = [
        ("simulator", HandlerKind::Simulator),
        ("always-ok", HandlerKind::AlwaysOk),
        ("always-fail", HandlerKind::AlwaysFail),
        ("always-panic", HandlerKind::AlwaysPanic),
    ];

    /// A handler of this kind; the catalogue is for the simulator only.
    pub fn build(self, catalogue: Option<Catalogue>) -> std::sync::Arc<dyn Handler> {
        match self {
            HandlerKind::Simulator => {
                std::sync::Arc::new(BackendHandler::new(Simulator::new(catalogue)))
            }
            HandlerKind::AlwaysOk => std::sync::Arc::new(AlwaysOk),
            HandlerKind::AlwaysFail => std::sync::Arc::new(AlwaysFail),
            HandlerKind::AlwaysPanic => std::sync::Arc::new(AlwaysPanic),
        }
    }
}

impl std::str::FromStr for HandlerKind {
    type Err = String;

    fn from_str(name: &str) -> Result<HandlerKind, String> {
        HandlerKind::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| {
                let names: Vec<_> = HandlerKind::ALL.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown handler '{name}'; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod measured_tests {
    use super::measured;

    #[test]
    fn values_have_at_most_six_decimals_and_read_back_within_half_a_millionth() {
        let mut x = 0.000_123_456_789_f64;
        let mut values = vec![0.0, -0.0, 5.0, 1e-7, 123.5, -42.25, 99.999_999_9, 1e-6];
        while x < 1e6 {
            values.extend([x, -x, x * 3.7, 1.0 / x]);
            x *= 1.37;
        }
        for _ in 0..10_000 {
            values.push(rand::random_range(0.0..100.0));
        }
        for value in values {
            let written = measured(value);
            let read: f64 = written.parse().unwrap();
            if (5e-7..1e6).contains(&value.abs()) || value == 0.0 {
                assert!(
                    (read - value).abs() <= 5e-7 + 1e-12,
                    "{value:e} → {written}"
                );
                let decimals = written.split_once('.').map_or(0, |(_, f)| f.len());
                assert!(
                    decimals <= 6 && !written.contains('e'),
                    "{value:e} → {written}"
                );
            } else {
                assert_eq!(read, value, "{value:e} → {written}");
            }
            assert!(written.len() <= 24, "{value:e} → {written}");
        }
    }

    #[test]
    fn values_are_written_as_discos_reads_them() {
        assert_eq!(measured(0.0), "0");
        assert_eq!(measured(100.0), "100");
        assert_eq!(measured(42.123_456_789), "42.123457");
        assert_eq!(measured(0.5), "0.5");
        assert_eq!(measured(99.999_999_9), "100");
        assert_eq!(measured(1.5e7), "1.5e7");
        assert_eq!(measured(1e-9), "1e-9");
    }
}
