"""The ensemble as one service: a 3-host connect string, CRUD, watches across replicas, and read-after-sync
visibility of a write made through another replica."""

from __future__ import annotations

import threading
import time

import pytest
from kazoo.exceptions import BadVersionError, NoNodeError, NodeExistsError, NotEmptyError
from kazoo.protocol.states import EventType

from procs import wait_until


def test_crud_through_three_host_connect_string(ensemble, clients, root):
    zk = clients.make(ensemble.hosts)  # the plain "h1:p1,h2:p2,h3:p3", randomized by kazoo
    assert len(ensemble.hosts.split(",")) == 3
    p = f"{root}/node"
    assert zk.create(p, b"v0") == p
    data, stat = zk.get(p)
    assert data == b"v0" and stat.version == 0 and stat.czxid == stat.mzxid
    stat2 = zk.set(p, b"v1")
    assert stat2.version == 1 and stat2.mzxid > stat.mzxid
    with pytest.raises(BadVersionError):
        zk.set(p, b"stale", version=0)
    assert zk.get(p)[0] == b"v1"
    with pytest.raises(NodeExistsError):
        zk.create(p)
    zk.create(f"{p}/child", b"c")
    with pytest.raises(NotEmptyError):
        zk.delete(p)
    assert zk.get_children(p) == ["child"]
    seq = [zk.create(f"{root}/s-", sequence=True) for _ in range(3)]
    assert seq == sorted(seq) and len(set(seq)) == 3
    zk.delete(p, recursive=True)
    assert zk.exists(p) is None
    with pytest.raises(NoNodeError):
        zk.get(p)


def test_write_through_one_replica_visible_on_every_other_after_sync(ensemble, clients, root):
    pinned = {i: clients.make(ensemble.pinned_hosts(i)) for i in ensemble.ids}
    p = f"{root}/x"
    pinned[ensemble.ids[0]].create(p, b"0")
    rounds = 30
    for n in range(1, rounds + 1):
        writer = ensemble.ids[n % len(ensemble.ids)]
        stat = pinned[writer].set(p, str(n).encode())
        for reader, c in pinned.items():
            c.sync(p)
            data, rstat = c.get(p)
            assert data == str(n).encode(), (f"round {n}: replica {reader} returned {data!r} after sync, "
                                             f"write #{n} went through replica {writer}")
            assert rstat.mzxid == stat.mzxid and rstat.version == stat.version


def test_ephemeral_visible_everywhere_and_gone_everywhere_after_close(ensemble, clients, root):
    owner = clients.make(ensemble.pinned_hosts(ensemble.ids[0]))
    readers = {i: clients.make(ensemble.pinned_hosts(i)) for i in ensemble.ids[1:]}
    p = f"{root}/eph"
    owner.create(p, b"e", ephemeral=True)
    sid = owner.client_id[0]
    for i, c in readers.items():
        c.sync(p)
        stat = c.exists(p)
        assert stat is not None and stat.ephemeralOwner == sid, f"replica {i}: {stat}"
    owner.stop()
    for i, c in readers.items():
        wait_until(lambda: c.sync(p) is not None and c.exists(p) is None, 10,
                   f"the ephemeral of a closed session to disappear on replica {i}")


def test_watches_fire_for_changes_made_through_other_replicas(ensemble, clients, root):
    ids = ensemble.ids
    watcher = clients.make(ensemble.pinned_hosts(ids[0]))
    writer = clients.make(ensemble.pinned_hosts(ids[1]))
    other = clients.make(ensemble.pinned_hosts(ids[2]))
    p = f"{root}/w"

    events = []
    cond = threading.Condition()

    def record(event):
        with cond:
            events.append(event)
            cond.notify_all()

    def wait_event(n, what):
        deadline = time.monotonic() + 10
        with cond:
            while len(events) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"no {what} watch event within 10 s (have {events})"
                cond.wait(left)
            return events[n - 1]

    assert watcher.exists(p, watch=record) is None
    writer.create(p, b"a")
    ev = wait_event(1, "NodeCreated")
    assert ev.type == EventType.CREATED and ev.path == p

    watcher.get(p, watch=record)
    other.set(p, b"b")
    ev = wait_event(2, "NodeDataChanged")
    assert ev.type == EventType.CHANGED and ev.path == p
    # The watch fired before or with the new data: a read now sees it (no sync needed: the notification
    # came through the watcher's own server, which had applied the change).
    assert watcher.get(p)[0] == b"b"

    watcher.get_children(root, watch=record)
    writer.create(f"{root}/w2")
    ev = wait_event(3, "NodeChildrenChanged")
    assert ev.type == EventType.CHILD and ev.path == root

    watcher.exists(p, watch=record)
    other.delete(p)
    ev = wait_event(4, "NodeDeleted")
    assert ev.type == EventType.DELETED and ev.path == p
