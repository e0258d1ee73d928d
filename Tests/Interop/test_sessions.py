"""Sessions: the handshake (with and without the readOnly byte, timeouts clamped, reattach, wrong password),
closeSession, expiry of a silent session with its ephemerals and watches, pings keeping a session alive."""

import socket
import time

import pytest

from helpers import Recorder, wait_until
from kazoo.exceptions import ConnectionLoss
from kazoo.protocol.states import EventType as KEventType

from zkraw import (
    ConnectionClosed,
    CreateFlags,
    EventType,
    Op,
    RawSession,
    read_until_closed,
)
from zkserver import HOST, MAX_SESSION_TIMEOUT_MS, MIN_SESSION_TIMEOUT_MS


def test_handshake_with_and_without_read_only_byte(server, make_client):
    with_ro = make_client.raw(read_only=False)
    assert with_ro.connect_response_len == 37 and with_ro.read_only is False
    without = make_client.raw(read_only=None)  # an old client: no readOnly byte
    assert without.connect_response_len == 36 and without.read_only is None
    for s in (with_ro, without):
        assert s.protocol_version == 0
        assert s.session_id != 0 and len(s.passwd) == 16
        assert s.exists("/") is not None
    assert with_ro.session_id != without.session_id


@pytest.mark.parametrize("asked, granted", [
    (100, MIN_SESSION_TIMEOUT_MS), (0, MIN_SESSION_TIMEOUT_MS), (-5, MIN_SESSION_TIMEOUT_MS),
    (1000, 1000), (10**6, MAX_SESSION_TIMEOUT_MS),
])
def test_session_timeout_is_clamped(make_client, asked, granted):
    assert make_client.raw(session_timeout_ms=asked).negotiated_timeout == granted


def test_reattach_session_moves_the_connection(make_client, root):
    a = make_client.raw()
    a.create(f"{root}/e", flags=CreateFlags.EPHEMERAL)
    b = make_client.raw(session_id=a.session_id, passwd=a.passwd)
    assert (b.session_id, b.passwd, b.negotiated_timeout) == (a.session_id, a.passwd, a.negotiated_timeout)
    assert read_until_closed(a.sock, timeout=5) == b""  # the server closes the old connection
    assert b.exists(f"{root}/e").ephemeralOwner == a.session_id


@pytest.mark.parametrize("read_only", [False, None], ids=["with-ro-byte", "without-ro-byte"])
def test_wrong_password_is_rejected(make_client, root, read_only):
    a = make_client.raw()
    a.create(f"{root}/e", flags=CreateFlags.EPHEMERAL)
    bad = make_client.raw_socket()
    bad.handshake(10000, a.session_id, bytes(16), read_only=read_only)
    assert (bad.negotiated_timeout, bad.session_id, bad.passwd) == (0, 0, bytes(16))
    assert bad.connect_response_len == (37 if read_only is not None else 36)
    assert read_until_closed(bad.sock, timeout=5) == b""
    # The session itself is untouched. (What happens to the owner's connection, which ZooKeeper closes and
    # zooreg does not: test_wrong_password_and_the_owners_connection.)
    b = make_client.raw(session_id=a.session_id, passwd=a.passwd, last_zxid=a.last_zxid)
    assert b.session_id == a.session_id
    assert b.exists(f"{root}/e").ephemeralOwner == a.session_id


