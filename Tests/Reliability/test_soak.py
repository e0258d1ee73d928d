"""Soak: 2,000 sessions, 100,000 znodes, 200,000 watches, with sessions closing, dropping (and expiring),
reattaching and watches firing, against a standalone zooreg (soak.py). CI: 30 s of churn; --long: 30 minutes
and a PNG of RSS, fds and the server's counts over time (in the report directory, .build/reliability by
default).

Asserted afterwards (bounds in soak.py, stated in README.md): RSS at the same load grows by at most
RSS_GROWTH_BOUND_KB; fds return to within FD_GROWTH_BOUND of the idle baseline; mntr's zk_watch_count and
zk_ephemerals_count return to 0 and zk_num_alive_connections to 1 (the mntr connection itself); wchs reports
0 watches and cons lists only its own connection.
"""

from __future__ import annotations

import asyncio
import resource

import soak
from soak import Sample, SoakResult, check_bounds
from zkserver import HOST, IMPL_ZOOREG, Server

SESSIONS = 2000
ZNODES = 100_000
WATCHES_PER_SESSION = 100


def _raise_nofile(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def test_soak(tmp_path, seed, long_mode, pytestconfig, report_dir):
    duration = pytestconfig.getoption("--soak-seconds") or (1800.0 if long_mode else 30.0)
    if long_mode:
        soak.MNTR_EVERY_S = 60.0  # counts in the plot; each mntr stalls the server (README.md, "Findings")
    _raise_nofile(8192)  # 2,000 client sockets here; the server inherits the limit
    server = Server(IMPL_ZOOREG, tmp_path / "server", maxClientCnxns=0, maxSessionTimeout=30000,
                    globalOutstandingLimit=100000).start()
    try:
        res = asyncio.run(soak.run_soak(HOST, server.port, server.proc.pid, seed, duration, SESSIONS, ZNODES,
                                        WATCHES_PER_SESSION))
        assert server.running(), "the server died during the soak\n" + server.log_tail()
    finally:
        server.kill()
    csv = report_dir / ("soak-long.csv" if long_mode else "soak.csv")
    soak.write_csv(res, csv)
    m = res.marks
    print(f"soak ({duration:.0f}s of churn, seed {seed}): {res.counts}")
    print(f"RSS MiB: idle {m['idle-0'].rss_kb / 1024:.1f}, loaded {m['loaded-0'].rss_kb / 1024:.1f} -> "
          f"{m['loaded-1'].rss_kb / 1024:.1f} after churn (growth {(m['loaded-1'].rss_kb - m['loaded-0'].rss_kb) / 1024:+.1f}, "
          f"bound {soak.RSS_GROWTH_BOUND_KB / 1024:.0f}), idle after {m['idle-1'].rss_kb / 1024:.1f}; "
          f"fds: idle {m['idle-0'].fds} -> {m['idle-1'].fds}, loaded {m['loaded-0'].fds} -> {m['loaded-1'].fds}; "
          f"counts back to zero {res.zero_after_s:.1f}s after the drain; mntr answered in "
          + ", ".join(f"{k} {v:.2f}s" for k, v in res.mntr_s.items())
          + f"; load generator's worst loop lag {res.max_loop_lag_s:.2f}s; samples in {csv}")
    if long_mode:
        png = report_dir / "soak-long.png"
        soak.plot(res, png, f"zooreg soak: {SESSIONS} sessions, {ZNODES} znodes, "
                  f"{SESSIONS * WATCHES_PER_SESSION} watches, {duration / 60:.0f} min churn (seed {seed})")
        print(f"plot: {png}")
    problems = check_bounds(res, SESSIONS, SESSIONS * WATCHES_PER_SESSION)
    assert not problems, "\n".join(problems)
    assert res.counts["close"] > 0 and res.counts["drop"] > 0 and res.counts["reattach"] > 0 and res.counts["events"] > 0


# ---------------------------------------------------------------- the bounds check can fail


def _res(**over) -> SoakResult:
    base = {"idle-0": Sample(0, "idle-0", 100_000, 30, 0, 0, 0, 1),
            "loaded-0": Sample(1, "loaded-0", 300_000, 2030, 2000, 200_000, 2000, 2001),
            "loaded-1": Sample(2, "loaded-1", 310_000, 2032, 2000, 199_800, 2000, 2001),
            "idle-1": Sample(3, "idle-1", 305_000, 31, 0, 0, 0, 1)}
    base.update(over)
    r = SoakResult(samples=list(base.values()), marks=base, counts={"zero": 1, "drop": 50},
                   final_text={"wchs": "0 connections watching 0 paths\nTotal watches:0\n", "cons": "  /127.0.0.1:5[0](queued=0)\n\n"})
    return r


def test_soak_bounds_accept_a_clean_run():
    assert check_bounds(_res(), 2000, 200_000) == []


def test_soak_bounds_catch_leaks():
    leak = soak.RSS_GROWTH_BOUND_KB + 1024
    assert check_bounds(_res(**{"loaded-1": Sample(2, "loaded-1", 300_000 + leak, 2032, 2000, 200_000, 2000, 2001)}), 2000, 200_000)
    assert check_bounds(_res(**{"idle-1": Sample(3, "idle-1", 300_000 + leak, 31, 0, 0, 0, 1)}), 2000, 200_000)
    assert check_bounds(_res(**{"idle-1": Sample(3, "idle-1", 305_000, 30 + soak.FD_GROWTH_BOUND + 1, 0, 0, 0, 1)}), 2000, 200_000)
    assert check_bounds(_res(**{"idle-1": Sample(3, "idle-1", 305_000, 31, 0, 5, 0, 1)}), 2000, 200_000)   # watches left
    assert check_bounds(_res(**{"idle-1": Sample(3, "idle-1", 305_000, 31, 0, 0, 3, 1)}), 2000, 200_000)   # ephemerals left
    assert check_bounds(_res(**{"idle-1": Sample(3, "idle-1", 305_000, 31, 0, 0, 0, 4)}), 2000, 200_000)   # connections left
    assert check_bounds(_res(**{"loaded-0": Sample(1, "loaded-0", 300_000, 2030, 2000, 20_000, 2000, 2001)}), 2000, 200_000)  # load not reached
    assert check_bounds(_res(**{"loaded-1": Sample(2, "loaded-1", 310_000, 2032, 2000, 200_000, 1990, 2001)}), 2000, 200_000)  # live ephemerals lost
    assert check_bounds(_res(**{"loaded-1": Sample(2, "loaded-1", 310_000, 2032, 2000, 200_000, 2051, 2001)}), 2000, 200_000)  # more than drops explain
    r = _res()
    r.final_text["wchs"] = "1 connections watching 3 paths\nTotal watches:3\n"
    assert check_bounds(r, 2000, 200_000)
    r = _res()
    r.final_text["cons"] = " /127.0.0.1:5[0](queued=0)\n /127.0.0.1:6[1](queued=0)\n"
    assert check_bounds(r, 2000, 200_000)
    r = _res()
    r.counts["zero"] = 0
    assert check_bounds(r, 2000, 200_000)
    r = _res()
    r.server_closed = ["session 0x1 (timeout 8000 ms, last ping 0.5s ago) closed by the server at 40.0s"]
    assert check_bounds(r, 2000, 200_000)
