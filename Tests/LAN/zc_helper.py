"""python-zeroconf on one simulated host: an mDNS stack independent of avahi, used as an observer and a publisher.

Run INSIDE a lab host's network namespace (zeroconf binds UDP 5353 there), e.g.
    Scripts/mdns-lab.sh exec b .venv/bin/python Tests/LAN/zc_helper.py browse _x._tcp _y._tcp
    Scripts/mdns-lab.sh exec a .venv/bin/python Tests/LAN/zc_helper.py register --type _x._tcp --name inst \
        --port 9000 --address 169.254.77.1 --txt k=v
Prints one JSON object per line on stdout, each with "t" (time.monotonic(), which is system-wide, so the test
process can compare it with its own clock) and "ev":
  browse:   {"ev":"ready"}, then {"ev":"added"|"removed"|"updated","type":..,"name":<instance>} as the browser
            reports them (zeroconf may report "added" twice), and after each added/updated, once resolved,
            {"ev":"resolved","type","name","server","port","addresses":[..],"txt":{..}}.
  register: {"ev":"registered","name":..} once probing and announcing are done; on SIGTERM/SIGINT it
            unregisters (goodbye packets) and prints {"ev":"unregistered"} before exiting.
Runs until SIGTERM/SIGINT, or until stdin reaches EOF when --stdin-eof is given.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time

from zeroconf import (
    InterfaceChoice,
    IPVersion,
    ServiceBrowser,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
)

_out_lock = threading.Lock()


def emit(ev: str, **fields) -> None:
    line = json.dumps({"t": time.monotonic(), "ev": ev, **fields}, sort_keys=True)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def instance_of(name: str, type_: str) -> str:
    """'My inst._x._tcp.local.' -> 'My inst'."""
    suffix = "." + type_
    return name[: -len(suffix)] if name.endswith(suffix) else name


def full_type(t: str) -> str:
    t = t.rstrip(".")
    return t + ".local." if not t.endswith(".local") else t + "."


def decode_txt(props: dict) -> dict:
    out = {}
    for k, v in (props or {}).items():
        key = k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)
        if v is None:
            out[key] = None
        else:
            out[key] = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    return out


def make_zeroconf(args) -> Zeroconf:
    ipv = {"4": IPVersion.V4Only, "6": IPVersion.V6Only, "all": IPVersion.All}[args.ip_version]
    ifaces = InterfaceChoice.All if not args.interface else args.interface
    return Zeroconf(interfaces=ifaces, ip_version=ipv)


_stop = threading.Event()


def install_stop_handlers() -> None:
    """Before anything else: a SIGTERM that arrives right after "registered" must still unregister."""
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: _stop.set())


def wait_for_stop(args) -> None:
    if args.stdin_eof:
        threading.Thread(target=lambda: (sys.stdin.read(), _stop.set()), daemon=True).start()
    while not _stop.wait(0.2):
        pass


def cmd_browse(args) -> int:
    zc = make_zeroconf(args)
    types = [full_type(t) for t in args.types]

    def resolve(type_: str, name: str) -> None:
        try:
            info = zc.get_service_info(type_, name, timeout=int(args.resolve_timeout * 1000))
        except Exception as e:  # noqa: BLE001 - reported, the browser goes on
            emit("resolve-error", type=type_.removesuffix(".local."), name=instance_of(name, type_), error=str(e))
            return
        if info is None:
            emit("resolve-failed", type=type_.removesuffix(".local."), name=instance_of(name, type_))
            return
        emit("resolved", type=type_.removesuffix(".local."), name=instance_of(name, type_),
             server=(info.server or "").rstrip("."), port=info.port,
             addresses=sorted(info.parsed_scoped_addresses()), txt=decode_txt(info.properties))

    def handler(zeroconf, service_type, name, state_change) -> None:  # noqa: ARG001 - zeroconf's signature
        ev = {ServiceStateChange.Added: "added", ServiceStateChange.Removed: "removed",
              ServiceStateChange.Updated: "updated"}[state_change]
        emit(ev, type=service_type.removesuffix(".local."), name=instance_of(name, service_type))
        if ev != "removed" and not args.no_resolve:
            threading.Thread(target=resolve, args=(service_type, name), daemon=True).start()

    browser = ServiceBrowser(zc, types, handlers=[handler])
    emit("ready", types=[t.removesuffix(".local.") for t in types])
    try:
        wait_for_stop(args)
    finally:
        browser.cancel()
        zc.close()
    return 0


def cmd_register(args) -> int:
    zc = make_zeroconf(args)
    type_ = full_type(args.type)
    props = {}
    for item in args.txt:
        k, sep, v = item.partition("=")
        props[k] = v if sep else None
    info = ServiceInfo(type_, f"{args.name}.{type_}", port=args.port, properties=props,
                       server=full_type(args.server) if args.server else None,
                       parsed_addresses=args.address)
    try:
        zc.register_service(info, allow_name_change=args.allow_name_change)
    except Exception as e:  # noqa: BLE001
        emit("register-failed", error=f"{type(e).__name__}: {e}")
        zc.close()
        return 1
    emit("registered", name=instance_of(info.name, type_), type=type_.removesuffix(".local."))
    try:
        wait_for_stop(args)
    finally:
        zc.unregister_service(info)
        emit("unregistered", name=instance_of(info.name, type_))
        zc.close()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ip-version", choices=["4", "6", "all"], default="4")
    ap.add_argument("--interface", action="append", help="an interface address to use (repeatable); default all")
    ap.add_argument("--stdin-eof", action="store_true", help="also stop when stdin is closed")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("browse")
    b.add_argument("types", nargs="+")
    b.add_argument("--no-resolve", action="store_true")
    b.add_argument("--resolve-timeout", type=float, default=3.0)
    r = sub.add_parser("register")
    r.add_argument("--type", required=True)
    r.add_argument("--name", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--address", action="append", required=True)
    r.add_argument("--server", help="host name, e.g. zc-a.local")
    r.add_argument("--txt", action="append", default=[], help="key=value (repeatable)")
    r.add_argument("--allow-name-change", action="store_true")
    args = ap.parse_args()
    install_stop_handlers()
    return cmd_browse(args) if args.cmd == "browse" else cmd_register(args)


if __name__ == "__main__":
    sys.exit(main())
