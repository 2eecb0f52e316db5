//! Typed commands: every request of protocol 1.4, parsed and argument-checked.
//!
//! Parse, don't validate: once a request is a [`Command`] its arguments have
//! the right count and types, so a backend never handles raw strings and
//! every backend refuses a malformed argument with the same reason.

use super::message::Message;
use super::timestamp::{Timestamp, TimestampError};

/// The protocol version this crate speaks, sent in the handshake.
pub const PROTOCOL_VERSION: &str = "1.4";

/// The names of the commands: protocol 1.4's, and `get-rms`, which DISCOS
/// sends although no document has it. Each has a clause of its own in the
/// contract, anchored by its name.
pub const COMMAND_NAMES: [&str; 20] = [
    "status",
    "version",
    "get-configuration",
    "set-configuration",
    "get-integration",
    "set-integration",
    "get-tpi",
    "get-rms",
    "get-tp0",
    "time",
    "start",
    "stop",
    "set-section",
    "cal-on",
    "set-filename",
    "convert-data",
    "set-enable",
    "end-schedule",
    "backend-park",
    "set-shift",
];

/// A request of protocol 1.4 with its arguments checked and typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `status`: time, state and whether the backend acquires.
    Status,
    /// `version`: the protocol version.
    Version,
    /// `get-configuration`: the current configuration id.
    GetConfiguration,
    /// `set-configuration,id`.
    SetConfiguration {
        /// The configuration id, never empty.
        id: String,
    },
    /// `get-integration`: the integration time in milliseconds.
    GetIntegration,
    /// `set-integration,ms`.
    SetIntegration {
        /// Integration time in milliseconds.
        milliseconds: u64,
    },
    /// `get-tpi[,frequency,bandwidth]`: total power, one value per input of
    /// the configuration in use.
    GetTpi {
        /// The Tsys range DISCOS sends with every request (`0,0` unless the
        /// operator chose one); `None` when the request names none.
        range: Option<TsysRange>,
    },
    /// `get-rms`: the RMS of the total power, one value per input. In no
    /// document of the protocol, but sent by DISCOS.
    GetRms,
    /// `get-tp0`: total power with the inputs terminated (zero level).
    GetTp0,
    /// `time`: the backend's clock.
    Time,
    /// `start[,time]`: start acquiring now or at a time.
    Start {
        /// When to start; `None` for now.
        at: Option<Timestamp>,
    },
    /// `stop[,time]`: stop acquiring now or at a time.
    Stop {
        /// When to stop; `None` for now.
        at: Option<Timestamp>,
    },
    /// `set-section,sect,startFreq,bw,feed,mode,sampleRate,bins`.
    SetSection(SectionUpdate),
    /// `cal-on[,interleave]`: switch the calibration mark on.
    CalOn {
        /// Samples between calibration marks; 0 (the default) for none.
        interleave: u64,
    },
    /// `set-filename,path`: where the data goes.
    SetFilename {
        /// The file name, never empty.
        path: String,
    },
    /// `convert-data` (1.2): convert the acquired data.
    ConvertData,
    /// `set-enable,feed1,feed2` (1.3): the feeds to acquire.
    SetEnable {
        /// First enabled feed.
        feed1: i64,
        /// Second enabled feed.
        feed2: i64,
    },
    /// `end-schedule` (1.4): the schedule is over.
    EndSchedule,
    /// `backend-park` (1.4): put the backend in its rest state.
    BackendPark,
    /// `set-shift,shift` (1.4).
    SetShift {
        /// The shift, an integer.
        shift: i64,
    },
}

/// The Tsys range of a `get-tpi` request, in MHz: where in the band DISCOS
/// measures the system temperature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TsysRange {
    /// Frequency, MHz.
    pub frequency: f64,
    /// Bandwidth, MHz.
    pub bandwidth: f64,
}

/// A `set-section` request; `None` in a field stands for `*`, "leave unchanged".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SectionUpdate {
    /// The section to change; `None` (`*`) changes every section.
    pub section: Option<i64>,
    /// Start frequency, MHz.
    pub start_frequency: Option<f64>,
    /// Bandwidth, MHz.
    pub bandwidth: Option<f64>,
    /// Feed number.
    pub feed: Option<i64>,
    /// Acquisition mode, free text.
    pub mode: Option<String>,
    /// Sample rate, MHz.
    pub sample_rate: Option<f64>,
    /// Number of frequency bins.
    pub bins: Option<i64>,
}

