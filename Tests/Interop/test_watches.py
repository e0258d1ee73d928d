"""Standard (one-shot) watches: data, child and exists, their events and ORDER on the wire; checkWatches,
removeWatches; setWatches/setWatches2 replay after a reconnect."""

import time

from kazoo.protocol.states import EventType as KEventType

from helpers import Recorder
from zkraw import (
    EventType,
    Err,
    Event,
    KeeperState,
    Op,
    Reply,
    WatcherType,
    Writer,
    op_create,
    op_set_data,
    op_check,
)

# ---------------------------------------------------------------- through kazoo


def test_kazoo_data_watch_fires_once(zk, root, make_client):
    other = make_client.kazoo()
    zk.create(f"{root}/n", b"0")
    rec = Recorder()
    zk.get(f"{root}/n", watch=rec)
    other.set(f"{root}/n", b"1")
    (ev,) = rec.wait_for(1)
    assert (ev.type, ev.path) == (KEventType.CHANGED, f"{root}/n")
    other.set(f"{root}/n", b"2")  # one-shot: no second event
    assert len(rec.settle()) == 1


def test_kazoo_exists_watch_created_and_deleted(zk, root, make_client):
    other = make_client.kazoo()
    rec = Recorder()
    assert zk.exists(f"{root}/n", watch=rec) is None
    other.create(f"{root}/n")
    assert rec.wait_for(1)[0].type == KEventType.CREATED
    rec2 = Recorder()
    assert zk.exists(f"{root}/n", watch=rec2) is not None
    other.delete(f"{root}/n")
    assert rec2.wait_for(1)[0].type == KEventType.DELETED


def test_kazoo_child_watch(zk, root, make_client):
    other = make_client.kazoo()
    rec = Recorder()
    zk.get_children(root, watch=rec)
    other.create(f"{root}/c")
    (ev,) = rec.wait_for(1)
    assert (ev.type, ev.path) == (KEventType.CHILD, root)
    # a child's data change does not fire a child watch
    rec2 = Recorder()
    zk.get_children(root, watch=rec2)
    other.set(f"{root}/c", b"x")
    assert rec2.settle() == []
    other.delete(f"{root}/c")
    assert rec2.wait_for(1)[0].type == KEventType.CHILD


def test_kazoo_delete_fires_data_and_child_watchers(zk, root, make_client):
    other = make_client.kazoo()
    zk.create(f"{root}/n")
    data_rec, child_rec = Recorder(), Recorder()
    zk.get(f"{root}/n", watch=data_rec)
    zk.get_children(f"{root}/n", watch=child_rec)
    other.delete(f"{root}/n")
    assert data_rec.wait_for(1)[0].type == KEventType.DELETED
    assert child_rec.wait_for(1)[0].type == KEventType.DELETED


# ---------------------------------------------------------------- on the wire


def test_event_arrives_before_the_read_that_reveals_the_change(raw, root):
    a, b = raw(), raw()
    a.create(f"{root}/n", b"0")
    a.get_data(f"{root}/n", watch=True)
    b.set_data(f"{root}/n", b"1")
    # b's write is acknowledged; now a reads. The first frame a receives must be the notification.
    xid = a.send(Op.GET_DATA, Writer().string(f"{root}/n").bool(False).bytes())
    first, second = a.receive(), a.receive()
    assert isinstance(first, Event), first
    assert (first.type, first.state, first.path) == (EventType.NODE_DATA_CHANGED, KeeperState.SYNC_CONNECTED,
                                                     f"{root}/n")
    assert isinstance(second, Reply) and second.xid == xid and second.err == 0
    assert second.reader().buffer() == b"1"


def test_event_arrives_before_own_write_reply(raw, root):
    a = raw()
    a.create(f"{root}/n", b"0")
    a.get_data(f"{root}/n", watch=True)
    xid = a.send(*op_set_data(f"{root}/n", b"1"))
    first, second = a.receive(), a.receive()
    assert isinstance(first, Event) and first.type == EventType.NODE_DATA_CHANGED
    assert isinstance(second, Reply) and second.xid == xid


