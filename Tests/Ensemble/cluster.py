"""The replicated ensembles under test, behind one interface:

- ZooKeeperEnsemble: Apache ZooKeeper 3.8 (Debian's package), 3 QuorumPeerMain processes on loopback.
- ZooregEnsemble:    3 etcd members (etcd.py) + 3 `zooreg serve` replicas; replica i reaches etcd member j
                     only through its own proxy process (tcpproxy.py), so a test can partition one replica
                     from etcd while it keeps running.

Common operations (replica ids are 1..3):
    hosts / host(i) / client_hosts(first=i) / pinned_hosts(i)     connect strings
    kill(i) / start(i) / restart(i) / wipe_and_restart(i)         kill -9, same data dir, empty data dir
    wait_ready(i) / ensure_healthy() / crashed()                  bounded readiness, repair, crash check
    dump(i) / dumps() / wait_identical()                          tree comparison (treedump.py)
    leader()                                                      ZooKeeper's leader replica (zooreg: None)
zooreg only:
    etcd (EtcdCluster: kill_leader(), restart(idx), ...), partition(i, mode) / heal(i)
"""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

import treedump
from etcd import EtcdCluster, ProxyProcess
from procs import HOST, REPO_ROOT, ManagedProcess, four_letter_word, free_ports, wait_until

IMPL_ZOOKEEPER = "zookeeper"
IMPL_ZOOREG = "zooreg"
ALL_IMPLS = (IMPL_ZOOREG, IMPL_ZOOKEEPER)

SIZE = 3
TICK_MS = 200
MIN_SESSION_TIMEOUT_MS = 2 * TICK_MS
MAX_SESSION_TIMEOUT_MS = 30000
SESSION_TIMEOUT_S = 10.0  # what the suite's kazoo clients ask for (kazoo's default)
START_TIMEOUT_S = float(os.environ.get("ENSEMBLE_START_TIMEOUT", "60"))

ZOOKEEPER_JARS = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar"]


def selected_impls() -> List[str]:
    raw = os.environ.get("ENSEMBLE_IMPLS", ",".join(ALL_IMPLS))
    impls = [i.strip() for i in raw.split(",") if i.strip()]
    for i in impls:
        if i not in ALL_IMPLS:
            raise ValueError(f"unknown implementation {i!r} in ENSEMBLE_IMPLS (known: {', '.join(ALL_IMPLS)})")
    return impls


def zooreg_binary() -> Path:
    p = Path(os.environ.get("ZOOREG_BIN", ".build/debug/zooreg"))
    return p if p.is_absolute() else REPO_ROOT / p


class EnsembleError(RuntimeError):
    pass


def kazoo_retry() -> KazooRetry:
    """Fast, unbounded reconnect attempts: a client keeps trying until its session expires or it is stopped."""
    return KazooRetry(max_tries=-1, delay=0.05, backoff=1.5, max_delay=0.5, max_jitter=0.1)


def make_kazoo(hosts: str, timeout: float = SESSION_TIMEOUT_S, **kwargs) -> KazooClient:
    kwargs.setdefault("connection_retry", kazoo_retry())
    kwargs.setdefault("command_retry", KazooRetry(max_tries=0))
    kwargs.setdefault("randomize_hosts", False)
    return KazooClient(hosts=hosts, timeout=timeout, **kwargs)


def stop_quietly(client: KazooClient) -> None:
    try:
        client.stop()
        client.close()
    except Exception:  # noqa: BLE001 - teardown goes on
        pass


class Replica:
    def __init__(self, rid: int, workdir: Path, client_port: int) -> None:
        self.id = rid
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.client_port = client_port
        self.cfg_path = workdir / "zoo.cfg"
        self.process: Optional[ManagedProcess] = None

    @property
    def host(self) -> str:
        return f"{HOST}:{self.client_port}"


