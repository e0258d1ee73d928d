"""Recovery from a damaged transaction log, on both servers.

- A torn record at the tail (a crash in the middle of a write) is dropped and the server starts with every
  earlier transaction.
- A corrupt record in the middle of the log stops the server at start-up (it must not silently drop
  acknowledged transactions); ours also names the file and the offset.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from zkserver import IMPL_ZOOREG, Server, ServerError

pytestmark = pytest.mark.standalone_only(
    "tears and corrupts the one server's transaction log files and restarts it")

NODES = 40


def _write_nodes(srv: Server) -> None:
    zk = KazooClient(hosts=srv.hosts, timeout=10)
    zk.start(timeout=15)
    for i in range(NODES):
        zk.create(f"/n{i:03d}", f"value-{i}".encode() * 20)
    # kill -9 without closing the session: the last logged transaction is the last create
    srv.stop(signal.SIGKILL)


def _newest_log(srv: Server) -> Path:
    candidates = list(srv.data_dir.glob("log.*")) + list(srv.data_dir.glob("version-2/log.*"))
    assert candidates, f"no transaction log in {srv.data_dir}"
    return max(candidates, key=lambda p: int(p.name.split(".", 1)[1], 16))


def _data_end(data: bytes) -> int:
    """ZooKeeper preallocates its log with zeros; the records end at the last non-zero byte."""
    return len(data.rstrip(b"\x00"))


def test_torn_tail_is_dropped_and_earlier_transactions_survive(impl, tmp_path):
    srv = Server(impl, tmp_path / "srv")
    srv.start()
    try:
        _write_nodes(srv)
        log = _newest_log(srv)
        data = log.read_bytes()
        end = _data_end(data)
        # cut the last record short, as a crash in the middle of writing it would
        log.write_bytes(data[: end - 5] + b"\x00" * (len(data) - end + 5))
        srv.start()
        zk = KazooClient(hosts=srv.hosts, timeout=10)
        zk.start(timeout=15)
        present = [i for i in range(NODES) if zk.exists(f"/n{i:03d}") is not None]
        assert present == list(range(NODES - 1)), present
        assert zk.get(f"/n{NODES - 2:03d}")[0] == f"value-{NODES - 2}".encode() * 20
        zk.create("/after", b"x")  # the log is writable again
        zk.stop()
        zk.close()
    finally:
        srv.stop()


def test_corrupt_record_in_the_middle_refuses_to_start(impl, tmp_path):
    srv = Server(impl, tmp_path / "srv")
    srv.start()
    try:
        _write_nodes(srv)
        log = _newest_log(srv)
        data = bytearray(log.read_bytes())
        middle = _data_end(data) // 2
        data[middle] ^= 0xFF
        log.write_bytes(bytes(data))
        with pytest.raises(ServerError):
            srv.start(timeout=30)
        assert srv.proc is not None and srv.proc.poll() not in (None, 0), "the server must exit with an error"
        if impl == IMPL_ZOOREG:
            text = srv.log_path.read_text(errors="replace")
            assert re.search(re.escape(log.name) + r".*offset \d+", text), srv.log_tail()
    finally:
        try:
            srv.stop()
        except ServerError:
            pass
