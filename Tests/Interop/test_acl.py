"""ACLs and digest auth: what each permission allows, the auth scheme, ip ACLs, the superuser, whoAmI."""

import pytest
from kazoo.exceptions import InvalidACLError, NoAuthError
from kazoo.security import ACL, Id, make_digest_acl, make_digest_acl_credential, OPEN_ACL_UNSAFE, Permissions

from zkraw import (AddWatchMode, CreateFlags, Err, EventType, Perm, RawSession, Reply, WatcherType, ZKError,
                   op_get_children, op_get_data, read_until_closed)
from zkserver import IMPL_ZOOKEEPER, SUPER_PASSWORD, SUPER_USER, digest


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


# -- The traps, on both servers (ZooKeeper 3.8's PrepRequestProcessor and FinalRequestProcessor)

def test_set_acl_needs_admin_and_admin_alone_suffices(raw, root):
    s = raw()
    everything_but_admin = Perm.ALL & ~Perm.ADMIN
    s.create(f"{root}/no-admin", b"", [(everything_but_admin, "world", "anyone")])
    assert _code(lambda: s.set_acl(f"{root}/no-admin", [(Perm.ALL, "world", "anyone")])) == Err.NO_AUTH
    s.set_data(f"{root}/no-admin", b"write is not enough")
    s.create(f"{root}/admin-only", b"", [(Perm.ADMIN, "world", "anyone")])
    assert _code(lambda: s.get_data(f"{root}/admin-only")) == Err.NO_AUTH
    s.set_acl(f"{root}/admin-only", [(Perm.ALL, "world", "anyone")])  # ADMIN alone may open the node up
    assert s.get_data(f"{root}/admin-only")[0] == b""


def test_exists_is_unguarded_and_get_acl_needs_read_or_admin(raw, root):
    # exists needs no permission at all. getACL is guarded by READ or ADMIN since ZOOKEEPER-1392 (3.8's
    # FinalRequestProcessor checks READ|ADMIN, then hides digest hashes unless ADMIN): a node with no
    # permission for the caller reveals its existence and Stat, not its ACL.
    owner, other = raw(), raw()
    owner.add_auth("digest", b"alice:pw")
    alice = (Perm.ALL, "digest", digest("alice", "pw"))
    owner.create(f"{root}/locked", b"", [alice])
    stat = other.exists(f"{root}/locked")
    assert stat is not None and stat.aversion == 0
    assert _code(lambda: other.get_acl(f"{root}/locked")) == Err.NO_AUTH
    owner.create(f"{root}/readable", b"", [alice, (Perm.READ, "world", "anyone")])
    acl, _ = other.get_acl(f"{root}/readable")
    assert acl == [(Perm.ALL, "digest", "alice:x"), (Perm.READ, "world", "anyone")]  # the hash is hidden
    assert owner.get_acl(f"{root}/readable")[0][0] == alice  # shown with ADMIN


def test_a_child_inherits_nothing(raw, root):
    owner, other = raw(), raw()
    owner.add_auth("digest", b"alice:pw")
    alice = (Perm.ALL, "digest", digest("alice", "pw"))
    owner.create(f"{root}/private", b"", [alice, (Perm.CREATE, "world", "anyone")])
    # The child's ACL is what its create said, however closed its parent is.
    other.create(f"{root}/private/open", b"kid")
    assert owner.get_acl(f"{root}/private/open")[0] == [(Perm.ALL, "world", "anyone")]
    assert _code(lambda: other.get_data(f"{root}/private")) == Err.NO_AUTH
    assert other.get_data(f"{root}/private/open")[0] == b"kid"
    other.set_data(f"{root}/private/open", b"changed")
    # And the other way round: an open parent gives a closed child nothing.
    owner.create(f"{root}/public", b"", [(Perm.ALL, "world", "anyone")])
    owner.create(f"{root}/public/closed", b"", [alice])
    assert _code(lambda: other.get_data(f"{root}/public/closed")) == Err.NO_AUTH
    assert _code(lambda: other.create(f"{root}/public/closed/kid")) == Err.NO_AUTH


def test_ip_acl_cidr(raw, root):
    s = raw()  # from 127.0.0.1
    for expr, readable in (("127.0.0.0/8", True), ("127.0.0.1/32", True), ("127.0.0.0/31", True),
                           ("127.0.0.2/31", False), ("0.0.0.0/0", True), ("127.255.255.255/8", True),
                           ("126.0.0.0/8", False), ("128.0.0.0/1", False)):
        path = s.create(f"{root}/n", b"", [(Perm.ALL, "ip", expr)], flags=CreateFlags.PERSISTENT_SEQUENTIAL)
        assert _code(lambda: s.get_data(path)) == (0 if readable else Err.NO_AUTH), expr
    for bad in ("127.0.0.1/33", "127.0.0.1/", "127.0.0.1/-1", "127.0.0.1/8/8", "127.0.0", "127.0.0.256", "host"):
        assert _code(lambda: s.create(f"{root}/bad", b"", [(Perm.ALL, "ip", bad)])) == Err.INVALID_ACL, bad


