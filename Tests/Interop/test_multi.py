"""multi (transactions) and multiRead: success, failure with ZooKeeper's per-op results, atomicity."""

import pytest
from kazoo.exceptions import NoNodeError, RolledBackError, RuntimeInconsistency, BadVersionError, NodeExistsError

from zkraw import (
    CreateFlags,
    Err,
    Op,
    Writer,
    WORLD_ANYONE,
    op_check,
    op_create,
    op_create2,
    op_delete,
    op_get_children,
    op_get_data,
    op_set_data,
)


def test_kazoo_transaction_success(zk, root):
    zk.create(f"{root}/x", b"x")
    t = zk.transaction()
    t.create(f"{root}/a", b"1")
    t.check(f"{root}/x", 0)
    t.set_data(f"{root}/x", b"y")
    t.delete(f"{root}/a")
    t.create(f"{root}/s-", sequence=True)
    results = t.commit()
    assert results[0] == f"{root}/a"
    assert results[1] is True
    assert results[2].version == 1
    assert results[3] is True
    assert results[4] == f"{root}/s-0000000002"
    assert zk.get(f"{root}/x")[0] == b"y"


def test_kazoo_transaction_failure(zk, root):
    zk.create(f"{root}/x", b"x")
    t = zk.transaction()
    t.create(f"{root}/new")
    t.set_data(f"{root}/missing", b"")
    t.create(f"{root}/new2")
    results = t.commit()
    assert [type(r) for r in results] == [RolledBackError, NoNodeError, RuntimeInconsistency]
    assert zk.exists(f"{root}/new") is None and zk.exists(f"{root}/new2") is None


def test_multi_results_on_the_wire(raw, root):
    s = raw()
    s.create(f"{root}/x", b"x")
    reply = s.call_raw(Op.MULTI, s._multi_body([
        op_create(f"{root}/a"),
        op_create(f"{root}/a/b", b"1"),
        op_create2(f"{root}/s-", flags=CreateFlags.PERSISTENT_SEQUENTIAL),
        op_set_data(f"{root}/x", b"y"),
        op_check(f"{root}/x", 1),
        op_delete(f"{root}/a/b"),
    ]))
    assert reply.err == 0
    results = s._multi_results(reply.reader())
    # create2 inside a multi answers like create (type 1, path only)
    assert [(r.type, r.err) for r in results] == [(Op.CREATE, 0), (Op.CREATE, 0), (Op.CREATE, 0),
                                                 (Op.SET_DATA, 0), (Op.CHECK, 0), (Op.DELETE, 0)]
    assert [r.path for r in results[:3]] == [f"{root}/a", f"{root}/a/b", f"{root}/s-0000000002"]
    st = results[3].stat
    assert st.version == 1 and st.mzxid == reply.zxid
    # one transaction, one zxid for every op
    assert s.exists(f"{root}/a").czxid == reply.zxid
    assert s.exists(f"{root}/s-0000000002").czxid == reply.zxid


def test_multi_failure_on_the_wire(raw, root):
    s = raw()
    s.create(f"{root}/x", b"x")
    before = s.exists(f"{root}/x")
    reply = s.call_raw(Op.MULTI, s._multi_body([
        op_create(f"{root}/new"),
        op_set_data(f"{root}/x", b"z"),
        op_check(f"{root}/x", 0),  # x is at version 1 inside this multi
        op_delete(f"{root}/x"),
    ]))
    assert reply.err == 0  # the header stays OK; the results tell
    results = s._multi_results(reply.reader())
    assert [(r.type, r.err) for r in results] == [(-1, 0), (-1, 0), (-1, Err.BAD_VERSION),
                                                 (-1, Err.RUNTIME_INCONSISTENCY)]
    assert s.exists(f"{root}/new") is None
    assert s.exists(f"{root}/x") == before
    assert reply.zxid > before.mzxid  # a failed multi still uses a zxid


