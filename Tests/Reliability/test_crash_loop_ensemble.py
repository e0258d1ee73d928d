"""The crash loop against the zooreg ensemble: 3 zooreg replicas over 3 etcd members, started by the ensemble
suite's harness (Tests/Ensemble/cluster.py, imported). Each round kills, at random: a replica, the etcd leader,
an etcd follower, or a replica and an etcd member together (a quorum of each stays). After the last round the
three replicas' trees (under the test's root) must be identical.

CI: as many rounds as fit in ~40 s (at least 6). --long: 100 rounds. --ensemble-rounds N overrides.
"""

from __future__ import annotations

import random
import uuid

import pytest
from kazoo.client import KazooClient

from cluster import ZOOREG_SUITE_SETTINGS, EnsembleError, ZooregEnsemble, make_kazoo
from crashloop import Target, run_crash_loop, tamper_is_caught
from etcd import etcd_available
from procs import HOST

N_WRITERS = 6


class EnsembleTarget(Target):
    name = "ensemble"

    def __init__(self, ens: ZooregEnsemble) -> None:
        self.ens = ens
        self.killed_replicas = []
        self.killed_etcd = []

    def writer_hosts(self, i: int) -> str:
        return self.ens.client_hosts(self.ens.ids[i % len(self.ens.ids)])

    def doomed_endpoint(self, rng: random.Random):
        i = rng.choice(self.ens.ids)
        return HOST, self.ens.replicas[i].client_port

    def check_hosts(self, rng: random.Random) -> str:
        return self.ens.client_hosts(rng.choice(self.ens.ids))

    def dump_endpoint(self, rng: random.Random):
        i = rng.choice(self.ens.ids)  # all are running again; a different replica each round
        return HOST, self.ens.replicas[i].client_port

    def make_client(self, hosts: str) -> KazooClient:
        return make_kazoo(hosts)

    def kill(self, rng: random.Random) -> str:
        kind = rng.choice(["replica", "replica", "etcd-leader", "etcd-member", "both"])
        what = []
        if kind in ("replica", "both"):
            i = rng.choice(self.ens.ids)
            self.ens.kill(i)
            self.killed_replicas.append(i)
            what.append(f"replica {i}")
        if kind == "etcd-leader":
            idx = self.ens.kill_etcd_leader()
            self.killed_etcd.append(idx)
            what.append(f"etcd leader e{idx + 1}")
        elif kind in ("etcd-member", "both"):
            idx = rng.randrange(len(self.ens.etcd.members))
            self.ens.etcd.kill(idx)
            self.ens.note(f"kill -9 etcd e{idx + 1}")
            self.killed_etcd.append(idx)
            what.append(f"etcd member e{idx + 1}")
        return "kill -9 of " + " and ".join(what)

    def restart(self, rng: random.Random) -> None:
        while self.killed_etcd:
            self.ens.restart_etcd(self.killed_etcd.pop())
        while self.killed_replicas:
            self.ens.start_replica(self.killed_replicas.pop())

    def final_checks(self, root: str):
        try:
            self.ens.wait_identical(timeout=30, root=root)
        except AssertionError as e:
            return [str(e)]
        return self.ens.crashed()


def test_kill9_loop_ensemble(tmp_path, seed, long_mode, pytestconfig):
    if etcd_available():
        pytest.skip(etcd_available())
    rounds = pytestconfig.getoption("--ensemble-rounds") or (100 if long_mode else 40)
    try:
        ens = ZooregEnsemble(tmp_path / "ensemble", extra_settings=ZOOREG_SUITE_SETTINGS)
    except EnsembleError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        ens.start()
        stats = run_crash_loop(EnsembleTarget(ens), f"/crash-{uuid.uuid4().hex[:8]}", seed, rounds, N_WRITERS,
                               budget_s=None if long_mode else 40)
        crashed = ens.crashed()
        assert not crashed, "\n".join(crashed)
        # The live dump-and-check path is not vacuous: tampering behind its back is reported.
        not_caught = tamper_is_caught(stats, HOST, ens.replicas[ens.ids[0]].client_port)
        assert not not_caught, f"the checker missed: {not_caught}"
    except BaseException:
        print(ens.log_tails(30))
        raise
    finally:
        ens.stop()
    print(f"ensemble crash loop, seed {seed}: {stats.rounds} rounds ({', '.join(sorted(set(k[11:] for k in stats.kills)))}), "
          f"{stats.acked} acknowledged writes, {stats.unknown} of unknown outcome, lost 0; "
          f"{stats.doomed_expired} ephemerals of abandoned sessions expired; "
          f"writers back at most {stats.max_back_s:.2f}s after a kill; 3 identical trees of {stats.nodes} nodes")
    assert stats.rounds >= min(rounds, 6), f"only {stats.rounds} rounds ran within the time budget"
