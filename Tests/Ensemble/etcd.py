"""A 3-member etcd cluster on loopback, and the controller of the cut-able TCP proxies (tcpproxy.py) that sit
between each zooreg replica and the etcd members. Only the zooreg ensemble uses these.

etcd timing: --heartbeat-interval 50 --election-timeout 500 (defaults 100/1000), so that after kill -9 of the
leader a new one is elected in about 0.5-1 s instead of 1-2 s. Override with ENSEMBLE_ETCD_HEARTBEAT_MS and
ENSEMBLE_ETCD_ELECTION_MS (e.g. 100/1000 on a slow machine where 500 ms gives spurious elections).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from procs import HOST, ManagedProcess, ProcessError, die_with_parent, free_ports, wait_until

ETCD_BIN = os.environ.get("ENSEMBLE_ETCD_BIN", "/usr/bin/etcd")
ETCDCTL_BIN = os.environ.get("ENSEMBLE_ETCDCTL_BIN", "/usr/bin/etcdctl")
HEARTBEAT_MS = int(os.environ.get("ENSEMBLE_ETCD_HEARTBEAT_MS", "50"))
ELECTION_MS = int(os.environ.get("ENSEMBLE_ETCD_ELECTION_MS", "500"))
TCPPROXY = Path(__file__).resolve().parent / "tcpproxy.py"


class EtcdError(RuntimeError):
    pass


def etcd_available() -> Optional[str]:
    """None if etcd and etcdctl are installed, else the reason they are not usable."""
    for b in (ETCD_BIN, ETCDCTL_BIN):
        if not (Path(b).exists() and os.access(b, os.X_OK)):
            return f"{b} not found (Debian: apt-get install etcd-server etcd-client)"
    return None


def etcdctl(endpoints: Sequence[str], *args: str, timeout: float = 5.0) -> subprocess.CompletedProcess:
    """Runs etcdctl (API v3) against the endpoints; bounded by timeout (never raises on a non-zero exit)."""
    cmd = [ETCDCTL_BIN, f"--endpoints={','.join(endpoints)}", f"--command-timeout={max(1, int(timeout))}s",
           "--dial-timeout=1s", *args]
    env = dict(os.environ, ETCDCTL_API="3")
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 2, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, stdout=e.stdout or "", stderr=f"timed out: {e}")


class EtcdMember:
    def __init__(self, index: int, name: str, workdir: Path, client_port: int, peer_port: int,
                 cluster: "EtcdCluster") -> None:
        self.index = index
        self.name = name
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.client_port = client_port
        self.peer_port = peer_port
        self._cluster = cluster
        self.process = ManagedProcess(f"etcd {name}", self._argv, workdir / "etcd.log", workdir)

    @property
    def client_url(self) -> str:
        return f"http://{HOST}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{HOST}:{self.peer_port}"

    def _argv(self) -> List[str]:
        c = self._cluster
        # On a restart with an existing data dir, etcd ignores the --initial-cluster* flags (its WAL knows
        # the membership), so the same command line serves the first start and every restart.
        return [ETCD_BIN, "--name", self.name, "--data-dir", str(self.data_dir),
                "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", c.initial_cluster, "--initial-cluster-token", c.token,
                "--initial-cluster-state", "new",
                "--heartbeat-interval", str(c.heartbeat_ms), "--election-timeout", str(c.election_ms),
                "--logger", "zap", "--log-level", "warn"]

    def status(self, timeout: float = 2.0) -> Optional[dict]:
        """This member's `endpoint status` (member_id, leader, raftTerm, ...) or None if it does not answer."""
        r = etcdctl([self.client_url], "endpoint", "status", "-w", "json", timeout=timeout)
        if r.returncode != 0:
            return None
        try:
            entries = json.loads(r.stdout)
        except ValueError:
            return None
        return entries[0]["Status"] if entries else None

    def healthy(self, timeout: float = 2.0) -> bool:
        return etcdctl([self.client_url], "endpoint", "health", timeout=timeout).returncode == 0