def test_events_arrive_in_zxid_order(raw, root):
    a, b = raw(), raw()
    for name in ("x", "y", "z"):
        a.create(f"{root}/{name}")
    a.get_data(f"{root}/x", watch=True)
    a.get_data(f"{root}/y", watch=True)
    a.get_children(f"{root}/z", watch=True)
    a.exists(f"{root}/q", watch=True)
    b.set_data(f"{root}/y", b"1")
    b.create(f"{root}/z/c")
    b.set_data(f"{root}/x", b"1")
    b.create(f"{root}/q")
    a.ping()  # everything sent before the ping's reply has arrived
    got = [(e.type, e.path) for e in a.events]
    assert got == [
        (EventType.NODE_DATA_CHANGED, f"{root}/y"),
        (EventType.NODE_CHILDREN_CHANGED, f"{root}/z"),
        (EventType.NODE_DATA_CHANGED, f"{root}/x"),
        (EventType.NODE_CREATED, f"{root}/q"),
    ]


def test_events_of_one_multi_arrive_in_op_order(raw, root):
    a, b = raw(), raw()
    for name in ("x", "y", "z"):
        a.create(f"{root}/{name}")
    a.get_data(f"{root}/x", watch=True)
    a.get_data(f"{root}/y", watch=True)
    a.get_children(f"{root}/z", watch=True)
    a.exists(f"{root}/q", watch=True)
    err, results = b.multi([op_set_data(f"{root}/y", b"1"), op_create(f"{root}/z/c"),
                            op_set_data(f"{root}/x", b"1"), op_create(f"{root}/q")])
    assert err == 0 and all(r.err == 0 for r in results)
    a.ping()
    assert [(e.type, e.path) for e in a.events] == [
        (EventType.NODE_DATA_CHANGED, f"{root}/y"),
        (EventType.NODE_CHILDREN_CHANGED, f"{root}/z"),
        (EventType.NODE_DATA_CHANGED, f"{root}/x"),
        (EventType.NODE_CREATED, f"{root}/q"),
    ]


def test_notification_frame_shape(raw, root):
    a, b = raw(), raw()
    a.exists(f"{root}/n", watch=True)
    b.create(f"{root}/n")
    ev = a.wait_event(timeout=5)
    assert (ev.type, ev.state, ev.path) == (EventType.NODE_CREATED, KeeperState.SYNC_CONNECTED, f"{root}/n")


def test_exists_and_get_data_watch_give_one_event(raw, root):
    a, b = raw(), raw()
    a.create(f"{root}/n")
    a.exists(f"{root}/n", watch=True)
    a.get_data(f"{root}/n", watch=True)
    a.get_children(f"{root}/n", watch=True)
    b.set_data(f"{root}/n", b"1")
    b.create(f"{root}/n/c")
    a.ping()
    assert [(e.type, e.path) for e in a.events] == [
        (EventType.NODE_DATA_CHANGED, f"{root}/n"),
        (EventType.NODE_CHILDREN_CHANGED, f"{root}/n"),
    ]


def test_delete_with_data_and_child_watch_gives_one_node_deleted(raw, root):
    a, b = raw(), raw()
    a.create(f"{root}/n")
    a.get_data(f"{root}/n", watch=True)
    a.get_children(f"{root}/n", watch=True)
    b.delete(f"{root}/n")
    a.ping()
    assert [(e.type, e.path) for e in a.events] == [(EventType.NODE_DELETED, f"{root}/n")]


def test_exists_watch_on_missing_node_is_set(raw, root):
    a, b = raw(), raw()
    assert a.exists(f"{root}/later", watch=True) is None
    b.create(f"{root}/later")
    assert a.wait_event(timeout=5).type == EventType.NODE_CREATED


