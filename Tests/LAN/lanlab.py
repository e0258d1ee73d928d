"""Driving the simulated LAN (Scripts/mdns-lab.sh) and the processes that run on its hosts.

Used by the pytest suite (conftest.py, test_*.py) and by measure.py. Nothing here skips: a missing prerequisite
raises LabError, which the suite turns into a failure.

- Lab: up/down, exec on a host, start/stop/restart a host's avahi-daemon, a host's addresses.
- Proc: a process running on a lab host (`mdns-lab.sh exec HOST ...`, which execs, so the Popen pid IS the
  program's pid: SIGTERM/SIGKILL reach it directly), with its stdout lines time-stamped (time.monotonic()) and
  searchable while it runs; stderr goes to a log file.
- ZooregServer / register(...) / zeroconf and avahi-browse observers.
- parse_avahi_browse: avahi-browse -p output, unescaped.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_SCRIPT = REPO_ROOT / "Scripts" / "mdns-lab.sh"
ZC_HELPER = Path(__file__).resolve().parent / "zc_helper.py"


class LabError(Exception):
    pass


def zooreg_binary() -> Path:
    p = Path(os.environ.get("ZOOREG_BIN", ".build/debug/zooreg"))
    return p if p.is_absolute() else REPO_ROOT / p


def venv_python() -> str:
    """The Python that has zeroconf (the venv's); the helper runs inside a namespace with it."""
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else os.environ.get("PYTHON", "python3")


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL if the test process dies, so nothing outlives the run (lab down also kills all)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


# ---- avahi-browse -p ------------------------------------------------------------------------------------------

def unescape_label(s: str) -> str:
    """avahi_escape_label's inverse: '\\.' -> '.', '\\\\' -> '\\', '\\DDD' (decimal byte) -> that byte."""
    out = bytearray()
    i = 0
    raw = s.encode("utf-8", "surrogateescape")
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):  # backslash
            nxt = raw[i + 1: i + 4]
            if len(nxt) == 3 and all(0x30 <= d <= 0x39 for d in nxt):
                out.append(int(nxt.decode()) & 0xFF)
                i += 4
                continue
            out.append(raw[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return out.decode("utf-8", "replace")


def parse_txt_field(s: str) -> dict:
    """avahi-browse's TXT field: '"k=v" "flag" ...' (each item quoted; '"' and '\\' backslash-escaped,
    unprintable bytes as \\DDD) -> {"k": "v", "flag": None}. The first of a repeated key wins (RFC 6763 §6.4)."""
    items = []
    i = 0
    while i < len(s):
        if s[i] != '"':
            i += 1
            continue
        i += 1
        buf = bytearray()
        while i < len(s) and s[i] != '"':
            if s[i] == "\\" and i + 1 < len(s):
                if re.fullmatch(r"\d{3}", s[i + 1: i + 4] or ""):
                    buf.append(int(s[i + 1: i + 4]) & 0xFF)
                    i += 4
                    continue
                buf.extend(s[i + 1].encode())
                i += 2
                continue
            buf.extend(s[i].encode())
            i += 1
        i += 1
        items.append(buf.decode("utf-8", "replace"))
    out: dict = {}
    for item in items:
        k, sep, v = item.partition("=")
        if k.lower() not in {x.lower() for x in out}:
            out[k] = v if sep else None
    return out


@dataclass
class AvahiEntry:
    event: str          # "+" new, "-" removed, "=" resolved
    iface: str
    proto: str          # IPv4 / IPv6
    name: str
    type: str
    domain: str
    host: str = ""
    address: str = ""
    port: int = 0
    txt: dict = field(default_factory=dict)


def parse_avahi_browse_line(line: str) -> Optional[AvahiEntry]:
    if not line or line[0] not in "+-=" or line[1:2] != ";":
        return None
    parts = line.rstrip("\n").split(";", 9)
    if parts[0] in "+-" and len(parts) >= 6:
        return AvahiEntry(parts[0], parts[1], parts[2], unescape_label(parts[3]), unescape_label(parts[4]),
                          unescape_label(parts[5]))
    if parts[0] == "=" and len(parts) >= 10:
        return AvahiEntry("=", parts[1], parts[2], unescape_label(parts[3]), unescape_label(parts[4]),
                          unescape_label(parts[5]), unescape_label(parts[6]), parts[7], int(parts[8] or 0),
                          parse_txt_field(parts[9]))
    return None


def parse_avahi_browse(text: str) -> list:
    return [e for e in (parse_avahi_browse_line(x) for x in text.splitlines()) if e is not None]


# ---- processes on lab hosts ----------------------------------------------------------------------------------

class Proc:
    """A process on a lab host; its stdout lines are recorded as (monotonic time, line)."""

    def __init__(self, lab: "Lab", host: str, argv: list, log_dir: Path, label: str,
                 stdin_pipe: bool = False, env: Optional[dict] = None) -> None:
        self.host = host
        self.argv = [str(a) for a in argv]
        self.label = label
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = log_dir / f"{label}.stderr"
        self.stdout_path = log_dir / f"{label}.stdout"
        self._stderr = open(self.stderr_path, "wb")
        self._stdout_log = open(self.stdout_path, "w")
        self.lines: list = []       # (t, line)
        self._cv = threading.Condition()
        self.started_at = time.monotonic()
        full_env = dict(os.environ)
        full_env.update(lab.env())
        if env:
            full_env.update(env)
        self.popen = subprocess.Popen(
            ["bash", str(LAB_SCRIPT), "exec", host, *self.argv],
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self._stderr, env=full_env, cwd=str(REPO_ROOT),
            preexec_fn=_die_with_parent)
        self.pid = self.popen.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        lab.procs.append(self)

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            t = time.monotonic()
            with self._cv:
                self.lines.append((t, line))
                self._cv.notify_all()
            self._stdout_log.write(f"{t:.3f} {line}\n")
            self._stdout_log.flush()
        with self._cv:
            self._cv.notify_all()

    def running(self) -> bool:
        return self.popen.poll() is None

    def wait_line(self, pred: Callable[[str], bool], timeout: float, since: float = 0.0,
                  what: str = "") -> tuple:
        """The first (t, line) with t >= since whose line satisfies pred; LabError on timeout or exit."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for t, line in self.lines:
                    if t >= since and pred(line):
                        return t, line
                if not self.running() and not self._reader.is_alive():
                    raise LabError(f"{self.label} exited ({self.popen.returncode}) before printing "
                                   f"{what or 'the expected line'}\n{self.describe()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LabError(f"{self.label}: no {what or 'matching line'} within {timeout:.1f}s\n"
                                   f"{self.describe()}")
                self._cv.wait(min(left, 0.2))

    def stdout_text(self) -> str:
        with self._cv:
            return "\n".join(line for _, line in self.lines)

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def describe(self, tail: int = 25) -> str:
        out = self.stdout_text().splitlines()[-tail:]
        err = self.stderr_text().splitlines()[-tail:]
        return (f"  [{self.label} on {self.host}: {' '.join(self.argv)}; "
                f"{'running' if self.running() else f'exit {self.popen.returncode}'}]\n"
                f"  stdout (last {tail}):\n    " + "\n    ".join(out) +
                f"\n  stderr (last {tail}):\n    " + "\n    ".join(err))

    def signal(self, sig: int) -> float:
        t = time.monotonic()
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        return t

    def stop(self, timeout: float = 5.0) -> Optional[int]:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.running():
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait(5)
        self.close()
        return self.popen.returncode

    def kill9(self) -> float:
        t = self.signal(signal.SIGKILL)
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        return t

    def close(self) -> None:
        if self.popen.stdin:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        self._reader.join(2)
        for f in (self._stderr, self._stdout_log):
            try:
                f.close()
            except OSError:
                pass


class Lab:
    """The simulated LAN. Hosts are numbered in the order given to up(): host i has NET4.i and NET6 i."""

    def __init__(self, prefix: str = "zrlab", log_dir: Optional[Path] = None) -> None:
        self.prefix = prefix
        self.hosts: list = []
        self.procs: list = []
        self.log_dir = log_dir or Path(f"/tmp/{prefix}-logs")
        self.net4 = os.environ.get("MDNS_LAB_NET4", "169.254.77")
        self.net6 = os.environ.get("MDNS_LAB_NET6", "fd42:77::")

    def env(self) -> dict:
        return {"MDNS_LAB_PREFIX": self.prefix}

    def script(self, *args, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.update(self.env())
        r = subprocess.run(["bash", str(LAB_SCRIPT), *map(str, args)], capture_output=True, text=True,
                           timeout=timeout, env=env, cwd=str(REPO_ROOT))
        if check and r.returncode != 0:
            raise LabError(f"mdns-lab.sh {' '.join(map(str, args))} failed ({r.returncode}):\n"
                           f"{r.stdout}{r.stderr}")
        return r

    def up(self, *hosts: str, avahi: bool = True) -> None:
        if os.geteuid() != 0:
            raise LabError("the LAN suite needs root (network namespaces)")
        self.script("up", *([] if avahi else ["--no-avahi"]), *hosts, timeout=300)
        self.hosts = list(hosts)

    def down(self) -> None:
        for p in self.procs:
            if p.running():
                p.stop(2)
        self.procs.clear()
        self.script("down", timeout=60, check=False)

    def ipv4(self, host: str) -> str:
        if host in self.hosts:
            return f"{self.net4}.{self.hosts.index(host) + 1}"
        return self.script("addr", host, "4").stdout.strip()   # a lab brought up by someone else

    def ipv6(self, host: str) -> str:
        if host in self.hosts:
            return f"{self.net6}{self.hosts.index(host) + 1}"
        return self.script("addr", host, "6").stdout.strip()

    def avahi_host(self, host: str) -> str:
        return f"{self.prefix}-{host}.local"

    def start_avahi(self, host: str) -> None:
        self.script("start-avahi", host)

    def stop_avahi(self, host: str) -> None:
        self.script("stop-avahi", host)

    def restart_avahi(self, host: str) -> None:
        self.script("restart-avahi", host)

    def avahi_running(self, host: str) -> bool:
        return self.script("avahi-pid", host, check=False).returncode == 0

    def run(self, host: str, *argv, timeout: float = 30.0) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.update(self.env())
        return subprocess.run(["bash", str(LAB_SCRIPT), "exec", host, *map(str, argv)], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=str(REPO_ROOT))

    def spawn(self, host: str, argv: list, label: str, **kw) -> Proc:
        return Proc(self, host, argv, self.log_dir, label, **kw)

    def stop_all(self) -> list:
        """Stops the processes, newest first (clients before their server); returns those that needed
        SIGKILL, as (label, exit code)."""
        killed = []
        for p in reversed(self.procs):
            if p.running():
                t0 = time.monotonic()
                code = p.stop(3)
                if time.monotonic() - t0 >= 3:
                    killed.append((p.label, code))
            else:
                p.close()
        self.procs.clear()
        return killed

    # ---- observers --------------------------------------------------------------------------------------

    def avahi_browse_once(self, host: str, service_type: str, timeout: float = 10.0) -> list:
        """`avahi-browse -rpt TYPE` on host: the resolved ('=') entries (both protocols)."""
        r = self.run(host, "avahi-browse", "-rpt", service_type, timeout=timeout)
        if r.returncode != 0:
            raise LabError(f"avahi-browse -rpt {service_type} on {host} failed ({r.returncode}): {r.stderr}")
        return [e for e in parse_avahi_browse(r.stdout) if e.event == "="]

    def wait_avahi_browse(self, host: str, service_type: str, pred: Callable[[list], bool], timeout: float,
                          what: str = "") -> list:
        """Repeats avahi-browse -rpt until pred(entries) holds; returns the entries (LabError on timeout)."""
        deadline = time.monotonic() + timeout
        entries: list = []
        while True:
            entries = self.avahi_browse_once(host, service_type, timeout=max(5.0, timeout))
            if pred(entries):
                return entries
            if time.monotonic() >= deadline:
                shown = "\n    ".join(f"{e.proto} {e.name!r} {e.host} {e.address}:{e.port} {e.txt}"
                                      for e in entries) or "(nothing)"
                raise LabError(f"avahi-browse -rpt {service_type} on {host}: no {what or 'match'} within "
                               f"{timeout:.0f}s; last saw:\n    {shown}")
            time.sleep(0.3)

    def zeroconf_browser(self, host: str, types: Iterable[str], label: str = "zc-browse") -> "ZeroconfBrowser":
        return ZeroconfBrowser(self, host, list(types), label)

    def avahi_watcher(self, host: str, service_type: str, label: str = "avahi-watch") -> "AvahiWatcher":
        return AvahiWatcher(self, host, service_type, label)


class ZeroconfBrowser:
    """zc_helper.py browse on a host: a live python-zeroconf view, with event times."""

    def __init__(self, lab: Lab, host: str, types: list, label: str) -> None:
        self.proc = lab.spawn(host, [venv_python(), "-u", ZC_HELPER, "browse", *types], label)
        self.proc.wait_line(lambda l: '"ready"' in l, 20, what="zeroconf browser ready")

    def events(self, since: float = 0.0) -> list:
        out = []
        for t, line in list(self.proc.lines):
            if t >= since and line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def present(self, name: str, type_: Optional[str] = None, since: float = 0.0) -> bool:
        """Whether name is currently listed (the last added/removed event since `since` is "added")."""
        state = False
        for e in self.events(since):
            if e.get("name") == name and (type_ is None or e.get("type") == type_):
                if e["ev"] == "added":
                    state = True
                elif e["ev"] == "removed":
                    state = False
        return state

    def wait_resolved(self, name: str, type_: str, pred: Callable[[dict], bool] = lambda e: True,
                      timeout: float = 10.0, since: float = 0.0) -> dict:
        t, line = self.proc.wait_line(
            lambda l: _json_match(l, ev="resolved", name=name, type=type_) and pred(json.loads(l)),
            timeout, since=since, what=f"zeroconf resolution of {name!r} ({type_}) as expected")
        return json.loads(line)

    def wait_event(self, ev: str, name: str, type_: Optional[str] = None, timeout: float = 10.0,
                   since: float = 0.0) -> float:
        """Time of the first `ev` ("added"/"removed") event for name at or after `since` (the event's own time)."""
        kw = {"ev": ev, "name": name}
        if type_:
            kw["type"] = type_
        _, line = self.proc.wait_line(lambda l: _json_match(l, **kw), timeout, since=since,
                                      what=f"zeroconf {ev} of {name!r}")
        return json.loads(line)["t"]

    def stop(self) -> None:
        self.proc.stop(3)


class AvahiWatcher:
    """`avahi-browse -rp TYPE` (no -t: runs until stopped) on a host, its lines time-stamped."""

    def __init__(self, lab: Lab, host: str, service_type: str, label: str) -> None:
        self.type = service_type
        self.proc = lab.spawn(host, ["avahi-browse", "-rp", service_type], label)

    def entries(self, since: float = 0.0) -> list:
        out = []
        for t, line in list(self.proc.lines):
            if t >= since:
                e = parse_avahi_browse_line(line)
                if e is not None:
                    out.append((t, e))
        return out

    def present(self, name: str) -> bool:
        """Listed on any interface/protocol: the last +/- per (iface, proto) decides."""
        state: dict = {}
        for _, e in self.entries():
            if e.name == name and e.event in "+-":
                state[(e.iface, e.proto)] = e.event == "+"
        return any(state.values())

    def wait_resolved(self, name: str, pred: Callable[[AvahiEntry], bool] = lambda e: True,
                      timeout: float = 10.0, since: float = 0.0) -> AvahiEntry:
        _, line = self.proc.wait_line(
            lambda l: (e := parse_avahi_browse_line(l)) is not None and e.event == "=" and e.name == name
            and pred(e), timeout, since=since, what=f"avahi-browse resolution of {name!r}")
        return parse_avahi_browse_line(line)

    def wait_added(self, name: str, timeout: float, since: float = 0.0) -> float:
        """Time of the first '+' (new) line for name at or after `since`."""
        t, _ = self.proc.wait_line(
            lambda l: (e := parse_avahi_browse_line(l)) is not None and e.event == "+" and e.name == name,
            timeout, since=since, what=f"avahi-browse new {name!r}")
        return t

    def wait_gone(self, name: str, timeout: float, since: float = 0.0) -> float:
        """Time at which name was removed on every (iface, proto) it had been listed on."""
        deadline = time.monotonic() + timeout
        while True:
            state: dict = {}
            gone_at = None
            for t, e in self.entries():
                if e.name == name and e.event in "+-":
                    state[(e.iface, e.proto)] = e.event == "+"
                    if any(state.values()):
                        gone_at = None
                    elif e.event == "-":
                        gone_at = t
            if gone_at is not None and gone_at >= since:
                return gone_at
            if time.monotonic() >= deadline:
                raise LabError(f"avahi-browse {self.type}: {name!r} not removed within {timeout:.1f}s\n"
                               f"{self.proc.describe()}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.stop(3)


def _json_match(line: str, **kw) -> bool:
    if not line.startswith("{"):
        return False
    try:
        d = json.loads(line)
    except ValueError:
        return False
    return all(d.get(k) == v for k, v in kw.items())


# ---- zooreg -----------------------------------------------------------------------------------------------------

class ZooregServer:
    """`zooreg serve` on a lab host, reached by clients on that host at 127.0.0.1:port."""

    def __init__(self, lab: Lab, host: str, data_dir: Path, extra: Iterable[str] = (), tick_ms: int = 200,
                 label: Optional[str] = None, wait_ready: bool = True) -> None:
        self.lab = lab
        self.host = host
        self.port = random.randint(20000, 45000)   # each host has its own port space
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [zooreg_binary(), "serve", "--port", self.port, "--data-dir", data_dir, "--tick-time", tick_ms,
                "--metrics-port", "0", *extra]
        self.proc = lab.spawn(host, argv, label or f"serve-{host}-{self.port}")
        if wait_ready:
            self.wait_ready()

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            r = self.lab.run(self.host, zooreg_binary(), "ls", "--server", self.server, "--connect-timeout", "2s",
                             "/", timeout=15)
            if r.returncode == 0:
                return
            if not self.proc.running():
                raise LabError(f"zooreg serve on {self.host} exited ({self.proc.popen.returncode})\n"
                               f"{self.proc.describe()}")
            if time.monotonic() >= deadline:
                raise LabError(f"zooreg serve on {self.host} not answering within {timeout}s: {r.stderr}\n"
                               f"{self.proc.describe()}")
            time.sleep(0.2)


PUBLISHED_RE = re.compile(r'^published "((?:[^"\\]|\\.)*)" (\S+)')
RENAMED_RE = re.compile(r'^renamed "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"')
WITHDRAWN_RE = re.compile(r'^withdrawn "((?:[^"\\]|\\.)*)"')


def unquote(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def register(lab: Lab, host: str, server: ZooregServer, name: str, port: int, address: str,
             id_: Optional[str] = None, payload: Optional[dict] = None, extra: Iterable[str] = (),
             session_timeout: Optional[str] = None, label: Optional[str] = None,
             wait_ready: bool = True) -> Proc:
    argv = [zooreg_binary(), "register", "--server", server.server, "--name", name, "--port", port,
            "--address", address]
    if id_ is not None:
        argv += ["--id", id_]
    if payload is not None:
        argv += ["--payload", json.dumps(payload)]
    if session_timeout:
        argv += ["--session-timeout", session_timeout]
    argv += list(extra)
    p = lab.spawn(host, argv, label or f"register-{host}-{name}-{id_ or port}")
    if wait_ready:
        p.wait_line(lambda l: l.strip() == "ready", 20, what='"ready"')
    return p


def wait_published(p: Proc, timeout: float = 15.0, since: float = 0.0) -> tuple:
    """(time, instance name, type) of the register's `published "<name>" <type>` line."""
    t, line = p.wait_line(lambda l: PUBLISHED_RE.match(l) is not None, timeout, since=since,
                          what='a `published "<name>" <type>` line')
    m = PUBLISHED_RE.match(line)
    return t, unquote(m.group(1)), m.group(2)


def instance_name(service: str, id_: str) -> str:
    """The documented instance name: '<service> <short id>' (the id itself when at most 16 characters)."""
    return f"{service} {id_ if len(id_) <= 16 else id_[:8]}"


def unique(prefix: str, n: int = 5) -> str:
    """A fresh lowercase name (valid RFC 6335 if prefix is a letter run and total <= 15)."""
    return prefix + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def stats(values: list) -> dict:
    v = sorted(values)
    if not v:
        return {"n": 0}

    def q(p: float) -> float:   # nearest-rank
        k = max(0, min(len(v) - 1, int(round(p * len(v) + 0.5)) - 1))
        return v[k]

    mid = len(v) // 2
    median = v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
    return {"n": len(v), "median": median, "p90": q(0.9), "min": v[0], "max": v[-1]}
