"""A small TCP proxy whose routes a test can cut and heal: the network partition of the ensemble suite.

Each zooreg replica reaches the etcd members only through its own proxy process, one route per member
(127.0.0.1:listen -> 127.0.0.1:target). Cutting all routes of a replica partitions that replica from etcd
while the replica itself keeps running and keeps serving its clients' TCP connections.

Two kinds of cut:
  reset      every open connection is reset (RST, both sides) and the listening socket is closed, so new
             connections are refused: the replica notices at once.
  blackhole  connections stay open but no byte is forwarded in either direction and new connections are
             accepted but never connected upstream: the replica only notices through its own timeouts or
             keepalives (a silent partition). On heal, the held data flows again.

Run as a process (what the harness does; it keeps the proxy's threads off the test process's GIL):
    python tcpproxy.py LISTEN:TARGET [LISTEN:TARGET ...]
It prints "ready" once every route listens, then reads commands from stdin, one per line, and answers each
with one line ("ok ..." or "error ..."):
    cut ROUTE|all reset|blackhole
    heal ROUTE|all
    stats                       -> "ok {json}" with per-route mode, open connections, accepted, bytes
    quit
ROUTE is the 0-based index of a route on the command line. It exits on "quit" or when stdin closes.

Written for this project; asyncio only, no third-party code.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
import threading
from typing import List, Optional, Set

HOST = "127.0.0.1"
CHUNK = 65536


def _reset(writer: Optional[asyncio.StreamWriter]) -> None:
    """Closes the connection with a RST (SO_LINGER 0), not a FIN."""
    if writer is None:
        return
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


class _Conn:
    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: Optional[asyncio.StreamWriter] = None
        self.task: Optional[asyncio.Task] = None

    def reset(self) -> None:
        _reset(self.client)
        _reset(self.upstream)
        if self.task is not None:
            self.task.cancel()


class Route:
    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.mode = "open"
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server: Optional[asyncio.base_events.Server] = None
        self.conns: Set[_Conn] = set()
        self.accepted = 0
        self.bytes = 0

    async def listen(self) -> None:
        self.server = await asyncio.start_server(self._handle, HOST, self.listen_port, reuse_address=True)

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        if self.mode == "reset":
            _reset(cwriter)
            return
        self.accepted += 1
        conn = _Conn(cwriter)
        conn.task = asyncio.current_task()
        self.conns.add(conn)
        try:
            await self.flowing.wait()  # a blackholed route holds new connections here
            if self.mode == "reset":
                conn.reset()
                return
            ureader, uwriter = await asyncio.open_connection(HOST, self.target_port)
            conn.upstream = uwriter
            up = asyncio.ensure_future(self._pump(creader, uwriter))
            down = asyncio.ensure_future(self._pump(ureader, cwriter))
            try:
                await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
            finally:
                up.cancel()
                down.cancel()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self.conns.discard(conn)
            for w in (cwriter, conn.upstream):
                if w is not None and not w.is_closing():
                    w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    return
                await self.flowing.wait()  # a blackholed route holds data here
                writer.write(data)
                self.bytes += len(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            return

    async def cut(self, mode: str) -> None:
        if mode not in ("reset", "blackhole"):
            raise ValueError(f"unknown cut mode {mode!r}")
        if mode == "reset":
            self.mode = "reset"
            self.flowing.set()  # nothing may wait forever on a reset route
            if self.server is not None:
                self.server.close()  # closes the listening socket now: new connections are refused
                self.server = None
            for conn in list(self.conns):
                conn.reset()
            self.conns.clear()
        else:
            self.mode = "blackhole"
            self.flowing.clear()
            if self.server is None:
                await self.listen()

    async def heal(self) -> None:
        self.mode = "open"
        self.flowing.set()
        if self.server is None:
            await self.listen()

    def stats(self) -> dict:
        return {"listen": self.listen_port, "target": self.target_port, "mode": self.mode,
                "open": len(self.conns), "accepted": self.accepted, "bytes": self.bytes}


class Proxy:
    def __init__(self, routes: List[Route]) -> None:
        self.routes = routes

    def _select(self, which: str) -> List[Route]:
        if which == "all":
            return list(self.routes)
        return [self.routes[int(which)]]

    async def command(self, line: str) -> str:
        parts = line.split()
        if not parts:
            return "error empty command"
        try:
            if parts[0] == "cut" and len(parts) == 3:
                for r in self._select(parts[1]):
                    await r.cut(parts[2])
                return "ok"
            if parts[0] == "heal" and len(parts) == 2:
                for r in self._select(parts[1]):
                    await r.heal()
                return "ok"
            if parts[0] == "stats":
                return "ok " + json.dumps([r.stats() for r in self.routes])
        except (ValueError, IndexError, OSError) as e:
            return f"error {e}"
        return f"error unknown command {line!r}"


def _parse_routes(args: List[str]) -> List[Route]:
    routes = []
    for a in args:
        listen, target = a.split(":")
        routes.append(Route(int(listen), int(target)))
    return routes


async def _main(args: List[str]) -> None:
    proxy = Proxy(_parse_routes(args))
    for r in proxy.routes:
        await r.listen()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def read_stdin() -> None:
        for line in sys.stdin:
            line = line.strip()
            if line == "quit":
                break
            reply = asyncio.run_coroutine_threadsafe(proxy.command(line), loop).result()
            sys.stdout.write(reply + "\n")
            sys.stdout.flush()
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=read_stdin, daemon=True).start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await done.wait()
    for r in proxy.routes:
        await r.cut("reset")
    sys.stdout.write("ok bye\n")
    sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    asyncio.run(_main(sys.argv[1:]))
