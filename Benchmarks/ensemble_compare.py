#!/usr/bin/env python3
"""Side by side, replicated: zooreg's 3-replica ensemble (over a 3-member etcd 3.4 cluster) against a 3-node Apache
ZooKeeper 3.8 ensemble, on this one machine, alternating the implementations round by round (A B A B).

Run through `Benchmarks/compare.sh --ensemble` (or directly with .venv/bin/python: it needs kazoo). Both ensembles
are started by the ensemble suite's harness (Tests/Ensemble/cluster.py), on free loopback ports, in a temp dir:

  zooreg     3 etcd members (heartbeat 50 ms, election 500 ms) + 3 `zooreg serve` replicas. Unlike the suite, each
             replica talks to etcd directly (`ensemble.etcd` = the members' client URLs, the same order for all, as
             in Deploy/ensemble): the suite's per-replica TCP proxies exist for fault injection and would add a
             Python hop and its CPU to every append and watch event.
  ZooKeeper  3 QuorumPeerMain JVMs with the JVM flags of Benchmarks/compare.py (zkServer.sh's default heap), not
             the suite's start-up-friendly ones (-XX:TieredStopAtLevel=1 keeps the JIT at C1).
  Both: tickTime 200, fsync on (etcd's WAL for zooreg; ZooKeeper's transaction log), 4lw whitelist `*`.

The load comes from `zooreg bench run` (the project's wire-protocol generator, HdrHistogram percentiles). It takes
one host, so every measurement runs three generator processes at once, one per replica (each 1 event-loop thread,
the same connections and depth), against either ensemble alike. Throughput is their sum; a latency percentile is
the highest of the three generators' (an upper bound of the pooled percentile: if no generator has more than 1% of
its operations above x, neither has their union).

Rows:
  write     setData of 100 B on 10,000 keys, saturating: 3 x 10 connections x depth 16
  read      getData of the same keys, saturating, same shape
  fixed     setData at a fixed rate of 50% of ZooKeeper's measured max write throughput (the best of its write
            rounds), applied to both; 3 x 10 connections, at most 64 in flight each; p50/p99 from intended start
  failover  9 kazoo clients (3 per replica, each with a 3-host connect string that starts at its replica), each in a
            loop of setData + getData of its own node; kill -9 of one replica; per client the time from the kill
            until its first successful write (and read) started after the kill; the max over the killed replica's
            clients, then the median over rounds. zooreg: replica 1, 2, 3 in turn. ZooKeeper: a follower (the
            like-for-like figure) and, separately, the leader.

"Where the time goes", per row and round: CPU seconds per process group (zooreg replicas, etcd members, ZooKeeper
JVMs, load generator = the bench processes + this driver) from /proc/<pid>/stat before and after; the deltas of the
replicas' `mntr` zk_log_* lines; the deltas of each etcd member's Prometheus metrics (WAL fsync and backend commit
histograms, gRPC calls handled per method, proposals, mvcc puts/txns).

No timing is asserted anywhere: the script only reports. Every process it starts is stopped at exit, on errors and
on Ctrl-C (and gets SIGKILL from the kernel if this script dies: PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Callable, Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "Ensemble"))
sys.path.insert(0, str(REPO / "Benchmarks"))

import compare  # noqa: E402  (machine_info, median, JVM flags: the standalone comparison's helpers)
import cluster  # noqa: E402  (the ensemble suite's harness)
from procs import HOST, ManagedProcess, die_with_parent, four_letter_word  # noqa: E402

ZOOREG = cluster.IMPL_ZOOREG
ZOOKEEPER = cluster.IMPL_ZOOKEEPER
CLK_TCK = os.sysconf("SC_CLK_TCK")

GROUPS = ("zooreg replicas", "etcd members", "ZooKeeper JVMs", "load generator")


def log(message: str) -> None:
    print(f"[ensemble {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- the two ensembles


class BenchZooKeeperEnsemble(cluster.ZooKeeperEnsemble):
    """The suite's ZooKeeper ensemble with the JVM as zkServer.sh starts it (and as compare.py does)."""

    def _make_process(self, r: cluster.Replica) -> ManagedProcess:
        argv = ["java", *compare.JVM_FLAGS, "-Dzookeeper.admin.enableServer=false",
                "-cp", ":".join(cluster.ZOOKEEPER_JARS),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(r.cfg_path)]
        return ManagedProcess(f"zookeeper {r.id}", lambda: argv, r.workdir / "server.log", r.workdir)


class BenchZooregEnsemble(cluster.ZooregEnsemble):
    """The suite's zooreg ensemble; with direct_etcd (the default here) the replicas reach etcd without the
    fault-injection proxies, and they log at warning level as in compare.py."""

    def __init__(self, workdir: Path, binary: Path, direct_etcd: bool = True,
                 settings: Optional[Dict[str, object]] = None) -> None:
        super().__init__(workdir, binary=binary, extra_settings=settings)
        self.direct_etcd = direct_etcd
        if direct_etcd:
            self.proxies = {}  # start(), stop() and ensure_healthy() iterate over it: nothing to start

    def etcd_urls(self, i: int) -> str:
        if self.direct_etcd:
            return ",".join(self.etcd.endpoints)
        return super().etcd_urls(i)

    def _make_process(self, r: cluster.Replica) -> ManagedProcess:
        argv = [str(self.binary), "serve", "--config", str(r.cfg_path), "--no-mdns", "--log-level", os.environ.get("ENSEMBLE_BENCH_LOG_LEVEL", "warning")]
        return ManagedProcess(f"zooreg {r.id}", lambda: argv, r.workdir / "server.log", r.workdir)


