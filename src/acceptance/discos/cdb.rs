//! The configurations DISCOS itself knows: the rows of its configuration
//! database (CDB) that Sardara and Skarab read at SRT, where both run.
//!
//! These are DISCOS's side of a configuration, not the backend's: DISCOS
//! sends `set-configuration` only for an id of its own table, and from the
//! row it takes what it sends next (one `set-section` per section, with the
//! row's bandwidth, feed, polarisation and bins) and how many total-power
//! values it reads back (one per input). A backend that DISCOS drives must
//! agree with them; `profiles/` holds the backend's side.

use std::fmt;
use std::str::FromStr;

/// The DISCOS components that speak the backend protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// SARDARA, the ROACH2 spectrometer at SRT and Medicina.
    Sardara,
    /// The SKARAB spectrometer at SRT.
    Skarab,
}

impl Component {
    /// The name DISCOS logs it by, as in `BACKEND_SARDARA_GET-TPI ERROR`.
    pub fn log_name(self) -> &'static str {
        match self {
            Component::Sardara => "SARDARA",
            Component::Skarab => "SKARAB",
        }
    }

    /// Its local limits: what DISCOS refuses before sending anything.
    pub fn limits(self) -> Limits {
        match self {
            Component::Sardara => Limits {
                max_frequency: 150.0,
                max_bandwidth: 2300.0,
                max_sample_rate: 4600.0,
                bins: &[1024, 16384],
                max_bins: 16384,
            },
            Component::Skarab => Limits {
                max_frequency: 1500.0,
                max_bandwidth: 2300.0,
                max_sample_rate: 4600.0,
                bins: &[],
                max_bins: 65536,
            },
        }
    }

    /// The rows of its CDB table at SRT, in the table's order.
    pub fn setups(self) -> Vec<Setup> {
        match self {
            Component::Sardara => SARDARA
                .iter()
                .map(|&(id, sections, other_feed, bandwidth)| {
                    Setup::new(id, sections, other_feed, bandwidth, 1024)
                })
                .collect(),
            Component::Skarab => SKARAB
                .iter()
                .map(|&(id, bandwidth, bins)| Setup::new(id, 14, 0, bandwidth, bins))
                .collect(),
        }
    }

    /// The row of `id`, written exactly as DISCOS compares it (case
    /// included); `None` where DISCOS fails locally and sends nothing.
    pub fn setup(self, id: &str) -> Option<Setup> {
        self.setups().into_iter().find(|setup| setup.id == id)
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Component::Sardara => "Sardara",
            Component::Skarab => "Skarab",
        })
    }
}

impl FromStr for Component {
    type Err = String;

    fn from_str(text: &str) -> Result<Component, String> {
        match text.to_ascii_lowercase().as_str() {
            "sardara" => Ok(Component::Sardara),
            "skarab" => Ok(Component::Skarab),
            _ => Err(format!(
                "DISCOS drives a backend as Sardara or as Skarab, not as \"{text}\""
            )),
        }
    }
}

/// What a component checks before it sends a `set-section`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Highest start frequency, MHz.
    pub max_frequency: f64,
    /// Highest bandwidth, MHz.
    pub max_bandwidth: f64,
    /// Highest sample rate, MHz; a sample rate given must also be twice
    /// the bandwidth.
    pub max_sample_rate: f64,
    /// The only bin counts allowed, if only some are (Sardara: 1024 or
    /// 16384); empty where any up to `max_bins` from 1024 is.
    pub bins: &'static [i64],
    /// Most bins.
    pub max_bins: i64,
}

/// Sardara's rows at SRT: id, sections, the second feed of a four-section
/// row, bandwidth (MHz). Every row has bins 1024 and the calibration mark.
const SARDARA: [(&str, usize, i64, f64); 16] = [
    ("SK00", 2, 0, 1500.0),
    ("SK01", 4, 1, 1500.0),
    ("SK04", 4, 4, 1500.0),
    ("SK03", 4, 3, 1500.0),
    ("SK06", 4, 6, 1500.0),
    ("SK77", 14, 0, 1500.0),
    ("SCC00", 2, 0, 1500.0),
    ("SCH00", 2, 0, 1500.0),
    ("SL00", 2, 0, 1500.0),
    ("SP00", 2, 0, 500.0),
    ("SK00S", 2, 0, 1500.0),
    ("SK77S", 14, 0, 1500.0),
    ("SCC00S", 2, 0, 1500.0),
    ("SCH00S", 2, 0, 1500.0),
    ("SL00S", 2, 0, 1500.0),
    ("SP00S", 2, 0, 500.0),
];

