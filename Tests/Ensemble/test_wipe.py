"""A replica whose data dir is wiped bootstraps from the others (ZooKeeper: a follower syncs a snapshot from
the leader; zooreg: from etcd and/or its peers) and then serves the same tree, ephemerals included."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cluster import IMPL_ZOOKEEPER
from procs import wait_until


def test_wiped_replica_bootstraps_and_serves_the_same_tree(ensemble, clients, root, long_mode):
    if ensemble.impl == IMPL_ZOOKEEPER:
        leader = ensemble.leader()
        victim = next(i for i in reversed(ensemble.ids) if i != leader)  # a follower
    else:
        victim = ensemble.ids[-1]
    others = [i for i in ensemble.ids if i != victim]
    writer = clients.make(ensemble.pinned_hosts(others[0]))
    owner = clients.make(ensemble.pinned_hosts(others[1]))  # a live session whose ephemeral must survive
    sid = owner.client_id[0]
    owner.create(f"{root}/owned", b"e", ephemeral=True)

    n = 1000 if long_mode else 200

    def write_batch(tag: str) -> None:
        pending = [writer.create_async(f"{root}/{tag}-{k}", f"{tag}{k}".encode()) for k in range(n)]
        for p in pending:
            p.get(timeout=20)
        sets = [writer.set_async(f"{root}/{tag}-{k}", b"again") for k in range(0, n, 3)]
        for s in sets:
            s.get(timeout=20)

    write_batch("before")
    ensemble.kill(victim)
    ensemble.wipe(victim)
    write_batch("while-down")  # the wiped replica must also learn what happened while it was down
    ensemble.start_replica(victim)
    write_batch("after")

    dumps = ensemble.wait_identical(timeout=30)
    tree = dumps[victim]
    assert tree[f"{root}/owned"].ephemeralOwner == sid
    for tag in ("before", "while-down", "after"):
        assert tree[f"{root}/{tag}-0"].data == b"again"
        assert tree[f"{root}/{tag}-1"].data == f"{tag}1".encode()
    print(f"\nreplica {victim} wiped and restarted: {len(tree)} nodes, identical on all replicas")

    # It serves: reads and writes through the wiped replica alone.
    c = clients.make(ensemble.pinned_hosts(victim))
    c.sync(root)
    assert c.get(f"{root}/before-0")[0] == b"again"
    assert c.exists(f"{root}/owned").ephemeralOwner == sid
    c.create(f"{root}/through-wiped", b"w")
    writer.sync(root)
    assert writer.get(f"{root}/through-wiped")[0] == b"w"
    # The ephemeral of a session that closes disappears on the wiped replica too.
    owner.stop()
    wait_until(lambda: c.sync(root) is not None and c.exists(f"{root}/owned") is None, 10,
               "the closed session's ephemeral to disappear on the wiped replica")


@pytest.mark.zooreg_only("etcd's compaction of the shared log; ZooKeeper's counterpart (a follower that is too far "
                         "behind gets a SNAP from the leader) is what the wipe test above exercises")
def test_replica_stopped_past_compaction_bootstraps_from_a_peer(zooreg_ensemble, clients, root):
    """A stopped replica whose log position the others compact away: when it starts again it fetches a live
    peer's snapshot (served over HTTP, its address published in etcd) and catches up from the log after it."""
    ens = zooreg_ensemble
    victim = ens.ids[-1]
    others = [i for i in ens.ids if i != victim]
    writer = clients.make(ens.pinned_hosts(others[0]))
    writer.create(f"{root}/first", b"1")
    ens.kill(victim)
    key = f"/zooreg/{ens.cluster_name}/compacted"

    def compacted() -> int:
        out = ens.etcd.get(key)
        value = out.stdout.strip() if out.returncode == 0 else ""
        return int(value) if value else 0

    # The stopped replica's newest snapshot position (zxid = etcd revision << 16 | index; README, Ensemble).
    snaps = [int(p.name.split(".", 1)[1], 16) for p in ens.replicas[victim].data_dir.glob("snapshot.*")
             if "tmp" not in p.name]
    start = max([z >> 16 for z in snaps] + [compacted()])
    # Enough writes for the live replicas to take snapshots (snapCount=400 in the suite), and time for the
    # stopped replica's membership lease (5 s) to run out, so that compaction passes its position.
    k = 0
    deadline = time.monotonic() + 60
    while compacted() <= start and time.monotonic() < deadline:
        pending = [writer.create_async(f"{root}/w-{k + j}", b"x") for j in range(200)]
        for p in pending:
            p.get(timeout=20)
        k += 200
        time.sleep(0.5)
    assert compacted() > start, f"the live replicas never compacted the log past revision {start}"
    log = Path(ens.replicas[victim].process.log_path)
    offset = log.stat().st_size if log.exists() else 0
    ens.start_replica(victim)
    dumps = ens.wait_identical(timeout=30)
    assert dumps[victim][f"{root}/first"].data == b"1"
    assert f"{root}/w-{k - 1}" in dumps[victim]
    with open(log, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")  # this start's lines only
    assert "Bootstrapped from a peer's snapshot" in text, "the replica did not bootstrap from a peer"
    c = clients.make(ens.pinned_hosts(victim))
    c.create(f"{root}/through-restarted", b"r")
    print(f"\nreplica {victim} restarted past compaction (compacted to {compacted()}); {k} writes while it was down")
