"""A small, strict ZooKeeper wire-protocol client for the interop tests.

kazoo 2.11 does not speak every opcode (createContainer, createTTL, addWatch, whoAmI, getEphemerals,
getAllChildrenNumber, checkWatches/removeWatches, multiRead, setWatches2), and it hides the exact order of
frames on the wire. This client sends requests one frame at a time and records every frame it receives,
in order, so tests can assert what the server really sent.

Written for this project from the protocol description in zookeeper.jute; no code copied.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

# ---------------------------------------------------------------- constants

class Op:
    NOTIFICATION = 0
    CREATE = 1
    DELETE = 2
    EXISTS = 3
    GET_DATA = 4
    SET_DATA = 5
    GET_ACL = 6
    SET_ACL = 7
    GET_CHILDREN = 8
    SYNC = 9
    PING = 11
    GET_CHILDREN2 = 12
    CHECK = 13
    MULTI = 14
    CREATE2 = 15
    RECONFIG = 16
    CHECK_WATCHES = 17
    REMOVE_WATCHES = 18
    CREATE_CONTAINER = 19
    DELETE_CONTAINER = 20
    CREATE_TTL = 21
    MULTI_READ = 22
    AUTH = 100
    SET_WATCHES = 101
    SASL = 102
    GET_EPHEMERALS = 103
    GET_ALL_CHILDREN_NUMBER = 104
    SET_WATCHES2 = 105
    ADD_WATCH = 106
    WHO_AM_I = 107
    CREATE_SESSION = -10
    CLOSE_SESSION = -11
    ERROR = -1


class Err:
    OK = 0
    SYSTEM_ERROR = -1
    RUNTIME_INCONSISTENCY = -2
    DATA_INCONSISTENCY = -3
    CONNECTION_LOSS = -4
    MARSHALLING_ERROR = -5
    UNIMPLEMENTED = -6
    OPERATION_TIMEOUT = -7
    BAD_ARGUMENTS = -8
    UNKNOWN_SESSION = -12
    API_ERROR = -100
    NO_NODE = -101
    NO_AUTH = -102
    BAD_VERSION = -103
    NO_CHILDREN_FOR_EPHEMERALS = -108
    NODE_EXISTS = -110
    NOT_EMPTY = -111
    SESSION_EXPIRED = -112
    INVALID_CALLBACK = -113
    INVALID_ACL = -114
    AUTH_FAILED = -115
    SESSION_MOVED = -118
    NOT_READ_ONLY = -119
    EPHEMERAL_ON_LOCAL_SESSION = -120
    NO_WATCHER = -121


class EventType:
    NONE = -1
    NODE_CREATED = 1
    NODE_DELETED = 2
    NODE_DATA_CHANGED = 3
    NODE_CHILDREN_CHANGED = 4
    DATA_WATCH_REMOVED = 5
    CHILD_WATCH_REMOVED = 6
    PERSISTENT_WATCH_REMOVED = 7


class KeeperState:
    DISCONNECTED = 0
    SYNC_CONNECTED = 3
    AUTH_FAILED = 4
    CONNECTED_READ_ONLY = 5
    CLOSED = 7
    EXPIRED = -112


class WatcherType:
    CHILDREN = 1
    DATA = 2
    ANY = 3
    PERSISTENT = 4
    PERSISTENT_RECURSIVE = 5


class AddWatchMode:
    PERSISTENT = 0
    PERSISTENT_RECURSIVE = 1


class CreateFlags:
    PERSISTENT = 0
    EPHEMERAL = 1
    PERSISTENT_SEQUENTIAL = 2
    EPHEMERAL_SEQUENTIAL = 3
    CONTAINER = 4
    PERSISTENT_WITH_TTL = 5
    PERSISTENT_SEQUENTIAL_WITH_TTL = 6


class Perm:
    READ = 1
    WRITE = 2
    CREATE = 4
    DELETE = 8
    ADMIN = 16
    ALL = 31


NOTIFICATION_XID = -1
PING_XID = -2
AUTH_XID = -4
SET_WATCHES_XID = -8

WORLD_ANYONE = [(Perm.ALL, "world", "anyone")]

# ---------------------------------------------------------------- jute encoding


class Writer:
    def __init__(self) -> None:
        self.buf = bytearray()

    def int(self, v: int) -> "Writer":
        self.buf += struct.pack(">i", v)
        return self

    def long(self, v: int) -> "Writer":
        self.buf += struct.pack(">q", v)
        return self

    def bool(self, v: bool) -> "Writer":
        self.buf += b"\x01" if v else b"\x00"
        return self

    def buffer(self, v: Optional[bytes]) -> "Writer":
        if v is None:
            return self.int(-1)
        self.int(len(v))
        self.buf += v
        return self

    def string(self, v: Optional[str]) -> "Writer":
        return self.buffer(None if v is None else v.encode("utf-8"))

    def strings(self, vs: Optional[Iterable[str]]) -> "Writer":
        if vs is None:
            return self.int(-1)
        vs = list(vs)
        self.int(len(vs))
        for v in vs:
            self.string(v)
        return self

    def acls(self, acls: Optional[Iterable[tuple]]) -> "Writer":
        if acls is None:
            return self.int(-1)
        acls = list(acls)
        self.int(len(acls))
        for perms, scheme, ident in acls:
            self.int(perms).string(scheme).string(ident)
        return self

    def raw(self, b: bytes) -> "Writer":
        self.buf += b
        return self

    def bytes(self) -> bytes:
        return bytes(self.buf)


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"short read: want {n} at {self.pos} of {len(self.data)}")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def int(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def long(self) -> int:
        return struct.unpack(">q", self._take(8))[0]

    def bool(self) -> bool:
        return self._take(1) != b"\x00"

    def buffer(self) -> Optional[bytes]:
        n = self.int()
        if n < 0:
            return None
        return self._take(n)

    def string(self) -> Optional[str]:
        b = self.buffer()
        return None if b is None else b.decode("utf-8")

    def strings(self) -> Optional[list]:
        n = self.int()
        if n < 0:
            return None
        return [self.string() for _ in range(n)]

    def acls(self) -> Optional[list]:
        n = self.int()
        if n < 0:
            return None
        return [(self.int(), self.string(), self.string()) for _ in range(n)]

    def stat(self) -> "Stat":
        return Stat(
            czxid=self.long(), mzxid=self.long(), ctime=self.long(), mtime=self.long(),
            version=self.int(), cversion=self.int(), aversion=self.int(),
            ephemeralOwner=self.long(), dataLength=self.int(), numChildren=self.int(),
            pzxid=self.long(),
        )

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def done(self) -> bool:
        return self.pos == len(self.data)


@dataclass(frozen=True)
class Stat:
    czxid: int
    mzxid: int
    ctime: int
    mtime: int
    version: int
    cversion: int
    aversion: int
    ephemeralOwner: int
    dataLength: int
    numChildren: int
    pzxid: int


# ---------------------------------------------------------------- received frames


@dataclass
class Reply:
    xid: int
    zxid: int
    err: int
    body: bytes

    def reader(self) -> Reader:
        return Reader(self.body)


@dataclass
class Event:
    type: int
    state: int
    path: str
    zxid: int


class ZKError(Exception):
    def __init__(self, code: int, op: int = 0) -> None:
        super().__init__(f"ZooKeeper error {code} (op {op})")
        self.code = code
        self.op = op


class ConnectionClosed(Exception):
    pass


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    out = bytearray()
    while len(out) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out reading {n} bytes (got {len(out)})")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(n - len(out))
        except ConnectionResetError as e:
            raise ConnectionClosed("connection reset") from e
        if not chunk:
            raise ConnectionClosed(f"EOF after {len(out)} of {n} bytes")
        out += chunk
    return bytes(out)


def read_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Reads everything until the peer closes (EOF or reset). Raises TimeoutError if it stays open."""
    deadline = time.monotonic() + timeout
    out = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"peer did not close within {timeout}s; got {bytes(out)!r}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return bytes(out)
        except socket.timeout:
            continue
        if not chunk:
            return bytes(out)
        out += chunk


