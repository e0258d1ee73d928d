"""A linearizability checker for histories of a versioned register (ZooKeeper getData / setData / CAS).

Written for this project from the published algorithms (no code copied from any checker):
  - J. M. Wing and C. Gong, "Testing and verifying concurrent objects" (1993): depth-first search for a
    linearization, trying at each step every operation that is minimal in real-time order.
  - G. Lowe, "Testing for linearizability" (2017): the search over a doubly linked list of call/return
    entries with a stack for backtracking, and memoisation of (set of linearized operations, model state)
    configurations already explored, which keeps the search polynomial in practice.
  - Per-key partitioning (P-compositionality, Horn & Kroening 2015): a history of independent registers is
    linearizable iff each key's sub-history is, so each key is checked alone.

The model: one register per key with state (value, version). A znode's data and its stat.version.
  read          ok: returned (value, version) must equal the state.
  write(v)      setData(version=-1); ok: state becomes (v, version+1); if the returned stat.version is
                known it must equal version+1.
  cas(v, e)     setData(version=e); ok: requires version == e, state becomes (v, e+1) (and the returned
                version, if known, must be e+1); fail (BadVersion): requires version != e, state unchanged.

Outcomes:
  "ok"    the operation took effect, with the given result.
  "fail"  the operation definitely did not take effect (for a cas: BadVersion, which is also an observation
          that the version was not e at that point). A failed read or write carries no information and
          is dropped.
  "info"  unknown (timeout, connection loss): it may have taken effect at any point after its call, or
          never. Such an operation's return is treated as +infinity: it is never forced to precede
          anything, and the search succeeds once every operation with a known outcome is linearized.
          An "info" read is dropped (a read that may not have happened constrains nothing).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Hashable, Iterable, List, Optional, Sequence, Tuple

READ = "read"
WRITE = "write"
CAS = "cas"
OK = "ok"
FAIL = "fail"
INFO = "info"

State = Tuple[Any, int]  # (value, version)
INF = math.inf


@dataclass
class Op:
    """One operation of a history.

    process: who issued it (for reports only). call/ret: time.monotonic() at invocation and completion
    (ret is ignored for "info"). value: written value (write/cas). expected: the cas's expected version.
    result: read -> (value, version); write/cas ok -> the new version, or None if unknown.
    """
    process: Any
    kind: str
    key: Hashable
    call: float
    ret: Optional[float]
    outcome: str
    value: Any = None
    expected: Optional[int] = None
    result: Any = None
    index: int = field(default=-1, compare=False)  # position in the original history (reports)

    def describe(self) -> str:
        ret = "inf" if self.outcome == INFO or self.ret is None else f"{self.ret:.6f}"
        if self.kind == READ:
            what = f"read -> {self.result!r}"
        elif self.kind == WRITE:
            what = f"write({self.value!r}) -> version {self.result!r}"
        else:
            what = f"cas({self.value!r}, expected={self.expected}) -> {self.result!r}"
        return f"#{self.index} p={self.process} {what} [{self.outcome}] call={self.call:.6f} ret={ret}"


def step(state: State, op: Op) -> Optional[State]:
    """The register model: the state after op (taking effect, with its recorded result), or None if op
    cannot take effect with that result in this state."""
    value, version = state
    if op.kind == READ:
        return state if tuple(op.result) == state else None
    if op.kind == WRITE:
        if op.outcome == OK and op.result is not None and op.result != version + 1:
            return None
        return (op.value, version + 1)
    if op.kind == CAS:
        if op.outcome == FAIL:
            return state if version != op.expected else None
        if version != op.expected:
            return None
        if op.outcome == OK and op.result is not None and op.result != op.expected + 1:
            return None
        return (op.value, op.expected + 1)
    raise ValueError(f"unknown operation kind {op.kind!r}")


def relevant(op: Op) -> bool:
    """Operations that constrain or change the register."""
    if op.kind == READ:
        return op.outcome == OK
    if op.kind == WRITE:
        return op.outcome in (OK, INFO)
    return op.outcome in (OK, FAIL, INFO)  # cas


@dataclass
class Result:
    ok: bool
    key: Hashable = None
    ops: int = 0               # operations checked (after dropping irrelevant ones)
    steps: int = 0             # search steps
    configurations: int = 0    # memoised configurations
    seconds: float = 0.0
    exhausted: bool = False    # the step budget ran out (neither proven nor refuted)
    explanation: str = ""

    def __bool__(self) -> bool:
        return self.ok


class _Entry:
    __slots__ = ("op", "is_call", "time", "match", "prev", "next", "id")

    def __init__(self, op: Optional[Op], is_call: bool, t: float, oid: int) -> None:
        self.op = op
        self.is_call = is_call
        self.time = t
        self.match: Optional[_Entry] = None
        self.prev: Optional[_Entry] = None
        self.next: Optional[_Entry] = None
        self.id = oid


def _build_list(ops: Sequence[Op]) -> _Entry:
    entries: List[_Entry] = []
    for i, op in enumerate(ops):
        ret = INF if op.outcome == INFO or op.ret is None else op.ret
        if ret < op.call:
            raise ValueError(f"operation returns before its call: {op.describe()}")
        c = _Entry(op, True, op.call, i)
        r = _Entry(op, False, ret, i)
        c.match = r
        entries += [c, r]
    # Time order; at equal times calls come first, so operations that touch are treated as concurrent
    # (the lenient choice: a tie never forces an order).
    entries.sort(key=lambda e: (e.time, 0 if e.is_call else 1, e.id))
    head = _Entry(None, False, -INF, -1)
    prev = head
    for e in entries:
        prev.next = e
        e.prev = prev
        prev = e
    return head


def _lift(e: _Entry) -> None:
    e.prev.next = e.next
    if e.next is not None:
        e.next.prev = e.prev
    m = e.match
    m.prev.next = m.next
    if m.next is not None:
        m.next.prev = m.prev


def _unlift(e: _Entry) -> None:
    m = e.match
    m.prev.next = m
    if m.next is not None:
        m.next.prev = m
    e.prev.next = e
    if e.next is not None:
        e.next.prev = e


def check_register(ops: Sequence[Op], initial: State, key: Hashable = None,
                   max_steps: int = 20_000_000) -> Result:
    """Is this single-key history linearizable for the versioned register starting at `initial`?"""
    t0 = time.monotonic()
    for i, op in enumerate(ops):
        if op.index < 0:
            op.index = i
    ops = [op for op in ops if relevant(op)]
    res = Result(ok=False, key=key, ops=len(ops))
    if not ops:
        res.ok = True
        return res
    head = _build_list(ops)
    state: State = tuple(initial)  # type: ignore[assignment]
    linearized = 0
    stack: List[Tuple[_Entry, State]] = []
    cache = set()
    entry = head.next
    steps = 0
    deepest = (-1, None, None, [])  # (depth, blocking op, state, last linearized ops)

    while True:
        if head.next is None:
            res.ok = True
            break
        steps += 1
        if steps > max_steps:
            res.exhausted = True
            res.explanation = (f"search budget of {max_steps} steps exhausted after {len(cache)} configurations "
                               f"(deepest linearized prefix: {deepest[0]} of {len(ops)} operations)")
            break
        if entry.is_call:
            new_state = step(state, entry.op)
            if new_state is not None:
                new_lin = linearized | (1 << entry.id)
                config = (new_lin, new_state)
                if config not in cache:
                    cache.add(config)
                    stack.append((entry, state))
                    state = new_state
                    linearized = new_lin
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            if entry.time == INF:
                # Only operations of unknown outcome are left: they can all be left out.
                res.ok = True
                break
            if len(stack) > deepest[0]:
                deepest = (len(stack), entry.op, state, [e.op for e, _ in stack[-5:]])
            if not stack:
                break
            entry, state = stack.pop()
            linearized &= ~(1 << entry.id)
            _unlift(entry)
            entry = entry.next

    res.steps = steps
    res.configurations = len(cache)
    res.seconds = time.monotonic() - t0
    if not res.ok and not res.exhausted:
        depth, blocking, st, last = deepest
        lines = [f"key {key!r}: not linearizable ({len(ops)} operations). The longest linearizable prefix has "
                 f"{depth} operations; after it the register is {st!r}, and this operation cannot be placed "
                 f"before it must return:", "  " + blocking.describe()]
        if last:
            lines.append("  the last operations of that prefix:")
            lines += ["    " + o.describe() for o in last]
        concurrent = [o for o in ops if o is not blocking and o.call <= (blocking.ret or INF)
                      and (o.outcome == INFO or o.ret is None or o.ret >= blocking.call)]
        if concurrent:
            lines.append(f"  operations concurrent with it ({len(concurrent)}, first 10):")
            lines += ["    " + o.describe() for o in concurrent[:10]]
        res.explanation = "\n".join(lines)
    return res


def check(ops: Iterable[Op], initial: Dict[Hashable, State], max_steps: int = 20_000_000) -> Dict[Hashable, Result]:
    """Checks a multi-key history key by key. `initial` gives each key's state before the history."""
    by_key: Dict[Hashable, List[Op]] = {}
    for i, op in enumerate(ops):
        if op.index < 0:
            op.index = i
        by_key.setdefault(op.key, []).append(op)
    return {k: check_register(v, initial[k], key=k, max_steps=max_steps) for k, v in sorted(
        by_key.items(), key=lambda kv: str(kv[0]))}
