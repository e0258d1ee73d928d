"""Stat fields: versions, cversion (a count of child changes), aversion, numChildren, dataLength,
ephemeralOwner, and the czxid/mzxid/pzxid relations; one zxid per write, strictly increasing."""

import time

from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE

from zkraw import Op, WORLD_ANYONE, op_create, op_delete, op_set_data


def test_fresh_node_stat(zk, root):
    before = int(time.time() * 1000)
    path, stat = zk.create(f"{root}/n", b"12345", include_data=True)
    after = int(time.time() * 1000)
    assert stat.czxid == stat.mzxid == stat.pzxid
    assert stat.czxid > 0
    assert stat.ctime == stat.mtime
    assert before - 5000 <= stat.ctime <= after + 5000  # wall clock ms (same machine)
    assert (stat.version, stat.cversion, stat.aversion) == (0, 0, 0)
    assert (stat.ephemeralOwner, stat.dataLength, stat.numChildren) == (0, 5, 0)
    assert zk.exists(path) == stat


def test_set_data_changes_mzxid_and_version_only(zk, root):
    _, created = zk.create(f"{root}/n", b"a", include_data=True)
    time.sleep(0.01)
    stat = zk.set(f"{root}/n", b"abc")
    assert stat.czxid == created.czxid and stat.pzxid == created.pzxid
    assert stat.mzxid > created.mzxid
    assert stat.mtime >= created.mtime and stat.ctime == created.ctime
    assert (stat.version, stat.cversion, stat.aversion, stat.dataLength) == (1, 0, 0, 3)
    stat2 = zk.set(f"{root}/n", b"abc")  # same value is still a new version
    assert stat2.version == 2 and stat2.mzxid > stat.mzxid


def test_child_changes_update_cversion_and_pzxid(raw, root):
    s = raw()
    parent = f"{root}/p"
    s.create(parent)
    base = s.exists(parent)
    _, a = s.create2(f"{parent}/a")
    st = s.exists(parent)
    assert (st.cversion, st.numChildren, st.pzxid) == (1, 1, a.czxid)
    assert st.mzxid == base.mzxid and st.version == 0  # the parent's data is untouched
    _, b = s.create2(f"{parent}/b")
    reply = s.call_raw(*op_delete(f"{parent}/a"))
    st = s.exists(parent)
    assert (st.cversion, st.numChildren) == (3, 1)
    assert st.pzxid == reply.zxid > b.czxid  # pzxid is the zxid of the last child change
    s.set_data(f"{parent}/b", b"x")  # a child's data change is not a child change
    assert s.exists(parent).cversion == 3
    s.delete(f"{parent}/b")
    st = s.exists(parent)
    assert (st.cversion, st.numChildren) == (4, 0)


def test_cversion_counts_every_child_change(raw, root):
    # visible cversion = 2 * (children ever created) - numChildren
    s = raw()
    p = f"{root}/p"
    s.create(p)
    seq = []
    s.create(f"{p}/n-", flags=2)
    seq.append(s.exists(p).cversion)
    s.delete(f"{p}/n-0000000000")
    seq.append(s.exists(p).cversion)
    s.create(f"{p}/n-", flags=2)
    s.create(f"{p}/plain")
    s.create(f"{p}/e-", flags=3)
    seq.append(s.exists(p).cversion)
    s.delete(f"{p}/plain")
    s.delete(f"{p}/n-0000000001")
    seq.append(s.exists(p).cversion)
    assert seq == [1, 2, 5, 7]
    assert s.create(f"{p}/n-", flags=2) == f"{p}/n-0000000004"


def test_ephemeral_deletion_by_session_close_updates_parent(raw, root):
    s = raw()
    owner = raw()
    s.create(f"{root}/p")
    owner.create(f"{root}/p/e", flags=1)
    before = s.exists(f"{root}/p")
    close = owner.call_raw(Op.CLOSE_SESSION)
    st = s.exists(f"{root}/p")
    assert st.cversion == before.cversion + 1 and st.numChildren == 0
    assert st.pzxid == close.zxid


def test_set_acl_changes_aversion_only(zk, root):
    _, created = zk.create(f"{root}/n", include_data=True)
    stat = zk.set_acls(f"{root}/n", [make_digest_acl("u", "p", all=True)] + list(OPEN_ACL_UNSAFE))
    assert stat.aversion == 1 and stat.version == 0 and stat.cversion == 0
    assert stat.mzxid == created.mzxid  # setACL does not touch mzxid
    acls, stat2 = zk.get_acls(f"{root}/n")
    assert stat2 == stat and len(acls) == 2


def test_zxids_increase_and_match_reply_headers(raw, root):
    s = raw()
    zxids = []
    for i in range(5):
        reply = s.call_raw(*op_create(f"{root}/z{i}"))
        assert reply.err == 0
        zxids.append(reply.zxid)
        assert s.exists(f"{root}/z{i}").czxid == reply.zxid
    assert zxids == sorted(set(zxids))
    reply = s.call_raw(*op_set_data(f"{root}/z0", b"x"))
    assert s.exists(f"{root}/z0").mzxid == reply.zxid > zxids[-1]
    # a read's reply header carries the last committed zxid
    read = s.call_raw(Op.EXISTS, b"".join([__import__("zkraw").Writer().string(f"{root}/z0").bool(False).bytes()]))
    assert read.zxid >= reply.zxid


def test_builtin_nodes(raw):
    s = raw()
    for path in ("/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"):
        assert s.exists(path) is not None, path
    assert {"config", "quota"} <= set(s.get_children("/zookeeper"))
    assert s.exists("/").czxid == 0


def test_ephemeral_owner_is_session_id(raw, root):
    s = raw()
    _, stat = s.create2(f"{root}/e", flags=1)
    assert stat.ephemeralOwner == s.session_id != 0
