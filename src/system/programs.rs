//! Finding a program as a shell would: a name with a slash is a path, a bare
//! name is looked up in the directories of `PATH`, in order. The browser's
//! programs and the broker's are found here, so that both say "not
//! installed" for the same reasons.

use std::path::{Path, PathBuf};

/// The directories of `PATH`, in order; none when it is unset.
pub fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}

/// Whether `path` is a file with an execute bit: what a shell would run.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// `name` as a shell would run it: a path (it has a `/`) if it is
/// executable, a bare name from the first directory of `PATH` that holds it
/// executable.
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let candidate = PathBuf::from(name);
        return is_executable(&candidate).then_some(candidate);
    }
    path_dirs()
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_and_by_their_path() {
        let sh = find_program("sh").expect("sh is on PATH");
        assert!(sh.is_absolute() && is_executable(&sh), "{sh:?}");
        assert_eq!(find_program(sh.to_str().unwrap()), Some(sh.clone()));
        assert_eq!(find_program("surely-not-a-program-here"), None);
        assert_eq!(find_program("/nonexistent/sh"), None);
        // A file that is not executable is not a program, nor is a folder.
        assert!(!is_executable(Path::new("Cargo.toml")));
        assert!(!is_executable(Path::new("/")));
        assert!(path_dirs().iter().any(|dir| sh.starts_with(dir)));
    }
}
