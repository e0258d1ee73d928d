"""Instances leaving and coming back: kill -9, session expiry, avahi-daemon restarts, a late daemon, collisions.

Timing bounds are checked with python-zeroconf on b, which drops a record as soon as its goodbye (TTL 0)
arrives; avahi-browse on b keeps a goodbye'd record 1 s more (RFC 6762 §10.1, avahi's cache.c), so its bounds
are 1.2 s looser.
"""

from __future__ import annotations

import re
import subprocess
import time

from lanlab import (
    RENAMED_RE,
    instance_name,
    register,
    unique,
    unquote,
    wait_published,
)

AVAHI_SLACK = 1.2   # avahi-browse reports a goodbye'd record 1 s later than zeroconf


def _observe(lab, zb, type_):
    return zb(type_), lab.avahi_watcher("b", type_)


def test_kill9_without_serve_publisher_gone_through_the_daemon(lab, serve, zb):
    """serve --no-mdns: only the register publishes; kill -9 makes a's daemon drop its entries (goodbye)."""
    name = unique("kil")
    type_ = f"_{name}._tcp"
    zc, av = _observe(lab, zb, type_)
    srv = serve("a", "--no-mdns")
    timeout_s = 2.0
    r = register(lab, "a", srv, name, 8700, lab.ipv4("a"), id_="k1", session_timeout="2s")
    wait_published(r)
    iname = instance_name(name, "k1")
    zc.wait_event("added", iname, type_, timeout=10)
    av.wait_resolved(iname, timeout=10)
    t0 = r.kill9()
    gone_zc = zc.wait_event("removed", iname, type_, timeout=timeout_s + 3, since=t0) - t0
    gone_av = av.wait_gone(iname, timeout=timeout_s + 4, since=t0) - t0
    assert gone_zc <= timeout_s + 1.5, f"zeroconf on b saw it gone {gone_zc:.2f}s after kill -9"
    assert gone_av <= timeout_s + 1.5 + AVAHI_SLACK, f"avahi on b saw it gone {gone_av:.2f}s after kill -9"


def test_kill9_with_serve_publisher_gone_at_session_expiry(lab, serve, zb):
    """serve publishes the instance too: after kill -9 it stays on the LAN while the session lives (the
    registry still lists it), and goes within 1.5 s of the session's expiry."""
    name = unique("exp")
    type_ = f"_{name}._tcp"
    zc, av = _observe(lab, zb, type_)
    srv = serve("a")
    timeout_s = 3.0
    r = register(lab, "a", srv, name, 8701, lab.ipv4("a"), id_="e1", session_timeout="3s")
    wait_published(r)
    iname = instance_name(name, "e1")
    zc.wait_event("added", iname, type_, timeout=10)
    av.wait_resolved(iname, timeout=10)
    time.sleep(1.0)   # serve's publisher has seen the instance by now (it is in the registry since "ready")
    t0 = r.kill9()
    time.sleep(1.5)
    assert zc.present(iname, type_), \
        "gone on b 1.5 s after kill -9, while its session (3 s) is alive: serve's publisher does not hold it"
    gone_zc = zc.wait_event("removed", iname, type_, timeout=timeout_s + 4, since=t0) - t0
    gone_av = av.wait_gone(iname, timeout=timeout_s + 5, since=t0) - t0
    assert gone_zc <= timeout_s + 1.5, f"zeroconf on b saw it gone {gone_zc:.2f}s after kill -9"
    assert gone_av <= timeout_s + 1.5 + AVAHI_SLACK, f"avahi on b saw it gone {gone_av:.2f}s after kill -9"
    assert srv.proc.running()


def test_avahi_restart_republishes_within_5s(lab, serve, zb):
    """Restarting a's avahi-daemon drops everything (goodbyes); register and serve publish again."""
    name = unique("rst")
    type_ = f"_{name}._tcp"
    a4 = lab.ipv4("a")
    zc = zb(type_)
    srv = serve("a")
    r1 = register(lab, "a", srv, name, 8800, a4, id_="own")                        # publishes itself
    register(lab, "a", srv, name, 8801, a4, id_="srv", extra=["--no-mdns"])      # only serve publishes it
    wait_published(r1)
    names = [instance_name(name, "own"), instance_name(name, "srv")]
    for n in names:
        zc.wait_event("added", n, type_, timeout=10)
    t_stop = time.monotonic()
    lab.restart_avahi("a")
    t_up = time.monotonic()
    for n in names:
        t_rm = zc.wait_event("removed", n, type_, timeout=5, since=t_stop)   # the daemon's goodbyes
        seen = zc.wait_event("added", n, type_, timeout=8, since=t_rm)
        assert seen - t_up <= 5.0, f"{n!r} republished {seen - t_up:.2f}s after the daemon was back"
    lab.wait_avahi_browse("b", type_, lambda es: {e.name for e in es if e.proto == "IPv4" and e.address == a4}
                          >= set(names), 5, what="both instances after the restart")
    assert srv.proc.running() and r1.running()


