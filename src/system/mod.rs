//! What the process asks of the operating system: more file descriptors,
//! how much memory a process uses, who listens on a port, what `/proc`
//! says of a process ([`processes`]), and where a program is installed.

pub mod processes;
mod programs;

use std::collections::HashSet;
use std::io;

pub use processes::has_environment;
pub use programs::{find_program, is_executable, path_dirs};

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
/// address, IPv4 or IPv6): the kernel's socket diagnostics (netlink
/// `sock_diag`, what `ss` asks) give the listeners' inodes, and `/proc/*/fd`
/// who holds them.
///
/// Picking a free port and handing it to a backend races with everything
/// else on the machine: another program may take the port first. A client
/// must then not talk to that program as if it were the backend, so a
/// caller checks who holds the listener. The kernel is asked for listeners
/// only, which costs microseconds; `/proc/net/tcp` would list every
/// connection of the machine, thousands in `TIME_WAIT` after a suite, at a
/// cost that grows with them, and is read only where the kernel has no
/// socket diagnostics. Processes whose descriptors this process may not read
/// are not listed; empty on systems without `/proc`.
pub fn listeners_on(port: u16) -> Vec<u32> {
    let inodes: HashSet<u64> = listening_sockets()
        .unwrap_or_else(|_| listening_sockets_in_proc())
        .into_iter()
        .filter(|(local_port, _)| *local_port == port)
        .map(|(_, inode)| inode)
        .collect();
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut holders = Vec::new();
    for pid in processes::pids() {
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

/// The same as [`listening_sockets`], from `/proc/net/tcp` and
/// `/proc/net/tcp6` (state `0A` is LISTEN).
fn listening_sockets_in_proc() -> Vec<(u16, u64)> {
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEX_IP:HEX_PORT.
            if let (Some(local), Some(&"0A"), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
                && let Some(port) = local
                    .rsplit_once(':')
                    .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok())
                && let Ok(inode) = inode.parse::<u64>()
            {
                found.push((port, inode));
            }
        }
    }
    found
}

/// Every listening TCP socket of this network namespace, IPv4 and IPv6, as
/// (local port, inode).
fn listening_sockets() -> io::Result<Vec<(u16, u64)>> {
    use netlink_packet_core::{
        NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    };
    use netlink_packet_sock_diag::SockDiagMessage;
    use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
    use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
    use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_SOCK_DIAG};

    let bad = |error: netlink_packet_core::DecodeError| io::Error::other(error.to_string());
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let mut found = Vec::new();
    for (family, socket_id) in [
        (AF_INET, SocketId::new_v4()),
        (AF_INET6, SocketId::new_v6()),
    ] {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        let mut request = NetlinkMessage::new(
            header,
            SockDiagMessage::InetRequest(InetRequest {
                family,
                protocol: IPPROTO_TCP,
                extensions: ExtensionFlags::empty(),
                states: StateFlags::LISTEN,
                socket_id,
            })
            .into(),
        );
        request.finalize();
        let mut bytes = vec![0; request.buffer_len()];
        request.serialize(&mut bytes);
        socket.send(&bytes, 0)?;
        let mut buffer = vec![0; 32 * 1024];
        'dump: loop {
            let size = socket.recv(&mut &mut buffer[..], 0)?;
            let mut offset = 0;
            while offset < size {
                let message = NetlinkMessage::<SockDiagMessage>::deserialize(&buffer[offset..size])
                    .map_err(bad)?;
                match message.payload {
                    NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                        found.push((
                            response.header.socket_id.source_port,
                            u64::from(response.header.inode),
                        ));
                    }
                    NetlinkPayload::Done(_) => break 'dump,
                    NetlinkPayload::Error(error) => {
                        return Err(io::Error::other(format!("sock_diag: {error:?}")));
                    }
                    _ => {}
                }
                let length = message.header.length as usize;
                if length == 0 {
                    break;
                }
                offset += length;
            }
        }
    }
    Ok(found)
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
        // A connection's own port is not a listener.
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let client_port = client.local_addr().unwrap().port();
        assert!(listeners_on(client_port).is_empty());
        drop(listener);
        assert!(listeners_on(port).is_empty());
        // Both sources agree where both exist.
        let again = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let inode_of = |found: Vec<(u16, u64)>, port: u16| {
            found
                .into_iter()
                .find(|(p, _)| *p == port)
                .map(|(_, inode)| inode)
        };
        let port = again.local_addr().unwrap().port();
        let from_proc = inode_of(listening_sockets_in_proc(), port);
        assert!(from_proc.is_some());
        if let Ok(found) = listening_sockets() {
            assert_eq!(inode_of(found, port), from_proc);
        }
        // IPv6 listeners are found too, where the machine has IPv6.
        if let Ok(six) = std::net::TcpListener::bind("[::1]:0") {
            let port = six.local_addr().unwrap().port();
            assert_eq!(listeners_on(port), [std::process::id()]);
        }
    }
}
