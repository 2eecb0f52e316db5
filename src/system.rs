//! What the process asks of the operating system: more file descriptors,
//! how much memory a process uses, and who listens on a port.

use std::collections::HashSet;
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

/// The processes holding a TCP socket that listens on `port` (any local
/// address, IPv4 or IPv6), from `/proc/net/tcp*` and `/proc/*/fd`.
///
/// Picking a free port and handing it to a backend races with everything
/// else on the machine: another program may take the port first. A client
/// must then not talk to that program as if it were the backend, so a
/// caller checks who holds the listener. Processes whose descriptors this
/// process may not read are not listed; empty on systems without `/proc`.
pub fn listeners_on(port: u16) -> Vec<u32> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN.
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let listening_here = *state == "0A"
                && local
                    .rsplit_once(':')
                    .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok())
                    == Some(port);
            if listening_here && let Ok(inode) = inode.parse::<u64>() {
                inodes.insert(inode);
            }
        }
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut holders = Vec::new();
    for process in processes.flatten() {
        let Some(pid) = process
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).ok().is_some_and(|target| {
                target
                    .to_str()
                    .and_then(|t| t.strip_prefix("socket:["))
                    .and_then(|t| t.strip_suffix(']'))
                    .and_then(|t| t.parse::<u64>().ok())
                    .is_some_and(|inode| inodes.contains(&inode))
            })
        });
        if holds {
            holders.push(pid);
        }
    }
    holders.sort_unstable();
    holders
}

/// Whether process `pid` has `key=value` in its environment, as it was when
/// it started: a mark set on a backend's command is inherited by everything
/// it starts, including what leaves its process group.
pub fn has_environment(pid: u32, key: &str, value: &str) -> bool {
    let wanted = format!("{key}={value}");
    std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
        environ
            .split(|&b| b == 0)
            .any(|entry| entry == wanted.as_bytes())
    })
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

    #[test]
    fn the_listener_of_a_port_is_found_with_its_process() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(listeners_on(port), [std::process::id()]);
        drop(listener);
        assert!(listeners_on(port).is_empty());
    }

    #[test]
    fn the_environment_of_a_process_can_be_read() {
        let path = std::env::var("PATH").unwrap();
        assert!(has_environment(std::process::id(), "PATH", &path));
        assert!(!has_environment(std::process::id(), "PATH", "not the path"));
    }
}
