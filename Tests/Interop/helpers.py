"""Small helpers shared by the tests: bounded waiting."""

from __future__ import annotations

import threading
import time
from typing import Callable


def wait_until(pred: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> None:
    """Polls pred until it is true; fails the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or pred}")
        time.sleep(interval)


class Recorder:
    """Collects callback arguments from kazoo threads; wait_for(n) blocks (bounded) until n have arrived."""

    def __init__(self) -> None:
        self.items: list = []
        self._cond = threading.Condition()

    def __call__(self, *args):
        with self._cond:
            self.items.append(args[0] if len(args) == 1 else args)
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.items) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out after {timeout}s: wanted {n} items, have {self.items}")
                self._cond.wait(remaining)
            return list(self.items)

    def settle(self, quiet: float = 0.3) -> list:
        """Waits until nothing new arrives for `quiet` seconds, then returns everything."""
        last = -1
        while True:
            with self._cond:
                n = len(self.items)
            if n == last:
                return list(self.items)
            last = n
            time.sleep(quiet)
