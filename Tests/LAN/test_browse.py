"""`zooreg browse` on b against services that python-zeroconf publishes on a (no avahi on the publishing side)."""

from __future__ import annotations

import json
import time

from lanlab import ZC_HELPER, unique, venv_python


def zc_register(lab, host, type_, name, port, txt, server="zc-a.local"):
    argv = [venv_python(), "-u", ZC_HELPER, "register", "--type", type_, "--name", name, "--port", port,
            "--address", lab.ipv4(host), "--server", server]
    for k, v in txt.items():
        argv += ["--txt", f"{k}={v}" if v is not None else k]
    p = lab.spawn(host, argv, f"zc-register-{name}")
    p.wait_line(lambda l: '"registered"' in l, 15, what="zeroconf registered")
    return p


def json_lines(text):
    out = []
    for line in text.splitlines():
        if line.strip():
            out.append(json.loads(line))   # every stdout line of --json is a JSON object
    return out


def test_browse_resolve_json_sees_a_zeroconf_service(lab, zooreg):
    st = unique("zc")
    type_ = f"_{st}._tcp"
    txt = {"k1": "v1", "path": "/x/y", "empty": "", "flag": None, "sp": "a b=c"}
    zc_register(lab, "a", type_, "zc inst", 9099, txt)
    deadline = time.monotonic() + 10
    while True:
        r = lab.run("b", zooreg, "browse", type_, "--resolve", "--json", "--timeout", "3s", timeout=20)
        assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
        events = json_lines(r.stdout)
        hits = [e for e in events if e.get("name") == "zc inst"]
        if hits or time.monotonic() > deadline:
            break
    assert len(hits) == 1, f"expected one aggregated event for 'zc inst' (both protocols merged): {r.stdout}"
    e = hits[0]
    assert e["type"] == type_ and e["domain"] == "local", e
    assert e["host"] == "zc-a.local" and e["port"] == 9099, e
    assert lab.ipv4("a") in e["addresses"], e
    assert {k: e["txt"].get(k) for k in ("k1", "path", "empty", "sp")} == \
        {"k1": "v1", "path": "/x/y", "empty": "", "sp": "a b=c"}, e["txt"]
    assert "flag" in e["txt"], f"a boolean TXT attribute (no '=') is missing: {e['txt']}"
    assert e.get("event") == "added", f'the documented JSON line has "event":"added": {e}'


def test_browse_without_resolve_and_type_listing(lab, zooreg):
    st = unique("zt")
    type_ = f"_{st}._tcp"
    zc_register(lab, "a", type_, "plain", 9100, {"a": "1"})
    r = lab.run("b", zooreg, "browse", type_, "--json", "--timeout", "3s", timeout=20)
    assert r.returncode == 0, r.stderr
    hits = [e for e in json_lines(r.stdout) if e.get("name") == "plain"]
    assert len(hits) == 1 and hits[0]["type"] == type_ and hits[0]["domain"] == "local", r.stdout
    assert "port" not in hits[0] and "txt" not in hits[0], f"unresolved browse carries resolved fields: {hits[0]}"
    r2 = lab.run("b", zooreg, "browse", "--json", "--timeout", "3s", timeout=20)
    assert r2.returncode == 0, r2.stderr
    types = [e for e in json_lines(r2.stdout) if e.get("type") == type_]
    assert len(types) == 1 and types[0].get("domain") == "local", r2.stdout
    assert hits[0].get("event") == "added", f'the documented service line has "event":"added": {hits[0]}'
    assert types == [{"event": "added", "type": type_, "domain": "local"}], \
        f"the documented type line is {{event, type, domain}}: {types}"


def test_browse_watch_reports_added_and_removed(lab, zooreg):
    st = unique("zw")
    type_ = f"_{st}._tcp"
    w = lab.spawn("b", [zooreg, "browse", type_, "--watch", "--json"], "browse-watch")
    time.sleep(1.0)
    p = zc_register(lab, "a", type_, "watched", 9101, {"v": "1"})
    w.wait_line(lambda l: l.startswith("{") and json.loads(l).get("event") == "added"
                and json.loads(l).get("name") == "watched", 10, what="an added event")
    t0 = time.monotonic()
    assert p.stop(5) == 0, p.describe()   # zeroconf unregisters: goodbye packets
    t, _ = w.wait_line(lambda l: l.startswith("{") and json.loads(l).get("event") == "removed"
                       and json.loads(l).get("name") == "watched", 5, since=t0, what="a removed event")
    assert t - t0 < 3.0
    assert w.running()
    assert all(json.loads(l)["name"] == "watched" for _, l in w.lines if l.startswith("{")), w.stdout_text()


def test_browse_exits_4_without_a_daemon(lab, zooreg):
    lab.stop_avahi("c")
    r = lab.run("c", zooreg, "browse", "--timeout", "1s", timeout=30)
    assert r.returncode == 4, (r.returncode, r.stdout, r.stderr)


def test_resolve_answers_dns_sd_names_from_mdns(lab, zooreg):
    """`zooreg resolve` (the library's Resolver with MDNSLookup) answers a DNS-SD instance name and a type from
    mDNS, says so ("source":"mdns"), and needs no reachable registry for it."""
    st = unique("zr")
    type_ = f"_{st}._tcp"
    zc_register(lab, "a", type_, "Office Printer", 9101, {"service": "printers", "id": "p1", "k": "v"})
    nowhere = "127.0.0.1:1"  # no ZooKeeper there: the answer comes from the LAN alone
    deadline = time.monotonic() + 10
    while True:
        r = lab.run("b", zooreg, "resolve", f"Office Printer.{type_}.local", "--json", "--server", nowhere, timeout=20)
        if r.returncode == 0 or time.monotonic() > deadline:
            break
    assert r.returncode == 0, f"exit {r.returncode}: {r.stdout} {r.stderr}"
    doc = json.loads(r.stdout.splitlines()[-1])
    assert doc["source"] == "mdns", doc
    [instance] = doc["instances"]
    assert instance["name"] == "printers" and instance["id"] == "p1", instance
    assert instance["address"] == lab.ipv4("a") and instance["port"] == 9101, instance
    assert instance["payload"]["k"] == "v", instance
    # A type lists every instance of it; an unknown instance exits 3 (no instances).
    r2 = lab.run("b", zooreg, "resolve", type_, "--server", nowhere, timeout=20)
    assert r2.returncode == 0 and f"{lab.ipv4('a')}:9101\tp1" in r2.stdout, (r2.stdout, r2.stderr)
    r3 = lab.run("b", zooreg, "resolve", f"Nobody.{type_}.local", "--server", nowhere, timeout=20)
    assert r3.returncode == 3, (r3.returncode, r3.stdout, r3.stderr)
