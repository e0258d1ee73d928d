"""pytest plugin: run kazoo's own, unmodified test suite against `zooreg serve` (or Apache ZooKeeper), started
by this shim instead of kazoo's Java-only harness.

kazoo's tests reach their servers only through `kazoo.testing.harness.get_global_cluster()` (the `cluster`
property of KazooTestHarness). This plugin replaces that function with one that builds a `ShimCluster` of
`ShimServer`s offering the same interface kazoo's ZookeeperCluster / ManagedZooKeeper offer (iteration,
indexing, start/stop/terminate/reset, get_logs, get_ssl_client_configuration; per member address,
secure_address, running, run/stop/reset/destroy, client_port, secure_client_port, server_info).

Selected with the environment:
  KAZOO_SUITE_IMPL      zooreg (default), zookeeper, or zooreg-ensemble (ZOOKEEPER_CLUSTER_SIZE zooreg replicas
                        sharing one etcd member: kazoo's multi-server tests against a replicated zooreg)
  KAZOO_SUITE_WORKDIR   where data dirs and server logs go (default: a new /tmp/kazoo-suite-<impl>-XXXX)
  ZOOREG_BIN            the zooreg binary (default .build/debug/zooreg in the repository)
  ZOOKEEPER_CLUSTER_SIZE, ZOOKEEPER_JAAS_AUTH, ZOOKEEPER_LOCAL_SESSION_RO
                        read as kazoo's harness reads them (the tests themselves set the last two)

Both implementations get the same zoo.cfg (the lines kazoo's harness writes, with PEM instead of JKS key
stores and `admin.enableServer=false`); settings ZooKeeper reads only as JVM system properties are also passed
to the JVM as -D flags, exactly as kazoo's harness does (superDigest, readonlymode.enabled, the JAAS file).
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections import namedtuple
from pathlib import Path

import pytest

log = logging.getLogger("kazoo_suite_shim")

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
IMPLS = ("zooreg", "zookeeper", "zooreg-ensemble")

# kazoo's harness: superuser "super" with password "test".
SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
# kazoo's harness, ZOOKEEPER_JAAS_AUTH=digest: the users test_sasl.py logs in as.
DIGEST_JAAS = """
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};"""

ZOOKEEPER_JARS = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar"] + [
    f"/usr/share/java/{name}.jar" for name in (
        "netty-handler", "netty-codec", "netty-transport", "netty-buffer", "netty-common", "netty-resolver",
        "netty-transport-native-epoll", "netty-transport-native-unix-common")]

ServerInfo = namedtuple(
    "ServerInfo", "server_id client_port secure_client_port election_port leader_port admin_port peer_type")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


def _handshake_ok(port: int, timeout: float = 2.0) -> bool:
    """A real session (ConnectRequest -> ConnectResponse with a session id), then closeSession."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            body = struct.pack(">iqiqi", 0, 0, 10000, 0, 16) + b"\0" * 16 + b"\0"
            s.sendall(struct.pack(">i", len(body)) + body)
            buf = b""
            while len(buf) < 4:
                chunk = s.recv(4096)
                if not chunk:
                    return False
                buf += chunk
            (n,) = struct.unpack(">i", buf[:4])
            while len(buf) < 4 + n:
                chunk = s.recv(4096)
                if not chunk:
                    return False
                buf += chunk
            _proto, _timeout, session_id = struct.unpack(">iiq", buf[4:20])
            if session_id == 0:
                return False
            close = struct.pack(">ii", 1, -11)
            s.sendall(struct.pack(">i", len(close)) + close)
            try:
                s.recv(4096)
            except OSError:
                pass
            return True
    except (OSError, struct.error):
        return False