# ---------------------------------------------------------------------------------------------- measuring helpers


def proc_cpu_seconds(pid: Optional[int]) -> Optional[float]:
    """utime + stime of a live process, in seconds (None if it is gone)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class CPUAccount:
    """CPU seconds per process group between start() and stop(). Long-lived servers are read from /proc; the
    generator processes are reaped with wait4 and add their rusage; the driver adds its own."""

    def __init__(self, ensembles: Dict[str, cluster.Ensemble]) -> None:
        self.ensembles = ensembles
        self.before: Dict[str, Dict[int, float]] = {}
        self.self_before = 0.0
        self.generator_seconds = 0.0
        self.wall_before = 0.0
        self.internals: Optional["Internals"] = None  # also snapshotted at the window's marks

    def pids(self) -> Dict[str, List[int]]:
        groups: Dict[str, List[int]] = {g: [] for g in GROUPS}
        for impl, ens in self.ensembles.items():
            for r in ens.replicas.values():
                pid = r.process.pid() if r.process is not None and r.process.running() else None
                if pid:
                    groups["zooreg replicas" if impl == ZOOREG else "ZooKeeper JVMs"].append(pid)
            if impl == ZOOREG:
                for m in ens.etcd.members:
                    if m.process.running():
                        groups["etcd members"].append(m.process.pid())
        return groups

    def _read(self) -> Dict[str, Dict[int, float]]:
        out: Dict[str, Dict[int, float]] = {}
        for group, pids in self.pids().items():
            out[group] = {}
            for pid in pids:
                seconds = proc_cpu_seconds(pid)
                if seconds is not None:
                    out[group][pid] = seconds
        return out

    @staticmethod
    def _self_seconds() -> float:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    def start(self) -> None:
        self.before = self._read()
        self.self_before = self._self_seconds()
        self.generator_seconds = 0.0
        self.wall_before = time.monotonic()

    def window_snapshot(self, generator_pids: List[int]) -> tuple:
        """(monotonic time, CPU seconds so far per group, internals snapshot or None) with the live generators
        read from /proc. The internals (HTTP and 4lw on loopback) are read after the CPU."""
        now = time.monotonic()
        groups = {g: sum(v for v in pids.values()) for g, pids in self._read().items()}
        groups["load generator"] = sum(proc_cpu_seconds(pid) or 0.0 for pid in generator_pids) + self._self_seconds()
        return now, groups, (self.internals.snapshot() if self.internals is not None else None)

    def add_generator(self, seconds: float) -> None:
        self.generator_seconds += seconds

    def stop(self) -> dict:
        after = self._read()
        wall = time.monotonic() - self.wall_before
        seconds: Dict[str, float] = {}
        for group in GROUPS:
            if group == "load generator":
                continue
            b, a = self.before.get(group, {}), after.get(group, {})
            # A process killed during the row (failover) is left out; a restarted one counts from its start.
            seconds[group] = sum(a[pid] - b.get(pid, 0.0) for pid in a)
        seconds["load generator"] = self.generator_seconds + (self._self_seconds() - self.self_before)
        total = sum(seconds.values())
        return {
            "wallSeconds": wall,
            "cpuSeconds": seconds,
            "cores": {g: s / wall for g, s in seconds.items()} if wall > 0 else {},
            "share": {g: s / total for g, s in seconds.items()} if total > 0 else {},
        }


ETCD_COUNTERS = (
    "etcd_disk_wal_fsync_duration_seconds_sum", "etcd_disk_wal_fsync_duration_seconds_count",
    "etcd_disk_backend_commit_duration_seconds_sum", "etcd_disk_backend_commit_duration_seconds_count",
    "etcd_server_proposals_committed_total", "etcd_server_proposals_applied_total",
    "etcd_server_proposals_failed_total", "etcd_mvcc_put_total", "etcd_mvcc_txn_total", "etcd_mvcc_range_total",
    "etcd_mvcc_delete_total", "etcd_network_client_grpc_received_bytes_total",
    "etcd_network_client_grpc_sent_bytes_total", "etcd_network_peer_sent_bytes_total",
    "etcd_debugging_mvcc_events_total", "process_cpu_seconds_total", "etcd_server_leader_changes_seen_total",
)
ETCD_GAUGES = ("etcd_server_is_leader", "etcd_mvcc_db_total_size_in_bytes", "etcd_debugging_mvcc_keys_total")


def etcd_metrics(url: str) -> dict:
    """The selected Prometheus series of one etcd member (loopback); grpc_server_handled_total summed per method."""
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
            text = resp.read().decode("utf-8", "replace")
    except OSError as e:
        return {"error": str(e)}
    out: Dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        name, _, labels = series.partition("{")
        try:
            v = float(value)
        except ValueError:
            continue
        if name == "grpc_server_handled_total":
            method = ""
            for part in labels.rstrip("}").split(","):
                if part.startswith("grpc_method="):
                    method = part.split("=", 1)[1].strip('"')
            key = f"grpc_server_handled_total{{{method}}}"
            out[key] = out.get(key, 0.0) + v
        elif name in ETCD_COUNTERS or name in ETCD_GAUGES:
            out[name] = out.get(name, 0.0) + v  # peer bytes: summed over peers
    return out


def mntr_log_lines(port: int) -> dict:
    """A replica's mntr lines starting with zk_log_ (and zk_synced_replicas), as numbers where they are."""
    try:
        text = four_letter_word(port, "mntr", timeout=3.0)
    except OSError as e:
        return {"error": str(e)}
    out: Dict[str, object] = {}
    for line in text.splitlines():
        key, _, value = line.partition("\t")
        if key.startswith("zk_log_") or key == "zk_synced_replicas":
            try:
                out[key] = float(value) if "." in value else int(value)
            except ValueError:
                out[key] = value
    return out


