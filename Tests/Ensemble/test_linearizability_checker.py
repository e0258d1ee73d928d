"""Unit tests of linearizability.py (pure, no servers): it accepts what is linearizable, rejects a stale read
and a lost CAS, handles operations of unknown outcome, and accepts hundreds of random histories generated
from the sequential model with random concurrent overlaps."""

from __future__ import annotations

import random
import time


import linearizability as lin
from linearizability import CAS, FAIL, INFO, OK, READ, WRITE, Op

INIT = (b"init", 0)


def R(p, call, ret, value, version):
    return Op(p, READ, "k", call, ret, OK, result=(value, version))


def W(p, call, ret, value, version=None, outcome=OK):
    return Op(p, WRITE, "k", call, None if outcome == INFO else ret, outcome, value=value, result=version)


def C(p, call, ret, value, expected, outcome=OK, version=None):
    if outcome == OK and version is None:
        version = expected + 1
    return Op(p, CAS, "k", call, None if outcome == INFO else ret, outcome, value=value, expected=expected,
              result=version if outcome == OK else None)


def check(ops, initial=INIT):
    return lin.check_register(ops, initial, key="k")


# ------------------------------------------------------------------------------------------ accepts

def test_empty_and_sequential_histories_are_linearizable():
    assert check([])
    h = [W(1, 0, 1, b"a", 1), R(2, 2, 3, b"a", 1), C(1, 4, 5, b"b", 1), R(2, 6, 7, b"b", 2),
         C(3, 8, 9, b"c", 1, FAIL), R(1, 10, 11, b"b", 2)]
    res = check(h)
    assert res.ok, res.explanation


def test_concurrent_read_may_see_either_side_of_an_overlapping_write():
    w = W(1, 0, 10, b"a", 1)
    assert check([w, R(2, 1, 2, b"init", 0)])
    assert check([w, R(2, 1, 2, b"a", 1)])
    # Both reads inside the write: old then new is fine ...
    assert check([w, R(2, 1, 2, b"init", 0), R(3, 3, 4, b"a", 1)])
    # ... new then old (strictly after) is not: once a reader saw the write, later reads must too.
    assert not check([w, R(2, 1, 2, b"a", 1), R(3, 3, 4, b"init", 0)])


def test_concurrent_writes_can_be_ordered_either_way():
    a = W(1, 0, 10, b"a")
    b = W(2, 0, 10, b"b")
    assert check([a, b, R(3, 11, 12, b"a", 2)])
    assert check([a, b, R(3, 11, 12, b"b", 2)])
    # The returned versions fix the order: a got version 1, so b came second and wins.
    a1 = W(1, 0, 10, b"a", 1)
    b2 = W(2, 0, 10, b"b", 2)
    assert check([a1, b2, R(3, 11, 12, b"b", 2)])
    assert not check([a1, b2, R(3, 11, 12, b"a", 2)])


def test_touching_intervals_count_as_concurrent():
    # The read's call time equals the write's return time: treated as concurrent, either value is fine.
    assert check([W(1, 0, 5, b"a", 1), R(2, 5, 6, b"init", 0)])


# ------------------------------------------------------------------------------------------ rejects

def test_rejects_a_stale_read():
    h = [W(1, 0, 1, b"a", 1), W(1, 2, 3, b"b", 2), R(2, 4, 5, b"a", 1)]
    res = check(h)
    assert not res.ok and not res.exhausted
    assert "not linearizable" in res.explanation and "read" in res.explanation
    print(res.explanation)


def test_rejects_a_lost_cas():
    # The CAS was acknowledged, yet a read strictly after it sees the value from before it.
    h = [C(1, 0, 1, b"a", 0), R(2, 2, 3, b"init", 0)]
    res = check(h)
    assert not res.ok, "a CAS acknowledged before a read began must be visible to that read"
    # Two CASes on the same expected version cannot both succeed.
    assert not check([C(1, 0, 10, b"a", 0), C(2, 0, 10, b"b", 0)])


def test_rejects_a_cas_failure_that_contradicts_the_version():
    # Nothing was written, so the version is 0 and a CAS expecting 0 cannot fail.
    assert not check([C(1, 0, 1, b"a", 0, FAIL)])
    # ... unless a concurrent write moved the version first.
    assert check([W(2, 0, 5, b"x", 1), C(1, 1, 2, b"a", 0, FAIL)])


def test_rejects_a_version_that_does_not_match_the_number_of_writes():
    assert not check([W(1, 0, 1, b"a", 2)])
    assert not check([W(1, 0, 1, b"a", 1), R(2, 2, 3, b"a", 5)])


def test_rejects_a_value_nobody_wrote():
    assert not check([R(1, 0, 1, b"ghost", 0)])


# ------------------------------------------------------------------------------------------ unknown outcome

def test_unknown_write_may_take_effect_later_or_never():
    u = W(1, 0, None, b"u", outcome=INFO)
    assert check([u, R(2, 100, 101, b"init", 0)]), "it may never have happened"
    assert check([u, R(2, 100, 101, b"u", 1)]), "it may have happened"
    # Long after its call (there is no return), it may still take effect.
    assert check([u, R(2, 100, 101, b"init", 0), R(2, 200, 201, b"u", 1)])
    # But it takes effect at most once: seen, then unseen (with nothing else written) is impossible.
    assert not check([u, R(2, 100, 101, b"u", 1), R(2, 200, 201, b"init", 0)])
    # And never before its call.
    assert not check([R(2, 0, 1, b"u", 1), W(1, 5, None, b"u", outcome=INFO)])


