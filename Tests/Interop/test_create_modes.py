"""Every create mode: persistent, ephemeral, sequential (names from the parent's create counter),
container (reaped when its last child goes) and TTL (reaped when unmodified for the TTL and childless)."""

import re
import time

import pytest

from zkraw import CreateFlags, Err, EventType, Op, Writer, WORLD_ANYONE, ZKError, op_create

SEQ = re.compile(r"^(.*?)(\d{10})$")


def test_persistent_and_ephemeral(zk, root, make_client):
    other = make_client.kazoo()
    zk.create(f"{root}/p")
    zk.create(f"{root}/e", ephemeral=True)
    session_id = zk.client_id[0]
    assert other.exists(f"{root}/p").ephemeralOwner == 0
    assert other.exists(f"{root}/e").ephemeralOwner == session_id
    zk.stop()
    assert other.exists(f"{root}/p") is not None
    assert other.exists(f"{root}/e") is None


def test_sequential_names_follow_parent_create_counter(zk, root):
    names = [zk.create(f"{root}/n-", sequence=True) for _ in range(3)]
    assert names == [f"{root}/n-{i:010d}" for i in range(3)]
    # plain creates advance the same counter; deletes do not
    zk.create(f"{root}/plain")
    zk.delete(names[0])
    zk.delete(f"{root}/plain")
    assert zk.create(f"{root}/n-", sequence=True) == f"{root}/n-0000000004"
    # ephemeral sequential shares it too, whatever the prefix
    assert zk.create(f"{root}/other-", ephemeral=True, sequence=True) == f"{root}/other-0000000005"
    # a prefix that ends in "/" gives a bare number as the name
    assert zk.create(f"{root}/", sequence=True) == f"{root}/0000000006"


def test_sequential_after_create_and_delete(zk, root):
    first = zk.create(f"{root}/a-", sequence=True)
    zk.delete(first)
    assert zk.create(f"{root}/a-", sequence=True) == f"{root}/a-0000000001"


def test_sequential_counter_is_per_parent(zk, root):
    zk.create(f"{root}/x")
    zk.create(f"{root}/y")
    assert zk.create(f"{root}/x/s", sequence=True) == f"{root}/x/s0000000000"
    assert zk.create(f"{root}/y/s", sequence=True) == f"{root}/y/s0000000000"
    assert zk.create(f"{root}/x/s", sequence=True) == f"{root}/x/s0000000001"


def test_ephemeral_sequential_owner(zk, root):
    path = zk.create(f"{root}/lock-", ephemeral=True, sequence=True)
    assert SEQ.match(path)
    assert zk.exists(path).ephemeralOwner == zk.client_id[0]


def test_create2_returns_stat(raw, root):
    s = raw()
    path, stat = s.create2(f"{root}/c2", b"abc")
    assert path == f"{root}/c2"
    assert stat == s.exists(path)
    assert stat.dataLength == 3 and stat.czxid == stat.mzxid == stat.pzxid


# ---------------------------------------------------------------- containers


def _wait_gone(s, path, timeout=10.0):
    """Sets an exists watch on path and waits (bounded) for NodeDeleted."""
    if s.exists(path, watch=True) is None:
        return
    ev = s.wait_event(lambda e: e.path == path, timeout=timeout)
    assert ev.type == EventType.NODE_DELETED


def test_container_reaped_after_last_child_deleted(raw, root, server):
    s = raw()
    path, stat = s.create_container(f"{root}/svc")
    assert path == f"{root}/svc" and stat.ephemeralOwner == 0
    s.create(f"{root}/svc/a")
    s.create(f"{root}/svc/b")
    s.delete(f"{root}/svc/a")
    time.sleep(5 * server.tick_ms / 1000)  # several reaper intervals: a container with a child stays
    assert s.exists(f"{root}/svc") is not None
    start = time.monotonic()
    s.delete(f"{root}/svc/b")
    _wait_gone(s, f"{root}/svc")
    assert time.monotonic() - start < 5.0


def test_container_never_used_is_kept(raw, root, server):
    s = raw()
    s.create_container(f"{root}/empty")
    time.sleep(5 * 100 / 1000 + 0.2)  # several reaper intervals (znode.container.checkIntervalMs=100)
    assert s.exists(f"{root}/empty") is not None


def test_container_with_ephemeral_child_reaped_when_session_closes(raw, root):
    owner = raw()
    watcher = raw()
    watcher.create_container(f"{root}/services")
    owner.create(f"{root}/services/instance-1", b"", flags=CreateFlags.EPHEMERAL)
    owner.close()
    _wait_gone(watcher, f"{root}/services")


