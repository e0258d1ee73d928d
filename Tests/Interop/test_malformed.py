"""Malformed input: garbage, bad frame lengths, frames over jute.maxbuffer, unknown opcodes and truncated
bodies. What ZooKeeper 3.8 does, exactly:
- any bad frame length (negative, zero, > 0xfffff), before or after the handshake: connection closed, no reply;
- a frame of exactly 0xfffff bytes is accepted;
- an unknown opcode: a reply {xid, zxid=-1, err=-6 Unimplemented}, then the connection is closed; the
  session survives;
- a known opcode whose body cannot be decoded: err -5 (MarshallingError) with the request's xid; the
  connection stays open.
Other clients are never disturbed, and the server keeps running."""

import socket
import struct
import threading
import time

import pytest
from kazoo.exceptions import ConnectionLoss

from helpers import Recorder, wait_until
from zkraw import (
    ConnectionClosed,
    Err,
    Op,
    RawSession,
    WORLD_ANYONE,
    Writer,
    frame,
    read_until_closed,
)

MAX_FRAME = 0xFFFFF


@pytest.fixture
def bystander(make_client, root):
    """A kazoo client with a pending watch; at the end it must be connected on the same session and the
    watch must still work."""
    zk = make_client.kazoo()
    session = zk.client_id
    zk.create(f"{root}/watched", b"0")
    rec = Recorder()
    zk.get(f"{root}/watched", watch=rec)
    yield zk
    assert zk.connected and zk.client_id == session
    other = make_client.kazoo()
    other.set(f"{root}/watched", b"1")
    assert rec.wait_for(1, timeout=10)[0].path == f"{root}/watched"


GARBAGE_FIRST = {
    "text": b"hello world, this is not zookeeper\n",
    "framed-garbage-connect": b"\x00\x00\x00\x03\x01\x02\x03",
    "huge-length": struct.pack(">i", 0x7FFFFFFF),
    "negative-length": struct.pack(">i", -5),
    "zero-length": struct.pack(">i", 0),
    "maxbuffer-plus-one": struct.pack(">i", MAX_FRAME + 1) + b"x" * 100,
    "http": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
}


@pytest.mark.parametrize("payload", list(GARBAGE_FIRST.values()), ids=list(GARBAGE_FIRST))
def test_garbage_instead_of_handshake_is_closed(make_client, bystander, payload):
    s = make_client.raw_socket()
    s.send_raw(payload)
    assert read_until_closed(s.sock, timeout=5) == b""


BAD_FRAMES = {
    "huge-length": struct.pack(">i", 0x7FFFFFFF),
    "maxbuffer-plus-one": struct.pack(">i", MAX_FRAME + 1),
    "negative-length": struct.pack(">i", -1),
    "zero-length": struct.pack(">i", 0),
    "shorter-than-header": frame(b"\x00\x00"),
    "four-letter-word-after-handshake": b"ruok",
}


@pytest.mark.parametrize("payload", list(BAD_FRAMES.values()), ids=list(BAD_FRAMES))
def test_bad_frame_after_handshake_closes_connection_not_session(make_client, bystander, root, payload):
    s = make_client.raw(session_timeout_ms=10000)
    s.create(f"{root}/e", flags=1)
    s.send_raw(payload)
    assert read_until_closed(s.sock, timeout=5) == b""
    again = make_client.raw(session_timeout_ms=10000, session_id=s.session_id, passwd=s.passwd,
                            last_zxid=s.last_zxid)
    assert again.session_id == s.session_id
    assert again.exists(f"{root}/e").ephemeralOwner == s.session_id


def test_frame_of_exactly_maxbuffer_is_accepted(make_client, root):
    s = make_client.raw()

    def create_payload(path, n):
        return (Writer().int(1).int(Op.CREATE).bytes()
                + Writer().string(path).buffer(b"x" * n).acls(WORLD_ANYONE).int(0).bytes())

    n = MAX_FRAME - len(create_payload(f"{root}/big", 0))
    payload = create_payload(f"{root}/big", n)
    assert len(payload) == MAX_FRAME
    s.send_raw(frame(payload))
    reply = s.receive(timeout=30)
    assert (reply.xid, reply.err) == (1, 0)
    assert s.exists(f"{root}/big").dataLength == n
    s.delete(f"{root}/big")

    t = make_client.raw()
    t.send_raw(frame(create_payload(f"{root}/big2", n + 1)))
    assert read_until_closed(t.sock, timeout=10) == b""
    assert s.exists(f"{root}/big2") is None


