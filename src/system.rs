//! What the process asks of the operating system: more file descriptors, and
//! how much memory a process uses.

use std::io;

/// Raises the soft limit on open files to the hard limit and returns the new
/// soft limit: a server holding ten thousand connections, or a load tool
/// opening them, needs more than the usual 1024.
pub fn raise_open_file_limit() -> io::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(io::Error::from)?;
    }
    Ok(hard.max(soft))
}

/// The resident memory of process `pid`, in bytes, from `/proc/PID/status`.
pub fn resident_memory(pid: u32) -> io::Result<u64> {
    memory_figure(pid, "VmRSS")
}

/// The most resident memory process `pid` has had, in bytes: its peak, which
/// a reading taken after a burst would miss.
pub fn peak_resident_memory(pid: u32) -> io::Result<u64> {
    memory_figure(pid, "VmHWM")
}

fn memory_figure(pid: u32, field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::other(format!("no {field} line in /proc/{pid}/status")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_uses_some_memory() {
        let now = resident_memory(std::process::id()).unwrap();
        assert!(now > 0);
        assert!(peak_resident_memory(std::process::id()).unwrap() >= now);
    }

    #[test]
    fn the_limit_is_at_least_what_it_was() {
        assert!(raise_open_file_limit().unwrap() >= 256);
    }
}