def four_letter_word(host: str, port: int, word: str, timeout: float = 5.0) -> str:
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(word.encode("ascii"))
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return read_until_closed(s, timeout).decode("utf-8", "replace")


# ---------------------------------------------------------------- multi ops


def op_create(path: str, data: bytes = b"", acl=WORLD_ANYONE, flags: int = 0) -> tuple:
    return (Op.CREATE, Writer().string(path).buffer(data).acls(acl).int(flags).bytes())


def op_create2(path: str, data: bytes = b"", acl=WORLD_ANYONE, flags: int = 0) -> tuple:
    return (Op.CREATE2, Writer().string(path).buffer(data).acls(acl).int(flags).bytes())


def op_delete(path: str, version: int = -1) -> tuple:
    return (Op.DELETE, Writer().string(path).int(version).bytes())


def op_set_data(path: str, data: bytes, version: int = -1) -> tuple:
    return (Op.SET_DATA, Writer().string(path).buffer(data).int(version).bytes())


def op_check(path: str, version: int) -> tuple:
    return (Op.CHECK, Writer().string(path).int(version).bytes())


def op_get_data(path: str) -> tuple:
    return (Op.GET_DATA, Writer().string(path).bool(False).bytes())


def op_get_children(path: str) -> tuple:
    return (Op.GET_CHILDREN, Writer().string(path).bool(False).bytes())