/// Why a request is not a valid command; answered with `fail` and this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No command has this name.
    #[error("invalid command '{0}'")]
    Unknown(String),
    /// Arguments given to a command that takes none.
    #[error("{command} takes no arguments (got {count})")]
    NoArgumentsExpected {
        /// The command's name.
        command: &'static str,
        /// How many arguments came.
        count: usize,
    },
    /// More arguments than the command takes.
    #[error("{command} takes at most {max} argument (got {count})")]
    TooManyArguments {
        /// The command's name.
        command: &'static str,
        /// The most it takes.
        max: usize,
        /// How many came.
        count: usize,
    },
    /// A required argument is missing or empty.
    #[error("{command} needs {what}")]
    Missing {
        /// The command's name.
        command: &'static str,
        /// What it needs, e.g. "a configuration id".
        what: &'static str,
    },
    /// `set-integration` with something other than an integer; the
    /// contract fixes this reason word for word, so it names no value.
    #[error("integration time must be an integer number")]
    IntegrationNotInteger,
    /// `set-integration` with a negative integer.
    #[error("integration time must not be negative (got {0})")]
    NegativeIntegration(i64),
    /// A timestamp in neither accepted form.
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
    /// `get-tpi` with neither no argument nor the two of a Tsys range.
    #[error("get-tpi takes no arguments or the 2 numbers of a Tsys range (got {0})")]
    TsysRangeArity(usize),
    /// A Tsys range field that is not a number.
    #[error("the Tsys range must be numbers in MHz (got '{0}')")]
    TsysRangeNotNumber(String),
    /// `set-section` without exactly seven fields; a fixed phrase of the
    /// contract, which a backend may not add to.
    #[error("set-section needs 7 arguments")]
    SectionArity,
    /// A `set-section` field of the wrong type; a fixed phrase of the
    /// contract, which a backend may not add to.
    #[error("wrong parameter format")]
    SectionFormat,
    /// `cal-on` with an interleave that is not a non-negative integer; the
    /// reference's words, fixed by the contract.
    #[error("interleave samples must be a positive int")]
    Interleave,
    /// `set-enable` without exactly two feeds.
    #[error("set-enable needs 2 arguments (got {0})")]
    EnableArity(usize),
    /// A `set-enable` feed that is not an integer.
    #[error("feeds must be integer numbers (got '{0}')")]
    FeedNotInteger(String),
    /// `set-shift` without exactly one argument.
    #[error("set-shift needs exactly one argument (got {0})")]
    ShiftArity(usize),
    /// A `set-shift` shift that is not an integer.
    #[error("shift must be an integer number (got '{0}')")]
    ShiftNotInteger(String),
}

