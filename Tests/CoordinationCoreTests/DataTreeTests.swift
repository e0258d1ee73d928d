import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// The tree and its Stat fields, driven through requests as clients make them. Expectations follow ZooKeeper's
/// DataTree / DataNode: cversion is stored as a count of child creates and shown as `stored * 2 - numChildren`,
/// pzxid moves on child create and delete, sequential suffixes come from the parent's stored cversion.
@Suite struct DataTreeTests {
    @Test func initialNodesAreThoseOfZooKeeper() {
        let d = CoreDriver()
        #expect(d.tree.paths.sorted() == ["/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"])
        // The root has one child that was never "created": a fresh ZooKeeper shows cversion -1 on "/".
        let root = d.stat("/")!
        #expect(root.numChildren == 1)
        #expect(root.cversion == -1)
        #expect(root.czxid == 0 && root.mzxid == 0 && root.pzxid == 0)
        #expect(d.stat("/zookeeper")!.numChildren == 2)
        #expect(d.tree.acl(of: d.tree.node(at: "/")!) == ACLs.openUnsafe)
        // DataTree.addConfigNode: READ_ACL_UNSAFE, set with setACL(path, acl, -1), so aversion is -1.
        let config = d.tree.node(at: "/zookeeper/config")!
        #expect(d.tree.acl(of: config) == ACLs.readUnsafe)
        #expect(config.stat.aversion == -1)
        #expect(d.tree.node(at: "/zookeeper/quota")!.stat.aversion == 0)
        // Paths plus data, with the root counted: ZooKeeper 3.8's mntr shows zk_approximate_data_size 44.
        #expect(d.tree.approximateDataSize == 44)
    }

    @Test func createFillsEveryStatField() {
        var d = CoreDriver()
        let c = d.connect()
        d.clock.advance(by: 1234)
        let r = d.create(c, "/a", bytes("hello"))
        #expect(r.err == .ok)
        #expect(r.createdPath == "/a")
        let zxid = r.zxid
        #expect(zxid == d.machine.lastZxid)
        let stat = r.stat!
        #expect(stat.czxid == zxid)
        #expect(stat.mzxid == zxid)
        #expect(stat.pzxid == zxid)
        #expect(stat.ctime == d.clock.wall)
        #expect(stat.mtime == d.clock.wall)
        #expect(stat.version == 0)
        #expect(stat.cversion == 0)
        #expect(stat.aversion == 0)
        #expect(stat.ephemeralOwner == 0)
        #expect(stat.dataLength == 5)
        #expect(stat.numChildren == 0)
        #expect(d.stat("/a") == stat)
        #expect(d.getData(c, "/a").data == bytes("hello"))
        // The parent: one more child, one more create, pzxid moved.
        let root = d.stat("/")!
        #expect(root.numChildren == 2)
        #expect(root.cversion == 0)  // stored 1 * 2 - 2 children
        #expect(root.pzxid == zxid)
        #expect(root.mzxid == 0)  // children don't touch the parent's data
        #expect(d.exists(c, "/a").stat == stat)
    }

    @Test func createWithNullAndEmptyData() {
        var d = CoreDriver()
        let c = d.connect()
        #expect(d.create(c, "/null", nil).err == .ok)
        #expect(d.create(c, "/empty", []).err == .ok)
        #expect(d.stat("/null")!.dataLength == 0)
        #expect(d.getData(c, "/null").data == nil)
        #expect(d.getData(c, "/empty").data == [])
    }

    @Test func ephemeralOwnerIsTheSessionAndZeroForContainersAndTTL() {
        var d = CoreDriver(config: CoreConfiguration(extendedTypesEnabled: true))
        let c = d.connect()
        #expect(d.create(c, "/e", mode: .ephemeral).stat?.ephemeralOwner == c.sessionId)
        #expect(d.create(c, "/es-", mode: .ephemeralSequential).stat?.ephemeralOwner == c.sessionId)
        #expect(d.create(c, "/p", mode: .persistent).stat?.ephemeralOwner == 0)
        let container = d.create(c, "/c", mode: .container)
        #expect(container.err == .ok)
        #expect(container.stat?.ephemeralOwner == 0)
        let ttl = d.createTTL(c, "/t", ttl: 60_000)
        #expect(ttl.err == .ok)
        #expect(ttl.stat?.ephemeralOwner == 0)
        #expect(d.stat("/t")?.ephemeralOwner == 0)
        // Inside, the owner keeps ZooKeeper's markers.
        #expect(d.tree.node(at: "/c")?.kind == .container)
        #expect(d.tree.node(at: "/c")?.ephemeralOwner == Int64.min)
        #expect(d.tree.node(at: "/t")?.kind == .ttl(milliseconds: 60_000))
        #expect(d.tree.node(at: "/t")?.ephemeralOwner == Int64(bitPattern: 0xFF00_0000_0000_EA60))
        #expect(d.tree.ephemerals[c.sessionId]?.count == 2)
        #expect(d.tree.containers == ["/c"])
        #expect(d.tree.ttls == ["/t"])
    }