@pytest.mark.standalone_only("needs a fresh server listening on the IPv6 wildcard")
def test_ipv6_acls(impl, server_factory):
    # IPv6 ip ACLs came with ZooKeeper 3.9.4 (ZOOKEEPER-4240); 3.8 parses only IPv4 and refuses them.
    srv = server_factory(clientPortAddress="::")
    v6 = RawSession.connect("::1", srv.port)
    v4 = RawSession.connect("127.0.0.1", srv.port)  # an IPv4-mapped peer of the dual-stack socket
    try:
        # The connection's id is written as Java writes the address.
        assert ("ip", "0:0:0:0:0:0:0:1") in v6.who_am_i()
        assert ("ip", "127.0.0.1") in v4.who_am_i()
        code = _code(lambda: v6.create("/v6", b"", [(Perm.ALL, "ip", "::1")]))
        if impl == IMPL_ZOOKEEPER:
            assert code == Err.INVALID_ACL
            return
        assert code == 0
        assert v6.get_data("/v6")[0] == b""
        assert _code(lambda: v4.get_data("/v6")) == Err.NO_AUTH  # an IPv4 client never matches an IPv6 ACL
        for expr, readable in (("::1/128", True), ("::/0", True), ("0:0:0:0:0:0:0:1", True), ("::/127", True),
                               ("::2/127", False), ("2001:db8::/32", False), ("fe80::/10", False)):
            path = v6.create("/n", b"", [(Perm.ALL, "ip", expr), (Perm.ALL, "ip", "127.0.0.1")],
                             flags=CreateFlags.PERSISTENT_SEQUENTIAL)
            assert _code(lambda: v6.get_data(path)) == (0 if readable else Err.NO_AUTH), expr
        for bad in ("::1/129", "1::2::3", "::ffff:1.2.3.4", "12345::", "::1/"):
            assert _code(lambda: v6.create("/bad", b"", [(Perm.ALL, "ip", bad)])) == Err.INVALID_ACL, bad
    finally:
        v6.close()
        v4.close()


# -- Watch events respect READ permission (CVE-2024-23944)
#
# Fixed in ZooKeeper 3.8.4/3.9.2 (ZOOKEEPER-4799): NIOServerCnxn/NettyServerCnxn.process check READ, with the
# watcher connection's auth when the event is sent, on the ACL DataTree hands to triggerWatch (the node's own;
# the parent's for NodeChildrenChanged), for every watch mode. Debian backported the fix to its 3.8.0
# (3.8.0-11+deb12u2), so this runs against both servers.

def test_watch_events_respect_read_permission(raw, root):
    owner, watcher = raw(), raw()
    owner.add_auth("digest", b"alice:pw")
    alice = (Perm.ALL, "digest", digest("alice", "pw"))
    owner.create(f"{root}/a", b"", [alice])
    watcher.add_watch(root, AddWatchMode.PERSISTENT_RECURSIVE)
    watcher.add_watch(f"{root}/a", AddWatchMode.PERSISTENT)
    assert watcher.exists(f"{root}/hidden-later", watch=True) is None

    def barrier(name):
        """A change the watcher may see: every event before it has arrived once it has."""
        owner.create(f"{root}/{name}")
        watcher.wait_event(lambda e: e.path == f"{root}/{name}")
        seen = [(e.type, e.path) for e in watcher.events]
        watcher.events.clear()
        return seen

    owner.set_data(f"{root}/a", b"1")                      # /a: not readable
    owner.create(f"{root}/a/b")                            # open child: its NodeCreated is seen; /a's
    owner.create(f"{root}/a/secret", b"", [alice])         # NodeChildrenChanged is not
    owner.set_data(f"{root}/a/secret", b"2")
    owner.create(f"{root}/hidden-later", b"", [alice])     # a one-shot watch: withheld (and consumed)
    assert barrier("sync1") == [(EventType.NODE_CREATED, f"{root}/a/b")]

    owner.delete(f"{root}/a/secret")
    owner.delete(f"{root}/a/b")
    assert barrier("sync2") == [(EventType.NODE_DELETED, f"{root}/a/b")]

    # The watcher's auth when the event is sent decides, not when the watch was set.
    watcher.add_auth("digest", b"alice:pw")
    owner.set_data(f"{root}/a", b"3")
    assert barrier("sync3") == [(EventType.NODE_DATA_CHANGED, f"{root}/a")]  # once, for both watches
    assert watcher.check_watches(f"{root}/hidden-later", WatcherType.DATA) == Err.NO_WATCHER
