//! A cgroup of its own for each started process, where this process may
//! make one: a v2 hierarchy with `cgroup.kill` (Linux 5.14), writable (as
//! root, or where systemd delegated a subtree). Nothing escapes a cgroup:
//! a descendant that calls `setsid()` and clears its environment is still
//! in it, `cgroup.kill` kills every member at once, with no window for a
//! fork, and `cgroup.procs` lists what is left. Where no cgroup can be
//! made, the process group and the environment mark are all there is
//! (see the [reaper](mod@super::reaper)).
//!
//! Each run makes one directory, `discos-PID.RANDOM`, under the cgroup it
//! was started in; each start one numbered cgroup in it, which the child
//! joins itself between `fork` and `exec` (so nothing it starts can be
//! outside), and which is removed once empty after the stop. The reaper's
//! watchdog is told each one and kills and removes what is left when this
//! process ends, however it ends.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::system::processes;

/// Where this run's cgroups go, or why there are none.
#[derive(Debug)]
pub enum Confinement {
    /// Each started process gets a cgroup under this directory.
    Cgroups(PathBuf),
    /// None can be made; the reason, for the run to say.
    Marks(String),
}

impl std::fmt::Display for Confinement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Confinement::Cgroups(dir) => write!(
                f,
                "each backend in a cgroup of its own (v2, cgroup.kill) under {}",
                dir.display()
            ),
            Confinement::Marks(why) => write!(
                f,
                "each backend in a process group, its descendants found by an environment mark ({why})"
            ),
        }
    }
}

/// How this process confines what it starts; decided once, on first use.
pub fn confinement() -> &'static Confinement {
    static CONFINEMENT: OnceLock<Confinement> = OnceLock::new();
    CONFINEMENT.get_or_init(|| match run_directory() {
        Ok(dir) => Confinement::Cgroups(dir),
        Err(why) => Confinement::Marks(why),
    })
}

/// The run's directory, made now: under the cgroup this process is in, in
/// the first mounted v2 hierarchy.
fn run_directory() -> Result<PathBuf, String> {
    if std::env::var_os("DISCOS_NO_CGROUP").is_some() {
        return Err("DISCOS_NO_CGROUP is set".to_owned());
    }
    let mount = processes::cgroup2_mount()?;
    let own = processes::own_cgroup2()?;
    let parent = mount.join(own.trim_start_matches('/'));
    let dir = parent.join(format!(
        "discos-{}.{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir(&dir)
        .map_err(|error| format!("cannot make a cgroup in {}: {error}", parent.display()))?;
    if !dir.join("cgroup.kill").exists() {
        let _ = std::fs::remove_dir(&dir);
        return Err(format!(
            "the cgroups in {} have no cgroup.kill (Linux before 5.14)",
            parent.display()
        ));
    }
    Ok(dir)
}

/// One started process's cgroup.
#[derive(Debug)]
pub(crate) struct Cgroup {
    path: PathBuf,
    /// `PATH/cgroup.procs`, ready for the child to write itself into.
    procs: CString,
}

impl Cgroup {
    /// A fresh cgroup for one start, if this run makes cgroups.
    pub(crate) fn make() -> io::Result<Option<Cgroup>> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let Confinement::Cgroups(dir) = confinement() else {
            return Ok(None);
        };
        let path = dir.join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
        std::fs::create_dir(&path)?;
        let procs = CString::new(path.join("cgroup.procs").as_os_str().as_bytes())
            .map_err(|_| io::Error::other("a cgroup path with a NUL"))?;
        Ok(Some(Cgroup { path, procs }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the calling process into this cgroup: for the child between
    /// `fork` and `exec`, so it makes only async-signal-safe system calls
    /// (open, write, close) and allocates nothing.
    pub(crate) fn join_from_child(procs: &CString) -> io::Result<()> {
        use nix::fcntl::{OFlag, open};
        use nix::sys::stat::Mode;
        let fd = open(procs.as_c_str(), OFlag::O_WRONLY, Mode::empty()).map_err(io::Error::from)?;
        nix::unistd::write(&fd, b"0").map_err(io::Error::from)?;
        Ok(())
    }

    /// The `cgroup.procs` path, for [`Cgroup::join_from_child`].
    pub(crate) fn procs_path(&self) -> CString {
        self.procs.clone()
    }

    /// The processes in it now.
    pub(crate) fn pids(&self) -> Vec<u32> {
        pids_in(&self.path)
    }

    /// Kills every process in it (and in any cgroup under it) at once.
    pub(crate) fn kill(&self) {
        let _ = std::fs::write(self.path.join("cgroup.kill"), "1");
    }

    /// Removes it (and cgroups a process made under it), once empty.
    pub(crate) fn remove(&self) -> io::Result<()> {
        remove_tree(&self.path)
    }
}

fn pids_in(path: &Path) -> Vec<u32> {
    let mut pids: Vec<u32> = std::fs::read_to_string(path.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect();
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                pids.extend(pids_in(&entry.path()));
            }
        }
    }
    pids
}

fn remove_tree(path: &Path) -> io::Result<()> {
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                remove_tree(&entry.path())?;
            }
        }
    }
    match std::fs::remove_dir(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}
