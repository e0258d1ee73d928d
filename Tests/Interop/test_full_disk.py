"""A full disk loses no acknowledged write.

The server's data directory sits on a tiny tmpfs (the tests run as root, as CI does). Writes go on until the
disk is full and the server stops acknowledging them; then the data directory is copied to a roomy disk and a
server started on the copy must hold every write that was acknowledged, with its value.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from zkserver import Server

pytestmark = pytest.mark.standalone_only(
    "fills the one server's data dir (tmpfs) and restarts a server on a copy of it")

VALUE = b"v" * 40_000
ATTEMPTS = 400  # 16 MB of values against a 4 MiB file system: the disk must fill


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)


def test_full_disk_loses_no_acknowledged_write(impl, tmp_path):
    small = tmp_path / "small"
    _mount_tmpfs(small, "4m")
    try:
        srv = Server(impl, tmp_path / "srv", dataDir=str(small / "data"))
        (small / "data").mkdir()
        srv.start()
        zk = KazooClient(hosts=srv.hosts, timeout=10, connection_retry=None, command_retry=None)
        zk.start(timeout=15)
        acknowledged = []
        refused = None
        for i in range(ATTEMPTS):
            try:
                zk.create(f"/n{i:04d}", VALUE)
            except Exception as e:  # connection loss or a server error: the write was not acknowledged
                refused = e
                break
            acknowledged.append(i)
        try:
            zk.stop()
            zk.close()
        except Exception:
            pass
        assert refused is not None, "the 4 MiB disk never filled"
        assert len(acknowledged) > 10, srv.log_tail()
        srv.kill()

        roomy = tmp_path / "roomy"
        shutil.copytree(small / "data", roomy)
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)

    again = Server(impl, tmp_path / "again", dataDir=str(roomy))
    again.start()
    try:
        zk = KazooClient(hosts=again.hosts, timeout=10)
        zk.start(timeout=15)
        missing = [i for i in acknowledged if zk.exists(f"/n{i:04d}") is None]
        assert not missing, f"acknowledged writes lost after a full disk: {missing[:10]}"
        for i in acknowledged[:: max(1, len(acknowledged) // 10)]:
            assert zk.get(f"/n{i:04d}")[0] == VALUE
        zk.stop()
        zk.close()
    finally:
        again.stop()
