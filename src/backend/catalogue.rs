//! The configurations and the hardware a simulated backend has, read from a
//! TOML file: a catalogue.
//!
//! A real backend knows a fixed set of configurations, each with its own
//! number of sections and of inputs, and its hardware has limits (how many
//! sections and feeds, the widest bandwidth, the bins it can make). A
//! catalogue lets the simulator behave like a given backend, so that
//! `set-configuration` of an unknown id, or a section beyond its hardware,
//! fails as it would there. The backends DISCOS drives are catalogues too,
//! compiled in: the [profiles](PROFILES).
//!
//! ```toml
//! [backend]                # optional: without it, what DISCOS sends fits
//! name = "Sardara"
//! sections = 14            # the hardware's sections, numbered from 0
//! feeds = 7                # feeds 0 to 6
//! max_bandwidth = 2300     # MHz
//! max_frequency = 150      # MHz, the highest start frequency
//! max_sample_rate = 4600   # MHz
//! bins = [1024, 16384]     # the bins it makes; or min_bins / max_bins
//! lacks = ["set-shift"]    # commands it does not know
//!
//! [[configuration]]
//! id = "SK77S"
//! sections = 7             # what set-section addresses
//! inputs = 14              # get-tpi's values; the sections when left out
//! ```
//!
//! Unknown fields are errors, and every error names the file and the line.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::protocol::COMMAND_NAMES;

/// Sections the simulator has when no catalogue says otherwise: as many as
/// DISCOS addresses (14, numbered 0 to 13, for SK77 and Skarab).
pub const MAX_SECTIONS: usize = 14;
/// Feeds the simulator has when no catalogue says otherwise: 0 to 7, for
/// DISCOS sends 0 to 6 and Skarab `7,7`.
pub const FEEDS: usize = 8;
/// The widest bandwidth a section accepts when no catalogue says
/// otherwise, in MHz: DISCOS's maximum (SL00 at 2300 MHz).
pub const MAX_BANDWIDTH_MHZ: f64 = 2300.0;

/// The most inputs a configuration may have: 32 values of `get-tpi` keep
/// its reply well under DISCOS's 512 bytes (see
/// [`measured`](super::measured)).
pub const MAX_INPUTS: usize = 32;

/// One configuration a backend knows.
#[derive(Debug, Clone, PartialEq)]
pub struct Configuration {
    /// The id `set-configuration` names, e.g. `SK77`.
    pub id: String,
    /// How many sections it acquires on: what `set-section` addresses.
    pub sections: usize,
    /// How many inputs it reads: `get-tpi` answers one value each. A
    /// full-Stokes (`S`) configuration has half the sections of its plain
    /// form and as many inputs.
    pub inputs: usize,
    /// What it is, for people reading the file.
    pub description: String,
    /// How DISCOS sets its sections up, where the file says (the profiles
    /// of the backends DISCOS drives do): DISCOS's own table is the other
    /// half of a configuration, and one file keeps both halves in step.
    pub discos: Option<DiscosRow>,
}

/// What DISCOS's configuration database (CDB) holds for a configuration:
/// what its component sends after `set-configuration`. The simulator does
/// not need it; the DISCOS actor of the scenarios sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscosRow {
    /// The bandwidth every section is set to, MHz.
    pub bandwidth: f64,
    /// The bins every section is set to.
    pub bins: i64,
    /// The feeds acquired, each with both polarisations: input `i` is on
    /// feed `feeds[i / 2]`.
    pub feeds: Vec<i64>,
}

/// Which numbers of bins a section can have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Bins {
    /// Any positive number (no catalogue says otherwise).
    #[default]
    Any,
    /// Exactly one of these (Sardara: 1024 or 16384).
    OneOf(Vec<i64>),
    /// Any number from the first to the second, both included (Skarab:
    /// 1024 to 65536).
    Between(i64, i64),
}

impl Bins {
    /// Whether a section may have `bins` bins.
    pub fn allow(&self, bins: i64) -> bool {
        match self {
            Bins::Any => bins > 0,
            Bins::OneOf(values) => values.contains(&bins),
            Bins::Between(low, high) => (*low..=*high).contains(&bins),
        }
    }