/// Skarab's rows at SRT: id, bandwidth (MHz), bins. Every row has 14
/// sections on the seven feeds of the K-band receiver.
const SKARAB: [(&str, f64, i64); 15] = [
    ("SKARAB_1", 1400.0, 2048),
    ("SKARAB_1S", 1400.0, 2048),
    ("SKARAB_2", 187.5, 32768),
    ("SKARAB_2S", 187.5, 32768),
    ("SKARAB_3", 187.5, 65536),
    ("SKARAB_3S", 187.5, 65536),
    ("SKARAB_4", 93.75, 32768),
    ("SKARAB_4S", 93.75, 32768),
    ("SKARAB_5", 93.75, 65536),
    ("SKARAB_5S", 93.75, 65536),
    ("SKARAB_7", 16.0, 65536),
    ("SKARAB_11", 375.0, 1024),
    ("SKARAB_11S", 375.0, 1024),
    ("SKARAB_12", 750.0, 8192),
    ("SKARAB_12S", 750.0, 8192),
];

/// One row of a component's CDB table.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    /// The configuration id, as `set-configuration` sends it.
    pub id: &'static str,
    /// The row's sections: how many inputs DISCOS reads values for.
    pub inputs: usize,
    /// The sections DISCOS configures: the inputs, or half of them for a
    /// full-Stokes (`S`) configuration.
    pub sections: usize,
    /// Bandwidth of every section, MHz.
    pub bandwidth: f64,
    /// Bins of every section.
    pub bins: i64,
    /// The feed of each input.
    pub feeds: Vec<i64>,
    /// The polarisation of each input: 0 left, 1 right, 2 full Stokes.
    pub polarizations: Vec<i64>,
}

impl Setup {
    fn new(id: &'static str, inputs: usize, other_feed: i64, bandwidth: f64, bins: i64) -> Setup {
        let stokes = id.ends_with('S');
        let feeds = (0..inputs)
            .map(|input| match inputs {
                // SK01, SK03, SK04, SK06: feed 0 and one more.
                4 if input >= 2 => other_feed,
                // SK77, SKARAB_*: two inputs on each of the seven feeds.
                14 => (input / 2) as i64,
                _ => 0,
            })
            .collect();
        let polarizations = (0..inputs)
            .map(|input| if stokes { 2 } else { (input % 2) as i64 })
            .collect();
        Setup {
            id,
            inputs,
            sections: if stokes { inputs / 2 } else { inputs },
            bandwidth,
            bins,
            feeds,
            polarizations,
        }
    }

    /// Whether it is a full-Stokes configuration (its id ends in `S`).
    pub fn is_stokes(&self) -> bool {
        self.id.ends_with('S')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_as_the_srt_tables_hold_them() {
        let sk77 = Component::Sardara.setup("SK77").unwrap();
        assert_eq!((sk77.inputs, sk77.sections), (14, 14));
        assert_eq!(sk77.feeds, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
        assert_eq!(sk77.polarizations[4..6], [0, 1]);
        let sk77s = Component::Sardara.setup("SK77S").unwrap();
        assert_eq!((sk77s.inputs, sk77s.sections), (14, 7));
        assert_eq!(sk77s.polarizations, [2; 14]);
        let sk06 = Component::Sardara.setup("SK06").unwrap();
        assert_eq!(sk06.feeds, [0, 0, 6, 6]);
        let sk00s = Component::Sardara.setup("SK00S").unwrap();
        assert_eq!((sk00s.inputs, sk00s.sections), (2, 1));
        assert_eq!(Component::Sardara.setup("SP00").unwrap().bandwidth, 500.0);
        // Listed in the user guide, not in the table: DISCOS fails locally.
        for missing in ["SC00", "SK03S", "sk00", "SKARAB_7S"] {
            assert!(Component::Sardara.setup(missing).is_none(), "{missing}");
        }
        assert!(Component::Skarab.setup("SKARAB_7S").is_none());
        let skarab = Component::Skarab.setup("SKARAB_2").unwrap();
        assert_eq!(
            (skarab.inputs, skarab.bandwidth, skarab.bins),
            (14, 187.5, 32768)
        );
        assert_eq!(Component::Skarab.setups().len(), 15);
        assert_eq!(Component::Sardara.setups().len(), 16);
        assert_eq!("skarab".parse(), Ok(Component::Skarab));
        assert!("roach".parse::<Component>().is_err());
    }
}
