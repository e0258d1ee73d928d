"""Live linearizability: 6 clients, 2 pinned to each replica, read (sync + getData), write (setData) and CAS
(setData with an expected version) 3 keys concurrently; the recorded history must be linearizable
(linearizability.py). A second test does the same while a replica is killed and restarted (clients then
use all hosts, starting with "their" replica, and some operations end with an unknown outcome)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import linearizability as lin
from cluster import IMPL_ZOOKEEPER
from workload import RegisterWorker, run_threads

N_CLIENTS = 6
N_KEYS = 3
INIT = b"init"


def _setup_keys(clients, ensemble, root):
    keys = [f"{root}/k{i}" for i in range(N_KEYS)]
    c = clients.make(ensemble.hosts)
    for k in keys:
        c.create(k, INIT)
    return keys


def _check_and_report(workers, keys, label):
    errors = [e for w in workers for e in w.errors]
    assert not errors, "unexpected errors:\n" + "\n".join(errors[:20])
    history = [op for w in workers for op in w.history]
    results = lin.check(history, {k: (INIT, 0) for k in keys})
    print(f"\n{label}: {len(history)} operations")
    for key, res in results.items():
        kinds = Counter(f"{op.kind}/{op.outcome}" for op in history if op.key == key)
        print(f"  {key}: {sum(kinds.values())} operations ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})"
              f" -> {'linearizable' if res.ok else 'NOT LINEARIZABLE'} ({res.steps} steps, "
              f"{res.configurations} configurations, {res.seconds:.2f}s)")
    bad = [r for r in results.values() if not r.ok]
    assert not bad, "\n\n".join(r.explanation for r in bad)
    for key in keys:
        assert sum(1 for op in history if op.key == key and op.outcome == lin.OK) > 0, f"no operation on {key}"


def test_concurrent_register_history_is_linearizable(ensemble, clients, root, long_mode):
    keys = _setup_keys(clients, ensemble, root)
    workers = []
    for p in range(N_CLIENTS):
        rid = ensemble.ids[p % len(ensemble.ids)]
        c = clients.make(ensemble.pinned_hosts(rid))
        workers.append(RegisterWorker(c, p, keys, seed=1000 + p))
    duration = 60.0 if long_mode else 5.0
    deadline = time.monotonic() + duration
    problems = run_threads([lambda w=w: w.run_until(deadline) for w in workers], timeout=duration + 60)
    assert not problems, problems
    _check_and_report(workers, keys, f"{ensemble.impl}, {duration:.0f}s, {N_CLIENTS} pinned clients, no faults")

    # The checker is not vacuous on real data: the same history with one read made stale (it returns the
    # initial state although a write had completed before the read began) must be rejected.
    history = [op for w in workers for op in w.history if op.key == keys[0]]
    first_write_ret = min(op.ret for op in history if op.kind != lin.READ and op.outcome == lin.OK)
    late_reads = [op for op in history if op.kind == lin.READ and op.call > first_write_ret]
    assert late_reads, "no read after the first write"
    victim = late_reads[len(late_reads) // 2]
    tampered = [lin.Op(op.process, op.kind, op.key, op.call, op.ret, op.outcome, op.value, op.expected,
                       (INIT, 0) if op is victim else op.result) for op in history]
    res = lin.check_register(tampered, (INIT, 0), key=keys[0])
    assert not res.ok, "a stale read injected into the live history was accepted"


def test_register_history_stays_linearizable_across_a_replica_kill(ensemble, clients, root, long_mode):
    keys = _setup_keys(clients, ensemble, root)
    workers = []
    for p in range(N_CLIENTS):
        first = ensemble.ids[p % len(ensemble.ids)]
        c = clients.make(ensemble.client_hosts(first))
        workers.append(RegisterWorker(c, p, keys, seed=2000 + p))
    rounds = 6 if long_mode else 1
    stop = threading.Event()
    limit = time.monotonic() + 60.0 * rounds + 60.0  # only a safety net; `stop` ends the run
    results = []
    runner = threading.Thread(target=lambda: results.extend(
        run_threads([lambda w=w: w.run_until(limit, stop) for w in workers], timeout=60.0 * rounds + 90)),
        daemon=True)
    runner.start()
    # Faults come from this (main) thread: processes are only started from it (PR_SET_PDEATHSIG).
    try:
        for r in range(rounds):
            time.sleep(1.5)
            if ensemble.impl == IMPL_ZOOKEEPER and r % 2 == 0 and ensemble.leader() is not None:
                victim = ensemble.leader()
            else:
                victim = ensemble.ids[r % len(ensemble.ids)]
            ensemble.kill(victim)
            time.sleep(1.5)
            ensemble.start_replica(victim)
        time.sleep(1.5)
    finally:
        stop.set()
    runner.join(60)
    assert not runner.is_alive(), "the workers did not finish"
    assert not results, results
    _check_and_report(workers, keys, f"{ensemble.impl}, {rounds} replica kill(s) under load, {N_CLIENTS} clients")
