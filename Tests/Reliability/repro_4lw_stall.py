"""Reproduction of a finding of the soak (README.md, "Findings"): with 2,000 sessions and 200,000 watches, one
four-letter word stalls zooreg for seconds, and sessions that kept pinging expire.

    ZOOREG_BIN=.build/debug/zooreg .venv/bin/python Tests/Reliability/repro_4lw_stall.py [timeout_ms] [word...]

Defaults: 3000 ms sessions, words srvr mntr wchs cons. Prints how long each word took and how many pinging
sessions the server closed; exits 1 if any was. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "Interop")]

import soak  # noqa: E402
from zkserver import HOST, IMPL_ZOOREG, Server  # noqa: E402


async def main(port: int, pid: int, timeout_ms: int, words) -> int:
    soak.SESSION_TIMEOUTS_MS = (timeout_ms,)
    s = soak.Soak(HOST, port, pid, seed=1)
    await s.populate()
    await s.connect_all()
    await asyncio.sleep(2 * timeout_ms / 1000)
    print(f"2000 sessions ({timeout_ms} ms), 200000 watches; idle for {2 * timeout_ms / 1000:.0f}s: "
          f"{len(s.server_closed)} closed by the server")
    for w in words:
        t = time.monotonic()
        await soak.four_letter(HOST, port, w)
        took = time.monotonic() - t
        await asyncio.sleep(timeout_ms / 1000 + 1)
        print(f"{w}: answered in {took:.2f}s; pinging sessions closed by the server so far: {len(s.server_closed)}")
    return 1 if s.server_closed else 0


if __name__ == "__main__":
    timeout_ms = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    words = sys.argv[2:] or ["srvr", "mntr", "wchs", "cons"]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))
    srv = Server(IMPL_ZOOREG, Path(tempfile.mkdtemp(prefix="zooreg-4lw-")), maxClientCnxns=0).start()
    try:
        sys.exit(asyncio.run(main(srv.port, srv.proc.pid, timeout_ms, words)))
    finally:
        srv.kill()
