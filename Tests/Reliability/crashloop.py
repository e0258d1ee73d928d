"""The kill -9 loop shared by the standalone and the ensemble crash tests.

One round:
  1. two Doomed sessions (raw, 1 s timeout) each create an ephemeral, and are pinged while the load runs;
  2. the writers (crashload.DurableWriter) run; after a random delay the target kills something with -9
     (standalone: the server; ensemble: a replica or an etcd member) and the Doomed sockets are dropped;
  3. the target restarts what it killed (same data dir);
  4. every writer must get a write acknowledged after the restart (bounded), then the writers stop;
  5. checks: the tree under the root against the whole history (history.Checker); the Keepers' ephemerals are
     there with their sessions (or gone, if the session was reported LOST); every Doomed ephemeral of every
     round so far is gone within its session timeout plus a bound.
A violation fails the round with the seed printed by the test.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from kazoo.client import KazooClient

import history as h
from zkraw import Err, Op, RawSession, Reply, Writer
from crashload import DurableWriter, Doomed, Keeper

WRITERS_BACK_S = 20.0     # every writer has a write acknowledged within this long after the restart
EPHEMERAL_GRACE_S = 8.0   # a Doomed ephemeral is gone within its session timeout plus this


class Target:
    """What the loop kills. Subclasses: StandaloneTarget (test_crash_loop.py), EnsembleTarget."""
    name = ""

    def writer_hosts(self, i: int) -> str:
        raise NotImplementedError

    def doomed_endpoint(self, rng: random.Random) -> Tuple[str, int]:
        raise NotImplementedError

    def check_hosts(self, rng: random.Random) -> str:
        raise NotImplementedError

    def dump_endpoint(self, rng: random.Random) -> Tuple[str, int]:
        """The server whose tree is checked this round."""
        raise NotImplementedError

    def kill(self, rng: random.Random) -> str:
        """kill -9 something; returns what (for the log)."""
        raise NotImplementedError

    def restart(self, rng: random.Random) -> None:
        raise NotImplementedError

    def make_client(self, hosts: str) -> KazooClient:
        raise NotImplementedError

    def final_checks(self, root: str) -> List[str]:
        return []


@dataclass
class LoopStats:
    rounds: int = 0
    acked: int = 0
    unknown: int = 0
    failed: int = 0
    lost: int = 0
    nodes: int = 0
    doomed_expired: int = 0
    max_expiry_s: float = 0.0
    max_back_s: float = 0.0
    kills: List[str] = field(default_factory=list)
    checker: Optional[h.Checker] = None      # for the tamper check of the tests (the live checker is not vacuous)
    wroot: str = ""
    structural: List[str] = field(default_factory=list)


@dataclass
class RawNode:
    data: bytes
    version: int
    ephemeralOwner: int


def raw_dump(host: str, port: int, root: str, batch: int = 500) -> Dict[str, RawNode]:
    """Every node under root (inclusive) on the server at host:port, after a sync: getData and getChildren,
    pipelined level by level over one raw connection (kazoo's per-request overhead made a dump of a few
    thousand nodes take seconds, most of a round)."""
    s = RawSession.connect(host, port, session_timeout_ms=10000, timeout=20.0)
    try:
        s.sync(root)
        out: Dict[str, RawNode] = {}
        level = [root]
        while level:
            nxt: List[str] = []
            for i in range(0, len(level), batch):
                chunk = level[i:i + batch]
                xids = []
                for p in chunk:
                    xids.append((p, s.send(Op.GET_DATA, Writer().string(p).bool(False).bytes()),
                                 s.send(Op.GET_CHILDREN, Writer().string(p).bool(False).bytes())))
                replies = {}
                while len(replies) < 2 * len(chunk):
                    m = s.receive()
                    if isinstance(m, Reply) and m.xid > 0:
                        replies[m.xid] = m
                for p, xd, xc in xids:
                    d, c = replies[xd], replies[xc]
                    if d.err == Err.NO_NODE or c.err == Err.NO_NODE:
                        continue  # an ephemeral that expired between listing and reading
                    if d.err or c.err:
                        raise AssertionError(f"dump of {p}: errors {d.err}, {c.err}")
                    r = d.reader()
                    data = r.buffer() or b""
                    st = r.stat()
                    out[p] = RawNode(data, st.version, st.ephemeralOwner)
                    nxt.extend(("" if p == "/" else p) + "/" + name for name in sorted(c.reader().strings()))
            level = nxt
        return out
    finally:
        s.close()


def _check_doomed(c: KazooClient, eroot: str, gone_doomed: list, owners: Dict[str, int], stats: LoopStats,
                  wait: bool) -> List[str]:
    """Ephemerals of abandoned sessions: those present past their due time are violations. Those gone are
    removed from the list (and counted). With wait, waits (bounded) until every one is due or gone."""
    while True:
        now = time.monotonic()
        present = set(c.get_children(eroot))
        for g in list(gone_doomed):
            if g[0].rsplit("/", 1)[1] not in present:
                gone_doomed.remove(g)
                stats.doomed_expired += 1
                stats.max_expiry_s = max(stats.max_expiry_s, now - g[1])
        late = [g[0] for g in gone_doomed if now - g[1] > g[2] + EPHEMERAL_GRACE_S]
        if late:
            return h.check_ephemerals({p: owners.get(p, 0) for p in late}, {}, late)
        if not wait or not gone_doomed:
            return []
        time.sleep(0.05)


def tamper_is_caught(stats: LoopStats, host: str, port: int) -> List[str]:
    """After a clean loop: forge the data of one acknowledged node, delete another, and create a node nobody
    sent, behind the checker's back; the same dump-and-check path must report all three."""
    tree = raw_dump(host, port, stats.wroot)
    certain = sorted(k for k, v in stats.checker.states.items() if len(v) == 1 and k in tree)
    assert len(certain) >= 2, "no acknowledged nodes to tamper with"
    s = RawSession.connect(host, port)
    try:
        s.set_data(certain[0], b"forged")
        s.delete(certain[1])
        s.create(stats.wroot + "/" + stats.structural[3].rsplit("/", 1)[1] + "-intruder", b"never sent")
    finally:
        s.close()
    tree = raw_dump(host, port, stats.wroot)
    found = stats.checker.check_tree({p: (n.data, n.version) for p, n in tree.items()}, stats.structural)
    missing = [what for what, key in (("forged data", certain[0]), ("deleted node", certain[1]),
                                      ("node never sent", "-intruder")) if not any(key in p for p in found)]
    return missing


