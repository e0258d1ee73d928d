"""Client-side workloads of the ensemble suite: session observers, writers that record every acknowledged
write, and the register workload whose history the linearizability checker reads.

All threads here are bounded: every call waits at most CALL_TIMEOUT and every loop stops at a deadline or
when asked to. Processes are never started from these threads (PR_SET_PDEATHSIG is per thread).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (BadVersionError, ConnectionClosedError, ConnectionLoss, OperationTimeoutError,
                              SessionExpiredError)
from kazoo.handlers.threading import KazooTimeoutError

import linearizability as lin

# Outcome unknown: the request may or may not have been applied.
INDETERMINATE = (ConnectionLoss, OperationTimeoutError, KazooTimeoutError, SessionExpiredError,
                 ConnectionClosedError)
CALL_TIMEOUT = 20.0  # longer than a session timeout: a call only times out if something is badly wrong


class SessionObserver:
    """Follows one kazoo client's states and session id; the tests assert on what it saw."""

    def __init__(self, client: KazooClient, name: str) -> None:
        self.client = client
        self.name = name
        self.lock = threading.Lock()
        self.transitions: List[Tuple[float, str]] = []
        self.lost = False
        self.session_id: Optional[int] = None
        client.add_listener(self._listener)

    def _listener(self, state: str) -> None:
        with self.lock:
            self.transitions.append((time.monotonic(), state))
            if state == KazooState.LOST:
                self.lost = True

    def started(self) -> None:
        cid = self.client.client_id
        self.session_id = cid[0] if cid else None

    def connected_same_session(self) -> bool:
        cid = self.client.client_id
        return self.client.state == KazooState.CONNECTED and cid is not None and cid[0] == self.session_id

    def disconnected_since(self, t: float) -> bool:
        with self.lock:
            return any(ts >= t and s == KazooState.SUSPENDED for ts, s in self.transitions)

    def reconnect_time_after(self, t: float) -> Optional[float]:
        """Seconds from t until CONNECTED again after the first SUSPENDED at or after t (None: never
        suspended; inf: not reconnected)."""
        with self.lock:
            events = [(ts, s) for ts, s in self.transitions if ts >= t]
        suspended = next((ts for ts, s in events if s == KazooState.SUSPENDED), None)
        if suspended is None:
            return None
        back = next((ts for ts, s in events if ts > suspended and s == KazooState.CONNECTED), None)
        return (back - t) if back is not None else float("inf")

    def describe(self) -> str:
        with self.lock:
            trans = ", ".join(f"{s}@{ts:.2f}" for ts, s in self.transitions[-8:])
        return (f"{self.name}: session {self.session_id:#x} state {self.client.state} "
                f"lost={self.lost} transitions [{trans}]")


# ------------------------------------------------------------------------------- writers under faults

@dataclass
class WriterRecord:
    acked_creates: List[str] = field(default_factory=list)       # paths of acknowledged sequential creates
    acked_sets: List[Tuple[int, int]] = field(default_factory=list)  # (counter, returned version)
    info_creates: List[int] = field(default_factory=list)        # counters of creates with unknown outcome
    info_sets: List[int] = field(default_factory=list)           # counters of setData with unknown outcome
    unexpected: List[str] = field(default_factory=list)          # errors that must never happen
    ack_times: List[float] = field(default_factory=list)         # monotonic time of every acknowledgement

    @property
    def acked(self) -> int:
        return len(self.acked_creates) + len(self.acked_sets)


class Writer:
    """One client doing sequential creates under seq_dir and setData on data_path, alternately, recording
    every acknowledged write. The counter increases with every write; data is the counter as text."""

    def __init__(self, client: KazooClient, name: str, seq_dir: str, data_path: str, pause: float = 0.003):
        self.client = client
        self.name = name
        self.seq_dir = seq_dir
        self.data_path = data_path
        self.pause = pause
        self.record = WriterRecord()
        self.counter = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"writer-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = CALL_TIMEOUT + 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self.record.unexpected.append(f"writer thread did not stop within {timeout}s")

    def _run(self) -> None:
        rec = self.record
        while not self._stop.is_set():
            self.counter += 1
            n = self.counter
            data = str(n).encode()
            creating = n % 2 == 1
            try:
                if creating:
                    path = self.client.create_async(f"{self.seq_dir}/n-", data, sequence=True).get(
                        timeout=CALL_TIMEOUT)
                    rec.acked_creates.append(path)
                else:
                    stat = self.client.set_async(self.data_path, data).get(timeout=CALL_TIMEOUT)
                    rec.acked_sets.append((n, stat.version))
                rec.ack_times.append(time.monotonic())
            except INDETERMINATE:
                (rec.info_creates if creating else rec.info_sets).append(n)
                time.sleep(0.02)  # while disconnected, do not spin
            except Exception as e:  # noqa: BLE001 - recorded, asserted by the test
                rec.unexpected.append(f"write #{n}: {e!r}")
                time.sleep(0.02)
            if self.pause:
                time.sleep(self.pause)


