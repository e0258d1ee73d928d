"""Fixtures of the ensemble suite.

Every test that takes `ensemble` runs once per implementation in ENSEMBLE_IMPLS (default "zooreg,zookeeper");
the test id shows which, e.g. `test_basic_crud[zookeeper]`.

- `ensemble`: one 3-replica ensemble per implementation for the whole run (cluster.py). Tests that kill,
  wipe or partition replicas leave repair to the `_ensemble_guard`, which after every test checks that no
  process crashed on its own and brings every replica (and, for zooreg, every etcd member and proxy) back.
- `zooreg_ensemble`: the same, for tests that only make sense with etcd underneath; skipped for zookeeper
  with the reason, before any cluster is started for them.
- `clients`: makes kazoo clients (stopped in parallel at teardown).
- `root`: a unique path such as /ens-3f2a..., created for the test and deleted afterwards.
- `long_mode`: True with ENSEMBLE_LONG=1 (more rounds, longer runs).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import (IMPL_ZOOREG, Ensemble, EnsembleError, SESSION_TIMEOUT_S, ZOOREG_SUITE_SETTINGS, make_ensemble,  # noqa: E402
                     make_kazoo, selected_impls, stop_quietly)
import treedump  # noqa: E402

# kazoo logs every dropped connection at WARNING; the fault tests drop hundreds on purpose.
logging.getLogger("kazoo").setLevel(logging.ERROR)

IMPLS = selected_impls()
LONG = os.environ.get("ENSEMBLE_LONG", "") not in ("", "0")
TEST_TIMEOUT = 1800 if LONG else 150


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


def pytest_report_header(config):
    return [f"ensemble implementations: {', '.join(IMPLS)}; long mode: {'on' if LONG else 'off'} "
            f"(ENSEMBLE_LONG=1)"]


@pytest.fixture(scope="session")
def long_mode() -> bool:
    return LONG


@pytest.fixture(scope="session", params=IMPLS)
def impl(request) -> str:
    return request.param


_ENSEMBLES = {}


@pytest.fixture(scope="session")
def _ensemble_for_impl(impl, tmp_path_factory):
    try:
        ens = make_ensemble(impl, tmp_path_factory.mktemp(f"ensemble-{impl}"), zooreg_settings=ZOOREG_SUITE_SETTINGS)
    except EnsembleError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        ens.start()
    except Exception as e:  # noqa: BLE001
        ens.stop()
        pytest.fail(f"{impl} ensemble did not start: {e}\n{ens.log_tails()}", pytrace=False)
    _ENSEMBLES[impl] = ens
    yield ens
    _ENSEMBLES.pop(impl, None)
    crashed = ens.crashed()
    ens.stop()
    print(f"\n{impl} ensemble stopped; logs under {ens.workdir}")
    if crashed:
        pytest.fail(f"{impl}: processes crashed during the run:\n" + "\n".join(crashed), pytrace=False)


@pytest.fixture
def ensemble(_ensemble_for_impl) -> Ensemble:
    return _ensemble_for_impl


@pytest.fixture
def zooreg_ensemble(impl, request):
    """The ensemble, for zooreg only. Other implementations are skipped (before any cluster starts) with the
    reason given by the test's `zooreg_only(reason)` marker."""
    if impl != IMPL_ZOOREG:
        marker = request.node.get_closest_marker("zooreg_only")
        reason = marker.args[0] if marker and marker.args else "needs the etcd layer under the replicas"
        pytest.skip(f"zooreg only: {reason}")
    return request.getfixturevalue("_ensemble_for_impl")


@pytest.fixture(autouse=True)
def _ensemble_guard(request):
    """Around every test that uses an ensemble: it must be healthy before; after, no process may have
    crashed on its own (the servers never crash), and whatever the test killed or cut is brought back."""
    uses = [n for n in ("ensemble", "zooreg_ensemble") if n in request.fixturenames]
    if not uses:
        yield
        return
    impl = request.getfixturevalue("impl")
    ens = _ENSEMBLES.get(impl)
    if ens is not None:
        ens.ensure_healthy()
    yield
    ens = _ENSEMBLES.get(impl)
    if ens is None:
        return
    crashed = ens.crashed()
    try:
        ens.ensure_healthy()
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"could not bring the {impl} ensemble back after the test: {e}", pytrace=False)
    if crashed:
        pytest.fail(f"{impl}: processes crashed during the test:\n" + "\n".join(crashed), pytrace=False)


class Clients:
    def __init__(self) -> None:
        self.clients = []

    def make(self, hosts: str, start: bool = True, timeout: float = SESSION_TIMEOUT_S, **kwargs):
        c = make_kazoo(hosts, timeout=timeout, **kwargs)
        self.clients.append(c)
        if start:
            c.start(timeout=20)
        return c

    def close_all(self) -> None:
        threads = [threading.Thread(target=stop_quietly, args=(c,), daemon=True) for c in self.clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.clients.clear()


@pytest.fixture
def clients():
    f = Clients()
    yield f
    f.close_all()


@pytest.fixture
def root(ensemble):
    path = f"/ens-{uuid.uuid4().hex[:12]}"
    c = make_kazoo(ensemble.hosts)
    c.start(timeout=20)
    c.create(path)
    stop_quietly(c)
    yield path
    c = make_kazoo(ensemble.hosts)
    try:
        c.start(timeout=20)
        treedump.delete_tree(c, path)
    except Exception:  # noqa: BLE001 - best-effort cleanup
        pass
    finally:
        stop_quietly(c)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the tails of the ensemble's logs and the harness's event list."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call", "teardown"):
        impl = getattr(item, "callspec", None) and item.callspec.params.get("impl")
        ens = _ENSEMBLES.get(impl) if impl else None
        if ens is not None:
            report.sections.append((f"{impl} ensemble logs", ens.log_tails(25)))
