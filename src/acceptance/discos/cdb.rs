//! The configurations DISCOS itself knows: the rows of its configuration
//! database (CDB) that Sardara and Skarab read at SRT, where both run.
//!
//! These are DISCOS's side of a configuration, not the backend's: DISCOS
//! sends `set-configuration` only for an id of its own table, and from the
//! row it takes what it sends next (one `set-section` per section, with the
//! row's bandwidth, feed, polarisation and bins) and how many total-power
//! values it reads back (one per input). A backend that DISCOS drives must
//! agree with them, so both sides live in one file, the backend's profile
//! (`profiles/sardara.toml`, `profiles/skarab.toml`, compiled in): its
//! sections and inputs, and DISCOS's bandwidth, bins and feeds.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::backend::{Bins, Catalogue, Configuration};

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

    /// The profile of the backend it drives (`profiles/NAME.toml`), which
    /// holds its CDB rows beside the backend's side of each configuration.
    pub fn profile(self) -> &'static str {
        match self {
            Component::Sardara => "sardara",
            Component::Skarab => "skarab",
        }
    }

    /// Its local limits: what DISCOS refuses before sending anything, the
    /// limits of the hardware its profile describes.
    pub fn limits(self) -> Limits {
        let hardware = table(self).map(|t| t.hardware.clone()).unwrap_or_default();
        Limits {
            max_frequency: hardware.max_frequency.unwrap_or(f64::INFINITY),
            max_bandwidth: hardware.max_bandwidth,
            max_sample_rate: hardware.max_sample_rate.unwrap_or(f64::INFINITY),
            bins: hardware.bins,
        }
    }

    /// The rows of its CDB table at SRT, in the profile's order; none if
    /// the compiled-in profile does not read (a unit test keeps it
    /// readable).
    pub fn setups(self) -> Vec<Setup> {
        table(self)
            .map(|catalogue| {
                catalogue
                    .configurations
                    .iter()
                    .filter_map(Setup::of)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The row of `id`, written exactly as DISCOS compares it (case
    /// included); `None` where DISCOS fails locally and sends nothing.
    pub fn setup(self, id: &str) -> Option<Setup> {
        self.setups().into_iter().find(|setup| setup.id == id)
    }
}

/// The compiled-in profile of the backend `component` drives, read once.
fn table(component: Component) -> Option<&'static Catalogue> {
    static SARDARA: OnceLock<Option<Catalogue>> = OnceLock::new();
    static SKARAB: OnceLock<Option<Catalogue>> = OnceLock::new();
    let cell = match component {
        Component::Sardara => &SARDARA,
        Component::Skarab => &SKARAB,
    };
    cell.get_or_init(|| Catalogue::profile(component.profile()).ok())
        .as_ref()
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
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Highest start frequency, MHz.
    pub max_frequency: f64,
    /// Highest bandwidth, MHz.
    pub max_bandwidth: f64,
    /// Highest sample rate, MHz; a sample rate given must also be twice
    /// the bandwidth.
    pub max_sample_rate: f64,
    /// The bin counts allowed (Sardara: 1024 or 16384; Skarab: 1024 to
    /// 65536).
    pub bins: Bins,
}

/// One row of a component's CDB table.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    /// The configuration id, as `set-configuration` sends it.
    pub id: String,
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
    /// The row of a profile's configuration, if the profile gives DISCOS's
    /// side of it.
    fn of(configuration: &Configuration) -> Option<Setup> {
        let row = configuration.discos.as_ref()?;
        let inputs = configuration.inputs;
        let stokes = configuration.id.ends_with('S');
        Some(Setup {
            id: configuration.id.clone(),
            inputs,
            sections: configuration.sections,
            bandwidth: row.bandwidth,
            bins: row.bins,
            feeds: (0..inputs).map(|input| row.feeds[input / 2]).collect(),
            polarizations: (0..inputs)
                .map(|input| if stokes { 2 } else { (input % 2) as i64 })
                .collect(),
        })
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
    }

    #[test]
    fn limits_are_the_profiles_hardware() {
        assert_eq!(
            Component::Sardara.limits(),
            Limits {
                max_frequency: 150.0,
                max_bandwidth: 2300.0,
                max_sample_rate: 4600.0,
                bins: Bins::OneOf(vec![1024, 16384]),
            }
        );
        assert_eq!(
            Component::Skarab.limits(),
            Limits {
                max_frequency: 1500.0,
                max_bandwidth: 2300.0,
                max_sample_rate: 4600.0,
                bins: Bins::Between(1024, 65536),
            }
        );
        // Every configuration of both profiles has DISCOS's row.
        for component in [Component::Sardara, Component::Skarab] {
            let profile = table(component).expect("the profile reads");
            assert_eq!(
                component.setups().len(),
                profile.configurations.len(),
                "{component}"
            );
        }
        assert!("roach".parse::<Component>().is_err());
    }
}
