//! The project's feature files, compiled into the library so
//! `discos-sim check` can run them with no checkout at hand.

use std::path::{Path, PathBuf};

/// Pairs each file name with the file's text, read at compile time.
macro_rules! compiled_in {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../features/", $name)))),*]
    };
}

/// Every file of `features/`, by name, with its text.
pub const FEATURES: &[(&str, &str)] = compiled_in![
    "acquisition.feature",
    "calibration.feature",
    "catalogue.feature",
    "configuration.feature",
    "console.feature",
    "errors.feature",
    "events.feature",
    "feeds.feature",
    "filename.feature",
    "handshake.feature",
    "integration.feature",
    "pipelining.feature",
    "robustness.feature",
    "schedule.feature",
    "sections.feature",
    "shared_state.feature",
    "status_and_time.feature",
    "timed_acquisition.feature",
    "total_power.feature",
];

/// Files the features refer to, by path relative to the project's root.
pub const FIXTURES: &[(&str, &str)] = &[(
    "fixtures/catalogue.toml",
    include_str!("../../fixtures/catalogue.toml"),
)];

/// The compiled-in features, unpacked as `features/` and `fixtures/` under
/// a fresh directory, which is removed when this is dropped.
#[derive(Debug)]
pub struct Unpacked {
    root: PathBuf,
}

impl Unpacked {
    /// Unpacks under `parent`.
    pub fn new(parent: &Path) -> std::io::Result<Unpacked> {
        let root = parent.join(format!("discos-check-{}", std::process::id()));
        // Removed on drop; by the reaper if the run is killed first.
        crate::orchestration::reaper().remove_at_exit(&root)?;
        let unpacked = Unpacked { root };
        std::fs::create_dir_all(unpacked.features())?;
        for (name, text) in FEATURES {
            std::fs::write(unpacked.features().join(name), text)?;
        }
        for (path, text) in FIXTURES {
            let path = unpacked.root.join(path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, text)?;
        }
        Ok(unpacked)
    }

    /// The directory of `.feature` files.
    pub fn features(&self) -> PathBuf {
        self.root.join("features")
    }
}

impl Drop for Unpacked {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_file_is_compiled_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".feature"))
            .collect();
        on_disk.sort();
        let mut compiled: Vec<String> = FEATURES
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        compiled.sort();
        assert_eq!(compiled, on_disk, "add new feature files to FEATURES");
    }

    #[test]
    fn unpacking_writes_features_and_fixtures_and_cleans_up() {
        let parent = std::env::temp_dir().join(format!("unpack-test-{}", std::process::id()));
        let unpacked = Unpacked::new(&parent).unwrap();
        assert!(unpacked.features().join("handshake.feature").is_file());
        assert!(
            unpacked
                .features()
                .join("../fixtures/catalogue.toml")
                .is_file()
        );
        let root = unpacked.features().parent().unwrap().to_owned();
        drop(unpacked);
        assert!(!root.exists());
        let _ = std::fs::remove_dir_all(parent);
    }
}
