"""The crash-loop and soak checkers reject fabricated bad histories and trees (so the live tests can fail),
and accept every tree a correct server could leave behind."""

from __future__ import annotations

import random

import pytest

import history as h
from history import ACK, FAILED, UNKNOWN, Op, Write


def hist(*writes):
    x = h.History()
    for w in writes:
        x.add(w)
    return x


def W(kind, path, data=None, outcome=ACK, client="c0", version=-1, result_version=None, result_path=None):
    return Write(client, [Op(kind, path, data, version=version, result_version=result_version,
                              result_path=result_path)], outcome)


def problems(history, tree, structural=("/r",)):
    return h.Checker(history).check_tree(tree, structural)


BASE = [W(h.CREATE, "/r/a", b"a0"), W(h.SET, "/r/a", b"a1", result_version=1), W(h.CREATE, "/r/b", b"b0"),
        W(h.DELETE, "/r/b")]
GOOD = {"/r": (b"", 0), "/r/a": (b"a1", 1)}


def test_accepts_the_expected_tree():
    assert problems(hist(*BASE), GOOD) == []


def test_lost_acknowledged_create():
    assert problems(hist(*BASE, W(h.CREATE, "/r/c", b"c0")), GOOD)


def test_lost_acknowledged_set_stale_value():
    bad = dict(GOOD, **{"/r/a": (b"a0", 0)})
    assert any("/r/a" in p for p in problems(hist(*BASE), bad))


def test_right_value_wrong_version():
    bad = dict(GOOD, **{"/r/a": (b"a1", 2)})
    assert problems(hist(*BASE), bad)


def test_lost_acknowledged_delete():
    bad = dict(GOOD, **{"/r/b": (b"b0", 0)})
    assert problems(hist(*BASE), bad)


def test_node_never_sent():
    assert any("no client ever sent" in p for p in problems(hist(*BASE), dict(GOOD, **{"/r/zz": (b"x", 0)})))


def test_data_never_sent():
    assert problems(hist(*BASE), dict(GOOD, **{"/r/a": (b"forged", 1)}))


def test_acknowledged_version_not_bumped_is_caught_from_the_history_alone():
    x = hist(W(h.CREATE, "/r/a", b"a0"), W(h.SET, "/r/a", b"a1", result_version=1),
             W(h.SET, "/r/a", b"a2", result_version=1))
    assert any("cannot have applied" in p for p in h.Checker(x).problems)


def test_failure_where_success_was_certain():
    # setData answered NoNode on a node whose create was acknowledged: the create was lost.
    x = hist(W(h.CREATE, "/r/a", b"a0"), W(h.SET, "/r/a", b"a1", outcome=FAILED))
    assert h.Checker(x).problems


def test_unknown_set_either_outcome_accepted_third_value_rejected():
    x = hist(W(h.CREATE, "/r/a", b"a0"), W(h.SET, "/r/a", b"a1", outcome=UNKNOWN))
    assert problems(x, {"/r/a": (b"a0", 0)}) == []
    assert problems(x, {"/r/a": (b"a1", 1)}) == []
    assert problems(x, {"/r/a": (b"a1", 0)})
    assert problems(x, {})  # the acknowledged create is gone


def test_unknown_create_may_be_absent_or_present():
    x = hist(W(h.CREATE, "/r/a", b"a0", outcome=UNKNOWN))
    assert problems(x, {}) == []
    assert problems(x, {"/r/a": (b"a0", 0)}) == []
    assert problems(x, {"/r/a": (b"a0", 1)})


def _multi(outcome):
    return Write("c0", [Op(h.CHECK, "/r/a", version=0), Op(h.CREATE, "/r/n", b"n0"), Op(h.SET, "/r/b", b"b1"),
                        Op(h.DELETE, "/r/d")], outcome)


MULTI_BASE = [W(h.CREATE, "/r/a", b"a0"), W(h.CREATE, "/r/b", b"b0"), W(h.CREATE, "/r/d", b"d0")]
BEFORE = {"/r/a": (b"a0", 0), "/r/b": (b"b0", 0), "/r/d": (b"d0", 0)}
AFTER = {"/r/a": (b"a0", 0), "/r/b": (b"b1", 1), "/r/n": (b"n0", 0)}


