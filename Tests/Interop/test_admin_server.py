"""ZooKeeper 3.8's AdminServer commands (`GET /commands`, `GET /commands/<name>`), answered as JSON.

Each implementation gets its own fresh server with the AdminServer on (ZooKeeper with Jetty on its class path,
zkserver.admin_server_settings), started once for this module. The per-implementation tests check what
ZooKeeper 3.8.0 was seen to answer (HTTP statuses, the listing, error objects, aliases). When both `zooreg` and
`zookeeper` are selected, the comparison tests run the same client operations against both and compare every
command's JSON: the same keys (recursively), the same JSON types, and equal values where they must be equal.

Standalone only: the ensembles run without the AdminServer, and a replica's answers (follower) differ from a
standalone server's on purpose.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
import uuid

import pytest

from conftest import kazoo_client
from zkserver import (ENSEMBLE_IMPLS, IMPL_ZOOKEEPER, IMPL_ZOOREG, Server, ServerError, admin_server_settings,
                      selected_impls)

pytestmark = pytest.mark.standalone_only("the AdminServer runs on a fresh standalone server of its own")

PRIMARY_NAMES = [
    "configuration", "connection_stat_reset", "connections", "dirs", "dump", "environment", "get_trace_mask",
    "hash", "initial_configuration", "is_read_only", "last_snapshot", "leader", "monitor",
    "observer_connection_stat_reset", "observers", "ruok", "server_stats", "set_trace_mask", "stat_reset",
    "stats", "system_properties", "voting_view", "watch_summary", "watches", "watches_by_path", "zabstate",
]
ALIASES = {
    "conf": "configuration", "config": "configuration", "crst": "connection_stat_reset", "cons": "connections",
    "env": "environment", "envi": "environment", "gtmk": "get_trace_mask", "icfg": "initial_configuration",
    "isro": "is_read_only", "lsnp": "last_snapshot", "lead": "leader", "mntr": "monitor",
    "orst": "observer_connection_stat_reset", "obsr": "observers", "srvr": "server_stats", "stmk": "set_trace_mask",
    "srst": "stat_reset", "stat": "stats", "sysp": "system_properties", "wchs": "watch_summary", "wchc": "watches",
    "wchp": "watches_by_path",
}
STANDALONE_IMPLS = [i for i in selected_impls() if i not in ENSEMBLE_IMPLS]

# Commands whose keys zooreg answers as a subset of ZooKeeper's: monitor prints the figures of zooreg's mntr (the
# ones that mean something without ZooKeeper's request pipeline); system_properties the Java properties that mean
# something without a JVM.
SUBSET_KEYS = {"monitor", "system_properties"}
# Maps whose keys are data (session ids, times, paths): compared by their values' shapes.
DATA_KEYED_MAPS = {"expiry_time_to_session_ids", "session_id_to_ephemeral_paths", "session_id_to_watched_paths",
                   "path_to_session_ids"}


class AdminClient:
    def __init__(self, server: Server) -> None:
        self.server = server
        parsed = urllib.parse.urlparse(server.admin_url)
        self.host, self.port, self.base = parsed.hostname, parsed.port, parsed.path

    def request(self, method: str, path: str, timeout: float = 10.0):
        """(status, headers as a lower-cased dict, body bytes)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            body = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            conn.close()

    def command(self, name: str, query: str = "") -> dict:
        status, headers, body = self.request("GET", f"{self.base}/{name}" + (f"?{query}" if query else ""))
        assert status == 200, (name, status, body[:300])
        assert headers.get("content-type", "").startswith("application/json"), (name, headers)
        return json.loads(body)

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                if self.command("ruok").get("error", "x") is None:
                    return
            except (OSError, AssertionError, ValueError) as e:
                last = e
            time.sleep(0.1)
        raise ServerError(f"{self.server.impl}: AdminServer not answering at {self.server.admin_url}: {last!r}\n"
                          + self.server.log_tail())


_servers: dict = {}


@pytest.fixture(scope="module")
def admin_servers(tmp_path_factory):
    """impl -> AdminClient, started on first use, stopped at the end of the module."""

    def get(impl: str) -> AdminClient:
        if impl in ENSEMBLE_IMPLS:
            pytest.skip("standalone only: the AdminServer runs on a fresh standalone server of its own")
        if impl not in _servers:
            settings = admin_server_settings()
            if impl == IMPL_ZOOREG:
                # zooreg's web console shares the AdminServer's port and keeps a client session of its own (with a
                # watch on /services), which would count in cons, dump, wchc and mntr; ZooKeeper has none.
                settings["console.enabled"] = "false"
            srv = Server(impl, tmp_path_factory.mktemp(f"{impl}-admin"), **settings)
            try:
                srv.start()
                client = AdminClient(srv)
                client.wait_ready()
            except ServerError as e:
                srv.stop()
                pytest.fail(str(e), pytrace=False)
            _servers[impl] = client
        return _servers[impl]

    yield get
    for client in _servers.values():
        client.server.stop()
    _servers.clear()