def test_failed_read_sets_no_watch(raw, root):
    a, b = raw(), raw()
    reply = a.call_raw(Op.GET_DATA, Writer().string(f"{root}/missing").bool(True).bytes())
    assert reply.err == Err.NO_NODE
    b.create(f"{root}/missing")
    a.ping()
    assert a.events == []


def test_watches_are_per_session(raw, root):
    a, b, c = raw(), raw(), raw()
    a.create(f"{root}/n")
    a.get_data(f"{root}/n", watch=True)
    b.get_data(f"{root}/n", watch=True)
    c.set_data(f"{root}/n", b"x")
    a.ping()
    b.ping()
    c.ping()
    assert len(a.events) == 1 and len(b.events) == 1 and c.events == []


def test_failed_multi_fires_no_watch(raw, root):
    a, b = raw(), raw()
    a.create(f"{root}/n")
    a.get_data(f"{root}/n", watch=True)
    a.exists(f"{root}/new", watch=True)
    err, results = b.multi([op_create(f"{root}/new"), op_set_data(f"{root}/n", b"1"), op_check(f"{root}/n", 7)])
    assert [r.err for r in results] == [0, 0, Err.BAD_VERSION]
    a.ping()
    assert a.events == []


# ---------------------------------------------------------------- checkWatches / removeWatches


def test_check_and_remove_watches(raw, root):
    a, b = raw(), raw()
    p = f"{root}/n"
    a.create(p)
    assert a.check_watches(p, WatcherType.DATA) == Err.NO_WATCHER
    assert a.check_watches(f"{root}/missing", WatcherType.ANY) == Err.NO_WATCHER
    a.get_data(p, watch=True)
    assert a.check_watches(p, WatcherType.DATA) == Err.OK
    assert a.check_watches(p, WatcherType.ANY) == Err.OK
    assert a.check_watches(p, WatcherType.CHILDREN) == Err.NO_WATCHER
    assert a.remove_watches(p, WatcherType.CHILDREN) == Err.NO_WATCHER
    assert a.remove_watches(p, WatcherType.DATA) == Err.OK
    assert a.remove_watches(p, WatcherType.DATA) == Err.NO_WATCHER
    b.set_data(p, b"x")
    a.ping()
    assert a.events == []  # removed: no event; the server sends no "watch removed" event either
    # an exists watch is a data watch
    a.exists(f"{root}/missing", watch=True)
    assert a.check_watches(f"{root}/missing", WatcherType.DATA) == Err.OK
    a.get_children(p, watch=True)
    a.get_data(p, watch=True)
    assert a.remove_watches(p, WatcherType.ANY) == Err.OK
    assert a.check_watches(p, WatcherType.ANY) == Err.NO_WATCHER
    b.create(f"{p}/c")
    a.ping()
    assert a.events == []


def test_remove_watches_is_per_session(raw, root):
    # (ZooKeeper 3.8's checkWatches answers OK if ANY session watches the path, so it is not checked
    # across sessions here; removeWatches is per session.)
    a, b, c = raw(), raw(), raw()
    a.create(f"{root}/n")
    a.get_data(f"{root}/n", watch=True)
    assert b.remove_watches(f"{root}/n", WatcherType.DATA) == Err.NO_WATCHER
    assert b.remove_watches(f"{root}/n", WatcherType.ANY) == Err.NO_WATCHER
    b.get_data(f"{root}/n", watch=True)
    assert b.remove_watches(f"{root}/n", WatcherType.DATA) == Err.OK
    c.set_data(f"{root}/n", b"x")
    a.ping()
    b.ping()
    assert [(e.type, e.path) for e in a.events] == [(EventType.NODE_DATA_CHANGED, f"{root}/n")]
    assert b.events == []


# ---------------------------------------------------------------- setWatches after a reconnect


