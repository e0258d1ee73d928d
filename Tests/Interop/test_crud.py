"""CRUD through kazoo and every error case, with the exact error codes on the wire (zkraw)."""

import pytest
from kazoo.exceptions import (
    BadArgumentsError,
    BadVersionError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
)

from kazoo.security import OPEN_ACL_UNSAFE

from zkraw import Err, Op, Writer, ZKError


def test_create_get_set_delete(zk, root):
    path = zk.create(f"{root}/node", b"v1")
    assert path == f"{root}/node"
    data, stat = zk.get(path)
    assert (data, stat.version, stat.dataLength) == (b"v1", 0, 2)

    stat = zk.set(path, b"value-2")
    assert (stat.version, stat.dataLength) == (1, 7)
    assert zk.get(path)[0] == b"value-2"

    stat = zk.set(path, b"v3", version=1)
    assert stat.version == 2
    zk.delete(path, version=2)
    assert zk.exists(path) is None


def test_exists(zk, root):
    assert zk.exists(f"{root}/missing") is None
    zk.create(f"{root}/here", b"abc")
    stat = zk.exists(f"{root}/here")
    assert stat is not None and stat.dataLength == 3


def test_children_and_children2(zk, root):
    for name in ("b", "a", "c"):
        zk.create(f"{root}/{name}")
    zk.create(f"{root}/a/nested")
    assert sorted(zk.get_children(root)) == ["a", "b", "c"]
    children, stat = zk.get_children(root, include_data=True)  # getChildren2
    assert sorted(children) == ["a", "b", "c"]
    assert stat.numChildren == 3
    assert zk.get_children(f"{root}/b") == []


def test_empty_and_null_data(zk, root, raw):
    zk.create(f"{root}/empty", b"")
    data, stat = zk.get(f"{root}/empty")
    assert data == b"" and stat.dataLength == 0
    s = raw()
    s.create(f"{root}/null", None)  # a null buffer (length -1) on the wire
    data, stat = s.get_data(f"{root}/null")
    assert data is None and stat.dataLength == 0


def test_large_value_roundtrip(zk, root):
    value = bytes(range(256)) * 3906  # 999,936 bytes: below jute.maxbuffer (0xfffff) with the header
    zk.create(f"{root}/big", value)
    data, stat = zk.get(f"{root}/big")
    assert data == value and stat.dataLength == len(value)


def test_unicode_names(zk, root):
    name = "z\u00e9\u4e2d\u00df-\uf900"
    zk.create(f"{root}/{name}", name.encode())
    assert zk.get_children(root) == [name]
    assert zk.get(f"{root}/{name}")[0] == name.encode()


def test_sync(zk, root, raw):
    zk.sync(root)
    s = raw()
    assert s.sync(root) == root
    assert s.sync(f"{root}/does-not-exist") == f"{root}/does-not-exist"  # sync does not check the path


def test_ensure_path_and_recursive_delete(zk, root):
    zk.ensure_path(f"{root}/a/b/c")
    zk.create(f"{root}/a/b/d", makepath=True)
    assert sorted(zk.get_children(f"{root}/a/b")) == ["c", "d"]
    zk.delete(f"{root}/a", recursive=True)
    assert zk.get_children(root) == []


# ---------------------------------------------------------------- error cases through kazoo


def test_no_node_errors(zk, root):
    missing = f"{root}/missing"
    with pytest.raises(NoNodeError):
        zk.get(missing)
    with pytest.raises(NoNodeError):
        zk.set(missing, b"x")
    with pytest.raises(NoNodeError):
        zk.delete(missing)
    with pytest.raises(NoNodeError):
        zk.get_children(missing)
    with pytest.raises(NoNodeError):
        zk.get_acls(missing)
    with pytest.raises(NoNodeError):
        zk.set_acls(missing, list(OPEN_ACL_UNSAFE))
    with pytest.raises(NoNodeError):
        zk.create(f"{missing}/child")


def test_node_exists(zk, root):
    zk.create(f"{root}/dup")
    with pytest.raises(NodeExistsError):
        zk.create(f"{root}/dup")
    with pytest.raises(NodeExistsError):
        zk.create("/")
    with pytest.raises(NodeExistsError):
        zk.create("/zookeeper")


def test_bad_version(zk, root):
    zk.create(f"{root}/v", b"")
    with pytest.raises(BadVersionError):
        zk.set(f"{root}/v", b"x", version=3)
    with pytest.raises(BadVersionError):
        zk.delete(f"{root}/v", version=1)
    with pytest.raises(BadVersionError):
        zk.set_acls(f"{root}/v", list(OPEN_ACL_UNSAFE), version=2)
    zk.set(f"{root}/v", b"x", version=0)
    zk.delete(f"{root}/v", version=1)


def test_not_empty(zk, root):
    zk.create(f"{root}/p/c", makepath=True)
    with pytest.raises(NotEmptyError):
        zk.delete(f"{root}/p")
    zk.delete(f"{root}/p/c")
    zk.delete(f"{root}/p")


def test_no_children_for_ephemerals(zk, root):
    zk.create(f"{root}/eph", ephemeral=True)
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(f"{root}/eph/child")
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(f"{root}/eph/seq-", sequence=True)
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(f"{root}/eph/eph", ephemeral=True)
    assert zk.get_children(f"{root}/eph") == []


def test_bad_arguments_through_kazoo(zk, root):
    # kazoo normalises most paths itself; NUL and control characters reach the server.
    with pytest.raises(BadArgumentsError):
        zk.create(f"{root}/a\u0000b")
    with pytest.raises(BadArgumentsError):
        zk.create(f"{root}/\u0001")
    with pytest.raises(BadArgumentsError):
        zk.delete("/")
    with pytest.raises(BadArgumentsError):
        zk.delete("/zookeeper")