def numeric_delta(before: dict, after: dict, gauges=()) -> dict:
    out = {}
    for key, a in after.items():
        b = before.get(key)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and key not in gauges:
            out[key] = a - b
        else:
            out[key] = a
    return out


class Internals:
    """Snapshots of mntr zk_log_* (zooreg replicas) and etcd metrics around a row."""

    LOG_GAUGES = ("zk_log_available", "zk_log_lag", "zk_log_appends_in_flight", "zk_log_queued_entries",
                  "zk_synced_replicas")

    def __init__(self, ens: Optional[BenchZooregEnsemble]) -> None:
        self.ens = ens
        self.before: dict = {}

    def snapshot(self) -> dict:
        if self.ens is None:
            return {}
        return {
            "mntr": {i: mntr_log_lines(self.ens.replicas[i].client_port)
                     for i in self.ens.ids if self.ens.running(i)},
            "etcd": {m.name: etcd_metrics(m.client_url) for m in self.ens.etcd.members if m.process.running()},
        }

    def start(self) -> None:
        self.before = self.snapshot()

    def stop(self) -> dict:
        if self.ens is None:
            return {}
        return self.delta(self.before, self.snapshot())

    def delta(self, before: dict, after: dict) -> dict:
        mntr = {str(i): numeric_delta(before.get("mntr", {}).get(i, {}), v, self.LOG_GAUGES)
                for i, v in after["mntr"].items()}
        etcd = {name: numeric_delta(before.get("etcd", {}).get(name, {}), v, ETCD_GAUGES)
                for name, v in after["etcd"].items()}
        return {"mntrDelta": mntr, "etcdDelta": etcd, "summary": summarize_internals(mntr, etcd)}


def summarize_internals(mntr: dict, etcd: dict) -> dict:
    """The few figures the README quotes: batching of the shared log and etcd's disk and gRPC work."""
    def total(source: dict, key: str) -> float:
        return sum(v.get(key, 0) for v in source.values() if isinstance(v.get(key, 0), (int, float)))

    entries = total(mntr, "zk_log_appended_entries")
    batches = total(mntr, "zk_log_appended_batches")
    fsyncs = total(etcd, "etcd_disk_wal_fsync_duration_seconds_count")
    fsync_s = total(etcd, "etcd_disk_wal_fsync_duration_seconds_sum")
    commits = total(etcd, "etcd_disk_backend_commit_duration_seconds_count")
    commit_s = total(etcd, "etcd_disk_backend_commit_duration_seconds_sum")
    grpc: Dict[str, float] = {}
    for member in etcd.values():
        for key, v in member.items():
            if key.startswith("grpc_server_handled_total{") and isinstance(v, (int, float)) and v:
                method = key[len("grpc_server_handled_total{"):-1]
                grpc[method] = grpc.get(method, 0) + v
    leader = [name for name, v in etcd.items() if v.get("etcd_server_is_leader") == 1]
    return {
        "appendedEntries": entries, "appendedBatches": batches,
        "entriesPerBatch": entries / batches if batches else None,
        "appendRetries": total(mntr, "zk_log_append_retries"),
        "walFsyncsAllMembers": fsyncs,
        "walFsyncMeanMillis": 1000 * fsync_s / fsyncs if fsyncs else None,
        "backendCommitsAllMembers": commits,
        "backendCommitMeanMillis": 1000 * commit_s / commits if commits else None,
        "proposalsCommittedLeader": sum(etcd[n].get("etcd_server_proposals_committed_total", 0) for n in leader),
        "grpcHandledByMethod": grpc,
        "etcdLeader": leader,
    }


# ---------------------------------------------------------------------------------------------- load generation


