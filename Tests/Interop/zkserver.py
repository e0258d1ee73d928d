"""Starting and stopping the servers under test: Apache ZooKeeper (Debian's package) and our `zooreg serve`.

Both implementations get the SAME zoo.cfg. A few settings that ZooKeeper only reads as JVM system properties
(not from zoo.cfg) are also passed to the JVM with -D; zooreg reads them from zoo.cfg.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Optional

from zkraw import ConnectionClosed, RawSession, four_letter_word

REPO_ROOT = Path(__file__).resolve().parents[2]

IMPL_ZOOKEEPER = "zookeeper"
IMPL_ZOOREG = "zooreg"
ALL_IMPLS = (IMPL_ZOOREG, IMPL_ZOOKEEPER)  # the default ZK_IMPLS
# Replicated (zkensemble.py): 3 etcd + 3 zooreg replicas, and a 3-node Apache ZooKeeper; opt-in via ZK_IMPLS.
IMPL_ZOOREG_ENSEMBLE = "zooreg-ensemble"
IMPL_ZOOKEEPER_ENSEMBLE = "zookeeper-ensemble"
ENSEMBLE_IMPLS = (IMPL_ZOOREG_ENSEMBLE, IMPL_ZOOKEEPER_ENSEMBLE)
KNOWN_IMPLS = ALL_IMPLS + ENSEMBLE_IMPLS

HOST = "127.0.0.1"
TICK_MS = 200
MIN_SESSION_TIMEOUT_MS = 2 * TICK_MS        # ZooKeeper's default; written out explicitly
MAX_SESSION_TIMEOUT_MS = 30000              # above 20*tickTime so kazoo's 10 s default is not cut to 4 s
MAX_CLIENT_CNXNS = 30
CONTAINER_CHECK_INTERVAL_MS = 100

SUPER_USER = "super"
SUPER_PASSWORD = "test"

ZOOKEEPER_JARS = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar"]
# ZooKeeper's AdminServer (admin.enableServer=true) needs Jetty and Jackson on the class path; without them it logs
# "Unable to load jetty" and stays off.
ZOOKEEPER_ADMIN_JARS = [f"/usr/share/java/{name}.jar" for name in (
    "jetty9-server", "jetty9-servlet", "jetty9-http", "jetty9-io", "jetty9-util", "jetty9-util-ajax",
    "jetty9-security", "servlet-api", "jackson-annotations", "jackson-core", "jackson-databind")]


def admin_server_settings(port: Optional[int] = None) -> dict:
    """zoo.cfg overrides that turn the AdminServer on, on loopback and a free port (see Server.admin_url)."""
    return {"admin.enableServer": "true", "admin.serverAddress": HOST,
            "admin.serverPort": port or free_port()}


def digest(user: str, password: str) -> str:
    """ZooKeeper's digest: user:base64(sha1("user:password"))."""
    raw = hashlib.sha1(f"{user}:{password}".encode()).digest()
    return f"{user}:{base64.b64encode(raw).decode()}"


# zoo.cfg keys that ZooKeeper 3.8 does not read from zoo.cfg but only as JVM system properties under exactly
# this name (an unknown zoo.cfg key `k` becomes the system property `zookeeper.k`, which is not the name these
# are read under).
JVM_ONLY_KEYS = ("znode.container.checkIntervalMs",)


