//! The project's feature files, compiled into the library so
//! `discos-sim check` can run them with no checkout at hand.

use std::path::{Path, PathBuf};

/// Every file of `features/`, by name, with its text.
pub const FEATURES: &[(&str, &str)] = &[(
    "handshake.feature",
    include_str!("../../features/handshake.feature"),
)];

/// Writes the compiled-in features to a fresh directory under `parent` and
/// returns it.
pub fn unpack(parent: &Path) -> std::io::Result<PathBuf> {
    let dir = parent.join(format!("discos-features-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for (name, text) in FEATURES {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(dir)
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
}