def test_multi_acknowledged_applies_all():
    x = hist(*MULTI_BASE, _multi(ACK))
    x.writes[-1].ops[2].result_version = 1
    assert problems(x, AFTER) == []
    assert problems(x, BEFORE)
    assert problems(x, dict(AFTER, **{"/r/d": (b"d0", 0)}))  # the delete of the multi lost


def test_multi_failed_applies_nothing():
    x = hist(*MULTI_BASE, _multi(FAILED))
    assert problems(x, BEFORE) == []
    assert problems(x, AFTER)


def test_multi_unknown_all_or_nothing():
    x = hist(*MULTI_BASE, _multi(UNKNOWN))
    assert problems(x, BEFORE) == []
    assert problems(x, AFTER) == []
    partial = dict(BEFORE, **{"/r/n": (b"n0", 0)})  # the create applied, the set and the delete not
    assert any("applied in part" in p for p in problems(x, partial))


def SEQ(data, outcome=ACK, path=None):
    return W(h.SEQ_CREATE, "/r/s", data, outcome=outcome, result_path=path)


def sp(n):
    return f"/r/s/s-{n:010d}"


def test_sequential_accepts_expected():
    x = hist(SEQ(b"1", path=sp(0)), SEQ(b"2", UNKNOWN), SEQ(b"3", path=sp(2)))
    assert problems(x, {sp(0): (b"1", 0), sp(1): (b"2", 0), sp(2): (b"3", 0)}, ("/r", "/r/s")) == []
    assert problems(x, {sp(0): (b"1", 0), sp(2): (b"3", 0)}, ("/r", "/r/s")) == []


def test_sequence_going_back():
    x = hist(SEQ(b"1", path=sp(5)), SEQ(b"2", path=sp(3)))
    assert any("went back" in p for p in problems(x, {sp(5): (b"1", 0), sp(3): (b"2", 0)}, ("/r", "/r/s")))


def test_sequence_reused_after_restart():
    # The counter went back after a restart and the second create overwrote... the first name: lost and reused.
    x = hist(SEQ(b"1", path=sp(0)), SEQ(b"2", path=sp(0)))
    assert problems(x, {sp(0): (b"2", 0)}, ("/r", "/r/s"))


def test_acknowledged_sequential_missing():
    x = hist(SEQ(b"1", path=sp(0)), SEQ(b"2", path=sp(1)))
    assert problems(x, {sp(0): (b"1", 0)}, ("/r", "/r/s"))


def test_unknown_sequential_outside_its_window():
    x = hist(SEQ(b"1", path=sp(0)), SEQ(b"2", path=sp(1)), SEQ(b"3", UNKNOWN))
    # The unknown create was issued after suffix 1 was acknowledged: it cannot have got suffix 0 or 1.
    tree = {sp(1): (b"2", 0), sp(0): (b"1", 0), "/r/s/s-0000000007": (b"3", 0)}
    assert problems(x, tree, ("/r", "/r/s")) == []
    x2 = hist(SEQ(b"3", UNKNOWN), SEQ(b"1", path=sp(1)))
    assert any("outside" in p for p in problems(x2, {sp(1): (b"1", 0), sp(4): (b"3", 0)}, ("/r", "/r/s")))


def test_sequential_applied_twice_and_never_sent():
    x = hist(SEQ(b"1", UNKNOWN))
    assert any("twice" in p for p in problems(x, {sp(0): (b"1", 0), sp(1): (b"1", 0)}, ("/r", "/r/s")))
    assert any("no unknown-outcome" in p for p in problems(x, {sp(0): (b"9", 0)}, ("/r", "/r/s")))


def test_incremental_checking_equals_checking_at_once():
    rng = random.Random(99)
    x, tree = simulate(rng, 400)
    part = h.History()
    c = None
    for i, w in enumerate(x.writes):
        part.writes.append(w)
        if i % 37 == 0 or i == len(x.writes) - 1:
            if c is None:
                c = h.Checker(part)
            else:
                c.advance()
    whole = h.Checker(x)
    assert c.states == whole.states and c.check_tree(tree, ("/r", "/r/s")) == []
    bad = dict(tree)
    bad.pop(next(k for k, v in whole.states.items() if len(v) == 1 and k in tree))
    assert c.check_tree(bad, ("/r", "/r/s"))