def test_unknown_cas_obeys_its_expected_version():
    u = C(1, 0, None, b"u", 0, INFO)
    assert check([u, R(2, 5, 6, b"u", 1)])
    assert check([u, R(2, 5, 6, b"init", 0)])
    # It expected version 0, but a write made the version 1 before the CAS was even called.
    assert not check([W(3, -2, -1, b"w", 1), u, R(2, 5, 6, b"u", 2)])


def test_unknown_reads_are_ignored():
    h = [Op(1, READ, "k", 0, None, INFO, result=None), R(2, 1, 2, b"init", 0)]
    assert check(h)


def test_check_partitions_by_key():
    ops = [Op(1, WRITE, "a", 0, 1, OK, value=b"x", result=1), Op(2, READ, "b", 2, 3, OK, result=(b"init", 0)),
           Op(2, READ, "a", 2, 3, OK, result=(b"x", 1))]
    results = lin.check(ops, {"a": INIT, "b": INIT})
    assert set(results) == {"a", "b"} and all(r.ok for r in results.values())
    ops.append(Op(3, READ, "b", 4, 5, OK, result=(b"x", 1)))  # b was never written
    results = lin.check(ops, {"a": INIT, "b": INIT})
    assert results["a"].ok and not results["b"].ok


# ------------------------------------------------------------------------------------------ random histories

def generate(rng: random.Random, n_ops: int, overlap: float, p_info: float = 0.1, processes: int = 4):
    """A history that is linearizable by construction: operations are applied to the sequential model at
    increasing linearization points, and each gets a [call, ret] interval around its point, stretched at
    random so that neighbours overlap. Some writes/CASes get an unknown outcome (applied or not)."""
    state = INIT
    t = 0.0
    ops = []
    for i in range(n_ops):
        t += rng.uniform(0.2, 1.0)
        call = t - rng.uniform(0, overlap)
        ret = t + rng.uniform(0, overlap)
        p = rng.randrange(processes)
        kind = rng.choice((READ, READ, WRITE, CAS))
        value = f"v{i}".encode()
        if kind == READ:
            ops.append(Op(p, READ, "k", call, ret, OK, result=state))
        elif kind == WRITE:
            if rng.random() < p_info:
                if rng.random() < 0.5:
                    state = (value, state[1] + 1)
                ops.append(Op(p, WRITE, "k", call, None, INFO, value=value))
            else:
                state = (value, state[1] + 1)
                ops.append(Op(p, WRITE, "k", call, ret, OK, value=value, result=state[1]))
        else:
            expected = state[1] + rng.choice((0, 0, -1, 1))
            succeeds = expected == state[1]
            if rng.random() < p_info:
                if succeeds and rng.random() < 0.5:
                    state = (value, expected + 1)
                ops.append(Op(p, CAS, "k", call, None, INFO, value=value, expected=expected))
            elif succeeds:
                state = (value, expected + 1)
                ops.append(Op(p, CAS, "k", call, ret, OK, value=value, expected=expected, result=state[1]))
            else:
                ops.append(Op(p, CAS, "k", call, ret, FAIL, value=value, expected=expected))
    rng.shuffle(ops)  # the checker must not depend on the order it is given
    return ops


def test_random_histories_from_the_sequential_model_are_accepted():
    rng = random.Random(20240601)
    t0 = time.monotonic()
    checked = 0
    for n in range(400):
        ops = generate(rng, n_ops=rng.randint(1, 30), overlap=rng.choice((0.1, 1.0, 2.5)))
        res = check(ops)
        assert res.ok, f"history #{n} was generated linearizable but rejected:\n{res.explanation}"
        checked += 1
    print(f"{checked} random histories accepted in {time.monotonic() - t0:.2f}s")


def test_random_stale_reads_are_rejected():
    """Sequential histories (no overlaps) with one read replaced by an older state must be rejected."""
    rng = random.Random(7)
    rejected = 0
    for n in range(200):
        ops = generate(rng, n_ops=rng.randint(6, 25), overlap=0.05, p_info=0.0)
        ops.sort(key=lambda o: o.call)
        states = []
        state = INIT
        for o in ops:
            states.append(state)
            nxt = lin.step(state, o) if lin.relevant(o) else state
            assert nxt is not None
            state = nxt
        candidates = [i for i, o in enumerate(ops) if o.kind == READ and any(s != o.result for s in states[:i])]
        if not candidates:
            continue
        i = rng.choice(candidates)
        stale = rng.choice([s for s in states[:i] if s != ops[i].result])
        ops[i] = Op(ops[i].process, READ, "k", ops[i].call, ops[i].ret, OK, result=stale)
        res = check(ops)
        assert not res.ok, f"history #{n}: a stale read {stale} was accepted"
        rejected += 1
    assert rejected > 100


def test_a_long_concurrent_history_checks_quickly():
    """Thousands of operations with 6-way concurrency (the live test's shape) stay well inside a second or
    so per thousand operations thanks to the memoisation."""
    rng = random.Random(99)
    ops = generate(rng, n_ops=3000, overlap=2.0, p_info=0.02, processes=6)
    res = check(ops)
    assert res.ok, res.explanation
    print(f"3000 operations: {res.steps} steps, {res.configurations} configurations, {res.seconds:.2f}s")
    assert res.seconds < 30


def test_step_budget_reports_exhaustion_instead_of_hanging():
    rng = random.Random(5)
    ops = generate(rng, n_ops=400, overlap=3.0)
    res = lin.check_register(ops, INIT, key="k", max_steps=50)
    assert not res.ok and res.exhausted and "budget" in res.explanation
