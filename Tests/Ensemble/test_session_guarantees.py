"""ZooKeeper's own ordering guarantees, which are stronger than linearizability in one respect (per-session
FIFO of asynchronous requests) and weaker in another (reads without sync may be stale, but never go back in
time within a session, also across reconnects to another replica)."""

from __future__ import annotations

import bisect
import threading
import time
from typing import Dict, List, Tuple

from kazoo.recipe.watchers import DataWatch

from cluster import SESSION_TIMEOUT_S
from procs import wait_until
from workload import CALL_TIMEOUT, INDETERMINATE, SessionObserver, run_threads

N_CLIENTS = 6


def test_session_fifo_async_writes_apply_in_issue_order(ensemble, clients, root, long_mode):
    """Each client fires setData, sequential creates and getData on its own key without waiting
    (kazoo *_async). Within a session, requests take effect in the order issued: setData #k gets version k,
    the sequential nodes are numbered in issue order, and a read issued between setData #k and #k+1 sees
    exactly #k. Another session, on another replica, watching a key never sees its counter go down."""
    n = 2000 if long_mode else 300
    setup = clients.make(ensemble.hosts)
    conns = []
    for i in range(N_CLIENTS):
        first = ensemble.ids[i % len(ensemble.ids)]
        c = clients.make(ensemble.client_hosts(first))
        setup.create(f"{root}/c{i}", b"0")
        setup.create(f"{root}/seq-c{i}")
        conns.append(c)

    watched = f"{root}/c0"
    observer = clients.make(ensemble.pinned_hosts(ensemble.ids[1]))
    seen: List[int] = []
    seen_lock = threading.Lock()

    def on_change(data, stat):
        if data is not None:
            with seen_lock:
                seen.append(int(data.decode()))

    DataWatch(observer, watched, on_change)

    failures: List[str] = []

    def client_run(i: int) -> None:
        c = conns[i]
        key, seq = f"{root}/c{i}", f"{root}/seq-c{i}"
        sets, creates, reads = [], [], []
        for k in range(1, n + 1):
            sets.append(c.set_async(key, str(k).encode()))
            creates.append(c.create_async(f"{seq}/n-", str(k).encode(), sequence=True))
            if k % 5 == 0:
                reads.append((k, c.get_async(key)))
        for k, a in enumerate(sets, 1):
            v = a.get(timeout=CALL_TIMEOUT).version
            if v != k:
                failures.append(f"client {i}: setData #{k} got version {v} (applied out of issue order)")
                break
        numbers = [int(a.get(timeout=CALL_TIMEOUT).rsplit("-", 1)[1]) for a in creates]
        if numbers != sorted(numbers) or len(set(numbers)) != n:
            failures.append(f"client {i}: sequential creates numbered out of issue order: {numbers[:20]}...")
        for k, a in reads:
            data, _ = a.get(timeout=CALL_TIMEOUT)
            if int(data.decode()) != k:
                failures.append(f"client {i}: the read issued after setData #{k} returned #{data.decode()}")
                break

    problems = run_threads([lambda i=i: client_run(i) for i in range(N_CLIENTS)], timeout=120)
    assert not problems, problems
    assert not failures, "\n".join(failures)

    # Every replica ends with each key at its last write.
    for rid in ensemble.ids:
        r = clients.make(ensemble.pinned_hosts(rid))
        r.sync(root)
        for i in range(N_CLIENTS):
            assert r.get(f"{root}/c{i}")[0] == str(n).encode(), f"replica {rid}, client {i}"
    wait_until(lambda: seen and seen[-1] == n, 10, f"the watcher to see write #{n}")
    with seen_lock:
        assert seen == sorted(seen), f"the watching session saw the counter go down: {seen}"
    print(f"\n{N_CLIENTS} sessions x {n} async setData + {n} sequential creates in issue order; the watcher "
          f"on another replica saw {len(seen)} increasing values")


class Reader:
    """Reads the keys in a loop without sync, recording (key, mzxid, version) in the order observed."""

    def __init__(self, client, name: str, keys: List[str]) -> None:
        self.client = client
        self.name = name
        self.keys = keys
        self.reads: List[Tuple[float, str, int, int]] = []
        self.errors: List[str] = []
        self.indeterminate = 0

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            for key in self.keys:
                try:
                    _, stat = self.client.get_async(key).get(timeout=CALL_TIMEOUT)
                except INDETERMINATE:
                    self.indeterminate += 1
                    time.sleep(0.02)
                    continue
                except Exception as e:  # noqa: BLE001
                    self.errors.append(repr(e))
                    continue
                self.reads.append((time.monotonic(), key, stat.mzxid, stat.version))
            time.sleep(0.002)


def check_reader(reader: Reader, writes: Dict[str, List[int]]) -> List[str]:
    """A session never observes an older state after a newer one:
      - per key, mzxid and version never decrease;
      - across keys (a consistent prefix): once the session has seen zxid Z anywhere, a read of key B must not
        miss an acknowledged write to B with a zxid <= Z."""
    out: List[str] = []
    best: Dict[str, Tuple[int, int]] = {}
    horizon = 0
    for t, key, mzxid, version in reader.reads:
        prev = best.get(key)
        if prev is not None and (mzxid < prev[0] or version < prev[1]):
            out.append(f"{reader.name}: {key} went back from (mzxid {prev[0]:#x}, version {prev[1]}) to "
                       f"(mzxid {mzxid:#x}, version {version}) at {t:.3f}")
        zs = writes.get(key, [])
        j = bisect.bisect_right(zs, mzxid)
        if j < len(zs) and zs[j] <= horizon:
            out.append(f"{reader.name}: read {key} at mzxid {mzxid:#x} after having seen zxid {horizon:#x}, "
                       f"but the write {zs[j]:#x} to {key} came before that")
        best[key] = max(prev or (0, 0), (mzxid, version))
        horizon = max(horizon, mzxid)
        if len(out) > 10:
            break
    return out


