//! How long parsing and serialising one message takes.

// A bench is a program with no public items but the function criterion_group!
// makes, which cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use discos_acceptance::protocol::{Command, Message, parse};

const LINES: &[(&str, &[u8])] = &[
    ("status", b"?status\r\n"),
    (
        "set-section",
        b"?set-section,0,100.5,1000,0,stokes,2000,1024\r\n",
    ),
    ("escaped", b"?set-filename,/data/a\\,b\\\\c\\td.fits\r\n"),
    (
        "get-tpi reply",
        b"!get-tpi,ok,94.23668140841328,64.12274123430342\r\n",
    ),
];

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    for (name, line) in LINES {
        group.bench_function(*name, |b| b.iter(|| parse(black_box(line)).unwrap()));
    }
    group.bench_function("set-section to command", |b| {
        let line: &[u8] = b"?set-section,0,100.5,1000,0,stokes,2000,1024\r\n";
        b.iter(|| Command::from_request(&parse(black_box(line)).unwrap()).unwrap())
    });
    group.finish();
}

fn serialising(c: &mut Criterion) {
    let mut group = c.benchmark_group("serialise");
    group.throughput(Throughput::Elements(1));
    let mut buf = BytesMut::with_capacity(4096);
    for (name, line) in LINES {
        let message: Message = parse(line).unwrap();
        group.bench_function(*name, |b| {
            b.iter(|| {
                buf.clear();
                black_box(&message).write_to(&mut buf);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parsing, serialising);
criterion_main!(benches);
