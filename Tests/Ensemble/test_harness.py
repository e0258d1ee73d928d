"""Smoke tests of the zooreg side of the harness, runnable before zooreg's ensemble mode exists (they do not
depend on ENSEMBLE_IMPLS):

- the cut-able TCP proxy (reset and blackhole cuts, heal) against a local echo server;
- the 3-member etcd cluster: health, leader, put/get through a replica's proxies, cut/heal, kill -9 of the
  leader and restart;
- ZooregEnsemble's lifecycle with a stand-in binary (a standalone Apache ZooKeeper that reads the zoo.cfg
  the harness writes for zooreg): config keys, readiness, kill/restart/wipe, partition/heal, etcd leader
  kill/restart, dumps, repair.
"""

from __future__ import annotations

import socket
import stat
import threading
import time
from pathlib import Path

import pytest

from cluster import ZOOKEEPER_JARS, ZooregEnsemble, make_kazoo, stop_quietly
from etcd import EtcdCluster, ProxyProcess, etcd_available
from procs import HOST, free_ports, wait_until

needs_etcd = pytest.mark.skipif(etcd_available() is not None, reason=str(etcd_available()))


class EchoServer:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    def close(self) -> None:
        self.sock.close()


def _roundtrip(sock: socket.socket, payload: bytes, timeout: float = 2.0) -> bytes:
    sock.settimeout(timeout)
    sock.sendall(payload)
    out = b""
    while len(out) < len(payload):
        chunk = sock.recv(4096)
        if not chunk:
            break
        out += chunk
    return out


def test_tcp_proxy_cut_and_heal(tmp_path):
    echo = EchoServer()
    (lp,) = free_ports(1)
    proxy = ProxyProcess("proxy-test", [(lp, echo.port)], tmp_path).start()
    try:
        a = socket.create_connection((HOST, lp), timeout=2)
        assert _roundtrip(a, b"hello") == b"hello"

        # reset: the open connection is reset, new ones are refused
        proxy.cut("reset")
        with pytest.raises(OSError):
            a.settimeout(2)
            a.sendall(b"x")
            if not a.recv(10):
                raise ConnectionResetError("closed")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, lp), timeout=2)
        proxy.heal()
        b = socket.create_connection((HOST, lp), timeout=2)
        assert _roundtrip(b, b"again") == b"again"

        # blackhole: connections stay open, nothing flows; after heal the held bytes arrive
        proxy.cut("blackhole")
        b.sendall(b"held")
        b.settimeout(0.5)
        with pytest.raises(socket.timeout):
            b.recv(10)
        c = socket.create_connection((HOST, lp), timeout=2)  # accepted, not forwarded
        c.sendall(b"new")
        c.settimeout(0.5)
        with pytest.raises(socket.timeout):
            c.recv(10)
        proxy.heal()
        b.settimeout(2)
        assert b.recv(10) == b"held"
        c.settimeout(2)
        assert c.recv(10) == b"new"
        stats = proxy.stats()
        assert stats[0]["mode"] == "open" and stats[0]["accepted"] >= 3
        for s in (a, b, c):
            s.close()
    finally:
        proxy.stop()
        echo.close()


@needs_etcd
def test_etcd_cluster_and_proxies(tmp_path):
    cluster = EtcdCluster(tmp_path / "etcd")
    ports = free_ports(3)
    proxy = ProxyProcess("replica-1", list(zip(ports, [m.client_port for m in cluster.members])), tmp_path)
    try:
        t0 = time.monotonic()
        cluster.start()
        proxy.start()
        up = time.monotonic() - t0
        leader = cluster.leader_index()
        assert leader is not None
        via_proxy = [f"http://{HOST}:{p}" for p in ports]
        assert cluster.put("/smoke/k", "v1", endpoints=via_proxy).returncode == 0
        assert cluster.get("/smoke/k", endpoints=via_proxy).stdout.strip() == "v1"

        proxy.cut("reset")
        t = time.monotonic()
        r = cluster.get("/smoke/k", endpoints=via_proxy, timeout=2)
        assert r.returncode != 0, "etcd answered through a cut proxy"
        assert cluster.get("/smoke/k").stdout.strip() == "v1", "direct access must still work"
        reset_fail = time.monotonic() - t
        proxy.heal()
        assert cluster.get("/smoke/k", endpoints=via_proxy).stdout.strip() == "v1"

        proxy.cut("blackhole")
        assert cluster.put("/smoke/k", "v2", endpoints=via_proxy, timeout=2).returncode != 0
        proxy.heal()
        wait_until(lambda: cluster.get("/smoke/k", endpoints=via_proxy).returncode == 0, 10, "etcd after heal")

        t = time.monotonic()
        killed = cluster.kill_leader()
        wait_until(lambda: cluster.leader_index() not in (None, killed), 10, "a new etcd leader")
        failover = time.monotonic() - t
        assert cluster.put("/smoke/k", "v3", endpoints=via_proxy).returncode == 0
        cluster.restart(killed)
        assert cluster.members[killed].healthy()
        assert cluster.get("/smoke/k", endpoints=[cluster.members[killed].client_url]).stdout.strip() == "v3"
        print(f"\netcd: cluster up in {up:.2f}s; a cut (reset) proxy fails a get in {reset_fail:.2f}s; new "
              f"leader {failover:.2f}s after kill -9 of e{killed + 1}")
        assert not cluster.crashed()
    finally:
        proxy.stop()
        cluster.stop()