def test_container_flag_on_plain_create_makes_a_persistent_node(raw, root):
    # ZooKeeper quirk: create/create2 with flag 4 succeed, but the transaction only records "ephemeral or
    # not", so the node is a plain persistent node and is never reaped. Only createContainer (19) makes one.
    s = raw()
    assert s.create(f"{root}/c", flags=CreateFlags.CONTAINER) == f"{root}/c"
    s.create2(f"{root}/c2", flags=CreateFlags.CONTAINER)
    for p in (f"{root}/c", f"{root}/c2"):
        s.create(f"{p}/x")
        s.delete(f"{p}/x")
    time.sleep(0.6)  # several reaper intervals
    assert s.exists(f"{root}/c") is not None and s.exists(f"{root}/c2") is not None
    assert s.exists(f"{root}/c").ephemeralOwner == 0


def test_container_children_may_be_anything(raw, root):
    s = raw()
    s.create_container(f"{root}/c")
    s.create(f"{root}/c/seq-", flags=CreateFlags.PERSISTENT_SEQUENTIAL)
    s.create_container(f"{root}/c/sub")
    assert sorted(s.get_children(f"{root}/c")) == ["seq-0000000000", "sub"]


# ---------------------------------------------------------------- TTL


def test_ttl_node_reaped_after_ttl(raw, root):
    s = raw()
    start = time.monotonic()
    path, stat = s.create_ttl(f"{root}/ttl", b"x", ttl_ms=500)
    assert path == f"{root}/ttl"
    assert stat.ephemeralOwner == 0 and stat.dataLength == 1
    _wait_gone(s, path)
    elapsed = time.monotonic() - start
    assert 0.45 <= elapsed < 5.0, elapsed


def test_ttl_sequential(raw, root):
    s = raw()
    path, _ = s.create_ttl(f"{root}/t-", b"", ttl_ms=60000, flags=CreateFlags.PERSISTENT_SEQUENTIAL_WITH_TTL)
    assert path == f"{root}/t-0000000000"


def test_ttl_node_with_child_is_kept_until_childless(raw, root):
    s = raw()
    s.create_ttl(f"{root}/ttl", b"", ttl_ms=200)
    s.create(f"{root}/ttl/child")
    time.sleep(1.0)
    assert s.exists(f"{root}/ttl") is not None
    s.delete(f"{root}/ttl/child")
    _wait_gone(s, f"{root}/ttl")


def test_ttl_is_measured_from_last_modification(raw, root):
    s = raw()
    # A TTL 12x the touch interval, so that a loaded machine's scheduling delays cannot let it lapse.
    s.create_ttl(f"{root}/ttl", b"", ttl_ms=3000)
    for _ in range(16):
        time.sleep(0.25)
        s.set_data(f"{root}/ttl", b"touch")
    assert s.exists(f"{root}/ttl") is not None  # 4 s after creation, but modified 0.25 s ago
    _wait_gone(s, f"{root}/ttl")


def test_ttl_bad_arguments(raw, root):
    s = raw()

    def code(fn):
        try:
            fn()
        except ZKError as e:
            return e.code
        return 0

    p = f"{root}/t"
    assert code(lambda: s.create_ttl(p, ttl_ms=0)) == Err.BAD_ARGUMENTS
    assert code(lambda: s.create_ttl(p, ttl_ms=-1)) == Err.BAD_ARGUMENTS
    assert code(lambda: s.create_ttl(p, ttl_ms=1 << 40)) == Err.BAD_ARGUMENTS  # max is 2^40-1
    assert code(lambda: s.create_ttl(p, ttl_ms=1000, flags=CreateFlags.PERSISTENT)) == Err.BAD_ARGUMENTS
    assert code(lambda: s.create_ttl(p, ttl_ms=1000, flags=CreateFlags.EPHEMERAL)) == Err.BAD_ARGUMENTS
    assert code(lambda: s.create_ttl(p, ttl_ms=1000, flags=CreateFlags.CONTAINER)) == Err.BAD_ARGUMENTS
    assert code(lambda: s.create(p, flags=CreateFlags.PERSISTENT_WITH_TTL)) == Err.BAD_ARGUMENTS
    assert code(lambda: s.create(p, flags=CreateFlags.PERSISTENT_SEQUENTIAL_WITH_TTL)) == Err.BAD_ARGUMENTS
    assert s.exists(p) is None
    assert s.create_ttl(p, ttl_ms=(1 << 40) - 1)[0] == p
