"""Publishing registry instances on the LAN: what host b sees of what host a publishes.

Observers on b: `avahi-browse -rpt` (avahi's own stack, b's daemon) and python-zeroconf (an independent stack).
With IPv6 on, avahi lists each service once per protocol: assertions look for the IPv4 row with a's address
and require every row to carry the right port and TXT.
"""

from __future__ import annotations

import hashlib
import json
import re
import time

from lanlab import (
    PUBLISHED_RE,
    WITHDRAWN_RE,
    instance_name,
    register,
    unique,
    unquote,
    wait_published,
)

TXT_REQUIRED = ("txtvers", "service", "id", "path", "health")


def expected_txt(service: str, id_: str, extra: dict) -> dict:
    return {"txtvers": "1", "service": service, "id": id_, "path": f"/services/{service}/{id_}",
            "health": "passing", **extra}


def rows_ok(entries, name, address, port, txt) -> bool:
    """Some IPv4 row for `name` with `address`, and every row of `name` with `port` and the TXT items."""
    rows = [e for e in entries if e.name == name]
    if not any(e.proto == "IPv4" and e.address == address for e in rows):
        return False
    return all(e.port == port and all(e.txt.get(k) == v for k, v in txt.items()) for e in rows)


def subtype_label(name: str) -> str:
    """The documented subtype label of a registry name that is not a service name (see DNSSDMapping): '_' +
    the lower-cased name with runs of other characters as '-', cut to 40, + '-' + 8 hex of SHA-256(name)."""
    readable = ""
    pending = False
    for ch in name.lower():
        if ch.isascii() and (ch.isdigit() or "a" <= ch <= "z"):
            if pending and readable:
                readable += "-"
            pending = False
            readable += ch
        else:
            pending = True
        if len(readable) >= 40:
            break
    h = hashlib.sha256(name.encode()).hexdigest()[:8]
    return "_" + (readable + "-" if readable else "") + h


def test_two_registered_instances_seen_on_b_by_avahi_and_zeroconf(lab, serve, zb):
    name = unique("web")
    type_ = f"_{name}._tcp"
    a4 = lab.ipv4("a")
    zc = zb(type_)
    srv = serve("a")
    payload = {"zone": "blue", "weight": 5, "canary": True, "nested": {"x": 1}}
    r1 = register(lab, "a", srv, name, 8081, a4, id_="i1", payload=payload, session_timeout="4s")
    r2 = register(lab, "a", srv, name, 8082, a4, id_="i2", payload=payload, session_timeout="4s")
    extra = {"zone": "blue", "weight": "5", "canary": "true"}
    for r, id_ in ((r1, "i1"), (r2, "i2")):
        _, pub_name, pub_type = wait_published(r)
        assert (pub_name, pub_type) == (instance_name(name, id_), type_), r.stdout_text()

    want = {instance_name(name, "i1"): (8081, expected_txt(name, "i1", extra)),
            instance_name(name, "i2"): (8082, expected_txt(name, "i2", extra))}
    entries = lab.wait_avahi_browse(
        "b", type_, lambda es: all(rows_ok(es, n, a4, p, t) for n, (p, t) in want.items()), 10,
        what="both instances with a's address, their ports and TXT")
    for e in entries:
        assert e.name in want, f"unexpected instance {e.name!r} under {type_}"
        assert e.host == lab.avahi_host("a") and "nested" not in e.txt
        assert e.address in (a4, lab.ipv6("a")) or e.address.startswith("fe80:"), e
    for n, (port, txt) in want.items():
        got = zc.wait_resolved(n, type_, lambda ev, p=port, t=txt: ev["port"] == p and a4 in ev["addresses"]
                               and all(ev["txt"].get(k) == v for k, v in t.items()), timeout=10)
        assert got["server"] == lab.avahi_host("a")


