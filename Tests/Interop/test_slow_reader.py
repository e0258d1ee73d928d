"""A client that pipelines requests and never reads its replies must not take the server's memory.

A raw client pipelines up to 1,000,000 getData of a 1 KiB node (about 1 GiB of replies) and never reads; meanwhile
a second client runs its normal workload. On our server the RSS stays under a stated bound (+64 MiB), the second
client's requests keep completing, and when the first client closes its connection is freed. Apache ZooKeeper's
behaviour in the same test is measured and reported (printed, and written to .build/slow-reader-<impl>.json):
ZooKeeper 3.8 keeps reading and queues the replies of a connection that does not read in its own heap.

Bounded: the slow client sends for at most SEND_SECONDS.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from zkraw import Op, RawSession, Writer, four_letter_word, frame
from zkserver import HOST

pytestmark = pytest.mark.standalone_only(
    "measures one fresh server process's memory (RSS)")

REQUESTS = 1_000_000
SEND_SECONDS = 12.0
RSS_BOUND_MIB = 64
REPO_ROOT = Path(__file__).resolve().parents[2]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def alive_connections(port: int) -> int:
    for line in four_letter_word(HOST, port, "mntr").splitlines():
        if line.startswith("zk_num_alive_connections"):
            return int(line.split()[1])
    raise RuntimeError("no zk_num_alive_connections in mntr")


def test_a_client_that_never_reads_does_not_take_the_servers_memory(fresh_server, impl):
    srv = fresh_server
    pid = srv.proc.pid
    with RawSession.connect(HOST, srv.port) as setup:
        setup.create("/big", b"x" * 1024)
    time.sleep(0.5)
    base = rss_mib(pid)

    slow = RawSession.connect(HOST, srv.port, session_timeout_ms=30000)
    request = Writer().string("/big").bool(False).bytes()
    batch = b"".join(frame(struct.pack(">ii", xid, Op.GET_DATA) + request) for xid in range(1, 1001))
    sent = 0
    stop = threading.Event()

    def pipeline() -> None:
        nonlocal sent
        slow.sock.settimeout(0.5)
        deadline = time.monotonic() + SEND_SECONDS
        pending = memoryview(batch)
        while sent < REQUESTS and time.monotonic() < deadline and not stop.is_set():
            try:
                n = slow.sock.send(pending)
            except socket.timeout:
                continue  # the server is not reading: back-pressure
            except OSError:
                return  # closed by the server
            pending = pending[n:]
            if not pending:
                sent += 1000
                pending = memoryview(batch)

    sender = threading.Thread(target=pipeline, daemon=True)
    sender.start()

    # The second client: a normal workload, one request at a time, all the while.
    completed = 0
    slowest = 0.0
    peak = base
    worker = RawSession.connect(HOST, srv.port, session_timeout_ms=30000)
    worker.create("/w", b"0")
    start = time.monotonic()
    while sender.is_alive() and time.monotonic() - start < SEND_SECONDS + 5:
        t0 = time.monotonic()
        worker.set_data("/w", str(completed).encode())
        worker.get_data("/w")
        slowest = max(slowest, time.monotonic() - t0)
        completed += 1
        if completed % 20 == 0:
            peak = max(peak, rss_mib(pid))
    stop.set()
    sender.join(5)
    peak = max(peak, rss_mib(pid))
    connections_before_close = alive_connections(srv.port)
    slow.close_socket()
    freed = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if alive_connections(srv.port) <= connections_before_close - 1:
            freed = True
            break
        time.sleep(0.2)
    after_close = rss_mib(pid)
    worker.get_data("/w")  # still served
    worker.close()

    report = {
        "impl": impl, "requests_pipelined": sent, "rss_base_mib": round(base, 1), "rss_peak_mib": round(peak, 1),
        "rss_growth_mib": round(peak - base, 1), "rss_after_close_mib": round(after_close, 1),
        "second_client_ops": completed, "second_client_slowest_s": round(slowest, 3),
        "slow_connection_freed": freed,
    }
    print("slow reader:", json.dumps(report))
    out = REPO_ROOT / ".build" / f"slow-reader-{impl}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report) + "\n")

    assert sent >= 1000, report  # the client really pipelined
    assert completed >= 20, report  # the second client kept completing
    assert freed, report  # the connection went away when its client closed it
    if impl == "zooreg":
        assert peak - base < RSS_BOUND_MIB, report
        assert slowest < 2.0, report
        assert sent < REQUESTS, report  # back-pressure stopped the reader's requests long before 1,000,000
