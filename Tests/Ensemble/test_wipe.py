"""A replica whose data dir is wiped bootstraps from the others (ZooKeeper: a follower syncs a snapshot from
the leader; zooreg: from etcd and/or its peers) and then serves the same tree, ephemerals included."""

from __future__ import annotations

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