def test_serve_publishes_host_instances_registered_without_mdns(lab, serve, zb):
    """The publisher inside serve publishes an instance whose address is one of a's, not one on loopback."""
    name = unique("svc")
    type_ = f"_{name}._tcp"
    a4 = lab.ipv4("a")
    zc = zb(type_)
    srv = serve("a")
    register(lab, "a", srv, name, 9001, a4, id_="lan", extra=["--no-mdns"])
    lo = register(lab, "a", srv, name, 9002, "127.0.0.1", id_="loop", extra=["--no-mdns"])
    lab.wait_avahi_browse("b", type_, lambda es: rows_ok(es, instance_name(name, "lan"), a4, 9001,
                                                         expected_txt(name, "lan", {})), 10,
                          what="the instance registered with --no-mdns, published by serve")
    zc.wait_resolved(instance_name(name, "lan"), type_, lambda ev: ev["port"] == 9001, timeout=10)
    # The loopback instance is not published by anyone (its register said --no-mdns).
    entries = lab.avahi_browse_once("b", type_)
    assert instance_name(name, "loop") not in {e.name for e in entries}
    assert not zc.present(instance_name(name, "loop"), type_)
    assert PUBLISHED_RE.search(lo.stdout_text()) is None, "register --no-mdns published"


def test_publish_sidecar_publishes_and_withdraws(lab, serve, zooreg, zb):
    """`zooreg publish` next to a server started with --no-mdns: published/withdrawn lines, seen/gone on b."""
    name = unique("side")
    type_ = f"_{name}._tcp"
    a4 = lab.ipv4("a")
    zc = zb(type_)
    srv = serve("a", "--no-mdns")
    side = lab.spawn("a", [zooreg, "publish", "--server", srv.server], "publish-sidecar")
    inst = register(lab, "a", srv, name, 9100, a4, id_="s1", extra=["--no-mdns"], payload={"ver": "2"})
    iname = instance_name(name, "s1")
    _, line = side.wait_line(lambda l: l.startswith("published "), 15, what="a published line")
    m = re.match(r'^published "((?:[^"\\]|\\.)*)" (\S+) (\S+)$', line)
    assert m, f"published line not as documented: {line!r}"
    assert (unquote(m.group(1)), m.group(2), m.group(3)) == (iname, type_, f"/services/{name}/s1")
    lab.wait_avahi_browse("b", type_, lambda es: rows_ok(es, iname, a4, 9100,
                                                         expected_txt(name, "s1", {"ver": "2"})), 10,
                          what="the sidecar's instance")
    zc.wait_resolved(iname, type_, lambda ev: ev["port"] == 9100, timeout=10)
    t0 = inst.signal(15)
    inst.popen.wait(10)
    _, line = side.wait_line(lambda l: l.startswith("withdrawn "), 5, since=t0, what="a withdrawn line")
    assert line == f'withdrawn "{iname}" {type_} /services/{name}/s1', line
    gone = zc.wait_event("removed", iname, type_, timeout=5, since=t0)
    assert gone - t0 < 2.5, f"gone on b {gone - t0:.2f}s after the deregistration"
    assert side.running()


def test_registry_name_that_is_not_a_service_name_uses_the_umbrella_type(lab, serve, zooreg):
    """com.example.Billing -> _zooreg._tcp, subtype _<label>._sub._zooreg._tcp, TXT service=<name>."""
    a4 = lab.ipv4("a")
    srv = serve("a")
    svc = f"com.example.Billing{unique('', 4)}"
    long_name = f"billing-api-version-2-{unique('', 3)}"   # valid characters but longer than 15
    r1 = register(lab, "a", srv, svc, 8300, a4, id_="b1", payload={"tier": "gold"})
    r2 = register(lab, "a", srv, long_name, 8301, a4, id_="b2")
    for r, n, id_ in ((r1, svc, "b1"), (r2, long_name, "b2")):
        _, pub_name, pub_type = wait_published(r)
        assert (pub_name, pub_type) == (instance_name(n, id_), "_zooreg._tcp"), r.stdout_text()
    n1, n2 = instance_name(svc, "b1"), instance_name(long_name, "b2")
    lab.wait_avahi_browse("b", "_zooreg._tcp",
                          lambda es: rows_ok(es, n1, a4, 8300, expected_txt(svc, "b1", {"tier": "gold"}))
                          and rows_ok(es, n2, a4, 8301, expected_txt(long_name, "b2", {})), 10,
                          what="both umbrella-type instances with TXT service=<registry name>")
    for n, inst, port in ((svc, n1, 8300), (long_name, n2, 8301)):
        sub = f"{subtype_label(n)}._sub._zooreg._tcp"
        entries = lab.wait_avahi_browse("b", sub, lambda es, i=inst, p=port: rows_ok(es, i, a4, p, {"service": n}),
                                        10, what=f"the instance under its subtype {sub}")
        assert {e.name for e in entries} == {inst}, f"{sub} lists other instances: {entries}"
    # zooreg browse with the registry name finds it through the subtype.
    r = lab.run("b", zooreg, "browse", svc, "--resolve", "--json", "--timeout", "3s", timeout=20)
    assert r.returncode == 0, r.stderr
    events = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    hits = [e for e in events if e.get("name") == n1]
    assert hits and hits[0]["type"] == "_zooreg._tcp" and hits[0]["txt"].get("service") == svc, r.stdout
    assert all(e.get("name") == n1 for e in events), f"browse {svc!r} listed other services: {r.stdout}"


