//! DISCOS as an actor in the features: a client that sends what DISCOS's
//! components send, in the order an observation sends it, and reads every
//! reply as DISCOS reads it.
//!
//! The project's own client judges a reply by the contract; this one judges
//! it by what DISCOS would have made of it. The difference is where a
//! backend that passes the reference's tests still fails at the telescope:
//! a reply ended by a bare LF loses a real character, a second reply is read
//! as the answer to the next request, a `fail` without a reason throws an
//! exception no ACS handler expects, a `get-tpi` that answers two values
//! where DISCOS reads fourteen leaves twelve inputs unset, and most of
//! these are only logged — the observation goes on, with its data wrong.
//!
//! So every operation here ([`Discos::initialize`],
//! [`Discos::measure_system_temperature`], [`Discos::run_scan`], …) does what
//! the component's command line does, and every exchange that is not as
//! DISCOS needs it becomes a [`Problem`]: what DISCOS would have logged or
//! thrown, why, and the requirement of the contract it breaks. A problem
//! DISCOS propagates (a `start` refused) ends the operation, as it ends the
//! scan at the telescope; one DISCOS only logs is kept in
//! [`Discos::problems`] and the operation goes on as DISCOS's does.
//!
//! The wire format is in [`wire`], the configurations DISCOS knows in
//! [`cdb`]. What DISCOS does is taken from its sources (the library
//! `DiscosBackendProtocol`, `Sardara/src/CommandLine.cpp`,
//! `Skarab/src/CommandLine.cpp`), as `docs/protocol.md` states it.

pub mod cdb;
pub mod wire;

use std::fmt;
use std::time::{Duration, SystemTime};

pub use cdb::{Component, Setup};
use wire::{Code, Kind, Parsed, Request, request};

use crate::client::{Client, ClientError, ClientOptions, Received};
use crate::protocol::LineEnd;

/// The name DISCOS's connection goes by in a scenario's transcript.
pub const NAME: &str = "DISCOS";

/// The integration time of a DISCOS procedure unless it says otherwise
/// (the components' `DEFAULT_INTEGRATION`), milliseconds.
pub const DEFAULT_INTEGRATION: i32 = 40;

/// Where the data of the observations go: a FitsWriter-like base
/// directory, project and target, for the file names DISCOS sends.
const DATA_DIRECTORY: &str = "/archive/data/";
const PROJECT: &str = "acceptance";
const TARGET: &str = "3C286";

/// How far the backend's clock may be from this machine's before its time
/// cannot be Unix seconds: a day, far more than any clock is off, far less
/// than milliseconds or ACS ticks read as seconds are.
const CLOCK_SLACK: i64 = 86_400;

/// What went wrong in one exchange, as DISCOS would have seen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The request DISCOS sent, as its line (without CR LF).
    pub request: String,
    /// The line DISCOS read back, escaped as a transcript shows it, with
    /// how it ended when not by CR LF; `None` when none came.
    pub reply: Option<String>,
    /// What DISCOS would have logged or thrown.
    pub logged: String,
    /// Why, in the protocol's terms.
    pub why: String,
    /// The requirement of the contract the backend broke, if one says it.
    pub requirement: Option<&'static str>,
    /// Whether DISCOS's caller sees the failure (the operation stops), or
    /// DISCOS only logs it and goes on.
    pub stops: bool,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A request is a line; anything else is what DISCOS was doing.
        let sent = self.request.starts_with('?');
        match (&self.reply, sent) {
            (Some(reply), true) => write!(f, "DISCOS sent {} and read {reply}", self.request)?,
            (None, true) => write!(f, "DISCOS sent {} and read nothing", self.request)?,
            (Some(reply), false) => write!(f, "DISCOS read {reply} as its {}", self.request)?,
            (None, false) => write!(f, "DISCOS's {}", self.request)?,
        }
        if self.stops {
            write!(f, ": it would have failed with {}", self.logged)?;
        } else {
            write!(f, ": it would have logged {}, and gone on", self.logged)?;
        }
        write!(f, "\n    because {}", self.why)?;
        if let Some(requirement) = self.requirement {
            write!(f, " (requirement `{requirement}`)")?;
        }
        Ok(())
    }
}

/// One read of values, one per input: total power, its zero level, RMS.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// What was read: "total power", "zero level", "RMS"…
    pub what: &'static str,
    /// The request, as its line.
    pub request: String,
    /// How many values DISCOS reads: one per input of its configuration.
    pub inputs: usize,
    /// The values DISCOS read, in input order (fewer than `inputs` when
    /// the reply had fewer, none when it was refused).
    pub values: Vec<f64>,
    /// Whether DISCOS read every value it wanted, each a number.
    pub complete: bool,
}

/// How a component handles a failed request: what it logs, and whether
/// the failure reaches its caller.
struct Handling {
    /// What DISCOS logs for it (its own log line), if anything; otherwise
    /// the exception is what the caller sees.
    logged: Option<String>,
    /// Whether the failure reaches DISCOS's caller.
    stops: bool,
    /// The requirement a `fail`/`invalid` reply breaks, if one says it.
    refusal: Option<&'static str>,
    /// A refusal is acceptable (the second stop at a scan's end).
    refusal_accepted: bool,
}

impl Handling {
    fn propagated(refusal: Option<&'static str>) -> Handling {
        Handling {
            logged: None,
            stops: true,
            refusal,
            refusal_accepted: false,
        }
    }

    fn logged(line: String, refusal: Option<&'static str>) -> Handling {
        Handling {
            logged: Some(line),
            stops: false,
            refusal,
            refusal_accepted: false,
        }
    }
}