def test_no_session_sees_older_state_after_newer_across_reconnects(ensemble, clients, root, long_mode):
    """Readers (no sync) on every replica track what they have seen; a writer keeps updating 3 keys. Replica
    A is killed (its readers move), wiped and restarted; the readers are pointed at A first and replica B is
    killed, so readers move onto the freshly rebuilt A; then B is restarted. No reader's view may go back."""
    keys = [f"{root}/k{i}" for i in range(3)]
    setup = clients.make(ensemble.hosts)
    for k in keys:
        setup.create(k, b"0")

    writer = clients.make(ensemble.client_hosts(ensemble.ids[-1]))
    writes: Dict[str, List[int]] = {k: [] for k in keys}
    readers, observers = [], []
    for i in range(N_CLIENTS):
        first = ensemble.ids[i % len(ensemble.ids)]
        c = clients.make(ensemble.client_hosts(first))
        readers.append(Reader(c, f"reader {i} (starts on replica {first})", keys))
        obs = SessionObserver(c, readers[-1].name)
        obs.started()
        observers.append(obs)

    stop = threading.Event()

    def write_loop():
        n = 0
        while not stop.is_set():
            n += 1
            key = keys[n % len(keys)]
            try:
                stat = writer.set_async(key, str(n).encode()).get(timeout=CALL_TIMEOUT)
                writes[key].append(stat.mzxid)
            except INDETERMINATE:
                time.sleep(0.02)
            time.sleep(0.003)

    runner_results: List[str] = []
    runner = threading.Thread(target=lambda: runner_results.extend(run_threads(
        [write_loop] + [lambda r=r: r.run(stop) for r in readers], timeout=600)), daemon=True)
    runner.start()

    def all_back(after: float, what: str) -> None:
        wait_until(lambda: all(o.connected_same_session() for o in observers)
                   and all(r.reads and r.reads[-1][0] > after for r in readers), SESSION_TIMEOUT_S + 5,
                   lambda: f"every reader to read again after {what}:\n"
                   + "\n".join(o.describe() for o in observers))

    cycles = 3 if long_mode else 1
    moved = 0
    try:
        for cyc in range(cycles):
            a, b = ensemble.ids[cyc % 3], ensemble.ids[(cyc + 1) % 3]
            time.sleep(1.0)
            t = time.monotonic()
            ensemble.kill(a)
            all_back(t, f"kill -9 of replica {a}")
            moved += sum(1 for o in observers if o.reconnect_time_after(t) is not None)
            time.sleep(0.5)
            ensemble.wipe_and_restart(a)
            for r in readers:
                r.client.set_hosts(ensemble.client_hosts(a))  # used at the next reconnect
            time.sleep(0.5)
            t = time.monotonic()
            ensemble.kill(b)
            all_back(t, f"kill -9 of replica {b} (readers move to the wiped replica {a})")
            moved += sum(1 for o in observers if o.reconnect_time_after(t) is not None)
            time.sleep(1.0)
            t = time.monotonic()
            ensemble.start_replica(b)
            time.sleep(1.0)
    finally:
        stop.set()
    runner.join(60)
    assert not runner.is_alive() and not runner_results, runner_results

    assert not any(o.lost for o in observers), "\n".join(o.describe() for o in observers)
    errors = [e for r in readers for e in r.errors]
    assert not errors, errors[:10]
    for k in keys:
        writes[k].sort()
    violations = [v for r in readers for v in check_reader(r, writes)]
    total_reads = sum(len(r.reads) for r in readers)
    print(f"\n{total_reads} reads by {N_CLIENTS} sessions, {sum(len(v) for v in writes.values())} acknowledged "
          f"writes, {moved} reconnects to another replica over {cycles} cycle(s); violations: {len(violations)}")
    assert not violations, "\n".join(violations[:20])
    assert moved >= 2, "the faults did not move any reader (the test did not test reconnects)"


def test_check_reader_flags_going_back():
    """The checker above is not vacuous (pure, no servers)."""
    r = Reader(None, "r", ["/a", "/b"])
    r.reads = [(1.0, "/a", 10, 1), (2.0, "/a", 12, 2), (3.0, "/a", 11, 1)]
    assert any("went back" in v for v in check_reader(r, {"/a": [10, 11, 12]}))
    # Saw zxid 20 on /b, then read /a at mzxid 10 although an acknowledged write 15 to /a came before 20.
    r.reads = [(1.0, "/a", 10, 1), (2.0, "/b", 20, 1), (3.0, "/a", 10, 1)]
    assert any("came before" in v for v in check_reader(r, {"/a": [10, 15], "/b": [20]}))
    r.reads = [(1.0, "/a", 10, 1), (2.0, "/b", 20, 1), (3.0, "/a", 15, 2)]
    assert not check_reader(r, {"/a": [10, 15], "/b": [20]})
