#!/usr/bin/env python3
"""The readiness benchmark's `tcp` figure, for mirakuru's TCPExecutor.

The same fixture as `cargo bench --bench readiness` (a program that opens
its port after a random 30-230 ms and prints the moment it did, in
nanoseconds) started through mirakuru with its defaults; the figure is the
time from that moment to start() returning. Run it in the same sitting as
the Rust benchmark, so both see the same machine:

    python3 -m venv /tmp/mirakuru && /tmp/mirakuru/bin/pip install mirakuru
    /tmp/mirakuru/bin/python benches/mirakuru_tcp.py [RUNS]
"""

import os
import random
import socket
import statistics
import sys
import time

from mirakuru import TCPExecutor

FIXTURE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "fixtures",
    "orchestration",
    "bench_tcp_server.pl",
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def latency_ms():
    port = free_port()
    delay = "0.%03d" % random.randrange(30, 230)
    executor = TCPExecutor(
        ["perl", FIXTURE, str(port), delay], host="127.0.0.1", port=port, timeout=10
    )
    executor.start()
    returned = time.time_ns()
    line = executor.output().readline()
    if isinstance(line, bytes):
        line = line.decode()
    executor.stop()
    opened = int(line.rsplit(" ", 1)[1])
    return (returned - opened) / 1e6


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    samples = [latency_ms() for _ in range(runs)]
    print(
        "mirakuru TCPExecutor, %d runs: mean %.1f ms, median %.1f ms, min %.1f ms, max %.1f ms"
        % (
            runs,
            statistics.mean(samples),
            statistics.median(samples),
            min(samples),
            max(samples),
        )
    )


if __name__ == "__main__":
    main()