/// Why `sendBackendCommand` did not hand back an `ok` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fault {
    /// No line within the reply timeout (`stalled`: part of one came).
    Timeout { after: Duration, stalled: bool },
    /// The backend closed the connection (before or in the middle of a
    /// line).
    Closed,
    /// After a timeout, no late reply came either: DISCOS gives the
    /// connection up.
    GivenUp,
    /// Reading or writing the socket failed.
    Socket(String),
    /// The line, its line end included, does not fit DISCOS's buffer.
    Overrun(usize),
    /// An empty line: `receiveBuffer` returns 0 bytes, which DISCOS takes
    /// for a lost connection.
    Empty,
    /// The library's parser threw.
    Unparsable(&'static str),
    /// A request (`?…`) where a reply was due.
    NotAReply,
    /// A reply named otherwise than the request.
    Misnamed(String),
    /// `fail` or `invalid`, with the first word of its reason.
    Refused { code: Code, word: String },
    /// `fail` or `invalid` with no argument at all.
    Unreasoned(Code),
}

/// DISCOS, connected to a backend as one of its components.
#[derive(Debug)]
pub struct Discos {
    component: Component,
    client: Client,
    /// The CDB row of the last `initialize`, once one was asked for.
    setup: Option<Setup>,
    /// The component's "initialized" flag: set by the first successful
    /// `set-configuration`, never cleared.
    initialized: bool,
    /// How many values DISCOS reads from `get-tpi` and `get-rms`.
    inputs: usize,
    /// How many sections it configures.
    sections: usize,
    /// Per section: start frequency, bandwidth, sample rate, bins.
    section_state: Vec<SectionState>,
    /// The Tsys range that `get-tpi` carries.
    tsys_range: (f64, f64),
    /// The BUSY bit: set when `status` says acquiring, cleared by every
    /// read of a reply; `cal-on` is refused locally while it is set.
    busy: bool,
    /// Scans run so far, for the file names.
    scans: u32,
    /// The name of the request before the current one, to tell a second
    /// reply to it from a misnamed one.
    previous_request: Option<&'static str>,
    /// The last request's reply did not come in time: DISCOS reads (and
    /// throws away) one line before its next request.
    timed_out: bool,
    /// Every reading of values, in order.
    readings: Vec<Reading>,
    /// Everything that went wrong, in order.
    problems: Vec<Problem>,
    /// The file names sent with `set-filename`.
    files: Vec<String>,
    /// What DISCOS read from the last `status`: the acquiring number.
    status: Option<f64>,
    /// What DISCOS read from the last `time`: whole seconds.
    time: Option<i64>,
    /// What DISCOS read from the last `get-configuration`.
    configuration: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct SectionState {
    frequency: f64,
    bandwidth: f64,
    feed: i64,
    polarization: i64,
    sample_rate: f64,
    bins: i64,
}

impl Discos {
    /// Connects as `component` does when it is activated, and reads the
    /// greeting, whose content DISCOS ignores; a greeting that does not
    /// come is a problem (DISCOS's next request would first wait for it
    /// and then drop the connection).
    pub async fn connect(address: &str, component: Component) -> Result<Discos, Problem> {
        Discos::connect_with(address, component, ClientOptions::default()).await
    }

    /// As [`Discos::connect`], waiting for each line as long as `options`
    /// say (DISCOS itself waits 100 s at SRT; a scenario, the client's
    /// default).
    pub async fn connect_with(
        address: &str,
        component: Component,
        options: ClientOptions,
    ) -> Result<Discos, Problem> {
        let (client, greeting) = match Client::open(address, options).await {
            Ok(opened) => opened,
            Err(error) => {
                let (logged, requirement) = match error {
                    ClientError::Connect { .. } => ("ComponentErrors::SocketErrorExImpl", None),
                    ClientError::Closed { .. } => (
                        "SOCKET_DISCONNECTED - remote side shutdown",
                        Some("greeting"),
                    ),
                    // Init ignores the timeout; the first request then
                    // waits for the greeting once more, and gives up.
                    ClientError::Timeout { .. } | ClientError::Stalled { .. } => (
                        "nothing at once, then, at the first request, SOCKET_DISCONNECTED - timeout expired",
                        Some("greeting"),
                    ),
                    _ => ("ComponentErrors::SocketErrorExImpl", None),
                };
                return Err(Problem {
                    request: format!("connection to {address}"),
                    reply: None,
                    logged: logged.into(),
                    why: format!(
                        "{component} connects and reads one line, the greeting, before it sends anything: {error}"
                    ),
                    requirement,
                    stops: true,
                });
            }
        };
        let discos = Discos {
            component,
            client,
            setup: None,
            initialized: false,
            inputs: 0,
            sections: 0,
            section_state: Vec::new(),
            tsys_range: (0.0, 0.0),
            busy: false,
            scans: 0,
            previous_request: None,
            timed_out: false,
            readings: Vec::new(),
            problems: Vec::new(),
            files: Vec::new(),
            status: None,
            time: None,
            configuration: None,
        };
        if greeting.line.raw.len() >= wire::BUFFER {
            return Err(Problem {
                request: "greeting".into(),
                reply: Some(shown(&greeting)),
                logged: "a buffer overrun".into(),
                why: overrun(greeting.line.raw.len()),
                requirement: Some("short-lines"),
                stops: true,
            });
        }
        Ok(discos)
    }

    /// The component DISCOS drives the backend as.
    pub fn component(&self) -> Component {
        self.component
    }

    /// The connection, for its transcript and its teardown.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The connection, for the teardown's last look at it; `None` while
    /// DISCOS still owes a late reply a line (its last request timed out),
    /// which is not the backend's to answer for again.
    pub fn connection_to_look_at(&mut self) -> Option<&mut Client> {
        (!self.timed_out).then_some(&mut self.client)
    }

