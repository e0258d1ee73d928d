"""What a server exposes: digest passwords (addauth digest user:password) never reach the log, even at the most
verbose level, nor any four-letter word; zooreg's metrics endpoint stays on loopback unless configured. (The
four-letter-word whitelist is tested in test_four_letter_words.py.)"""

import uuid

import pytest

from zkraw import Perm, RawSession, four_letter_word
from zkserver import HOST, IMPL_ZOOKEEPER, IMPL_ZOOREG, SUPER_PASSWORD, SUPER_USER, Server, digest, free_port

WORDS = ("conf", "cons", "crst", "dump", "envi", "mntr", "srst", "srvr", "stat", "wchc", "wchp", "wchs")


class VerboseServer(Server):
    """A server logging everything it can: zooreg at trace, ZooKeeper (slf4j-simple) at debug."""

    def command(self) -> list:
        cmd = super().command()
        if self.impl == IMPL_ZOOKEEPER:
            return [cmd[0], "-Dorg.slf4j.simpleLogger.defaultLogLevel=debug", *cmd[1:]]
        return [*cmd, "--log-level", "trace"]


@pytest.mark.standalone_only("needs its own server logging at the most verbose level")
def test_digest_passwords_stay_out_of_logs_and_four_letter_words(impl, tmp_path):
    password = f"pw-{uuid.uuid4().hex}"
    srv = VerboseServer(impl, tmp_path / impl)
    srv.start()
    try:
        owner = RawSession.connect(HOST, srv.port)
        assert owner.add_auth("digest", f"alice:{password}".encode()).err == 0
        owner.create("/secret", b"", [(Perm.ALL, "digest", digest("alice", password))])
        owner.get_data("/secret", watch=True)
        stranger = RawSession.connect(HOST, srv.port)
        assert stranger.add_auth("digest", f"alice:wrong-{password}".encode()).err == 0
        su = RawSession.connect(HOST, srv.port)
        assert su.add_auth("digest", f"{SUPER_USER}:{SUPER_PASSWORD}".encode()).err == 0
        su.set_data("/secret", b"x")
        outputs = {word: four_letter_word(HOST, srv.port, word) for word in WORDS}
        for s in (owner, stranger, su):
            s.close()
    finally:
        srv.stop()
    log = srv.log_path.read_text(errors="replace")
    assert len(log) > 0
    for word, text in outputs.items():
        assert password not in text, word
        assert digest("alice", password).split(":")[1] not in text, word
    assert password not in log
    if impl != IMPL_ZOOKEEPER:
        # ZooKeeper's checkACL logs the digest ids (user:base64(sha1)) at debug; zooreg logs no hash either.
        assert digest("alice", password).split(":")[1] not in log
        assert digest(SUPER_USER, SUPER_PASSWORD).split(":")[1] not in log


def _listening_addresses(port: int) -> set:
    """The local addresses (as /proc/net/tcp{,6} write them, hex) with a socket listening on port."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                address, hex_port = fields[1].split(":")
                if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    out.add(address)
    return out


def test_zooreg_metrics_listen_on_loopback_unless_configured(tmp_path):
    """zooreg's own Prometheus endpoint (ZooKeeper's PrometheusMetricsProvider defaults to 0.0.0.0; zooreg has
    no AdminServer): a zoo.cfg that names a metrics port but no host gets loopback only."""
    port = free_port()
    srv = Server(IMPL_ZOOREG, tmp_path / "default", **{"metricsProvider.httpPort": port})
    del srv.settings["metricsProvider.httpHost"]
    srv.write_config()
    srv.start()
    try:
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1
    finally:
        srv.stop()
    port = free_port()
    srv = Server(IMPL_ZOOREG, tmp_path / "configured", **{"metricsProvider.httpPort": port,
                                                          "metricsProvider.httpHost": "0.0.0.0"})
    srv.start()
    try:
        assert _listening_addresses(port) == {"00000000"}  # what was asked for
    finally:
        srv.stop()