def _die_with_parent() -> None:
    """preexec_fn: the server gets SIGKILL if the test run dies, so no server outlives the suite."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort, Linux only
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def zooreg_binary() -> Path:
    p = Path(os.environ.get("ZOOREG_BIN", ".build/debug/zooreg"))
    return p if p.is_absolute() else REPO_ROOT / p


def selected_impls() -> list:
    raw = os.environ.get("ZK_IMPLS", ",".join(ALL_IMPLS))
    impls = [i.strip() for i in raw.split(",") if i.strip()]
    for i in impls:
        if i not in KNOWN_IMPLS:
            raise ValueError(f"unknown implementation {i!r} in ZK_IMPLS (known: {', '.join(KNOWN_IMPLS)})")
    return impls


class ServerError(RuntimeError):
    pass


class Server:
    """One server process with its own port, data dir and zoo.cfg; restartable on the same port and data."""

    def __init__(self, impl: str, workdir: Path, port: Optional[int] = None,
                 jvm_flags: Optional[list] = None, **overrides) -> None:
        """jvm_flags: extra JVM options for ZooKeeper only (e.g. -Djava.security.auth.login.config=...), for
        settings ZooKeeper reads as system properties and zooreg from zoo.cfg."""
        self.impl = impl
        self.jvm_flags = list(jvm_flags or [])
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.port = port or free_port()
        self.log_path = self.workdir / "server.log"
        self.cfg_path = self.workdir / "zoo.cfg"
        self.settings = {
            "tickTime": TICK_MS,
            "minSessionTimeout": MIN_SESSION_TIMEOUT_MS,
            "maxSessionTimeout": MAX_SESSION_TIMEOUT_MS,
            "dataDir": str(self.data_dir),
            "clientPort": self.port,
            "clientPortAddress": HOST,
            "maxClientCnxns": MAX_CLIENT_CNXNS,
            "4lw.commands.whitelist": "*",
            "admin.enableServer": "false",
            "autopurge.snapRetainCount": 3,
            "autopurge.purgeInterval": 0,
            "DigestAuthenticationProvider.superDigest": digest(SUPER_USER, SUPER_PASSWORD),
            "extendedTypesEnabled": "true",
            "znode.container.checkIntervalMs": CONTAINER_CHECK_INTERVAL_MS,
            # zooreg's Prometheus endpoint (ZooKeeper hands metricsProvider.* to its metrics provider; the
            # default provider ignores them): loopback and a free port, so servers never collide on 7000.
            "metricsProvider.httpHost": HOST,
            "metricsProvider.httpPort": free_port(),
        }
        self.settings.update(overrides)
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self.write_config()

    # -- configuration

    def write_config(self) -> None:
        lines = ["# written by Tests/Interop/zkserver.py"]
        lines += [f"{k}={v}" for k, v in self.settings.items()]
        self.cfg_path.write_text("\n".join(lines) + "\n")

    @property
    def hosts(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def tick_ms(self) -> int:
        return int(self.settings["tickTime"])

    def command(self) -> list:
        if self.impl == IMPL_ZOOKEEPER:
            jvm_props = [f"-D{k}={self.settings[k]}" for k in JVM_ONLY_KEYS if k in self.settings]
            return ["java", "-Xms32m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    *jvm_props, *self.jvm_flags, "-cp", ":".join(self._zookeeper_class_path()),
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(self.cfg_path)]
        if self.impl == IMPL_ZOOREG:
            binary = zooreg_binary()
            if not binary.exists():
                raise ServerError(f"zooreg binary not found at {binary} (build it, or set ZOOREG_BIN)")
            # LAN publishing off: the suite compares ZooKeeper semantics (the LAN suite, Tests/LAN, covers it).
            return [str(binary), "serve", "--config", str(self.cfg_path), "--no-mdns"]
        raise ServerError(f"unknown implementation {self.impl}")

    def _zookeeper_class_path(self) -> list:
        if str(self.settings.get("admin.enableServer", "false")).lower() == "true":
            return ZOOKEEPER_JARS + ZOOKEEPER_ADMIN_JARS
        return ZOOKEEPER_JARS

    @property
    def admin_url(self) -> Optional[str]:
        """The AdminServer's command URL (e.g. http://127.0.0.1:PORT/commands) when it is enabled, else None."""
        if str(self.settings.get("admin.enableServer", "false")).lower() != "true":
            return None
        path = self.settings.get("admin.commandURL", "/commands")
        return f"http://{self.settings.get('admin.serverAddress', HOST)}:{self.settings['admin.serverPort']}{path}"

    # -- lifecycle

    def start(self, timeout: float = 30.0) -> "Server":
        if self.running():
            raise ServerError("already running")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.workdir,
                                         preexec_fn=_die_with_parent)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerError(f"{self.impl} exited with {self.proc.returncode} while starting\n"
                                  + self.log_tail())
            try:
                last = four_letter_word(HOST, self.port, "ruok", timeout=1.0)
                if last == "imok":
                    # ZooKeeper answers ruok before its request pipeline runs (connections are then closed
                    # with "ZooKeeperServer not running"), so a real session is the second half of ready.
                    RawSession.connect(HOST, self.port, session_timeout_ms=MIN_SESSION_TIMEOUT_MS,
                                       timeout=2.0).close()
                    return
            except (OSError, TimeoutError, ConnectionClosed, ValueError) as e:
                last = repr(e)
            time.sleep(0.05)
        raise ServerError(f"{self.impl} not ready on port {self.port} after {timeout}s (last: {last})\n"
                          + self.log_tail())

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> Optional[int]:
        """Sends sig and waits; escalates to SIGKILL after timeout. Returns the exit code."""
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
                raise ServerError(f"{self.impl} did not stop within {timeout}s of signal {sig}\n"
                                  + self.log_tail())
        return proc.returncode

    def kill(self) -> Optional[int]:
        return self.stop(signal.SIGKILL)

    def restart(self, kill: bool = False, down_for: float = 0.0, timeout: float = 30.0) -> "Server":
        """Stops (SIGTERM, or SIGKILL if kill) and starts again on the same port and data dir."""
        self.stop(signal.SIGKILL if kill else signal.SIGTERM)
        if down_for:
            time.sleep(down_for)
        return self.start(timeout)

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return f"--- last {min(lines, len(text))} lines of {self.log_path} ---\n" + "\n".join(text[-lines:])

    def four_letter_word(self, word: str, timeout: float = 5.0) -> str:
        return four_letter_word(HOST, self.port, word, timeout)
