"""Fixtures of the LAN suite: real avahi-daemons on a simulated LAN (Scripts/mdns-lab.sh), real zooreg binaries.

- `lab`: for the whole run, hosts a, b and c (network namespaces on one bridge, each with its own D-Bus and
  avahi-daemon; IPv6 on, so avahi lists every service once per protocol). Taken down at the end, even on
  failure. zooreg servers run on a host's namespace and are reached there at 127.0.0.1.
- After every test: the test's processes are stopped and every host's avahi-daemon is running again.
- `zb`: a python-zeroconf browser factory on host b (an mDNS stack independent of avahi).

Nothing is skipped: no root, no binary, no avahi, or a binary without the LAN subcommands FAILS the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lanlab import Lab, LabError, ZooregServer, venv_python, zooreg_binary  # noqa: E402

HOSTS = ("a", "b", "c")


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    lab = Lab(os.environ.get("MDNS_LAB_PREFIX", "zrlab"), log_dir=tmp_path_factory.mktemp("lab-logs"))
    try:
        lab.up(*HOSTS)
    except (LabError, subprocess.SubprocessError) as e:
        lab.down()
        pytest.fail(f"could not bring the lab up: {e}", pytrace=False)
    r = lab.run("b", venv_python(), "-c", "import zeroconf")
    if r.returncode != 0:
        lab.down()
        pytest.fail(f"python-zeroconf is not importable by {venv_python()} (run Scripts/setup.sh): {r.stderr}",
                    pytrace=False)
    yield lab
    lab.down()


@pytest.fixture(scope="session")
def zooreg():
    """The zooreg binary, which must have the LAN subcommands."""
    b = zooreg_binary()
    if not b.exists():
        pytest.fail(f"zooreg binary {b} not found (swift build, or set ZOOREG_BIN)", pytrace=False)
    for sub in ("browse", "publish"):
        r = subprocess.run([str(b), sub, "--help"], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            pytest.fail(f"{b} has no working `{sub}` subcommand: {r.stderr or r.stdout}", pytrace=False)
    return b


@pytest.fixture(autouse=True)
def _lab_per_test(request, tmp_path):
    """Logs go to the test's tmp_path; afterwards its processes are stopped and all daemons are running."""
    if "lab" not in request.fixturenames:
        yield
        return
    lab = request.getfixturevalue("lab")
    lab.log_dir = tmp_path / "logs"
    yield
    killed = lab.stop_all()
    for h in HOSTS:
        lab.start_avahi(h)
    if killed:
        pytest.fail("processes that did not exit within 3 s of SIGTERM (then SIGKILLed): "
                    + ", ".join(f"{label} (exit {code})" for label, code in killed), pytrace=False)


@pytest.fixture
def serve(lab, zooreg, tmp_path):
    """serve(host, *flags) -> a started ZooregServer with its own data dir."""
    n = [0]

    def make(host: str, *flags: str, wait_ready: bool = True) -> ZooregServer:
        n[0] += 1
        return ZooregServer(lab, host, tmp_path / f"data-{host}-{n[0]}", extra=flags, wait_ready=wait_ready)

    return make


@pytest.fixture
def zb(lab):
    """zb(*types) -> a ZeroconfBrowser on host b, already browsing."""
    def make(*types: str):
        return lab.zeroconf_browser("b", types)
    return make


def pytest_runtest_makereport(item, call):
    """On failure, append the tails of the test's process logs (zooreg, observers) to the report."""
    if call.when != "call" or call.excinfo is None:
        return
    lab = item.funcargs.get("lab") if hasattr(item, "funcargs") else None
    if lab is None:
        return
    parts = [p.describe(15) for p in lab.procs]
    if parts:
        item.add_report_section("call", "lab processes", "\n".join(parts))
