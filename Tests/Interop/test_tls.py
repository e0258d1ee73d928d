"""TLS on secureClientPort, against both servers with the same zoo.cfg lines (ZooKeeper needs
serverCnxnFactory=NettyServerCnxnFactory, authProvider.x509 and Debian's netty jars on its class path):

- kazoo with use_ssl (CA, client certificate and key), side by side with the plaintext clientPort, and TLS only;
- the x509 ACL scheme: the id is the client certificate's subject DN as Java's X500Principal.getName() writes it;
- ssl.clientAuth=need refuses a client without a certificate, and one whose certificate another CA signed;
- a plaintext client on the TLS port is refused cleanly and the server goes on serving;
- zkCli (ZooKeeperMain with ClientCnxnSocketNetty and zookeeper.ssl.*), the Swift CLI's --tls-* flags;
- zooreg only: certificate reload (client.certReload; Debian's ZooKeeper 3.8.0 predates it, 3.8.5 has it) and
  startup errors that name the key (wrong password, missing file, a key that does not match, JKS) and lose no data.

Certificates are made at test time with openssl, in a temporary directory: nothing private is committed.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from kazoo.exceptions import NoAuthError
from kazoo.security import make_acl

from conftest import kazoo_client
from helpers import wait_until
from zkraw import ConnectionClosed, RawSession
from zkserver import (ENSEMBLE_IMPLS, HOST, IMPL_ZOOKEEPER, IMPL_ZOOREG, ZOOKEEPER_JARS, Server, ServerError,
                      free_port, zooreg_binary)

NETTY_JARS = [f"/usr/share/java/{name}.jar" for name in (
    "netty-handler", "netty-codec", "netty-transport", "netty-buffer", "netty-common", "netty-resolver",
    "netty-transport-native-epoll", "netty-transport-native-unix-common")]
CLIENT_DN = "CN=client one,O=Example\\, Inc.,C=US"


# -- certificates

def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _issue(d: Path, ca: str, name: str, subject: str, san: str | None = None) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", subject, cwd=d)
    extra = []
    if san:
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        extra = ["-extfile", f"{name}.ext"]
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.crt", "-days", "2", *extra, cwd=d)
    # ZooKeeper's PEM key store: the private key and the certificate in one file.
    (d / f"{name}.pem").write_text((d / f"{name}.key").read_text() + (d / f"{name}.crt").read_text())


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tls-certs")
    for ca in ("ca", "otherca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                 "-days", "2", "-subj", f"/CN=ZooRegistry test {ca}", cwd=d)
    _issue(d, "ca", "server", "/CN=localhost", "IP:127.0.0.1,DNS:localhost")
    _issue(d, "ca", "server2", "/CN=localhost/O=rotated", "IP:127.0.0.1,DNS:localhost")
    _issue(d, "ca", "client", "/C=US/O=Example, Inc./CN=client one")
    _issue(d, "otherca", "stranger", "/CN=stranger")
    return d


# -- servers

class TLSServer(Server):
    """A Server with secureClientPort; without clientPort (tls_only) it waits for readiness over TLS."""

    def __init__(self, impl, workdir, certs: Path, tls_only=False, **overrides):
        self.secure_port = free_port()
        self.certs = certs
        settings = {
            "secureClientPort": self.secure_port,
            "serverCnxnFactory": "org.apache.zookeeper.server.NettyServerCnxnFactory",
            "authProvider.x509": "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
            "ssl.keyStore.location": str(certs / "server.pem"),
            "ssl.keyStore.type": "PEM",
            "ssl.trustStore.location": str(certs / "ca.pem"),
            "ssl.trustStore.type": "PEM",
            "ssl.clientAuth": "want",
        }
        settings.update(overrides)
        super().__init__(impl, workdir, **settings)
        if tls_only:
            # ZooKeeper refuses clientPortAddress without clientPort.
            del self.settings["clientPort"]
            del self.settings["clientPortAddress"]
            self.settings["secureClientPortAddress"] = HOST
            self.write_config()
        self.tls_only = tls_only

    @property
    def secure_hosts(self) -> str:
        return f"{HOST}:{self.secure_port}"

    def command(self) -> list:
        cmd = super().command()
        if self.impl == IMPL_ZOOKEEPER:
            i = cmd.index("-cp")
            cmd[i + 1] = ":".join(ZOOKEEPER_JARS + NETTY_JARS)
        return cmd

    def wait_ready(self, timeout: float = 30.0) -> None:
        if not self.tls_only:
            super().wait_ready(timeout)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerError(f"{self.impl} exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                tls_session(self, cert=True, timeout=2.0).sock.close()
                return
            except (OSError, ValueError) as e:
                last = repr(e)
            time.sleep(0.1)
        raise ServerError(f"{self.impl} TLS port not ready: {last}\n{self.log_tail()}")


def ssl_context(certs: Path, cert: bool = False, name: str = "client") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    if cert:
        ctx.load_cert_chain(str(certs / f"{name}.crt"), str(certs / f"{name}.key"))
    return ctx


def tls_session(srv: TLSServer, cert: bool = False, name: str = "client", timeout: float = 10.0) -> RawSession:
    """A raw ZooKeeper session over TLS (for whoAmI)."""
    ctx = ssl_context(srv.certs, cert, name)
    sock = ctx.wrap_socket(socket.create_connection((HOST, srv.secure_port), timeout=timeout), server_hostname=HOST)
    s = RawSession(host=HOST, port=srv.secure_port, sock=sock, timeout=timeout)
    try:
        s.handshake(session_timeout_ms=10000)
    except BaseException:
        sock.close()
        raise
    return s


def tls_kazoo(srv: TLSServer, cert: bool = True, **kwargs):
    extra = dict(certfile=str(srv.certs / "client.crt"), keyfile=str(srv.certs / "client.key")) if cert else {}
    return kazoo_client(srv.secure_hosts, use_ssl=True, ca=str(srv.certs / "ca.pem"), **extra, **kwargs)


def _start(impl, workdir, certs, **kwargs) -> TLSServer:
    if impl in ENSEMBLE_IMPLS:
        pytest.skip("TLS tests run against standalone servers")
    srv = TLSServer(impl, workdir, certs, **kwargs)
    try:
        srv.start()
    except ServerError as e:
        pytest.fail(str(e), pytrace=False)
    return srv


@pytest.fixture(scope="module")
def tls_server(impl, certs, tmp_path_factory):
    """clientPort and secureClientPort side by side, ssl.clientAuth=want."""
    srv = _start(impl, tmp_path_factory.mktemp(f"{impl}-tls"), certs)
    yield srv
    died = srv.proc is not None and srv.proc.poll() is not None
    srv.stop()
    if died:
        pytest.fail(f"{impl} TLS server died during the run\n{srv.log_tail()}", pytrace=False)


@pytest.fixture
def tls_clients():
    clients = []
    yield clients
    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:  # noqa: BLE001
            pass


# -- tests

def test_kazoo_over_tls_and_plaintext_side_by_side(tls_server, tls_clients):
    path = f"/tls-{uuid.uuid4().hex[:8]}"
    secure = tls_kazoo(tls_server)
    tls_clients.append(secure)
    secure.start(timeout=15)
    secure.create(path, b"over tls")
    plain = kazoo_client(tls_server.hosts)
    tls_clients.append(plain)
    plain.start(timeout=15)
    assert plain.get(path)[0] == b"over tls"
    plain.set(path, b"over plaintext")
    no_cert = tls_kazoo(tls_server, cert=False)
    tls_clients.append(no_cert)
    no_cert.start(timeout=15)  # clientAuth=want: a client without a certificate is admitted
    assert no_cert.get(path)[0] == b"over plaintext"


def test_x509_scheme_id_and_acl(tls_server, tls_clients):
    with_cert = tls_session(tls_server, cert=True)
    assert set(with_cert.who_am_i()) == {("ip", "127.0.0.1"), ("x509", CLIENT_DN)}
    with_cert.close()
    without = tls_session(tls_server, cert=False)
    assert set(without.who_am_i()) == {("ip", "127.0.0.1")}
    without.close()

    path = f"/x509-{uuid.uuid4().hex[:8]}"
    owner = tls_kazoo(tls_server)
    tls_clients.append(owner)
    owner.start(timeout=15)
    owner.create(path, b"secret", acl=[make_acl("x509", CLIENT_DN, all=True)])
    owner.create(path + "-auth", b"mine", acl=[make_acl("auth", "", all=True)])  # auth: the session's x509 id
    assert owner.get(path)[0] == b"secret"
    assert owner.get_acls(path + "-auth")[0] == [make_acl("x509", CLIENT_DN, all=True)]

    stranger = tls_kazoo(tls_server, cert=False)
    tls_clients.append(stranger)
    stranger.start(timeout=15)
    with pytest.raises(NoAuthError):
        stranger.get(path)
    plain = kazoo_client(tls_server.hosts)
    tls_clients.append(plain)
    plain.start(timeout=15)
    with pytest.raises(NoAuthError):
        plain.get(path + "-auth")


def test_plaintext_client_on_tls_port_is_refused(tls_server, tls_clients):
    sock = socket.create_connection((HOST, tls_server.secure_port), timeout=10)
    # A ZooKeeper ConnectRequest in the clear (protocol 0, zxid 0, timeout 10 s, session 0, 16-byte password).
    sock.sendall(bytes.fromhex("0000002c" "00000000" "0000000000000000" "00002710" "0000000000000000"
                               "00000010" + "00" * 16 + "00"))
    sock.settimeout(10)
    received = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    except ConnectionResetError:
        pass
    sock.close()
    # No ZooKeeper answer: at most a TLS alert record (content type 21), then the connection is closed.
    assert received == b"" or received[0] == 21, received[:40]
    # Both ports go on serving.
    client = tls_kazoo(tls_server)
    tls_clients.append(client)
    client.start(timeout=15)
    assert client.exists("/") is not None
    assert tls_server.four_letter_word("ruok") == "imok"


def test_client_auth_need(impl, certs, tmp_path):
    srv = _start(impl, tmp_path / "need", certs, **{"ssl.clientAuth": "need"})
    try:
        s = tls_session(srv, cert=True)
        assert ("x509", CLIENT_DN) in set(s.who_am_i())
        s.close()
        for kwargs in ({"cert": False}, {"cert": True, "name": "stranger"}):
            with pytest.raises((ssl.SSLError, OSError, ValueError, ConnectionClosed)):
                s = tls_session(srv, timeout=5.0, **kwargs)
                s.who_am_i()  # TLS 1.3: the server's refusal can arrive after the client's handshake ended
        assert tls_session(srv, cert=True).who_am_i()  # still serving
    finally:
        srv.stop()


def test_tls_only(impl, certs, tmp_path, tls_clients):
    srv = _start(impl, tmp_path / "only", certs, tls_only=True)
    try:
        client = tls_kazoo(srv)
        tls_clients.append(client)
        client.start(timeout=15)
        client.create(f"/only-{uuid.uuid4().hex[:8]}", b"x")
        with pytest.raises(OSError):
            socket.create_connection((HOST, srv.port), timeout=2).close()
    finally:
        srv.stop()


def test_zkcli_over_tls(tls_server, certs, tmp_path):
    path = f"/zkcli-tls-{uuid.uuid4().hex[:8]}"
    props = {
        "zookeeper.clientCnxnSocket": "org.apache.zookeeper.ClientCnxnSocketNetty",
        "zookeeper.client.secure": "true",
        "zookeeper.ssl.keyStore.location": str(certs / "client.pem"),
        "zookeeper.ssl.keyStore.type": "PEM",
        "zookeeper.ssl.trustStore.location": str(certs / "ca.pem"),
        "zookeeper.ssl.trustStore.type": "PEM",
    }
    cmd = ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", *[f"-D{k}={v}" for k, v in props.items()],
           "-cp", ":".join(ZOOKEEPER_JARS + NETTY_JARS), "org.apache.zookeeper.ZooKeeperMain",
           "-server", tls_server.secure_hosts]
    script = f"create {path} hello\nget {path}\nwhoami\nquit\n"
    proc = subprocess.run(cmd, input=script, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=60, cwd=tmp_path)
    out = proc.stdout
    assert f"Created {path}" in out, out[-3000:]
    assert "\nhello\n" in out, out[-3000:]
    assert f"x509: {CLIENT_DN}" in out, out[-3000:]


def test_swift_cli_over_tls(tls_server, certs):
    binary = str(zooreg_binary())
    if not Path(binary).exists():
        pytest.skip("zooreg binary not built")
    path = f"/swift-tls-{uuid.uuid4().hex[:8]}"
    tls = ["--server", tls_server.secure_hosts, "--tls-ca", str(certs / "ca.pem"),
           "--tls-cert", str(certs / "client.crt"), "--tls-key", str(certs / "client.key")]
    run = lambda *args: subprocess.run([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: E731
                                       text=True, timeout=60)
    created = run("create", *tls, path, "from swift")
    assert created.returncode == 0, created.stderr
    got = run("get", "--server", f"localhost:{tls_server.secure_port}", "--tls-ca", str(certs / "ca.pem"), path)
    assert got.returncode == 0 and got.stdout.strip() == "from swift", got.stderr
    # Without --tls on the TLS port, or with the wrong CA: no session, exit status 4.
    plain = run("get", "--server", tls_server.secure_hosts, "--connect-timeout", "1s", path)
    assert plain.returncode == 4
    wrong_ca = run("get", "--server", tls_server.secure_hosts, "--tls-ca", str(certs / "otherca.pem"),
                   "--connect-timeout", "1s", path)
    assert wrong_ca.returncode == 4 and "TLS" in wrong_ca.stderr


def _peer_certificate(srv: TLSServer) -> bytes:
    ctx = ssl_context(srv.certs)
    with ctx.wrap_socket(socket.create_connection((HOST, srv.secure_port), timeout=5), server_hostname=HOST) as s:
        return s.getpeercert(binary_form=True)


def test_certificate_reload(impl, certs, tmp_path, tls_clients):
    if impl != IMPL_ZOOREG:
        pytest.skip("client.certReload is in ZooKeeper 3.8.5+; Debian's 3.8.0 does not have it")
    store = tmp_path / "server.pem"
    shutil.copy(certs / "server.pem", store)
    srv = _start(impl, tmp_path / "reload", certs, **{
        "ssl.keyStore.location": str(store), "client.certReload": "true", "client.certReloadIntervalMs": 100})
    try:
        before = _peer_certificate(srv)
        held = tls_session(srv, cert=True)  # an open connection keeps working across the reload
        partial = store.with_suffix(".tmp")
        partial.write_text("not a key store")
        os.replace(partial, store)
        time.sleep(0.5)  # a bad file is reported and the old certificates stay in use
        assert _peer_certificate(srv) == before
        shutil.copy(certs / "server2.pem", partial)
        os.replace(partial, store)
        wait_until(lambda: _peer_certificate(srv) != before, timeout=10, what="the new certificate")
        assert held.who_am_i()
        held.close()
        client = tls_kazoo(srv)
        tls_clients.append(client)
        client.start(timeout=15)
        assert "Reloaded the TLS key and trust stores" in srv.log_path.read_text()
    finally:
        srv.stop()


def test_pkcs12_key_store(impl, certs, tmp_path, tls_clients):
    p12 = tmp_path / "server.p12"
    _openssl("pkcs12", "-export", "-in", str(certs / "server.crt"), "-inkey", str(certs / "server.key"),
             "-out", str(p12), "-passout", "pass:changeit", cwd=tmp_path)
    srv = _start(impl, tmp_path / "p12", certs, **{
        "ssl.keyStore.location": str(p12), "ssl.keyStore.type": "PKCS12", "ssl.keyStore.password": "changeit"})
    try:
        client = tls_kazoo(srv)
        tls_clients.append(client)
        client.start(timeout=15)
        assert client.exists("/") is not None
    finally:
        srv.stop()


@pytest.mark.parametrize("case", ["missing", "mismatch", "password", "jks", "p12-without-key", "p12-trust-store"])
def test_bad_tls_settings_fail_startup_and_keep_data(impl, certs, tmp_path, case):
    if impl != IMPL_ZOOREG:
        pytest.skip("zooreg's startup checks")
    binary = str(zooreg_binary())
    data = tmp_path / "data"
    srv = Server(IMPL_ZOOREG, tmp_path, **{"ssl.clientAuth": "none"})
    srv.start()
    client = kazoo_client(srv.hosts)
    client.start(timeout=15)
    client.create("/kept", b"value")
    client.stop()
    client.close()
    srv.stop()

    settings = {"secureClientPort": free_port(), "ssl.keyStore.location": str(certs / "server.pem")}
    expected_key = "ssl.keyStore.location"
    if case == "missing":
        settings["ssl.keyStore.location"] = str(tmp_path / "nope.pem")
    elif case == "mismatch":
        mixed = tmp_path / "mixed.pem"
        mixed.write_text((certs / "client.key").read_text() + (certs / "server.crt").read_text())
        settings["ssl.keyStore.location"] = str(mixed)
    elif case == "password":
        p12 = tmp_path / "server.p12"
        _openssl("pkcs12", "-export", "-in", str(certs / "server.crt"), "-inkey", str(certs / "server.key"),
                 "-out", str(p12), "-passout", "pass:right", cwd=tmp_path)
        settings.update({"ssl.keyStore.location": str(p12), "ssl.keyStore.password": "s3cr3t-guess"})
        expected_key = "ssl.keyStore.password"
    elif case == "p12-without-key":  # SwiftNIO SSL would stop the process on it: refused before
        p12 = tmp_path / "certs-only.p12"
        _openssl("pkcs12", "-export", "-nokeys", "-in", str(certs / "server.crt"), "-out", str(p12),
                 "-passout", "pass:pw", cwd=tmp_path)
        settings.update({"ssl.keyStore.location": str(p12), "ssl.keyStore.password": "pw"})
    elif case == "p12-trust-store":
        p12 = tmp_path / "trust.p12"
        _openssl("pkcs12", "-export", "-nokeys", "-in", str(certs / "ca.pem"), "-out", str(p12),
                 "-passout", "pass:pw", cwd=tmp_path)
        settings.update({"ssl.clientAuth": "need", "ssl.trustStore.location": str(p12),
                         "ssl.trustStore.password": "pw"})
        expected_key = "ssl.trustStore.type"
    else:
        jks = tmp_path / "server.jks"
        jks.write_bytes(b"\xfe\xed\xfe\xed")
        settings["ssl.keyStore.location"] = str(jks)
        expected_key = "ssl.keyStore.type"
    srv.settings.update(settings)
    srv.write_config()
    proc = subprocess.run([binary, "serve", "--config", str(srv.cfg_path), "--no-mdns"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert expected_key in proc.stderr, proc.stderr
    if case == "jks":
        assert "keytool -importkeystore" in proc.stderr and "-deststoretype PKCS12" in proc.stderr
    if case == "password":
        assert "s3cr3t-guess" not in proc.stderr  # the password is not printed

    # Fixed, the server starts with its data intact.
    srv.settings["ssl.keyStore.location"] = str(certs / "server.pem")
    srv.settings["ssl.clientAuth"] = "none"
    for key in ("ssl.keyStore.password", "ssl.trustStore.location", "ssl.trustStore.password"):
        srv.settings.pop(key, None)
    srv.write_config()
    srv.start()
    try:
        client = kazoo_client(srv.hosts)
        client.start(timeout=15)
        assert client.get("/kept")[0] == b"value"
        client.stop()
        client.close()
    finally:
        srv.stop()
    assert data.exists()