class EtcdCluster:
    def __init__(self, workdir: Path, size: int = 3, heartbeat_ms: int = HEARTBEAT_MS,
                 election_ms: int = ELECTION_MS) -> None:
        reason = etcd_available()
        if reason:
            raise EtcdError(reason)
        self.workdir = Path(workdir)
        self.token = f"zooreg-ens-{uuid.uuid4().hex[:12]}"
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms
        ports = free_ports(2 * size)
        self.members = [EtcdMember(i, f"e{i + 1}", self.workdir / f"e{i + 1}", ports[2 * i], ports[2 * i + 1],
                                   self) for i in range(size)]
        self.initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    @property
    def endpoints(self) -> List[str]:
        return [m.client_url for m in self.members]

    def start(self, timeout: float = 30.0) -> "EtcdCluster":
        for m in self.members:
            m.workdir.mkdir(parents=True, exist_ok=True)
            m.process.start()
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Every running member answers `endpoint health` and they agree on one leader."""
        def ok() -> bool:
            for m in self.members:
                code = m.process.exited_unexpectedly()
                if code is not None:
                    raise EtcdError(f"{m.name} exited with {code}\n{m.process.log_tail()}")
            running = [m for m in self.members if m.process.running()]
            if not running or not all(m.healthy() for m in running):
                return False
            return self.leader_index() is not None

        try:
            wait_until(ok, timeout, "a healthy etcd cluster with a leader", interval=0.1)
        except AssertionError as e:
            raise EtcdError(f"{e}\n" + "\n".join(m.process.log_tail(15) for m in self.members)) from None

    def leader_index(self) -> Optional[int]:
        """The index of the member that the running members agree is leader, or None."""
        ids = {}
        leaders = set()
        for m in self.members:
            if not m.process.running():
                continue
            st = m.status()
            if st is None:
                return None
            ids[st["header"]["member_id"]] = m.index
            leaders.add(st.get("leader"))
        if len(leaders) != 1:
            return None
        leader = leaders.pop()
        return ids.get(leader)

    def kill(self, index: int) -> None:
        """kill -9 one member (its data dir stays)."""
        self.members[index].process.kill()

    def restart(self, index: int, timeout: float = 30.0) -> None:
        m = self.members[index]
        m.process.stop(signal.SIGKILL)
        m.process.start()
        self.wait_healthy(timeout)

    def kill_leader(self, timeout: float = 10.0) -> int:
        """kill -9 the current leader; returns its index."""
        holder = []
        wait_until(lambda: holder.append(self.leader_index()) or holder[-1] is not None, timeout, "an etcd leader")
        self.kill(holder[-1])
        return holder[-1]

    def ensure_running(self, timeout: float = 30.0) -> None:
        started = False
        for m in self.members:
            if not m.process.running():
                m.process.stop()
                m.process.start()
                started = True
        if started:
            self.wait_healthy(timeout)

    def crashed(self) -> List[str]:
        out = []
        for m in self.members:
            code = m.process.exited_unexpectedly()
            if code is not None:
                out.append(f"{m.name} exited with {code}\n{m.process.log_tail(20)}")
        return out

    def put(self, key: str, value: str, endpoints: Optional[Sequence[str]] = None,
            timeout: float = 3.0) -> subprocess.CompletedProcess:
        return etcdctl(endpoints or self.endpoints, "put", key, value, timeout=timeout)

    def get(self, key: str, endpoints: Optional[Sequence[str]] = None,
            timeout: float = 3.0) -> subprocess.CompletedProcess:
        return etcdctl(endpoints or self.endpoints, "get", key, "--print-value-only", timeout=timeout)

    def stop(self) -> None:
        for m in self.members:
            m.process.stop(signal.SIGKILL)

    def wipe(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


class ProxyProcess:
    """Controller of one tcpproxy.py process: routes (listen port -> target port), cut/heal over stdin."""

    def __init__(self, name: str, routes: Sequence[Tuple[int, int]], workdir: Path) -> None:
        self.name = name
        self.routes = list(routes)
        self.workdir = Path(workdir)
        self.log_path = self.workdir / f"{name}.log"
        self.proc: Optional[subprocess.Popen] = None
        self._buf = b""
        self.cut_mode: Optional[str] = None

    @property
    def listen_ports(self) -> List[int]:
        return [lp for lp, _ in self.routes]

    def start(self, timeout: float = 10.0) -> "ProxyProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, str(TCPPROXY), *[f"{lp}:{tp}" for lp, tp in self.routes]]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                         cwd=self.workdir, preexec_fn=die_with_parent)
        line = self._readline(timeout)
        if line != "ready":
            raise ProcessError(f"proxy {self.name} did not start: {line!r} (log {self.log_path})")
        self.cut_mode = None
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _readline(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProcessError(f"proxy {self.name}: no answer within {timeout}s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise ProcessError(f"proxy {self.name} exited (code {self.proc.poll()})")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode().strip()

    def command(self, line: str, timeout: float = 10.0) -> str:
        if not self.running():
            raise ProcessError(f"proxy {self.name} is not running")
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        reply = self._readline(timeout)
        if not reply.startswith("ok"):
            raise ProcessError(f"proxy {self.name}: {line!r} -> {reply!r}")
        return reply[2:].strip()

    def cut(self, mode: str = "reset", route: str = "all") -> None:
        self.command(f"cut {route} {mode}")
        self.cut_mode = mode

    def heal(self, route: str = "all") -> None:
        self.command(f"heal {route}")
        self.cut_mode = None

    def stats(self) -> list:
        return json.loads(self.command("stats"))

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