@dataclass
class MultiResult:
    type: int
    err: int = 0
    path: Optional[str] = None
    stat: Optional[Stat] = None
    data: Optional[bytes] = None
    children: Optional[list] = None


# ---------------------------------------------------------------- the session


@dataclass
class RawSession:
    """One TCP connection and (after handshake) one ZooKeeper session."""

    host: str
    port: int
    sock: socket.socket
    timeout: float = 10.0  # seconds, per blocking call
    session_id: int = 0
    passwd: bytes = b"\x00" * 16
    negotiated_timeout: int = 0
    protocol_version: int = 0
    read_only: Optional[bool] = None
    connect_response_len: int = 0
    last_zxid: int = 0
    events: list = field(default_factory=list)
    xid: int = 0
    _last_send: float = 0.0

    # -- construction

    @classmethod
    def open_socket(cls, host: str, port: int, timeout: float = 10.0) -> "RawSession":
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(host=host, port=port, sock=sock, timeout=timeout)

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        session_timeout_ms: int = 10000,
        session_id: int = 0,
        passwd: bytes = b"\x00" * 16,
        last_zxid: int = 0,
        read_only: Optional[bool] = False,
        timeout: float = 10.0,
    ) -> "RawSession":
        s = cls.open_socket(host, port, timeout)
        try:
            s.handshake(session_timeout_ms, session_id, passwd, last_zxid, read_only)
        except BaseException:
            s.sock.close()
            raise
        return s

    def handshake(self, session_timeout_ms: int = 10000, session_id: int = 0, passwd: bytes = b"\x00" * 16,
                  last_zxid: int = 0, read_only: Optional[bool] = False) -> None:
        w = Writer().int(0).long(last_zxid).int(session_timeout_ms).long(session_id).buffer(passwd)
        if read_only is not None:
            w.bool(read_only)
        self.send_raw(frame(w.bytes()))
        body = self.read_frame()
        self.connect_response_len = len(body)
        r = Reader(body)
        self.protocol_version = r.int()
        self.negotiated_timeout = r.int()
        self.session_id = r.long()
        self.passwd = r.buffer() or b""
        self.read_only = r.bool() if r.remaining() >= 1 else None
        self.last_zxid = last_zxid

    # -- I/O

    def send_raw(self, data: bytes) -> None:
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)
        self._last_send = time.monotonic()

    def read_frame(self, timeout: Optional[float] = None) -> bytes:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        (n,) = struct.unpack(">i", recv_exact(self.sock, 4, deadline))
        if n < 0 or n > 16 * 1024 * 1024:
            raise ValueError(f"bad frame length {n}")
        return recv_exact(self.sock, n, deadline)

    def next_xid(self) -> int:
        self.xid += 1
        return self.xid

    def send(self, op: int, body: bytes = b"", xid: Optional[int] = None) -> int:
        if xid is None:
            xid = self.next_xid()
        self.send_raw(frame(Writer().int(xid).int(op).bytes() + body))
        return xid

    def receive(self, timeout: Optional[float] = None):
        """Reads one frame: a Reply, or an Event (which is also appended to self.events)."""
        body = self.read_frame(timeout)
        r = Reader(body)
        xid, zxid, err = r.int(), r.long(), r.int()
        if zxid > 0 and xid != NOTIFICATION_XID:
            self.last_zxid = max(self.last_zxid, zxid)
        if xid == NOTIFICATION_XID:
            ev = Event(type=r.int(), state=r.int(), path=r.string(), zxid=zxid)
            self.events.append(ev)
            return ev
        return Reply(xid=xid, zxid=zxid, err=err, body=body[16:])

    def call_raw(self, op: int, body: bytes = b"", xid: Optional[int] = None) -> Reply:
        """Sends one request and returns its reply. Events that arrive first are recorded in self.events."""
        xid = self.send(op, body, xid)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self.receive(max(0.01, deadline - time.monotonic()))
            if isinstance(msg, Reply):
                if msg.xid == PING_XID and xid != PING_XID:
                    continue
                if msg.xid != xid:
                    raise AssertionError(f"reply xid {msg.xid} != request xid {xid}")
                return msg

    def call(self, op: int, body: bytes = b"", xid: Optional[int] = None) -> Reader:
        reply = self.call_raw(op, body, xid)
        if reply.err != 0:
            raise ZKError(reply.err, op)
        return reply.reader()

    def ping(self) -> Reply:
        return self.call_raw(Op.PING, b"", xid=PING_XID)

    def wait_event(self, pred: Callable[[Event], bool] = lambda e: True, timeout: float = 10.0) -> Event:
        """Waits for a notification matching pred (already-received ones count), pinging meanwhile."""
        for ev in self.events:
            if pred(ev):
                self.events.remove(ev)
                return ev
        deadline = time.monotonic() + timeout
        ping_every = max(0.1, (self.negotiated_timeout or 3000) / 3000.0)
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise TimeoutError(f"no matching event within {timeout}s; have {self.events}")
            if now - self._last_send >= ping_every:
                self.send(Op.PING, b"", xid=PING_XID)
            slice_ = min(deadline - now, ping_every)
            try:
                msg = self.receive(slice_)
            except TimeoutError:
                continue
            if isinstance(msg, Event) and pred(msg):
                self.events.remove(msg)
                return msg

    def close_socket(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self) -> None:
        """closeSession, wait (bounded) until the server has closed the connection, then close the socket."""
        try:
            self.call_raw(Op.CLOSE_SESSION)
            read_until_closed(self.sock, timeout=2.0)
        except (ConnectionClosed, TimeoutError, OSError):
            pass
        self.close_socket()

    def __enter__(self) -> "RawSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- operations

    def create(self, path: str, data: bytes = b"", acl=WORLD_ANYONE, flags: int = 0) -> str:
        return self.call(*op_create(path, data, acl, flags)).string()

    def create2(self, path: str, data: bytes = b"", acl=WORLD_ANYONE, flags: int = 0) -> tuple:
        r = self.call(*op_create2(path, data, acl, flags))
        return r.string(), r.stat()

    def create_container(self, path: str, data: bytes = b"", acl=WORLD_ANYONE) -> tuple:
        r = self.call(Op.CREATE_CONTAINER,
                      Writer().string(path).buffer(data).acls(acl).int(CreateFlags.CONTAINER).bytes())
        return r.string(), r.stat()

    def create_ttl(self, path: str, data: bytes = b"", ttl_ms: int = 1000, acl=WORLD_ANYONE,
                   flags: int = CreateFlags.PERSISTENT_WITH_TTL) -> tuple:
        r = self.call(Op.CREATE_TTL,
                      Writer().string(path).buffer(data).acls(acl).int(flags).long(ttl_ms).bytes())
        return r.string(), r.stat()

    def delete(self, path: str, version: int = -1) -> None:
        self.call(*op_delete(path, version))

    def exists(self, path: str, watch: bool = False) -> Optional[Stat]:
        reply = self.call_raw(Op.EXISTS, Writer().string(path).bool(watch).bytes())
        if reply.err == Err.NO_NODE:
            return None
        if reply.err != 0:
            raise ZKError(reply.err, Op.EXISTS)
        return reply.reader().stat()

    def get_data(self, path: str, watch: bool = False) -> tuple:
        r = self.call(Op.GET_DATA, Writer().string(path).bool(watch).bytes())
        return r.buffer(), r.stat()

    def set_data(self, path: str, data: bytes, version: int = -1) -> Stat:
        return self.call(*op_set_data(path, data, version)).stat()

    def get_children(self, path: str, watch: bool = False) -> list:
        return self.call(Op.GET_CHILDREN, Writer().string(path).bool(watch).bytes()).strings()

    def get_children2(self, path: str, watch: bool = False) -> tuple:
        r = self.call(Op.GET_CHILDREN2, Writer().string(path).bool(watch).bytes())
        return r.strings(), r.stat()

    def get_acl(self, path: str) -> tuple:
        r = self.call(Op.GET_ACL, Writer().string(path).bytes())
        return r.acls(), r.stat()

    def set_acl(self, path: str, acl, version: int = -1) -> Stat:
        return self.call(Op.SET_ACL, Writer().string(path).acls(acl).int(version).bytes()).stat()

    def sync(self, path: str) -> str:
        return self.call(Op.SYNC, Writer().string(path).bytes()).string()

    def add_auth(self, scheme: str, auth: bytes) -> Reply:
        return self.call_raw(Op.AUTH, Writer().int(0).string(scheme).buffer(auth).bytes(), xid=AUTH_XID)

    def who_am_i(self) -> list:
        r = self.call(Op.WHO_AM_I)
        n = r.int()
        return [(r.string(), r.string()) for _ in range(max(n, 0))]

    def get_ephemerals(self, prefix: str) -> list:
        return self.call(Op.GET_EPHEMERALS, Writer().string(prefix).bytes()).strings()

    def get_all_children_number(self, path: str) -> int:
        return self.call(Op.GET_ALL_CHILDREN_NUMBER, Writer().string(path).bytes()).int()

    def add_watch(self, path: str, mode: int) -> None:
        self.call(Op.ADD_WATCH, Writer().string(path).int(mode).bytes())

    def check_watches(self, path: str, wtype: int) -> int:
        return self.call_raw(Op.CHECK_WATCHES, Writer().string(path).int(wtype).bytes()).err

    def remove_watches(self, path: str, wtype: int) -> int:
        return self.call_raw(Op.REMOVE_WATCHES, Writer().string(path).int(wtype).bytes()).err

    def set_watches(self, relative_zxid: int, data=(), exist=(), child=()) -> Reply:
        body = Writer().long(relative_zxid).strings(data).strings(exist).strings(child).bytes()
        return self.call_raw(Op.SET_WATCHES, body, xid=SET_WATCHES_XID)

    def set_watches2(self, relative_zxid: int, data=(), exist=(), child=(), persistent=(),
                     persistent_recursive=()) -> Reply:
        body = (Writer().long(relative_zxid).strings(data).strings(exist).strings(child)
                .strings(persistent).strings(persistent_recursive).bytes())
        return self.call_raw(Op.SET_WATCHES2, body, xid=SET_WATCHES_XID)

    def _multi_body(self, ops) -> bytes:
        w = Writer()
        for op, body in ops:
            w.int(op).bool(False).int(-1).raw(body)
        w.int(-1).bool(True).int(-1)
        return w.bytes()

    def _multi_results(self, r: Reader) -> list:
        results = []
        while True:
            typ, done, err = r.int(), r.bool(), r.int()
            if done:
                return results
            if typ == Op.ERROR:
                results.append(MultiResult(type=typ, err=r.int()))
            elif typ == Op.CREATE:
                results.append(MultiResult(type=typ, path=r.string()))
            elif typ == Op.CREATE2:
                results.append(MultiResult(type=typ, path=r.string(), stat=r.stat()))
            elif typ == Op.SET_DATA:
                results.append(MultiResult(type=typ, stat=r.stat()))
            elif typ in (Op.DELETE, Op.CHECK):
                results.append(MultiResult(type=typ))
            elif typ == Op.GET_DATA:
                results.append(MultiResult(type=typ, data=r.buffer(), stat=r.stat()))
            elif typ == Op.GET_CHILDREN:
                results.append(MultiResult(type=typ, children=r.strings()))
            else:
                raise AssertionError(f"unexpected multi result type {typ}")

    def multi(self, ops) -> tuple:
        """Returns (header err, [MultiResult])."""
        reply = self.call_raw(Op.MULTI, self._multi_body(ops))
        if reply.err != 0 and not reply.body:
            return reply.err, []
        return reply.err, self._multi_results(reply.reader())

    def multi_read(self, ops) -> tuple:
        reply = self.call_raw(Op.MULTI_READ, self._multi_body(ops))
        if reply.err != 0 and not reply.body:
            return reply.err, []
        return reply.err, self._multi_results(reply.reader())