    /// Closes the connection as the component's shutdown does: nothing is
    /// sent, the socket is closed. Returns the lines that came meanwhile,
    /// which nobody asked for.
    pub async fn close(&mut self) -> Result<Vec<Received>, ClientError> {
        self.client.close().await
    }

    /// Everything that went wrong so far, in order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Every reading of values so far, in order.
    pub fn readings(&self) -> &[Reading] {
        &self.readings
    }

    /// How many values DISCOS reads from `get-tpi` and `get-rms` now.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The configuration DISCOS last initialized the backend as.
    pub fn setup(&self) -> Option<&Setup> {
        self.setup.as_ref()
    }

    /// The file names DISCOS sent.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The acquiring number DISCOS read from the last `status`.
    pub fn status(&self) -> Option<f64> {
        self.status
    }

    /// The whole seconds DISCOS read from the last `time`.
    pub fn time(&self) -> Option<i64> {
        self.time
    }

    /// The configuration DISCOS read from the last `get-configuration`.
    pub fn configuration(&self) -> Option<&str> {
        self.configuration.as_deref()
    }

    /// Changes the Tsys range every later `get-tpi` carries, as the
    /// operator's `setTsysRange=f,bw` does; nothing is sent.
    pub fn set_tsys_range(&mut self, frequency: f64, bandwidth: f64) {
        self.tsys_range = (frequency, bandwidth);
    }

    /// A bandwidth the component would not send (past its limit, or with
    /// twice it past the sample rate's) is refused locally, as DISCOS does.
    fn check_bandwidth(&self, bandwidth: f64) -> Result<(), Problem> {
        let limits = self.component.limits();
        if !(0.0..=limits.max_bandwidth).contains(&bandwidth)
            || 2.0 * bandwidth > limits.max_sample_rate
        {
            return Err(local(
                format!(
                    "setSection=*,*,{},*,*,{},*",
                    wire::number(bandwidth),
                    wire::number(2.0 * bandwidth)
                ),
                "ComponentErrors::ValueOutofRangeExImpl",
                format!(
                    "{} sends bandwidths up to {} MHz with a sample rate of twice the bandwidth, up to {} MHz",
                    self.component,
                    wire::number(limits.max_bandwidth),
                    wire::number(limits.max_sample_rate)
                ),
            ));
        }
        Ok(())
    }

    /// `initialize=<id>` followed by the rest of a backend procedure, as
    /// the component runs it: `set-configuration`; then the sections
    /// (Sardara: `setSection=*,…`, one line per section; Skarab: one
    /// `setSection=<j>,…` per section), each with the CDB row's values, or
    /// with `bandwidth` and twice it as the sample rate; `set-integration`
    /// of 40 ms; `cal-on` without interleave.
    ///
    /// An id that is not a row of DISCOS's CDB is refused locally, before
    /// anything is sent, as DISCOS does: the error says which ids it knows.
    pub async fn initialize(&mut self, id: &str, bandwidth: Option<f64>) -> Result<(), Problem> {
        let Some(setup) = self.component.setup(id) else {
            let setups = self.component.setups();
            let known: Vec<&str> = setups.iter().map(|s| s.id.as_str()).collect();
            return Err(local(
                format!("initialize={id}"),
                "BackendsErrors::ConfigurationErrorExImpl",
                format!(
                    "{} at SRT has no configuration \"{id}\" in its CDB, so it sends nothing; it knows {}",
                    self.component,
                    known.join(", ")
                ),
            ));
        };
        if let Some(bandwidth) = bandwidth {
            self.check_bandwidth(bandwidth)?;
        }
        // initializeConfiguration: the row is taken before anything is
        // sent, whatever the backend answers.
        self.sections = setup.inputs;
        self.section_state = (0..setup.inputs)
            .map(|input| SectionState {
                frequency: match self.component {
                    Component::Sardara => 0.0,
                    Component::Skarab if setup.bandwidth == 1400.0 => 0.0,
                    Component::Skarab => 1000.0 - setup.bandwidth / 2.0,
                },
                bandwidth: setup.bandwidth,
                feed: setup.feeds[input],
                polarization: setup.polarizations[input],
                sample_rate: match self.component {
                    Component::Sardara => 3000.0,
                    Component::Skarab => 2.0 * setup.bandwidth,
                },
                bins: setup.bins,
            })
            .collect();
        self.setup = Some(setup.clone());
        let handling = match self.component {
            Component::Sardara => Handling {
                logged: Some(format!(
                    "BACKEND_SARDARA_INITIALIZATION ERROR, CONFIGURATION: {id}, then BackendsErrors::ConfigurationErrorExImpl"
                )),
                stops: true,
                refusal: Some("ids-as-written"),
                refusal_accepted: false,
            },
            Component::Skarab => Handling::logged(
                format!("BACKEND_SKARAB_INITIALIZATION ERROR, CONFIGURATION: {id}"),
                Some("ids-as-written"),
            ),
        };
        let why_refused = "DISCOS sends its configuration ids as its CDB writes them";
        if self
            .command(request::set_configuration(id), handling, why_refused)
            .await?
            .is_some()
        {
            // setDefaultConfiguration
            self.inputs = setup.inputs;
            self.sections = setup.sections;
            self.initialized = true;
        }
        self.configure_sections(bandwidth).await;
        self.set_integration(DEFAULT_INTEGRATION).await?;
        self.calibration_on(0).await
    }