STAND_IN = """#!/bin/sh
# A stand-in for `zooreg serve --config FILE --no-mdns`: a standalone Apache ZooKeeper on the same zoo.cfg.
[ "$1" = serve ] && [ "$2" = --config ] && [ "$4" = --no-mdns ] || {{ echo "bad arguments: $*" >&2; exit 2; }}
exec java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp {cp} \\
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$3"
"""


@needs_etcd
@pytest.mark.skipif(not all(Path(j).exists() for j in ZOOKEEPER_JARS), reason="Apache ZooKeeper not installed")
def test_zooreg_harness_lifecycle_with_a_stand_in_binary(tmp_path):
    """Drives every ZooregEnsemble operation; the stand-in replicas are 3 unreplicated ZooKeepers, so only
    the plumbing is checked here, not replication."""
    binary = tmp_path / "fake-zooreg"
    binary.write_text(STAND_IN.format(cp=":".join(ZOOKEEPER_JARS)))
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    ens = ZooregEnsemble(tmp_path / "ens", binary=binary)
    try:
        ens.start(check_replication=False)  # stand-ins do not replicate
        for i in ens.ids:
            cfg = dict(line.split("=", 1) for line in ens.replicas[i].cfg_path.read_text().splitlines()
                       if "=" in line and not line.startswith("#"))
            assert cfg["ensemble.replicaId"] == str(i)
            assert cfg["ensemble.cluster"] == ens.cluster_name
            assert cfg["ensemble.etcd"] == ",".join(f"http://{HOST}:{p}" for p in ens.proxies[i].listen_ports)
            assert cfg["clientPort"] == str(ens.replicas[i].client_port)
            assert cfg["tickTime"] == "200" and cfg["maxSessionTimeout"] == "30000"
            assert cfg["4lw.commands.whitelist"] == "*" and cfg["metricsProvider.httpPort"] == "0"
        # every replica's proxies reach etcd
        for i in ens.ids:
            eps = ens.etcd_urls(i).split(",")
            assert ens.etcd.put(f"/smoke/{i}", str(i), endpoints=eps).returncode == 0

        c = make_kazoo(ens.pinned_hosts(1))
        c.start(timeout=15)
        c.create("/smoke", b"x")
        stop_quietly(c)
        assert "/smoke" in ens.dump(1)

        ens.kill(2)
        assert not ens.running(2)
        ens.start_replica(2)
        ens.restart(3)
        ens.kill(1)
        ens.wipe(1)
        ens.start_replica(1)
        assert "/smoke" not in ens.dump(1)  # wiped (a stand-in does not replicate)

        ens.partition(2, "reset")
        eps = ens.etcd_urls(2).split(",")
        assert ens.etcd.get("/smoke/2", endpoints=eps, timeout=2).returncode != 0
        ens.heal(2)
        assert ens.etcd.get("/smoke/2", endpoints=eps).stdout.strip() == "2"

        idx = ens.kill_etcd_leader()
        ens.partition(3, "blackhole")
        ens.kill(1)
        ens.ensure_healthy()  # repairs all three faults
        assert ens.running(1) and all(m.process.running() for m in ens.etcd.members)
        assert all(p.cut_mode is None for p in ens.proxies.values())
        assert ens.etcd.get("/smoke/3", endpoints=ens.etcd_urls(3).split(",")).stdout.strip() == "3"
        assert not ens.crashed(), ens.crashed()
        print(f"\nstand-in zooreg ensemble: {len(ens.events)} harness events; killed etcd leader was e{idx + 1}")
    finally:
        ens.stop()