@pytest.fixture
def admin(impl, admin_servers) -> AdminClient:
    return admin_servers(impl)


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def compare_shapes(ours, theirs, where: str, subset: bool = False) -> list:
    """Differences in keys and JSON types between two JSON values (a list of strings, empty when alike)."""
    problems = []
    if json_type(ours) != json_type(theirs):
        return [f"{where}: zooreg has {json_type(ours)} {ours!r:.80}, ZooKeeper {json_type(theirs)} {theirs!r:.80}"]
    if isinstance(ours, dict):
        key = where.rsplit(".", 1)[-1]
        if key in DATA_KEYED_MAPS:
            # Keys are data: compare the shapes of the values.
            for a in ours.values():
                for b in theirs.values():
                    problems += compare_shapes(a, b, where + ".*")
            return problems
        missing = [k for k in theirs if k not in ours]
        extra = [k for k in ours if k not in theirs]
        if extra:
            problems.append(f"{where}: keys ZooKeeper does not have: {extra}")
        if missing and not subset:
            problems.append(f"{where}: keys missing: {missing}")
        for k in ours:
            if k in theirs:
                problems += compare_shapes(ours[k], theirs[k], f"{where}.{k}")
    elif isinstance(ours, list):
        for a in ours:
            for b in theirs:
                problems += compare_shapes(a, b, where + "[]")
    return problems


# -- per implementation: what ZooKeeper 3.8.0 answers


def test_listing(admin):
    for path in (admin.base, admin.base + "/"):
        status, _, body = admin.request("GET", path)
        assert status == 200
        text = body.decode()
        expected = "".join(f'<a href="{admin.base}/{n}">{n}</a>\n<br/>\n' for n in PRIMARY_NAMES)
        assert text == expected


def test_unknown_command(admin):
    for name in ("nosuch", "RUOK", "obsm", "ruok/", "ruok/x", "ruok%20"):
        status, headers, body = admin.request("GET", f"{admin.base}/{name}")
        assert status == 200, name
        asked = urllib.parse.unquote(name)
        assert json.loads(body) == {"command": asked, "error": f"Unknown command: {asked}"}, name
        assert list(json.loads(body)) == ["command", "error"]


def test_huge_and_odd_names_get_an_error_object(admin):
    status, _, body = admin.request("GET", f"{admin.base}/{'x' * 4000}")
    assert status == 200
    answer = json.loads(body)
    assert answer["error"].startswith("Unknown command: xxx")
    status, _, body = admin.request("GET", f"{admin.base}/%E2%9C%93")
    assert status == 200 and json.loads(body)["error"] == "Unknown command: \u2713"
    # A malformed percent escape is a bad request on both.
    status, _, _ = admin.request("GET", f"{admin.base}/%ZZ")
    assert status == 400


def test_every_name_and_alias(admin):
    for name in PRIMARY_NAMES + sorted(ALIASES):
        answer = admin.command(name, "traceMask=306" if ALIASES.get(name, name) == "set_trace_mask" else "")
        primary = ALIASES.get(name, name)
        assert answer["command"] == primary, name
        assert "error" in answer, name
        if primary == "leader":
            assert answer["error"] == "server is not initialized"
            assert list(answer) == ["error", "command"]
        else:
            assert answer["error"] is None, (name, answer["error"])
            assert list(answer)[-2:] == ["command", "error"], name


def test_query_string_is_not_part_of_the_name(admin):
    assert admin.command("ruok", "x=1") == {"command": "ruok", "error": None}
    assert admin.command("%72uok") == {"command": "ruok", "error": None}


def test_methods(admin):
    path = f"{admin.base}/ruok"
    status, headers, body = admin.request("HEAD", path)
    assert status == 200 and body == b""
    assert int(headers["content-length"]) == len(json.dumps({"command": "ruok", "error": None}, indent=2,
                                                            separators=(",", " : ")))
    for method in ("POST", "PUT", "DELETE"):
        for target in (path, admin.base, f"{admin.base}/nosuch"):
            status, _, _ = admin.request(method, target)
            assert status == 405, (method, target)
    status, headers, _ = admin.request("OPTIONS", path)
    assert status == 200 and "GET" in headers["allow"] and "HEAD" in headers["allow"]
    assert "POST" not in headers["allow"]
    status, _, _ = admin.request("PATCH", path)
    assert status == 501