class Ensemble:
    impl = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        ports = free_ports(SIZE)
        self.replicas: Dict[int, Replica] = {
            i: Replica(i, self.workdir / f"replica-{i}", ports[i - 1]) for i in range(1, SIZE + 1)}
        self.events: List[str] = []  # what the harness did, with times, for failure reports
        self._t0 = time.monotonic()

    # ---------------------------------------------------------------- connect strings

    @property
    def ids(self) -> List[int]:
        return sorted(self.replicas)

    @property
    def hosts(self) -> str:
        """All replicas, the plain 3-host connect string."""
        return ",".join(self.replicas[i].host for i in self.ids)

    def host(self, i: int) -> str:
        return self.replicas[i].host

    def client_hosts(self, first: int, repeat: int = 2) -> str:
        """All replicas starting with `first` (use with randomize_hosts=False to spread clients), the list
        repeated `repeat` times. kazoo waits session_timeout / len(hosts) for a handshake answer, and a
        server that has just restarted (or lost its quorum) may accept a connection and leave the handshake
        unanswered; a longer list shortens that stall without changing which servers are tried."""
        order = [first] + [i for i in self.ids if i != first]
        return ",".join(self.replicas[i].host for i in order * repeat)

    def pinned_hosts(self, i: int, repeat: int = 4) -> str:
        """Only replica i (repeated, for the same reason as client_hosts)."""
        return ",".join([self.replicas[i].host] * repeat)

    # ---------------------------------------------------------------- lifecycle

    def note(self, what: str) -> None:
        self.events.append(f"[{time.monotonic() - self._t0:8.2f}s] {what}")

    def _write_config(self, r: Replica) -> None:
        raise NotImplementedError

    def _make_process(self, r: Replica) -> ManagedProcess:
        raise NotImplementedError

    def _prepare_data_dir(self, r: Replica) -> None:
        r.data_dir.mkdir(parents=True, exist_ok=True)

    def start(self, check_replication: bool = True) -> "Ensemble":
        for r in self.replicas.values():
            r.workdir.mkdir(parents=True, exist_ok=True)
            self._prepare_data_dir(r)
            self._write_config(r)
            r.process = self._make_process(r)
        for i in self.ids:
            self.replicas[i].process.start()
        self.note("started all replicas")
        for i in self.ids:
            self.wait_ready(i, START_TIMEOUT_S)
        self.note("all replicas ready")
        if check_replication:
            self.check_replicated()
        return self

    def check_replicated(self, timeout: float = 15.0) -> None:
        """The replicas share one tree: a node created through the first replica is seen (after sync) by
        every other. Catches a build that accepts the ensemble settings but runs standalone servers."""
        path = f"/ensemble-check-{uuid.uuid4().hex[:8]}"
        conns = {i: make_kazoo(self.pinned_hosts(i)) for i in self.ids}
        try:
            for c in conns.values():
                c.start(timeout=15)
            first = self.ids[0]
            conns[first].create(path, b"check")
            for i, c in conns.items():
                def seen(c=c) -> bool:
                    c.sync(path)
                    return c.exists(path) is not None
                try:
                    wait_until(seen, timeout, f"replica {i} to see {path}", interval=0.2)
                except AssertionError:
                    raise EnsembleError(f"{self.impl}: {path}, created through replica {first}, is not visible "
                                        f"on replica {i} after sync within {timeout}s: the replicas do not "
                                        "share one tree") from None
            conns[first].delete(path)
        finally:
            for c in conns.values():
                stop_quietly(c)

    def running(self, i: int) -> bool:
        p = self.replicas[i].process
        return p is not None and p.running()

    def kill(self, i: int) -> None:
        """kill -9 replica i (its data dir stays)."""
        self.replicas[i].process.kill()
        self.note(f"kill -9 replica {i}")

    def start_replica(self, i: int, timeout: float = START_TIMEOUT_S) -> None:
        r = self.replicas[i]
        if r.process.running():
            raise EnsembleError(f"replica {i} already running")
        r.process.stop()
        r.process.start()
        self.note(f"start replica {i}")
        self.wait_ready(i, timeout)
        self.note(f"replica {i} ready")

    def restart(self, i: int, timeout: float = START_TIMEOUT_S) -> None:
        """kill -9 and start again with the same data dir."""
        self.kill(i)
        self.start_replica(i, timeout)

    def wipe(self, i: int) -> None:
        """Deletes a stopped replica's data dir (ZooKeeper keeps its myid file)."""
        r = self.replicas[i]
        if r.process.running():
            raise EnsembleError(f"replica {i} is running; kill it before wiping")
        shutil.rmtree(r.data_dir, ignore_errors=True)
        self._prepare_data_dir(r)
        self.note(f"wiped {r.data_dir}")

    def wipe_and_restart(self, i: int, timeout: float = START_TIMEOUT_S) -> None:
        """kill -9, delete the data dir, start again empty."""
        self.kill(i)
        self.wipe(i)
        self.start_replica(i, timeout)

    def stop(self) -> None:
        for r in self.replicas.values():
            if r.process is not None:
                r.process.stop(signal.SIGKILL)

    def ruok(self, i: int) -> bool:
        try:
            return four_letter_word(self.replicas[i].client_port, "ruok", timeout=1.0) == "imok"
        except OSError:
            return False

    def can_connect(self, i: int, timeout: float = 3.0) -> bool:
        """A kazoo client connected to replica i alone gets a session (and a sync answers)."""
        c = make_kazoo(self.pinned_hosts(i), timeout=max(2.0, timeout))
        try:
            c.start(timeout=timeout)
            c.sync("/")
            return True
        except Exception:  # noqa: BLE001 - not ready yet
            return False
        finally:
            stop_quietly(c)

    def wait_ready(self, i: int, timeout: float = START_TIMEOUT_S) -> None:
        """ruok answers imok on the client port AND a kazoo client connects to this replica alone."""
        proc = self.replicas[i].process

        def ready() -> bool:
            code = proc.exited_unexpectedly()
            if code is not None:
                raise EnsembleError(f"replica {i} ({self.impl}) exited with {code} while starting\n"
                                    + proc.log_tail())
            return self.ruok(i) and self.can_connect(i)

        try:
            wait_until(ready, timeout, f"{self.impl} replica {i} ready", interval=0.1)
        except AssertionError as e:
            raise EnsembleError(f"{e}\n{proc.log_tail()}") from None

    def crashed(self) -> List[str]:
        """Processes that exited without the harness stopping them (the servers must never crash)."""
        out = []
        for r in self.replicas.values():
            code = r.process.exited_unexpectedly() if r.process else None
            if code is not None:
                out.append(f"replica {r.id} exited with {code}\n{r.process.log_tail(30)}")
        return out

    def ensure_healthy(self) -> None:
        """Brings every replica back (after a test that killed, partitioned or wiped something)."""
        for i in self.ids:
            if not self.running(i):
                self.start_replica(i)

    def log_tails(self, lines: int = 25) -> str:
        parts = [r.process.log_tail(lines) for r in self.replicas.values() if r.process]
        return "\n".join(parts + ["--- harness events ---"] + self.events[-30:])

    def leader(self) -> Optional[int]:
        return None

    # ---------------------------------------------------------------- trees

    def dump(self, i: int, root: str = "/") -> treedump.Tree:
        """Replica i's whole tree, through a client connected to replica i only, after a sync."""
        c = make_kazoo(self.pinned_hosts(i))
        try:
            c.start(timeout=15)
            return treedump.dump_tree(c, root)
        finally:
            stop_quietly(c)

    def dumps(self, ids: Optional[List[int]] = None, root: str = "/") -> Dict[int, treedump.Tree]:
        return {i: self.dump(i, root) for i in (ids or self.ids)}

    def wait_identical(self, timeout: float = 30.0, ids: Optional[List[int]] = None,
                       root: str = "/") -> Dict[int, treedump.Tree]:
        """Dumps the replicas until all dumps are identical (a restarted replica may still be catching up);
        fails with the differences after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            dumps = self.dumps(ids, root)
            diff = treedump.compare_all(dumps)
            if not diff:
                return dumps
            if time.monotonic() >= deadline:
                raise AssertionError(f"replica trees still differ after {timeout}s:\n" + "\n".join(diff))
            time.sleep(0.5)


class ZooKeeperEnsemble(Ensemble):
    impl = IMPL_ZOOKEEPER

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        q = free_ports(2 * SIZE)
        self.quorum_ports = {i: (q[2 * (i - 1)], q[2 * (i - 1) + 1]) for i in self.ids}

    def _prepare_data_dir(self, r: Replica) -> None:
        r.data_dir.mkdir(parents=True, exist_ok=True)
        (r.data_dir / "myid").write_text(f"{r.id}\n")

    def _write_config(self, r: Replica) -> None:
        settings = {
            "tickTime": TICK_MS,
            # A follower must connect and sync within initLimit ticks and stay in step within syncLimit.
            # Loopback is fast, but 3 JVMs share 2 cores, so both are generous (10 s and 4 s).
            "initLimit": 50,
            "syncLimit": 20,
            "dataDir": r.data_dir,
            "clientPort": r.client_port,
            "clientPortAddress": HOST,
            "minSessionTimeout": MIN_SESSION_TIMEOUT_MS,
            "maxSessionTimeout": MAX_SESSION_TIMEOUT_MS,
            "maxClientCnxns": 200,
            "4lw.commands.whitelist": "*",
            "admin.enableServer": "false",
            "autopurge.purgeInterval": 0,
        }
        lines = ["# written by Tests/Ensemble/cluster.py"] + [f"{k}={v}" for k, v in settings.items()]
        lines += [f"server.{i}={HOST}:{p}:{e}" for i, (p, e) in sorted(self.quorum_ports.items())]
        r.cfg_path.write_text("\n".join(lines) + "\n")

    def _make_process(self, r: Replica) -> ManagedProcess:
        argv = ["java", "-Xms32m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dzookeeper.admin.enableServer=false", "-cp", ":".join(ZOOKEEPER_JARS),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(r.cfg_path)]
        return ManagedProcess(f"zookeeper {r.id}", lambda: argv, r.workdir / "server.log", r.workdir)

    def mode(self, i: int) -> Optional[str]:
        """leader / follower from `srvr`, or None when the replica does not serve."""
        try:
            out = four_letter_word(self.replicas[i].client_port, "srvr", timeout=1.0)
        except OSError:
            return None
        for line in out.splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    def leader(self) -> Optional[int]:
        for i in self.ids:
            if self.running(i) and self.mode(i) == "leader":
                return i
        return None


class ZooregEnsemble(Ensemble):
    impl = IMPL_ZOOREG

    def __init__(self, workdir: Path, binary: Optional[Path] = None,
                 extra_settings: Optional[Dict[str, object]] = None) -> None:
        super().__init__(workdir)
        self.extra_settings = dict(extra_settings or {})
        binary = binary or zooreg_binary()
        if not binary.exists():
            raise EnsembleError(f"zooreg binary not found at {binary} (build it, or set ZOOREG_BIN; "
                                f"ENSEMBLE_IMPLS=zookeeper runs against ZooKeeper only)")
        self.binary = binary
        self.cluster_name = f"ens-{uuid.uuid4().hex[:12]}"
        self.etcd = EtcdCluster(self.workdir / "etcd")
        pp = free_ports(SIZE * SIZE)
        self.proxies: Dict[int, ProxyProcess] = {}
        for i in self.ids:
            routes = [(pp[(i - 1) * SIZE + j], m.client_port) for j, m in enumerate(self.etcd.members)]
            self.proxies[i] = ProxyProcess(f"proxy-{i}", routes, self.workdir / "proxies")

    def start(self, check_replication: bool = True) -> "ZooregEnsemble":
        self.etcd.start()
        self.note(f"etcd up, leader e{self.etcd.leader_index() + 1}")
        for p in self.proxies.values():
            p.start()
        super().start(check_replication)
        return self

    def etcd_urls(self, i: int) -> str:
        return ",".join(f"http://{HOST}:{port}" for port in self.proxies[i].listen_ports)

    def _write_config(self, r: Replica) -> None:
        settings = {
            "tickTime": TICK_MS,
            "dataDir": r.data_dir,
            "clientPort": r.client_port,
            "clientPortAddress": HOST,
            "minSessionTimeout": MIN_SESSION_TIMEOUT_MS,
            "maxSessionTimeout": MAX_SESSION_TIMEOUT_MS,
            "maxClientCnxns": 200,
            "4lw.commands.whitelist": "*",
            "admin.enableServer": "false",
            "metricsProvider.httpHost": HOST,
            "metricsProvider.httpPort": 0,
            "ensemble.etcd": self.etcd_urls(r.id),
            "ensemble.cluster": self.cluster_name,
            "ensemble.replicaId": r.id,
        }
        settings.update(self.extra_settings)
        lines = ["# written by Tests/Ensemble/cluster.py"] + [f"{k}={v}" for k, v in settings.items()]
        r.cfg_path.write_text("\n".join(lines) + "\n")

    def _make_process(self, r: Replica) -> ManagedProcess:
        argv = [str(self.binary), "serve", "--config", str(r.cfg_path), "--no-mdns"]
        return ManagedProcess(f"zooreg {r.id}", lambda: argv, r.workdir / "server.log", r.workdir)

    def partition(self, i: int, mode: str = "reset") -> None:
        """Cuts replica i from every etcd member (the replica and its client connections stay up)."""
        self.proxies[i].cut(mode)
        self.note(f"partition replica {i} from etcd ({mode})")

    def heal(self, i: int) -> None:
        self.proxies[i].heal()
        self.note(f"heal replica {i}")

    def kill_etcd_leader(self) -> int:
        idx = self.etcd.kill_leader()
        self.note(f"kill -9 etcd leader e{idx + 1}")
        return idx

    def restart_etcd(self, idx: int) -> None:
        self.etcd.restart(idx)
        self.note(f"etcd e{idx + 1} restarted")

    def ensure_healthy(self) -> None:
        for i, p in self.proxies.items():
            if not p.running():
                p.stop()
                p.start()
            elif p.cut_mode is not None:
                p.heal()
        self.etcd.ensure_running()
        super().ensure_healthy()

    def crashed(self) -> List[str]:
        return super().crashed() + self.etcd.crashed()

    def stop(self) -> None:
        super().stop()
        for p in self.proxies.values():
            p.stop()
        self.etcd.stop()

    def log_tails(self, lines: int = 25) -> str:
        etcd_logs = [m.process.log_tail(10) for m in self.etcd.members]
        return super().log_tails(lines) + "\n" + "\n".join(etcd_logs)


# What the suite runs zooreg replicas with on top of the defaults: frequent snapshots and compaction, so that
# kills, wipes and partitions meet snapshots, compacted logs and bootstraps from a peer's snapshot.
ZOOREG_SUITE_SETTINGS: Dict[str, object] = {"snapCount": 400, "ensemble.compactionIntervalMs": 1000}


def make_ensemble(impl: str, workdir: Path, zooreg_settings: Optional[Dict[str, object]] = None) -> Ensemble:
    if impl == IMPL_ZOOKEEPER:
        return ZooKeeperEnsemble(workdir)
    if impl == IMPL_ZOOREG:
        return ZooregEnsemble(workdir, extra_settings=zooreg_settings)
    raise ValueError(f"unknown implementation {impl!r}")
