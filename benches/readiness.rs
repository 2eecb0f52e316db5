//! How soon `start()` returns after a service is really ready, and how long a
//! stubborn process group takes to tear down.
//!
//! Each fixture stamps the wall-clock moment it printed its banner or opened
//! its port; the figure is the time from that stamp to `start()` returning.
//! The start delay is random (30–230 ms, longer than the 100 ms poll) so it does not phase-lock with the
//! probe schedule. The `tcp, 100 ms poll` line is the same fixture waited for
//! the way mirakuru does by default (probe, sleep 100 ms, repeat), for
//! comparison.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
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
    group.bench_function("tcp, back-off 1..20 ms", |b| {
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

criterion_group!(benches, readiness);
criterion_main!(benches);