impl Command {
    /// Turns a request into a command, or says why it is not one.
    pub fn from_request(request: &Message) -> Result<Command, CommandError> {
        let args = request.arguments.as_slice();
        let name = request.name.as_str();
        let command = match name {
            "status" => none(args, "status", Command::Status)?,
            "version" => none(args, "version", Command::Version)?,
            "get-configuration" => none(args, "get-configuration", Command::GetConfiguration)?,
            "get-integration" => none(args, "get-integration", Command::GetIntegration)?,
            "get-tpi" => Command::GetTpi {
                range: tsys_range(args)?,
            },
            "get-rms" => none(args, "get-rms", Command::GetRms)?,
            "get-tp0" => none(args, "get-tp0", Command::GetTp0)?,
            "time" => none(args, "time", Command::Time)?,
            "convert-data" => none(args, "convert-data", Command::ConvertData)?,
            "end-schedule" => none(args, "end-schedule", Command::EndSchedule)?,
            "backend-park" => none(args, "backend-park", Command::BackendPark)?,
            "set-configuration" => Command::SetConfiguration {
                id: one(args, "set-configuration", "a configuration id")?.to_owned(),
            },
            "set-filename" => Command::SetFilename {
                path: one(args, "set-filename", "a file name")?.to_owned(),
            },
            "set-integration" => {
                let text = one(
                    args,
                    "set-integration",
                    "an integration time in milliseconds",
                )?;
                let value: i64 = text
                    .parse()
                    .map_err(|_| CommandError::IntegrationNotInteger)?;
                Command::SetIntegration {
                    milliseconds: u64::try_from(value)
                        .map_err(|_| CommandError::NegativeIntegration(value))?,
                }
            }
            "start" => Command::Start {
                at: optional_time(args, "start")?,
            },
            "stop" => Command::Stop {
                at: optional_time(args, "stop")?,
            },
            "cal-on" => {
                let interleave = match at_most_one(args, "cal-on")? {
                    None => 0,
                    Some(text) => text.parse().map_err(|_| CommandError::Interleave)?,
                };
                Command::CalOn { interleave }
            }
            "set-section" => Command::SetSection(section(args)?),
            "set-enable" => {
                let [feed1, feed2] = args else {
                    return Err(CommandError::EnableArity(args.len()));
                };
                let feed = |text: &String| {
                    text.parse()
                        .map_err(|_| CommandError::FeedNotInteger(text.clone()))
                };
                Command::SetEnable {
                    feed1: feed(feed1)?,
                    feed2: feed(feed2)?,
                }
            }
            "set-shift" => {
                let [shift] = args else {
                    return Err(CommandError::ShiftArity(args.len()));
                };
                Command::SetShift {
                    shift: shift
                        .parse()
                        .map_err(|_| CommandError::ShiftNotInteger(shift.clone()))?,
                }
            }
            unknown => return Err(CommandError::Unknown(unknown.to_owned())),
        };
        Ok(command)
    }

    /// The command's name on the wire, which its reply carries too.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::Version => "version",
            Command::GetConfiguration => "get-configuration",
            Command::SetConfiguration { .. } => "set-configuration",
            Command::GetIntegration => "get-integration",
            Command::SetIntegration { .. } => "set-integration",
            Command::GetTpi { .. } => "get-tpi",
            Command::GetRms => "get-rms",
            Command::GetTp0 => "get-tp0",
            Command::Time => "time",
            Command::Start { .. } => "start",
            Command::Stop { .. } => "stop",
            Command::SetSection(_) => "set-section",
            Command::CalOn { .. } => "cal-on",
            Command::SetFilename { .. } => "set-filename",
            Command::ConvertData => "convert-data",
            Command::SetEnable { .. } => "set-enable",
            Command::EndSchedule => "end-schedule",
            Command::BackendPark => "backend-park",
            Command::SetShift { .. } => "set-shift",
        }
    }
}

fn none(args: &[String], command: &'static str, parsed: Command) -> Result<Command, CommandError> {
    if args.is_empty() {
        Ok(parsed)
    } else {
        Err(CommandError::NoArgumentsExpected {
            command,
            count: args.len(),
        })
    }
}

fn at_most_one<'a>(
    args: &'a [String],
    command: &'static str,
) -> Result<Option<&'a str>, CommandError> {
    match args {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(CommandError::TooManyArguments {
            command,
            max: 1,
            count: args.len(),
        }),
    }
}

fn one<'a>(
    args: &'a [String],
    command: &'static str,
    what: &'static str,
) -> Result<&'a str, CommandError> {
    match at_most_one(args, command)? {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(CommandError::Missing { command, what }),
    }
}

fn optional_time(
    args: &[String],
    command: &'static str,
) -> Result<Option<Timestamp>, CommandError> {
    at_most_one(args, command)?
        .map(|text| text.parse::<Timestamp>().map_err(CommandError::from))
        .transpose()
}

fn tsys_range(args: &[String]) -> Result<Option<TsysRange>, CommandError> {
    match args {
        [] => Ok(None),
        [frequency, bandwidth] => {
            let number = |text: &String| {
                float(text).ok_or_else(|| CommandError::TsysRangeNotNumber(text.clone()))
            };
            Ok(Some(TsysRange {
                frequency: number(frequency)?,
                bandwidth: number(bandwidth)?,
            }))
        }
        _ => Err(CommandError::TsysRangeArity(args.len())),
    }
}