class Generators:
    """Runs `zooreg bench run` once per replica, all at once, and merges the results."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.running: List[subprocess.Popen] = []
        self.seq = 0

    def setup(self, host: str, keys: int, timeout: float = 300) -> None:
        """Creates the root and the keys once (the generators then run with --no-setup)."""
        cmd = [str(self.binary), "bench", "run", "--server", host, "--keys", str(keys), "--value-size", "100",
               "--connections", "1", "--depth", "1", "--threads", "1", "--ops", "10", "--json", "--quiet"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=die_with_parent)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")

    def run(self, hosts: List[str], args: List[str], cpu: Optional[CPUAccount], timeout: float,
            window: Optional[tuple] = None) -> dict:
        """Starts one generator per host, waits for all (bounded), merges their results. With `cpu` and
        `window` = (warm-up s, duration s), the CPU of every group is also read at two instants inside the
        generators' measured window (a margin after its start and before its end): the steady-state CPU."""
        procs = []
        launched = time.monotonic()
        for host in hosts:
            self.seq += 1
            out = self.workdir / f"gen-{self.seq}.json"
            err = self.workdir / f"gen-{self.seq}.err"
            cmd = [str(self.binary), "bench", "run", "--server", host, "--no-setup", "--threads", "1",
                   "--json", "--quiet", *args]
            with open(out, "wb") as o, open(err, "wb") as e:
                p = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
            self.running.append(p)
            procs.append((p, out, err, cmd))
        marks: List[float] = []
        if cpu is not None and window is not None:
            warm, duration = window
            margin = min(0.5, duration / 4)
            marks = [warm + margin, warm + duration - margin]
        snaps: List[tuple] = []
        deadline = launched + timeout
        pending = list(procs)
        failures = []
        while pending:
            for item in list(pending):
                p = item[0]
                pid, st, ru = os.wait4(p.pid, os.WNOHANG)
                if pid == p.pid:
                    p.returncode = os.waitstatus_to_exitcode(st)
                    if cpu is not None:
                        cpu.add_generator(ru.ru_utime + ru.ru_stime)
                    pending.remove(item)
                    self.running.remove(p)
            elapsed = time.monotonic() - launched
            if marks and len(snaps) < len(marks) and elapsed >= marks[len(snaps)]:
                if len(pending) == len(procs):  # every generator still running: the window is valid
                    snaps.append(cpu.window_snapshot([item[0].pid for item in procs]))
                else:
                    marks = []
            if pending and time.monotonic() > deadline:
                for p, _, _, cmd in pending:
                    p.kill()
                    _, st, _ = os.wait4(p.pid, 0)
                    p.returncode = os.waitstatus_to_exitcode(st)
                    self.running.remove(p)
                    failures.append(f"{' '.join(cmd)}: timed out after {timeout:.0f} s")
                pending = []
            time.sleep(0.02)
        results = []
        for p, out, err, cmd in procs:
            if p.returncode != 0:
                if not failures:
                    failures.append(f"{' '.join(cmd)} failed ({p.returncode}):\n"
                                    f"{err.read_text(errors='replace')[-2000:]}")
            else:
                results.append(json.loads(out.read_text()))
        if failures:
            raise RuntimeError("\n".join(failures))
        merged = merge(results)
        if len(snaps) == 2:
            (t1, c1, i1), (t2, c2, i2) = snaps
            wall = t2 - t1
            seconds = {g: c2[g] - c1[g] for g in GROUPS}
            ops = merged["throughput"] * wall
            merged["steadyCPU"] = {
                "wallSeconds": wall,
                "cores": {g: v / wall for g, v in seconds.items()},
                "microsPerOp": {g: 1e6 * v / ops for g, v in seconds.items()} if ops > 0 else None,
            }
            if cpu.internals is not None and i1 and i2:
                merged["steadyInternals"] = cpu.internals.delta(i1, i2)
                merged["steadyInternals"]["wallSeconds"] = wall
                merged["steadyInternals"]["operations"] = ops
        return merged

    def kill_all(self) -> None:
        for p in list(self.running):
            try:
                p.kill()
                p.wait(10)
            except Exception:  # noqa: BLE001 - teardown goes on
                pass
        self.running.clear()


def merge(results: List[dict]) -> dict:
    """Several generators' results as one: summed throughput, the highest percentiles (upper bounds of the pooled
    ones), summed errors; the per-generator figures are kept."""
    def pct(key: str) -> float:
        return max(r["latency"][key] for r in results)

    merged = {
        "generators": len(results),
        "throughput": sum(r["throughput"] for r in results),
        "operations": sum(r["operations"] for r in results),
        "measuredSeconds": max(r["measuredSeconds"] for r in results),
        "latency": {k: pct(k) for k in ("p50", "p90", "p99", "p999", "max")},
        "errorCount": sum(r["errorCount"] for r in results),
        "errors": {},
        "connectionsLost": sum(r.get("connectionsLost", 0) for r in results),
        "backlog": sum(r.get("backlog", 0) for r in results),
        "perGenerator": [{k: r.get(k) for k in ("server", "throughput", "operations", "latency", "errorCount",
                                                 "backlog", "sustained", "sendLateness", "clientCPUPerOpMicros",
                                                 "targetRate")} for r in results],
    }
    for r in results:
        for k, v in (r.get("errors") or {}).items():
            merged["errors"][k] = merged["errors"].get(k, 0) + v
    sustained = [r.get("sustained") for r in results]
    merged["sustained"] = None if all(s is None for s in sustained) else all(bool(s) for s in sustained)
    return merged


# ---------------------------------------------------------------------------------------------- failover


class FailoverClient:
    def __init__(self, index: int, home: int, hosts: str, path: str) -> None:
        self.index = index
        self.home = home
        self.path = path
        self.client = cluster.make_kazoo(hosts)
        self.kill_at: Optional[float] = None
        self.first_write: Optional[float] = None
        self.first_read: Optional[float] = None
        self.failures = 0
        self.ops = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, name=f"failover-client-{index}", daemon=True)

    def loop(self) -> None:
        value = b"x" * 100
        while not self.stop.is_set():
            for kind in ("write", "read"):
                started = time.monotonic()
                try:
                    if kind == "write":
                        self.client.set_async(self.path, value).get(timeout=5)
                    else:
                        self.client.get_async(self.path).get(timeout=5)
                except Exception:  # noqa: BLE001 - connection loss, timeouts: try again
                    self.failures += 1
                    self.stop.wait(0.002)
                    continue
                done = time.monotonic()
                self.ops += 1
                kill_at = self.kill_at
                if kill_at is not None and started >= kill_at:
                    if kind == "write" and self.first_write is None:
                        self.first_write = done
                    if kind == "read" and self.first_read is None:
                        self.first_read = done

    def recovered(self) -> bool:
        return self.first_write is not None and self.first_read is not None


