"""A client that is not Python: Debian's zkCli (the Java client of ZooKeeper 3.8), scripted on stdin,
with its output checked line by line."""

import os
import re
import subprocess
import uuid

import pytest

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"


def run_zkcli(server, tmp_path, stdin=None, args=()):
    env = dict(os.environ, ZOO_LOG_DIR=str(tmp_path))
    proc = subprocess.run([ZKCLI, "-server", server.hosts, *args], input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          timeout=90, env=env, cwd=tmp_path)
    return proc


PREAMBLE = ("Connecting to ", "Welcome to ZooKeeper!", "JLine support is disabled", "SLF4J:")


def split_output(text):
    """(command output lines, watcher event lines other than connection-state ones)."""
    out, events = [], []
    for line in text.splitlines():
        if line.startswith("WatchedEvent "):
            if "type:None" not in line:
                events.append(line)
        elif line.strip() and line != "WATCHER::" and not line.startswith(PREAMBLE):
            out.append(line)
    return out, events


STAT_LINES = [
    r"cZxid = 0x[0-9a-f]+", r"ctime = .+", r"mZxid = 0x[0-9a-f]+", r"mtime = .+", r"pZxid = 0x[0-9a-f]+",
    "cversion = {cversion}", "dataVersion = {version}", "aclVersion = 0", "ephemeralOwner = {owner}",
    "dataLength = {length}", "numChildren = {children}",
]


def stat_lines(cversion=0, version=0, owner="0x0", length=0, children=0):
    return [line.format(cversion=cversion, version=version, owner=owner, length=length, children=children)
            for line in STAT_LINES]


def test_zkcli_script(server, tmp_path):
    r = f"/zkcli-{uuid.uuid4().hex[:8]}"
    script = f"""
create {r}
create {r}/zc hello
ls {r}
get {r}/zc
set {r}/zc world
get -s {r}/zc
stat {r}/zc
create -e {r}/zc/e
create -s {r}/zc/s- data
create -s -e {r}/zc/es-
create {r}/zc/x
ls -s {r}/zc
getAcl {r}/zc
setAcl {r}/zc/x world:anyone:r
getAcl {r}/zc/x
set {r}/zc/x foo
addauth digest u:p
create {r}/zc/acl d auth:u:p:cdrwa
getAcl {r}/zc/acl
create {r}/zc/x
delete {r}/zc
delete {r}/zc/x
get {r}/nonexist
create -c {r}/cont
create -t 60000 {r}/ttl
getEphemerals {r}
getAllChildrenNumber {r}
whoami
addWatch -m PERSISTENT_RECURSIVE {r}
set {r}/zc/e changed
deleteall {r}/zc
ls {r}
sync {r}
quit
"""
    proc = run_zkcli(server, tmp_path, stdin=script)
    out, events = split_output(proc.stdout)
    expected = [
        f"Created {r}",
        f"Created {r}/zc",
        "[zc]",
        "hello",
        "world",
        *stat_lines(version=1, length=5),
        *stat_lines(version=1, length=5),
        f"Created {r}/zc/e",
        f"Created {r}/zc/s-0000000001",
        f"Created {r}/zc/es-0000000002",
        f"Created {r}/zc/x",
        "[e, es-0000000002, s-0000000001, x]",
        *stat_lines(cversion=4, version=1, length=5, children=4),
        "'world,'anyone",
        ": cdrwa",
        "'world,'anyone",
        ": r",
        f"Insufficient permission : {r}/zc/x",
        f"Created {r}/zc/acl",
        "'digest,'u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=",
        ": cdrwa",
        f"Node already exists: {r}/zc/x",
        f"Node not empty: {r}/zc",
        f"Node does not exist: {r}/nonexist",
        f"Created {r}/cont",
        f"Created {r}/ttl",
        "EPHEMERALS",
        "7",
        "Auth scheme: User",
        "WHOAMI",
        "WHOAMI",
        "[cont, ttl]",
        "Sync is OK",
    ]
    assert len(out) == len(expected), "\n".join(out)
    whoami = set()
    for got, want in zip(out, expected):
        if want == "EPHEMERALS":
            assert got.startswith("[") and got.endswith("]"), got
            assert sorted(got[1:-1].split(", ")) == [f"{r}/zc/e", f"{r}/zc/es-0000000002"]
        elif want == "WHOAMI":
            whoami.add(got)
        elif want.startswith(("cZxid", "ctime", "mZxid", "mtime", "pZxid")):
            assert re.fullmatch(want, got), (got, want)
        else:
            assert got == want
    assert whoami == {"ip: 127.0.0.1", "digest: u"}
    # the persistent recursive watch saw the change and the deletes (their order follows deleteall's walk)
    assert events[0] == f"WatchedEvent state:SyncConnected type:NodeDataChanged path:{r}/zc/e"
    assert sorted(events[1:]) == sorted(
        f"WatchedEvent state:SyncConnected type:NodeDeleted path:{r}/zc{suffix}"
        for suffix in ("/e", "/acl", "/es-0000000002", "/s-0000000001", ""))
    assert events[-1] == f"WatchedEvent state:SyncConnected type:NodeDeleted path:{r}/zc"


def test_zkcli_single_command_and_ephemeral_owner(server, tmp_path, zk, root):
    zk.create(f"{root}/e", b"x", ephemeral=True)
    proc = run_zkcli(server, tmp_path, args=("stat", f"{root}/e"))
    assert proc.returncode == 0, proc.stdout
    out, _ = split_output(proc.stdout)
    assert f"ephemeralOwner = 0x{zk.client_id[0]:x}" in out
    assert "dataLength = 1" in out
    proc = run_zkcli(server, tmp_path, args=("ls", root))
    out, _ = split_output(proc.stdout)
    assert out == ["[e]"]
