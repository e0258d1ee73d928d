"""kazoo's recipes against the server: Lock, Election, Counter, Barrier, DoubleBarrier, Queue, LockingQueue,
Party, ShallowParty, Semaphore, ReadLock/WriteLock, TreeCache, DataWatch and ChildrenWatch.
Every wait is bounded."""

import threading
import time

import pytest
from kazoo.exceptions import LockTimeout
from kazoo.recipe.cache import TreeCache, TreeEvent
from kazoo.retry import KazooRetry

from helpers import Recorder, wait_until


@pytest.fixture
def clients(make_client):
    def make(n):
        return [make_client.kazoo(command_retry=KazooRetry(max_tries=20, delay=0.01, backoff=1.5, max_delay=0.2))
                for _ in range(n)]
    return make


def _thread(target, *args):
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


def test_lock(clients, root):
    a, b = clients(2)
    la = a.Lock(f"{root}/lock", "a")
    lb = b.Lock(f"{root}/lock", "b")
    assert la.acquire(timeout=5)
    with pytest.raises(LockTimeout):
        lb.acquire(timeout=0.5)
    assert lb.contenders() == ["a"] or sorted(lb.contenders()) == ["a"]
    got = threading.Event()
    t = _thread(lambda: lb.acquire(timeout=10) and got.set())
    time.sleep(0.2)
    assert not got.is_set()
    la.release()
    assert got.wait(10)
    t.join(5)
    assert lb.contenders() == ["b"]
    lb.release()
    assert a.get_children(f"{root}/lock") == []


def test_lock_released_when_holder_session_closes(clients, root):
    a, b = clients(2)
    assert a.Lock(f"{root}/lock").acquire(timeout=5)
    lb = b.Lock(f"{root}/lock")
    got = threading.Event()
    _thread(lambda: lb.acquire(timeout=10) and got.set())
    time.sleep(0.2)
    a.stop()
    assert got.wait(10)
    lb.release()


def test_read_write_locks(clients, root):
    a, b, c = clients(3)
    r1 = a.ReadLock(f"{root}/rw")
    r2 = b.ReadLock(f"{root}/rw")
    w = c.WriteLock(f"{root}/rw")
    assert r1.acquire(timeout=5) and r2.acquire(timeout=5)  # readers share
    with pytest.raises(LockTimeout):
        w.acquire(timeout=0.5)
    r1.release()
    r2.release()
    assert w.acquire(timeout=5)
    with pytest.raises(LockTimeout):
        a.ReadLock(f"{root}/rw").acquire(timeout=0.5)
    w.release()


def test_election(clients, root):
    a, b = clients(2)
    leaders = []
    a_leads = threading.Event()
    a_may_finish = threading.Event()
    b_leads = threading.Event()

    def lead_a():
        leaders.append("a")
        a_leads.set()
        a_may_finish.wait(10)

    def lead_b():
        leaders.append("b")
        b_leads.set()

    ea = a.Election(f"{root}/election", "a")
    eb = b.Election(f"{root}/election", "b")
    ta = _thread(ea.run, lead_a)
    assert a_leads.wait(10)
    tb = _thread(eb.run, lead_b)
    wait_until(lambda: len(eb.contenders()) == 2, timeout=10)
    assert eb.contenders()[0] == "a"
    assert not b_leads.is_set()
    a_may_finish.set()
    assert b_leads.wait(10)
    ta.join(5)
    tb.join(5)
    assert leaders == ["a", "b"]


def test_counter(clients, root):
    a, b = clients(2)
    ca = a.Counter(f"{root}/counter")
    cb = b.Counter(f"{root}/counter")
    ca += 5
    cb -= 2
    assert ca.value == 3 and cb.value == 3

    def bump(counter):
        for _ in range(25):
            counter += 1  # noqa: SIM113 - the recipe's in-place add is the operation under test

    ts = [_thread(bump, ca), _thread(bump, cb)]
    for t in ts:
        t.join(30)
    assert a.Counter(f"{root}/counter").value == 53
    fc = a.Counter(f"{root}/float", default=0.0)
    fc += 1.5
    assert fc.value == 1.5


def test_barrier(clients, root):
    a, b = clients(2)
    barrier = a.Barrier(f"{root}/barrier")
    waiter = b.Barrier(f"{root}/barrier")
    assert waiter.wait(timeout=0.5)  # no barrier: passes at once
    barrier.create()
    assert not waiter.wait(timeout=0.5)
    passed = threading.Event()
    _thread(lambda: waiter.wait(timeout=10) and passed.set())
    time.sleep(0.2)
    assert not passed.is_set()
    barrier.remove()
    assert passed.wait(10)


def test_double_barrier(clients, root):
    a, b = clients(2)
    da = a.DoubleBarrier(f"{root}/dbl", 2)
    db = b.DoubleBarrier(f"{root}/dbl", 2)
    entered = []
    t = _thread(lambda: (da.enter(), entered.append("a")))
    time.sleep(0.3)
    assert entered == []  # waits for the second participant
    db.enter()
    t.join(10)
    assert entered == ["a"]
    left = []
    t = _thread(lambda: (da.leave(), left.append("a")))
    time.sleep(0.3)
    assert left == []  # waits for everyone to leave
    db.leave()
    t.join(10)
    assert left == ["a"]