def check_writers_on_tree(writers: List[Writer], tree: Dict, replica: int) -> Tuple[int, List[str]]:
    """Every acknowledged write of every writer is present in this replica's tree dump.

    Returns (number of acknowledged writes checked, list of problems). For setData: the final data's
    counter must be the last acknowledged one, or a later write whose outcome was unknown (the writer waits
    for each reply, so nothing older can win), and the final version at least the last acknowledged one.
    """
    problems: List[str] = []
    checked = 0
    for w in writers:
        for p in w.record.acked_creates:
            checked += 1
            if p not in tree:
                problems.append(f"replica {replica}: acknowledged create {p} ({w.name}) is missing")
        if w.record.acked_sets:
            checked += len(w.record.acked_sets)
            last_n, last_v = w.record.acked_sets[-1]
            node = tree.get(w.data_path)
            if node is None:
                problems.append(f"replica {replica}: {w.data_path} is missing")
                continue
            final = int(node.data.decode() or 0)
            later_info = {n for n in w.record.info_sets if n > last_n}
            if final != last_n and final not in later_info:
                problems.append(f"replica {replica}: {w.data_path} holds write #{final}, but the last "
                                f"acknowledged is #{last_n} (later unknown-outcome writes: {sorted(later_info)})")
            if node.version < last_v:
                problems.append(f"replica {replica}: {w.data_path} version {node.version} < acknowledged "
                                f"version {last_v}")
    return checked, problems


# ------------------------------------------------------------------------------- register workload

class RegisterWorker:
    """Reads (sync + getData), writes (setData) and CASes (setData with the expected version) random keys,
    recording each operation with time.monotonic() call/return times into a linearizability history."""

    def __init__(self, client: KazooClient, process: int, keys: List[str], seed: int,
                 read_ratio: float = 0.4, cas_ratio: float = 0.3, pause: float = 0.0) -> None:
        self.client = client
        self.process = process
        self.keys = keys
        self.rng = random.Random(seed)
        self.read_ratio = read_ratio
        self.cas_ratio = cas_ratio
        self.pause = pause
        self.history: List[lin.Op] = []
        self.errors: List[str] = []
        self.last_version: Dict[str, int] = {k: 0 for k in keys}
        self._n = 0

    def run_until(self, deadline: float, stop: Optional[threading.Event] = None) -> None:
        while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
            self.one()
            if self.pause:
                time.sleep(self.pause)

    def one(self) -> None:
        key = self.rng.choice(self.keys)
        r = self.rng.random()
        self._n += 1
        value = f"p{self.process}-{self._n}".encode()
        c = self.client
        if r < self.read_ratio:
            t0 = time.monotonic()
            try:
                c.sync_async(key).get(timeout=CALL_TIMEOUT)
                data, stat = c.get_async(key).get(timeout=CALL_TIMEOUT)
            except INDETERMINATE:
                return  # a read that may not have happened constrains nothing
            except Exception as e:  # noqa: BLE001
                self.errors.append(f"read {key}: {e!r}")
                return
            t1 = time.monotonic()
            self.last_version[key] = stat.version
            self.history.append(lin.Op(self.process, lin.READ, key, t0, t1, lin.OK, result=(data, stat.version)))
        elif r < self.read_ratio + self.cas_ratio:
            # Usually the last version this process saw (a real CAS); sometimes one off (may fail either way).
            expected = self.last_version[key] + self.rng.choice((0, 0, 0, 1, -1))
            expected = max(expected, 0)
            t0 = time.monotonic()
            try:
                stat = c.set_async(key, value, version=expected).get(timeout=CALL_TIMEOUT)
            except BadVersionError:
                self.history.append(lin.Op(self.process, lin.CAS, key, t0, time.monotonic(), lin.FAIL,
                                           value=value, expected=expected))
                return
            except INDETERMINATE:
                self.history.append(lin.Op(self.process, lin.CAS, key, t0, None, lin.INFO, value=value,
                                           expected=expected))
                return
            except Exception as e:  # noqa: BLE001
                self.errors.append(f"cas {key}: {e!r}")
                return
            t1 = time.monotonic()
            self.last_version[key] = stat.version
            self.history.append(lin.Op(self.process, lin.CAS, key, t0, t1, lin.OK, value=value,
                                       expected=expected, result=stat.version))
        else:
            t0 = time.monotonic()
            try:
                stat = c.set_async(key, value).get(timeout=CALL_TIMEOUT)
            except INDETERMINATE:
                self.history.append(lin.Op(self.process, lin.WRITE, key, t0, None, lin.INFO, value=value))
                return
            except Exception as e:  # noqa: BLE001
                self.errors.append(f"write {key}: {e!r}")
                return
            t1 = time.monotonic()
            self.last_version[key] = stat.version
            self.history.append(lin.Op(self.process, lin.WRITE, key, t0, t1, lin.OK, value=value,
                                       result=stat.version))


def run_threads(targets, timeout: float) -> List[str]:
    """Runs callables in threads, joins them (bounded). Returns descriptions of threads that failed or hung."""
    problems: List[str] = []
    lock = threading.Lock()

    def wrap(fn, name):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            with lock:
                problems.append(f"{name}: {e!r}")

    threads = [threading.Thread(target=wrap, args=(fn, f"worker-{i}"), daemon=True)
               for i, fn in enumerate(targets)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            problems.append(f"{t.name} still running after {timeout}s")
    return problems