    /// The rule in words, for a refusal.
    pub fn describe(&self) -> String {
        match self {
            Bins::Any => "a positive number".to_owned(),
            Bins::OneOf(values) => {
                let values: Vec<String> = values.iter().map(i64::to_string).collect();
                // No comma: DISCOS would cut the reason there.
                format!("one of {}", values.join(" or "))
            }
            Bins::Between(low, high) => format!("from {low} to {high}"),
        }
    }
}

/// What a backend's hardware has, and the requests beyond it that it
/// refuses.
#[derive(Debug, Clone, PartialEq)]
pub struct Hardware {
    /// Sections, numbered from 0.
    pub sections: usize,
    /// Feeds, numbered from 0.
    pub feeds: usize,
    /// The widest bandwidth of a section, MHz.
    pub max_bandwidth: f64,
    /// The highest start frequency of a section, MHz, if it has one.
    pub max_frequency: Option<f64>,
    /// The highest sample rate, MHz, if it has one.
    pub max_sample_rate: Option<f64>,
    /// The bins a section can have.
    pub bins: Bins,
}

impl Default for Hardware {
    /// Room for everything DISCOS sends, Sardara's and Skarab's alike.
    fn default() -> Hardware {
        Hardware {
            sections: MAX_SECTIONS,
            feeds: FEEDS,
            max_bandwidth: MAX_BANDWIDTH_MHZ,
            max_frequency: None,
            max_sample_rate: None,
            bins: Bins::Any,
        }
    }
}

/// The configurations a backend knows, in file order, and its hardware.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    /// The backend's name, for people (`Sardara`); empty when the file
    /// gives none.
    pub name: String,
    /// Its hardware.
    pub hardware: Hardware,
    /// Commands of the protocol it does not know, answered as unknown.
    pub lacks: Vec<String>,
    /// The entries, each a `[[configuration]]` table.
    pub configurations: Vec<Configuration>,
}

/// A catalogue of a backend DISCOS drives, compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Its name on the command line (`--profile sardara`).
    pub name: &'static str,
    /// Its file in the repository, named in errors and listings.
    pub path: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// The backends DISCOS drives: Sardara and Skarab at SRT, as DISCOS's own
/// configuration database has them.
pub const PROFILES: [Profile; 2] = [
    Profile {
        name: "sardara",
        path: "profiles/sardara.toml",
        text: include_str!("../../profiles/sardara.toml"),
    },
    Profile {
        name: "skarab",
        path: "profiles/skarab.toml",
        text: include_str!("../../profiles/skarab.toml"),
    },
];

impl Profile {
    /// The profile of this name, for a command-line option; the error
    /// lists the names there are.
    pub fn named(name: &str) -> Result<Profile, String> {
        PROFILES
            .iter()
            .find(|p| p.name == name)
            .copied()
            .ok_or_else(|| {
                CatalogueError::UnknownProfile {
                    name: name.to_owned(),
                }
                .to_string()
            })
    }

    /// Its catalogue, checked (a profile that does not check is a bug the
    /// tests catch, but it is still named, not a panic).
    pub fn catalogue(&self) -> Result<Catalogue, CatalogueError> {
        Catalogue::from_text(Path::new(self.path), self.text)
    }
}

/// Why a catalogue could not be used; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The file could not be read.
    #[error("cannot read catalogue {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a valid catalogue (TOML syntax or fields).
    #[error("catalogue {}{}: {message}", path.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line of the mistake, when it has one.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// No profile has this name.
    #[error("unknown profile '{name}'; expected one of {}", profile_names().join(", "))]
    UnknownProfile {
        /// The name asked for.
        name: String,
    },
}

/// The names of the compiled-in profiles.
pub fn profile_names() -> Vec<&'static str> {
    PROFILES.iter().map(|p| p.name).collect()
}

/// A mistake in catalogue text: what, and where (a byte range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mistake {
    /// What is wrong.
    pub message: String,
    /// Where, in bytes of the text, when known.
    pub span: Option<Range<usize>>,
}

impl Mistake {
    fn at(span: Range<usize>, message: impl Into<String>) -> Mistake {
        Mistake {
            message: message.into(),
            span: Some(span),
        }
    }