    @Test func ephemeralKindEncodesZooKeeperOwners() {
        #expect(EphemeralKind(owner: 0) == .persistent)
        #expect(EphemeralKind(owner: 0x1234) == .session(0x1234))
        #expect(EphemeralKind(owner: Int64.min) == .container)
        #expect(EphemeralKind(owner: Int64(bitPattern: 0xFF00_0000_0000_0064)) == .ttl(milliseconds: 100))
        #expect(EphemeralKind.ttl(milliseconds: 100).owner == Int64(bitPattern: 0xFF00_0000_0000_0064))
        #expect(EphemeralKind.container.owner == Int64.min)
        #expect(EphemeralKind.ttl(milliseconds: EphemeralKind.maxTTL).clientVisibleOwner == 0)
        #expect(EphemeralKind.maxTTL == (1 << 40) - 1)
    }

    @Test func setDataBumpsVersionMzxidAndMtimeOnly() {
        var d = CoreDriver()
        let c = d.connect()
        let created = d.create(c, "/a", bytes("v0")).stat!
        d.clock.advance(by: 500)
        let r = d.setData(c, "/a", bytes("version one"))
        #expect(r.err == .ok)
        let s = r.stat!
        #expect(s.version == 1)
        #expect(s.mzxid == r.zxid)
        #expect(s.mzxid > created.mzxid)
        #expect(s.mtime == d.clock.wall)
        #expect(s.czxid == created.czxid)
        #expect(s.ctime == created.ctime)
        #expect(s.pzxid == created.pzxid)
        #expect(s.cversion == 0 && s.aversion == 0)
        #expect(s.dataLength == 11)
        #expect(d.setData(c, "/a", bytes("2"), version: 1).stat?.version == 2)
        #expect(d.setData(c, "/a", nil, version: 2).stat?.dataLength == 0)
        #expect(d.getData(c, "/a").data == nil)
    }

    @Test func setACLBumpsAversionAndReplacesTheList() {
        var d = CoreDriver()
        let c = d.connect()
        let created = d.create(c, "/a", bytes("x")).stat!
        let r = d.setACL(c, "/a", [worldRead], version: 0)
        #expect(r.err == .ok)
        #expect(r.stat?.aversion == 1)
        #expect(r.stat?.version == 0)
        #expect(r.stat?.mzxid == created.mzxid)  // ACL changes don't touch mzxid
        #expect(d.tree.acl(of: d.tree.node(at: "/a")!) == [worldRead])
        #expect(d.getACL(c, "/a").acl == [worldRead])
        #expect(d.getACL(c, "/a").stat?.aversion == 1)
        // Now read-only: writes are refused.
        #expect(d.setData(c, "/a", bytes("y")).err == .noAuth)
    }

