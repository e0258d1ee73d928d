"""Fixtures of the interop suite.

Every test that takes `server` (or anything built on it) runs once per implementation listed in ZK_IMPLS
(default "zooreg,zookeeper"); the test id shows which, e.g. `test_example[zookeeper]`.

- `server`: one server per implementation for the whole run; each test works under its own `root`.
- `fresh_server`: a new server (own port and data dir) for tests that restart or kill it.
- `zk`: a started KazooClient on `server`; `make_client` builds more (closed at teardown).
- `root`: a unique path such as /t-3f2a..., created for the test and removed afterwards.
- `raw`: a factory of zkraw.RawSession connections to `server`.

ZK_IMPLS may also name the replicated implementations `zooreg-ensemble` and `zookeeper-ensemble`
(zkensemble.py). Their `server` is a 3-replica ensemble: kazoo (and zkCli, Curator, the Swift client) get the
3-host connect string, raw sessions and four-letter words go to replica 1. Tests marked
`standalone_only(reason)` (a fresh or restarted server, its data dir or files, standalone-only output) are
skipped for them with the reason; an unmarked test that asks for `fresh_server` or `server_factory` there fails.
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kazoo.client import KazooClient  # noqa: E402
from kazoo.retry import KazooRetry  # noqa: E402

import zkraw  # noqa: E402
from zkserver import ENSEMBLE_IMPLS, Server, ServerError, selected_impls  # noqa: E402

logging.getLogger("kazoo").setLevel(logging.WARNING)

IMPLS = selected_impls()


def pytest_collection_modifyitems(config, items):
    """standalone_only tests are skipped, with their reason, for the ensemble implementations."""
    for item in items:
        marker = item.get_closest_marker("standalone_only")
        callspec = getattr(item, "callspec", None)
        impl = callspec.params.get("impl") if callspec is not None else None
        if marker is not None and impl in ENSEMBLE_IMPLS:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"standalone only: {reason}"))


def _ensemble_only_standalone(impl: str, what: str) -> None:
    if impl in ENSEMBLE_IMPLS:
        pytest.fail(f"{what} is a standalone server; against {impl} a test using it must be marked "
                    "standalone_only(reason) (or use `server`)", pytrace=False)


def kazoo_client(hosts: str, **kwargs) -> KazooClient:
    """A KazooClient with fast, bounded reconnects (so restart tests do not wait for long back-offs).

    kazoo waits session_timeout / len(hosts) for a handshake answer. ZooKeeper 3.8 accepts connections
    during its startup and may leave an early handshake unanswered, which would stall a reconnecting kazoo
    for the whole session timeout (and expire its session). Listing the one server 4 times cuts that wait to
    a quarter of the session timeout without changing anything else.
    """
    kwargs.setdefault("timeout", 10.0)
    kwargs.setdefault("connection_retry", KazooRetry(max_tries=-1, delay=0.05, backoff=1.5, max_delay=0.5,
                                                     max_jitter=0.1))
    kwargs.setdefault("command_retry", KazooRetry(max_tries=0))
    if "," in hosts:
        # An ensemble: the 3-host string (listed twice), in order, so kazoo connects to replica 1 first, where the
        # raw sessions are too. The tests read what another client wrote without a sync, which only one server
        # guarantees (ZooKeeper gives no cross-client view across replicas; measured: a read on another replica
        # right after an acknowledged create misses it 0-1% of the time on zookeeper-ensemble, 15-20% on
        # zooreg-ensemble). Cross-replica behaviour is what Tests/Ensemble tests.
        kwargs.setdefault("randomize_hosts", False)
        return KazooClient(hosts=",".join([hosts] * 2), **kwargs)
    return KazooClient(hosts=",".join([hosts] * 4), **kwargs)


class ClientFactory:
    def __init__(self, hosts_fn) -> None:
        self._hosts_fn = hosts_fn
        self.clients = []
        self.raws = []

    def kazoo(self, start: bool = True, **kwargs) -> KazooClient:
        c = kazoo_client(self._hosts_fn(), **kwargs)
        self.clients.append(c)
        if start:
            c.start(timeout=15)
        return c

    def raw(self, **kwargs) -> zkraw.RawSession:
        host, port = self._hosts_fn().split(",")[0].split(":")  # an ensemble: replica 1
        s = zkraw.RawSession.connect(host, int(port), **kwargs)
        self.raws.append(s)
        return s

    def raw_socket(self, timeout: float = 10.0) -> zkraw.RawSession:
        host, port = self._hosts_fn().split(",")[0].split(":")  # an ensemble: replica 1
        s = zkraw.RawSession.open_socket(host, int(port), timeout)
        self.raws.append(s)
        return s

    def close_all(self) -> None:
        # kazoo's stop() can wait up to its connect timeout when a reconnect is in flight (e.g. right after
        # a server restart), so the clients are stopped in parallel.
        def stop(c):
            try:
                c.stop()
                c.close()
            except Exception:  # noqa: BLE001 - teardown must go on
                pass

        threads = [threading.Thread(target=stop, args=(c,), daemon=True) for c in self.clients]
        for t in threads:
            t.start()
        for r in self.raws:
            r.close_socket()
        for t in threads:
            t.join(30)


@pytest.fixture(scope="session", params=IMPLS)
def impl(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def server(impl, tmp_path_factory):
    if impl in ENSEMBLE_IMPLS:
        yield from _ensemble_server(impl, tmp_path_factory)
        return
    srv = Server(impl, tmp_path_factory.mktemp(f"{impl}-shared"))
    try:
        srv.start()
    except ServerError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    if not srv.running():
        srv.stop()
        pytest.fail(f"{impl} server died during the run\n{srv.log_tail()}", pytrace=False)
    code = srv.stop()
    print(f"\n{impl}: shared server on port {srv.port} stopped with exit code {code}; log {srv.log_path}")


def _ensemble_server(impl, tmp_path_factory):
    from zkensemble import EnsembleServer
    srv = EnsembleServer(impl, tmp_path_factory.mktemp(f"{impl}-shared"))
    try:
        srv.start()
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"{impl} did not start: {e}\n{srv.log_tail()}", pytrace=False)
    yield srv
    crashed = srv.crashed()
    srv.stop()
    print(f"\n{impl}: ensemble on ports {srv.ports} stopped; logs under {srv.ensemble.workdir}")
    if crashed:
        pytest.fail(f"{impl}: processes crashed during the run:\n" + "\n".join(crashed), pytrace=False)


@pytest.fixture
def fresh_server(impl, tmp_path):
    _ensemble_only_standalone(impl, "fresh_server")
    srv = Server(impl, tmp_path / f"{impl}-fresh")
    try:
        srv.start()
    except ServerError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    _stop_checking_alive(srv)


def _stop_checking_alive(srv: Server) -> None:
    """Stops a per-test server; fails the test if it had died on its own (the server never crashes)."""
    died = srv.proc is not None and srv.proc.poll() is not None
    code = srv.stop()
    if died:
        pytest.fail(f"{srv.impl} server exited with {code} during the test\n{srv.log_tail()}", pytrace=False)


@pytest.fixture
def server_factory(impl, tmp_path):
    """Makes started servers with zoo.cfg overrides, e.g. server_factory(maxClientCnxns=3)."""
    _ensemble_only_standalone(impl, "server_factory")
    servers = []

    def make(**overrides) -> Server:
        srv = Server(impl, tmp_path / f"{impl}-{len(servers)}", **overrides)
        servers.append(srv)
        try:
            srv.start()
        except ServerError as e:
            pytest.fail(str(e), pytrace=False)
        return srv

    yield make
    for srv in servers:
        _stop_checking_alive(srv)


@pytest.fixture(autouse=True)
def _server_still_alive(request):
    """After each test, the shared server must still be running: the server never crashes."""
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        if not isinstance(srv, Server):  # an ensemble: no process may have exited on its own
            crashed = srv.crashed()
            srv.ensure_healthy()  # brings back a replica the test stopped
            if crashed:
                pytest.fail(f"{srv.impl}: processes exited during the test:\n" + "\n".join(crashed),
                            pytrace=False)
            return
        if srv.proc is not None and srv.proc.poll() is not None:
            pytest.fail(f"{srv.impl} server exited with {srv.proc.returncode} during the test\n"
                        + srv.log_tail(), pytrace=False)


@pytest.fixture
def make_client(server):
    factory = ClientFactory(lambda: server.hosts)
    yield factory
    factory.close_all()


@pytest.fixture
def make_fresh_client(fresh_server):
    factory = ClientFactory(lambda: fresh_server.hosts)
    yield factory
    factory.close_all()


@pytest.fixture
def zk(make_client) -> KazooClient:
    return make_client.kazoo()


@pytest.fixture
def root(zk):
    path = f"/t-{uuid.uuid4().hex[:12]}"
    zk.create(path)
    yield path
    try:
        if zk.connected:
            zk.delete(path, recursive=True)
    except Exception:  # noqa: BLE001 - best-effort cleanup
        pass


@pytest.fixture
def raw(make_client):
    return make_client.raw


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed test, attach the tail of the server's log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call", "teardown"):
        for name in ("server", "fresh_server"):
            srv = item.funcargs.get(name) if hasattr(item, "funcargs") else None
            if isinstance(srv, Server) or hasattr(srv, "ensemble"):
                report.sections.append((f"{srv.impl} server log ({name})", srv.log_tail(40)))
