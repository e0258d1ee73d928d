"""kill -9 of a standalone zooreg under durable write load, as a loop (crashloop.py, history.py).

CI: 20 rounds (a safety stop after 80 s of rounds fails the test if fewer than 20 ran). --long: 300 rounds. --rounds N overrides.
"""

from __future__ import annotations

import random
import time
import uuid

from kazoo.client import KazooClient

from cluster import make_kazoo
from crashloop import Target, run_crash_loop, tamper_is_caught
from zkserver import HOST, IMPL_ZOOREG, Server

N_WRITERS = 8


class StandaloneTarget(Target):
    name = "standalone"

    def __init__(self, server: Server) -> None:
        self.server = server
        self.downtimes = []

    def writer_hosts(self, i: int) -> str:
        # The same host repeated: kazoo waits session_timeout/len(hosts) for a handshake answer.
        return ",".join([self.server.hosts] * 4)

    def doomed_endpoint(self, rng: random.Random):
        return HOST, self.server.port

    def check_hosts(self, rng: random.Random) -> str:
        return self.writer_hosts(0)

    def dump_endpoint(self, rng: random.Random):
        return HOST, self.server.port

    def make_client(self, hosts: str) -> KazooClient:
        return make_kazoo(hosts)

    def kill(self, rng: random.Random) -> str:
        self.server.kill()
        return "kill -9 of the server"

    def restart(self, rng: random.Random) -> None:
        # Sometimes back at once, sometimes after a pause (clients meet refused connections).
        down = rng.choice([0.0, 0.0, rng.uniform(0.05, 0.8)])
        self.downtimes.append(down)
        if down:
            time.sleep(down)
        self.server.start()


def test_kill9_loop_standalone(tmp_path, seed, long_mode, pytestconfig):
    rounds = pytestconfig.getoption("--rounds") or (300 if long_mode else 20)
    # Frequent snapshots, so that kills land before, during and after snapshots and log rolls.
    server = Server(IMPL_ZOOREG, tmp_path / "server", snapCount=300, maxClientCnxns=0).start()
    try:
        stats = run_crash_loop(StandaloneTarget(server), f"/crash-{uuid.uuid4().hex[:8]}", seed, rounds,
                               N_WRITERS, budget_s=None if long_mode else 80)
        # The live dump-and-check path is not vacuous: tampering behind its back is reported.
        not_caught = tamper_is_caught(stats, HOST, server.port)
        assert not not_caught, f"the checker missed: {not_caught}"
    finally:
        server.kill()
    print(f"standalone crash loop, seed {seed}: {stats.rounds} rounds, {stats.acked} acknowledged writes, "
          f"{stats.unknown} of unknown outcome, {stats.failed} failed as expected, lost 0; "
          f"{stats.doomed_expired} ephemerals of abandoned sessions expired; "
          f"writers back at most {stats.max_back_s:.2f}s after a kill; final tree {stats.nodes} nodes")
    assert stats.rounds >= min(rounds, 20), f"only {stats.rounds} rounds ran within the time budget"