def test_kazoo_sees_connection_loss_for_an_oversized_request(make_client, root):
    zk = make_client.kazoo()
    session = zk.client_id
    with pytest.raises(ConnectionLoss):
        zk.create(f"{root}/too-big", b"x" * (1 << 20))
    wait_until(lambda: zk.connected, timeout=15, what="kazoo reconnect")
    assert zk.client_id == session
    assert zk.exists(f"{root}/too-big") is None


@pytest.mark.parametrize("opcode", [999, 0, 50, -3])
def test_unknown_opcode_gets_unimplemented_then_close(make_client, bystander, root, opcode):
    s = make_client.raw(session_timeout_ms=10000)
    s.create(f"{root}/e", flags=1)
    xid = s.send(opcode, b"\x00\x00\x00\x01/")
    reply = s.receive(timeout=5)
    assert (reply.xid, reply.zxid, reply.err, reply.body) == (xid, -1, Err.UNIMPLEMENTED, b"")
    assert read_until_closed(s.sock, timeout=5) == b""
    # the session survives
    again = make_client.raw(session_timeout_ms=10000, session_id=s.session_id, passwd=s.passwd,
                            last_zxid=s.last_zxid)
    assert again.exists(f"{root}/e").ephemeralOwner == s.session_id


TRUNCATED = {
    "getData": (Op.GET_DATA, b"\x00\x00"),
    "create": (Op.CREATE, b"\x00\x00\x00\x02/a"),
    "setData-bad-string-length": (Op.SET_DATA, b"\x7f\xff\xff\xff"),
    "exists-empty": (Op.EXISTS, b""),
    "multi-empty": (Op.MULTI, b""),
    "getChildren2-no-watch-flag": (Op.GET_CHILDREN2, Writer().string("/").bytes()),
}


@pytest.mark.parametrize("op, body", list(TRUNCATED.values()), ids=list(TRUNCATED))
def test_undecodable_body_is_marshalling_error(make_client, bystander, root, op, body):
    s = make_client.raw()
    xid = s.send(op, body)
    reply = s.receive(timeout=5)
    assert (reply.xid, reply.err, reply.body) == (xid, Err.MARSHALLING_ERROR, b"")
    assert reply.zxid > 0
    assert s.exists(root) is not None  # the connection stays open and usable


def test_truncated_set_watches_is_marshalling_error(make_client):
    s = make_client.raw()
    reply = s.call_raw(Op.SET_WATCHES, Writer().long(0).bytes(), xid=-8)
    assert (reply.xid, reply.err) == (-8, Err.MARSHALLING_ERROR)
    assert s.exists("/") is not None


def test_trailing_bytes_after_a_request_are_ignored(make_client, root):
    s = make_client.raw()
    s.create(f"{root}/n", b"v")
    reply = s.call_raw(Op.GET_DATA, Writer().string(f"{root}/n").bool(False).bytes() + b"extra")
    assert reply.err == 0 and reply.reader().buffer() == b"v"


def test_stalled_half_frame_does_not_block_others(make_client, bystander, root):
    s = make_client.raw()
    s.send_raw(b"\x00\x00")  # half a length prefix, then silence
    t = make_client.raw_socket()
    t.send_raw(struct.pack(">i", 1000) + b"\x00" * 10)  # a partial handshake, then silence
    for i in range(20):
        bystander.create(f"{root}/n{i}")
    assert len(bystander.get_children(root)) == 21


def test_garbage_storm(make_client, bystander, server):
    payloads = list(GARBAGE_FIRST.values()) + list(BAD_FRAMES.values())

    def storm(k):
        for i in range(8):
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=5) as c:
                    c.sendall(payloads[(k + i) % len(payloads)])
                    read_until_closed(c, timeout=5)
            except OSError:
                pass

    threads = [threading.Thread(target=storm, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert server.four_letter_word("ruok") == "imok"