def failover_round(ens: cluster.Ensemble, victim: int, per_replica: int, settle: float, max_wait: float,
                   label: str) -> dict:
    """Clients on every replica; kill -9 `victim`; per client the time to its first successful write and read
    started after the kill. The caller starts the victim again."""
    clients: List[FailoverClient] = []
    try:
        setup = cluster.make_kazoo(ens.hosts)
        setup.start(timeout=20)
        setup.ensure_path("/failover")
        k = 0
        for home in ens.ids:
            for _ in range(per_replica):
                path = f"/failover/c{k}"
                if setup.exists(path) is None:
                    setup.create(path, b"")
                clients.append(FailoverClient(k, home, ens.client_hosts(home, repeat=1), path))
                k += 1
        cluster.stop_quietly(setup)
        for c in clients:
            c.client.start(timeout=20)
        for c in clients:
            c.thread.start()
        time.sleep(settle)
        before_ops = sum(c.ops for c in clients)
        kill_at = time.monotonic()
        for c in clients:
            c.kill_at = kill_at
        ens.kill(victim)
        deadline = kill_at + max_wait
        while time.monotonic() < deadline and not all(c.recovered() for c in clients):
            time.sleep(0.01)
        waited = time.monotonic() - kill_at
    finally:
        for c in clients:
            c.stop.set()
        for c in clients:
            if c.thread.is_alive():
                c.thread.join(10)
        for c in clients:
            cluster.stop_quietly(c.client)

    def ms(t: Optional[float]) -> Optional[float]:
        return None if t is None else 1000 * (t - kill_at)

    per_client = [{"client": c.index, "home": c.home, "writeMillis": ms(c.first_write), "readMillis": ms(c.first_read),
                   "failures": c.failures} for c in clients]
    victims = [p for p in per_client if p["home"] == victim]

    def worst(rows: List[dict], key: str) -> Optional[float]:
        values = [r[key] for r in rows]
        if any(v is None for v in values):
            return None  # someone did not recover within max_wait
        return max(values) if values else None

    result = {
        "victim": victim, "maxWait": max_wait, "waitedSeconds": waited, "opsBeforeKill": before_ops,
        "victimClientsMaxWriteMillis": worst(victims, "writeMillis"),
        "victimClientsMaxReadMillis": worst(victims, "readMillis"),
        "allClientsMaxWriteMillis": worst(per_client, "writeMillis"),
        "allClientsMaxReadMillis": worst(per_client, "readMillis"),
        "unrecovered": sum(1 for p in per_client if p["writeMillis"] is None or p["readMillis"] is None),
        "clients": per_client,
    }
    log(f"failover {label}: kill -9 replica {victim}: its clients write again after "
        f"{fmt_ms(result['victimClientsMaxWriteMillis'])}, read after {fmt_ms(result['victimClientsMaxReadMillis'])} "
        f"(all clients: write {fmt_ms(result['allClientsMaxWriteMillis'])}); {result['unrecovered']} unrecovered")
    return result


def fmt_ms(v: Optional[float]) -> str:
    return "not within the wait" if v is None else f"{v:.0f} ms"


# ---------------------------------------------------------------------------------------------- the run


def seconds(text: str) -> float:
    """'2s' / '500ms' -> seconds (the generator's duration syntax)."""
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text.rstrip("s"))