def test_dns_sd_type_override_publishes_under_that_type(lab, serve, zb):
    name = unique("ui")
    a4 = lab.ipv4("a")
    zc = zb("_http._tcp")
    srv = serve("a")
    r = register(lab, "a", srv, name, 8400, a4, id_="h1", extra=["--dns-sd-type", "_http._tcp"])
    _, pub_name, pub_type = wait_published(r)
    iname = instance_name(name, "h1")
    assert (pub_name, pub_type) == (iname, "_http._tcp"), r.stdout_text()
    lab.wait_avahi_browse("b", "_http._tcp", lambda es: rows_ok(es, iname, a4, 8400, expected_txt(name, "h1", {})),
                          10, what="the instance under _http._tcp")
    zc.wait_resolved(iname, "_http._tcp", lambda ev: ev["port"] == 8400 and ev["txt"].get("service") == name,
                     timeout=10)
    # and not under its own type
    assert iname not in {e.name for e in lab.avahi_browse_once("b", f"_{name}._tcp")}


def test_udp_service_publishes_under_udp(lab, serve, zb):
    name = unique("dns")
    a4 = lab.ipv4("a")
    zc = zb(f"_{name}._udp")
    srv = serve("a")
    r = register(lab, "a", srv, name, 5300, a4, id_="u1", extra=["--udp"])
    _, pub_name, pub_type = wait_published(r)
    iname = instance_name(name, "u1")
    assert (pub_name, pub_type) == (iname, f"_{name}._udp"), r.stdout_text()
    lab.wait_avahi_browse("b", f"_{name}._udp", lambda es: rows_ok(es, iname, a4, 5300, expected_txt(name, "u1", {})),
                          10, what="the instance under _udp")
    zc.wait_resolved(iname, f"_{name}._udp", lambda ev: ev["port"] == 5300, timeout=10)


def test_long_id_gives_short_instance_name(lab, serve):
    """Without --id the id is a UUID: the instance name carries its first 8 characters, TXT id the whole id."""
    name = unique("gen")
    a4 = lab.ipv4("a")
    srv = serve("a")
    r = register(lab, "a", srv, name, 8500, a4)
    _, pub_name, _ = wait_published(r)
    m = re.fullmatch(rf"{name} ([0-9a-fA-F-]{{8}})", pub_name)
    assert m, f"instance name {pub_name!r} is not '<service> <first 8 of the id>'"
    entries = lab.wait_avahi_browse("b", f"_{name}._tcp", lambda es: any(e.name == pub_name for e in es), 10,
                                    what=pub_name)
    ids = {e.txt.get("id") for e in entries if e.name == pub_name}
    assert len(ids) == 1 and next(iter(ids)).startswith(m.group(1)) and len(next(iter(ids))) > 16, ids


def test_withdrawn_line_and_goodbye_on_sigterm(lab, serve, zb):
    """SIGTERM deregisters and withdraws: a `withdrawn` line, and b sees it gone within 1.5 s (zeroconf)."""
    name = unique("bye")
    type_ = f"_{name}._tcp"
    zc = zb(type_)
    srv = serve("a", "--no-mdns")
    r = register(lab, "a", srv, name, 8600, lab.ipv4("a"), id_="w1")
    wait_published(r)
    iname = instance_name(name, "w1")
    zc.wait_event("added", iname, type_, timeout=10)
    t0 = r.signal(15)
    assert r.popen.wait(10) == 0, r.describe()
    gone = zc.wait_event("removed", iname, type_, timeout=5, since=t0)
    assert gone - t0 <= 1.5, f"gone on b {gone - t0:.2f}s after SIGTERM"
    assert any(WITHDRAWN_RE.match(l) and unquote(WITHDRAWN_RE.match(l).group(1)) == iname
               for l in r.stdout_text().splitlines()), r.stdout_text()


