"""Four-letter words: ruok, srvr, stat, mntr, conf, cons, envi, wchs, isro, dump and the whitelist.
Values that depend on the environment are checked loosely; the shapes exactly."""

import re
import time

import pytest

from zkraw import CreateFlags, four_letter_word
from zkserver import HOST, MAX_CLIENT_CNXNS, MAX_SESSION_TIMEOUT_MS, MIN_SESSION_TIMEOUT_MS, TICK_MS

SRVR_LINES = [
    r"Zookeeper version: \d+\.\d+\.\d+.*",
    r"Latency min/avg/max: \d+/\d+(\.\d+)?/\d+",
    r"Received: \d+",
    r"Sent: \d+",
    r"Connections: \d+",
    r"Outstanding: \d+",
    r"Zxid: 0x[0-9a-f]+",
    r"Mode: standalone",
    r"Node count: \d+",
]


def _kv(text, sep):
    out = {}
    for line in text.splitlines():
        if line.strip():
            k, _, v = line.partition(sep)
            out[k] = v
    return out


def test_ruok(server):
    assert server.four_letter_word("ruok") == "imok"


def test_isro(server):
    assert server.four_letter_word("isro") == "rw"


@pytest.mark.standalone_only("srvr says Mode: standalone here (an ensemble replica is leader or follower)")
def test_srvr(server):
    lines = server.four_letter_word("srvr").splitlines()
    assert len(lines) == len(SRVR_LINES), lines
    for line, pattern in zip(lines, SRVR_LINES):
        assert re.fullmatch(pattern, line), (line, pattern)


@pytest.mark.standalone_only("needs a fresh server (exact node count of an empty tree)")
def test_srvr_zxid_and_node_count_follow_writes(server_factory, make_client):
    srv = server_factory()
    fresh = dict(line.split(": ", 1) for line in srv.four_letter_word("srvr").splitlines())
    # a fresh tree: /, /zookeeper, /zookeeper/quota, /zookeeper/config; ZooKeeper counts the root twice
    # (it is stored as "" and "/"), hence 5
    assert fresh["Node count"] == "5"
    from zkraw import RawSession
    s = RawSession.connect(HOST, srv.port)
    for i in range(3):
        s.create(f"/n{i}")
    zxid = s.exists("/n2").czxid
    after = dict(line.split(": ", 1) for line in srv.four_letter_word("srvr").splitlines())
    assert after["Node count"] == "8"
    assert int(after["Zxid"], 16) == zxid
    assert int(after["Connections"]) >= 1
    s.close()


@pytest.mark.standalone_only("stat says Mode: standalone here (an ensemble replica is leader or follower)")
def test_stat(server, zk):
    text = server.four_letter_word("stat")
    lines = text.splitlines()
    assert re.fullmatch(SRVR_LINES[0], lines[0])
    assert lines[1] == "Clients:"
    clients = []
    i = 2
    while lines[i].startswith(" /"):
        clients.append(lines[i])
        i += 1
    assert len(clients) >= 2  # the kazoo client and this connection
    for c in clients:
        assert re.fullmatch(r" /127\.0\.0\.1:\d+\[\d+\]\(queued=\d+,recved=\d+,sent=\d+\)", c), c
    assert lines[i] == ""
    rest = lines[i + 1:]
    for line, pattern in zip(rest, SRVR_LINES[1:]):
        assert re.fullmatch(pattern, line), (line, pattern)
    assert len(rest) == len(SRVR_LINES) - 1


MNTR_KEYS = [
    "zk_version", "zk_server_state", "zk_avg_latency", "zk_max_latency", "zk_min_latency",
    "zk_packets_received", "zk_packets_sent", "zk_num_alive_connections", "zk_outstanding_requests",
    "zk_znode_count", "zk_watch_count", "zk_ephemerals_count", "zk_approximate_data_size",
    "zk_open_file_descriptor_count", "zk_max_file_descriptor_count", "zk_uptime",
]


@pytest.mark.standalone_only("mntr says zk_server_state standalone here (an ensemble replica is leader or follower)")
def test_mntr(server):
    text = server.four_letter_word("mntr")
    lines = [line for line in text.splitlines() if line]
    for line in lines:
        assert re.fullmatch(r"zk_\S+\t.+", line), line  # (3.8 adds per-namespace keys such as zk_avg_t-x_read_per_namespace)
    values = _kv(text, "\t")
    missing = [k for k in MNTR_KEYS if k not in values]
    assert not missing
    assert lines[0].startswith("zk_version\t")
    assert values["zk_server_state"] == "standalone"
    for k in MNTR_KEYS[2:]:
        float(values[k])  # numeric


@pytest.mark.standalone_only("needs a fresh server (exact node and ephemeral counts of an empty tree)")
def test_mntr_counts(server_factory):
    from zkraw import RawSession
    srv = server_factory()
    s = RawSession.connect(HOST, srv.port)
    base = _kv(srv.four_letter_word("mntr"), "\t")
    assert base["zk_znode_count"] == "5"
    assert base["zk_ephemerals_count"] == "0"
    s.create("/a", b"12345")
    s.create("/a/e", flags=CreateFlags.EPHEMERAL)
    s.get_data("/a", watch=True)
    now = _kv(srv.four_letter_word("mntr"), "\t")
    assert int(now["zk_znode_count"]) == 7
    assert now["zk_ephemerals_count"] == "1"
    assert int(now["zk_watch_count"]) >= 1
    assert int(now["zk_num_alive_connections"]) >= 2  # s and the mntr connection
    assert int(now["zk_approximate_data_size"]) > int(base["zk_approximate_data_size"])
    s.close()
    after = _kv(srv.four_letter_word("mntr"), "\t")
    assert after["zk_ephemerals_count"] == "0" and after["zk_znode_count"] == "6"


