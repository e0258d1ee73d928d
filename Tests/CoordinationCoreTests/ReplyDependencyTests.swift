import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// Each send says which zxid must be durable before it may leave (`CoreAction.send(_, _, after:)`): the shell
/// answers reads of durable data while other sessions' writes wait for fsync, and holds whatever reveals a
/// write that is not yet durable.
@Suite struct ReplyDependencyTests {
    /// A session, then /a, /b (zxids 2, 3) and a setData of /b (4).
    static func setUp() -> (CoreDriver, Client) {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/a", bytes("a"))
        d.create(c, "/b", bytes("b"))
        d.setData(c, "/b", bytes("b2"))
        #expect(d.machine.lastZxid == 4)
        return (d, c)
    }

    @Test func writesWaitForTheirOwnTransaction() {
        var (d, c) = Self.setUp()
        let other = d.connect()  // zxid 5
        _ = d.getData(other, "/a", watch: true)
        let (reply, after) = d.callWithDependency(c, .setData(SetDataRequest(path: "/a", data: bytes("x"), version: -1)))
        #expect(reply.err == .ok)
        #expect(after == 6 && reply.zxid == 6)
        // The watch event the write fires waits for the write too.
        #expect(d.last.notificationDependencies(to: other.connection) == [6])
        // A failed write logs an error transaction and its reply waits for it.
        let failed = d.callWithDependency(c, .delete(DeleteRequest(path: "/missing", version: -1)))
        #expect(failed.reply.err == .noNode)
        #expect(failed.after == 7)
        #expect(d.last.logged.map(\.header.zxid) == [7])
    }