def test_ephemerals():
    assert h.check_ephemerals({"/e/k": 5}, {"/e/k": 5}, ["/e/d"]) == []
    assert h.check_ephemerals({}, {"/e/k": 5}, [])                       # a live session's ephemeral lost
    assert h.check_ephemerals({"/e/k": 6}, {"/e/k": 5}, [])              # owned by another session
    assert h.check_ephemerals({"/e/k": 5, "/e/d": 7}, {"/e/k": 5}, ["/e/d"])  # a dead session's ephemeral stays


def test_history_outside_the_workload_rules_is_refused():
    with pytest.raises(ValueError):
        h.Checker(hist(W(h.CREATE, "/r/a", b"a"), W(h.SET, "/r/a", b"b", client="c1")))
    with pytest.raises(ValueError):
        h.Checker(hist(W(h.CREATE, "/r/a", b"a", outcome=UNKNOWN), W(h.SET, "/r/a", b"b")))
    with pytest.raises(ValueError):
        h.Checker(hist(W(h.CREATE, "/r/a", b"a", outcome=h.PENDING)))


# ------------------------------------------------------------------ random histories from a reference server


def simulate(rng: random.Random, n_ops: int):
    """A correct server (a dict) under a random workload that follows the writer's rules; unknown outcomes
    apply or not at random. Returns (history, final tree)."""
    tree = {}
    x = h.History()
    certain = {}      # key -> version
    seq_next = 0
    n = 0
    for _ in range(n_ops):
        n += 1
        r = rng.random()
        outcome = UNKNOWN if rng.random() < 0.1 else ACK
        applies = outcome == ACK or rng.random() < 0.5
        if r < 0.3 or len(certain) < 3:
            k = f"/r/k{n}"
            w = x.add(W(h.CREATE, k, f"v{n}".encode(), outcome=outcome))
            if applies:
                tree[k] = (f"v{n}".encode(), 0)
            if outcome == ACK:
                certain[k] = 0
        elif r < 0.6:
            k = rng.choice(sorted(certain))
            w = x.add(W(h.SET, k, f"v{n}".encode(), outcome=outcome))
            if applies:
                tree[k] = (f"v{n}".encode(), tree[k][1] + 1)
                w.ops[0].result_version = tree[k][1] if outcome == ACK else None
            if outcome == ACK:
                certain[k] = tree[k][1]
            else:
                certain.pop(k)
        elif r < 0.7:
            k = rng.choice(sorted(certain))
            x.add(W(h.DELETE, k, outcome=outcome))
            certain.pop(k)
            if applies:
                del tree[k]
        elif r < 0.85:
            path = f"/r/s/s-{seq_next:010d}"
            x.add(SEQ(f"s{n}".encode(), outcome, path if outcome == ACK else None))
            if applies:
                tree[path] = (f"s{n}".encode(), 0)
            seq_next += 1 if (applies or rng.random() < 0.5) else 0  # a lost unknown may still use a number
        else:
            a, b = rng.sample(sorted(certain), 2)
            new = f"/r/k{n}"
            w = x.add(Write("c0", [Op(h.CHECK, a, version=certain[a]), Op(h.CREATE, new, f"m{n}".encode()),
                                   Op(h.SET, b, f"v{n}".encode())], outcome))
            if applies:
                tree[new] = (f"m{n}".encode(), 0)
                tree[b] = (f"v{n}".encode(), tree[b][1] + 1)
                w.ops[2].result_version = tree[b][1]
            if outcome == ACK:
                certain[new] = 0
                certain[b] = tree[b][1]
            else:
                certain.pop(a)
                certain.pop(b)
    return x, tree


def test_random_correct_histories_accepted_and_mutations_rejected():
    rng = random.Random(1234)
    rejected = 0
    for i in range(200):
        x, tree = simulate(rng, 120)
        assert problems(x, tree, ("/r", "/r/s")) == [], f"history {i}"
        # Lose one acknowledged write's effect: take a node whose last write was acknowledged and drop it.
        checker = h.Checker(x)
        certain = [k for k, states in checker.states.items() if len(states) == 1 and k in tree]
        if certain:
            bad = dict(tree)
            del bad[rng.choice(certain)]
            assert checker.check_tree(bad, ("/r", "/r/s")), f"history {i}: a lost node was not caught"
            rejected += 1
    assert rejected > 150
