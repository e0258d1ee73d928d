"""Dumping a replica's whole tree through a client connected to that replica only, and comparing dumps.

A dump maps every path to (data, czxid, mzxid, version, cversion, aversion, ephemeralOwner, numChildren).
Requests are pipelined (kazoo *_async, a bounded number in flight) so a tree of some thousands of nodes
dumps in about a second.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

BATCH = 400
CALL_TIMEOUT = 15.0


class Node(NamedTuple):
    data: bytes
    czxid: int
    mzxid: int
    version: int
    cversion: int
    aversion: int
    ephemeralOwner: int
    numChildren: int


Tree = Dict[str, Node]


def _child(parent: str, name: str) -> str:
    return ("" if parent == "/" else parent) + "/" + name


def dump_tree(client: KazooClient, root: str = "/", do_sync: bool = True) -> Tree:
    """Every node under (and including) root, as seen by this client's server, after a sync of root."""
    if do_sync:
        client.sync(root)
    tree: Tree = {}
    level = [root]
    while level:
        next_level: List[str] = []
        for i in range(0, len(level), BATCH):
            batch = level[i:i + BATCH]
            pending = [(p, client.get_async(p), client.get_children_async(p)) for p in batch]
            for path, data_res, children_res in pending:
                try:
                    data, stat = data_res.get(timeout=CALL_TIMEOUT)
                    children = children_res.get(timeout=CALL_TIMEOUT)
                except NoNodeError:
                    continue  # deleted between listing its parent and reading it (only while writes go on)
                tree[path] = Node(data or b"", stat.czxid, stat.mzxid, stat.version, stat.cversion,
                                  stat.aversion, stat.ephemeralOwner, stat.numChildren)
                next_level.extend(_child(path, c) for c in sorted(children))
        level = next_level
    return tree


def diff_trees(a: Tree, b: Tree, name_a: str = "a", name_b: str = "b", limit: int = 15) -> List[str]:
    """Human-readable differences (at most `limit`, plus a count of the rest); empty if identical."""
    out: List[str] = []
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    differ = sorted(p for p in set(a) & set(b) if a[p] != b[p])
    for p in only_a:
        out.append(f"{p}: only on {name_a} ({a[p]})")
    for p in only_b:
        out.append(f"{p}: only on {name_b} ({b[p]})")
    for p in differ:
        fields = [f"{f}: {getattr(a[p], f)!r} vs {getattr(b[p], f)!r}" for f in Node._fields
                  if getattr(a[p], f) != getattr(b[p], f)]
        out.append(f"{p}: {'; '.join(fields)}")
    if len(out) > limit:
        rest = len(out) - limit
        out = out[:limit] + [f"... and {rest} more ({len(only_a)} only on {name_a}, {len(only_b)} only on "
                             f"{name_b}, {len(differ)} differing)"]
    return out


def summarize(tree: Tree) -> str:
    max_mzxid = max((n.mzxid for n in tree.values()), default=0)
    return f"{len(tree)} nodes, max mzxid {max_mzxid:#x}"


def compare_all(dumps: Dict[int, Optional[Tree]]) -> List[str]:
    """Differences between the first dump and each other one (replica ids as names)."""
    ids = sorted(i for i, t in dumps.items() if t is not None)
    if not ids:
        return ["no dumps"]
    base = ids[0]
    out: List[str] = []
    for i in ids[1:]:
        d = diff_trees(dumps[base], dumps[i], f"replica {base}", f"replica {i}")
        if d:
            out.append(f"replica {base} vs replica {i}:")
            out.extend("  " + line for line in d)
    return out


def tree_stats(tree: Tree, under: str) -> Tuple[int, int]:
    """(nodes under the prefix, ephemerals under the prefix)."""
    prefix = under.rstrip("/") + "/"
    nodes = [n for p, n in tree.items() if p.startswith(prefix)]
    return len(nodes), sum(1 for n in nodes if n.ephemeralOwner)


def delete_tree(client: KazooClient, root: str) -> int:
    """Deletes root and everything under it with pipelined requests (kazoo's recursive delete does one
    round trip per node). Returns the number of nodes deleted. Only for quiescent subtrees."""
    if client.exists(root) is None:
        return 0
    levels: List[List[str]] = [[root]]
    while levels[-1]:
        nxt: List[str] = []
        for i in range(0, len(levels[-1]), BATCH):
            batch = levels[-1][i:i + BATCH]
            pending = [(p, client.get_children_async(p)) for p in batch]
            for p, res in pending:
                try:
                    nxt.extend(_child(p, c) for c in res.get(timeout=CALL_TIMEOUT))
                except NoNodeError:
                    pass
        levels.append(nxt)
    deleted = 0
    for level in reversed(levels):
        for i in range(0, len(level), BATCH):
            pending = [client.delete_async(p) for p in level[i:i + BATCH]]
            for res in pending:
                try:
                    res.get(timeout=CALL_TIMEOUT)
                    deleted += 1
                except NoNodeError:
                    pass
    return deleted
