"""Process and network utilities of the ensemble suite: child processes that die with the test run, free
loopback ports, four-letter words, bounded waiting.

Everything here listens and connects on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL when the test run dies (PR_SET_PDEATHSIG), so nothing outlives it.

    The signal fires when the *thread* that forked the child exits, so children are only ever started from
    the main (test) thread, never from a worker thread.
    """
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort, Linux only
        pass


def free_ports(n: int) -> List[int]:
    """n distinct free TCP ports on 127.0.0.1 (all held open at once, so no port is handed out twice)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_until(pred: Callable[[], bool], timeout: float, what, interval: float = 0.05) -> None:
    """Polls pred until it is true; raises AssertionError after timeout seconds. `what` describes the
    condition: a string, or a callable returning one (evaluated only on timeout, to report fresh state)."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what() if callable(what) else what}")
        time.sleep(interval)


def four_letter_word(port: int, word: str, timeout: float = 2.0) -> str:
    """Sends a four-letter word to 127.0.0.1:port and returns the whole answer (the server closes after it)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(word.encode("ascii"))
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        out = bytearray()
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                break
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out.decode("utf-8", "replace")


class ProcessError(RuntimeError):
    pass


class ManagedProcess:
    """One child process with a log file, started with PDEATHSIG, killable and restartable."""

    def __init__(self, name: str, argv_fn: Callable[[], Sequence[str]], log_path: Path, cwd: Path,
                 env: Optional[dict] = None) -> None:
        self.name = name
        self._argv_fn = argv_fn
        self.log_path = Path(log_path)
        self.cwd = Path(cwd)
        self.env = env
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0

    def start(self) -> None:
        if self.running():
            raise ProcessError(f"{self.name} already running")
        argv = list(self._argv_fn())
        self.starts += 1
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts} at {time.strftime('%H:%M:%S')}: {' '.join(argv)}\n"
                      .encode())
            log.flush()
            env = None
            if self.env is not None:
                env = dict(os.environ)
                env.update(self.env)
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.cwd, env=env, preexec_fn=die_with_parent)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exited_unexpectedly(self) -> Optional[int]:
        """The exit code if the process was started and has exited without us stopping it, else None."""
        if self.proc is not None and self.proc.poll() is not None:
            return self.proc.returncode
        return None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> Optional[int]:
        """Sends sig and waits (bounded); escalates to SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        return proc.returncode

    def kill(self) -> Optional[int]:
        """kill -9."""
        return self.stop(signal.SIGKILL)

    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc is not None else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return f"(no log at {self.log_path})"
        return f"--- last {min(lines, len(text))} lines of {self.log_path} ---\n" + "\n".join(text[-lines:])
