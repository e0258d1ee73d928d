"""addWatch: persistent and persistent-recursive watches (kazoo 2.11 has no add_watch, so on the wire)."""

import pytest

from zkraw import AddWatchMode, Err, EventType, Op, WatcherType, Writer


def test_persistent_watch(raw, root):
    a, b = raw(), raw()
    p = f"{root}/p"
    a.create(p)
    a.add_watch(p, AddWatchMode.PERSISTENT)
    b.set_data(p, b"1")
    b.set_data(p, b"2")
    b.create(f"{p}/c")
    b.create(f"{p}/c/d")      # grandchild: not reported by a non-recursive watch
    b.set_data(f"{p}/c", b"x")  # child's data: not reported
    b.delete(f"{p}/c/d")
    b.delete(f"{p}/c")
    b.delete(p)
    b.create(p)
    a.ping()
    assert [(e.type, e.path) for e in a.events] == [
        (EventType.NODE_DATA_CHANGED, p),
        (EventType.NODE_DATA_CHANGED, p),
        (EventType.NODE_CHILDREN_CHANGED, p),
        (EventType.NODE_CHILDREN_CHANGED, p),
        (EventType.NODE_DELETED, p),
        (EventType.NODE_CREATED, p),
    ]


def test_persistent_recursive_watch(raw, root):
    a, b = raw(), raw()
    p = f"{root}/p"
    a.create(p)
    a.add_watch(p, AddWatchMode.PERSISTENT_RECURSIVE)
    b.set_data(p, b"1")
    b.create(f"{p}/c")
    b.create(f"{p}/c/d")
    b.set_data(f"{p}/c/d", b"x")
    b.delete(f"{p}/c/d")
    b.delete(f"{p}/c")
    b.delete(p)
    b.create(p)
    b.create(f"{root}/p2")  # a sibling with the same prefix is not below p
    a.ping()
    # no NodeChildrenChanged events from a recursive watch
    assert [(e.type, e.path) for e in a.events] == [
        (EventType.NODE_DATA_CHANGED, p),
        (EventType.NODE_CREATED, f"{p}/c"),
        (EventType.NODE_CREATED, f"{p}/c/d"),
        (EventType.NODE_DATA_CHANGED, f"{p}/c/d"),
        (EventType.NODE_DELETED, f"{p}/c/d"),
        (EventType.NODE_DELETED, f"{p}/c"),
        (EventType.NODE_DELETED, p),
        (EventType.NODE_CREATED, p),
    ]


def test_add_watch_on_missing_path(raw, root):
    a, b = raw(), raw()
    a.add_watch(f"{root}/none/x", AddWatchMode.PERSISTENT)
    b.create(f"{root}/none")
    b.create(f"{root}/none/x")
    a.ping()
    assert [(e.type, e.path) for e in a.events] == [(EventType.NODE_CREATED, f"{root}/none/x")]


def test_persistent_and_standard_watch_on_same_path_give_one_event(raw, root):
    a, b = raw(), raw()
    p = f"{root}/p"
    a.create(p)
    a.add_watch(p, AddWatchMode.PERSISTENT)
    a.get_data(p, watch=True)
    b.set_data(p, b"1")
    a.ping()
    assert [(e.type, e.path) for e in a.events] == [(EventType.NODE_DATA_CHANGED, p)]


def test_recursive_watch_reply_ordering(raw, root):
    a, b = raw(), raw()
    a.add_watch(root, AddWatchMode.PERSISTENT_RECURSIVE)
    b.create(f"{root}/x")
    xid = a.send(Op.EXISTS, Writer().string(f"{root}/x").bool(False).bytes())
    first, second = a.receive(), a.receive()
    assert (first.type, first.path) == (EventType.NODE_CREATED, f"{root}/x")
    assert second.xid == xid and second.err == 0


def test_remove_persistent_watch_with_any(raw, root):
    a, b = raw(), raw()
    p = f"{root}/p"
    a.create(p)
    a.add_watch(p, AddWatchMode.PERSISTENT)
    assert a.check_watches(p, WatcherType.ANY) == Err.OK
    assert a.remove_watches(p, WatcherType.ANY) == Err.OK
    assert a.check_watches(p, WatcherType.ANY) == Err.NO_WATCHER
    a.add_watch(p, AddWatchMode.PERSISTENT_RECURSIVE)
    assert a.remove_watches(p, WatcherType.ANY) == Err.OK
    b.set_data(p, b"1")
    b.create(f"{p}/c")
    a.ping()
    assert a.events == []


def test_add_watch_invalid_mode_and_watcher_types(raw, root):
    a = raw()
    reply = a.call_raw(Op.ADD_WATCH, Writer().string(root).int(7).bytes())
    assert reply.err == Err.MARSHALLING_ERROR
    # ZooKeeper 3.8's check/removeWatches know watcher types 1..3 only; 4 and 5 are a marshalling error
    a.add_watch(root, AddWatchMode.PERSISTENT)
    assert a.check_watches(root, WatcherType.PERSISTENT) == Err.MARSHALLING_ERROR
    assert a.remove_watches(root, WatcherType.PERSISTENT_RECURSIVE) == Err.MARSHALLING_ERROR
    assert a.exists(root) is not None  # the connection survives