def test_ruok_isro_and_standalone_answers(admin):
    assert admin.command("ruok") == {"command": "ruok", "error": None}
    assert admin.command("isro")["read_only"] is False
    assert admin.command("zabstate") == {"voting": False, "zabstate": "", "command": "zabstate", "error": None}
    assert admin.command("voting_view") == {"current_config": {}, "command": "voting_view", "error": None}
    assert admin.command("observers") == {"synced_observers": 0, "observers": [], "command": "observers",
                                          "error": None}
    assert admin.command("leader") == {"error": "server is not initialized", "command": "leader"}
    conf = admin.command("conf")
    assert conf["client_port"] == admin.server.port
    assert conf["tick_time"] == admin.server.tick_ms
    assert conf["server_id"] == 0


def test_trace_mask(admin):
    assert admin.command("stmk") == {"error": "setTraceMask requires long traceMask argument",
                                     "command": "set_trace_mask"}
    assert admin.command("stmk", "traceMask=abc") == {
        "error": "setTraceMask requires long traceMask argument, got abc", "command": "set_trace_mask"}
    try:
        assert admin.command("stmk", "traceMask=42")["tracemask"] == 42
        assert admin.command("gtmk")["tracemask"] == 42
    finally:
        assert admin.command("stmk", "traceMask=306")["tracemask"] == 306
    assert admin.command("gtmk")["tracemask"] == 306


def test_session_watches_and_ephemerals_appear(admin):
    zk = kazoo_client(admin.server.hosts)
    zk.start(timeout=15)
    root = f"/adm-{uuid.uuid4().hex[:8]}"
    try:
        before = admin.command("mntr")
        zk.create(root, b"x")
        zk.create(root + "/e", b"", ephemeral=True)
        zk.get(root, watch=lambda e: None)
        zk.exists(root + "/nope", watch=lambda e: None)
        sid = zk.client_id[0]
        cons = admin.command("cons")["connections"]
        mine = [c for c in cons if c["session_id"] == sid]
        assert len(mine) == 1, cons
        assert mine[0]["packets_received"] >= 4 and mine[0]["session_timeout"] > 0
        dump = admin.command("dump")
        assert dump["session_id_to_ephemeral_paths"][str(sid)] == [root + "/e"]
        assert any(sid in ids for ids in dump["expiry_time_to_session_ids"].values())
        assert sorted(admin.command("wchc")["session_id_to_watched_paths"][str(sid)]) == [root, root + "/nope"]
        by_path = admin.command("wchp")["path_to_session_ids"]
        assert by_path[root] == [sid] and by_path[root + "/nope"] == [sid]
        after = admin.command("mntr")
        assert after["znode_count"] == before["znode_count"] + 2
        assert after["ephemerals_count"] == before["ephemerals_count"] + 1
        assert admin.command("srvr")["node_count"] == after["znode_count"]
        stats = admin.command("stat")
        assert any(c["packets_received"] >= 4 and "session_id" not in c for c in stats["connections"])
    finally:
        zk.delete(root, recursive=True)
        zk.stop()
        zk.close()


def test_resets(admin):
    zk = kazoo_client(admin.server.hosts)
    zk.start(timeout=15)
    try:
        for i in range(5):
            zk.exists(f"/reset-{i}")
        sid = zk.client_id[0]
        received = [c for c in admin.command("cons")["connections"] if c["session_id"] == sid][0]["packets_received"]
        assert received >= 6
        assert admin.command("crst") == {"command": "connection_stat_reset", "error": None}
        now = [c for c in admin.command("cons")["connections"] if c["session_id"] == sid][0]["packets_received"]
        assert now < received - 3  # reset (a ping may have come since)
        assert admin.command("srvr")["server_stats"]["packets_received"] >= 6
        assert admin.command("srst") == {"command": "stat_reset", "error": None}
        assert admin.command("srvr")["server_stats"]["packets_received"] <= 2
    finally:
        zk.stop()
        zk.close()


# -- zooreg against ZooKeeper (not parametrized by implementation: each test runs once, against both servers)


