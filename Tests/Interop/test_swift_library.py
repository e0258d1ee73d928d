"""The Swift library's end-to-end suites (ZooKeeperClient and ServiceRegistry) against each server under test.

`swift test` runs these suites against an in-process zooreg. Here they run through ZK_TEST_CONNECT against the
real `zooreg` binary and against Apache ZooKeeper 3.8, which is how the client and the registry are known to work
for users who point them at a ZooKeeper ensemble. Two client tests stop and start the server from inside Swift;
they are left out here (not run, not skipped): test_durability and test_sessions restart both servers.
Against an ensemble (zooreg-ensemble, zookeeper-ensemble) the suites run on the shared ensemble through its
3-host connect string, less two tests whose assumptions an ensemble does not meet (NOT_FOR_ENSEMBLES).
"""

import os
import re
import shutil
import subprocess
import warnings

import pytest

from zkraw import four_letter_word
from zkserver import ENSEMBLE_IMPLS, HOST, REPO_ROOT

SUITES = ("ZooKeeperClientTests.EndToEndTests|ServiceRegistryTests.EndToEndTests"
          "|ZooKeeperRecipesTests.DataRecipesEndToEndTests|ZooKeeperRecipesTests.CoordinationRecipesEndToEndTests")
NEEDS_RESTART = "concurrentWritersAreAllDurable|sessionSurvivesAServerRestart"
# 13 client tests less the two above, 8 registry tests (the lost-reply test runs through a real proxy), and the
# recipes: 11 data (watched value, tree cache, shared count, barriers, queue) and 10 coordination (locks,
# semaphore, leader latch and selector); their reconnect and expiry tests cut a client off through a real proxy.
EXPECTED_TESTS = 40
# Left out against an ensemble (reported by the test as a warning):
# - persistentAndRecursiveWatches: the writer's create("/p") is acknowledged, then the watcher adds a persistent
#   watch on /p without a sync. The two clients may be on different replicas, and ZooKeeper only orders one
#   session's view: the watcher's replica may apply the create after the addWatch, and the watch then also
#   sees NodeCreated. Measured: a read on another replica right after an acknowledged create misses it in
#   0-1% of tries on zookeeper-ensemble, 15-20% on zooreg-ensemble (the test failed there 1 run in 2).
# - createReplyLostToACutConnectionIsAdoptedNotDuplicated: its proxy leads to the last host, its checking client
#   may be on another replica and reads the node's version without a sync (it read version 0, not 1, once).
NOT_FOR_ENSEMBLES = "persistentAndRecursiveWatches|createReplyLostToACutConnectionIsAdoptedNotDuplicated"


def received(server) -> int:
    """Packets the server has received (srvr's `Received:` line, the same on both servers); an ensemble's
    replicas together."""
    return sum(int(re.search(r"^Received: (\d+)$", four_letter_word(HOST, port, "srvr"), re.M).group(1))
               for port in getattr(server, "ports", [server.port]))


# The suites' 40 tests take 60-100 s against one server when CI runs four implementations' suites at once beside the
# fuzz build on two cores (97 s once against zooreg-ensemble, over pytest's 120 s once). Their own time-outs are
# inside them; this bounds the whole `swift test`, and on expiry its output so far says which tests were running.
SWIFT_TEST_SECONDS = 420


@pytest.fixture
def target(impl, request):
    """A fresh standalone server; an ensemble implementation's shared ensemble (a fresh one costs ~10 s)."""
    return request.getfixturevalue("server" if impl in ENSEMBLE_IMPLS else "fresh_server")


@pytest.mark.timeout(SWIFT_TEST_SECONDS + 60)
def test_swift_end_to_end_suites(target, impl):
    swift = shutil.which("swift")
    assert swift, "swift is not on PATH"
    skip, expected = NEEDS_RESTART, EXPECTED_TESTS
    if impl in ENSEMBLE_IMPLS:
        skip, expected = f"{NEEDS_RESTART}|{NOT_FOR_ENSEMBLES}", EXPECTED_TESTS - 2
        warnings.warn(f"{impl}: Swift tests not run against an ensemble (see NOT_FOR_ENSEMBLES): "
                      + ", ".join(NOT_FOR_ENSEMBLES.split("|")))
    before = received(target)
    env = dict(os.environ, ZK_TEST_CONNECT=target.hosts)
    try:
        proc = subprocess.run(
            [swift, "test", "--skip-build", "--filter", SUITES, "--skip", skip],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=SWIFT_TEST_SECONDS)
    except subprocess.TimeoutExpired as expired:
        # Output so far comes as bytes even in text mode.
        so_far = "".join(part.decode(errors="replace") if isinstance(part, bytes) else part
                         for part in (expired.stdout or b"", expired.stderr or b""))
        started = set(re.findall(r"Test (\w+)\(\) started", so_far))
        ended = set(re.findall(r"Test (\w+)\(\) (?:passed|failed)", so_far))
        pytest.fail(f"swift test ran over {SWIFT_TEST_SECONDS} s; still running: {sorted(started - ended)}\n"
                    + so_far[-4000:])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    summary = re.search(r"Test run with (\d+) tests? in (\d+) suites? passed", out)
    assert summary, out[-6000:]
    assert int(summary.group(1)) == expected, out[-6000:]
    skipped = [line for line in out.splitlines() if re.search(r"\bTest \w+\(\) skipped", line)]
    assert not skipped, "\n".join(skipped)
    # They ran against this server, not an in-process one: the 1,000-instance test alone sends thousands.
    assert received(target) - before > 5000