def test_queue(clients, root):
    a, b = clients(2)
    q = a.Queue(f"{root}/queue")
    for v in (b"one", b"two", b"three"):
        q.put(v)
    q.put(b"urgent", priority=1)
    assert len(q) == 4
    consumer = b.Queue(f"{root}/queue")
    assert [consumer.get() for _ in range(4)] == [b"urgent", b"one", b"two", b"three"]
    assert consumer.get() is None


def test_locking_queue(clients, root):
    a, b = clients(2)
    q = a.LockingQueue(f"{root}/lq")
    q.put(b"first")
    q.put_all([b"second", b"third"])
    assert len(q) == 3
    c = b.LockingQueue(f"{root}/lq")
    assert c.get(timeout=5) == b"first"
    assert c.holds_lock()
    assert c.release()  # released without consuming: the item stays
    assert c.get(timeout=5) == b"first"
    assert c.consume()
    assert [c.get(timeout=5), c.consume(), c.get(timeout=5), c.consume()] == [b"second", True, b"third", True]
    assert c.get(timeout=0.5) is None
    got = []
    t = _thread(lambda: got.append(c.get(timeout=10)))
    time.sleep(0.2)
    q.put(b"late")
    t.join(10)
    assert got == [b"late"]


def test_party(clients, root):
    a, b = clients(2)
    pa = a.Party(f"{root}/party", "alice")
    pb = b.Party(f"{root}/party", "bob")
    pa.join()
    pb.join()
    assert sorted(pa) == ["alice", "bob"] and len(pb) == 2
    pb.leave()
    assert list(pa) == ["alice"]
    b.stop()
    sa = a.ShallowParty(f"{root}/shallow", "x")
    sa.join()
    assert list(sa) == ["x"]
    sa.leave()
    assert len(sa) == 0


def test_semaphore(clients, root):
    a, b, c = clients(3)
    sa = a.Semaphore(f"{root}/sem", "a", max_leases=2)
    sb = b.Semaphore(f"{root}/sem", "b", max_leases=2)
    sc = c.Semaphore(f"{root}/sem", "c", max_leases=2)
    assert sa.acquire(timeout=5) and sb.acquire(timeout=5)
    with pytest.raises(LockTimeout):
        sc.acquire(timeout=0.5)
    assert sorted(sc.lease_holders()) == ["a", "b"]
    got = threading.Event()
    _thread(lambda: sc.acquire(timeout=10) and got.set())
    time.sleep(0.2)
    sa.release()
    assert got.wait(10)
    assert sorted(sb.lease_holders()) == ["b", "c"]
    sb.release()
    sc.release()


def test_tree_cache(clients, root):
    a, b = clients(2)
    b.create(f"{root}/tc/x", b"1", makepath=True)
    cache = TreeCache(a, f"{root}/tc")
    rec = Recorder()
    cache.listen(rec)
    cache.start()
    try:
        wait_until(lambda: any(e.event_type == TreeEvent.INITIALIZED for e in rec.items), timeout=10)
        assert cache.get_data(f"{root}/tc/x").data == b"1"

        def seen(kind, path):
            return any(e.event_type == kind and e.event_data is not None and e.event_data.path == path
                       for e in rec.items)

        b.create(f"{root}/tc/y/z", b"deep", makepath=True)
        wait_until(lambda: seen(TreeEvent.NODE_ADDED, f"{root}/tc/y/z"), timeout=10)
        assert cache.get_data(f"{root}/tc/y/z").data == b"deep"
        b.set(f"{root}/tc/x", b"2")
        wait_until(lambda: seen(TreeEvent.NODE_UPDATED, f"{root}/tc/x"), timeout=10)
        assert cache.get_data(f"{root}/tc/x").data == b"2"
        b.delete(f"{root}/tc/x")
        wait_until(lambda: seen(TreeEvent.NODE_REMOVED, f"{root}/tc/x"), timeout=10)
        assert cache.get_data(f"{root}/tc/x") is None
        assert sorted(cache.get_children(f"{root}/tc")) == ["y"]
    finally:
        cache.close()


def test_data_watch(clients, root):
    a, b = clients(2)
    seen = Recorder()

    @a.DataWatch(f"{root}/dw")
    def watcher(data, stat):
        seen((data, stat.version if stat else None))

    seen.wait_for(1)
    b.create(f"{root}/dw", b"v0")
    seen.wait_for(2)
    b.set(f"{root}/dw", b"v1")
    seen.wait_for(3)
    b.delete(f"{root}/dw")
    items = seen.wait_for(4)
    assert items[:4] == [(None, None), (b"v0", 0), (b"v1", 1), (None, None)]


def test_children_watch(clients, root):
    a, b = clients(2)
    seen = Recorder()
    b.create(f"{root}/cw")

    @a.ChildrenWatch(f"{root}/cw")
    def watcher(children):
        seen(sorted(children))

    seen.wait_for(1)
    b.create(f"{root}/cw/one")
    seen.wait_for(2)
    b.create(f"{root}/cw/two")
    seen.wait_for(3)
    b.delete(f"{root}/cw/one")
    items = seen.wait_for(4)
    assert items[:4] == [[], ["one"], ["one", "two"], ["two"]]
