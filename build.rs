//! Compiles two folders into the crate, every file of each, so that a new
//! file needs no list to be kept in step:
//! - the step library's source files: the step catalogue (`discos-sim
//!   steps`) shows each step's doc comment, which exists only in the source;
//! - the project's feature files: `discos-sim check` runs them where there
//!   is no checkout.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const STEPS: &str = "src/acceptance/steps";
const FEATURES: &str = "features";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed={STEPS}");
    println!("cargo::rerun-if-changed={FEATURES}");
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // Steps are named by their path in the crate, as the compiler records
    // a step's location; features by their file name.
    let steps = compiled_in(&root, STEPS, "rs", |name| format!("{STEPS}/{name}"))?;
    write_if_changed(&out.join("step_sources.rs"), &steps)?;
    let features = compiled_in(&root, FEATURES, "feature", str::to_owned)?;
    write_if_changed(&out.join("features.rs"), &features)?;
    Ok(())
}

/// A Rust slice of `(name, text)`, one per file of `folder` whose name ends
/// in `.extension`, sorted by name, each text read at compile time.
fn compiled_in(
    root: &Path,
    folder: &str,
    extension: &str,
    name_of: impl Fn(&str) -> String,
) -> Result<String, Box<dyn Error>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(folder))
        .map_err(|e| format!("cannot read {folder}: {e}"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    let mut code = String::from("&[\n");
    for path in &files {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| format!("{} has a name that is not UTF-8", path.display()))?;
        writeln!(
            code,
            "    ({:?}, include_str!({:?})),",
            name_of(name),
            path.display().to_string()
        )?;
    }
    code.push_str("]\n");
    Ok(code)
}

/// Leaves the file alone when it already says this, so that the crate is
/// not rebuilt for nothing.
fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text)
}
