"""kill -9 of a replica under write load: sessions survive, ephemerals stay, no acknowledged write is lost,
and the killed replica catches up to an identical tree."""

from __future__ import annotations

import time

from cluster import IMPL_ZOOKEEPER, SESSION_TIMEOUT_S
from procs import wait_until
from workload import SessionObserver, Writer, check_writers_on_tree

N_CLIENTS = 6
LOAD_BEFORE_KILL_S = 1.5
LOAD_AFTER_RECONNECT_S = 1.0


def pick_victim(ensemble, round_no: int) -> int:
    """ZooKeeper: the leader in even rounds (the harsher fault: every follower drops its clients while a new
    leader is elected), a follower in odd rounds. zooreg has no leader replica: rotate."""
    if ensemble.impl == IMPL_ZOOKEEPER:
        leader = ensemble.leader()
        if leader is not None:
            if round_no % 2 == 0:
                return leader
            followers = [i for i in ensemble.ids if i != leader]
            return followers[(round_no // 2) % len(followers)]
    return ensemble.ids[round_no % len(ensemble.ids)]


def test_kill_replica_under_write_load(ensemble, clients, root, long_mode):
    rounds = 10 if long_mode else 1
    setup = clients.make(ensemble.hosts)
    for d in ("eph", "data", "seq"):
        setup.create(f"{root}/{d}")

    writers, observers, ephemerals = [], [], []
    for n in range(N_CLIENTS):
        first = ensemble.ids[n % len(ensemble.ids)]
        c = clients.make(ensemble.client_hosts(first))  # 2 clients start on each replica
        obs = SessionObserver(c, f"client {n} (starts on replica {first})")
        obs.started()
        eph = f"{root}/eph/c{n}"
        c.create(eph, str(n).encode(), ephemeral=True)
        c.create(f"{root}/data/c{n}", b"0")
        c.create(f"{root}/seq/c{n}")
        writers.append(Writer(c, f"c{n}", f"{root}/seq/c{n}", f"{root}/data/c{n}"))
        observers.append(obs)
        ephemerals.append(eph)

    problems = []
    reconnect_times = []
    for r in range(rounds):
        victim = pick_victim(ensemble, r)
        role = f" ({ensemble.mode(victim)})" if ensemble.impl == IMPL_ZOOKEEPER else ""
        for w in writers:
            w.start()
        time.sleep(LOAD_BEFORE_KILL_S)

        t_kill = time.monotonic()
        ensemble.kill(victim)
        # Every client is back, on the same session, within its session timeout, and writing again.
        wait_until(lambda: all(o.connected_same_session() for o in observers)
                   and all(w.record.ack_times and w.record.ack_times[-1] > t_kill for w in writers),
                   SESSION_TIMEOUT_S,
                   lambda: "every client to reconnect with its session and write again after kill -9 of "
                   f"replica {victim}:\n" + "\n".join(o.describe() for o in observers))
        t_back = time.monotonic() - t_kill
        times = [o.reconnect_time_after(t_kill) for o in observers]
        moved = [t for t in times if t is not None]
        reconnect_times += moved
        time.sleep(LOAD_AFTER_RECONNECT_S)
        for w in writers:
            w.stop()

        assert not any(o.lost for o in observers), "a session was lost:\n" + "\n".join(
            o.describe() for o in observers)
        survivors = [i for i in ensemble.ids if i != victim]
        dumps = ensemble.wait_identical(timeout=20, ids=survivors)
        for i, tree in dumps.items():
            checked, p = check_writers_on_tree(writers, tree, i)
            problems += p
            for o, eph in zip(observers, ephemerals):
                node = tree.get(eph)
                if node is None or node.ephemeralOwner != o.session_id:
                    problems.append(f"replica {i}: ephemeral {eph} of live session {o.session_id:#x} is "
                                    f"{'missing' if node is None else f'owned by {node.ephemeralOwner:#x}'}")

        ensemble.start_replica(victim)
        dumps = ensemble.wait_identical(timeout=30)  # the killed replica caught up: three identical trees
        checked, p = check_writers_on_tree(writers, dumps[victim], victim)
        problems += p
        acked = sum(w.record.acked for w in writers)
        unknown = sum(len(w.record.info_creates) + len(w.record.info_sets) for w in writers)
        print(f"\nround {r + 1}/{rounds}: killed replica {victim}{role}; {len(moved)}/{N_CLIENTS} clients "
              f"were disconnected, all back and writing {t_back:.2f}s after the kill (slowest reconnect "
              f"{max(moved, default=0):.2f}s); acknowledged writes so far {acked}, unknown outcome {unknown}, "
              f"lost {len(problems)}; {len(dumps[victim])} nodes on each replica")
        assert not problems, "\n".join(problems[:30])

    unexpected = [u for w in writers for u in w.record.unexpected]
    assert not unexpected, "\n".join(unexpected[:20])
    total = sum(w.record.acked for w in writers)
    print(f"total: {total} acknowledged writes, 0 lost, over {rounds} kill round(s); reconnect times "
          f"max {max(reconnect_times, default=0):.2f}s")