    /// The procedure's `setSection` line(s), sent only once initialized
    /// (before, the component sends nothing); every failure is logged only.
    async fn configure_sections(&mut self, bandwidth: Option<f64>) {
        if !self.initialized {
            return;
        }
        for section in 0..self.sections {
            let Some(mut state) = self.section_state.get(section).cloned() else {
                break;
            };
            if let Some(bandwidth) = bandwidth {
                state.bandwidth = bandwidth;
                state.sample_rate = 2.0 * bandwidth;
            }
            let request = request::set_section(
                section as i64,
                state.frequency,
                state.bandwidth,
                state.feed,
                state.polarization,
                state.sample_rate,
                state.bins,
            );
            let handling = Handling::logged(
                format!("BACKEND_{}_SET_SECTION ERROR", self.component.log_name()),
                Some("set-section"),
            );
            let why =
                "DISCOS sends every section of the configuration, with the values of its own table";
            if let Ok(Some(_)) = self.command(request, handling, why).await {
                for other in &mut self.section_state {
                    other.sample_rate = state.sample_rate;
                }
                self.section_state[section] = state;
            }
        }
    }

    /// `integration=<ms>`: `set-integration`, its failure the caller's.
    pub async fn set_integration(&mut self, milliseconds: i32) -> Result<(), Problem> {
        if !(5..=1000).contains(&milliseconds) {
            return Err(local(
                format!("integration={milliseconds}"),
                "ComponentErrors::ValueOutofRangeExImpl",
                format!(
                    "{} sends integration times of 5 to 1000 ms only",
                    self.component
                ),
            ));
        }
        self.command(
            request::set_integration(milliseconds),
            Handling::propagated(Some("integration")),
            "DISCOS sends integration times of 5 to 1000 ms",
        )
        .await
        .map(drop)
    }

    /// `calSwitch=<n>`: `cal-on`, with the interleave only above 0; refused
    /// locally while the BUSY bit is set; its failure the caller's.
    pub async fn calibration_on(&mut self, interleave: i64) -> Result<(), Problem> {
        if self.busy {
            return Err(local(
                format!("calSwitch={interleave}"),
                "BackendsErrors::BackendBusyExImpl",
                format!(
                    "{} refuses to switch the calibration mark while the last status said acquiring",
                    self.component
                ),
            ));
        }
        self.command(
            request::cal_on(interleave),
            Handling::propagated(Some("cal-on")),
            "DISCOS switches the mark on before every observation",
        )
        .await
        .map(drop)
    }

    /// The operator's `tsys`: with the receiver's mark off, total power and
    /// the zero level (two `get-tpi`, the second then set to 0); with it
    /// on, total power again. Every failure is logged only: the
    /// measurement comes back short or empty.
    pub async fn measure_system_temperature(&mut self) {
        self.read_total_power("total power").await;
        self.read_total_power("zero level").await;
        self.read_total_power("total power with the calibration mark")
            .await;
    }

    /// IDL `getTpi`: one `get-tpi` with the Tsys range.
    pub async fn read_total_power(&mut self, what: &'static str) -> Reading {
        let (frequency, bandwidth) = self.tsys_range;
        let request = request::get_tpi(frequency, bandwidth);
        let log = format!("BACKEND_{}_GET-TPI ERROR", self.component.log_name());
        let why = "DISCOS has sent get-tpi with its Tsys range, frequency and bandwidth (0,0 unless the operator set one), since 2023";
        self.read_values(what, request, log, Some("tsys-range"), why)
            .await
    }

    /// The operator's `getRms`: one `get-rms`.
    pub async fn read_rms(&mut self) -> Reading {
        let log = format!("BACKEND_{}_GET-RMS ERROR", self.component.log_name());
        let why = "DISCOS asks for the RMS of every input with get-rms";
        self.read_values("RMS", request::get_rms(), log, Some("get-rms"), why)
            .await
    }

    /// `getSample`/`getRms`: the reply's first values, one per input, as
    /// doubles; a missing one throws inside DISCOS, which logs and leaves
    /// the rest unset; a refusal leaves the reading empty.
    async fn read_values(
        &mut self,
        what: &'static str,
        request: Request,
        log: String,
        refusal: Option<&'static str>,
        why: &str,
    ) -> Reading {
        let text = request.text();
        let inputs = self.inputs;
        let before = self.problems.len();
        let reply = self
            .command(request, Handling::logged(log.clone(), refusal), why)
            .await;
        let mut reading = Reading {
            what,
            request: text.clone(),
            inputs,
            values: Vec::new(),
            complete: false,
        };
        let Ok(Some(reply)) = reply else {
            self.readings.push(reading.clone());
            return reading;
        };
        for (index, field) in reply.arguments.iter().take(inputs).enumerate() {
            let value = wire::read_double(field);
            if !wire::is_whole_number(field) {
                self.problems.push(Problem {
                    request: text.clone(),
                    reply: self.last_shown(),
                    logged: "nothing".into(),
                    why: format!(
                        "value {index} is \"{field}\", which is not a number: DISCOS reads it as {} without noticing",
                        wire::number(value)
                    ),
                    requirement: Some("one-value-per-input"),
                    stops: false,
                });
            }
            reading.values.push(value);
        }
        if reading.values.len() < inputs {
            let setup = self.setup.as_ref().map_or("", |s| s.id.as_str());
            self.problems.push(Problem {
                request: text,
                reply: self.last_shown(),
                logged: log,
                why: format!(
                    "the reply has {} value(s), DISCOS reads {inputs}, one per input of {setup}: reading value {} throws \"cannot access command argument\", and inputs {}..{} are left unset",
                    reply.arguments.len(),
                    reading.values.len(),
                    reading.values.len(),
                    inputs - 1
                ),
                requirement: Some("one-value-per-input"),
                stops: false,
            });
        }
        reading.complete = reading.values.len() == inputs && self.problems.len() == before;
        if what == "zero level" {
            // getZero reads the values and then sets them all to 0.
            reading.values.iter_mut().for_each(|value| *value = 0.0);
        }
        self.readings.push(reading.clone());
        reading
    }