def test_sequential_on_root_is_allowed(zk):
    path = zk.create("/", b"", sequence=True)
    try:
        assert len(path) == 11 and path[1:].isdigit()
    finally:
        zk.delete(path)


# ---------------------------------------------------------------- exact codes on the wire


def _code(fn):
    try:
        fn()
    except ZKError as e:
        return e.code
    return Err.OK


def test_invalid_paths_wire_codes(raw, root, zk):
    zk.create(f"{root}/x")
    s = raw()
    # create: the parent is looked up before the full path is validated, so a bad path under a missing
    # parent is NoNode, and under an existing parent BadArguments.
    cases = [
        (lambda: s.create("a"), Err.BAD_ARGUMENTS),
        (lambda: s.create(""), Err.BAD_ARGUMENTS),
        (lambda: s.create("//"), Err.BAD_ARGUMENTS),
        (lambda: s.create(f"{root}/x/"), Err.BAD_ARGUMENTS),
        (lambda: s.create(f"{root}/missing/"), Err.NO_NODE),
        (lambda: s.create(f"{root}/x/."), Err.BAD_ARGUMENTS),
        (lambda: s.create(f"{root}/x/.."), Err.BAD_ARGUMENTS),
        (lambda: s.create(f"{root}/./y"), Err.NO_NODE),
        (lambda: s.create(f"{root}/a\u0000b"), Err.BAD_ARGUMENTS),
        (lambda: s.create(f"{root}/\u0001"), Err.BAD_ARGUMENTS),
        (lambda: s.create(f"{root}/\ufff0"), Err.BAD_ARGUMENTS),
        # ZooKeeper checks UTF-16 code units: C0/C1 controls, U+D800..U+F8FF (so every character outside
        # the BMP, sent as a surrogate pair, and the private use area) and U+FFF0..U+FFFF are invalid.
        (lambda: s.create(f"{root}/a\u007f"), Err.BAD_ARGUMENTS),
        (lambda: s.create(f"{root}/a\u0085"), Err.BAD_ARGUMENTS),
        (lambda: s.create(f"{root}/a\ue000"), Err.BAD_ARGUMENTS),
        (lambda: s.create(f"{root}/a\U0001f600"), Err.BAD_ARGUMENTS),
        (lambda: s.create(f"{root}/a\u00a0\u4e2d\uf900"), Err.OK),
        (lambda: s.create("/"), Err.NODE_EXISTS),
        (lambda: s.delete("a"), Err.BAD_ARGUMENTS),
        (lambda: s.delete("/"), Err.BAD_ARGUMENTS),
        (lambda: s.delete("/zookeeper"), Err.BAD_ARGUMENTS),
        (lambda: s.delete("/zookeeper/quota"), Err.BAD_ARGUMENTS),
        (lambda: s.set_data("a", b""), Err.BAD_ARGUMENTS),
        # reads do not validate: an invalid path simply does not exist
        (lambda: s.get_data("a"), Err.NO_NODE),
        (lambda: s.get_data(f"{root}/x/"), Err.NO_NODE),
        (lambda: s.get_children("a"), Err.NO_NODE),
        (lambda: s.exists("a") is None or (_ for _ in ()).throw(AssertionError("exists")), Err.OK),
    ]
    got = [_code(fn) for fn, _ in cases]
    assert got == [want for _, want in cases]
    # names with dots are fine when they are not exactly "." or ".."
    assert s.create(f"{root}/x/.hidden") == f"{root}/x/.hidden"
    assert s.create(f"{root}/x/...") == f"{root}/x/..."


def test_bad_create_flags_and_acl_wire_codes(raw, root):
    s = raw()
    assert _code(lambda: s.create(f"{root}/f", flags=7)) == Err.BAD_ARGUMENTS
    assert _code(lambda: s.create(f"{root}/f", flags=-1)) == Err.BAD_ARGUMENTS
    assert _code(lambda: s.create(f"{root}/f", flags=5)) == Err.BAD_ARGUMENTS  # TTL flags need createTTL
    assert _code(lambda: s.create(f"{root}/f", acl=[])) == Err.INVALID_ACL
    assert _code(lambda: s.create(f"{root}/f", acl=None)) == Err.INVALID_ACL
    # InvalidACL is checked before the parent's existence
    assert _code(lambda: s.create(f"{root}/missing/f", acl=[])) == Err.INVALID_ACL
    assert _code(lambda: s.delete(f"{root}", version=-2)) == Err.BAD_VERSION


def test_null_path_is_a_marshalling_error_and_connection_survives(raw, root):
    s = raw()
    reply = s.call_raw(Op.CREATE, Writer().string(None).buffer(b"").acls([(31, "world", "anyone")]).int(0).bytes())
    assert reply.err == Err.MARSHALLING_ERROR
    assert s.exists(root) is not None  # same connection still works


def test_precedence_of_errors(raw, root, zk):
    s = raw()
    zk.create(f"{root}/eph", ephemeral=True)
    # NodeExists is checked before NoChildrenForEphemerals
    assert _code(lambda: s.create(f"{root}/eph")) == Err.NODE_EXISTS
    assert _code(lambda: s.create(f"{root}/eph/c")) == Err.NO_CHILDREN_FOR_EPHEMERALS
    # delete: NoNode before BadVersion
    assert _code(lambda: s.delete(f"{root}/missing", version=5)) == Err.NO_NODE
    # delete: BadVersion before NotEmpty
    zk.create(f"{root}/p/c", makepath=True)
    assert _code(lambda: s.delete(f"{root}/p", version=5)) == Err.BAD_VERSION
    assert _code(lambda: s.delete(f"{root}/p", version=0)) == Err.NOT_EMPTY
