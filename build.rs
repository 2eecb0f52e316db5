//! Compiles the step library's source files into the crate: the step
//! catalogue (`discos-sim steps`) shows each step's doc comment, which
//! exists only in the source, and the binary may run where there is no
//! checkout. Every file of the folder is taken, so a new steps file needs
//! no list to be kept in step.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const STEPS: &str = "src/acceptance/steps";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed={STEPS}");
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(STEPS))
        .map_err(|e| format!("cannot read {STEPS}: {e}"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
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
            format!("{STEPS}/{name}"),
            path.display().to_string()
        )?;
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    write_if_changed(&out.join("step_sources.rs"), &code)?;
    Ok(())
}

/// Leaves the file alone when it already says this, so that the crate is
/// not rebuilt for nothing.
fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text)
}
