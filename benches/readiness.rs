//! How soon `start()` returns after a service is really ready, what waiting
//! costs in CPU, and how long a stubborn process group takes to tear down.
//!
//! Each fixture stamps the wall-clock moment it printed its banner or opened
//! its port; the figure is the time from that stamp to `start()` returning.
//! The start delay is random (30–230 ms, longer than the 100 ms poll) so it
//! does not phase-lock with the probe schedule. The `tcp, 100 ms poll` line
//! is the same fixture waited for the way mirakuru does by default (probe,
//! sleep 100 ms, repeat); `benches/mirakuru_tcp.py` measures mirakuru itself
//! on the same fixture.
//!
//! Last, outside criterion (which measures wall time): the CPU this process
//! spends while `start()` waits 5 s for a port that never opens, from
//! `getrusage`, three times.

// A bench is a program with no public items but the function criterion_group!
// makes, which cannot carry a doc comment.
#![allow(missing_docs)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, SamplingMode, criterion_group};
use nix::sys::resource::{UsageWho, getrusage};
use rand::Rng;
use tokio::net::TcpStream;

use discos_acceptance::orchestration::{Executor, Readiness};

fn fixture(name: &str) -> String {
    format!(
        "{}/fixtures/orchestration/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos()
}

fn random_delay() -> String {
    let ms: u32 = rand::rng().random_range(30..230);
    format!("0.{ms:03}")
}

/// The nanosecond stamp at the end of the first output line that has one.
fn stamp(executor: &Executor) -> u128 {
    executor
        .output_lines()
        .iter()
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
        .expect("the fixture printed its stamp")
}

async fn banner_latency() -> Duration {
    let script = format!(
        "sleep {}; date +'ready %s%N'; exec sleep 1000",
        random_delay()
    );
    let mut executor =
        Executor::shell("banner", script).ready_when(Readiness::output("^ready [0-9]+$"));
    executor.start().await.expect("ready");
    let returned = now_ns();
    let latency = returned.saturating_sub(stamp(&executor));
    executor.kill();
    Duration::from_nanos(u64::try_from(latency).unwrap_or(u64::MAX))
}

fn tcp_server() -> Executor {
    Executor::new(
        "tcp",
        [
            "perl".into(),
            fixture("bench_tcp_server.pl"),
            "{port}".into(),
            random_delay(),
        ],
    )
}

/// Waits until the fixture's stamp is in the buffer: the print follows the
/// listen by microseconds, so this only matters when start() beat it.
async fn stamped(executor: &Executor) -> u128 {
    loop {
        if executor
            .output_lines()
            .iter()
            .any(|l| l.starts_with("opened at"))
        {
            return stamp(executor);
        }
        tokio::task::yield_now().await;
    }
}

async fn tcp_latency() -> Duration {
    let mut executor = tcp_server().ready_when(Readiness::tcp("127.0.0.1:{port}"));
    executor.start().await.expect("ready");
    let returned = now_ns();
    let latency = returned.saturating_sub(stamped(&executor).await);
    executor.kill();
    Duration::from_nanos(u64::try_from(latency).unwrap_or(u64::MAX))
}

async fn tcp_latency_polled_every_100ms() -> Duration {
    let mut executor = tcp_server().ready_when(Readiness::none());
    executor.start().await.expect("spawned");
    let port = executor.port().expect("port");
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let returned = now_ns();
    let latency = returned.saturating_sub(stamped(&executor).await);
    executor.kill();
    Duration::from_nanos(u64::try_from(latency).unwrap_or(u64::MAX))
}

async fn stubborn_teardown() -> Duration {
    let mut executor = Executor::new("stubborn", [fixture("ignore_term.sh")])
        .ready_when(Readiness::all([
            Readiness::output("^ready$"),
            Readiness::output("^great-grandchild [0-9]+$"),
        ]))
        .grace(Duration::from_millis(100));
    executor.start().await.expect("ready");
    let group = executor.process_group().expect("group");
    let began = Instant::now();
    executor.stop().await.expect("stopped");
    let took = began.elapsed();
    assert!(
        discos_acceptance::orchestration::processes_in_group(group).is_empty(),
        "nothing of the group survives"
    );
    took
}

fn readiness(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("readiness latency");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function("output banner", |b| {
        b.to_async(&runtime).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += banner_latency().await;
            }
            total
        })
    });
    group.bench_function("tcp, 1 ms probes for 500 ms, then back-off to 20 ms", |b| {
        b.to_async(&runtime).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += tcp_latency().await;
            }
            total
        })
    });
    group.bench_function("tcp, 100 ms poll (mirakuru default)", |b| {
        b.to_async(&runtime).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += tcp_latency_polled_every_100ms().await;
            }
            total
        })
    });
    group.finish();

    let mut group = c.benchmark_group("teardown");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function(
        "SIGTERM-ignoring group with grandchildren, grace 100 ms",
        |b| {
            b.to_async(&runtime).iter_custom(|iters| async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += stubborn_teardown().await;
                }
                total
            })
        },
    );
    group.finish();
}

/// CPU (user and system) of this whole process, all threads.
fn cpu_time() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let time = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
    };
    time(usage.user_time()) + time(usage.system_time())
}

/// A process that never opens the port it was given, waited for 5 s.
async fn cpu_of_a_hopeless_wait(wait: Duration) -> (Duration, Duration) {
    let mut executor = Executor::new("never", ["sleep", "1000"])
        .ready_when(Readiness::tcp("127.0.0.1:{port}"))
        .timeout(wait);
    let began = Instant::now();
    let before = cpu_time();
    let result = executor.start().await;
    let cpu = cpu_time().saturating_sub(before);
    let took = began.elapsed();
    assert!(result.is_err(), "nothing listens on the port");
    (cpu, took)
}

fn cpu_while_waiting() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let wait = Duration::from_secs(5);
    for run in 1..=3 {
        let (cpu, took) = runtime.block_on(cpu_of_a_hopeless_wait(wait));
        println!(
            "cpu while waiting {wait:?} for a port that never opens, run {run}: \
             {:.1} ms of CPU in {:.2} s ({:.2} % of one core)",
            cpu.as_secs_f64() * 1e3,
            took.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / took.as_secs_f64()
        );
    }
}

criterion_group!(benches, readiness);

fn main() {
    // `cargo bench --bench readiness -- FILTER` selects criterion's
    // benchmarks; the CPU figure runs with no filter or one naming "cpu".
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    if filter.as_deref().is_none_or(|f| f.contains("cpu")) {
        cpu_while_waiting();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
