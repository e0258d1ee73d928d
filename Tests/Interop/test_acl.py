"""ACLs and digest auth: what each permission allows, the auth scheme, ip ACLs, the superuser, whoAmI."""

import pytest
from kazoo.exceptions import InvalidACLError, NoAuthError
from kazoo.security import ACL, Id, make_digest_acl, make_digest_acl_credential, OPEN_ACL_UNSAFE, Permissions

from zkraw import Err, Perm, Reply, ZKError, op_get_children, op_get_data, read_until_closed
from zkserver import SUPER_PASSWORD, SUPER_USER, digest


def test_digest_acl_with_kazoo(zk, root, make_client):
    owner = make_client.kazoo(auth_data=[("digest", "alice:secret")])
    stranger = make_client.kazoo()
    acl = [make_digest_acl("alice", "secret", all=True)]
    owner.create(f"{root}/private", b"s3cret", acl=acl)
    with pytest.raises(NoAuthError):
        stranger.get(f"{root}/private")
    with pytest.raises(NoAuthError):
        stranger.set(f"{root}/private", b"x")
    with pytest.raises(NoAuthError):
        stranger.create(f"{root}/private/child")
    with pytest.raises(NoAuthError):
        stranger.get_children(f"{root}/private")
    assert stranger.exists(f"{root}/private") is not None  # exists needs no permission
    assert owner.get(f"{root}/private")[0] == b"s3cret"
    stranger.add_auth("digest", "alice:secret")
    assert stranger.get(f"{root}/private")[0] == b"s3cret"
    acls, _ = stranger.get_acls(f"{root}/private")
    assert acls == acl


def test_wrong_password_is_just_another_identity(root, make_client):
    owner = make_client.kazoo(auth_data=[("digest", "alice:secret")])
    owner.create(f"{root}/private", acl=[make_digest_acl("alice", "secret", all=True)])
    wrong = make_client.kazoo()
    wrong.add_auth("digest", "alice:wrong")  # accepted: digest auth never fails, it only names an id
    with pytest.raises(NoAuthError):
        wrong.get(f"{root}/private")


def test_auth_scheme_acl(zk, root, make_client):
    with pytest.raises(InvalidACLError):  # "auth" with no authenticated identity
        zk.create(f"{root}/a", acl=[ACL(Permissions.ALL, Id("auth", ""))])
    owner = make_client.kazoo(auth_data=[("digest", "bob:pw")])
    owner.create(f"{root}/a", acl=[ACL(Permissions.ALL, Id("auth", ""))])
    acls, _ = owner.get_acls(f"{root}/a")
    # replaced by the creator's digest identity (the ip identity is not used)
    assert acls == [make_digest_acl("bob", "pw", all=True)]
    with pytest.raises(NoAuthError):
        zk.get(f"{root}/a")


def test_invalid_acls(zk, root):
    # (kazoo replaces acl=[] by its default ACL on create, so the empty list is tested with set_acls)
    for acl in ([ACL(Permissions.ALL, Id("digest", "nocolon"))], [ACL(Permissions.ALL, Id("foo", "bar"))],
                [ACL(Permissions.ALL, Id("ip", "not-an-ip"))], [ACL(Permissions.ALL, Id("world", "someone"))]):
        with pytest.raises(InvalidACLError):
            zk.create(f"{root}/bad", acl=acl)
    with pytest.raises(InvalidACLError):
        zk.set_acls(root, [])


def test_ip_acl(zk, root):
    zk.create(f"{root}/local", b"ok", acl=[ACL(Permissions.ALL, Id("ip", "127.0.0.1"))])
    zk.create(f"{root}/net8", b"", acl=[ACL(Permissions.ALL, Id("ip", "127.0.0.0/8"))])
    zk.create(f"{root}/other", b"", acl=[ACL(Permissions.ALL, Id("ip", "10.0.0.0/8"))])
    assert zk.get(f"{root}/local")[0] == b"ok"
    zk.get(f"{root}/net8")
    with pytest.raises(NoAuthError):
        zk.get(f"{root}/other")


def test_set_acl_versions(zk, root):
    zk.create(f"{root}/n")
    stat = zk.set_acls(f"{root}/n", [ACL(Permissions.READ | Permissions.ADMIN, Id("world", "anyone"))], version=0)
    assert stat.aversion == 1
    with pytest.raises(NoAuthError):
        zk.set(f"{root}/n", b"x")
    zk.set_acls(f"{root}/n", list(OPEN_ACL_UNSAFE), version=1)
    zk.set(f"{root}/n", b"x")


def test_unusual_permission_bits_are_stored_as_given(raw, root):
    s = raw()
    s.create(f"{root}/p0", b"", [(0, "world", "anyone")])
    s.create(f"{root}/p99", b"", [(99, "world", "anyone")])
    assert s.get_acl(f"{root}/p99")[0] == [(99, "world", "anyone")]
    with pytest.raises(ZKError) as e:
        s.get_data(f"{root}/p0")
    assert e.value.code == Err.NO_AUTH


def _code(fn):
    try:
        fn()
    except ZKError as e:
        return e.code
    return 0


@pytest.mark.parametrize("perms", [0, Perm.READ, Perm.WRITE, Perm.CREATE, Perm.DELETE, Perm.ADMIN],
                         ids=["none", "read", "write", "create", "delete", "admin"])
