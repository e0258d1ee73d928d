"""Helpers of the registry tests: `zooreg register/resolve/services` processes whose stdout lines are collected
(with arrival times) by a thread, a tiny HTTP health endpoint, and the Curator interop Java program."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socketserver
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from zkserver import REPO_ROOT, zooreg_binary

CURATOR_JARS = [
    "/usr/share/java/curator-x-discovery.jar", "/usr/share/java/curator-framework.jar",
    "/usr/share/java/curator-client.jar", "/usr/share/java/zookeeper.jar", "/usr/share/java/guava.jar",
    "/usr/share/java/jackson-databind.jar", "/usr/share/java/jackson-core.jar",
    "/usr/share/java/jackson-annotations.jar", "/usr/share/java/slf4j-api.jar", "/usr/share/java/slf4j-nop.jar",
]
CURATOR_SOURCE = Path(__file__).resolve().parent / "curator" / "CuratorInterop.java"


def unique_base() -> str:
    """A base path of its own for each test on the shared server."""
    return f"/reg-{uuid.uuid4().hex[:10]}/services"


class LineProcess:
    """A child process whose stdout lines are read by a thread and stamped with time.monotonic()."""

    def __init__(self, args: List[str], stdin=subprocess.DEVNULL, cwd: Optional[Path] = None) -> None:
        self.args = args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=stdin,
                                     cwd=cwd or REPO_ROOT, bufsize=0)
        self.lines: List[Tuple[float, str]] = []
        self.stderr: List[str] = []
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True)]
        for t in self._threads:
            t.start()

    def _read(self, stream, is_stdout: bool) -> None:
        for raw in iter(stream.readline, b""):
            stamp = time.monotonic()
            text = raw.decode(errors="replace").rstrip("\n")
            with self._cond:
                if is_stdout:
                    self.lines.append((stamp, text))
                else:
                    self.stderr.append(text)
                self._cond.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def texts(self) -> List[str]:
        with self._cond:
            return [t for _, t in self.lines]

    def wait_line(self, pred: Callable[[str], bool], timeout: float = 15.0, start: int = 0) -> Tuple[int, float, str]:
        """Waits for a stdout line (from index `start`) matching pred; returns (index, arrival time, text)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(start, len(self.lines)):
                    stamp, text = self.lines[i]
                    if pred(text):
                        return i, stamp, text
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._threads[0].is_alive()):
                    raise AssertionError(
                        f"no matching line from {' '.join(self.args[:3])} within {timeout}s "
                        f"(exit {self.proc.poll()})\nstdout: {self.texts()[-20:]}\nstderr: {self.stderr[-20:]}")
                self._cond.wait(min(remaining, 0.2))

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 15.0) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.proc.kill()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass


class Zooreg:
    """Runs the zooreg CLI against one server and base path; every process started is stopped at close()."""

    def __init__(self, hosts: str, base_path: str) -> None:
        self.hosts = hosts
        self.base_path = base_path
        self.binary = str(zooreg_binary())
        self.processes: List[LineProcess] = []

    def common(self) -> List[str]:
        return ["--server", self.hosts, "--base-path", self.base_path]

    def register(self, name: str, *args: str, session_timeout_ms: int = 10000) -> LineProcess:
        p = LineProcess([self.binary, "register", "--name", name, *self.common(),
                         "--session-timeout", f"{session_timeout_ms}ms", *args])
        self.processes.append(p)
        return p

    def watch(self, name: str, *args: str) -> LineProcess:
        p = LineProcess([self.binary, "resolve", name, "--watch", "--json", *self.common(), *args])
        self.processes.append(p)
        return p

    def run(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)

    def resolve(self, name: str, *args: str) -> Tuple[int, Optional[dict]]:
        """(exit status, the --json document or None)."""
        r = self.run("resolve", name, "--json", *self.common(), *args)
        doc = json.loads(r.stdout.splitlines()[-1]) if r.stdout.strip() else None
        return r.returncode, doc

    def services(self) -> dict:
        r = self.run("services", "--json", *self.common())
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def close(self) -> None:
        for p in self.processes:
            p.stop()


def instance_count(doc: Optional[dict]) -> int:
    return len(doc["instances"]) if doc else 0


class HealthEndpoint:
    """A tiny HTTP server whose /health answers 200 or 503 as the test flips it."""

    def __init__(self) -> None:
        endpoint = self
        self.healthy = True
        self.hits = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                endpoint.hits += 1
                code = 200 if (self.path == "/health" and endpoint.healthy) else 503
                body = b"ok" if code == 200 else b"down"
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def compile_curator_program(out_dir: Path) -> str:
    """Compiles CuratorInterop.java against Debian's Curator jars; returns the classpath to run it with."""
    missing = [j for j in CURATOR_JARS if not os.path.exists(j)]
    if missing:
        raise AssertionError(f"Curator jars missing (apt-get install libcurator-discovery-java): {missing}")
    classpath = ":".join(CURATOR_JARS)
    out_dir.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["javac", "-nowarn", "-cp", classpath, "-d", str(out_dir), str(CURATOR_SOURCE)],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"javac failed:\n{r.stdout}\n{r.stderr}")
    return f"{classpath}:{out_dir}"
