"""Helpers of the console's browser test and measurement script: a live `zooreg serve`, headless Chromium,
Curator instances written with kazoo."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".build" / "console-artifacts"


def zooreg_binary() -> Path:
    binary = Path(os.environ.get("ZOOREG_BIN", ROOT / ".build" / "debug" / "zooreg"))
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing: run `swift build --product zooreg` first (or set ZOOREG_BIN)")
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    """Polls `condition` until it returns a truthy value (returned) or `timeout` seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - retried until the deadline
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


class ZooregServer:
    """`zooreg serve` on free ports with a temporary data dir (tickTime 500 ms, so session expiry is prompt)."""

    def __init__(self, tick_time_ms: int = 500, extra_args: list[str] | None = None):
        self.port = free_port()
        self.admin_port = free_port()
        self.data_dir = tempfile.mkdtemp(prefix="console-test-")
        self.log_path = Path(self.data_dir) / "serve.log"
        self.tick_time_ms = tick_time_ms
        self.extra_args = extra_args or []
        self.process: subprocess.Popen | None = None

    @property
    def connect_string(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def get_json(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.load(response)

    def start(self):
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(zooreg_binary()), "serve", "--port", str(self.port), "--admin-port", str(self.admin_port),
             "--data-dir", self.data_dir, "--no-mdns", "--metrics-port", "0", "--tick-time", str(self.tick_time_ms),
             *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)

        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"zooreg serve exited ({self.process.returncode}): {self.log_path.read_text()[-2000:]}")
            status = self.get_json("/api/console")["status"]
            return status["connection"] == "connected" and status["initialized"]

        wait_until(ready, 30, "the console to be connected", interval=0.1)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def chromium(width: int = 1400, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM_BIN", shutil.which("chromium") or "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    service = Service(executable_path=os.environ.get("CHROMEDRIVER_BIN", shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


def curator_json(name: str, instance_id: str, address: str, port: int, payload=None, enabled: bool = True,
                 registered_ms: int | None = None) -> bytes:
    """An instance as Curator's JsonInstanceSerializer writes it."""
    if isinstance(payload, dict):
        payload = {"@class": "java.util.LinkedHashMap", **payload}
    document = {
        "name": name, "id": instance_id, "address": address, "port": port, "sslPort": None, "payload": payload,
        "registrationTimeUTC": registered_ms if registered_ms is not None else int(time.time() * 1000),
        "serviceType": "DYNAMIC", "uriSpec": None,
    }
    if not enabled:
        document["enabled"] = False
    return json.dumps(document, separators=(",", ":")).encode()


def kazoo_client(connect_string: str):
    from kazoo.client import KazooClient

    client = KazooClient(hosts=connect_string, timeout=10)
    client.start(timeout=15)
    return client