/// A number as the contract writes floats: decimal, with an optional sign,
/// fraction and exponent (`-1209.23`, `100`, `1e+06`, `2.5e-05`, the forms
/// DISCOS's C++ streams write). Rust's float syntax is wider (`inf`, `NaN`,
/// `infinity`), so the characters are checked first.
fn float(text: &str) -> Option<f64> {
    let numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    let starts = text
        .trim_start_matches(['+', '-'])
        .starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if numeric && starts {
        text.parse().ok()
    } else {
        None
    }
}

fn section(args: &[String]) -> Result<SectionUpdate, CommandError> {
    let [section, start, bandwidth, feed, mode, sample_rate, bins] = args else {
        return Err(CommandError::SectionArity);
    };
    Ok(SectionUpdate {
        section: integer_field(section)?,
        start_frequency: float_field(start)?,
        bandwidth: float_field(bandwidth)?,
        feed: integer_field(feed)?,
        mode: (mode != "*").then(|| mode.clone()),
        sample_rate: float_field(sample_rate)?,
        bins: integer_field(bins)?,
    })
}

/// A `set-section` float: `*` for "unchanged", else a number as [`float`]
/// reads it.
fn float_field(text: &str) -> Result<Option<f64>, CommandError> {
    if text == "*" {
        return Ok(None);
    }
    float(text).map(Some).ok_or(CommandError::SectionFormat)
}