    @Test func readsOfAnOlderNodeDependOnItsZxids() {
        var (d, c) = Self.setUp()
        do { let v = d.callWithDependency(c, .getData(GetDataRequest(path: "/a", watch: false))).after; #expect(v == 2) }
        do { let v = d.callWithDependency(c, .exists(ExistsRequest(path: "/a", watch: true))).after; #expect(v == 2) }
        do { let v = d.callWithDependency(c, .getACL(GetACLRequest(path: "/a"))).after; #expect(v == 2) }
        do { let v = d.callWithDependency(c, .getChildren(GetChildrenRequest(path: "/a", watch: false))).after; #expect(v == 2) }
        // /b was created at 3 and changed at 4.
        do { let v = d.callWithDependency(c, .getData(GetDataRequest(path: "/b", watch: false))).after; #expect(v == 4) }
        // Later writes elsewhere do not move what a read of /a waits for.
        d.create(c, "/c")
        d.setData(c, "/b", bytes("b3"))
        #expect(d.machine.lastZxid == 6)
        do { let v = d.callWithDependency(c, .getData(GetDataRequest(path: "/a", watch: false))).after; #expect(v == 2) }
    }

    @Test func childrenAndStatsDependOnThePzxid() {
        var (d, c) = Self.setUp()
        d.create(c, "/a/x")  // 5: moves /a's pzxid (children, numChildren, cversion)
        d.create(c, "/b/y")  // 6
        do { let v = d.callWithDependency(c, .getChildren(GetChildrenRequest(path: "/a", watch: false))).after; #expect(v == 5) }
        do { let v = d.callWithDependency(c, .getChildren2(GetChildren2Request(path: "/a", watch: false))).after; #expect(v == 5) }
        do { let v = d.callWithDependency(c, .getData(GetDataRequest(path: "/a", watch: false))).after; #expect(v == 5) }
        do { let v = d.callWithDependency(c, .exists(ExistsRequest(path: "/a", watch: false))).after; #expect(v == 5) }
        d.delete(c, "/a/x")  // 7
        d.create(c, "/c")  // 8
        do { let v = d.callWithDependency(c, .getChildren2(GetChildren2Request(path: "/a", watch: false))).after; #expect(v == 7) }
    }

    @Test func noNodeDependsOnTheNearestAncestorsPzxid() {
        var (d, c) = Self.setUp()
        d.create(c, "/a/x")  // 5
        d.create(c, "/a/x/y")  // 6
        d.create(c, "/b/z")  // 7
        d.delete(c, "/a/x/y")  // 8
        // /a/x/y is gone at 8: its parent's pzxid.
        let gone = d.callWithDependency(c, .exists(ExistsRequest(path: "/a/x/y", watch: false)))
        #expect(gone.reply.err == .noNode)
        #expect(gone.after == 8)
        do { let v = d.callWithDependency(c, .getData(GetDataRequest(path: "/a/x/y/deeper", watch: false))).after; #expect(v == 8) }
        d.delete(c, "/a/x")  // 9
        d.create(c, "/c")  // 10
        // Now /a is the nearest ancestor and its pzxid says when /a/x went.
        do { let v = d.callWithDependency(c, .getData(GetDataRequest(path: "/a/x/y", watch: false))).after; #expect(v == 9) }
        do { let v = d.callWithDependency(c, .getChildren(GetChildrenRequest(path: "/a/x", watch: false))).after; #expect(v == 9) }
        // Never there: the root's pzxid (the last create or delete right below the root: /c at 10).
        do { let v = d.callWithDependency(c, .exists(ExistsRequest(path: "/never", watch: false))).after; #expect(v == 10) }
        d.create(c, "/b/w")  // 11, not below the root
        do { let v = d.callWithDependency(c, .exists(ExistsRequest(path: "/never", watch: false))).after; #expect(v == 10) }
    }

    @Test func ephemeralsRemovedWithTheirSessionMoveTheParent() {
        var (d, c) = Self.setUp()
        let owner = d.connect()  // 5
        d.create(owner, "/a/e", mode: .ephemeral)  // 6
        d.call(owner, .closeSession)  // 7 removes /a/e
        d.create(c, "/c")  // 8
        let r = d.callWithDependency(c, .exists(ExistsRequest(path: "/a/e", watch: false)))
        #expect(r.reply.err == .noNode)
        #expect(r.after == 7)
    }

    @Test func anACLChangeCountsForEveryNodeRead() {
        var (d, c) = Self.setUp()
        d.setACL(c, "/b", ACLs.openUnsafe)  // 5: moves no node zxid
        #expect(d.stat("/b")?.mzxid == 4)
        do { let v = d.callWithDependency(c, .getACL(GetACLRequest(path: "/b"))).after; #expect(v == 5) }
        do { let v = d.callWithDependency(c, .exists(ExistsRequest(path: "/b", watch: false))).after; #expect(v == 5) }
        do { let v = d.callWithDependency(c, .getData(GetDataRequest(path: "/a", watch: false))).after; #expect(v == 5) }
        // A refusal reveals the ACL as well.
        d.setACL(c, "/a", [digestACL("u:p")])  // 6
        d.create(c, "/c")  // 7
        let refused = d.callWithDependency(c, .getData(GetDataRequest(path: "/a", watch: false)))
        #expect(refused.reply.err == .noAuth)
        #expect(refused.after == 6)
    }

    @Test func recoveredStateIsDurable() {
        var (d, c) = Self.setUp()
        d.create(c, "/c")  // 5
        // A machine on the recovered state starts its ACL-change mark at the recovered zxid, which is durable.
        var restarted = CoreDriver(state: d.state)
        let r = restarted.connect()  // 6
        do { let v = restarted.callWithDependency(r, .getData(GetDataRequest(path: "/a", watch: false))).after; #expect(v == 5) }
    }

    @Test(arguments: [
        ZooKeeperRequest.sync(SyncRequest(path: "/a")),
        .getAllChildrenNumber(GetAllChildrenNumberRequest(path: "/a")),
        .multiRead([.getData(GetDataRequest(path: "/a", watch: false))]),
        .getEphemerals(GetEphemeralsRequest(prefixPath: "/")),
        .whoAmI,
        .check(CheckVersionRequest(path: "/a", version: 0)),
        .exists(ExistsRequest(path: "/a\u{0}", watch: false)),
        .setWatches(SetWatches(relativeZxid: 0, dataWatches: ["/a"], existWatches: [], childWatches: [])),
    ])
    func everythingElseWaitsForTheLastSubmittedZxid(_ request: ZooKeeperRequest) {
        var (d, c) = Self.setUp()
        d.create(c, "/c")  // 5
        let (_, after) = d.callWithDependency(c, request)
        #expect(after == 5)
        // Events setWatches sends reveal state too.
        #expect(d.last.notificationDependencies(to: c.connection).allSatisfy { $0 == 5 })
    }

    @Test func connectResponsesAndPingsAreConservative() {
        var (d, c) = Self.setUp()
        let fresh = d.connect()  // 5
        #expect(d.last.contains { if case .send(fresh.connection, .connectResponse, 5) = $0 { return true } else { return false } })
        do { let v = d.callWithDependency(c, .ping).after; #expect(v == 5) }
    }
}
