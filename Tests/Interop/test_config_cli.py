"""`zooreg config get|set|watch` against each server under test (zooreg and Apache ZooKeeper): JSON validation,
compare-and-set with --version, and `watch` printing changes made by kazoo."""

from __future__ import annotations

import subprocess
import time

import pytest

from registry_support import LineProcess
from zkserver import REPO_ROOT, zooreg_binary


def config(server, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(zooreg_binary()), "config", *args, "--server", server.hosts],
                          cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, timeout=60)


def wait_lines(proc: LineProcess, count: int, timeout: float = 20.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [text for _, text in proc.lines]
        if len(lines) >= count:
            return lines
        if proc.proc.poll() is not None and len(proc.lines) < count:
            break
        time.sleep(0.02)
    raise AssertionError(f"wanted {count} lines, got {[t for _, t in proc.lines]}; stderr {proc.stderr}")


def test_set_creates_node_and_parents_and_get_prints_it(server, zk, root):
    path = f"{root}/app/settings"
    done = config(server, "set", path, '{"limit": 3}', "--json")
    assert done.returncode == 0, done.stderr
    data, stat = zk.get(path)
    assert data == b'{"limit": 3}'
    got = config(server, "get", path, "--stat")
    assert got.returncode == 0, got.stderr
    lines = got.stdout.splitlines()
    assert lines[0] == '{"limit": 3}'
    assert f"dataVersion = {stat.version}" in lines


def test_set_with_json_refuses_invalid_json_and_writes_nothing(server, zk, root):
    path = f"{root}/cfg"
    done = config(server, "set", path, "{not json", "--json")
    assert done.returncode != 0
    assert "not valid JSON" in done.stderr
    assert zk.exists(path) is None
    # Without --json any text is fine.
    assert config(server, "set", path, "{not json").returncode == 0
    assert zk.get(path)[0] == b"{not json"


def test_set_with_version_is_compare_and_set(server, zk, root):
    path = f"{root}/cas"
    zk.create(path, b"v0")
    zk.set(path, b"v1")  # version 1
    stale = config(server, "set", path, "mine", "--version", "0")
    assert stale.returncode == 3, stale.stderr
    assert "compare-and-set failed" in stale.stderr and "version 1" in stale.stderr
    assert zk.get(path)[0] == b"v1"
    fresh = config(server, "set", path, "mine", "--version", "1")
    assert fresh.returncode == 0, fresh.stderr
    data, stat = zk.get(path)
    assert data == b"mine" and stat.version == 2
    # --version never creates.
    missing = config(server, "set", f"{root}/nope", "x", "--version", "0")
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr
    assert zk.exists(f"{root}/nope") is None


def test_get_of_missing_node_fails(server, root):
    missing = config(server, "get", f"{root}/missing")
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr


def test_watch_prints_changes_made_by_kazoo(server, zk, root):
    path = f"{root}/watched"
    proc = LineProcess([str(zooreg_binary()), "config", "watch", path, "--count", "5", "--server", server.hosts])
    try:
        assert wait_lines(proc, 1) == ["absent"]
        zk.create(path, b"one")
        assert wait_lines(proc, 2)[1] == "one"
        zk.set(path, b"two")
        assert wait_lines(proc, 3)[2] == "two"
        zk.delete(path)
        assert wait_lines(proc, 4)[3] == "deleted"
        zk.create(path, b"three")
        assert wait_lines(proc, 5) == ["absent", "one", "two", "deleted", "three"]
        assert proc.proc.wait(timeout=20) == 0, proc.stderr
    finally:
        if proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait()


def test_watch_stops_on_sigint(server, zk, root):
    path = f"{root}/interrupted"
    zk.create(path, b"first")
    proc = LineProcess([str(zooreg_binary()), "config", "watch", path, "--stat", "--server", server.hosts])
    try:
        lines = wait_lines(proc, 2)
        assert lines[:2] == ["first", "version=0"]
        proc.proc.send_signal(2)
        assert proc.proc.wait(timeout=20) == 0, proc.stderr
    finally:
        if proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait()


@pytest.mark.parametrize("value", ['"just a string"', "42", "[1, 2]"])
def test_json_fragments_are_valid(server, zk, root, value):
    path = f"{root}/fragment"
    assert config(server, "set", path, value, "--json").returncode == 0
    assert zk.get(path)[0] == value.encode()