def run_crash_loop(target: Target, root: str, seed: int, rounds: int, n_writers: int,
                   load_s: Tuple[float, float] = (0.2, 1.0), budget_s: Optional[float] = None,
                   log: Callable[[str], None] = print) -> LoopStats:
    rng = random.Random(seed)
    hist = h.History()
    lock = threading.Lock()
    stats = LoopStats()
    clients: List[KazooClient] = []
    writers: List[DurableWriter] = []
    checker: Optional[h.Checker] = None

    def client(hosts: str) -> KazooClient:
        c = target.make_client(hosts)
        c.start(timeout=20)
        clients.append(c)
        return c

    try:
        setup = checker_client = client(target.check_hosts(rng))
        wroot, eroot = f"{root}/w", f"{root}/eph"
        setup.ensure_path(wroot)
        setup.ensure_path(eroot)
        for i in range(n_writers):
            w = DurableWriter(client(target.writer_hosts(i)), f"c{i}", wroot, hist, lock, seed)
            w.setup()
            writers.append(w)
        structural = [root, wroot, eroot] + [p for w in writers for p in w.structural]
        keepers = []
        for i in range(2):
            k = Keeper(client(target.writer_hosts(i)), f"{eroot}/keeper-{i}")
            k.create()
            keepers.append(k)
        gone_doomed: List[list] = []  # [path, latest restart, session timeout s] not yet seen gone

        t_start = time.monotonic()
        for r in range(rounds):
            if budget_s is not None and r > 0 and time.monotonic() - t_start > budget_s:
                log(f"time budget of {budget_s:.0f}s reached after {r} rounds")
                break
            doomed = []
            for i in range(2):
                host, port = target.doomed_endpoint(rng)
                doomed.append(Doomed(host, port, f"{eroot}/d{r}-{i}"))
            for w in writers:
                w.start()
            delay = rng.uniform(*load_s)
            t_end = time.monotonic() + delay
            while time.monotonic() < t_end:
                time.sleep(min(0.2, max(0.0, t_end - time.monotonic())))
                for d in doomed:
                    d.s.ping()
            what = target.kill(rng)
            t_kill = time.monotonic()
            for d in doomed:
                d.abandon()
                gone_doomed.append([d.path, None, d.timeout_ms / 1000.0])
            target.restart(rng)
            t_restart = time.monotonic()
            for g in gone_doomed:
                g[1] = t_restart  # due: timeout + grace after the latest restart (a kill resets session timers)
            deadline = t_restart + WRITERS_BACK_S
            while time.monotonic() < deadline and not all(w.last_ack > t_restart for w in writers):
                time.sleep(0.02)
            back = [w.name for w in writers if w.last_ack <= t_restart]
            back_s = time.monotonic() - t_kill
            for w in writers:
                w.stop()
            unexpected = [u for w in writers for u in w.unexpected]
            assert not unexpected, "workload errors:\n" + "\n".join(unexpected[:20])
            assert not back, (f"round {r + 1} (seed {seed}): writers {back} got no write acknowledged within "
                              f"{WRITERS_BACK_S}s of the restart after {what}")
            stats.max_back_s = max(stats.max_back_s, back_s)

            # ---- checks
            t_check = time.monotonic()
            host, port = target.dump_endpoint(rng)
            tree = raw_dump(host, port, wroot)
            if checker is None:
                checker = h.Checker(hist)
            else:
                checker.advance()
            problems = checker.check_tree({p: (n.data, n.version) for p, n in tree.items()}, structural)
            eph_tree = raw_dump(host, port, eroot)
            alive = {k.path: k.session_id for k in keepers if not k.lost}
            owners = {p: n.ephemeralOwner for p, n in eph_tree.items() if p != eroot}
            problems += h.check_ephemerals(owners, alive, [k.path for k in keepers if k.lost])
            # Doomed ephemerals of this and earlier rounds: each must be gone by its session timeout + grace after
            # the restart that followed its abandonment; those not yet due are looked at again next round (and
            # waited for, bounded, after the last round).
            problems += _check_doomed(checker_client, eroot, gone_doomed, owners, stats, wait=False)

            stats.rounds = r + 1
            stats.acked = hist.count(h.ACK)
            stats.unknown = hist.count(h.UNKNOWN)
            stats.failed = hist.count(h.FAILED)
            stats.nodes = len(tree)
            stats.kills.append(what)
            stats.lost = len(problems)
            log(f"round {r + 1}/{rounds}: {what} after {delay:.2f}s of load; writers back {back_s:.2f}s after "
                f"the kill; writes acknowledged {stats.acked}, unknown {stats.unknown}, failed {stats.failed}; "
                f"{len(tree)} nodes, checked in {time.monotonic() - t_check:.2f}s; violations {len(problems)}")
            assert not problems, (f"round {r + 1} (seed {seed}), after {what}:\n" + "\n".join(problems[:30]))
        stats.checker, stats.wroot, stats.structural = checker, wroot, structural
        problems = _check_doomed(checker_client, eroot, gone_doomed, {}, stats, wait=True)
        problems += target.final_checks(root)
        lost_keepers = [k.path for k in keepers if k.lost]
        assert not lost_keepers, f"keeper sessions expired across kills (seed {seed}): {lost_keepers}"
        assert not problems, "\n".join(problems[:30])
        return stats
    finally:
        for w in writers:
            w.stop(5)
        for c in clients:
            try:
                c.stop()
                c.close()
            except Exception:  # noqa: BLE001
                pass