@pytest.mark.standalone_only("conf of the one server: its clientPort, maxClientCnxns and dataDir")
def test_conf(server):
    conf = _kv(server.four_letter_word("conf"), "=")
    assert conf["clientPort"] == str(server.port)
    assert conf["tickTime"] == str(TICK_MS)
    assert conf["maxClientCnxns"] == str(MAX_CLIENT_CNXNS)
    assert conf["minSessionTimeout"] == str(MIN_SESSION_TIMEOUT_MS)
    assert conf["maxSessionTimeout"] == str(MAX_SESSION_TIMEOUT_MS)
    assert conf["dataDir"].startswith(str(server.data_dir))
    assert "dataLogDir" in conf and "serverId" in conf


def test_cons(server, zk):
    # an ensemble: kazoo is connected to one of the replicas, so every replica's cons is read
    text = "".join(four_letter_word(HOST, port, "cons", 5.0) for port in getattr(server, "ports", [server.port]))
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines and all(line.startswith(" /127.0.0.1:") for line in lines), lines
    sid = f"sid=0x{zk.client_id[0]:x},"
    mine = [line for line in lines if sid in line]
    assert len(mine) == 1, (sid, lines)
    assert re.fullmatch(
        r" /127\.0\.0\.1:\d+\[\d+\]\(queued=\d+,recved=\d+,sent=\d+,sid=0x[0-9a-f]+,lop=\w+,est=\d+,to=\d+,"
        r"lcxid=0x[0-9a-f]+,lzxid=0x[0-9a-f]+,lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+\)", mine[0]), mine[0]
    assert ",to=10000," in mine[0]


def test_cons_counts_the_handshake(server, make_client):
    # ZooKeeper counts the connect request: after the handshake alone a connection shows recved=1,sent=1,
    # lop=SESS and lcxid=0x0; each request then adds one and names itself (EXIS for exists)
    s = make_client.raw()

    def my_line():
        lines = [line for line in server.four_letter_word("cons").splitlines() if f"sid=0x{s.session_id:x}," in line]
        assert len(lines) == 1, lines
        return lines[0]

    def shows(*parts):
        # the server may update its counters just after the reply is on the wire: poll (bounded)
        deadline = time.monotonic() + 3
        while True:
            line = my_line()
            if all(p in line for p in parts) or time.monotonic() > deadline:
                return line

    line = shows("(queued=0,recved=1,sent=1,", ",lop=SESS,", ",lcxid=0x0,")
    assert "(queued=0,recved=1,sent=1," in line and ",lop=SESS," in line and ",lcxid=0x0," in line, line
    s.exists("/")
    line = shows("(queued=0,recved=2,sent=2,", ",lop=EXIS,", ",lcxid=0x1,")
    assert "(queued=0,recved=2,sent=2," in line and ",lop=EXIS," in line and ",lcxid=0x1," in line, line


def test_envi(server, zk):
    text = server.four_letter_word("envi")
    lines = text.splitlines()
    assert lines[0] == "Environment:"
    env = _kv("\n".join(lines[1:]), "=")
    assert re.match(r"\d+\.\d+\.\d+", env["zookeeper.version"])
    for key in ("host.name", "java.version", "os.name", "user.dir"):
        assert key in env, key
    # kazoo parses envi for the server version
    version = zk.server_version()
    assert len(version) >= 3 and all(isinstance(v, int) for v in version)
    assert version >= (3, 5, 0)


@pytest.mark.standalone_only("needs a fresh server (no watches but the test's)")
def test_wchs(server_factory):
    from zkraw import RawSession
    srv = server_factory()
    assert srv.four_letter_word("wchs") == "0 connections watching 0 paths\nTotal watches:0\n"
    s = RawSession.connect(HOST, srv.port)
    s.create("/w")
    s.get_data("/w", watch=True)
    s.exists("/x", watch=True)
    assert srv.four_letter_word("wchs") == "1 connections watching 2 paths\nTotal watches:2\n"
    s.close()


def test_dump(server, make_client, root):
    from zkraw import RawSession
    s = make_client.raw()
    s.create(f"{root}/e1", flags=CreateFlags.EPHEMERAL)
    s.create(f"{root}/e2", flags=CreateFlags.EPHEMERAL)
    text = server.four_letter_word("dump")
    assert text.startswith("SessionTracker dump:\n")
    assert "ephemeral nodes dump:\n" in text
    eph = text.split("ephemeral nodes dump:\n", 1)[1]
    assert re.match(r"Sessions with Ephemerals \(\d+\):\n", eph)
    block = eph.split(f"0x{s.session_id:x}:\n", 1)[1]
    paths = []
    for line in block.splitlines():
        if not line.startswith("\t"):
            break
        paths.append(line[1:])
    assert sorted(paths) == [f"{root}/e1", f"{root}/e2"]


@pytest.mark.standalone_only("needs a fresh server with its own 4lw.commands.whitelist")
def test_whitelist(server_factory):
    srv = server_factory(**{"4lw.commands.whitelist": "ruok, srvr"})
    assert srv.four_letter_word("ruok") == "imok"
    assert srv.four_letter_word("srvr").startswith("Zookeeper version: ")
    # dump (sessions, ephemeral paths), envi (host, user, directories) and cons (client addresses, sessions)
    # included: what they expose is only shown when whitelisted.
    for word in ("stat", "mntr", "conf", "dump", "envi", "cons", "wchs", "wchc", "wchp", "crst", "srst"):
        assert srv.four_letter_word(word) == f"{word} is not executed because it is not in the whitelist.\n"


def test_four_letter_word_connection_is_closed_after_answer(server):
    # the word may be followed by nothing else; the server answers and closes
    assert four_letter_word(HOST, server.port, "ruok") == "imok"
