"""The durable write load of the crash loops, and the sessions whose ephemerals are checked.

- `DurableWriter`: one kazoo client, one thread, one request at a time, on keys it owns under
  <root>/<name>/: creates (unique data), setData (unique data, sometimes with the expected version), deletes,
  sequential creates under <root>/<name>/seq, and multis (create + setData + version check, atomic). Every
  write is put in the shared `History` before it is sent, and its outcome after the answer: acknowledged,
  failed (a definite error) or unknown (connection loss, session expired, timeout). After an unknown outcome
  the writer abandons the keys involved (history.py relies on it).
- `Keeper`: a kazoo session holding an ephemeral; it reconnects with its session after a kill, so its
  ephemeral must survive (unless the session was reported LOST, then the ephemeral must be gone).
- `Doomed`: a raw session (zkraw) with a short timeout holding an ephemeral; at the kill its socket is dropped
  and the session never comes back, so its ephemeral must expire after the restart.

Randomness comes from one seed (`random.Random(f"{seed}-{name}")` per writer); the timing of kills and thread
interleavings are not deterministic, so a seed reproduces the choices of operations and kill moments, not the
exact interleaving.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Dict, List, Optional

from kazoo.client import KazooClient
from kazoo.exceptions import (BadVersionError, ConnectionClosedError, ConnectionLoss, NodeExistsError,
                              NoNodeError, OperationTimeoutError, RolledBackError, SessionExpiredError,
                              ZookeeperError)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KazooState

import history as h
from zkraw import CreateFlags, RawSession

UNKNOWN_ERRORS = (ConnectionLoss, SessionExpiredError, OperationTimeoutError, KazooTimeoutError,
                  ConnectionClosedError)
DEFINITE_ERRORS = (NoNodeError, NodeExistsError, BadVersionError)
CALL_TIMEOUT = 20.0


class DurableWriter:
    def __init__(self, client: KazooClient, name: str, root: str, hist: h.History, lock: threading.Lock,
                 seed: int) -> None:
        self.client = client
        self.name = name
        self.base = f"{root}/{name}"
        self.seq_parent = f"{self.base}/seq"
        self.hist = hist
        self.lock = lock
        self.rng = random.Random(f"{seed}-{name}")
        self.keys: Dict[str, int] = {}   # keys whose state is certain -> their version
        self.n = 0
        self.unexpected: List[str] = []
        self.last_ack = 0.0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def setup(self) -> None:
        self.client.ensure_path(self.seq_parent)

    @property
    def structural(self) -> List[str]:
        return [self.base, self.seq_parent]

    # ---------------------------------------------------------------- running

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"writer-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = CALL_TIMEOUT + 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self.unexpected.append(f"{self.name}: writer thread did not stop within {timeout}s")

    def _value(self) -> bytes:
        self.n += 1
        return f"{self.name}:{self.n}:{self.rng.getrandbits(32):08x}".encode()

    def _record(self, w: h.Write) -> h.Write:
        with self.lock:
            return self.hist.add(w)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.one()
            except Exception as e:  # noqa: BLE001 - a bug of the workload; reported by the test
                self.unexpected.append(f"{self.name}: {e!r}")
                time.sleep(0.05)

    def one(self) -> None:
        r = self.rng.random()
        keys = list(self.keys)
        if r < 0.18 or len(keys) < 3:
            self._single(h.Op(h.CREATE, f"{self.base}/k{self.n + 1}", self._value()))
        elif r < 0.48:
            k = self.rng.choice(keys)
            expect = self.keys[k] if self.rng.random() < 0.3 else -1
            self._single(h.Op(h.SET, k, self._value(), version=expect))
        elif r < 0.60:
            k = self.rng.choice(keys)
            self._single(h.Op(h.DELETE, k))
        elif r < 0.72:
            self._seq()
        else:
            a, b, d = self.rng.sample(keys, 3)
            ops = [h.Op(h.CHECK, a, version=self.keys[a]),
                   h.Op(h.CREATE, f"{self.base}/k{self.n + 1}", self._value()),
                   h.Op(h.SET, b, self._value()),
                   h.Op(h.DELETE, d)]
            if self.rng.random() < 0.15:
                ops[0].version += 1  # a check that must fail: the whole multi fails, nothing applies
            self._multi(ops)

    def _single(self, op: h.Op) -> None:
        w = self._record(h.Write(self.name, [op]))
        c = self.client
        try:
            if op.kind == h.CREATE:
                c.create_async(op.path, op.data).get(timeout=CALL_TIMEOUT)
                self.keys[op.path] = 0
            elif op.kind == h.SET:
                stat = c.set_async(op.path, op.data, version=op.version).get(timeout=CALL_TIMEOUT)
                op.result_version = stat.version
                self.keys[op.path] = stat.version
            elif op.kind == h.DELETE:
                c.delete_async(op.path).get(timeout=CALL_TIMEOUT)
                self.keys.pop(op.path, None)
            w.outcome = h.ACK
            self.last_ack = time.monotonic()
        except UNKNOWN_ERRORS as e:
            w.outcome, w.note = h.UNKNOWN, type(e).__name__
            self.keys.pop(op.path, None)
            time.sleep(0.02)
        except DEFINITE_ERRORS as e:
            # Cannot happen on a key whose state is certain; the checker reports it (e.g. a lost create).
            w.outcome, w.note = h.FAILED, type(e).__name__
            self.keys.pop(op.path, None)

    def _seq(self) -> None:
        op = h.Op(h.SEQ_CREATE, self.seq_parent, self._value())
        w = self._record(h.Write(self.name, [op]))
        try:
            op.result_path = self.client.create_async(f"{self.seq_parent}/s-", op.data, sequence=True).get(
                timeout=CALL_TIMEOUT)
            w.outcome = h.ACK
            self.last_ack = time.monotonic()
        except UNKNOWN_ERRORS as e:
            w.outcome, w.note = h.UNKNOWN, type(e).__name__
            time.sleep(0.02)

    def _multi(self, ops: List[h.Op]) -> None:
        w = self._record(h.Write(self.name, ops))
        t = self.client.transaction()
        for op in ops:
            if op.kind == h.CHECK:
                t.check(op.path, op.version)
            elif op.kind == h.CREATE:
                t.create(op.path, op.data)
            elif op.kind == h.SET:
                t.set_data(op.path, op.data)
            elif op.kind == h.DELETE:
                t.delete(op.path)
        try:
            results = t.commit_async().get(timeout=CALL_TIMEOUT)
        except UNKNOWN_ERRORS as e:
            w.outcome, w.note = h.UNKNOWN, type(e).__name__
            for op in ops:
                self.keys.pop(op.path, None)
            time.sleep(0.02)
            return
        errors = [r for r in results if isinstance(r, Exception)]
        if not errors:
            w.outcome = h.ACK
            self.last_ack = time.monotonic()
            for op, res in zip(ops, results):
                if op.kind == h.CREATE:
                    self.keys[op.path] = 0
                elif op.kind == h.SET:
                    op.result_version = res.version
                    self.keys[op.path] = res.version
                elif op.kind == h.DELETE:
                    self.keys.pop(op.path, None)
            return
        if any(isinstance(r, UNKNOWN_ERRORS) for r in errors):
            w.outcome, w.note = h.UNKNOWN, "multi: " + ",".join(type(r).__name__ for r in errors)
            for op in ops:
                self.keys.pop(op.path, None)
            return
        # A definite failure: nothing applied (RolledBackError for the ops after the failing one).
        w.outcome, w.note = h.FAILED, ",".join(type(r).__name__ for r in errors
                                              if not isinstance(r, RolledBackError))
        if not all(isinstance(r, (RolledBackError, ZookeeperError)) for r in errors):
            self.unexpected.append(f"{self.name}: multi results {results!r}")


class Keeper:
    """A kazoo session holding one ephemeral, expected to survive kills (it reconnects with its session)."""

    def __init__(self, client: KazooClient, path: str) -> None:
        self.client = client
        self.path = path
        self.lost = False
        self.session_id = 0
        client.add_listener(self._listener)

    def _listener(self, state: str) -> None:
        if state == KazooState.LOST:
            self.lost = True

    def create(self) -> None:
        self.client.create(self.path, b"keeper", ephemeral=True)
        self.session_id = self.client.client_id[0]


class Doomed:
    """A raw session with a short timeout holding one ephemeral; `abandon` drops its socket for good."""

    def __init__(self, host: str, port: int, path: str, timeout_ms: int = 1000) -> None:
        self.path = path
        self.s = RawSession.connect(host, port, session_timeout_ms=timeout_ms, timeout=10.0)
        self.session_id = self.s.session_id
        self.timeout_ms = self.s.negotiated_timeout
        self.s.create(path, b"doomed", flags=CreateFlags.EPHEMERAL)

    def abandon(self) -> None:
        self.s.close_socket()