def test_serve_started_before_the_daemon_warns_once_then_publishes(lab, serve, zb):
    """No avahi-daemon on c (D-Bus up): serve warns once (one line mentioning avahi), keeps serving, and
    publishes as soon as the daemon starts."""
    name = unique("late")
    type_ = f"_{name}._tcp"
    c4 = lab.ipv4("c")
    zc = zb(type_)
    lab.stop_avahi("c")
    assert not lab.avahi_running("c")
    srv = serve("c")
    register(lab, "c", srv, name, 8900, c4, id_="l1", extra=["--no-mdns"])
    time.sleep(3.0)   # long enough for any retry loop to warn again
    output = (srv.proc.stderr_text() + srv.proc.stdout_text()).splitlines()
    before = [l for l in output if re.search("avahi", l, re.I) and re.search(r"\bwarn(ing)?\b", l, re.I)]
    assert len(before) == 1, \
        f"expected exactly one warning mentioning avahi before the daemon starts, got {before}\nall: {output}"
    t_up = time.monotonic()
    lab.start_avahi("c")
    iname = instance_name(name, "l1")
    seen = zc.wait_event("added", iname, type_, timeout=10, since=t_up)
    assert seen - t_up <= 5.0, f"published {seen - t_up:.2f}s after the daemon started"
    zc.wait_resolved(iname, type_, lambda ev: ev["port"] == 8900 and c4 in ev["addresses"], timeout=5)
    after = [l for l in (srv.proc.stderr_text() + srv.proc.stdout_text()).splitlines()
             if re.search("avahi", l, re.I) and re.search(r"\bwarn(ing)?\b", l, re.I)]
    assert len(after) == 1, f"more avahi warnings after the daemon started: {after}"
    assert srv.proc.running()


def test_same_instance_name_on_two_hosts_is_renamed(lab, serve, zb):
    """register with the same --name and --id on a and on c: one keeps 'x', the other becomes 'x #2', and b
    resolves both to their own host and port."""
    name = unique("col")
    type_ = f"_{name}._tcp"
    zc = zb(type_)
    sa, sc = serve("a", "--no-mdns"), serve("c", "--no-mdns")
    ra = register(lab, "a", sa, name, 7001, lab.ipv4("a"), id_="x1")
    _, na, _ = wait_published(ra)
    rc = register(lab, "c", sc, name, 7002, lab.ipv4("c"), id_="x1")
    _, nc, _ = wait_published(rc, timeout=20)
    base = instance_name(name, "x1")
    assert na == base, ra.stdout_text()
    assert nc == f"{base} #2", rc.stdout_text()
    renamed = [RENAMED_RE.match(l) for l in rc.stdout_text().splitlines() if RENAMED_RE.match(l)]
    assert [(unquote(m.group(1)), unquote(m.group(2))) for m in renamed] == [(base, nc)], rc.stdout_text()
    want = {base: (lab.ipv4("a"), 7001, lab.avahi_host("a")), nc: (lab.ipv4("c"), 7002, lab.avahi_host("c"))}
    lab.wait_avahi_browse("b", type_, lambda es: all(any(e.name == n and e.address == a and e.port == p and e.host == h
                                                         for e in es) for n, (a, p, h) in want.items()),
                          10, what="both names, each with its own host and port")
    for n, (a, p, _) in want.items():
        zc.wait_resolved(n, type_, lambda ev, a=a, p=p: ev["port"] == p and a in ev["addresses"], timeout=10)
    assert ra.running() and rc.running()


def test_sigterm_stops_serve_register_and_publish_while_no_daemon_runs(lab, serve, zooreg):
    """With D-Bus up but no avahi-daemon, every LAN-publishing process still exits promptly on SIGTERM."""
    lab.stop_avahi("c")
    srv = serve("c")
    reg = register(lab, "c", srv, unique("nod"), 9200, lab.ipv4("c"), id_="n1")
    side = lab.spawn("c", [zooreg, "publish", "--server", srv.server], "publish-no-daemon")
    time.sleep(1.5)
    slow = []
    for p in (side, reg, srv.proc):
        assert p.running(), f"{p.label} exited without a daemon\n{p.describe()}"
        t0 = p.signal(15)
        try:
            code = p.popen.wait(3)
        except subprocess.TimeoutExpired:
            slow.append(p.label)
            p.kill9()
            continue
        assert code == 0, f"{p.label} exited {code} on SIGTERM\n{p.describe()}"
        assert time.monotonic() - t0 < 3
    assert not slow, f"still running 3 s after SIGTERM with no avahi-daemon (then SIGKILLed): {slow}"
