"""Faults in the etcd layer under the zooreg replicas (zooreg only; skipped for ZooKeeper, which has no etcd):

- kill -9 of the etcd leader under write load: writes pause while etcd elects a new leader, then resume;
  no session is lost and no acknowledged write is lost.
- a replica partitioned from etcd (its proxies cut, the replica itself keeps running): its clients move to
  the other replicas within their session timeout with the same sessions and ephemerals; after healing, the
  replica catches up to the same tree.

What these tests assume about zooreg (README: "Assumptions about zooreg"):
- A write is acknowledged only once it is in the etcd log, so a replica cut from etcd acknowledges nothing.
- A replica that cannot reach etcd stops serving its clients (closes their connections, or stops answering
  them so that kazoo's ping timeout, 2/3 of the session timeout, fires) early enough for them to reconnect
  elsewhere within the session timeout (10 s here), and sessions are not expired because of the partition.
"""

from __future__ import annotations

import time

import pytest

from cluster import SESSION_TIMEOUT_S
from procs import wait_until
from workload import SessionObserver, Writer, check_writers_on_tree

WRITES_RESUME_S = 15.0  # etcd elects a new leader in ~1 s (election timeout 500 ms); zooreg must follow


def _writers(ens, clients, root, n, first_for=lambda n, ids: ids[n % len(ids)]):
    setup = clients.make(ens.hosts)
    for d in ("eph", "data", "seq"):
        setup.create(f"{root}/{d}")
    writers, observers, ephemerals = [], [], []
    for k in range(n):
        first = first_for(k, ens.ids)
        c = clients.make(ens.client_hosts(first))
        obs = SessionObserver(c, f"client {k} (starts on replica {first})")
        obs.started()
        eph = f"{root}/eph/c{k}"
        c.create(eph, b"", ephemeral=True)
        c.create(f"{root}/data/c{k}", b"0")
        c.create(f"{root}/seq/c{k}")
        writers.append(Writer(c, f"c{k}", f"{root}/seq/c{k}", f"{root}/data/c{k}"))
        observers.append(obs)
        ephemerals.append(eph)
    return writers, observers, ephemerals


def _verify(ens, writers, observers, ephemerals, ids):
    assert not any(o.lost for o in observers), "\n".join(o.describe() for o in observers)
    dumps = ens.wait_identical(timeout=30, ids=ids)
    problems = []
    for i, tree in dumps.items():
        _, p = check_writers_on_tree(writers, tree, i)
        problems += p
        for o, eph in zip(observers, ephemerals):
            node = tree.get(eph)
            if node is None or node.ephemeralOwner != o.session_id:
                problems.append(f"replica {i}: ephemeral {eph} of live session {o.session_id:#x}: {node}")
    unexpected = [u for w in writers for u in w.record.unexpected]
    assert not problems, "\n".join(problems[:30])
    assert not unexpected, "\n".join(unexpected[:20])
    return dumps


def _max_ack_gap_around(writers, t: float) -> float:
    times = sorted(x for w in writers for x in w.record.ack_times)
    before = [x for x in times if x <= t]
    after = [x for x in times if x > t]
    if not before or not after:
        return float("inf")
    return after[0] - before[-1]


@pytest.mark.zooreg_only("ZooKeeper has no etcd; its own leader is killed in test_kill_replica")
def test_kill_etcd_leader_under_write_load(zooreg_ensemble, clients, root, long_mode):
    ens = zooreg_ensemble
    writers, observers, ephemerals = _writers(ens, clients, root, 6)
    rounds = 5 if long_mode else 1
    for r in range(rounds):
        for w in writers:
            w.start()
        time.sleep(1.5)
        t = time.monotonic()
        idx = ens.kill_etcd_leader()
        wait_until(lambda: all(w.record.ack_times and w.record.ack_times[-1] > t for w in writers),
                   WRITES_RESUME_S, f"writes of every client to resume after kill -9 of the etcd leader e{idx + 1}")
        resumed = max(min(x for x in w.record.ack_times if x > t) for w in writers) - t
        gap = _max_ack_gap_around(writers, t)
        time.sleep(1.0)
        for w in writers:
            w.stop()
        ens.restart_etcd(idx)
        dumps = _verify(ens, writers, observers, ephemerals, ens.ids)
        acked = sum(w.record.acked for w in writers)
        print(f"\nround {r + 1}/{rounds}: killed etcd leader e{idx + 1}; longest pause between acknowledged "
              f"writes {gap:.2f}s, every client writing again after {resumed:.2f}s; acknowledged {acked}, "
              f"lost 0; {len(dumps[ens.ids[0]])} nodes on each replica")


@pytest.mark.zooreg_only("the ZooKeeper counterpart, a follower cut from its quorum, would need a proxy on "
                         "ZooKeeper's quorum ports and is not implemented")
@pytest.mark.parametrize("mode", ["reset", "blackhole"])
def test_replica_partitioned_from_etcd(zooreg_ensemble, clients, root, mode, long_mode):
    """mode reset: the replica's etcd connections are reset and refused; blackhole: they hang silently."""
    ens = zooreg_ensemble
    victim = ens.ids[0]
    # 4 clients start on the victim, 2 elsewhere.
    writers, observers, ephemerals = _writers(
        ens, clients, root, 6, first_for=lambda k, ids: victim if k < 4 else ids[1 + k % 2])
    rounds = 3 if long_mode else 1
    for r in range(rounds):
        for w in writers:
            w.start()
        time.sleep(1.5)
        t = time.monotonic()
        ens.partition(victim, mode)
        # Writes can only be acknowledged through a replica that reaches etcd, so a client writing again
        # has left the partitioned replica (or never was on it).
        wait_until(lambda: all(o.connected_same_session() for o in observers)
                   and all(w.record.ack_times and w.record.ack_times[-1] > t for w in writers),
                   SESSION_TIMEOUT_S,
                   lambda: f"every client of the partitioned replica {victim} ({mode}) to move and write "
                   "again, with the same session:\n" + "\n".join(o.describe() for o in observers))
        moved = [o.reconnect_time_after(t) for o in observers[:4]]
        time.sleep(1.0)
        for w in writers:
            w.stop()
        survivors = [i for i in ens.ids if i != victim]
        _verify(ens, writers, observers, ephemerals, survivors)
        ens.heal(victim)
        dumps = _verify(ens, writers, observers, ephemerals, ens.ids)  # caught up after healing
        print(f"\nround {r + 1}/{rounds} ({mode}): the victim's clients reconnected after "
              f"{', '.join('-' if m is None else f'{m:.2f}s' for m in moved)}; acknowledged "
              f"{sum(w.record.acked for w in writers)}, lost 0; after healing replica {victim} has the same "
              f"{len(dumps[victim])} nodes")