def test_wrong_password_and_the_owners_connection(impl, make_client, root):
    """What a wrong-password reattach does to the real owner. Both servers answer it alike (timeOut 0, session 0,
    16 zero bytes, then close) and keep the session, its ephemerals and its password. ZooKeeper (3.8 and still
    today: ZooKeeperServer.processConnectRequest calls serverCnxnFactory.closeSession(sessionId) before
    reopenSession checks the password) first closes the session's current connection, so anyone who knows a
    session id can knock its owner off, again and again. zooreg closes nothing of the owner's: its connection,
    watches and pending work carry on."""
    owner = make_client.raw()
    other = make_client.raw()
    owner.create(f"{root}/e", flags=CreateFlags.EPHEMERAL)
    assert owner.exists(f"{root}/x", watch=True) is None
    bad = make_client.raw_socket()
    bad.handshake(10000, owner.session_id, bytes(b ^ 0xFF for b in owner.passwd))
    assert (bad.negotiated_timeout, bad.session_id, bad.passwd) == (0, 0, bytes(16))
    assert read_until_closed(bad.sock, timeout=5) == b""
    if impl.startswith("zookeeper"):
        assert read_until_closed(owner.sock, timeout=5) == b""  # the owner's connection is gone
        owner = make_client.raw(session_id=owner.session_id, passwd=owner.passwd, last_zxid=owner.last_zxid)
        assert owner.exists(f"{root}/x", watch=True) is None  # its watch went with the connection
    else:
        assert owner.ping().err == 0  # the owner's connection is untouched, and so is its watch
    other.create(f"{root}/x")
    event = owner.wait_event(timeout=5)
    assert (event.type, event.path) == (EventType.NODE_CREATED, f"{root}/x")
    assert other.exists(f"{root}/e").ephemeralOwner == owner.session_id


def test_unknown_session_is_rejected(make_client):
    bad = make_client.raw_socket()
    bad.handshake(10000, 0x0123456789, b"\x01" * 16)
    assert (bad.negotiated_timeout, bad.session_id, bad.passwd) == (0, 0, bytes(16))
    assert read_until_closed(bad.sock, timeout=5) == b""


def test_client_ahead_of_server_is_refused(make_client):
    s = make_client.raw_socket()
    with pytest.raises(ConnectionClosed):
        s.handshake(10000, last_zxid=1 << 40)


def test_ping(make_client):
    s = make_client.raw()
    reply = s.ping()
    assert (reply.xid, reply.err, reply.body) == (-2, 0, b"")


def test_xids_are_echoed(make_client):
    s = make_client.raw()
    for xid in (0, 5, -77, 2**31 - 1):
        reply = s.call_raw(Op.EXISTS, b"\x00\x00\x00\x01/\x00", xid=xid)
        assert (reply.xid, reply.err) == (xid, 0)


def test_close_session_removes_ephemerals_at_once(make_client, root):
    owner = make_client.raw()
    watcher = make_client.raw()
    owner.create(f"{root}/e1", flags=CreateFlags.EPHEMERAL)
    owner.create(f"{root}/e2", flags=CreateFlags.EPHEMERAL_SEQUENTIAL)
    watcher.exists(f"{root}/e1", watch=True)
    reply = owner.call_raw(Op.CLOSE_SESSION)
    assert reply.err == 0
    assert read_until_closed(owner.sock, timeout=5) == b""
    assert watcher.get_children(root) == []  # gone as soon as closeSession was answered
    assert (watcher.events[0].type, watcher.events[0].path) == (EventType.NODE_DELETED, f"{root}/e1")
    # the closed session cannot be resumed
    again = make_client.raw_socket()
    again.handshake(10000, owner.session_id, owner.passwd)
    assert again.negotiated_timeout == 0 and again.session_id == 0


def test_kazoo_stop_removes_ephemerals(make_client, root):
    a = make_client.kazoo()
    b = make_client.kazoo()
    a.create(f"{root}/e", ephemeral=True)
    rec = Recorder()
    b.exists(f"{root}/e", watch=rec)
    a.stop()
    assert b.exists(f"{root}/e") is None
    assert rec.wait_for(1, timeout=5)[0].type == KEventType.DELETED