@pytest.fixture(scope="module")
def both(admin_servers):
    # CI runs one pytest per implementation: the comparison runs in zooreg's, which starts its own reference
    # ZooKeeper (always installed beside the suite), and not again in ZooKeeper's.
    if IMPL_ZOOREG not in STANDALONE_IMPLS:
        pytest.skip("compares zooreg with ZooKeeper: runs when zooreg is selected in ZK_IMPLS")
    clients = {impl: admin_servers(impl) for impl in (IMPL_ZOOREG, IMPL_ZOOKEEPER)}
    sessions = {}
    for impl, admin in clients.items():
        zk = kazoo_client(admin.server.hosts)
        zk.start(timeout=15)
        zk.ensure_path("/cmp")
        zk.create("/cmp/data", b"12345")
        zk.create("/cmp/eph", b"", ephemeral=True)
        zk.get("/cmp/data", watch=lambda e: None)
        zk.exists("/cmp/none", watch=lambda e: None)
        zk.get_children("/cmp", watch=lambda e: None)
        sessions[impl] = zk
    yield clients, sessions
    for zk in sessions.values():
        zk.stop()
        zk.close()


@pytest.mark.parametrize("name", PRIMARY_NAMES)
def test_same_shape_as_zookeeper(both, name):
    clients, _ = both
    query = "traceMask=306" if name == "set_trace_mask" else ""
    ours = clients[IMPL_ZOOREG].command(name, query)
    theirs = clients[IMPL_ZOOKEEPER].command(name, query)
    problems = compare_shapes(ours, theirs, name, subset=name in SUBSET_KEYS)
    assert not problems, "\n".join(problems)
    # The key order of the envelope, and the values every server must agree on.
    assert list(ours)[-2:] == list(theirs)[-2:]
    assert ours["command"] == theirs["command"] == name
    assert ours["error"] == theirs["error"]
    if name not in SUBSET_KEYS:
        assert list(ours) == list(theirs), "key order"


def test_values_match_zookeeper(both):
    clients, sessions = both
    z, k = clients[IMPL_ZOOREG], clients[IMPL_ZOOKEEPER]
    for name in ("ruok", "isro", "zabstate", "voting_view", "observers", "leader", "watch_summary", "gtmk"):
        assert z.command(name) == k.command(name), name
    ours, theirs = z.command("monitor"), k.command("monitor")
    for key in ("server_state", "znode_count", "ephemerals_count", "watch_count", "num_alive_connections",
                "global_sessions", "outstanding_requests"):
        assert ours[key] == theirs[key], key
    ours, theirs = z.command("srvr"), k.command("srvr")
    assert ours["node_count"] == theirs["node_count"]
    assert ours["server_stats"]["server_state"] == theirs["server_stats"]["server_state"] == "standalone"
    # The same watches, by path (ZooKeeper lists data watches: getData and exists, not getChildren).
    sid = {impl: zk.client_id[0] for impl, zk in sessions.items()}
    wchp = {impl: c.command("wchp")["path_to_session_ids"] for impl, c in clients.items()}
    assert {p: [sid[IMPL_ZOOREG] for _ in v] for p, v in wchp[IMPL_ZOOKEEPER].items()} == {
        p: v for p, v in wchp[IMPL_ZOOREG].items()}
    assert z.command("wchc")["session_id_to_watched_paths"][str(sid[IMPL_ZOOREG])] == sorted(
        k.command("wchc")["session_id_to_watched_paths"][str(sid[IMPL_ZOOKEEPER])])
    for impl, c in clients.items():
        dump = c.command("dump")
        assert dump["session_id_to_ephemeral_paths"] == {str(sid[impl]): ["/cmp/eph"]}, impl
        conns = c.command("cons")["connections"]
        assert sid[impl] in [x["session_id"] for x in conns], impl
        assert c.command("sysp")["zookeeper.admin.serverPort"] == str(c.server.settings["admin.serverPort"])
        conf = c.command("conf")
        assert conf["client_port"] == c.server.port
    zconf, kconf = z.command("conf"), k.command("conf")
    for key in ("tick_time", "max_client_cnxns", "min_session_timeout", "max_session_timeout", "server_id",
                "client_port_listen_backlog"):
        assert zconf[key] == kconf[key], key
    # Environment: the same keys in the same order; the values that do not depend on the runtime.
    zenv, kenv = z.command("envi"), k.command("envi")
    assert list(zenv) == list(kenv)
    for key in ("os.name", "os.arch", "os.version", "user.name", "user.home"):
        assert zenv[key] == kenv[key], key
    zsys, ksys = z.command("sysp"), k.command("sysp")
    assert list(zsys) == sorted(k for k in zsys if k not in ("command", "error")) + ["command", "error"]
    for key in zsys:
        if key in ("command", "error", "user.dir", "user.timezone", "zookeeper.admin.serverPort"):
            continue
        assert zsys[key] == ksys[key], key
    # initial_configuration: the settings the server started with, as zoo.cfg lines.
    for c in (z, k):
        text = c.command("icfg")["initial_configuration"]
        assert f"clientPort={c.server.port}" in text.splitlines()
        assert f"tickTime={c.server.tick_ms}" in text.splitlines()
