"""The seed's example, as a user would write it with kazoo."""

from kazoo.client import KazooClient


def test_seed_example(server):
    zk = KazooClient(hosts=server.hosts)
    zk.start(timeout=15)
    try:
        zk.create("/example", b"Hello, Zookeeper!")
        data, stat = zk.get("/example")
        assert data == b"Hello, Zookeeper!"
        assert stat.dataLength == len(b"Hello, Zookeeper!")
        assert stat.version == 0
        zk.delete("/example")
        assert zk.exists("/example") is None
    finally:
        zk.stop()
        zk.close()