def test_set_watches_replays_missed_events(server, root, make_client):
    a = make_client.raw(session_timeout_ms=10000)
    b = make_client.raw()
    for name in ("d", "e", "c", "m", "g"):
        a.create(f"{root}/{name}")
    a.get_data(f"{root}/d", True)
    a.get_data(f"{root}/g", True)
    a.get_data(f"{root}/m", True)
    a.get_children(f"{root}/c", True)
    a.exists(f"{root}/new", True)
    rel = a.last_zxid
    sid, pw = a.session_id, a.passwd
    a.close_socket()  # connection lost, session kept
    b.set_data(f"{root}/d", b"x")
    b.delete(f"{root}/g")
    b.create(f"{root}/c/k")
    b.create(f"{root}/new")
    a2 = make_client.raw(session_timeout_ms=10000, session_id=sid, passwd=pw, last_zxid=b.last_zxid)
    assert a2.session_id == sid
    reply = a2.set_watches(rel, data=[f"{root}/d", f"{root}/g", f"{root}/m"],
                           exist=[f"{root}/new", f"{root}/absent"], child=[f"{root}/c"])
    assert reply.xid == -8 and reply.err == 0
    a2.ping()
    # replayed in the order: data watches, exist watches, child watches (each in the order given)
    assert [(e.type, e.path) for e in a2.events] == [
        (EventType.NODE_DATA_CHANGED, f"{root}/d"),
        (EventType.NODE_DELETED, f"{root}/g"),
        (EventType.NODE_CREATED, f"{root}/new"),
        (EventType.NODE_CHILDREN_CHANGED, f"{root}/c"),
    ]
    a2.events.clear()
    # the unchanged ones are registered again
    b.set_data(f"{root}/m", b"m")
    b.create(f"{root}/absent")
    a2.ping()
    assert [(e.type, e.path) for e in a2.events] == [
        (EventType.NODE_DATA_CHANGED, f"{root}/m"),
        (EventType.NODE_CREATED, f"{root}/absent"),
    ]


def test_set_watches_exist_on_existing_node_fires_created(raw, root):
    # an exist watch is for a node the client saw missing: if it exists now, NodeCreated is sent at once
    a = raw()
    a.create(f"{root}/n")
    a.set_watches(a.last_zxid, exist=[f"{root}/n"])
    a.ping()
    assert [(e.type, e.path) for e in a.events] == [(EventType.NODE_CREATED, f"{root}/n")]


def test_set_watches_relative_zxid(raw, root):
    a, b = raw(), raw()
    a.create(f"{root}/m")
    b.set_data(f"{root}/m", b"1")
    a.set_watches(b.last_zxid, data=[f"{root}/m"])  # not changed since: registered, no event
    a.ping()
    assert a.events == []
    a.set_watches(0, data=[f"{root}/m"])  # changed since zxid 0: fires at once
    a.ping()
    assert [(e.type, e.path) for e in a.events] == [(EventType.NODE_DATA_CHANGED, f"{root}/m")]


def test_set_watches2_registers_persistent_watches(raw, root):
    a, b = raw(), raw()
    a.create(f"{root}/d")
    a.create(f"{root}/c")
    reply = a.set_watches2(b.last_zxid or a.last_zxid, persistent=[f"{root}/d"],
                           persistent_recursive=[f"{root}/c"])
    assert reply.err == 0
    b.set_data(f"{root}/d", b"1")
    b.set_data(f"{root}/d", b"2")
    b.create(f"{root}/c/k")
    b.create(f"{root}/c/k/l")
    a.ping()
    assert [(e.type, e.path) for e in a.events] == [
        (EventType.NODE_DATA_CHANGED, f"{root}/d"),
        (EventType.NODE_DATA_CHANGED, f"{root}/d"),
        (EventType.NODE_CREATED, f"{root}/c/k"),
        (EventType.NODE_CREATED, f"{root}/c/k/l"),
    ]