class ShimServer:
    """One server process: same ports and data dir across stop()/run(); logs kept (appended) across runs."""

    def __init__(self, impl, server_info, workdir: Path, ssl_files: dict, jaas_config, local_session_ro,
                 cluster=None):
        self.impl = impl
        self.cluster = cluster
        self.server_info = server_info
        self.host = HOST
        self.working_path = str(workdir)
        self.workdir = workdir
        self.ssl_files = ssl_files
        self.jaas_config = jaas_config
        self.local_session_ro = local_session_ro
        self.process = None
        self.log_path = workdir / "server.log"
        self.starts = 0

    # -- kazoo's ManagedZooKeeper interface

    @property
    def address(self):
        return "%s:%s" % (self.host, self.client_port)

    @property
    def secure_address(self):
        return "%s:%s" % (self.host, self.secure_client_port)

    @property
    def client_port(self):
        return self.server_info.client_port

    @property
    def secure_client_port(self):
        return self.server_info.secure_client_port

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    @property
    def data_path(self) -> Path:
        return self.workdir / "data"

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_path.mkdir(exist_ok=True)
        (self.data_path / "myid").write_text(str(self.server_info.server_id))
        jaas_path = self.workdir / "jaas.conf"
        jaas_path.write_text(self.jaas_config or "")
        lines = [
            "# written by Tests/KazooSuite/zooreg_kazoo_shim.py (kazoo's harness settings)",
            "tickTime=2000",
            f"dataDir={self.data_path}",
            f"clientPort={self.client_port}",
            f"clientPortAddress={HOST}",
            f"secureClientPort={self.secure_client_port}",
            "maxClientCnxns=0",
            "admin.enableServer=false",
            "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
            "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
            f"ssl.keyStore.location={self.ssl_files['keystore']}",
            "ssl.keyStore.type=PEM",
            f"ssl.trustStore.location={self.ssl_files['truststore']}",
            "ssl.trustStore.type=PEM",
            # ZOOKEEPER_VERSION >= 3.5 entries of kazoo's harness
            "4lw.commands.whitelist=*",
            "reconfigEnabled=true",
            # a JVM system property for ZooKeeper (also passed with -D below); a zoo.cfg key for zooreg
            f"DigestAuthenticationProvider.superDigest={SUPER_DIGEST}",
        ]
        if self.impl == "zooreg-ensemble":
            lines += [f"ensemble.etcd={self.cluster.etcd_url}", f"ensemble.cluster={self.cluster.ensemble_name}",
                      f"ensemble.replicaId={self.server_info.server_id}"]
        if self.impl == "zookeeper" or self.local_session_ro == "false" or os.environ.get("KAZOO_SUITE_STRICT_CFG"):
            # kazoo's harness always writes these two (true only for TestReadOnlyMode). zooreg accepts false (the
            # default) and refuses true ("local sessions are not supported"), so for zooreg true is left out
            # (KAZOO_SUITE_STRICT_CFG=1 keeps it, to see that refusal). Keeping `true` is no option: when
            # TestReadOnlyMode.setUp fails, unittest skips the tearDown that unsets ZOOKEEPER_LOCAL_SESSION_RO=true,
            # so every later cluster would get it too.
            lines += [f"localSessionsEnabled={self.local_session_ro}",
                      f"localSessionsUpgradingEnabled={self.local_session_ro}"]
        if self.jaas_config and self.impl != "zookeeper":
            # ZooKeeper reads the JAAS file from -Djava.security.auth.login.config (always passed, as kazoo does)
            lines.append(f"jaasLoginConfig={jaas_path}")
        cfg = self.workdir / "zoo.cfg"
        cfg.write_text("\n".join(lines) + "\n")
        return cfg

    def _command(self, cfg: Path) -> list:
        if self.impl == "zookeeper":
            return ["java", "-Xmx512m", "-cp", ":".join(ZOOKEEPER_JARS),
                    "-Dfile.encoding=UTF-8", "-Dreadonlymode.enabled=true", "-Djava.awt.headless=true",
                    f"-Djava.security.auth.login.config={self.workdir / 'jaas.conf'}",
                    f"-Dzookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST}",
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)]
        binary = Path(os.environ.get("ZOOREG_BIN", ".build/debug/zooreg"))
        if not binary.is_absolute():
            binary = REPO_ROOT / binary
        # LAN publishing (mDNS) and the Prometheus endpoint off: neither is part of ZooKeeper's protocol.
        return [str(binary), "serve", "--config", str(cfg), "--no-mdns", "--metrics-port", "0"]

    def run(self):
        """Start the process and return at once, as kazoo's ManagedZooKeeper.run does (no readiness wait)."""
        if self.running:
            return
        cfg = self._write_config()
        cmd = self._command(cfg)
        self.starts += 1
        with open(self.log_path, "ab") as out:
            out.write(f"\n===== start #{self.starts}: {' '.join(cmd)}\n".encode())
            out.flush()
            self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            cwd=self.workdir, preexec_fn=_die_with_parent)
        log.info("started %s pid %s on %s (secure %s)", self.impl, self.process.pid, self.client_port,
                 self.secure_client_port)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.impl} exited while starting:\n{''.join(self.get_logs(40))}")
            if _handshake_ok(self.client_port):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.impl} not ready on {self.client_port} after {timeout}s")

    def stop(self):
        """SIGTERM and wait (kazoo's ManagedZooKeeper.stop); data kept."""
        if self.process is None:
            return
        proc, self.process = self.process, None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                self.note("shim: no exit 30 s after SIGTERM, sending SIGKILL")
                proc.kill()
                proc.wait(10)
        if proc.returncode not in (0, -signal.SIGTERM, 143):
            log.warning("%s pid %s exited with %s", self.impl, proc.pid, proc.returncode)

    def reset(self):
        self.stop()
        shutil.rmtree(self.data_path, True)
        self.data_path.mkdir(parents=True, exist_ok=True)
        (self.data_path / "myid").write_text(str(self.server_info.server_id))

    def destroy(self):
        """Stop and drop the data; the log stays for the report."""
        self.stop()
        shutil.rmtree(self.data_path, True)

    def get_logs(self, num_lines=100):
        try:
            return self.log_path.read_text(errors="replace").splitlines(keepends=True)[-num_lines:]
        except OSError:
            return []

    def note(self, text: str) -> None:
        try:
            with open(self.log_path, "a") as f:
                f.write(f"##### {time.strftime('%H:%M:%S')} {text}\n")
        except OSError:
            pass


