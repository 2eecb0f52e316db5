//! How a run of the features is configured: which backend, where reports
//! and artifacts go.

use std::path::PathBuf;

use super::target::Target;

/// Settings shared by every scenario of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The backend under test.
    pub target: Target,
    /// Where failure artifacts (screenshots, page HTML) are written.
    pub artifacts: PathBuf,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            target: Target::Embedded,
            artifacts: PathBuf::from("target/acceptance"),
        }
    }
}
