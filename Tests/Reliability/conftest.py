"""Fixtures and options of the reliability suite (crash loops and soak; README.md).

Options (or the equivalent environment variables):
    --long         RELIABILITY_LONG=1     hundreds of kill rounds, a 30-minute soak with a PNG of RSS and fds
    --seed N       RELIABILITY_SEED=N     the seed of every random choice (printed by each test; default: random)
    --rounds N     RELIABILITY_ROUNDS=N   kill rounds of the standalone crash loop (overrides the mode's default)
    --soak-seconds RELIABILITY_SOAK_S=N   churn duration of the soak
    --report-dir   RELIABILITY_REPORT     where the soak writes its samples (CSV) and, in --long, the PNG
"""

from __future__ import annotations

import logging
import os
import random
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
# Reused, not copied: the interop suite's server control and raw wire client, the ensemble suite's harness.
for p in (HERE, TESTS / "Interop", TESTS / "Ensemble"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

logging.getLogger("kazoo").setLevel(logging.CRITICAL)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def pytest_addoption(parser):
    g = parser.getgroup("reliability")
    g.addoption("--long", action="store_true", default=_env_flag("RELIABILITY_LONG"),
                help="long mode: hundreds of kill rounds, 30-minute soak with a PNG plot")
    g.addoption("--seed", type=int, default=None, help="seed of all random choices (default: RELIABILITY_SEED "
                "or random; printed)")
    g.addoption("--rounds", type=int, default=None, help="kill rounds of the standalone crash loop")
    g.addoption("--ensemble-rounds", type=int, default=None, help="kill rounds of the ensemble crash loop")
    g.addoption("--soak-seconds", type=float, default=None, help="churn duration of the soak")
    g.addoption("--report-dir", default=os.environ.get("RELIABILITY_REPORT", ""),
                help="directory for soak samples and the long-mode PNG (default .build/reliability)")


def pytest_configure(config):
    long_mode = config.getoption("--long")
    timeout = 3 * 3600 if long_mode else 240
    config._reliability_timeout = timeout


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(config._reliability_timeout))


def pytest_report_header(config):
    return [f"reliability: long mode {'on' if config.getoption('--long') else 'off'} (--long / RELIABILITY_LONG=1)"]


@pytest.fixture(scope="session")
def long_mode(pytestconfig) -> bool:
    return pytestconfig.getoption("--long")


@pytest.fixture
def seed(pytestconfig, request) -> int:
    """The seed of the test's random choices: --seed, RELIABILITY_SEED, or a fresh random one. Printed at the
    start and attached to a failure report, so a failing seed can be rerun with --seed."""
    s = pytestconfig.getoption("--seed")
    if s is None and os.environ.get("RELIABILITY_SEED"):
        s = int(os.environ["RELIABILITY_SEED"])
    if s is None:
        s = random.SystemRandom().randrange(1, 2**31)
    print(f"\n{request.node.name}: seed {s} (rerun with --seed {s})")
    request.node._reliability_seed = s
    return s


@pytest.fixture(scope="session")
def report_dir(pytestconfig) -> Path:
    d = pytestconfig.getoption("--report-dir") or str(TESTS.parent / ".build" / "reliability")
    p = Path(d)
    p.mkdir(parents=True, exist_ok=True)
    return p


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    s = getattr(item, "_reliability_seed", None)
    if report.failed and s is not None:
        report.sections.append(("seed", f"this test ran with seed {s}; reproduce with:\n"
                                f"  .venv/bin/python -m pytest Tests/Reliability -k {item.name!r} --seed {s}"))