class ShimCluster:
    def __init__(self, impl, size, base: Path, jaas_config=None, local_session_ro="false"):
        self.impl = impl
        self.base = base
        self._ssl_configuration = {}
        self._servers = []
        self.perform_ssl_certs_generation()
        ssl_files = self._write_pem_stores()
        for i in range(size):
            info = ServerInfo(i + 1, _free_port(), _free_port(), 0, 0, 0, "participant")
            self._servers.append(ShimServer(impl, info, base / f"server-{i + 1}", ssl_files, jaas_config,
                                            local_session_ro, cluster=self))
        self.etcd = None
        self.etcd_ports = (_free_port(), _free_port())
        self.etcd_url = f"http://{HOST}:{self.etcd_ports[0]}"
        self.ensembles = 0
        self.ensemble_name = None
        self._new_ensemble_name()

    def _new_ensemble_name(self):
        # a fresh key prefix in etcd whenever the members' data is dropped (terminate), as a fresh tree
        self.ensembles += 1
        self.ensemble_name = f"kazoo-{os.getpid()}-{self.base.name}-{self.ensembles}"

    def _start_etcd(self):
        if self.impl != "zooreg-ensemble" or (self.etcd is not None and self.etcd.poll() is None):
            return
        d = self.base / "etcd"
        d.mkdir(parents=True, exist_ok=True)
        c, p = self.etcd_ports
        peer = f"http://{HOST}:{p}"
        cmd = [os.environ.get("ENSEMBLE_ETCD_BIN", "/usr/bin/etcd"), "--name", "e1", "--data-dir", str(d / "data"),
               "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
               "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", f"e1={peer}",
               "--initial-cluster-state", "new", "--heartbeat-interval", "50", "--election-timeout", "500",
               "--logger", "zap", "--log-level", "warn"]
        with open(d / "etcd.log", "ab") as out:
            self.etcd = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection((HOST, c), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("etcd did not start")

    def _stop_etcd(self):
        if self.etcd is not None:
            self.etcd.terminate()
            try:
                self.etcd.wait(20)
            except subprocess.TimeoutExpired:
                self.etcd.kill()
                self.etcd.wait(10)
            self.etcd = None

    # kazoo's certificate generation (CA, server and client certificates), reused as is
    from kazoo.testing.common import ZookeeperCluster as _ZKC
    perform_ssl_certs_generation = _ZKC.perform_ssl_certs_generation
    get_ssl_client_configuration = _ZKC.get_ssl_client_configuration
    del _ZKC

    def _write_pem_stores(self) -> dict:
        import OpenSSL
        c = self._ssl_configuration
        self.base.mkdir(parents=True, exist_ok=True)
        keystore = self.base / "server.pem"
        keystore.write_bytes(OpenSSL.crypto.dump_privatekey(OpenSSL.crypto.FILETYPE_PEM, c["server_key"])
                             + OpenSSL.crypto.dump_certificate(OpenSSL.crypto.FILETYPE_PEM, c["server_cert"]))
        truststore = self.base / "ca.pem"
        truststore.write_bytes(c["ca_cert_pem"])
        return {"keystore": keystore, "truststore": truststore}

    def __getitem__(self, k):
        return self._servers[k]

    def __iter__(self):
        return iter(self._servers)

    def start(self):
        self._start_etcd()
        for server in reversed(self._servers):
            server.run()
        # kazoo's harness sleeps 2 s here; waiting for a real session instead is neither slower nor flakier.
        for server in self._servers:
            server.wait_ready()

    def stop(self):
        for server in self:
            server.stop()
        self._servers = []

    def terminate(self):
        for server in self:
            server.destroy()
        self._new_ensemble_name()

    def shutdown(self):
        self.terminate()
        self._stop_etcd()

    def reset(self):
        for server in self:
            server.reset()

    def get_logs(self):
        out = []
        for server in self:
            out += server.get_logs()
        return out


# -- the replacement for kazoo.testing.harness.get_global_cluster

_STATE = {"cluster": None, "conf": None, "count": 0, "base": None}


def _impl() -> str:
    impl = os.environ.get("KAZOO_SUITE_IMPL", "zooreg")
    if impl not in IMPLS:
        raise ValueError(f"KAZOO_SUITE_IMPL={impl!r}: expected one of {IMPLS}")
    return impl


def _base() -> Path:
    if _STATE["base"] is None:
        explicit = os.environ.get("KAZOO_SUITE_WORKDIR")
        if explicit:
            p = Path(explicit)
            p.mkdir(parents=True, exist_ok=True)
        else:
            p = Path(tempfile.mkdtemp(prefix=f"kazoo-suite-{_impl()}-", dir="/tmp"))
        _STATE["base"] = p
    return _STATE["base"]


def get_global_cluster():
    conf = {k: os.environ.get(k) for k in
            ("ZOOKEEPER_CLUSTER_SIZE", "ZOOKEEPER_JAAS_AUTH", "ZOOKEEPER_LOCAL_SESSION_RO", "KAZOO_SUITE_IMPL")}
    if _STATE["cluster"] is not None:
        if _STATE["conf"] == conf:
            return _STATE["cluster"]
        log.info("config change detected, making a new cluster")
        _STATE["cluster"].shutdown()
        _STATE["cluster"] = None
    jaas_auth = conf["ZOOKEEPER_JAAS_AUTH"]
    if jaas_auth == "gssapi":
        raise RuntimeError("ZOOKEEPER_JAAS_AUTH=gssapi (Kerberos) is not supported by this shim")
    _STATE["count"] += 1
    cluster = ShimCluster(
        _impl(),
        int(conf["ZOOKEEPER_CLUSTER_SIZE"] or 1),
        _base() / f"cluster-{_STATE['count']}",
        jaas_config=DIGEST_JAAS if jaas_auth == "digest" else None,
        local_session_ro=conf["ZOOKEEPER_LOCAL_SESSION_RO"] or "false",
    )
    _STATE["cluster"], _STATE["conf"] = cluster, conf
    atexit.register(cluster.shutdown)
    return cluster


def _install() -> None:
    import kazoo.testing.harness as harness
    harness.get_global_cluster = get_global_cluster


# -- pytest hooks

def pytest_configure(config):
    _install()
    config._kazoo_suite_base = _base()


def pytest_report_header(config):
    return [f"kazoo suite shim: servers are {_impl()} (ZOOKEEPER_CLUSTER_SIZE="
            f"{os.environ.get('ZOOKEEPER_CLUSTER_SIZE') or 1}); data and logs under {_base()}"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    cluster = _STATE["cluster"]
    if cluster is not None:
        for s in cluster:
            s.note(f"TEST {item.nodeid}")


def pytest_unconfigure(config):
    cluster = _STATE["cluster"]
    if cluster is not None:
        cluster.shutdown()
