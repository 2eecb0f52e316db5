//! The configurations a simulated backend knows, read from a TOML file.
//!
//! A real backend knows a fixed set of configurations, each with its own
//! number of sections; a catalogue lets the simulator behave like a given
//! backend, so `set-configuration` of an unknown id fails as it would there.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::simulator::MAX_SECTIONS;

/// One configuration a backend knows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Configuration {
    /// The id `set-configuration` names, e.g. `K2000`.
    pub id: String,
    /// How many sections it acquires: `get-tpi` answers one value each.
    pub sections: usize,
    /// What it is, for people reading the file.
    #[serde(default)]
    pub description: String,
}

/// The configurations a backend knows, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The entries, each a `[[configuration]]` table.
    #[serde(rename = "configuration", default)]
    pub configurations: Vec<Configuration>,
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
    #[error("catalogue {path} is not valid: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line when the TOML parser knows it.
        message: String,
    },
}

impl Catalogue {
    /// Reads and checks a catalogue file.
    pub fn load(path: impl AsRef<Path>) -> Result<Catalogue, CatalogueError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.to_owned(),
            source,
        })?;
        Catalogue::parse(&text).map_err(|message| CatalogueError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses and checks catalogue text; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Catalogue, String> {
        let catalogue: Catalogue = toml::from_str(text).map_err(|e| e.to_string())?;
        if catalogue.configurations.is_empty() {
            return Err("it lists no [[configuration]]".into());
        }
        let mut seen = HashSet::new();
        for configuration in &catalogue.configurations {
            let id = &configuration.id;
            if id.is_empty() {
                return Err("a configuration has an empty id".into());
            }
            if !seen.insert(id) {
                return Err(format!("configuration '{id}' is listed twice"));
            }
            if !(1..=MAX_SECTIONS).contains(&configuration.sections) {
                return Err(format!(
                    "configuration '{id}' has {} sections; a backend has 1 to {MAX_SECTIONS}",
                    configuration.sections
                ));
            }
        }
        Ok(catalogue)
    }

    /// The configuration with this id, if the catalogue knows it.
    pub fn get(&self, id: &str) -> Option<&Configuration> {
        self.configurations.iter().find(|c| c.id == id)
    }
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
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("", "lists no [[configuration]]"),
            (
                "[[configuration]]\nid = \"A\"\n",
                "missing field `sections`",
            ),
            (
                "[[configuration]]\nid = \"A\"\nsections = 1\ncolour = 3\n",
                "unknown field `colour`",
            ),
            ("[[configuration]]\nid = \"\"\nsections = 1\n", "empty id"),
            (
                "[[configuration]]\nid = \"A\"\nsections = 1\n[[configuration]]\nid = \"A\"\nsections = 2\n",
                "'A' is listed twice",
            ),
            (
                "[[configuration]]\nid = \"A\"\nsections = 9\n",
                "has 9 sections",
            ),
            ("[[configuration]\n", "line 1"),
        ];
        for (text, expected) in cases {
            let error = Catalogue::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = Catalogue::load("/nonexistent/catalogue.toml").unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/catalogue.toml"),
            "{error}"
        );
    }
}
