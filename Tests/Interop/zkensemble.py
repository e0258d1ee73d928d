"""The replicated implementations of the interop suite: `zooreg-ensemble` (3 etcd members + 3 `zooreg serve`
replicas) and `zookeeper-ensemble` (3 Apache ZooKeeper QuorumPeerMain processes).

The ensembles themselves are Tests/Ensemble/cluster.py's (imported, not copied). This module only

- adds the zoo.cfg settings the interop tests rely on and cluster.py does not write (super digest, extended
  types for TTL nodes, a fast container reaper; the same values as zkserver.Server's), and
- wraps an ensemble in `EnsembleServer`, which offers the part of zkserver.Server's interface the tests use on
  the shared `server` fixture: `hosts` is the 3-host connect string (127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3);
  `host`/`port`/`four_letter_word` are replica 1's (raw sockets and four-letter words go to replica 1).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

ENSEMBLE_DIR = Path(__file__).resolve().parents[1] / "Ensemble"
if str(ENSEMBLE_DIR) not in sys.path:
    sys.path.append(str(ENSEMBLE_DIR))

import cluster  # noqa: E402  (Tests/Ensemble/cluster.py)
from procs import ManagedProcess  # noqa: E402  (Tests/Ensemble/procs.py)

from zkraw import four_letter_word  # noqa: E402
from zkserver import (CONTAINER_CHECK_INTERVAL_MS, HOST, IMPL_ZOOKEEPER_ENSEMBLE, IMPL_ZOOREG_ENSEMBLE,  # noqa: E402
                      JVM_ONLY_KEYS, SUPER_PASSWORD, SUPER_USER, TICK_MS, digest)

# Settings of zkserver.Server that the shared-server tests depend on and cluster.py does not write. tickTime,
# min/maxSessionTimeout and 4lw.commands.whitelist are the same in both already (cluster.py checks it).
INTEROP_SETTINGS = {
    "DigestAuthenticationProvider.superDigest": digest(SUPER_USER, SUPER_PASSWORD),
    "extendedTypesEnabled": "true",
    "znode.container.checkIntervalMs": CONTAINER_CHECK_INTERVAL_MS,
}
assert cluster.TICK_MS == TICK_MS


def _append_settings(cfg_path: Path) -> None:
    """Appends INTEROP_SETTINGS to a zoo.cfg written by cluster.py (keys it already has are left alone)."""
    text = cfg_path.read_text()
    present = {line.split("=", 1)[0].strip() for line in text.splitlines() if "=" in line}
    extra = [f"{k}={v}" for k, v in INTEROP_SETTINGS.items() if k not in present]
    if extra:
        cfg_path.write_text(text + "# added by Tests/Interop/zkensemble.py\n" + "\n".join(extra) + "\n")


class InteropZooKeeperEnsemble(cluster.ZooKeeperEnsemble):
    def _write_config(self, r) -> None:
        super()._write_config(r)
        _append_settings(r.cfg_path)

    def _make_process(self, r) -> ManagedProcess:
        # ZooKeeper reads some settings only as JVM system properties (zkserver.JVM_ONLY_KEYS): put them on
        # the java command line of cluster.py's process, right after `java`.
        base = super()._make_process(r)
        argv = list(base._argv_fn())
        props = [f"-D{k}={INTEROP_SETTINGS[k]}" for k in JVM_ONLY_KEYS if k in INTEROP_SETTINGS]
        argv = argv[:1] + props + argv[1:]
        return ManagedProcess(base.name, lambda: argv, base.log_path, base.cwd, base.env)


class InteropZooregEnsemble(cluster.ZooregEnsemble):
    def _write_config(self, r) -> None:
        super()._write_config(r)
        _append_settings(r.cfg_path)


class EnsembleServer:
    """A started 3-replica ensemble, seen by the tests like one zkserver.Server."""

    def __init__(self, impl: str, workdir: Path) -> None:
        self.impl = impl
        if impl == IMPL_ZOOKEEPER_ENSEMBLE:
            self.ensemble = InteropZooKeeperEnsemble(workdir)
        elif impl == IMPL_ZOOREG_ENSEMBLE:
            self.ensemble = InteropZooregEnsemble(workdir)
        else:
            raise ValueError(f"not an ensemble implementation: {impl}")
        self.host = HOST
        self.settings = dict(INTEROP_SETTINGS, tickTime=TICK_MS)

    # -- addresses

    @property
    def hosts(self) -> str:
        """The 3-host connect string."""
        return self.ensemble.hosts

    @property
    def ports(self) -> List[int]:
        return [self.ensemble.replicas[i].client_port for i in self.ensemble.ids]

    @property
    def port(self) -> int:
        """Replica 1's client port (raw sockets and four-letter words)."""
        return self.ports[0]

    @property
    def tick_ms(self) -> int:
        return TICK_MS

    # -- lifecycle

    def start(self) -> "EnsembleServer":
        try:
            self.ensemble.start()
        except Exception:
            self.ensemble.stop()
            raise
        return self

    def stop(self) -> None:
        self.ensemble.stop()

    def crashed(self) -> List[str]:
        """Processes (replicas, etcd members) that exited without the harness stopping them."""
        return self.ensemble.crashed()

    def ensure_healthy(self) -> None:
        self.ensemble.ensure_healthy()

    def log_tail(self, lines: int = 60) -> str:
        return self.ensemble.log_tails(max(10, lines // 3))

    def four_letter_word(self, word: str, timeout: float = 5.0, replica: int = 1) -> str:
        return four_letter_word(HOST, self.ensemble.replicas[replica].client_port, word, timeout)