@pytest.mark.parametrize("ops_fn, codes", [
    (lambda r: [op_create(f"{r}/x"), op_create(f"{r}/q")], [Err.NODE_EXISTS, Err.RUNTIME_INCONSISTENCY]),
    (lambda r: [op_create(f"{r}/q"), op_delete(f"{r}/nonode")], [0, Err.NO_NODE]),
    (lambda r: [op_delete(r)], [Err.NOT_EMPTY]),
    (lambda r: [op_create(f"{r}/q"), op_create("bad")], [0, Err.BAD_ARGUMENTS]),
    (lambda r: [op_check(f"{r}/nope", 0)], [Err.NO_NODE]),
    (lambda r: [op_create(f"{r}/e", flags=CreateFlags.EPHEMERAL), op_create(f"{r}/e/c")],
     [0, Err.NO_CHILDREN_FOR_EPHEMERALS]),
    (lambda r: [op_create(f"{r}/t"), op_create(f"{r}/t")], [0, Err.NODE_EXISTS]),
    (lambda r: [op_set_data(f"{r}/x", b"", version=3)], [Err.BAD_VERSION]),
], ids=["exists-first", "nonode", "notempty", "badargs", "check-nonode", "ephemeral-parent", "same-twice",
        "set-badversion"])
def test_multi_failure_codes(raw, root, ops_fn, codes):
    s = raw()
    s.create(f"{root}/x")
    s.create(f"{root}/x/child")
    err, results = s.multi(ops_fn(root))
    assert err == 0
    assert [(r.type, r.err) for r in results] == [(-1, c) for c in codes]
    assert sorted(s.get_children(root)) == ["x"]


def test_multi_ops_see_earlier_ops(raw, root):
    s = raw()
    err, results = s.multi([op_create(f"{root}/u"), op_delete(f"{root}/u"), op_create(f"{root}/u", b"2"),
                            op_create(f"{root}/u/v"), op_set_data(f"{root}/u/v", b"w"), op_check(f"{root}/u/v", 1)])
    assert err == 0 and [r.err for r in results] == [0] * 6
    assert s.get_data(f"{root}/u")[0] == b"2"
    assert s.get_data(f"{root}/u/v")[0] == b"w"


def test_empty_multi(raw):
    s = raw()
    assert s.multi([]) == (0, [])
    assert s.multi_read([]) == (0, [])


def test_multi_with_container_and_ttl_creates(raw, root):
    s = raw()
    err, results = s.multi([
        (Op.CREATE_CONTAINER, Writer().string(f"{root}/cc").buffer(b"").acls(WORLD_ANYONE)
         .int(CreateFlags.CONTAINER).bytes()),
        (Op.CREATE_TTL, Writer().string(f"{root}/tt").buffer(b"").acls(WORLD_ANYONE)
         .int(CreateFlags.PERSISTENT_WITH_TTL).long(60000).bytes()),
    ])
    assert err == 0
    # these answer as create2 (type 15) with a Stat
    assert [(r.type, r.path) for r in results] == [(Op.CREATE2, f"{root}/cc"), (Op.CREATE2, f"{root}/tt")]
    assert results[0].stat.czxid == results[1].stat.czxid


def test_read_op_inside_multi_is_rejected(raw, root):
    s = raw()
    assert s.multi([op_get_data(root)]) == (Err.MARSHALLING_ERROR, [])
    assert s.multi_read([op_create(f"{root}/zz")]) == (Err.MARSHALLING_ERROR, [])
    assert s.exists(f"{root}/zz") is None
    assert s.exists(root) is not None  # connection still fine


def test_multi_read(raw, root):
    s = raw()
    s.create(f"{root}/x", b"data")
    s.create(f"{root}/x/k")
    err, results = s.multi_read([op_get_data(f"{root}/x"), op_get_children(f"{root}/x"),
                                 op_get_data(f"{root}/nonode"), op_get_children(f"{root}/nonode")])
    assert err == 0
    assert (results[0].type, results[0].data, results[0].stat.numChildren) == (Op.GET_DATA, b"data", 1)
    assert (results[1].type, results[1].children) == (Op.GET_CHILDREN, ["k"])
    # each failed read is its own error result; the others still answer
    assert [(r.type, r.err) for r in results[2:]] == [(-1, Err.NO_NODE), (-1, Err.NO_NODE)]


def test_multi_is_atomic_for_readers(zk, root, make_client):
    # a reader never sees half of a multi: all creates or none
    other = make_client.kazoo()
    t = zk.transaction()
    for i in range(20):
        t.create(f"{root}/n{i}")
    results = t.commit()
    assert len(results) == 20
    children = other.get_children(root)
    assert len(children) == 20
