"""Fixtures of the console's browser test: a live `zooreg serve` (the real binary) and headless Chromium."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_support import ARTIFACTS, ZooregServer, chromium  # noqa: E402


@pytest.fixture(scope="module")
def server():
    server = ZooregServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
