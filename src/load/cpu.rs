//! CPU time and run-queue wait of a process, from `/proc`.
//!
//! On a machine shared by the server, the load tool and whatever else runs,
//! a throughput or latency figure alone cannot say whether the backend or
//! the machine was the limit. The CPU each process used per request, and
//! how long it waited runnable for a CPU, can: they go into the report.

use std::time::Duration;

/// What a process's threads have used so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Usage {
    /// Time on a CPU.
    pub(super) cpu: Duration,
    /// Time runnable but waiting for a CPU.
    pub(super) waiting: Duration,
}

impl Usage {
    /// Reads the sum over every thread of process `pid` from
    /// `/proc/PID/task/*/schedstat`; `None` where that file does not exist
    /// (not Linux, or a kernel without scheduler statistics).
    pub(super) fn of(pid: u32) -> Option<Usage> {
        let (cpu, waiting) = crate::system::processes::scheduled(pid)?;
        Some(Usage { cpu, waiting })
    }

    /// What was used between `earlier` and `self`.
    pub(super) fn since(self, earlier: Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            waiting: self.waiting.saturating_sub(earlier.waiting),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_uses_cpu() {
        let before = Usage::of(std::process::id()).expect("schedstat on Linux");
        let started = std::time::Instant::now();
        let mut used = Usage::default();
        // The kernel adds a running thread's time at ticks: spin until one.
        while used.cpu.is_zero() && started.elapsed() < Duration::from_secs(10) {
            let mut x = 0u64;
            for i in 0..100_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
            used = Usage::of(std::process::id()).unwrap().since(before);
        }
        assert!(used.cpu > Duration::ZERO);
        assert_eq!(Usage::of(u32::MAX), None);
    }
}