def test_zoo_cfg_mdns_keys_select_services_and_protocol(lab, serve, tmp_path):
    """zoo.cfg mdns.services limits what serve publishes; mdns.protocols=ipv4 publishes over IPv4 only."""
    on, off = unique("on"), unique("off")
    a4 = lab.ipv4("a")
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(f"mdns.enabled=true\nmdns.services={on}\nmdns.protocols=ipv4\n")
    srv = serve("a", "--config", str(cfg))
    register(lab, "a", srv, on, 9300, a4, id_="c1", extra=["--no-mdns"])
    register(lab, "a", srv, off, 9301, a4, id_="c2", extra=["--no-mdns"])
    entries = lab.wait_avahi_browse("b", f"_{on}._tcp", lambda es: rows_ok(es, instance_name(on, "c1"), a4, 9300,
                                                                          expected_txt(on, "c1", {})), 10,
                                    what="the service listed in mdns.services")
    time.sleep(1.0)
    entries = lab.avahi_browse_once("b", f"_{on}._tcp")
    assert {e.proto for e in entries} == {"IPv4"}, f"mdns.protocols=ipv4 but published on {entries}"
    assert lab.avahi_browse_once("b", f"_{off}._tcp") == [], "a service not in mdns.services was published"


def test_mdns_enabled_false_in_zoo_cfg_publishes_nothing(lab, serve, tmp_path):
    name = unique("dis")
    a4 = lab.ipv4("a")
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text("mdns.enabled=false\n")
    srv = serve("a", "--config", str(cfg))
    register(lab, "a", srv, name, 9302, a4, id_="d1", extra=["--no-mdns"])
    # control: an instance published by its own register on the same host shows up, so b is looking
    ctl = register(lab, "a", srv, name, 9303, a4, id_="ctl")
    wait_published(ctl)
    entries = lab.wait_avahi_browse("b", f"_{name}._tcp", lambda es: any(e.name == instance_name(name, "ctl")
                                                                          for e in es), 10, what="the control")
    time.sleep(1.5)
    entries = lab.avahi_browse_once("b", f"_{name}._tcp")
    assert instance_name(name, "d1") not in {e.name for e in entries}, "mdns.enabled=false but serve published"
    out = srv.proc.stderr_text()
    assert not re.search(r"\bwarn(ing)?\b.*avahi|avahi.*\bwarn(ing)?\b", out, re.I), \
        f"serve with mdns disabled still talks about avahi: {out}"


def test_unhealthy_instances_are_withdrawn_and_come_back(lab, serve, zb, tmp_path):
    """Health: an instance whose check starts critical is never published (by its register, nor by serve's
    publisher, which skips "enabled":false); it is published once the check passes and withdrawn again while
    the check fails."""
    name = unique("hc")
    a4 = lab.ipv4("a")
    flag = tmp_path / "healthy"
    zc = zb(f"_{name}._tcp")
    srv = serve("a")
    r = register(lab, "a", srv, name, 8500, a4, id_="c1",
                 extra=["--check", f"exec:test -f {flag}", "--check-interval", "300ms"])
    iname = instance_name(name, "c1")
    time.sleep(3)
    assert not any(PUBLISHED_RE.match(line) for line in r.stdout_text().splitlines()), r.stdout_text()
    assert iname not in {e.name for e in lab.avahi_browse_once("b", f"_{name}._tcp")}
    flag.write_text("ok")
    _, pub_name, _ = wait_published(r)
    assert pub_name == iname
    lab.wait_avahi_browse("b", f"_{name}._tcp", lambda es: rows_ok(es, iname, a4, 8500, expected_txt(name, "c1", {})),
                          10, what="the instance once healthy")
    flag.unlink()
    r.wait_line(lambda l: WITHDRAWN_RE.match(l) is not None, 10, what="a withdrawn line")
    zc.wait_event("removed", iname, f"_{name}._tcp", timeout=10)