/// A `set-section` integer: `*` for "unchanged", else decimal digits with
/// an optional sign.
fn integer_field(text: &str) -> Result<Option<i64>, CommandError> {
    if text == "*" {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| CommandError::SectionFormat)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, CommandError> {
        Command::from_request(&super::super::grammar::parse(line.as_bytes()).unwrap())
    }

    fn reason(line: &str) -> String {
        parse(line).unwrap_err().to_string()
    }

    #[test]
    fn every_command_parses() {
        let cases: &[(&str, Command)] = &[
            ("?status", Command::Status),
            ("?version", Command::Version),
            ("?get-configuration", Command::GetConfiguration),
            (
                "?set-configuration,K2000",
                Command::SetConfiguration { id: "K2000".into() },
            ),
            ("?get-integration", Command::GetIntegration),
            (
                "?set-integration,10",
                Command::SetIntegration { milliseconds: 10 },
            ),
            ("?get-tpi", Command::GetTpi { range: None }),
            (
                "?get-tpi,0,0",
                Command::GetTpi {
                    range: Some(TsysRange {
                        frequency: 0.0,
                        bandwidth: 0.0,
                    }),
                },
            ),
            (
                "?get-tpi,22235.1,300",
                Command::GetTpi {
                    range: Some(TsysRange {
                        frequency: 22235.1,
                        bandwidth: 300.0,
                    }),
                },
            ),
            (
                "?get-tpi,1e+06,2.5e-05",
                Command::GetTpi {
                    range: Some(TsysRange {
                        frequency: 1e6,
                        bandwidth: 2.5e-5,
                    }),
                },
            ),
            ("?get-rms", Command::GetRms),
            ("?get-tp0", Command::GetTp0),
            ("?time", Command::Time),
            ("?start", Command::Start { at: None }),
            (
                "?start,17953395590538408",
                Command::Start {
                    at: Some(Timestamp::from_acs_ticks(17953395590538408)),
                },
            ),
            ("?stop", Command::Stop { at: None }),
            ("?cal-on", Command::CalOn { interleave: 0 }),
            ("?cal-on,5", Command::CalOn { interleave: 5 }),
            (
                "?set-filename,a\\,b",
                Command::SetFilename { path: "a,b".into() },
            ),
            ("?convert-data", Command::ConvertData),
            ("?set-enable,0,1", Command::SetEnable { feed1: 0, feed2: 1 }),
            ("?end-schedule", Command::EndSchedule),
            ("?backend-park", Command::BackendPark),
            ("?set-shift,-3", Command::SetShift { shift: -3 }),
        ];
        for (line, command) in cases {
            let parsed = parse(line).unwrap();
            assert_eq!(&parsed, command, "{line}");
            assert_eq!(parsed.name(), &line[1..parsed.name().len() + 1]);
        }
    }

    #[test]
    fn every_command_name_is_a_command() {
        for name in COMMAND_NAMES {
            let request = Message::request(name, Vec::<String>::new());
            let parsed = Command::from_request(&request);
            assert!(
                !matches!(parsed, Err(CommandError::Unknown(_))),
                "{name} is not a command"
            );
            if let Ok(command) = parsed {
                assert_eq!(command.name(), name);
            }
        }
    }

    #[test]
    fn set_section_reads_numbers_as_discos_writes_them() {
        let Command::SetSection(update) =
            parse("?set-section,13,2.5e-05,2300,6,1,1e+06,16384").unwrap()
        else {
            panic!("not a set-section")
        };
        assert_eq!(update.section, Some(13));
        assert_eq!(update.start_frequency, Some(2.5e-5));
        assert_eq!(update.bandwidth, Some(2300.0));
        assert_eq!(update.sample_rate, Some(1e6));
        assert_eq!(update.bins, Some(16384));
    }

    #[test]
    fn set_section_takes_stars_for_unchanged_fields() {
        let Command::SetSection(update) = parse("?set-section,0,*,1000.5,-1,*,2.0,*").unwrap()
        else {
            panic!("not a set-section")
        };
        assert_eq!(
            update,
            SectionUpdate {
                section: Some(0),
                bandwidth: Some(1000.5),
                feed: Some(-1),
                sample_rate: Some(2.0),
                ..SectionUpdate::default()
            }
        );
    }

    #[test]
    fn every_failure_has_its_reason() {
        let cases: &[(&str, &str)] = &[
            ("?bogus", "invalid command 'bogus'"),
            ("?status,1", "status takes no arguments (got 1)"),
            (
                "?get-tpi,0",
                "get-tpi takes no arguments or the 2 numbers of a Tsys range (got 1)",
            ),
            (
                "?get-tpi,0,0,0",
                "get-tpi takes no arguments or the 2 numbers of a Tsys range (got 3)",
            ),
            (
                "?get-tpi,a,b",
                "the Tsys range must be numbers in MHz (got 'a')",
            ),
            (
                "?get-tpi,0,inf",
                "the Tsys range must be numbers in MHz (got 'inf')",
            ),
            (
                "?get-tpi,e5,0",
                "the Tsys range must be numbers in MHz (got 'e5')",
            ),
            ("?get-rms,0", "get-rms takes no arguments (got 1)"),
            (
                "?set-configuration",
                "set-configuration needs a configuration id",
            ),
            (
                "?set-configuration,",
                "set-configuration needs a configuration id",
            ),
            (
                "?set-configuration,a,b",
                "set-configuration takes at most 1 argument (got 2)",
            ),
            (
                "?set-integration",
                "set-integration needs an integration time in milliseconds",
            ),
            (
                "?set-integration,1.5",
                "integration time must be an integer number",
            ),
            (
                "?set-integration,-1",
                "integration time must not be negative (got -1)",
            ),
            ("?start,soon", "wrong timestamp 'soon'"),
            ("?stop,12:00", "wrong timestamp '12:00'"),
            ("?start,1,2", "start takes at most 1 argument (got 2)"),
            ("?set-section,0,1,2", "set-section needs 7 arguments"),
            ("?set-section,x,1,2,3,m,5,6", "wrong parameter format"),
            ("?set-section,0,1,2,3,m,inf,6", "wrong parameter format"),
            ("?set-section,0,1,2,3,m,NaN,6", "wrong parameter format"),
            ("?set-section,1e1,1,2,3,m,5,6", "wrong parameter format"),
            ("?cal-on,-1", "interleave samples must be a positive int"),
            ("?cal-on,x", "interleave samples must be a positive int"),
            ("?set-filename", "set-filename needs a file name"),
            ("?set-enable,1", "set-enable needs 2 arguments (got 1)"),
            ("?set-enable,1,x", "feeds must be integer numbers (got 'x')"),
            ("?set-shift", "set-shift needs exactly one argument (got 0)"),
            (
                "?set-shift,1,2",
                "set-shift needs exactly one argument (got 2)",
            ),
            (
                "?set-shift,up",
                "shift must be an integer number (got 'up')",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(reason(line), *expected, "{line}");
        }
    }
}