    /// The line (from 1) the mistake is on, in `text`.
    pub fn line(&self, text: &str) -> Option<usize> {
        let start = self.span.as_ref()?.start.min(text.len());
        Some(
            text.as_bytes()[..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1,
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    backend: Option<Spanned<RawBackend>>,
    #[serde(rename = "configuration", default)]
    configurations: Vec<Spanned<RawConfiguration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackend {
    #[serde(default)]
    name: String,
    sections: Option<Spanned<usize>>,
    feeds: Option<Spanned<usize>>,
    max_bandwidth: Option<Spanned<f64>>,
    max_frequency: Option<Spanned<f64>>,
    max_sample_rate: Option<Spanned<f64>>,
    bins: Option<Spanned<Vec<i64>>>,
    min_bins: Option<Spanned<i64>>,
    max_bins: Option<Spanned<i64>>,
    #[serde(default)]
    lacks: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfiguration {
    id: Spanned<String>,
    sections: Spanned<usize>,
    inputs: Option<Spanned<usize>>,
    bandwidth: Option<Spanned<f64>>,
    bins: Option<Spanned<i64>>,
    feeds: Option<Spanned<Vec<i64>>>,
    #[serde(default)]
    description: String,
}

impl Catalogue {
    /// Reads and checks a catalogue file.
    pub fn load(path: impl AsRef<Path>) -> Result<Catalogue, CatalogueError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.to_owned(),
            source,
        })?;
        Catalogue::from_text(path, &text)
    }

    /// The compiled-in profile of this name (`sardara`, `skarab`).
    pub fn profile(name: &str) -> Result<Catalogue, CatalogueError> {
        let profile = PROFILES.iter().find(|p| p.name == name).ok_or_else(|| {
            CatalogueError::UnknownProfile {
                name: name.to_owned(),
            }
        })?;
        Catalogue::from_text(Path::new(profile.path), profile.text)
    }

    /// Checks catalogue text that came from `path`; the error names the
    /// file and the line.
    pub fn from_text(path: &Path, text: &str) -> Result<Catalogue, CatalogueError> {
        Catalogue::parse(text).map_err(|mistake| CatalogueError::Invalid {
            path: path.to_owned(),
            line: mistake.line(text),
            message: mistake.message,
        })
    }

    /// Parses and checks catalogue text; the mistake says what is wrong,
    /// and where.
    pub fn parse(text: &str) -> Result<Catalogue, Mistake> {
        let raw: RawCatalogue = toml::from_str(text).map_err(|e| Mistake {
            message: e.message().trim_end().to_owned(),
            span: e.span(),
        })?;
        let (hardware, name, lacks) = match raw.backend {
            None => (Hardware::default(), String::new(), Vec::new()),
            Some(backend) => hardware(backend.into_inner())?,
        };
        if raw.configurations.is_empty() {
            return Err(Mistake {
                message: "it lists no [[configuration]]".into(),
                span: None,
            });
        }
        let mut seen = HashSet::new();
        let mut configurations = Vec::new();
        for entry in raw.configurations {
            let entry = entry.into_inner();
            let id_span = entry.id.span();
            let id = entry.id.into_inner();
            if id.is_empty() {
                return Err(Mistake::at(id_span, "a configuration has an empty id"));
            }
            if !seen.insert(id.clone()) {
                return Err(Mistake::at(
                    id_span,
                    format!("configuration '{id}' is listed twice"),
                ));
            }
            let sections_span = entry.sections.span();
            let sections = entry.sections.into_inner();
            if !(1..=hardware.sections).contains(&sections) {
                return Err(Mistake::at(
                    sections_span,
                    format!(
                        "configuration '{id}' has {sections} sections; this backend has 1 to {}",
                        hardware.sections
                    ),
                ));
            }
            let inputs = match entry.inputs {
                None => sections,
                Some(inputs) => {
                    let span = inputs.span();
                    let inputs = inputs.into_inner();
                    if !(1..=MAX_INPUTS).contains(&inputs) {
                        return Err(Mistake::at(
                            span,
                            format!(
                                "configuration '{id}' has {inputs} inputs; a configuration has 1 to {MAX_INPUTS}, so that get-tpi's reply stays under 512 bytes"
                            ),
                        ));
                    }
                    inputs
                }
            };
            let discos = discos_row(
                &id,
                inputs,
                &hardware,
                entry.bandwidth,
                entry.bins,
                entry.feeds,
            )?;
            configurations.push(Configuration {
                id,
                sections,
                inputs,
                description: entry.description,
                discos,
            });
        }
        Ok(Catalogue {
            name,
            hardware,
            lacks,
            configurations,
        })
    }

    /// The configuration with this id, if the catalogue knows it.
    pub fn get(&self, id: &str) -> Option<&Configuration> {
        self.configurations.iter().find(|c| c.id == id)
    }

    /// Whether the backend knows the command `name` (every command but
    /// those it [lacks](Catalogue::lacks)).
    pub fn knows(&self, name: &str) -> bool {
        !self.lacks.iter().any(|lacked| lacked == name)
    }
}

/// DISCOS's row of a configuration, checked: all three fields or none,
/// within the hardware, a feed for every two inputs.
fn discos_row(
    id: &str,
    inputs: usize,
    hardware: &Hardware,
    bandwidth: Option<Spanned<f64>>,
    bins: Option<Spanned<i64>>,
    feeds: Option<Spanned<Vec<i64>>>,
) -> Result<Option<DiscosRow>, Mistake> {
    let (bandwidth, bins, feeds) = match (bandwidth, bins, feeds) {
        (None, None, None) => return Ok(None),
        (Some(bandwidth), Some(bins), Some(feeds)) => (bandwidth, bins, feeds),
        (bandwidth, bins, feeds) => {
            let span = bandwidth
                .map(|b| b.span())
                .or(bins.map(|b| b.span()))
                .or(feeds.map(|f| f.span()));
            return Err(Mistake {
                message: format!(
                    "configuration '{id}' gives part of DISCOS's row; give bandwidth, bins and feeds together, or none"
                ),
                span,
            });
        }
    };
    let span = bandwidth.span();
    let bandwidth = bandwidth.into_inner();
    if !(bandwidth > 0.0 && bandwidth <= hardware.max_bandwidth) {
        return Err(Mistake::at(
            span,
            format!(
                "configuration '{id}' has a bandwidth of {bandwidth} MHz; this backend has up to {} MHz",
                hardware.max_bandwidth
            ),
        ));
    }
    let span = bins.span();
    let bins = bins.into_inner();
    if !hardware.bins.allow(bins) {
        return Err(Mistake::at(
            span,
            format!(
                "configuration '{id}' has {bins} bins; this backend's sections have {}",
                hardware.bins.describe()
            ),
        ));
    }
    let span = feeds.span();
    let feeds = feeds.into_inner();
    if feeds.len() * 2 != inputs {
        return Err(Mistake::at(
            span,
            format!(
                "configuration '{id}' lists {} feed(s) for {inputs} inputs; DISCOS puts two inputs on each feed",
                feeds.len()
            ),
        ));
    }
    if let Some(feed) = feeds
        .iter()
        .find(|feed| !(0..hardware.feeds as i64).contains(*feed))
    {
        return Err(Mistake::at(
            span,
            format!(
                "configuration '{id}' lists feed {feed}; this backend has feeds 0 to {}",
                hardware.feeds - 1
            ),
        ));
    }
    Ok(Some(DiscosRow {
        bandwidth,
        bins,
        feeds,
    }))
}

/// The `[backend]` table checked: the hardware, the name, the lacked
/// commands.
fn hardware(raw: RawBackend) -> Result<(Hardware, String, Vec<String>), Mistake> {
    let defaults = Hardware::default();
    let sections = count(raw.sections, "sections", defaults.sections, 64)?;
    let feeds = count(raw.feeds, "feeds", defaults.feeds, 64)?;
    let max_bandwidth =
        positive(raw.max_bandwidth, "max_bandwidth")?.unwrap_or(defaults.max_bandwidth);
    let max_frequency = positive(raw.max_frequency, "max_frequency")?;
    let max_sample_rate = positive(raw.max_sample_rate, "max_sample_rate")?;
    let bins = bins_of(raw.bins, raw.min_bins, raw.max_bins)?;
    let lacks = lacked(raw.lacks)?;
    Ok((
        Hardware {
            sections,
            feeds,
            max_bandwidth,
            max_frequency,
            max_sample_rate,
            bins,
        },
        raw.name,
        lacks,
    ))
}

/// A count of the hardware, `default` when not given, else from 1 to `most`.
fn count(
    field: Option<Spanned<usize>>,
    what: &str,
    default: usize,
    most: usize,
) -> Result<usize, Mistake> {
    let Some(field) = field else {
        return Ok(default);
    };
    let span = field.span();
    let value = field.into_inner();
    if (1..=most).contains(&value) {
        Ok(value)
    } else {
        Err(Mistake::at(
            span,
            format!("{what} must be from 1 to {most}, not {value}"),
        ))
    }
}

/// A limit in MHz, if given: a positive, finite number.
fn positive(field: Option<Spanned<f64>>, what: &str) -> Result<Option<f64>, Mistake> {
    let Some(field) = field else {
        return Ok(None);
    };
    let span = field.span();
    let value = field.into_inner();
    if value.is_finite() && value > 0.0 {
        Ok(Some(value))
    } else {
        Err(Mistake::at(
            span,
            format!("{what} must be a positive number of MHz, not {value}"),
        ))
    }
}

/// The bins a section may have: any, one of a list, or a range, never
/// both a list and a range.
fn bins_of(
    bins: Option<Spanned<Vec<i64>>>,
    min_bins: Option<Spanned<i64>>,
    max_bins: Option<Spanned<i64>>,
) -> Result<Bins, Mistake> {
    match (bins, min_bins, max_bins) {
        (None, None, None) => Ok(Bins::Any),
        (Some(values), None, None) => {
            let span = values.span();
            let values = values.into_inner();
            if values.is_empty() || values.iter().any(|b| *b <= 0) {
                return Err(Mistake::at(
                    span,
                    "bins must list positive numbers, at least one",
                ));
            }
            Ok(Bins::OneOf(values))
        }
        (None, Some(low), Some(high)) => {
            let span = low.span().start..high.span().end;
            let (low, high) = (low.into_inner(), high.into_inner());
            if low <= 0 || high < low {
                return Err(Mistake::at(
                    span,
                    format!(
                        "min_bins and max_bins must be positive, the first no more than the second (got {low} and {high})"
                    ),
                ));
            }
            Ok(Bins::Between(low, high))
        }
        (bins, low, high) => {
            let span = [
                bins.map(|b| b.span()),
                low.map(|b| b.span()),
                high.map(|b| b.span()),
            ]
            .into_iter()
            .flatten()
            .next();
            Err(Mistake {
                message: "give either bins (the values allowed) or both min_bins and max_bins"
                    .into(),
                span,
            })
        }
    }
}

/// The commands the backend lacks, each one of the protocol's.
fn lacked(commands: Vec<Spanned<String>>) -> Result<Vec<String>, Mistake> {
    let mut lacks = Vec::new();
    for command in commands {
        let span = command.span();
        let command = command.into_inner();
        if !COMMAND_NAMES.contains(&command.as_str()) {
            return Err(Mistake::at(
                span,
                format!(
                    "lacks names '{command}', which is not a command of the protocol; they are {}",
                    COMMAND_NAMES.join(", ")
                ),
            ));
        }
        lacks.push(command);
    }
    Ok(lacks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_catalogue_is_valid() {
        let catalogue = Catalogue::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/catalogue.toml"
        ))
        .unwrap();
        assert!(catalogue.get("K2000").is_some());
        assert_eq!(catalogue.hardware, Hardware::default());
    }

    #[test]
    // A table of cases, one mistake each: splitting it would only scatter them.
    #[allow(clippy::too_many_lines)]
    fn mistakes_are_named_with_their_line() {
        let one = "[[configuration]]\nid = \"A\"\nsections = 1\n";
        let cases = [
            ("", "lists no [[configuration]]", None),
            (
                "[[configuration]]\nid = \"A\"\n",
                "missing field `sections`",
                Some(1),
            ),
            (
                "[[configuration]]\nid = \"A\"\nsections = 1\ncolour = 3\n",
                "unknown field `colour`",
                Some(4),
            ),
            (
                "[[configuration]]\nid = \"\"\nsections = 1\n",
                "empty id",
                Some(2),
            ),
            (
                "[[configuration]]\nid = \"A\"\nsections = 1\n[[configuration]]\nid = \"A\"\nsections = 2\n",
                "'A' is listed twice",
                Some(5),
            ),
            (
                "[[configuration]]\nid = \"A\"\nsections = 15\n",
                "has 15 sections; this backend has 1 to 14",
                Some(3),
            ),
            (
                "[[configuration]]\nid = \"A\"\nsections = 1\ninputs = 33\n",
                "has 33 inputs",
                Some(4),
            ),
            ("[[configuration]\n", "", Some(1)),
            (
                &format!(
                    "[backend]\nsections = 2\n{one}[[configuration]]\nid = \"B\"\nsections = 4\n"
                ),
                "'B' has 4 sections; this backend has 1 to 2",
                Some(8),
            ),
            (
                &format!("[backend]\nwheels = 2\n{one}"),
                "unknown field `wheels`",
                Some(2),
            ),
            (
                &format!("[backend]\nmax_bandwidth = -5\n{one}"),
                "max_bandwidth must be a positive number",
                Some(2),
            ),
            (
                &format!("[backend]\nbins = [1024]\nmin_bins = 1\nmax_bins = 2\n{one}"),
                "either bins",
                Some(2),
            ),
            (
                &format!("[backend]\nmin_bins = 9\nmax_bins = 2\n{one}"),
                "got 9 and 2",
                Some(2),
            ),
            (
                &format!("[backend]\nlacks = [\"get-tpi\", \"fly\"]\n{one}"),
                "'fly', which is not a command",
                Some(2),
            ),
            (
                &format!("{one}bins = 1024\n"),
                "part of DISCOS's row",
                Some(4),
            ),
            (
                &format!("{one}bandwidth = 3000\nbins = 1024\nfeeds = [0]\n"),
                "bandwidth of 3000 MHz; this backend has up to 2300 MHz",
                Some(4),
            ),
            (
                &format!(
                    "[backend]\nbins = [1024]\n{one}bandwidth = 500\nbins = 2048\nfeeds = [0]\n"
                ),
                "has 2048 bins; this backend's sections have one of 1024",
                Some(7),
            ),
            (
                &format!("{one}inputs = 4\nbandwidth = 500\nbins = 1024\nfeeds = [0]\n"),
                "lists 1 feed(s) for 4 inputs",
                Some(7),
            ),
            (
                &format!("{one}inputs = 2\nbandwidth = 500\nbins = 1024\nfeeds = [9]\n"),
                "lists feed 9; this backend has feeds 0 to",
                Some(7),
            ),
        ];
        for (text, expected, line) in cases {
            let mistake = Catalogue::parse(text).unwrap_err();
            assert!(mistake.message.contains(expected), "{text:?}: {mistake:?}");
            assert_eq!(mistake.line(text), line, "{text:?}: {mistake:?}");
        }
    }

    #[test]
    fn an_error_names_the_file_and_the_line() {
        let error = Catalogue::from_text(
            Path::new("site.toml"),
            "[[configuration]]\nid = \"A\"\nsections = 99\n",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "catalogue site.toml, line 3: configuration 'A' has 99 sections; this backend has 1 to 14"
        );
        let error = Catalogue::load("/nonexistent/catalogue.toml").unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/catalogue.toml"),
            "{error}"
        );
        let error = Catalogue::profile("roach").unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown profile 'roach'; expected one of sardara, skarab"
        );
    }

    #[test]
    fn inputs_are_the_sections_unless_given() {
        let catalogue = Catalogue::parse(
            "[[configuration]]\nid = \"SK77\"\nsections = 14\n[[configuration]]\nid = \"SK77S\"\nsections = 7\ninputs = 14\n",
        )
        .unwrap();
        assert_eq!(catalogue.get("SK77").unwrap().inputs, 14);
        assert_eq!(catalogue.get("SK77S").unwrap().sections, 7);
        assert_eq!(catalogue.get("SK77S").unwrap().inputs, 14);
    }

    #[test]
    fn bins_rules_allow_what_they_say() {
        assert!(Bins::Any.allow(3) && !Bins::Any.allow(0));
        let sardara = Bins::OneOf(vec![1024, 16384]);
        assert!(sardara.allow(1024) && sardara.allow(16384) && !sardara.allow(2048));
        let skarab = Bins::Between(1024, 65536);
        assert!(skarab.allow(1024) && skarab.allow(32768) && !skarab.allow(65537));
        assert_eq!(sardara.describe(), "one of 1024 or 16384");
        assert_eq!(skarab.describe(), "from 1024 to 65536");
    }
}
