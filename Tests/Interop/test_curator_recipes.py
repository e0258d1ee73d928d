"""Swift coordination recipes against Apache Curator 5.4's, on both server implementations.

Java participants (Tests/Interop/curator/CuratorRecipeWorker.java, compiled here against Debian's
libcurator-recipes-java) and Swift ones (the `zooreg lock` and `zooreg elect` commands) take the same
InterProcessMutex or LeaderLatch. Each appends "<event> <name> <unix time>" to a shared history file while it
holds the lock or leads; the history must show mutual exclusion (one leader at a time), also across a kill -9
of the holder, after which the lock passes on once the server has expired the dead session. Curator's
SharedCount and `zooreg counter add` count on one node by compare-and-set: no addition is lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import List, Optional, Tuple

import pytest
from kazoo.exceptions import NoNodeError

from zkserver import zooreg_binary

CURATOR_RECIPE_JARS = [
    "/usr/share/java/curator-recipes.jar", "/usr/share/java/curator-framework.jar",
    "/usr/share/java/curator-client.jar", "/usr/share/java/zookeeper.jar", "/usr/share/java/guava.jar",
    "/usr/share/java/slf4j-api.jar", "/usr/share/java/slf4j-nop.jar",
]
WORKER_SOURCE = Path(__file__).resolve().parent / "curator" / "CuratorRecipeWorker.java"
SESSION_MS = 3000


@pytest.fixture(scope="module")
def worker_classpath(tmp_path_factory) -> str:
    missing = [j for j in CURATOR_RECIPE_JARS if not os.path.exists(j)]
    if missing:
        pytest.fail(f"Curator jars missing (apt-get install libcurator-recipes-java): {missing}", pytrace=False)
    out = tmp_path_factory.mktemp("curator-recipes")
    classpath = ":".join(CURATOR_RECIPE_JARS)
    r = subprocess.run(["javac", "-nowarn", "-cp", classpath, "-d", str(out), str(WORKER_SOURCE)],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, f"javac failed:\n{r.stdout}\n{r.stderr}"
    return f"{classpath}:{out}"


class Participants:
    """Starts Java and Swift participants in their own process groups; kills what is left at the end."""

    def __init__(self, hosts: str, classpath: str, history: Path) -> None:
        self.hosts = hosts
        self.classpath = classpath
        self.history = history
        self.procs: List[subprocess.Popen] = []

    def _start(self, args: List[str]) -> subprocess.Popen:
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def java(self, *args: str) -> subprocess.Popen:
        return self._start(["java", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
                            self.classpath, "CuratorRecipeWorker", args[0], self.hosts, *args[1:]])

    def java_lock(self, path: str, name: str, rounds: int, hold_ms: int) -> subprocess.Popen:
        return self.java("lock", path, str(self.history), name, str(rounds), str(hold_ms), str(SESSION_MS))

    def java_latch(self, path: str, name: str, hold_ms: int = -1) -> subprocess.Popen:
        return self.java("latch", path, str(self.history), name, str(hold_ms), str(SESSION_MS))

    def swift(self, subcommand: str, path: str, script: str, *options: str) -> subprocess.Popen:
        return self._start([str(zooreg_binary()), subcommand, "--server", self.hosts,
                            "--session-timeout", f"{SESSION_MS}ms", *options, path, "--", "sh", "-c", script])

    def swift_lock(self, path: str, name: str, hold_s: float) -> subprocess.Popen:
        return self.swift("lock", path, self.record_script("acquire", name, f"sleep {hold_s}", "release"))

    def record_script(self, event: str, name: str, middle: str, after: Optional[str] = None) -> str:
        h = str(self.history)
        stamp = "$(date +%s.%N)"
        script = f'echo "{event} {name} {stamp}" >> {h}; {middle}'
        if after:
            script += f'; echo "{after} {name} {stamp}" >> {h}'
        return script

    def kill9(self, p: subprocess.Popen) -> float:
        """kill -9 of the participant and its command (its whole process group); returns the time."""
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(10)
        return time.time()

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(10)


@pytest.fixture
def participants(server, worker_classpath, tmp_path):
    ps = Participants(server.hosts, worker_classpath, tmp_path / "history")
    ps.history.touch()
    yield ps
    ps.close()


@pytest.fixture
def base(zk):
    path = f"/recipes-{uuid.uuid4().hex[:12]}"
    yield path
    try:
        if zk.connected:
            zk.delete(path, recursive=True)
    except Exception:  # noqa: BLE001 - best-effort cleanup
        pass


def children(zk, path: str) -> List[str]:
    """The children of a lock directory; [] once the server has reaped the empty container (which it may do at
    any moment, so a missing node is not an error)."""
    try:
        return zk.get_children(path)
    except NoNodeError:
        return []


def read_history(path: Path) -> List[Tuple[str, str, float]]:
    events = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            events.append((parts[0], parts[1], float(parts[2])))
    return sorted(events, key=lambda e: e[2])


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def assert_exclusive(events: List[Tuple[str, str, float]], start: str, end: str) -> int:
    """At most one holder between a `start` and its `end` (a start without an end holds to the end of time);
    returns the number of holds."""
    holder: Optional[str] = None
    holds = 0
    for event, name, stamp in events:
        if event == start:
            assert holder is None, f"{name} got it at {stamp} while {holder} held it:\n{events}"
            holder = name
            holds += 1
        elif event == end:
            assert holder == name, f"{name} released at {stamp} but the holder is {holder}:\n{events}"
            holder = None
    return holds


def test_curator_and_zooreg_lock_exclude_each_other(participants, base, zk):
    path = f"{base}/mutex"
    rounds = 4
    javas = [participants.java_lock(path, f"java{i}", rounds, 100) for i in range(2)]

    def swift_loop(name: str) -> None:
        for _ in range(rounds):
            p = participants.swift_lock(path, name, 0.1)
            assert p.wait(60) == 0, p.stderr.read()

    threads = [threading.Thread(target=swift_loop, args=(f"swift{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    for p in javas:
        assert p.wait(60) == 0, p.stderr.read()
    events = read_history(participants.history)
    assert assert_exclusive(events, "acquire", "release") == 4 * rounds
    assert {name for _, name, _ in events} == {"java0", "java1", "swift0", "swift1"}
    assert children(zk, path) == []


@pytest.mark.parametrize("holder_kind", ["java", "swift"])
def test_lock_passes_on_after_kill9_of_the_holder(participants, base, zk, holder_kind):
    path = f"{base}/killed"
    if holder_kind == "java":
        holder = participants.java_lock(path, "holder", 1, 600_000)
    else:
        holder = participants.swift_lock(path, "holder", 600)
    wait_for(lambda: any(e[0] == "acquire" for e in read_history(participants.history)), 30, "the holder")
    # One waiter of each kind, queued behind the holder.
    java_waiter = participants.java_lock(path, "javaw", 1, 100)
    swift_waiter = participants.swift_lock(path, "swiftw", 0.1)
    wait_for(lambda: len(children(zk, path)) == 3, 30, "both waiters to queue")
    for child in children(zk, path):
        assert child.startswith("_c_") and "-lock-" in child, child
    time.sleep(0.5)
    assert [e[1] for e in read_history(participants.history)] == ["holder"]
    killed_at = participants.kill9(holder)
    assert swift_waiter.wait(60) == 0, swift_waiter.stderr.read()
    assert java_waiter.wait(60) == 0, java_waiter.stderr.read()
    events = read_history(participants.history)
    # The dead holder never released: it holds until its session expired.
    assert assert_exclusive([e for e in events if e[1] != "holder"], "acquire", "release") == 2
    first_after = min(stamp for event, name, stamp in events if name != "holder" and event == "acquire")
    assert first_after > killed_at, events
    assert children(zk, path) == []


@pytest.mark.parametrize("first", ["java", "swift"])
def test_leader_latch_one_leader_across_kill9(participants, base, zk, first):
    path = f"{base}/latch"
    h = participants.history

    def start(kind: str) -> subprocess.Popen:
        if kind == "java":
            return participants.java_latch(path, "java")
        return participants.swift("elect", path, participants.record_script("lead", "swift", "sleep 600"),
                                  "--id", "swift")

    kinds = [first, "swift" if first == "java" else "java"]
    leader = start(kinds[0])
    wait_for(lambda: len(read_history(h)) == 1, 30, "the first leader")
    follower = start(kinds[1])
    wait_for(lambda: len(children(zk, path)) == 2, 30, "the second participant")
    for child in children(zk, path):
        assert child.startswith("_c_") and "-latch-" in child, child
    time.sleep(1.0)
    events = read_history(h)
    assert [e[1] for e in events] == [kinds[0]], events
    killed_at = participants.kill9(leader)
    wait_for(lambda: len(read_history(h)) == 2, 30, "the follower to lead")
    events = read_history(h)
    assert events[1][1] == kinds[1] and events[1][2] > killed_at, events
    time.sleep(0.5)
    assert len(read_history(h)) == 2
    participants.kill9(follower)


def test_zooreg_elect_exits_with_the_command_and_hands_over(participants, base, zk):
    """A zooreg leader whose command exits leaves the election: a Curator follower leads next."""
    path = f"{base}/handover"
    swift = participants.swift("elect", path, participants.record_script("lead", "swift", "sleep 1.5", "unlead")
                               + "; exit 7", "--id", "swift")
    wait_for(lambda: len(read_history(participants.history)) == 1, 30, "the swift leader")
    java = participants.java_latch(path, "java", hold_ms=200)
    assert swift.wait(30) == 7
    assert java.wait(30) == 0, java.stderr.read()
    events = read_history(participants.history)
    assert [(e[0], e[1]) for e in events] == [("lead", "swift"), ("unlead", "swift"), ("lead", "java"),
                                               ("unlead", "java")], events
    assert_exclusive(events, "lead", "unlead")


def test_curator_shared_count_and_zooreg_counter_add_up(participants, base, zk):
    """A Curator SharedCount and `zooreg counter add` (the Swift SharedCount) add 1 at a time to the same counter,
    concurrently, each by compare-and-set on the node's version: the sum is exact, and both read the same
    4-byte big-endian value."""
    path = f"{base}/count"
    times = 60
    java = participants.java("count", path, str(participants.history), "java", str(times), str(SESSION_MS))
    swift = [subprocess.Popen([str(zooreg_binary()), "counter", "add", "--server", participants.hosts,
                               "--times", str(times // 2), path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    for p in swift:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert java.wait(120) == 0, java.stderr.read() if java.stderr else ""
    data, stat = zk.get(path)
    assert len(data) == 4
    assert int.from_bytes(data, "big", signed=True) == 2 * times
    assert stat.version == 2 * times  # one successful compare-and-set per addition, nothing else wrote
    r = subprocess.run([str(zooreg_binary()), "counter", "get", "--server", participants.hosts, path],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == str(2 * times)
