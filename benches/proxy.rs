//! What the proxy adds to an exchange: one ping-pong (`?status` sent, its
//! reply read to the line feed, the next sent only then, as DISCOS works)
//! against the simulator directly, and the same through `discos-sim
//! proxy`'s engine in front of it, both served in this process over
//! loopback TCP. The difference of the two medians is the proxy's cost per
//! exchange; the throughput side (`discos-sim load` through a proxy
//! process) is measured from outside, with the load tool.
//!
//! `cargo bench --bench proxy`; criterion's medians are in its summary and
//! in `target/criterion/proxy/*/new/estimates.json`. Nothing here asserts a
//! speed.

// A bench is a program with no public items but the function criterion_group!
// makes, which cannot carry a doc comment.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

use discos_acceptance::backend::HandlerKind;
use discos_acceptance::proxy::{Config, Proxy};
use discos_acceptance::server::{self, Server};

/// A connection whose greeting is read, with Nagle's delay off as DISCOS's
/// socket has it, so that each line leaves at once.
async fn connect(address: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.expect("it connects");
    stream.set_nodelay(true).expect("nodelay");
    let mut greeting = Vec::new();
    read_line(&mut stream, &mut greeting).await;
    assert_eq!(greeting, b"!version,ok,1.4\r\n", "the greeting");
    stream
}

/// Reads into `line` up to and with its line feed.
async fn read_line(stream: &mut TcpStream, line: &mut Vec<u8>) {
    line.clear();
    let mut buffer = [0u8; 512];
    loop {
        let read = stream.read(&mut buffer).await.expect("it reads");
        assert!(read > 0, "the connection ended after {line:?}");
        line.extend_from_slice(&buffer[..read]);
        if line.ends_with(b"\n") {
            return;
        }
    }
}

/// `iterations` ping-pongs on `stream`, timed.
async fn ping_pong(stream: &mut TcpStream, iterations: u64) -> Duration {
    let mut reply = Vec::with_capacity(128);
    let started = Instant::now();
    for _ in 0..iterations {
        stream.write_all(b"?status\r\n").await.expect("it writes");
        read_line(stream, &mut reply).await;
        debug_assert!(reply.starts_with(b"!status,ok,"), "{reply:?}");
    }
    started.elapsed()
}

fn exchanges(c: &mut Criterion) {
    let runtime = Runtime::new().expect("a runtime");
    let (simulator, proxy) = runtime.block_on(async {
        let simulator = Server::start(
            server::Config::default(),
            HandlerKind::Simulator.build(None),
        )
        .await
        .expect("the simulator starts");
        let proxy = Proxy::start(Config::new(simulator.local_addr().to_string()))
            .await
            .expect("the proxy starts");
        (simulator, proxy)
    });
    let mut direct = runtime.block_on(connect(simulator.local_addr()));
    let mut through = runtime.block_on(connect(proxy.local_addr()));

    let mut group = c.benchmark_group("proxy");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ping-pong direct", |b| {
        b.iter_custom(|iterations| runtime.block_on(ping_pong(&mut direct, iterations)))
    });
    group.bench_function("ping-pong through the proxy", |b| {
        b.iter_custom(|iterations| runtime.block_on(ping_pong(&mut through, iterations)))
    });
    group.finish();

    drop((direct, through));
    runtime.block_on(async {
        proxy.shutdown().await;
        simulator.shutdown().await;
    });
}

criterion_group!(benches, exchanges);
criterion_main!(benches);