def test_permission_matrix(raw, root, perms):
    owner, other = raw(), raw()
    assert owner.add_auth("digest", b"alice:pw").err == 0
    n = f"{root}/n"
    acl = [(Perm.ALL, "digest", digest("alice", "pw"))]
    if perms:
        acl.append((perms, "world", "anyone"))
    owner.create(n, b"d", acl)
    owner.create(f"{n}/kid")
    allowed = lambda p: 0 if perms & p else Err.NO_AUTH  # noqa: E731
    read_or_admin = 0 if perms & (Perm.READ | Perm.ADMIN) else Err.NO_AUTH
    got = {
        "exists": _code(lambda: other.exists(n)),
        "getData": _code(lambda: other.get_data(n)),
        "getChildren": _code(lambda: other.get_children(n)),
        "getChildren2": _code(lambda: other.get_children2(n)),
        "getACL": _code(lambda: other.get_acl(n)),
        "getAllChildrenNumber": _code(lambda: other.get_all_children_number(n)),
        "addWatch": _code(lambda: other.add_watch(n, 0)),
        "sync": _code(lambda: other.sync(n)),
        "setData": _code(lambda: other.set_data(n, b"x")),
        "create child": _code(lambda: other.create(f"{n}/c")),
        "delete child": _code(lambda: other.delete(f"{n}/kid")),
        "setACL": _code(lambda: other.set_acl(n, acl)),
    }
    want = {
        "exists": 0, "addWatch": 0, "sync": 0,  # no permission needed
        "getData": allowed(Perm.READ), "getChildren": allowed(Perm.READ), "getChildren2": allowed(Perm.READ),
        "getAllChildrenNumber": allowed(Perm.READ),
        "getACL": read_or_admin,
        "setData": allowed(Perm.WRITE), "create child": allowed(Perm.CREATE),
        "delete child": allowed(Perm.DELETE), "setACL": allowed(Perm.ADMIN),
    }
    assert got == want
    err, results = other.multi_read([op_get_data(n), op_get_children(n)])
    assert err == 0
    assert [r.err for r in results] == [allowed(Perm.READ)] * 2


def test_delete_needs_delete_on_parent_not_on_node(raw, root):
    s = raw()
    s.create(f"{root}/p", b"", [(Perm.ALL, "world", "anyone")])
    s.create(f"{root}/p/locked", b"", [(0, "world", "anyone")])
    s.delete(f"{root}/p/locked")  # allowed: DELETE is checked on the parent
    s.create(f"{root}/q", b"", [(Perm.ALL & ~Perm.DELETE, "world", "anyone")])
    s.create(f"{root}/q/open")
    assert _code(lambda: s.delete(f"{root}/q/open")) == Err.NO_AUTH


def test_no_auth_comes_before_node_exists(raw, root):
    owner, other = raw(), raw()
    owner.add_auth("digest", b"alice:pw")
    owner.create(f"{root}/p", b"", [(Perm.ALL, "digest", digest("alice", "pw")), (Perm.READ, "world", "anyone")])
    owner.create(f"{root}/p/c")
    assert _code(lambda: other.create(f"{root}/p/c")) == Err.NO_AUTH  # the parent's ACL is checked first
    assert _code(lambda: owner.create(f"{root}/p/c")) == Err.NODE_EXISTS


def test_superuser_bypasses_acls(root, make_client):
    owner = make_client.kazoo(auth_data=[("digest", "alice:pw")])
    owner.create(f"{root}/locked", b"v", acl=[make_digest_acl("alice", "pw", all=True)])
    owner.create(f"{root}/nothing", b"v", acl=[ACL(0, Id("world", "anyone"))])
    su = make_client.kazoo(auth_data=[("digest", f"{SUPER_USER}:{SUPER_PASSWORD}")])
    assert su.get(f"{root}/locked")[0] == b"v"
    su.set(f"{root}/nothing", b"w")
    su.create(f"{root}/nothing/child")
    su.delete(f"{root}/nothing/child")
    su.set_acls(f"{root}/nothing", list(OPEN_ACL_UNSAFE))
    wrong = make_client.kazoo(auth_data=[("digest", f"{SUPER_USER}:not-the-password")])
    with pytest.raises(NoAuthError):
        wrong.get(f"{root}/locked")


def test_who_am_i(raw):
    s = raw()
    assert set(s.who_am_i()) == {("ip", "127.0.0.1")}
    s.add_auth("digest", b"alice:pw")
    s.add_auth("digest", b"bob:pw")
    assert set(s.who_am_i()) == {("ip", "127.0.0.1"), ("digest", "alice"), ("digest", "bob")}
    su = raw()
    su.add_auth("digest", f"{SUPER_USER}:{SUPER_PASSWORD}".encode())
    assert set(su.who_am_i()) == {("ip", "127.0.0.1"), ("digest", SUPER_USER), ("super", "")}


def test_auth_with_unknown_scheme_fails_and_closes(raw):
    s = raw()
    reply = s.add_auth("nosuchscheme", b"x:y")
    assert (reply.xid, reply.err) == (-4, Err.AUTH_FAILED)
    assert read_until_closed(s.sock, timeout=5) == b""


def test_auth_reply_shape(raw):
    s = raw()
    reply = s.add_auth("digest", b"alice:pw")
    assert (reply.xid, reply.zxid, reply.err, reply.body) == (-4, 0, 0, b"")
