#!/usr/bin/env python3
"""How fast the LAN sees registry changes: timings over N trials on a simulated two-host LAN.

    sudo .venv/bin/python Tests/LAN/measure.py [--trials 20] [--json] [--session-timeout 2]
        [--reuse-lab]   use hosts a and b of a lab that is already up (Scripts/mdns-lab.sh up a b ...)
        [--prefix P]    the lab's MDNS_LAB_PREFIX (default zrmeas, or zrlab with --reuse-lab)

Without --reuse-lab it brings up its own lab (hosts a and b, prefix zrmeas, so it leaves the suite's zrlab
alone) and takes it down at the end. On host a: `zooreg serve --no-mdns` (only `zooreg register` publishes) and
`zooreg serve` with its publisher (both publish). On host b two observers: python-zeroconf (zc_helper.py) and
`avahi-browse -rp`. Each trial measures, in seconds:
  publish -> seen on b         from starting `zooreg register` (no serve publisher) to b listing the instance
  register -> published line   from starting it to its `published "..."` line (the entry group established)
  deregister (SIGTERM) -> gone  from SIGTERM to b dropping it
  kill -9 -> gone (no serve publisher)   a's daemon drops the dead client's entries (goodbye)
  kill -9 -> gone (serve publisher)      serve's publisher withdraws it at the session's expiry
  daemon restart -> republished          from `mdns-lab.sh restart-avahi a` returning (daemon running again)
                                         to b listing it again (zeroconf: it must have seen it removed first)
avahi-browse keeps a goodbye'd record 1 s (RFC 6762 §10.1), so its "gone" times are ~1 s above zeroconf's.
Prints median, p90, min and max per row (a table, or one JSON document with --json; progress goes to stderr).
Exit status 1 if any sample timed out (counted per row as "failures").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lanlab import (  # noqa: E402
    Lab,
    LabError,
    ZooregServer,
    instance_name,
    register,
    stats,
    unique,
    wait_published,
)

ROWS = [
    ("publish_seen_zeroconf", "publish -> seen on b", "zeroconf"),
    ("publish_seen_avahi", "publish -> seen on b", "avahi"),
    ("register_published_line", "register -> published line", "register"),
    ("deregister_gone_zeroconf", "deregister (SIGTERM) -> gone on b", "zeroconf"),
    ("deregister_gone_avahi", "deregister (SIGTERM) -> gone on b", "avahi"),
    ("kill9_gone_zeroconf", "kill -9 -> gone on b (no serve publisher)", "zeroconf"),
    ("kill9_gone_avahi", "kill -9 -> gone on b (no serve publisher)", "avahi"),
    ("kill9_expiry_gone_zeroconf", "kill -9 -> gone on b (serve publisher)", "zeroconf"),
    ("kill9_expiry_gone_avahi", "kill -9 -> gone on b (serve publisher)", "avahi"),
    ("restart_republished_zeroconf", "daemon restart -> republished on b", "zeroconf"),
]


def log(msg: str) -> None:
    print(f"[measure] {msg}", file=sys.stderr, flush=True)


class Measure:
    def __init__(self, lab: Lab, session_timeout: float, workdir: Path) -> None:
        self.lab = lab
        self.session_timeout = session_timeout
        self.samples = {k: [] for k, _, _ in ROWS}
        self.failures = {k: 0 for k, _, _ in ROWS}
        self.errors: list = []
        self.name = unique("zrm")
        self.type = f"_{self.name}._tcp"
        self.a4 = lab.ipv4("a")
        self.plain = ZooregServer(lab, "a", workdir / "plain", extra=["--no-mdns"], label="serve-no-mdns")
        self.pub = ZooregServer(lab, "a", workdir / "pub", label="serve-mdns")
        self.zc = lab.zeroconf_browser("b", [self.type], label="zc-observer")
        self.av = lab.avahi_watcher("b", self.type, label="avahi-observer")
        self.n = 0
        self.trials_done = 0

    def _take(self, key: str, fn) -> None:
        try:
            self.samples[key].append(fn())
        except LabError as e:
            self.failures[key] += 1
            self.errors.append(f"{key}: {str(e).splitlines()[0]}")

    def _register(self, server: ZooregServer, id_: str):
        t0 = time.monotonic()
        r = register(self.lab, "a", server, self.name, 9000 + self.n, self.a4, id_=id_,
                     session_timeout=f"{int(self.session_timeout * 1000)}ms", label=f"register-{id_}")
        return t0, r, instance_name(self.name, id_)

    def _published(self, r, t0) -> float:
        t, _, _ = wait_published(r, timeout=15)
        return t - t0

    def trial(self) -> None:
        st = self.session_timeout
        # 1. publish -> seen, then SIGTERM -> gone (only the register publishes)
        self.n += 1
        id_ = f"d{self.n}"
        t0, r, name = self._register(self.plain, id_)
        self._take("register_published_line", lambda: self._published(r, t0))
        self._take("publish_seen_zeroconf", lambda: self.zc.wait_event("added", name, self.type, 15, since=t0) - t0)
        self._take("publish_seen_avahi", lambda: self.av.wait_added(name, 15, since=t0) - t0)
        time.sleep(0.5)
        t1 = r.signal(15)
        self._take("deregister_gone_zeroconf", lambda: self.zc.wait_event("removed", name, self.type, 10, since=t1) - t1)
        self._take("deregister_gone_avahi", lambda: self.av.wait_gone(name, 10, since=t1) - t1)
        r.stop(5)

        # 2. kill -9 with no serve publisher
        self.n += 1
        id_ = f"k{self.n}"
        t0, r, name = self._register(self.plain, id_)
        self._take("publish_seen_zeroconf", lambda: self.zc.wait_event("added", name, self.type, 15, since=t0) - t0)
        self._take("publish_seen_avahi", lambda: self.av.wait_added(name, 15, since=t0) - t0)
        time.sleep(0.5)
        t1 = r.kill9()
        self._take("kill9_gone_zeroconf", lambda: self.zc.wait_event("removed", name, self.type, st + 8, since=t1) - t1)
        self._take("kill9_gone_avahi", lambda: self.av.wait_gone(name, st + 8, since=t1) - t1)

        # 3. with serve's publisher too: daemon restart -> republished, then kill -9 -> gone at session expiry
        self.n += 1
        id_ = f"e{self.n}"
        t0, r, name = self._register(self.pub, id_)
        try:
            self.zc.wait_event("added", name, self.type, 15, since=t0)
            self.av.wait_added(name, 15, since=t0)
        except LabError as e:
            self.errors.append(f"setup of the restart trial: {str(e).splitlines()[0]}")
        time.sleep(1.0)
        t_stop = time.monotonic()
        self.lab.restart_avahi("a")
        t_up = time.monotonic()

        def republished() -> float:
            t_rm = self.zc.wait_event("removed", name, self.type, 10, since=t_stop)   # the daemon's goodbyes
            return self.zc.wait_event("added", name, self.type, 15, since=t_rm) - t_up
        self._take("restart_republished_zeroconf", republished)
        try:   # the avahi observer too must list it again before the kill
            self.lab.wait_avahi_browse("b", self.type, lambda es: any(e.name == name for e in es), 10)
        except LabError as e:
            self.errors.append(f"avahi after restart: {str(e).splitlines()[0]}")
        time.sleep(0.5)
        t1 = r.kill9()
        self._take("kill9_expiry_gone_zeroconf",
                   lambda: self.zc.wait_event("removed", name, self.type, st + 8, since=t1) - t1)
        self._take("kill9_expiry_gone_avahi", lambda: self.av.wait_gone(name, st + 8, since=t1) - t1)

    def report(self) -> dict:
        return {
            "trials": self.trials_done,
            "session_timeout_s": self.session_timeout,
            "rows": {k: {"event": label, "observer": obs, **stats(self.samples[k]),
                         "failures": self.failures[k], "samples": [round(x, 4) for x in self.samples[k]]}
                     for k, label, obs in ROWS},
            "errors": self.errors,
        }


def print_table(rep: dict) -> None:
    print(f"{rep['trials']} trials, register session timeout {rep['session_timeout_s']:g} s; seconds")
    hdr = f"{'event':44} {'observer':9} {'n':>3} {'median':>7} {'p90':>7} {'min':>7} {'max':>7} {'fail':>4}"
    print(hdr)
    print("-" * len(hdr))
    for k, row in rep["rows"].items():
        if row["n"]:
            print(f"{row['event']:44} {row['observer']:9} {row['n']:>3} {row['median']:7.3f} {row['p90']:7.3f} "
                  f"{row['min']:7.3f} {row['max']:7.3f} {row['failures']:>4}")
        else:
            print(f"{row['event']:44} {row['observer']:9} {0:>3} {'-':>7} {'-':>7} {'-':>7} {'-':>7} "
                  f"{row['failures']:>4}")
    for e in rep["errors"]:
        print(f"error: {e}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    ap.add_argument("--session-timeout", type=float, default=2.0, help="register's session timeout, seconds")
    ap.add_argument("--reuse-lab", action="store_true", help="use hosts a and b of a running lab")
    ap.add_argument("--prefix", help="MDNS_LAB_PREFIX of the lab (default zrmeas; zrlab with --reuse-lab)")
    args = ap.parse_args()
    if args.trials < 1:
        ap.error("--trials must be at least 1")
    prefix = args.prefix or os.environ.get("MDNS_LAB_PREFIX") or ("zrlab" if args.reuse_lab else "zrmeas")
    workdir = Path(tempfile.mkdtemp(prefix="zrmeasure-"))
    lab = Lab(prefix, log_dir=workdir / "logs")
    m = None
    try:
        if args.reuse_lab:
            for h in ("a", "b"):
                lab.start_avahi(h)   # fails if the lab or the host is not up
        else:
            log(f"bringing up lab {prefix} (hosts a b)")
            lab.up("a", "b")
        m = Measure(lab, args.session_timeout, workdir)
        for i in range(args.trials):
            t = time.monotonic()
            m.trial()
            m.trials_done += 1
            log(f"trial {i + 1}/{args.trials} done in {time.monotonic() - t:.1f}s")
    except LabError as e:
        log(f"lab error: {e}")
        if m is None:
            return 2
        m.errors.append(f"aborted: {str(e).splitlines()[0]}")
    finally:
        lab.stop_all()
        if args.reuse_lab:
            lab.start_avahi("a")
        else:
            lab.down()
    rep = m.report()
    if args.json:
        print(json.dumps(rep, indent=1))
    else:
        print_table(rep)
    log(f"logs in {workdir / 'logs'}")
    return 1 if any(rep["rows"][k]["failures"] for k in rep["rows"]) or rep["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