def test_session_expiry_removes_ephemerals_and_fires_watches(server, make_client, root):
    timeout_ms = 1000
    owner = make_client.raw(session_timeout_ms=timeout_ms)
    assert owner.negotiated_timeout == timeout_ms
    for i in range(3):
        owner.create(f"{root}/e{i}", flags=CreateFlags.EPHEMERAL)
    owner.create(f"{root}/p")
    watcher = make_client.raw()
    watcher.get_children(root, watch=True)
    watcher.exists(f"{root}/e0", watch=True)
    owner.close_socket()  # silent: no closeSession
    gone = time.monotonic()
    ev = watcher.wait_event(lambda e: e.path == f"{root}/e0", timeout=10)
    elapsed = time.monotonic() - gone
    assert ev.type == EventType.NODE_DELETED
    # expiry within about one tick of the timeout (plus scheduling slack), and never early
    assert timeout_ms / 1000 - 0.2 <= elapsed <= timeout_ms / 1000 + 2 * server.tick_ms / 1000 + 1.5, elapsed
    # all ephemerals went in one transaction
    assert sorted(watcher.get_children(root)) == ["p"]
    watcher.ping()
    kinds = sorted((e.type, e.path) for e in watcher.events)
    assert kinds == [(EventType.NODE_CHILDREN_CHANGED, root)]
    # the expired session cannot be resumed
    again = make_client.raw_socket()
    again.handshake(10000, owner.session_id, owner.passwd)
    assert again.negotiated_timeout == 0 and again.session_id == 0


def test_pings_keep_a_session_alive(make_client, root):
    s = make_client.raw(session_timeout_ms=1200)
    s.create(f"{root}/e", flags=CreateFlags.EPHEMERAL)
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        time.sleep(0.2)
        s.ping()
    other = make_client.raw()
    assert other.exists(f"{root}/e") is not None
    assert s.exists(f"{root}/e").ephemeralOwner == s.session_id


def test_session_resumed_on_new_connection_before_expiry(make_client, root):
    a = make_client.raw(session_timeout_ms=4000)
    a.create(f"{root}/e", flags=CreateFlags.EPHEMERAL)
    a.close_socket()
    time.sleep(2.0)
    b = make_client.raw(session_timeout_ms=4000, session_id=a.session_id, passwd=a.passwd, last_zxid=a.last_zxid)
    assert b.session_id == a.session_id
    time.sleep(2.5)  # past the first connection's deadline: the reconnect touched the session
    assert b.exists(f"{root}/e") is not None


def test_kazoo_session_survives_connection_loss(make_client, root):
    zk = make_client.kazoo()
    zk.create(f"{root}/e", ephemeral=True)
    session_id = zk.client_id[0]
    zk._connection._socket.shutdown(socket.SHUT_RDWR)  # drop the TCP connection under kazoo's feet
    def reconnected():
        try:
            return zk.connected and zk.exists(f"{root}/e") is not None
        except ConnectionLoss:
            return False

    wait_until(reconnected, timeout=15, what="reconnect")
    assert zk.client_id[0] == session_id
    assert zk.exists(f"{root}/e").ephemeralOwner == session_id


def test_get_ephemerals_and_all_children_number(make_client, root):
    a = make_client.raw()
    other = make_client.raw()
    a.create(f"{root}/x")
    a.create(f"{root}/x/e1", flags=CreateFlags.EPHEMERAL)
    a.create(f"{root}/x/y")
    a.create(f"{root}/x/y/e2", flags=CreateFlags.EPHEMERAL)
    a.create(f"{root}/z-e3", flags=CreateFlags.EPHEMERAL)
    other.create(f"{root}/x/other", flags=CreateFlags.EPHEMERAL)
    assert sorted(a.get_ephemerals(root)) == sorted([f"{root}/x/e1", f"{root}/x/y/e2", f"{root}/z-e3"])
    assert sorted(a.get_ephemerals(f"{root}/x")) == [f"{root}/x/e1", f"{root}/x/y/e2"]
    assert a.get_ephemerals(f"{root}/nothing") == []
    assert other.get_ephemerals(root) == [f"{root}/x/other"]
    # getAllChildrenNumber counts every descendant, not the node itself
    assert a.get_all_children_number(root) == 6
    assert a.get_all_children_number(f"{root}/x/y") == 1
    assert a.get_all_children_number(f"{root}/x/y/e2") == 0
    from zkraw import ZKError, Err
    with pytest.raises(ZKError) as e:
        a.get_all_children_number(f"{root}/nothing")
    assert e.value.code == Err.NO_NODE