    /// A read of the ACS property `status`: `?status`, of which DISCOS
    /// reads only the third field, the acquiring flag, with `atof`.
    pub async fn read_status(&mut self) -> Option<f64> {
        let log = format!("BACKEND_{}_GET_STATUS_ERROR", self.component.log_name());
        let why = "DISCOS reads the third field of status as its acquiring flag";
        let reply = self
            .command(
                request::status(),
                Handling::logged(log.clone(), Some("acquiring-flag")),
                why,
            )
            .await;
        let Ok(Some(reply)) = reply else {
            return None;
        };
        let Some(word) = reply.word(2) else {
            self.problem_here(
                "?status",
                log,
                format!(
                    "the reply has {} field(s) after its code; DISCOS reads the third, the acquiring flag, and throws \"cannot access command argument\"",
                    reply.arguments.len()
                ),
                Some("acquiring-flag"),
            );
            return None;
        };
        let value = wire::atof(&word);
        if value == 1.0 {
            self.busy = true;
        } else if value == 0.0 {
            self.busy = false;
        }
        if !(value == 0.0 || value == 1.0) || !wire::is_whole_number(&word) {
            self.problem_here(
                "?status",
                "nothing".into(),
                format!(
                    "the acquiring flag is \"{word}\": DISCOS reads it with atof as {}, which is {}",
                    wire::number(value),
                    if value == 0.0 {
                        "not acquiring".to_owned()
                    } else if value == 1.0 {
                        "acquiring".to_owned()
                    } else {
                        "neither 0 (not acquiring) nor 1 (acquiring)".to_owned()
                    }
                ),
                Some("acquiring-flag"),
            );
        }
        self.status = Some(value);
        Some(value)
    }

    /// A read of the ACS property `time`: `?time`, its first field read as
    /// a `long long`, whole Unix seconds.
    pub async fn read_time(&mut self) -> Option<i64> {
        let log = format!("BACKEND_{}_GET_TIME_ERROR", self.component.log_name());
        let why = "DISCOS reads the backend's clock from time";
        let reply = self
            .command(
                request::time(),
                Handling::logged(log.clone(), Some("unix-seconds")),
                why,
            )
            .await;
        let Ok(Some(reply)) = reply else {
            return None;
        };
        let Some(seconds) = reply.long_long(0) else {
            self.problem_here(
                "?time",
                log,
                "the reply has no time: DISCOS's read of it throws \"cannot access command argument\"".into(),
                Some("unix-seconds"),
            );
            return None;
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() as i64);
        if (seconds - now).abs() > CLOCK_SLACK {
            self.problem_here(
                "?time",
                "nothing".into(),
                format!(
                    "DISCOS reads the time's whole part as Unix seconds, {seconds}, which is {} from now ({now}): a clock in other units, or a time that is no number, gives DISCOS a wrong date",
                    humantime::format_duration(Duration::from_secs((seconds - now).unsigned_abs()))
                ),
                Some("unix-seconds"),
            );
        }
        self.time = Some(seconds);
        Some(seconds)
    }

    /// IDL `getConfiguration`: the first word of the reply's first field;
    /// any failure gives DISCOS an empty string, silently.
    pub async fn read_configuration(&mut self) -> String {
        let reply = self
            .command(
                request::get_configuration(),
                Handling::logged("nothing (an empty configuration)".into(), None),
                "DISCOS reads back the configuration it set",
            )
            .await;
        let configuration = match reply {
            Ok(Some(reply)) => reply.word(0).unwrap_or_default(),
            _ => String::new(),
        };
        self.configuration = Some(configuration.clone());
        configuration
    }

    /// A scan of `subscans` subscans, as the Scheduler runs one: each
    /// subscan `start`, then at its end `stop` and `set-filename` with the
    /// FitsWriter's name for it; after the last, the second `stop` that
    /// ends every scan (the next scan's preparation, or the schedule's
    /// end), whose refusal DISCOS expects and ignores.
    pub async fn run_scan(&mut self, subscans: u32) -> Result<(), Problem> {
        self.scans += 1;
        let base = fits_base(SystemTime::now());
        for subscan in 1..=subscans {
            self.command(
                request::start(0),
                Handling::propagated(Some("start-stop")),
                "DISCOS starts every subscan with start; a refusal fails the Scheduler's subscan",
            )
            .await?;
            self.command(
                request::stop(0),
                Handling::propagated(Some("start-stop")),
                "DISCOS ends every subscan with stop; a refusal fails it, and the file name is not sent",
            )
            .await?;
            let name = format!(
                "{DATA_DIRECTORY}{PROJECT}/{}/{base}/tmp/{base}_{:03}_{subscan:03}.fits",
                &base[..8],
                self.scans
            );
            self.send_filename(&name).await?;
        }
        self.terminate().await;
        Ok(())
    }

    /// `terminate`: a `stop` whose every failure DISCOS swallows, since
    /// the backend has already been stopped; a refusal is expected.
    pub async fn terminate(&mut self) {
        let handling = Handling {
            logged: Some("\"backend error while issuing a stop ascquisition\" (debug)".into()),
            stops: false,
            refusal: Some("idle-stop"),
            refusal_accepted: true,
        };
        let why = "DISCOS sends a second stop at every scan's end, with nothing acquiring";
        let _ = self.command(request::stop(0), handling, why).await;
    }

