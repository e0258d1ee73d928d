"""The checker of the crash loops: from the history of every write that was sent (acknowledged, failed, or of
unknown outcome), what a tree may and may not contain. Pure: no server, no network. Written for this project.

A history is a list of `Write`s in the order each client issued them. The workload guarantees three things
the checker relies on (and `check` refuses a history that breaks them):

- every plain key (a non-sequential path) is written by one client only, one request at a time, so the writes
  of one key are totally ordered by issue order;
- a key is never created again after it was deleted, and never written again after a write of unknown
  outcome touched it (the client abandons it);
- sequential creates of one parent come from one client, one at a time, each with a data value used once.

Model of a key: the set of states it may be in, a state being (exists, data, version). Going through its
writes in order:

- acknowledged: the write applied, to one of the possible states; the new set is the results (for setData,
  those with the version the server returned). No possible state admits the write: a violation (an earlier
  acknowledged write was lost, a version was not bumped, ...).
- failed with a definite error (NoNode, NodeExists, BadVersion, a failed multi): it did not apply; the states
  in which it would have succeeded are removed. None left: a violation.
- unknown outcome (connection loss, session expired, timeout): it may or may not have applied. The set grows
  by the results of applying it.

A multi is atomic: acknowledged or failed, every op of it counts together; of unknown outcome, its keys are
checked together: either every op applied or none did (its keys are abandoned afterwards, so that constraint
is checked on the final tree only).

Final checks against a tree (a dict path -> (data, version), of everything under the workload's root):

- every key's node is in one of its possible states (missing, extra, wrong data, wrong version: violation);
- no node exists that no client ever sent a create for, and no node holds data that was never sent for it;
- sequential children: each acknowledged one exists with its data; the suffixes acknowledged to one parent
  strictly increase in issue order (so the counter never went back, across restarts too); a child with a
  suffix nobody acknowledged must carry the data of an unknown-outcome create, issued between the
  acknowledged creates whose suffixes surround it; a data value appears at most once (a create applied twice
  is a violation);
- ephemerals (`check_ephemerals`): those of sessions that are alive exist with that session as owner, those of
  sessions that did not come back are gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

ACK = "ack"
FAILED = "failed"
UNKNOWN = "unknown"
PENDING = "pending"  # sent, no answer yet (a history is only checked once every write has an outcome)

CREATE = "create"
SET = "set"
DELETE = "delete"
CHECK = "check"       # only inside a multi: a version check, writes nothing
SEQ_CREATE = "seq"    # a sequential create: path is the parent, the server picks the name

# (exists, data, version); the state of a key that does not exist is ABSENT.
State = Tuple[bool, Optional[bytes], int]
ABSENT: State = (False, None, -1)


@dataclass
class Op:
    kind: str
    path: str                        # the key; for SEQ_CREATE the parent
    data: Optional[bytes] = None
    version: int = -1                # the expected version of SET (-1: any) and CHECK
    result_version: Optional[int] = None   # an acknowledged SET: the version the server returned
    result_path: Optional[str] = None      # an acknowledged SEQ_CREATE: the name the server chose


@dataclass
class Write:
    """One request: a single op, or a multi (several ops, atomic)."""
    client: str
    ops: List[Op]
    outcome: str = PENDING
    note: str = ""                  # e.g. the error, for messages
    seqno: int = 0                  # issue order within its client (filled by History.add)

    @property
    def is_multi(self) -> bool:
        return len(self.ops) > 1 or (self.ops and self.ops[0].kind == CHECK)

    def describe(self) -> str:
        ops = ", ".join(f"{o.kind} {o.path}" + (f"={o.data!r}" if o.data is not None else "")
                        + (f" v{o.version}" if o.version >= 0 else "") for o in self.ops)
        return f"{self.client}#{self.seqno} [{ops}] -> {self.outcome}{' (' + self.note + ')' if self.note else ''}"


@dataclass
class History:
    writes: List[Write] = field(default_factory=list)
    _next: Dict[str, int] = field(default_factory=dict)

    def add(self, w: Write) -> Write:
        n = self._next.get(w.client, 0) + 1
        self._next[w.client] = n
        w.seqno = n
        self.writes.append(w)
        return w

    def count(self, outcome: str) -> int:
        return sum(1 for w in self.writes if w.outcome == outcome)


def apply(op: Op, s: State) -> Optional[State]:
    """The state after op, or None if op fails in state s."""
    exists, data, version = s
    if op.kind == CREATE:
        return None if exists else (True, op.data, 0)
    if op.kind == SET:
        if not exists or (op.version >= 0 and op.version != version):
            return None
        return (True, op.data, version + 1)
    if op.kind == DELETE:
        if not exists or (op.version >= 0 and op.version != version):
            return None
        return ABSENT
    if op.kind == CHECK:
        return s if exists and op.version == version else None
    raise ValueError(f"apply: {op.kind}")


def _fmt(states: Iterable[State]) -> str:
    def one(s: State) -> str:
        return "absent" if not s[0] else f"{s[1]!r} v{s[2]}"
    return "{" + ", ".join(sorted(one(s) for s in states)) + "}"


@dataclass
class _Seq:
    """What one client did under one sequential parent, in issue order."""
    entries: List[Tuple[str, bytes, Optional[str], str]] = field(default_factory=list)  # (outcome, data, path, who)


class Checker:
    """Runs a history through the model. `problems` collects violations (strings)."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.problems: List[str] = []
        self.states: Dict[str, FrozenSet[State]] = {}
        self.abandoned: Set[str] = set()
        self.deleted: Set[str] = set()
        self.owner: Dict[str, str] = {}
        self.sent_data: Dict[str, Set[bytes]] = {}   # every data value ever sent for a path
        self.seq: Dict[str, _Seq] = {}
        self.seq_owner: Dict[str, str] = {}
        # unknown multis: [(keys, before states per key, after states per key, write)]
        self.joint: List[Tuple[List[str], Dict[str, FrozenSet[State]], Dict[str, FrozenSet[State]], Write]] = []
        self._done = 0
        self.advance()

    def advance(self) -> None:
        """Takes in the writes added to the history since the last call (the crash loop checks after every
        round without going through the whole history again). Every write taken in must have its outcome."""
        self._run(self.history.writes[self._done:])
        self._done = len(self.history.writes)

    # ---------------------------------------------------------------- the history

    def _claim(self, path: str, client: str, w: Write) -> None:
        owner = self.owner.setdefault(path, client)
        if owner != client:
            raise ValueError(f"history breaks the workload's rules: {path} written by {owner} and {client}")
        if path in self.abandoned:
            raise ValueError(f"history breaks the workload's rules: {path} written after an unknown outcome "
                             f"({w.describe()})")

    def _run(self, writes: List[Write]) -> None:
        for w in writes:
            if w.outcome == PENDING:
                raise ValueError(f"history has a write without an outcome: {w.describe()}")
            seq_ops = [o for o in w.ops if o.kind == SEQ_CREATE]
            if seq_ops:
                if len(w.ops) != 1:
                    raise ValueError("sequential creates inside a multi are not modelled")
                self._seq(w, seq_ops[0])
                continue
            for o in w.ops:
                self._claim(o.path, w.client, w)
                if o.kind == CREATE and o.path in self.deleted:
                    raise ValueError(f"history breaks the workload's rules: {o.path} created again after delete")
                if o.data is not None:
                    self.sent_data.setdefault(o.path, set()).add(o.data)
            before = {o.path: self.states.get(o.path, frozenset([ABSENT])) for o in w.ops}
            # The ops of one write run in order on a scratch copy (a multi may touch a key twice).
            outcomes = self._explore(w.ops, before)
            if w.outcome == ACK:
                ok = [after for after in outcomes if after is not None]
                if not ok:
                    self.problems.append(f"acknowledged write cannot have applied: {w.describe()}; states before "
                                         + "; ".join(f"{k} {_fmt(v)}" for k, v in before.items()))
                    continue  # keep the old states: one violation reported once
                for k in before:
                    self.states[k] = frozenset(after[k] for after in ok)
                for o in w.ops:
                    if o.kind == DELETE:
                        self.deleted.add(o.path)
            elif w.outcome == FAILED:
                # It did not apply: only states in which it would have failed remain, per key for a single op;
                # for a multi, the combination is not tracked per key (kept as is).
                if len(w.ops) == 1:
                    o = w.ops[0]
                    remain = frozenset(s for s in before[o.path] if apply(o, s) is None)
                    if not remain:
                        self.problems.append(f"write failed although it must have succeeded: {w.describe()}; "
                                             f"state before {_fmt(before[o.path])}")
                    else:
                        self.states[o.path] = remain
            else:  # UNKNOWN
                ok = [after for after in outcomes if after is not None]
                for k in before:
                    self.abandoned.add(k)
                if len(before) > 1:
                    after = {k: frozenset(a[k] for a in ok) for k in before}
                    self.joint.append((list(before), before, after, w))
                for k in before:
                    self.states[k] = before[k] | frozenset(a[k] for a in ok)

    def _explore(self, ops: Sequence[Op], before: Dict[str, FrozenSet[State]]) -> List[Optional[Dict[str, State]]]:
        """Every combination of possible before-states, run through ops; None where some op fails. Acknowledged
        SETs must produce the version the server returned."""
        keys = list(before)
        combos: List[Dict[str, State]] = [{}]
        for k in keys:
            combos = [dict(c, **{k: s}) for c in combos for s in before[k]]
        out: List[Optional[Dict[str, State]]] = []
        for c in combos:
            cur = dict(c)
            failed = False
            for o in ops:
                nxt = apply(o, cur[o.path])
                if nxt is None or (o.kind == SET and o.result_version is not None and nxt[2] != o.result_version):
                    failed = True
                    break
                cur[o.path] = nxt
            out.append(None if failed else cur)
        return out

    def _seq(self, w: Write, o: Op) -> None:
        owner = self.seq_owner.setdefault(o.path, w.client)
        if owner != w.client:
            raise ValueError(f"history breaks the workload's rules: sequential parent {o.path} used by two clients")
        if w.outcome == ACK and not o.result_path:
            raise ValueError(f"acknowledged sequential create without its path: {w.describe()}")
        self.seq.setdefault(o.path, _Seq()).entries.append((w.outcome, o.data, o.result_path, w.describe()))

    # ---------------------------------------------------------------- against a tree

    def check_tree(self, tree: Dict[str, Tuple[bytes, int]], structural: Iterable[str] = ()) -> List[str]:
        """Violations of the final tree (path -> (data, version)). `structural` are paths the test made
        itself (the root, per-client directories); they are not writes and are skipped."""
        problems = list(self.problems)
        structural = set(structural)
        for k, states in self.states.items():
            node = tree.get(k)
            actual: State = ABSENT if node is None else (True, node[0], node[1])
            if actual not in states:
                problems.append(f"{k}: is {_fmt([actual])}, history allows {_fmt(states)}")
        for keys, before, after, w in self.joint:
            actual = {k: (ABSENT if tree.get(k) is None else (True, tree[k][0], tree[k][1])) for k in keys}
            none = all(actual[k] in before[k] for k in keys)
            every = all(actual[k] in after[k] for k in keys)
            if not none and not every:
                problems.append(f"multi of unknown outcome applied in part: {w.describe()}; tree "
                                + "; ".join(f"{k} {_fmt([actual[k]])}" for k in keys))
        seq_children: Dict[str, Dict[str, bytes]] = {p: {} for p in self.seq}
        for path, (data, version) in tree.items():
            if path in structural or path in self.states:
                continue
            parent = path.rsplit("/", 1)[0] or "/"
            if parent in self.seq:
                seq_children[parent][path] = data
                if version != 0:
                    problems.append(f"{path}: sequential node (never written after its create) has version {version}")
                continue
            problems.append(f"{path}: exists with {data!r}, but no client ever sent a create for it")
        for parent, s in self.seq.items():
            problems += self._check_seq(parent, s, seq_children[parent])
        return problems

    @staticmethod
    def _suffix(path: str) -> int:
        return int(path[-10:])

    def _check_seq(self, parent: str, s: _Seq, children: Dict[str, bytes]) -> List[str]:
        out: List[str] = []
        acked = [(i, e) for i, e in enumerate(s.entries) if e[0] == ACK]
        last = -1
        for i, (outcome, data, path, who) in acked:
            n = self._suffix(path)
            if n <= last:
                out.append(f"{parent}: sequence went back: {who} got suffix {n} after {last} had been acknowledged")
            last = max(last, n)
            if children.get(path) != data:
                got = "missing" if path not in children else repr(children[path])
                out.append(f"{path}: acknowledged sequential create with {data!r} is {got}")
        acked_paths = {e[2] for _, e in acked}
        seen_data: Dict[bytes, str] = {}
        for path, data in sorted(children.items()):
            if data in seen_data:
                out.append(f"{path}: data {data!r} also in {seen_data[data]}: one create applied twice")
            seen_data[data] = path
            if path in acked_paths:
                continue
            idx = next((i for i, e in enumerate(s.entries) if e[0] == UNKNOWN and e[1] == data), None)
            if idx is None:
                out.append(f"{path}: holds {data!r}, which no unknown-outcome create under {parent} sent")
                continue
            n = self._suffix(path)
            lo = max((self._suffix(e[2]) for i, e in acked if i < idx), default=-1)
            hi = min((self._suffix(e[2]) for i, e in acked if i > idx), default=None)
            if n <= lo or (hi is not None and n >= hi):
                out.append(f"{path}: unknown-outcome create {s.entries[idx][3]} landed at suffix {n}, outside "
                           f"({lo}, {hi}) given by the acknowledged creates around it")
        return out

    def acked_count(self) -> int:
        return self.history.count(ACK)


def check_ephemerals(tree_paths: Dict[str, int], alive: Dict[str, int], gone: Iterable[str]) -> List[str]:
    """tree_paths: path -> ephemeralOwner of the nodes looked at; alive: path -> session id that must own it;
    gone: ephemerals of sessions that did not come back (must be absent)."""
    out = []
    for p, sid in alive.items():
        owner = tree_paths.get(p)
        if owner is None:
            out.append(f"{p}: ephemeral of live session {sid:#x} is missing")
        elif owner != sid:
            out.append(f"{p}: ephemeral of live session {sid:#x} is owned by {owner:#x}")
    for p in gone:
        if p in tree_paths:
            out.append(f"{p}: ephemeral of a session that did not come back (owner {tree_paths[p]:#x}) still exists")
    return out
