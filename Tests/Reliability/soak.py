"""The soak load: thousands of ZooKeeper sessions from one asyncio event loop, over the raw wire protocol.

2,000 kazoo clients would be 2,000 Python threads plus their own ping threads; the GIL would make the load
generator, not the server, the bottleneck, and the figures dishonest. Here each session is a pair of asyncio
tasks (reader, pinger) on one connection, encoding with zkraw's jute Writer (reused, not copied); requests are
pipelined.

Phases (run by `run_soak`):
  populate   100,000 persistent znodes under /soak/d/bNNN (multis of 500 creates)
  idle       sample the server with no client: RSS, fds (baseline for fds)
  connect    2,000 sessions; each creates one ephemeral and sets 100 data watches (getData, watch) on nodes of
             its own stripe, so 200,000 watches in all, each node watched by two sessions
  loaded-0   sample: RSS, fds, and mntr's zk_watch_count / zk_ephemerals_count / zk_num_alive_connections
  churn      for the duration, continuously:
               - close: a session sends closeSession; a new one replaces it
               - drop: a session's socket is closed without closeSession (it expires after its timeout,
                 2-4 s); a new one replaces it
               - reattach: a session's socket is closed and the same session id reconnects on a new
                 connection, re-registering its watches with setWatches
               - fire: setData on random nodes; every session whose watch fired registers it again
             so the population stays at 2,000 sessions and ~200,000 watches
  loaded-1   sample, as loaded-0 (same population): the difference is what churn leaked
  drain      every session goes: half close, half drop (expire)
  zero       wait (bounded) until mntr says 0 watches, 0 ephemerals, and 1 connection (the mntr's own);
             `wchs` and `cons` agree; sample RSS and fds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import random
import struct
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from zkraw import NOTIFICATION_XID, PING_XID, SET_WATCHES_XID, CreateFlags, Op, Writer, WORLD_ANYONE

# asyncio logs every write to a connection the server has closed (expired sessions); expected here.
logging.getLogger("asyncio").setLevel(logging.ERROR)

ROOT = "/soak"
DATA_ROOT = "/soak/d"
EPH_ROOT = "/soak/e"
BUCKET = 500
# Session timeouts of the load's sessions (a dropped one expires after its own). Not shorter: a four-letter word
# stalls zooreg for seconds at this size (README.md, "Findings"), and a session that pings must not expire.
SESSION_TIMEOUTS_MS = (8000, 10000, 12000)
# During the churn RSS and fds are read from /proc every second; mntr (which stalls the server at this size)
# only every MNTR_EVERY_S seconds, and not at all when None (CI; --long sets 60 s for the plot).
MNTR_EVERY_S = None


def node_path(n: int) -> str:
    return f"{DATA_ROOT}/b{n // BUCKET:03d}/n{n % BUCKET:03d}"


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


class SessionGone(Exception):
    pass


class AsyncSession:
    """One connection, one session. Requests are pipelined; replies matched by xid (the server answers in
    order, but matching by xid does not rely on it)."""

    def __init__(self, host: str, port: int, timeout_ms: int, on_event=None, on_closed=None) -> None:
        self.on_closed = on_closed
        self.last_send = 0.0
        self.host, self.port, self.timeout_ms = host, port, timeout_ms
        self.session_id = 0
        self.passwd = b"\x00" * 16
        self.negotiated = 0
        self.xid = 0
        self.last_zxid = 0
        self.pending: Dict[int, asyncio.Future] = {}
        self.on_event = on_event
        self.reader: Optional[asyncio.StreamReader] = None
        self.writer: Optional[asyncio.StreamWriter] = None
        self.tasks: List[asyncio.Task] = []
        self.closed = False
        self.closing = False
        self.events = 0

    async def connect(self, session_id: int = 0, passwd: bytes = b"\x00" * 16) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        w = Writer().int(0).long(self.last_zxid).int(self.timeout_ms).long(session_id).buffer(passwd).bool(False)
        self.writer.write(frame(w.bytes()))
        body = await self._read_frame()
        neg, sid = struct.unpack(">iq", body[4:16])
        (plen,) = struct.unpack(">i", body[16:20])
        if sid == 0 or neg <= 0:
            raise SessionGone(f"handshake refused (session {session_id:#x})")
        self.negotiated, self.session_id, self.passwd = neg, sid, body[20:20 + plen]
        self.closed = False
        self.tasks = [asyncio.ensure_future(self._read_loop()), asyncio.ensure_future(self._ping_loop())]

    async def _read_frame(self) -> bytes:
        hdr = await self.reader.readexactly(4)
        (n,) = struct.unpack(">i", hdr)
        return await self.reader.readexactly(n)

    async def _read_loop(self) -> None:
        try:
            while True:
                body = await self._read_frame()
                xid, zxid, err = struct.unpack(">iqi", body[:16])
                if zxid > 0:
                    self.last_zxid = max(self.last_zxid, zxid)
                if xid == NOTIFICATION_XID:
                    self.events += 1
                    etype, _state, plen = struct.unpack(">iii", body[16:28])
                    path = body[28:28 + plen].decode()
                    if self.on_event:
                        self.on_event(self, etype, path)
                    continue
                fut = self.pending.pop(xid, None)
                if fut is not None and not fut.done():
                    fut.set_result((err, body[16:]))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            if not self.closed and not self.closing and self.on_closed:
                self.on_closed(self)  # the server closed a session we did not drop or close
        except asyncio.CancelledError:
            pass
        finally:
            self._fail_pending()

    def _fail_pending(self) -> None:
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(SessionGone("connection closed"))
        self.pending.clear()

    async def _ping_loop(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.negotiated / 3000.0)
                if self.writer.is_closing():
                    return
                self.writer.write(frame(struct.pack(">ii", PING_XID, Op.PING)))
                self.last_send = time.monotonic()
        except (ConnectionError, OSError, asyncio.CancelledError, AttributeError):
            pass

    def send(self, op: int, body: bytes = b"", xid: Optional[int] = None) -> asyncio.Future:
        if self.closed or self.writer is None or self.writer.is_closing():
            fut = asyncio.get_event_loop().create_future()
            fut.set_exception(SessionGone("not connected"))
            return fut
        if xid is None:
            self.xid += 1
            xid = self.xid
        fut = asyncio.get_event_loop().create_future()
        self.pending[xid] = fut
        self.writer.write(frame(struct.pack(">ii", xid, op) + body))
        return fut

    # ---- requests (futures of (err, body))

    def get_data_watch(self, path: str) -> asyncio.Future:
        return self.send(Op.GET_DATA, Writer().string(path).bool(True).bytes())

    def create(self, path: str, data: bytes = b"", flags: int = 0) -> asyncio.Future:
        return self.send(Op.CREATE, Writer().string(path).buffer(data).acls(WORLD_ANYONE).int(flags).bytes())

    def set_data(self, path: str, data: bytes) -> asyncio.Future:
        return self.send(Op.SET_DATA, Writer().string(path).buffer(data).int(-1).bytes())

    def multi_create(self, paths: List[str], data: bytes = b"") -> asyncio.Future:
        w = Writer()
        for p in paths:
            w.int(Op.CREATE).bool(False).int(-1).string(p).buffer(data).acls(WORLD_ANYONE).int(0)
        w.int(-1).bool(True).int(-1)
        return self.send(Op.MULTI, w.bytes())

    def set_watches(self, data_paths: List[str]) -> asyncio.Future:
        body = Writer().long(self.last_zxid).strings(data_paths).strings([]).strings([]).bytes()
        return self.send(Op.SET_WATCHES, body, xid=SET_WATCHES_XID)

    async def close_session(self) -> None:
        self.closing = True  # the server closes the connection after its answer: not a surprise
        try:
            await asyncio.wait_for(self.send(Op.CLOSE_SESSION), 10)
        except (SessionGone, asyncio.TimeoutError):
            pass
        self.drop()

    def drop(self) -> None:
        """Closes the connection without closing the session."""
        self.closed = True
        for t in self.tasks:
            t.cancel()
        if self.writer is not None:
            self.writer.close()
        self._fail_pending()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def four_letter(host: str, port: int, word: str, timeout: float = 10.0) -> str:
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    w.write(word.encode())
    out = await asyncio.wait_for(r.read(), timeout)
    w.close()
    return out.decode("utf-8", "replace")


def parse_mntr(text: str) -> Dict[str, str]:
    out = {}
    for line in text.splitlines():
        if "\t" in line:
            k, v = line.split("\t", 1)
            out[k.strip()] = v.strip()
    return out


@dataclass
class Sample:
    t: float
    phase: str
    rss_kb: int
    fds: int
    sessions: int = 0
    watches: int = -1
    ephemerals: int = -1
    connections: int = -1


@dataclass
class SoakResult:
    samples: List[Sample] = field(default_factory=list)
    marks: Dict[str, Sample] = field(default_factory=dict)
    counts: Dict[str, int] = field(default_factory=dict)
    final_text: Dict[str, str] = field(default_factory=dict)
    zero_after_s: float = -1.0
    server_closed: List[str] = field(default_factory=list)
    mntr_s: Dict[str, float] = field(default_factory=dict)   # how long mntr took at each mark
    max_loop_lag_s: float = 0.0                               # the load generator's own worst stall


class Soak:
    def __init__(self, host: str, port: int, pid: int, seed: int, sessions: int = 2000, znodes: int = 100_000,
                 watches_per_session: int = 100, log=print) -> None:
        self.host, self.port, self.pid = host, port, pid
        self.rng = random.Random(seed)
        self.n_sessions = sessions
        self.n_znodes = znodes
        self.wps = watches_per_session
        self.log = log
        self.live: Dict[int, AsyncSession] = {}      # slot -> session
        self.watched: Dict[int, List[str]] = {}       # slot -> its watched paths
        self.gen = 0
        self.res = SoakResult()
        self.t0 = time.monotonic()
        self.refire: List[asyncio.Future] = []
        self.server_closed: List[str] = []
        self.count = {"close": 0, "drop": 0, "reattach": 0, "fire": 0, "events": 0, "rewatch": 0, "errors": 0}

    # ---------------------------------------------------------------- sampling

    async def sample(self, phase: str, mntr: bool = True) -> Sample:
        s = Sample(time.monotonic() - self.t0, phase, rss_kb(self.pid), fd_count(self.pid), len(self.live))
        if mntr:
            m = parse_mntr(await four_letter(self.host, self.port, "mntr"))
            s.watches = int(m.get("zk_watch_count", -1))
            s.ephemerals = int(m.get("zk_ephemerals_count", -1))
            s.connections = int(m.get("zk_num_alive_connections", -1))
        self.res.samples.append(s)
        return s

    async def mark(self, name: str) -> Sample:
        t = time.monotonic()
        s = await self.sample(name)
        self.res.mntr_s[name] = time.monotonic() - t
        self.res.marks[name] = s
        self.log(f"[{s.t:7.1f}s] {name}: RSS {s.rss_kb / 1024:.1f} MiB, fds {s.fds}, sessions {s.sessions}, "
                 f"watches {s.watches}, ephemerals {s.ephemerals}, connections {s.connections} (mntr answered in "
                 f"{self.res.mntr_s[name]:.2f}s)")
        return s

    async def sampler(self, stop: asyncio.Event, interval: float) -> None:
        last_mntr = time.monotonic()
        while not stop.is_set():
            try:
                with_mntr = MNTR_EVERY_S is not None and time.monotonic() - last_mntr >= MNTR_EVERY_S
                await self.sample("churn", mntr=with_mntr)
                if with_mntr:
                    last_mntr = time.monotonic()
            except (OSError, asyncio.TimeoutError):
                pass
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except asyncio.TimeoutError:
                pass

    # ---------------------------------------------------------------- phases

    async def populate(self) -> None:
        s = AsyncSession(self.host, self.port, 30000)
        await s.connect()
        for p in (ROOT, DATA_ROOT, EPH_ROOT):
            await s.create(p)
        buckets = (self.n_znodes + BUCKET - 1) // BUCKET
        await asyncio.gather(*[s.create(f"{DATA_ROOT}/b{b:03d}") for b in range(buckets)])
        futs = []
        for b in range(buckets):
            paths = [node_path(n) for n in range(b * BUCKET, min((b + 1) * BUCKET, self.n_znodes))]
            futs.append(s.multi_create(paths, b"soak-data-000000"))
            if len(futs) >= 20:
                await self._expect_ok(futs, "populate")
                futs = []
        await self._expect_ok(futs, "populate")
        await s.close_session()

    async def _expect_ok(self, futs, what: str) -> None:
        for err, _ in await asyncio.gather(*futs):
            if err != 0:
                raise AssertionError(f"{what}: error {err}")

    async def lag_monitor(self) -> None:
        """The event loop's worst delay: if the load generator itself stalled longer than a session timeout, a
        session closed by the server is the client's fault, and the report says so."""
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.1)
            self.res.max_loop_lag_s = max(self.res.max_loop_lag_s, time.monotonic() - t - 0.1)

    def _on_closed(self, sess: AsyncSession) -> None:
        self.server_closed.append(f"session {sess.session_id:#x} (timeout {sess.negotiated} ms, client loop lag "
                                  f"max {self.res.max_loop_lag_s:.2f}s, last ping "
                                  f"{time.monotonic() - sess.last_send:.1f}s ago) closed by the server at "
                                  f"{time.monotonic() - self.t0:.1f}s")

    def _on_event(self, sess: AsyncSession, etype: int, path: str) -> None:
        # A data watch fired (setData by the churn): register it again, so the count stays at ~200,000.
        self.count["events"] += 1
        if etype == 3 and not sess.closed:
            self.count["rewatch"] += 1
            self.refire.append(sess.get_data_watch(path))

    async def open_slot(self, slot: int) -> None:
        timeout = self.rng.choice(SESSION_TIMEOUTS_MS)
        s = AsyncSession(self.host, self.port, timeout, on_event=self._on_event, on_closed=self._on_closed)
        await s.connect()
        self.gen += 1
        # Each slot watches its own stripe; slot k and slot k + sessions/2 share nodes (two watches per node).
        half = max(1, self.n_sessions // 2)
        base = (slot % half) * self.wps * 2 % self.n_znodes
        paths = [node_path((base + j * 2 + (slot // half)) % self.n_znodes) for j in range(self.wps)]
        await self._expect_ok([s.create(f"{EPH_ROOT}/s{self.gen}", b"", CreateFlags.EPHEMERAL)], f"session {slot}")
        # 100 data watches in one setWatches request (what a client sends on reconnect), relative to the zxid of
        # the create just acknowledged: the server registers them, and fires at once for any node changed
        # since (the handler registers those again with getData). Registering through getData with watch=true
        # is exercised by every re-registration during the churn.
        await self._expect_ok([s.set_watches(paths)], f"session {slot} setWatches")
        self.live[slot] = s
        self.watched[slot] = paths

    async def connect_all(self, concurrency: int = 100) -> None:
        slots = list(range(self.n_sessions))
        for i in range(0, len(slots), concurrency):
            await asyncio.gather(*[self.open_slot(k) for k in slots[i:i + concurrency]])

    async def churn_one(self) -> None:
        slot = self.rng.randrange(self.n_sessions)
        s = self.live.pop(slot, None)
        if s is None:
            return  # being replaced by another task
        action = self.rng.choices(["close", "drop", "reattach"], [4, 4, 2])[0]
        self.count[action] += 1
        try:
            if action == "close":
                await s.close_session()
            elif action == "drop":
                s.drop()  # its session expires on its own, after its timeout
            else:
                s.drop()
                r = AsyncSession(self.host, self.port, s.timeout_ms, on_event=self._on_event, on_closed=self._on_closed)
                r.last_zxid = s.last_zxid
                await r.connect(s.session_id, s.passwd)
                err, _ = await r.set_watches(self.watched[slot])
                if err != 0:
                    raise AssertionError(f"setWatches: error {err}")
                self.live[slot] = r
                return
            await self.open_slot(slot)
        except (SessionGone, AssertionError, OSError) as e:
            self.count["errors"] += 1
            self.log(f"churn {action} on slot {slot}: {e!r}")
            if slot not in self.live:
                await self.open_slot(slot)

    def _prune_refire(self) -> None:
        """Forget answered re-registrations (a 30-minute run makes ~450,000; gathering them all at the end
        stalled the event loop for 14 s, long enough for every session to expire)."""
        keep = []
        for f in self.refire:
            if not f.done():
                keep.append(f)
            elif not f.cancelled() and f.exception() is not None and not isinstance(f.exception(), SessionGone):
                self.count["errors"] += 1
            elif not f.cancelled() and f.exception() is None and f.result()[0] != 0:
                self.count["errors"] += 1
        self.refire = keep

    async def fire(self, writer: AsyncSession, n: int) -> None:
        futs = [writer.set_data(node_path(self.rng.randrange(self.n_znodes)), f"v{self.rng.getrandbits(24)}".encode())
                for _ in range(n)]
        self.count["fire"] += n
        await self._expect_ok(futs, "fire")

    async def churn(self, duration: float, rate: float = 40.0, fires_per_s: float = 200.0) -> None:
        writer = AsyncSession(self.host, self.port, 30000)
        await writer.connect()
        end = time.monotonic() + duration
        tick = 0.1
        inflight: List[asyncio.Task] = []
        while time.monotonic() < end:
            t = time.monotonic()
            for _ in range(max(1, int(rate * tick))):
                inflight.append(asyncio.ensure_future(self.churn_one()))
            await self.fire(writer, max(1, int(fires_per_s * tick)))
            inflight = [x for x in inflight if not x.done()]
            self._prune_refire()
            await asyncio.sleep(max(0.0, tick - (time.monotonic() - t)))
        await asyncio.gather(*inflight)
        # every refired watch registered before loaded-1
        done = await asyncio.gather(*self.refire, return_exceptions=True)
        self.refire.clear()
        self.count["errors"] += sum(1 for d in done if isinstance(d, Exception) and not isinstance(d, SessionGone))
        await writer.close_session()
        # refill slots that are empty (a failed replacement)
        for slot in range(self.n_sessions):
            if slot not in self.live:
                await self.open_slot(slot)

    async def drain(self) -> None:
        slots = list(self.live)
        closers = []
        for k in slots:
            s = self.live.pop(k)
            if k % 2 == 0:
                closers.append(s.close_session())
            else:
                s.drop()
        await asyncio.gather(*closers)

    async def wait_zero(self, timeout: float) -> bool:
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            s = await self.sample("drain")
            if s.watches == 0 and s.ephemerals == 0 and s.connections <= 1:
                self.res.zero_after_s = time.monotonic() - t
                return True
            await asyncio.sleep(0.5)
        return False


async def run_soak(host: str, port: int, pid: int, seed: int, duration: float, sessions: int = 2000,
                   znodes: int = 100_000, watches_per_session: int = 100, log=print,
                   zero_timeout: float = 40.0) -> SoakResult:
    soak = Soak(host, port, pid, seed, sessions, znodes, watches_per_session, log)
    lag = asyncio.ensure_future(soak.lag_monitor())
    t = time.monotonic()
    await soak.populate()
    log(f"populated {znodes} znodes in {time.monotonic() - t:.1f}s")
    await asyncio.sleep(0.5)
    await soak.mark("idle-0")
    t = time.monotonic()
    await soak.connect_all()
    log(f"{sessions} sessions with {sessions * watches_per_session} watches in {time.monotonic() - t:.1f}s")
    await soak.mark("loaded-0")
    stop = asyncio.Event()
    sampler = asyncio.ensure_future(soak.sampler(stop, 1.0))
    await soak.churn(duration)
    stop.set()
    await sampler
    await asyncio.sleep(0.5)  # replies to the last re-registrations are in; nothing in flight
    await soak.mark("loaded-1")
    await soak.drain()
    ok = await soak.wait_zero(zero_timeout)
    await soak.mark("idle-1")
    soak.res.counts = dict(soak.count)
    soak.res.counts["server_closed"] = len(soak.server_closed)
    soak.res.server_closed = list(soak.server_closed)
    soak.res.counts["zero"] = int(ok)
    for word in ("wchs", "cons"):
        soak.res.final_text[word] = await four_letter(host, port, word)
    lag.cancel()
    return soak.res


# ---------------------------------------------------------------- the bounds (pure; unit-tested)

RSS_GROWTH_BOUND_KB = 64 * 1024   # churn at constant load may grow RSS by at most this (CI and --long)
FD_GROWTH_BOUND = 10              # fds at idle after the soak vs before it; and loaded-1 vs loaded-0 (+ slack)
FD_LOADED_SLACK = 50              # connections being replaced at the moment of the loaded sample


def check_bounds(res: SoakResult, expect_sessions: int, expect_watches: int) -> List[str]:
    out = []
    m = res.marks
    for name in ("idle-0", "loaded-0", "loaded-1", "idle-1"):
        if name not in m:
            return [f"no {name} sample"]
    if m["loaded-0"].ephemerals != expect_sessions:
        out.append(f"loaded-0: {m['loaded-0'].ephemerals} ephemerals, expected {expect_sessions}")
    # At loaded-1, sessions dropped in the last seconds of the churn have not expired yet: their ephemerals count.
    drops = res.counts.get("drop", 0)
    if not expect_sessions <= m["loaded-1"].ephemerals <= expect_sessions + drops:
        out.append(f"loaded-1: {m['loaded-1'].ephemerals} ephemerals, expected {expect_sessions} live sessions' "
                   f"plus at most {drops} of dropped sessions not yet expired")
    for name in ("loaded-0", "loaded-1"):
        if m[name].watches < expect_watches * 0.95:
            out.append(f"{name}: {m[name].watches} watches, expected about {expect_watches}")
    grow = m["loaded-1"].rss_kb - m["loaded-0"].rss_kb
    if grow > RSS_GROWTH_BOUND_KB:
        out.append(f"RSS grew by {grow / 1024:.1f} MiB under the same load (bound {RSS_GROWTH_BOUND_KB / 1024:.0f} MiB)")
    grow_idle = m["idle-1"].rss_kb - m["loaded-0"].rss_kb
    if grow_idle > RSS_GROWTH_BOUND_KB:
        out.append(f"RSS after the soak is {grow_idle / 1024:.1f} MiB above the loaded baseline "
                   f"(bound {RSS_GROWTH_BOUND_KB / 1024:.0f} MiB)")
    if m["idle-1"].fds > m["idle-0"].fds + FD_GROWTH_BOUND:
        out.append(f"fds {m['idle-0'].fds} before the soak, {m['idle-1'].fds} after (bound +{FD_GROWTH_BOUND})")
    if m["loaded-1"].fds > m["loaded-0"].fds + FD_LOADED_SLACK:
        out.append(f"fds under load {m['loaded-0'].fds} -> {m['loaded-1'].fds} (bound +{FD_LOADED_SLACK})")
    if res.server_closed:
        out.append(f"{len(res.server_closed)} sessions that kept pinging were closed by the server, e.g. "
                   + "; ".join(res.server_closed[:3]))
    if not res.counts.get("zero"):
        last = res.samples[-1] if res.samples else None
        out.append(f"watch/ephemeral/connection counts did not return to zero: {last}")
    if m["idle-1"].watches != 0 or m["idle-1"].ephemerals != 0 or m["idle-1"].connections > 1:
        out.append(f"after the soak: watches {m['idle-1'].watches}, ephemerals {m['idle-1'].ephemerals}, "
                   f"connections {m['idle-1'].connections} (the mntr connection itself is 1)")
    wchs = res.final_text.get("wchs", "")
    total = re.search(r"Total watches:\s*(\d+)", wchs)
    if total is None or int(total.group(1)) != 0:
        out.append(f"wchs does not report 0 watches: {wchs!r}")
    cons = [l for l in res.final_text.get("cons", "").splitlines() if l.strip()]
    if len(cons) > 1:
        out.append(f"cons lists {len(cons)} connections after the soak (only its own expected): {cons[:5]}")
    return out


def write_csv(res: SoakResult, path) -> None:
    with open(path, "w") as f:
        f.write("t_s,phase,rss_kb,fds,sessions,watches,ephemerals,connections\n")
        for s in res.samples:
            f.write(f"{s.t:.2f},{s.phase},{s.rss_kb},{s.fds},{s.sessions},{s.watches},{s.ephemerals},{s.connections}\n")


def plot(res: SoakResult, path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = [s.t / 60 for s in res.samples]
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    a1.plot(t, [s.rss_kb / 1024 for s in res.samples], color="tab:blue")
    a1.set_ylabel("RSS (MiB)")
    a2.plot(t, [s.fds for s in res.samples], color="tab:orange")
    a2.set_ylabel("open fds")
    counted = [s for s in res.samples if s.watches >= 0]  # samples with mntr
    tc = [s.t / 60 for s in counted]
    a3.plot(tc, [s.watches / 1000 for s in counted], marker=".", label="watches (k)")
    a3.plot(tc, [s.ephemerals / 100 for s in counted], marker=".", label="ephemerals (x100)")
    a3.plot(tc, [s.connections / 100 for s in counted], marker=".", label="connections (x100)")
    a3.set_ylabel("server counts")
    a3.set_xlabel("minutes")
    a3.legend(loc="upper right")
    for name, s in res.marks.items():
        for ax in (a1, a2, a3):
            ax.axvline(s.t / 60, color="grey", linestyle=":", linewidth=0.8)
        a1.annotate(name, (s.t / 60, s.rss_kb / 1024), fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