    @Test func cversionCountsChildChangesAndPzxidFollowsThem() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/p")
        var lastChildZxid: Int64 = 0
        for name in ["a", "b", "c"] { lastChildZxid = d.create(c, "/p/\(name)").zxid }
        var s = d.stat("/p")!
        #expect(s.numChildren == 3)
        #expect(s.cversion == 3)
        #expect(s.pzxid == lastChildZxid)
        let del = d.delete(c, "/p/b")
        #expect(del.err == .ok)
        s = d.stat("/p")!
        #expect(s.numChildren == 2)
        #expect(s.cversion == 4)  // 3 creates + 1 delete = stored 3 * 2 - 2
        #expect(s.pzxid == del.zxid)
        #expect(d.tree.node(at: "/p")!.storedCversion == 3)
        #expect(s.version == 0 && s.mzxid == s.czxid)  // the parent's own data is untouched
        d.delete(c, "/p/a")
        d.delete(c, "/p/c")
        #expect(d.stat("/p")!.cversion == 6)
        #expect(d.stat("/p")!.numChildren == 0)
        #expect(d.getChildren(c, "/p").children == [])
    }

    @Test func sequentialNamesComeFromTheParentCreateCounter() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/s")
        let names = (0..<3).map { _ in d.create(c, "/s/n-", mode: .persistentSequential).createdPath }
        #expect(names == ["/s/n-0000000000", "/s/n-0000000001", "/s/n-0000000002"])
        // Plain creates advance the same counter, deletes don't.
        d.create(c, "/s/plain")
        d.delete(c, "/s/n-0000000000")
        d.delete(c, "/s/plain")
        #expect(d.create(c, "/s/n-", mode: .persistentSequential).createdPath == "/s/n-0000000004")
        // Ephemeral sequential shares it, whatever the prefix.
        #expect(d.create(c, "/s/lock-", mode: .ephemeralSequential).createdPath == "/s/lock-0000000005")
        // A prefix ending in "/" gives a bare number.
        #expect(d.create(c, "/s/", mode: .persistentSequential).createdPath == "/s/0000000006")
        #expect(d.children("/s").count == 5)
    }

    @Test func sequentialAfterCreateAndDelete() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/a")
        let first = d.create(c, "/a/x-", mode: .persistentSequential).createdPath!
        #expect(first == "/a/x-0000000000")
        d.delete(c, first)
        #expect(d.create(c, "/a/x-", mode: .persistentSequential).createdPath == "/a/x-0000000001")
    }

    @Test func trailingSlashSequentialCreate() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/a")
        for name in ["x", "y", "z"] { d.create(c, "/a/\(name)") }
        let r = d.create(c, "/a/", mode: .persistentSequential)
        #expect(r.err == .ok)
        #expect(r.createdPath == "/a/0000000003")
        #expect(d.exists("/a/0000000003"))
        // Without the sequential flag, "/a/" is an invalid path.
        #expect(d.create(c, "/a/").err == .badArguments)
    }

    @Test func sequentialUnderTheRootStartsAtZero() {
        var d = CoreDriver()
        let c = d.connect()
        // "/zookeeper" was never counted as a create, so the root's counter starts at 0.
        #expect(d.create(c, "/q-", mode: .persistentSequential).createdPath == "/q-0000000000")
        #expect(d.create(c, "/q-", mode: .persistentSequential).createdPath == "/q-0000000001")
    }

    @Test func sequentialCountersArePerParent() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/x")
        d.create(c, "/y")
        #expect(d.create(c, "/x/s", mode: .persistentSequential).createdPath == "/x/s0000000000")
        #expect(d.create(c, "/y/s", mode: .persistentSequential).createdPath == "/y/s0000000000")
        #expect(d.create(c, "/x/s", mode: .persistentSequential).createdPath == "/x/s0000000001")
    }

    @Test func sequenceSuffixIsJavaPercent010d() {
        #expect(RequestPreparer.sequenceSuffix(0) == "0000000000")
        #expect(RequestPreparer.sequenceSuffix(42) == "0000000042")
        #expect(RequestPreparer.sequenceSuffix(Int32.max) == "2147483647")
        // After the counter wraps, Java prints the sign inside the width.
        #expect(RequestPreparer.sequenceSuffix(-5) == "-000000005")
        #expect(RequestPreparer.sequenceSuffix(Int32.min) == "-2147483648")
    }

    @Test func readsReturnTheTree() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/r", bytes("root"))
        d.create(c, "/r/a")
        d.create(c, "/r/b")
        d.create(c, "/r/a/x")
        d.create(c, "/r/e", mode: .ephemeral)
        #expect(d.getChildren(c, "/r").children == ["a", "b", "e"])
        let c2 = d.call(c, .getChildren2(GetChildren2Request(path: "/r", watch: false)))
        #expect(c2.children == ["a", "b", "e"])
        #expect(c2.stat == d.stat("/r"))
        let all = d.call(c, .getAllChildrenNumber(GetAllChildrenNumberRequest(path: "/r")))
        #expect(all.response == .getAllChildrenNumber(GetAllChildrenNumberResponse(totalNumber: 4)))
        let eph = d.call(c, .getEphemerals(GetEphemeralsRequest(prefixPath: "/r")))
        #expect(eph.response == .getEphemerals(GetEphemeralsResponse(ephemerals: ["/r/e"])))
        let none = d.call(c, .getEphemerals(GetEphemeralsRequest(prefixPath: "/other")))
        #expect(none.response == .getEphemerals(GetEphemeralsResponse(ephemerals: [])))
        let allEph = d.call(c, .getEphemerals(GetEphemeralsRequest(prefixPath: "")))
        #expect(allEph.response == .getEphemerals(GetEphemeralsResponse(ephemerals: ["/r/e"])))
        #expect(d.exists(c, "/missing").err == .noNode)
        #expect(d.getData(c, "/missing").err == .noNode)
        #expect(d.getChildren(c, "/missing").err == .noNode)
        #expect(d.getACL(c, "/missing").err == .noNode)
        let sync = d.call(c, .sync(SyncRequest(path: "/r")))
        #expect(sync.response == .sync(SyncResponse(path: "/r")))
    }

    @Test func deleteRemovesTheNodeAndItsIndexes() {
        var d = CoreDriver(config: CoreConfiguration(extendedTypesEnabled: true))
        let c = d.connect()
        d.create(c, "/e", mode: .ephemeral)
        d.create(c, "/c", mode: .container)
        d.createTTL(c, "/t", ttl: 1000)
        let sizeBefore = d.tree.approximateDataSize
        d.create(c, "/d", bytes("12345"))
        #expect(d.tree.approximateDataSize == sizeBefore + 2 + 5)
        for p in ["/e", "/c", "/t", "/d"] { #expect(d.delete(c, p).err == .ok) }
        #expect(d.tree.ephemerals.isEmpty)
        #expect(d.tree.containers.isEmpty)
        #expect(d.tree.ttls.isEmpty)
        #expect(d.tree.approximateDataSize == sizeBefore - 2 - 2 - 2)
        #expect(d.tree.nodeCount == 4)
    }

    @Test func versionedDeleteAndSetData() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/v")
        d.setData(c, "/v", bytes("1"))
        #expect(d.setData(c, "/v", bytes("2"), version: 1).err == .ok)
        #expect(d.delete(c, "/v", version: 2).err == .ok)
        #expect(!d.exists("/v"))
    }
}