def spread(values: List[Optional[float]]) -> dict:
    vals = [v for v in values if v is not None]
    return {"median": statistics.median(vals) if vals else None, "min": min(vals) if vals else None,
            "max": max(vals) if vals else None, "n": len(vals), "values": values}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zooreg", default=str(REPO / ".build/release/zooreg"), help="zooreg binary")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, about 2 minutes even with a debug binary: proves the script works (CI)")
    parser.add_argument("--impls", default=f"{ZOOREG},{ZOOKEEPER}", help="implementations, comma-separated")
    parser.add_argument("--rounds", type=int, help="A B rounds per row (default 3; 1 with --quick)")
    parser.add_argument("--rows", default="write,read,fixed,failover", help="rows to run, comma-separated")
    parser.add_argument("--fixed-rate", type=float,
                        help="rate of the fixed row in op/s (default: 50%% of ZooKeeper's best write round)")
    parser.add_argument("--json", dest="json_path", help="write the results JSON here")
    parser.add_argument("--markdown", help="also write the table as Markdown here")
    parser.add_argument("--via-proxies", action="store_true",
                        help="zooreg replicas reach etcd through the suite's TCP proxies (as in the tests)")
    parser.add_argument("--zooreg-setting", action="append", default=[], metavar="KEY=VALUE",
                        help="a zoo.cfg line for every zooreg replica (repeatable), e.g. ensemble.compactionIntervalMs=600000")
    parser.add_argument("--workdir", help="keep the ensembles' data and logs here (default: a temp dir, removed)")
    args = parser.parse_args()

    quick = args.quick
    rounds = args.rounds or (1 if quick else 3)
    impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    for impl in impls:
        if impl not in (ZOOREG, ZOOKEEPER):
            parser.error(f"unknown implementation {impl!r}")
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    sizes = {
        "keys": 300 if quick else 10_000,
        "warmup": "0.3s" if quick else "2s",
        "duration": "1s" if quick else "8s",
        "jitWarmup": None if quick else "3s",
        "connectionsPerGenerator": 10,
        "depth": 16,
        "fixedDepth": 64,
        "failoverClientsPerReplica": 1 if quick else 3,
        "failoverSettleSeconds": 0.5 if quick else 1.0,
        "failoverMaxWaitSeconds": 30.0,
    }
    binary = Path(args.zooreg).resolve()
    if ZOOREG in impls and not binary.exists():
        print(f"ensemble_compare: {binary} not found (swift build -c release --product zooreg)", file=sys.stderr)
        return 2
    if ZOOKEEPER in impls:
        for jar in cluster.ZOOKEEPER_JARS:
            if not Path(jar).exists():
                print(f"ensemble_compare: {jar} not found (apt-get install zookeeper)", file=sys.stderr)
                return 2

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)  # unwinds through the finally below, which stops everything

    # kazoo logs every dropped connection (the readiness probes, the failover kills) at WARNING.
    logging.getLogger("kazoo").setLevel(logging.ERROR)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    workroot = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="zooreg-ensemble-compare-"))
    workroot.mkdir(parents=True, exist_ok=True)
    gens = Generators(binary, workroot)
    ensembles: Dict[str, cluster.Ensemble] = {}
    began = time.monotonic()
    machine = compare.machine_info()
    machine["etcd"] = subprocess.run(["/usr/bin/etcd", "--version"], capture_output=True, text=True,
                                     timeout=30).stdout.splitlines()[0:1]
    machine["zooregBinary"] = str(binary)
    report: dict = {"machine": machine, "quick": quick, "rounds": rounds, "impls": impls, "sizes": sizes,
                    "directEtcd": not args.via_proxies, "rows": {}}
    status = 0
    log(f"work dir {workroot}; {'quick' if quick else 'full'} run, {rounds} round(s), {', '.join(impls)}")
    try:
        # ---- start both ensembles (they stay up for the whole run; the idle one's CPU shows in the split)
        for impl in impls:
            t0 = time.monotonic()
            # An old run's etcd WAL in a kept --workdir would remember other ports: always start empty.
            shutil.rmtree(workroot / impl, ignore_errors=True)
            if impl == ZOOREG:
                ens = BenchZooregEnsemble(workroot / impl, binary, direct_etcd=not args.via_proxies,
                                          settings=dict(kv.split("=", 1) for kv in args.zooreg_setting))
            else:
                ens = BenchZooKeeperEnsemble(workroot / impl)
            ensembles[impl] = ens
            ens.start()
            gens.setup(ens.host(1), sizes["keys"])
            log(f"{impl} ensemble up in {time.monotonic() - t0:.1f} s: {ens.hosts}"
                + (f" (etcd {','.join(ens.etcd.endpoints)})" if impl == ZOOREG else ""))

        def load(impl: str, mix: str, extra: List[str], cpu: Optional[CPUAccount],
                 duration: Optional[str] = None) -> dict:
            ens = ensembles[impl]
            return gens.run([ens.host(i) for i in ens.ids],
                            ["--mix", mix, "--keys", str(sizes["keys"]), "--value-size", "100",
                             "--warmup", sizes["warmup"], "--duration", duration or sizes["duration"], *extra],
                            cpu, timeout=180,
                            window=(seconds(sizes["warmup"]), seconds(duration or sizes["duration"])))

        def measured(impl: str, fn: Callable[[Optional[CPUAccount]], dict]) -> dict:
            cpu = CPUAccount(ensembles)
            internals = Internals(ensembles.get(ZOOREG) if impl == ZOOREG else None)
            internals.start()
            if internals.ens is not None:
                cpu.internals = internals
            cpu.start()
            result = fn(cpu)
            result["cpu"] = cpu.stop()
            result["internals"] = internals.stop()
            return result

        saturate = ["--connections", str(sizes["connectionsPerGenerator"]), "--depth", str(sizes["depth"])]

        if sizes["jitWarmup"] and ({"write", "read", "fixed"} & set(rows)):
            for impl in impls:
                for mix in ("set", "get"):
                    load(impl, mix, saturate, None, duration=sizes["jitWarmup"])
            log("warm-up pass done (JIT, caches)")

        def throughput_row(key: str, mix: str) -> None:
            runs: Dict[str, List[dict]] = {i: [] for i in impls}
            for r in range(rounds):
                for impl in impls:
                    res = measured(impl, lambda cpu: load(impl, mix, saturate, cpu))
                    runs[impl].append(res)
                    log(f"{key} round {r + 1} {impl}: {res['throughput']:.0f} op/s, p50 {res['latency']['p50']:.0f} us, "
                        f"p99 {res['latency']['p99']:.0f} us, errors {res['errorCount']}; steady cores "
                        + ", ".join(f"{g} {c:.2f}" for g, c in (res.get("steadyCPU") or {}).get("cores", {}).items()))
            report["rows"][key] = {
                "mix": mix,
                "throughput": {i: spread([x["throughput"] for x in runs[i]]) for i in impls},
                "p50Micros": {i: spread([x["latency"]["p50"] for x in runs[i]]) for i in impls},
                "p99Micros": {i: spread([x["latency"]["p99"] for x in runs[i]]) for i in impls},
                "errors": {i: sum(x["errorCount"] for x in runs[i]) for i in impls},
                "runs": runs,
            }

        if "write" in rows:
            throughput_row("write", "set")
        if "read" in rows:
            throughput_row("read", "get")

        if "fixed" in rows:
            rate = args.fixed_rate
            basis = "--fixed-rate"
            if rate is None:
                source = ZOOKEEPER if ZOOKEEPER in impls else ZOOREG
                if "write" in report["rows"]:
                    best = report["rows"]["write"]["throughput"][source]["max"]
                else:
                    best = load(source, "set", saturate, None)["throughput"]
                rate = max(30.0, round(best * 0.5))
                basis = f"50% of {source}'s best write round ({best:.0f} op/s)"
            log(f"fixed row: {rate:.0f} op/s of setData ({basis}), {rate / 3:.0f} per generator")
            fixed_args = ["--connections", str(sizes["connectionsPerGenerator"]), "--depth", str(sizes["fixedDepth"]),
                          "--rate", f"{rate / 3:.3f}"]
            runs = {i: [] for i in impls}
            for r in range(rounds):
                for impl in impls:
                    res = measured(impl, lambda cpu: load(impl, "set", fixed_args, cpu))
                    runs[impl].append(res)
                    log(f"fixed round {r + 1} {impl}: {res['throughput']:.0f} op/s, p50 {res['latency']['p50']:.0f} us, "
                        f"p99 {res['latency']['p99']:.0f} us, sustained {res['sustained']}, errors {res['errorCount']}")
            report["rows"]["fixed"] = {
                "mix": "set", "rate": rate, "basis": basis,
                "p50Micros": {i: spread([x["latency"]["p50"] for x in runs[i]]) for i in impls},
                "p99Micros": {i: spread([x["latency"]["p99"] for x in runs[i]]) for i in impls},
                "p999Micros": {i: spread([x["latency"]["p999"] for x in runs[i]]) for i in impls},
                "sustained": {i: all(bool(x["sustained"]) for x in runs[i]) for i in impls},
                "errors": {i: sum(x["errorCount"] for x in runs[i]) for i in impls},
                "runs": runs,
            }

        if "failover" in rows:
            cases = []  # (label, impl, victim chooser)
            if ZOOREG in impls:
                cases.append(("zooreg replica", ZOOREG, lambda ens, r: ens.ids[r % len(ens.ids)]))
            if ZOOKEEPER in impls:
                def follower(ens, r):
                    leader = ens.leader()
                    others = [i for i in ens.ids if i != leader]
                    return others[r % len(others)]
                cases.append(("ZooKeeper follower", ZOOKEEPER, follower))
                cases.append(("ZooKeeper leader", ZOOKEEPER, lambda ens, r: ens.leader() or ens.ids[0]))
            runs = {label: [] for label, _, _ in cases}
            broken = set()
            for r in range(rounds):
                for label, impl, choose in cases:
                    if impl in broken:
                        continue
                    ens = ensembles[impl]
                    victim = choose(ens, r)
                    res = measured(impl, lambda cpu: failover_round(
                        ens, victim, sizes["failoverClientsPerReplica"], sizes["failoverSettleSeconds"],
                        sizes["failoverMaxWaitSeconds"], label))
                    runs[label].append(res)
                    t0 = time.monotonic()
                    try:
                        ens.start_replica(victim)
                        res["restartSeconds"] = time.monotonic() - t0
                    except Exception as e:  # noqa: BLE001 - reported; that ensemble's failover rounds end here
                        problem = (f"failover {label}: replica {victim} was not ready again "
                                   f"{time.monotonic() - t0:.0f} s after its restart (no more failover rounds of "
                                   f"{impl}): {str(e)[:3000]}")
                        log(problem)
                        report.setdefault("problems", []).append(problem)
                        broken.add(impl)
            report["rows"]["failover"] = {
                "cases": {label: {
                    "impl": impl,
                    "victimClientsMaxWriteMillis": spread([x["victimClientsMaxWriteMillis"] for x in runs[label]]),
                    "victimClientsMaxReadMillis": spread([x["victimClientsMaxReadMillis"] for x in runs[label]]),
                    "allClientsMaxWriteMillis": spread([x["allClientsMaxWriteMillis"] for x in runs[label]]),
                    "unrecovered": sum(x["unrecovered"] for x in runs[label]),
                } for label, impl, _ in cases},
                "runs": runs,
            }
        for impl, ens in ensembles.items():
            crashed = ens.crashed()
            if crashed:
                report.setdefault("crashed", {})[impl] = crashed
                log(f"{impl}: processes exited unexpectedly:\n" + "\n".join(crashed))
    except Exception:  # noqa: BLE001 - the rows done so far are still written out
        import traceback
        report["error"] = traceback.format_exc()
        log(f"run failed, writing what was measured:\n{report['error']}")
        status = 1
    finally:
        gens.kill_all()
        for impl, ens in ensembles.items():
            try:
                ens.stop()
            except Exception as e:  # noqa: BLE001 - teardown goes on
                log(f"stopping {impl}: {e}")
        if not args.workdir:
            shutil.rmtree(workroot, ignore_errors=True)

    report["elapsedSeconds"] = time.monotonic() - began
    report["loadAverageAtEnd"] = os.getloadavg()
    table = render(report)
    print(table)
    if args.json_path:
        out = Path(args.json_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
        log(f"results in {out}")
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    log(f"{report['elapsedSeconds']:.0f} s in all")
    return status


# ---------------------------------------------------------------------------------------------- the table


def render(report: dict) -> str:
    m = report["machine"]
    rows = report["rows"]
    lines = [
        f"{m['date']}, {m['cpu']} ({m['cores']} cores), Linux {m['kernel']}, ZooKeeper {m['zookeeper']} on "
        f"{m['java']}, {(m.get('etcd') or ['etcd ?'])[0]}, zooreg {m['zooregCommit']}"
        + (" — QUICK run (tiny sizes; not a measurement)" if report["quick"] else "")
        + (" — zooreg is a DEBUG build: its figures are not zooreg's" if "debug" in m.get("zooregBinary", "") else "")
        + f"; median [min–max] of {report['rounds']} alternating round(s); load average at start "
        + ", ".join(f"{x:.2f}" for x in m["loadAverageAtStart"])
        + (", at end " + ", ".join(f"{x:.2f}" for x in report["loadAverageAtEnd"]) if "loadAverageAtEnd" in report
           else ""),
        "",
        "| row | zooreg (3 replicas, 3 etcd) | ZooKeeper (3 nodes) | zooreg / ZK | target |",
        "|---|---:|---:|---:|---|",
    ]

    def cell(s: Optional[dict], digits: int = 0) -> str:
        if not s or s.get("median") is None:
            return "-"
        return f"{s['median']:,.{digits}f} [{s['min']:,.{digits}f}–{s['max']:,.{digits}f}]"

    def ratio(a: Optional[dict], b: Optional[dict]) -> str:
        if not a or not b or a.get("median") is None or not b.get("median"):
            return "-"
        return f"{a['median'] / b['median']:.2f}"

    def line(what: str, values: dict, target: str = "", digits: int = 0) -> None:
        zr, zk = values.get(ZOOREG), values.get(ZOOKEEPER)
        lines.append(f"| {what} | {cell(zr, digits)} | {cell(zk, digits)} | {ratio(zr, zk)} | {target} |")

    if "write" in rows:
        line("write throughput, setData 100 B, op/s (3 × 10 conns × 16)", rows["write"]["throughput"], "≥ 1")
        line("  same: p99 µs (saturated)", rows["write"]["p99Micros"])
    if "read" in rows:
        line("read throughput, getData 100 B, op/s (3 × 10 conns × 16)", rows["read"]["throughput"], "≥ 2")
        line("  same: p99 µs (saturated)", rows["read"]["p99Micros"])
    if "fixed" in rows:
        f = rows["fixed"]
        line(f"setData at {f['rate']:,.0f} op/s (50% of ZK max): p99 µs", f["p99Micros"], "≤ 1")
        line("  same: p50 µs", f["p50Micros"])
        line("  same: p99.9 µs", f["p999Micros"])
    if "failover" in rows:
        cases = rows["failover"]["cases"]
        zr = cases.get("zooreg replica", {})
        for label, note in (("ZooKeeper follower", "a follower"), ("ZooKeeper leader", "the leader")):
            zk = cases.get(label, {})
            for key, what in (("victimClientsMaxWriteMillis", "write"), ("victimClientsMaxReadMillis", "read")):
                values = {ZOOREG: zr.get(key), ZOOKEEPER: zk.get(key)}
                target = "≤ 1" if (label == "ZooKeeper follower" and what == "write") else ""
                line(f"failover, kill -9 of a replica (ZK: {note}): ms until all its clients {what} again",
                     values, target)
    # CPU split: steady state (inside the measured window), median over rounds
    lines += ["", "CPU per process group inside the measured window (median over rounds): cores busy, and µs of CPU per "
                  "operation (= CPU-seconds / operations done meanwhile):", "",
              "| row | impl | " + " | ".join(GROUPS) + " | all |", "|---|---|" + "---:|" * (len(GROUPS) + 1)]
    for key in ("write", "read", "fixed"):
        if key not in rows:
            continue
        for impl, runs in rows[key]["runs"].items():
            steady = [r["steadyCPU"] for r in runs if r.get("steadyCPU") and r["steadyCPU"].get("microsPerOp")]
            if not steady:
                continue
            cells = []
            for g in GROUPS:
                cores = statistics.median([x["cores"][g] for x in steady])
                per_op = statistics.median([x["microsPerOp"][g] for x in steady])
                cells.append(f"{cores:.2f} c, {per_op:,.1f} µs")
            total_cores = statistics.median([sum(x["cores"].values()) for x in steady])
            total_op = statistics.median([sum(x["microsPerOp"].values()) for x in steady])
            lines.append(f"| {key} | {impl} | " + " | ".join(cells) + f" | {total_cores:.2f} c, {total_op:,.1f} µs |")
    # zooreg internals, inside the measured window
    internal_rows = [k for k in ("write", "read", "fixed") if k in rows and ZOOREG in rows[k]["runs"]]
    if internal_rows:
        lines += ["", "zooreg: shared log (mntr zk_log_*) and etcd (/metrics, summed over the 3 members) inside the "
                      "measured window, median over rounds:", "",
                  "| row | ops/s | log entries/s | entries per append (etcd txn) | appends/s | WAL fsyncs/s | "
                  "mean WAL fsync ms | backend commits/s | mean commit ms | append retries | gRPC calls/s by method |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for key in internal_rows:
            runs = [r for r in rows[key]["runs"][ZOOREG] if r.get("steadyInternals")]
            if not runs:
                continue

            def med(fn):
                vals = [fn(r) for r in runs]
                vals = [v for v in vals if v is not None]
                return statistics.median(vals) if vals else None

            def per_s(name):
                return med(lambda r: r["steadyInternals"]["summary"][name] / r["steadyInternals"]["wallSeconds"])

            def plain(name):
                return med(lambda r: r["steadyInternals"]["summary"][name])

            def show(v, d=1):
                return "-" if v is None else f"{v:,.{d}f}"

            methods: Dict[str, float] = {}
            for r in runs:
                for meth, n in r["steadyInternals"]["summary"]["grpcHandledByMethod"].items():
                    methods[meth] = methods.get(meth, 0.0) + n / r["steadyInternals"]["wallSeconds"] / len(runs)
            grpc = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(methods.items(), key=lambda kv: -kv[1]) if v >= 1)
            lines.append(
                f"| {key} | {show(med(lambda r: r['throughput']), 0)} | {show(per_s('appendedEntries'), 0)} "
                f"| {show(plain('entriesPerBatch'))} | {show(per_s('appendedBatches'), 0)} "
                f"| {show(per_s('walFsyncsAllMembers'), 0)} | {show(plain('walFsyncMeanMillis'), 2)} "
                f"| {show(per_s('backendCommitsAllMembers'), 0)} | {show(plain('backendCommitMeanMillis'), 2)} "
                f"| {show(plain('appendRetries'), 0)} | {grpc} |")
    for problem in report.get("problems", []):
        lines += ["", f"PROBLEM: {problem.splitlines()[0]}"]
    if report.get("error"):
        lines += ["", "RUN FAILED (rows above are what was measured): " + report["error"].strip().splitlines()[-1]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
