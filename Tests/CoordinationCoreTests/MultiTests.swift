import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// multi: all or nothing, one zxid; on failure ZooKeeper's per-op results (0 before, the code, then -2).
@Suite struct MultiTests {
    static func createOp(_ path: String, _ data: [UInt8] = [], mode: CreateMode = .persistent) -> ZooKeeperRequest {
        .create(CreateRequest(path: path, data: data, acl: ACLs.openUnsafe, flags: mode.rawValue))
    }

    static func setDataOp(_ path: String, _ data: [UInt8], version: Int32 = -1) -> ZooKeeperRequest {
        .setData(SetDataRequest(path: path, data: data, version: version))
    }

    static func deleteOp(_ path: String, version: Int32 = -1) -> ZooKeeperRequest {
        .delete(DeleteRequest(path: path, version: version))
    }

    static func checkOp(_ path: String, version: Int32) -> ZooKeeperRequest {
        .check(CheckVersionRequest(path: path, version: version))
    }

    @Test func successAppliesEveryOpWithOneZxid() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/old")
        let logBefore = d.logged.count
        let r = d.multi(c, [
            Self.createOp("/m", bytes("a")),
            Self.createOp("/m/child"),
            Self.setDataOp("/m", bytes("bb"), version: 0),
            Self.checkOp("/m", version: 1),
            Self.deleteOp("/old"),
        ])
        #expect(r.err == .ok)
        let results = r.multiResults ?? []
        #expect(results.count == 5)
        #expect(results[0] == .success(.create, .create(CreateResponse(path: "/m"))))
        #expect(results[1] == .success(.create, .create(CreateResponse(path: "/m/child"))))
        #expect(results[3] == .success(.check, .empty))
        #expect(results[4] == .success(.delete, .empty))
        guard case .success(.setData, .setData(let setResponse)) = results[2] else {
            Issue.record("setData result: \(results[2])")
            return
        }
        // One transaction, one zxid for everything.
        let newLog = Array(d.logged.dropFirst(logBefore))
        #expect(newLog.count == 1)
        guard case .multi(let txns) = newLog.first?.transaction else {
            Issue.record("not a multi: \(newLog)")
            return
        }
        #expect(txns.count == 5)
        let zxid = newLog[0].header.zxid
        #expect(r.zxid == zxid)
        #expect(d.stat("/m")?.czxid == zxid)
        #expect(d.stat("/m")?.mzxid == zxid)
        #expect(d.stat("/m/child")?.czxid == zxid)
        #expect(d.stat("/m")?.pzxid == zxid)
        #expect(d.stat("/")?.pzxid == zxid)
        #expect(setResponse.stat.version == 1)
        #expect(setResponse.stat.mzxid == zxid)
        #expect(d.getData(c, "/m").data == bytes("bb"))
        #expect(!d.exists("/old"))
    }

    @Test func failureReportsEachOpAndChangesNothing() {
        var d = CoreDriver()
        let c = d.connect()
        let watcher = d.connect()
        d.create(c, "/x", bytes("keep"))
        d.getData(watcher, "/x", watch: true)
        d.getChildren(watcher, "/", watch: true)
        let before = image(of: d.tree)
        let r = d.multi(c, [
            Self.createOp("/new"),
            Self.setDataOp("/x", bytes("changed")),
            Self.setDataOp("/missing", bytes("y")),
            Self.createOp("/later"),
            Self.deleteOp("/x"),
        ])
        #expect(r.err == .ok)  // a multi's own header stays 0
        #expect(r.multiResults == [.error(.ok), .error(.ok), .error(.noNode), .error(.runtimeInconsistency), .error(.runtimeInconsistency)])
        #expect(image(of: d.tree) == before)
        #expect(d.last.notifications.isEmpty)
        // Nothing but (possibly) ZooKeeper's ErrorTxn is logged.
        for logged in d.last.logged {
            guard case .error = logged.transaction else {
                Issue.record("a failed multi logged \(logged)")
                continue
            }
        }
        // The watches set before are still armed.
        d.setData(c, "/x", bytes("now"))
        #expect(d.last.events(to: watcher.connection) == [Event(.nodeDataChanged, "/x")])
    }

    @Test func failedWritesTakeAZxidAsInZooKeeper() {
        // PrepRequestProcessor gives every write a zxid and logs an ErrorTxn when it fails.
        var d = CoreDriver()
        let c = d.connect()
        let z0 = d.machine.lastZxid
        let r = d.multi(c, [Self.createOp("/a"), Self.createOp("/a")])
        #expect(r.multiResults == [.error(.ok), .error(.nodeExists)])
        #expect(d.machine.lastZxid == z0 + 1)
        #expect(d.last.logged.count == 1)
        let failed = d.create(c, "/missing/x")
        #expect(failed.err == .noNode)
        #expect(d.machine.lastZxid == z0 + 2)
        #expect(failed.zxid == z0 + 2)
        #expect(d.create(c, "/b").stat?.czxid == z0 + 3)
    }

    @Test func laterOpsSeeEarlierOnes() {
        var d = CoreDriver()
        let c = d.connect()
        // Create a parent and its child.
        #expect(d.multi(c, [Self.createOp("/p"), Self.createOp("/p/c"), Self.createOp("/p/c/g")]).multiResults?.count == 3)
        #expect(d.children("/p") == ["c"])
        // Delete then create the same path: a new node.
        d.setData(c, "/p/c/g", bytes("old"))
        let oldCzxid = d.stat("/p/c/g")!.czxid
        let r = d.multi(c, [Self.deleteOp("/p/c/g", version: 1), Self.createOp("/p/c/g", bytes("new"))])
        #expect(r.multiResults == [.success(.delete, .empty), .success(.create, .create(CreateResponse(path: "/p/c/g")))])
        #expect(d.stat("/p/c/g")!.czxid > oldCzxid)
        #expect(d.stat("/p/c/g")!.version == 0)
        #expect(d.getData(c, "/p/c/g").data == bytes("new"))
        // Versions move within the multi.
        let v = d.multi(c, [
            Self.setDataOp("/p", bytes("1"), version: 0), Self.setDataOp("/p", bytes("2"), version: 1),
            Self.checkOp("/p", version: 2),
        ])
        #expect(v.multiResults?.count == 3)
        #expect(v.multiResults?.contains { if case .error = $0 { return true } else { return false } } == false)
        #expect(d.stat("/p")!.version == 2)
        // Deleting children and then their parent works; the reverse order sees NotEmpty.
        #expect(d.multi(c, [Self.deleteOp("/p/c/g"), Self.deleteOp("/p/c"), Self.deleteOp("/p")]).multiResults?.count == 3)
        #expect(!d.exists("/p"))
        d.create(c, "/q")
        d.create(c, "/q/c")
        #expect(d.multi(c, [Self.deleteOp("/q"), Self.deleteOp("/q/c")]).multiResults == [.error(.notEmpty), .error(.runtimeInconsistency)])
        #expect(d.exists("/q/c"))
    }

    @Test func earlierOpsCanMakeLaterOnesFail() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/a")
        // A node created by an earlier op exists for later ones.
        #expect(d.multi(c, [Self.createOp("/b"), Self.createOp("/b")]).multiResults == [.error(.ok), .error(.nodeExists)])
        // A node deleted by an earlier op is gone for later ones.
        #expect(d.multi(c, [Self.deleteOp("/a"), Self.setDataOp("/a", [])]).multiResults == [.error(.ok), .error(.noNode)])
        // An ephemeral created earlier can't get children.
        let r = d.multi(c, [Self.createOp("/e", mode: .ephemeral), Self.createOp("/e/x")])
        #expect(r.multiResults == [.error(.ok), .error(.noChildrenForEphemerals)])
        #expect(!d.exists("/b") && d.exists("/a") && !d.exists("/e"))
    }

    @Test func sequentialCreatesInOneMultiCountUp() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/s")
        let r = d.multi(c, [
            Self.createOp("/s/n-", mode: .persistentSequential), Self.createOp("/s/n-", mode: .persistentSequential),
            Self.createOp("/s/plain"), Self.createOp("/s/n-", mode: .ephemeralSequential),
        ])
        let paths = (r.multiResults ?? []).compactMap { result -> String? in
            if case .success(_, .create(let cr)) = result { return cr.path }
            return nil
        }
        #expect(paths == ["/s/n-0000000000", "/s/n-0000000001", "/s/plain", "/s/n-0000000003"])
        #expect(d.stat("/s")?.cversion == 4)
    }

    @Test func createThenDeleteInOneMultiLeavesOnlyTheCounters() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/p")
        let r = d.multi(c, [Self.createOp("/p/tmp"), Self.deleteOp("/p/tmp")])
        #expect(r.multiResults?.count == 2)
        #expect(!d.exists("/p/tmp"))
        #expect(d.tree.node(at: "/p")!.storedCversion == 1)
        #expect(d.stat("/p")!.cversion == 2)
        #expect(d.stat("/p")!.pzxid == r.zxid)
    }

    @Test func watchesFireOncePerChangeAfterTheMultiIsApplied() {
        var d = CoreDriver()
        let c = d.connect()
        let w = d.connect()
        d.create(c, "/a")
        d.getData(w, "/a", watch: true)
        d.exists(w, "/b", watch: true)
        d.getChildren(w, "/", watch: true)
        let r = d.multi(c, [Self.setDataOp("/a", bytes("1")), Self.setDataOp("/a", bytes("2")), Self.createOp("/b")])
        #expect(r.multiResults?.count == 3)
        let events = d.last.events(to: w.connection)
        #expect(events.count == 3)
        #expect(Set(events.map(\.description)) == ["nodeDataChanged(/a)", "nodeCreated(/b)", "nodeChildrenChanged(/)"])
        // All notifications come before the multi's reply.
        let replyAt = d.last.replyIndex(xid: r.xid, on: c.connection)!
        #expect(d.last.notificationIndices(to: w.connection).allSatisfy { $0 < replyAt })
    }

    @Test func emptyMultiSucceeds() {
        var d = CoreDriver()
        let c = d.connect()
        let r = d.multi(c, [])
        #expect(r.err == .ok)
        #expect(r.multiResults == [])
    }

    @Test func multiReadAnswersEachReadOnItsOwn() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/r", bytes("data"))
        d.create(c, "/r/k")
        d.create(c, "/secret", acl: [ACL(perms: Perms.write, id: ACLs.anyoneId)])
        let r = d.call(c, .multiRead([
            .getData(GetDataRequest(path: "/r", watch: false)),
            .getChildren(GetChildrenRequest(path: "/missing", watch: false)),
            .getChildren(GetChildrenRequest(path: "/r", watch: false)),
            .getData(GetDataRequest(path: "/secret", watch: false)),
        ]))
        #expect(r.err == .ok)
        let results = r.multiResults ?? []
        #expect(results.count == 4)
        #expect(results[0] == .success(.getData, .getData(GetDataResponse(data: bytes("data"), stat: d.stat("/r")!))))
        #expect(results[1] == .error(.noNode))
        #expect(results[2] == .success(.getChildren, .getChildren(GetChildrenResponse(children: ["k"]))))
        #expect(results[3] == .error(.noAuth))
        #expect(d.last.logged.isEmpty)
    }
}