    /// `sendTargetFileName`: `?set-filename,<name>` built by hand; the
    /// reply is read and never parsed: any line will do for DISCOS, but it
    /// must come, have something before its LF and fit the buffer. A
    /// refusal DISCOS does not notice is kept as a problem all the same.
    async fn send_filename(&mut self, name: &str) -> Result<(), Problem> {
        let request = request::set_filename(name);
        self.files.push(name.to_owned());
        let text = request.text();
        let previous = self.previous_request.replace(request.name);
        let received = match self.exchange(&request).await {
            Ok(received) => received,
            Err(fault) => {
                let problem = self.problem(
                    &text,
                    None,
                    &fault,
                    &Handling::propagated(None),
                    "",
                    previous,
                );
                return Err(self.keep(problem));
            }
        };
        let fault =
            if received.line.raw.len() >= wire::BUFFER || received.line.end == LineEnd::Discarded {
                Some(Fault::Overrun(received.line.raw.len()))
            } else if received.line.end == LineEnd::Eof {
                Some(Fault::Closed)
            } else if stored(&received).is_empty() {
                Some(Fault::Empty)
            } else {
                None
            };
        match fault {
            Some(fault) => {
                let problem = self.problem(
                    &text,
                    Some(&received),
                    &fault,
                    &Handling::propagated(None),
                    "",
                    previous,
                );
                Err(self.keep(problem))
            }
            None => {
                // DISCOS never looks; a refusal still means the data go
                // where nobody will look for them.
                if let Ok(parsed) = wire::parse(stored(&received))
                    && matches!(parsed.code, Some(Code::Fail | Code::Invalid))
                {
                    self.problem_here(
                        &text,
                        "nothing".into(),
                        "the backend refused the file name; DISCOS never reads this reply, so the refusal goes unnoticed and the subscan's data do not go where DISCOS said".into(),
                        Some("set-filename"),
                    );
                }
                Ok(())
            }
        }
    }

    /// IDL `endSchedule`: Skarab sends `end-schedule`, swallowing any
    /// failure; Sardara sends nothing.
    pub async fn end_schedule(&mut self) {
        if self.component == Component::Skarab {
            let handling =
                Handling::logged("\"endSchedule\" (debug)".into(), Some("schedule-commands"));
            let _ = self
                .command(
                    request::end_schedule(),
                    handling,
                    "Skarab ends every schedule with end-schedule",
                )
                .await;
        }
    }

    /// The operator's `backendPark`: Skarab sends `backend-park`,
    /// swallowing any failure; Sardara only logs.
    pub async fn park(&mut self) {
        if self.component == Component::Skarab {
            let handling =
                Handling::logged("\"backendPark\" (debug)".into(), Some("schedule-commands"));
            let _ = self
                .command(
                    request::backend_park(),
                    handling,
                    "Skarab parks the backend with backend-park",
                )
                .await;
        }
    }

    /// `setShift=<n>`: Skarab's `set-shift`, its failure the caller's;
    /// Sardara has no such command.
    pub async fn set_shift(&mut self, shift: i32) -> Result<(), Problem> {
        if self.component != Component::Skarab {
            return Err(local(
                format!("setShift={shift}"),
                "an unknown command",
                "only Skarab sends set-shift".into(),
            ));
        }
        self.command(
            request::set_shift(shift),
            Handling::propagated(Some("set-shift")),
            "Skarab sends the shift as an integer",
        )
        .await
        .map(drop)
    }

    /// `enable=<f1>;<f2>`, nodding between two feeds of the K-band
    /// receiver: only once initialized; DISCOS then reads 4 values (Skarab:
    /// 2 when both feeds are the same, except 7 and 7); `set-enable`'s
    /// failure is the caller's.
    pub async fn enable_feeds(&mut self, first: i32, second: i32) -> Result<(), Problem> {
        let line = format!("enable={first};{second}");
        if !self.initialized {
            return Err(local(
                line,
                "BackendsErrors::ConfigurationErrorExImpl",
                format!("{} is not initialized, so it sends nothing", self.component),
            ));
        }
        let all_seven = self.component == Component::Skarab && first == 7 && second == 7;
        let feeds = (0..=6).contains(&first) && (0..=6).contains(&second);
        if !(all_seven || feeds) {
            return Err(local(
                line,
                "ComponentErrors::ValueOutofRangeExImpl",
                "the K-band receiver's feeds are 0 to 6".into(),
            ));
        }
        let stokes = self.setup.as_ref().is_some_and(Setup::is_stokes);
        if !all_seven {
            let inputs = if self.component == Component::Skarab && first == second {
                2
            } else {
                4
            };
            self.inputs = inputs;
            self.sections = if stokes { inputs / 2 } else { inputs };
        }
        self.command(
            request::set_enable(first, second),
            Handling::propagated(Some("set-enable")),
            "DISCOS enables the two feeds it nods between",
        )
        .await
        .map(drop)
    }

