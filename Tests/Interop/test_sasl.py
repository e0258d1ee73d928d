"""SASL DIGEST-MD5 authentication and the `sasl` ACL scheme, against both servers with the same zoo.cfg:

- ZooKeeper 3.8 reads the JAAS file from -Djava.security.auth.login.config (its `Server` section of
  DigestLoginModule users) and needs authProvider.N=SASLAuthenticationProvider for `sasl` ACLs; zooreg reads the
  file from the zoo.cfg key `jaasLoginConfig` (ZooKeeper turns that unknown key into a harmless system property)
  and accepts the authProvider line. `superUser=carol` is zookeeper.superUser in ZooKeeper (an unknown zoo.cfg key
  k becomes the system property zookeeper.k), and zooreg's `superUser`.
- kazoo with sasl_options (pure-sasl), a raw exchange (opcode 102 with a GetSASLRequest token, replies under
  zxid 0), whoami, ACLs, a wrong password and an unknown user (AUTHFAILED, then the connection is closed), zkCli
  with a JAAS `Client` section, and the passwords kept out of the server log.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
import puresasl.client
from kazoo.exceptions import AuthFailedError, ConnectionClosedError, NoAuthError
from kazoo.protocol.states import KazooState
from kazoo.security import make_acl

from conftest import kazoo_client
from helpers import wait_until
from zkraw import ConnectionClosed, Op, Perm, RawSession, Reader, Writer, read_until_closed
from zkserver import ENSEMBLE_IMPLS, HOST, IMPL_ZOOKEEPER, IMPL_ZOOREG, ZOOKEEPER_JARS, Server, ServerError

AUTH_FAILED = -115
PASSWORDS = {"bob": "bobsecret-7f3a", "alice": "alicesecret-91c2", "carol": "carolsecret-e5d0"}
SASL_PROVIDER = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"


def _write_server_jaas(path: Path) -> None:
    users = "\n".join(f'    user_{name}="{pw}"' for name, pw in PASSWORDS.items())
    path.write_text(
        "// the users ZooKeeper's DigestLoginModule authenticates\n"
        "Server {\n"
        "    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
        f"{users};\n"
        "};\n")


class SASLServer(Server):
    """A server with SASL DIGEST-MD5: the same zoo.cfg for both, the JAAS file as a JVM flag for ZooKeeper."""

    def __init__(self, impl, workdir: Path, verbose: bool = False, **overrides):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.jaas = workdir / "server.jaas"
        _write_server_jaas(self.jaas)
        settings = {
            "authProvider.1": SASL_PROVIDER,
            "jaasLoginConfig": str(self.jaas),
            "superUser": "carol",
        }
        settings.update(overrides)
        flags = [f"-Djava.security.auth.login.config={self.jaas}"]
        if verbose:
            flags.append("-Dorg.slf4j.simpleLogger.defaultLogLevel=debug")
        self.verbose = verbose
        super().__init__(impl, workdir, jvm_flags=flags, **settings)

    def command(self) -> list:
        cmd = super().command()
        if self.verbose and self.impl != IMPL_ZOOKEEPER:
            cmd += ["--log-level", "trace"]
        return cmd


def _start(impl, workdir, **kwargs) -> SASLServer:
    srv = SASLServer(impl, workdir, **kwargs)
    try:
        srv.start()
    except ServerError as e:
        pytest.fail(str(e), pytrace=False)
    return srv


@pytest.fixture(scope="module")
def sasl_server(impl, tmp_path_factory):
    if impl in ENSEMBLE_IMPLS:
        pytest.skip("SASL tests start their own standalone server (JAAS file, JVM flags)")
    srv = _start(impl, tmp_path_factory.mktemp(f"{impl}-sasl"))
    yield srv
    died = srv.proc is not None and srv.proc.poll() is not None
    srv.stop()
    if died:
        pytest.fail(f"{impl} SASL server died during the run\n{srv.log_tail()}", pytrace=False)


@pytest.fixture
def clients():
    made = []
    yield made
    for c in made:
        try:
            c.stop()
            c.close()
        except Exception:  # noqa: BLE001
            pass


def sasl_kazoo(srv, user, password=None, **kwargs):
    options = {"mechanism": "DIGEST-MD5", "username": user, "password": PASSWORDS[user] if password is None else password}
    return kazoo_client(srv.hosts, sasl_options=options, **kwargs)


def raw_sasl(srv, user: str, password: str):
    """A raw session that runs the DIGEST-MD5 exchange as kazoo does (xids 1, 2, ...). Returns the session and
    the replies (err, zxid) of each step; stops at the first error."""
    s = RawSession.connect(HOST, srv.port)
    client = puresasl.client.SASLClient("zk-sasl-md5", service="zookeeper", mechanism="DIGEST-MD5",
                                        username=user, password=password)
    steps = []
    challenge = None
    while not client.complete:
        token = client.process(challenge) or b""
        if client.complete and not token:
            break
        reply = s.call_raw(Op.SASL, Writer().buffer(token).bytes())
        steps.append((reply.err, reply.zxid))
        if reply.err != 0:
            break
        challenge = reply.reader().buffer() or b""
        if client.complete:
            break
        if challenge.startswith(b"rspauth="):
            client.process(challenge)
            break
    return s, steps


# -- tests

def test_kazoo_digest_md5_authenticates_as_sasl_user(sasl_server, clients):
    bob = sasl_kazoo(sasl_server, "bob")
    clients.append(bob)
    bob.start(timeout=15)
    path = f"/sasl-{uuid.uuid4().hex[:8]}"
    bob.create(path, b"bob's", acl=[make_acl("auth", "", all=True)])
    # `auth` expands to the session's authenticated ids: the sasl id (ip is not an authenticated scheme).
    assert bob.get_acls(path)[0] == [make_acl("sasl", "bob", all=True)]
    assert bob.get(path)[0] == b"bob's"


def test_raw_exchange_whoami_and_zxid_zero(sasl_server):
    s, steps = raw_sasl(sasl_server, "bob", PASSWORDS["bob"])
    try:
        # challenge, then rspauth: both OK and under zxid 0 (processSasl replies outside the request pipeline)
        assert steps == [(0, 0), (0, 0)]
        assert set(s.who_am_i()) == {("ip", "127.0.0.1"), ("sasl", "bob")}
    finally:
        s.close()


def test_sasl_acl_admits_its_user_only(sasl_server, clients):
    path = f"/sasl-acl-{uuid.uuid4().hex[:8]}"
    bob = sasl_kazoo(sasl_server, "bob")
    clients.append(bob)
    bob.start(timeout=15)
    bob.create(path, b"v1", acl=[make_acl("sasl", "bob", read=True, write=True, create=True, delete=True, admin=True)])
    bob.set(path, b"v2")
    bob.create(path + "/child", b"")
    assert bob.get(path)[0] == b"v2"

    anonymous = kazoo_client(sasl_server.hosts)
    clients.append(anonymous)
    anonymous.start(timeout=15)
    with pytest.raises(NoAuthError):
        anonymous.get(path)
    with pytest.raises(NoAuthError):
        anonymous.set(path, b"anonymous")

    alice = sasl_kazoo(sasl_server, "alice")
    clients.append(alice)
    alice.start(timeout=15)
    with pytest.raises(NoAuthError):
        alice.get(path)
    with pytest.raises(NoAuthError):
        alice.set(path, b"alice")
    with pytest.raises(NoAuthError):
        alice.create(path + "/alice", b"")
    # a digest id of the same name is another identity
    anonymous.add_auth("digest", "bob:" + PASSWORDS["bob"])
    with pytest.raises(NoAuthError):
        anonymous.get(path)
    assert bob.get(path)[0] == b"v2"


def test_sasl_super_user(sasl_server, clients):
    path = f"/sasl-super-{uuid.uuid4().hex[:8]}"
    bob = sasl_kazoo(sasl_server, "bob")
    clients.append(bob)
    bob.start(timeout=15)
    bob.create(path, b"bob only", acl=[make_acl("sasl", "bob", all=True)])
    carol = sasl_kazoo(sasl_server, "carol")  # superUser=carol
    clients.append(carol)
    carol.start(timeout=15)
    assert carol.get(path)[0] == b"bob only"
    carol.set(path, b"by carol")
    assert bob.get(path)[0] == b"by carol"


def test_invalid_sasl_acl_id(sasl_server, clients):
    from kazoo.exceptions import InvalidACLError
    bob = sasl_kazoo(sasl_server, "bob")
    clients.append(bob)
    bob.start(timeout=15)
    base = f"/sasl-id-{uuid.uuid4().hex[:8]}"
    # SASLAuthenticationProvider.isValid: a Kerberos name (service[/host]@realm) or a name without '@'
    bob.create(base + "-a", b"", acl=[make_acl("sasl", "svc/host.example@EXAMPLE.COM", all=True)])
    with pytest.raises(InvalidACLError):
        bob.create(base + "-b", b"", acl=[make_acl("sasl", "a@b@c", all=True)])


@pytest.mark.parametrize("user,password", [("bob", "not-the-password"), ("mallory", "whatever")])
def test_failed_authentication_replies_authfailed_and_closes(sasl_server, user, password):
    s, steps = raw_sasl(sasl_server, user, password)
    try:
        assert steps == [(0, 0), (AUTH_FAILED, 0)]
        # then the server closes the connection (sendCloseSession)
        read_until_closed(s.sock, timeout=5.0)
        with pytest.raises((ConnectionClosed, OSError)):
            s.call_raw(Op.PING, b"")
    finally:
        s.close_socket()
    # the server goes on serving
    ok, steps = raw_sasl(sasl_server, "bob", PASSWORDS["bob"])
    assert steps == [(0, 0), (0, 0)]
    ok.close()


def test_kazoo_wrong_password_fails_with_auth_failed(sasl_server, clients, caplog):
    # kazoo reports CONNECTED right after the handshake, before its SASL exchange, so start() may return; the
    # server's AUTHFAILED then puts the client in AUTH_FAILED (kazoo stops connecting) and every call fails.
    bad = sasl_kazoo(sasl_server, "bob", password="wrong")
    clients.append(bad)
    states = []
    bad.add_listener(states.append)
    try:
        bad.start(timeout=15)
    except AuthFailedError:
        pass
    wait_until(lambda: KazooState.LOST in states, timeout=10, what="kazoo's session LOST after AUTH_FAILED")
    assert any(r.getMessage().startswith("AUTH_FAILED closing") for r in caplog.records)
    # kazoo gives up (no reconnect): a call fails, with AuthFailedError if it was queued before the failure
    with pytest.raises((AuthFailedError, ConnectionClosedError)):
        bad.get("/")
    assert not bad.connected


def test_zkcli_with_jaas_client_section(sasl_server, clients, tmp_path):
    path = f"/sasl-zkcli-{uuid.uuid4().hex[:8]}"
    bob = sasl_kazoo(sasl_server, "bob")
    clients.append(bob)
    bob.start(timeout=15)
    bob.create(path, b"for bob", acl=[make_acl("sasl", "bob", all=True)])

    def zkcli(user: str, password: str) -> str:
        jaas = tmp_path / f"client-{user}.jaas"
        jaas.write_text("Client {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
                        f'    username="{user}"\n    password="{password}";\n}};\n')
        cmd = ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", f"-Djava.security.auth.login.config={jaas}",
               "-cp", ":".join(ZOOKEEPER_JARS), "org.apache.zookeeper.ZooKeeperMain", "-server", sasl_server.hosts]
        proc = subprocess.run(cmd, input=f"get {path}\nwhoami\nquit\n", stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60, cwd=tmp_path)
        return proc.stdout

    out = zkcli("bob", PASSWORDS["bob"])
    assert "\nfor bob\n" in out, out[-3000:]
    assert "sasl: bob" in out, out[-3000:]
    out = zkcli("alice", PASSWORDS["alice"])
    assert "Insufficient permission" in out or "NoAuth" in out, out[-3000:]
    assert "sasl: alice" in out, out[-3000:]


@pytest.mark.standalone_only("needs its own server logging at the most verbose level")
def test_sasl_passwords_stay_out_of_logs(impl, tmp_path):
    srv = _start(impl, tmp_path / impl, verbose=True)
    try:
        ok, steps = raw_sasl(srv, "bob", PASSWORDS["bob"])
        assert steps == [(0, 0), (0, 0)]
        ok.close()
        bad, steps = raw_sasl(srv, "alice", "guess-" + PASSWORDS["alice"])
        assert steps[-1][0] == AUTH_FAILED
        bad.close_socket()
        words = {w: srv.four_letter_word(w) for w in ("conf", "envi", "cons", "dump")}
    finally:
        srv.stop()
    log = srv.log_path.read_text(errors="replace")
    assert "bob" in log or "alice" in log  # the log is verbose enough to have seen the exchanges
    for secret in PASSWORDS.values():
        assert secret not in log
        for word, text in words.items():
            assert secret not in text, word


def _start_fails(srv: SASLServer) -> str:
    with pytest.raises(ServerError) as failure:
        srv.start(timeout=60)
    srv.stop()
    assert "exited with" in str(failure.value), str(failure.value)
    return srv.log_path.read_text(errors="replace")


@pytest.mark.standalone_only("starts its own server with a broken JAAS file")
def test_missing_jaas_file_stops_startup(impl, tmp_path):
    srv = SASLServer(impl, tmp_path / impl)
    missing = tmp_path / "no-such.jaas"
    srv.settings["jaasLoginConfig"] = str(missing)
    srv.write_config()
    srv.jvm_flags = [f"-Djava.security.auth.login.config={missing}"]
    log = _start_fails(srv)
    assert str(missing) in log


@pytest.mark.parametrize("case", ["no-section", "malformed", "no-users"])
def test_unusable_jaas_file_stops_zooreg(impl, tmp_path, case):
    if impl != IMPL_ZOOREG:
        # ZooKeeper 3.8 starts without SASL when the file lacks its Server section (only a missing or unparsable
        # file stops it, with a JVM stack trace); zooreg refuses every unusable file with one line naming it.
        pytest.skip("zooreg's startup checks")
    srv = SASLServer(impl, tmp_path / impl)
    text = {
        "no-section": 'Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="b" password="p"; };\n',
        "malformed": 'Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_bob="hunter2-xyz"\n',
        "no-users": "Server { org.apache.zookeeper.server.auth.DigestLoginModule required; };\n",
    }[case]
    srv.jaas.write_text(text)
    log = _start_fails(srv)
    assert f"zooreg: invalid configuration: jaasLoginConfig {srv.jaas}: " in log, log[-2000:]
    assert "hunter2-xyz" not in log