    /// `sendBackendCommand`: sends `request`, reads one line and judges it
    /// as DISCOS does. `Ok(Some(reply))` for an `ok` reply; `Ok(None)` for
    /// a failure DISCOS only logs (kept in [`Discos::problems`]), or a
    /// refusal it expects; `Err` for a failure that reaches its caller.
    async fn command(
        &mut self,
        request: Request,
        handling: Handling,
        why: &str,
    ) -> Result<Option<Parsed>, Problem> {
        let text = request.text();
        let result = self.exchange(&request).await;
        let received = result.as_ref().ok().cloned();
        let outcome = result.and_then(|received| judge(&request, &received));
        let previous = self.previous_request.replace(request.name);
        // Any line read clears BUSY, whatever it says.
        if received.is_some() {
            self.busy = false;
        }
        // A line that lost its last character to a missing CR may still
        // parse: DISCOS then works with what it misread.
        if let (Some(received), Ok(parsed)) = (&received, &outcome)
            && received.line.end == LineEnd::Lf
            && !stored(received).is_empty()
        {
            let lost = latin1_char(stored(received).last().copied().unwrap_or(b' '));
            self.problems.push(Problem {
                request: text.clone(),
                reply: Some(shown(received)),
                logged: "nothing".into(),
                why: format!(
                    "the line ends with a bare LF, so the character DISCOS drops as the CR is the reply's own last one, {lost:?}: DISCOS read it as {}",
                    describe(parsed)
                ),
                requirement: Some("crlf"),
                stops: false,
            });
        }
        match outcome {
            Ok(parsed) => Ok(Some(parsed)),
            Err(Fault::Refused { word, .. }) if handling.refusal_accepted && !word.is_empty() => {
                Ok(None)
            }
            Err(fault) => {
                let problem =
                    self.problem(&text, received.as_ref(), &fault, &handling, why, previous);
                let problem = self.keep(problem);
                if handling.stops {
                    Err(problem)
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// Sends the request's line and reads the next line, whatever it is.
    async fn exchange(&mut self, request: &Request) -> Result<Received, Fault> {
        // checkConnection: the late reply to a request that timed out is
        // read and dropped first; none again, and the link is given up.
        if std::mem::take(&mut self.timed_out) {
            match self.client.receive_line().await {
                Ok(_) => {}
                Err(ClientError::Timeout { .. } | ClientError::Stalled { .. }) => {
                    return Err(Fault::GivenUp);
                }
                Err(ClientError::Closed { .. }) => return Err(Fault::Closed),
                Err(error) => return Err(Fault::Socket(error.to_string())),
            }
        }
        if let Err(error) = self.client.send_line(request.text().as_bytes()).await {
            return Err(Fault::Socket(error.to_string()));
        }
        match self.client.receive_line().await {
            Ok(received) => Ok(received),
            Err(ClientError::Timeout { after, .. }) => {
                self.timed_out = true;
                Err(Fault::Timeout {
                    after,
                    stalled: false,
                })
            }
            Err(ClientError::Stalled { after, .. }) => {
                self.timed_out = true;
                Err(Fault::Timeout {
                    after,
                    stalled: true,
                })
            }
            Err(ClientError::Closed { .. }) => Err(Fault::Closed),
            Err(error) => Err(Fault::Socket(error.to_string())),
        }
    }

    fn keep(&mut self, problem: Problem) -> Problem {
        self.problems.push(problem.clone());
        problem
    }

    fn last_shown(&self) -> Option<String> {
        self.client.last_line().map(shown)
    }

    fn problem_here(
        &mut self,
        request: &str,
        logged: String,
        why: String,
        requirement: Option<&'static str>,
    ) {
        self.problems.push(Problem {
            request: request.to_owned(),
            reply: self.last_shown(),
            logged,
            why,
            requirement,
            stops: false,
        });
    }

    /// The problem a fault makes, in DISCOS's words.
    fn problem(
        &self,
        request: &str,
        received: Option<&Received>,
        fault: &Fault,
        handling: &Handling,
        why: &str,
        previous: Option<&'static str>,
    ) -> Problem {
        let lost = received.is_some_and(|r| r.line.end == LineEnd::Lf);
        let (thrown, because, requirement) = explain(fault, lost, handling, why, previous);
        let logged = match &handling.logged {
            Some(line) => format!("{line} on {thrown}"),
            None => thrown,
        };
        Problem {
            request: request.to_owned(),
            reply: received.map(shown),
            logged,
            why: because,
            requirement,
            stops: handling.stops,
        }
    }
}

/// What DISCOS throws for a fault, why in its words, and the requirement
/// the backend broke, if one says it.
type Explained = (String, String, Option<&'static str>);

/// How DISCOS takes `fault`; `lost` says whether the line ended with a bare
/// LF (DISCOS drops the character before it), `previous` is the request
/// before this one.
fn explain(
    fault: &Fault,
    lost: bool,
    handling: &Handling,
    why: &str,
    previous: Option<&'static str>,
) -> Explained {
    match fault {
        Fault::Timeout { after, stalled } => (
            "ComponentErrors::TimeoutExImpl".into(),
            if *stalled {
                format!(
                    "part of a line came within {after:?}, and never its LF: DISCOS reads up to a LF, and would wait out its CommandLineTimeout (100 s at SRT)"
                )
            } else {
                format!(
                    "no line came within {after:?} (DISCOS waits its CommandLineTimeout, 100 s at SRT, then reads and throws away one line before its next request)"
                )
            },
            Some(if *stalled { "crlf" } else { "one-reply" }),
        ),
        Fault::Closed => (
            "BackendsErrors::ConnectionExImpl (SOCKET_DISCONNECTED - remote side shutdown)".into(),
            "the backend closed the connection instead of replying".into(),
            Some("one-reply"),
        ),
        Fault::GivenUp => (
            "SOCKET_DISCONNECTED - timeout expired".into(),
            "the reply to an earlier request never came: before this request DISCOS waited for it once more, then took the connection for lost".into(),
            Some("one-reply"),
        ),
        Fault::Socket(error) => (
            "ComponentErrors::SocketErrorExImpl".into(),
            format!("the connection failed: {error}"),
            None,
        ),
        Fault::Overrun(length) => (
            "a buffer overrun".into(),
            overrun(*length),
            Some("short-lines"),
        ),
        Fault::Empty => (
            "BackendsErrors::ConnectionExImpl".into(),
            "the line is empty, a bare LF: DISCOS's read returns 0 bytes, which it takes for a lost connection".into(),
            Some("crlf"),
        ),
        Fault::Unparsable(error) => unparsable(error, lost),
        Fault::NotAReply => (
            "BackendsErrors::ReplyNotValidExImpl".into(),
            "a request ('?') came where the reply was due".into(),
            Some("one-reply"),
        ),
        Fault::Misnamed(name) => misnamed(name, previous),
        Fault::Refused { code, word } => refused(*code, word, why, handling),
        Fault::Unreasoned(code) => (
            "BackendProtocolError(\"cannot access command argument\"), a C++ exception outside every ACS error".into(),
            format!(
                "the backend answered {} without a reason: DISCOS reads the reason of every refusal, and throws when there is none",
                code.as_str()
            ),
            Some("reason-given"),
        ),
    }
}

/// A line DISCOS's parser cannot read.
fn unparsable(error: &str, lost: bool) -> Explained {
    (
        format!("BackendProtocolError(\"{error}\"), a C++ exception outside every ACS error"),
        if lost {
            "the line ends with a bare LF, so DISCOS dropped its last real character, and what is left does not parse".into()
        } else {
            format!(
                "DISCOS's parser needs '!', the name, a comma and exactly ok, fail or invalid: {error}"
            )
        },
        Some(if lost {
            "crlf"
        } else if error == "invalid message code" {
            "one-reply"
        } else {
            "code-first"
        }),
    )
}

/// A reply named otherwise than its request: as the request before it, a
/// second reply to that one.
fn misnamed(name: &str, previous: Option<&'static str>) -> Explained {
    let extra = previous.is_some_and(|previous| previous == name);
    (
        "BackendsErrors::ReplyNotValidExImpl".into(),
        if extra {
            format!(
                "the reply is named '{name}', the request before this one: a second reply to it, which DISCOS reads as the reply to this request (and every later reply one request late)"
            )
        } else {
            format!("the reply is named '{name}', not as its request")
        },
        Some(if extra { "one-reply" } else { "same-name" }),
    )
}

/// A `fail` or `invalid` reply, whose reason's first word DISCOS keeps.
fn refused(code: Code, word: &str, why: &str, handling: &Handling) -> Explained {
    (
        format!("BackendsErrors::BackendFailExImpl, reason \"{word}\" (a reason's first word)"),
        if word.is_empty() {
            format!(
                "the backend answered {} with an empty reason, which DISCOS logs as nothing",
                code.as_str()
            )
        } else if why.is_empty() {
            format!("the backend answered {}", code.as_str())
        } else {
            format!("the backend answered {}; {why}", code.as_str())
        },
        if word.is_empty() {
            Some("reason-given")
        } else {
            handling.refusal
        },
    )
}

/// A problem DISCOS finds before sending anything: the scenario asked
/// DISCOS for something it does not do.
fn local(what: String, logged: &str, why: String) -> Problem {
    Problem {
        request: what,
        reply: None,
        logged: logged.to_owned(),
        why,
        requirement: None,
        stops: true,
    }
}

/// What `receiveBuffer` stores: the bytes before the LF.
fn stored(received: &Received) -> &[u8] {
    let raw = &received.line.raw[..];
    raw.strip_suffix(b"\n").unwrap_or(raw)
}

/// How DISCOS's library, then `sendBackendCommand`, judge one line.
fn judge(request: &Request, received: &Received) -> Result<Parsed, Fault> {
    // DISCOS reads byte by byte: the connection's end in the middle of a
    // line is the connection's end, whatever came before it.
    if received.line.end == LineEnd::Eof {
        return Err(Fault::Closed);
    }
    if received.line.raw.len() >= wire::BUFFER || received.line.end == LineEnd::Discarded {
        return Err(Fault::Overrun(received.line.raw.len()));
    }
    let stored = stored(received);
    if stored.is_empty() {
        return Err(Fault::Empty);
    }
    let parsed = wire::parse(stored).map_err(Fault::Unparsable)?;
    if parsed.kind != Kind::Reply {
        return Err(Fault::NotAReply);
    }
    if parsed.name != request.name {
        return Err(Fault::Misnamed(parsed.name));
    }
    match parsed.code {
        Some(Code::Ok) => Ok(parsed),
        Some(code) => match parsed.word(0) {
            Some(word) => Err(Fault::Refused { code, word }),
            None => Err(Fault::Unreasoned(code)),
        },
        None => Err(Fault::NotAReply),
    }
}

fn overrun(length: usize) -> String {
    format!(
        "the line is {length} bytes long, its line end included: DISCOS copies a reply into a {}-byte buffer with no bounds check, so this one overruns it (undefined behaviour: a crash, or memory overwritten)",
        wire::BUFFER
    )
}

/// A received line as a transcript shows it, with how it ended when not by
/// CR LF.
fn shown(received: &Received) -> String {
    match received.line.end {
        LineEnd::CrLf => received.shown(),
        end => format!("{} \u{27e8}{}\u{27e9}", received.shown(), end.describe()),
    }
}

fn latin1_char(byte: u8) -> char {
    char::from(byte)
}

/// What DISCOS made of a line, for a message.
fn describe(parsed: &Parsed) -> String {
    let mut text = format!(
        "{}{}",
        if parsed.kind == Kind::Reply { '!' } else { '?' },
        parsed.name
    );
    if let Some(code) = parsed.code {
        text.push(',');
        text.push_str(code.as_str());
    }
    for argument in &parsed.arguments {
        text.push(',');
        text.push_str(&crate::protocol::escape_line(argument));
    }
    text
}

/// The FitsWriter's base name of a scan starting at `at`:
/// `<YYYYMMDD-hhmmss>-<project>-<target>`.
fn fits_base(at: SystemTime) -> String {
    // RFC 3339 in UTC: 2025-01-10T09:30:12Z.
    let stamp = humantime::format_rfc3339_seconds(at).to_string();
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    format!("{}-{}-{PROJECT}-{TARGET}", &digits[..8], &digits[8..14])
}

#[cfg(test)]
mod tests;
