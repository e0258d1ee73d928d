import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// Watches as ZooKeeper's DataTree and WatchManager trigger them: one-shot data/exists/child watches,
/// persistent and persistent-recursive ones, setWatches replay, check/removeWatches.
@Suite struct WatchTests {
    /// A writer and a watcher on separate sessions.
    static func setUp() -> (CoreDriver, writer: Client, watcher: Client) {
        var d = CoreDriver()
        let w = d.connect()
        let b = d.connect()
        return (d, w, b)
    }

    @Test func dataWatchFiresOnceOnDataChange() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/n")
        #expect(d.getData(b, "/n", watch: true).err == .ok)
        d.setData(w, "/n", bytes("1"))
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/n")])
        d.setData(w, "/n", bytes("2"))
        #expect(d.last.events(to: b.connection) == [])
        // A child's creation is nothing to a data watch.
        d.getData(b, "/n", watch: true)
        d.create(w, "/n/c")
        #expect(d.last.events(to: b.connection) == [])
        // The writer gets no event for a watch it doesn't hold.
        d.setData(w, "/n", bytes("3"))
        #expect(d.last.events(to: w.connection) == [])
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/n")])
    }

    @Test func dataWatchOnAMissingNodeIsNotSet() {
        var (d, w, b) = Self.setUp()
        #expect(d.getData(b, "/nope", watch: true).err == .noNode)
        d.create(w, "/nope")
        #expect(d.last.events(to: b.connection) == [])
    }

    @Test func existsWatchOnAMissingNodeFiresNodeCreated() {
        var (d, w, b) = Self.setUp()
        #expect(d.exists(b, "/later", watch: true).err == .noNode)
        d.create(w, "/later")
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/later")])
        d.setData(w, "/later", bytes("x"))
        #expect(d.last.events(to: b.connection) == [])
        // On an existing node it is a data watch.
        d.exists(b, "/later", watch: true)
        d.delete(w, "/later")
        #expect(d.last.events(to: b.connection) == [Event(.nodeDeleted, "/later")])
    }

    @Test func childWatchFiresOnceOnChildChanges() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/p")
        #expect(d.getChildren(b, "/p", watch: true).err == .ok)
        d.setData(w, "/p", bytes("data"))
        #expect(d.last.events(to: b.connection) == [])  // data changes don't concern child watches
        d.create(w, "/p/a")
        #expect(d.last.events(to: b.connection) == [Event(.nodeChildrenChanged, "/p")])
        d.create(w, "/p/b")
        #expect(d.last.events(to: b.connection) == [])
        d.call(b, .getChildren2(GetChildren2Request(path: "/p", watch: true)))
        d.delete(w, "/p/a")
        #expect(d.last.events(to: b.connection) == [Event(.nodeChildrenChanged, "/p")])
        // Grandchildren are not children.
        d.getChildren(b, "/p", watch: true)
        d.create(w, "/p/b/g")
        #expect(d.last.events(to: b.connection) == [])
    }

    @Test func deleteFiresNodeDeletedOnceToAWatcherWithDataAndChildWatches() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/p")
        d.getData(b, "/p", watch: true)
        d.getChildren(b, "/p", watch: true)
        d.exists(b, "/p", watch: true)
        d.getChildren(b, "/", watch: true)
        d.delete(w, "/p")
        #expect(d.last.events(to: b.connection) == [Event(.nodeDeleted, "/p"), Event(.nodeChildrenChanged, "/")])
        // Both watches were consumed.
        d.create(w, "/p")
        #expect(d.last.events(to: b.connection) == [])
    }

    @Test func childWatchAloneGetsNodeDeleted() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/p")
        d.getChildren(b, "/p", watch: true)
        d.delete(w, "/p")
        #expect(d.last.events(to: b.connection) == [Event(.nodeDeleted, "/p")])
    }

    @Test func eachWatcherIsToldOnce() {
        var d = CoreDriver()
        let w = d.connect()
        let watchers = (0..<3).map { _ in d.connect() }
        d.create(w, "/n")
        for b in watchers { d.getData(b, "/n", watch: true) }
        d.getData(watchers[0], "/n", watch: true)  // the same watch twice is one watch
        d.setData(w, "/n", bytes("x"))
        for b in watchers { #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/n")]) }
    }

    @Test func notificationsComeAfterTheLogAndBeforeTheReply() {
        var d = CoreDriver()
        let c = d.connect()
        let other = d.connect()
        d.create(c, "/n")
        d.getData(c, "/n", watch: true)  // the writer watches its own node
        d.getData(other, "/n", watch: true)
        let r = d.setData(c, "/n", bytes("x"))
        let actions = d.last
        let logAt = actions.firstIndex { if case .log = $0 { return true } else { return false } }!
        let replyAt = actions.replyIndex(xid: r.xid, on: c.connection)!
        let own = actions.notificationIndices(to: c.connection)
        let theirs = actions.notificationIndices(to: other.connection)
        #expect(own.count == 1 && theirs.count == 1)
        #expect(own.allSatisfy { $0 > logAt && $0 < replyAt })
        #expect(theirs.allSatisfy { $0 > logAt && $0 < replyAt })
        // The event says SyncConnected; ZooKeeper 3.8 (NIOServerCnxn.process) puts zxid -1 in its header.
        guard case .send(_, .notification(let zxid, let event), _) = actions[own[0]] else { return }
        #expect(zxid == -1)
        #expect(event == WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: "/n"))
    }

    @Test func persistentWatchStaysAndSeesDataAndChildEvents() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/p")
        #expect(d.addWatch(b, "/p", .persistent).response == .addWatch)
        d.setData(w, "/p", bytes("1"))
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/p")])
        d.setData(w, "/p", bytes("2"))
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/p")])
        d.create(w, "/p/c")
        #expect(d.last.events(to: b.connection) == [Event(.nodeChildrenChanged, "/p")])
        d.create(w, "/p/c/g")  // not recursive
        #expect(d.last.events(to: b.connection) == [])
        d.delete(w, "/p/c/g")
        d.delete(w, "/p/c")
        #expect(d.last.events(to: b.connection) == [Event(.nodeChildrenChanged, "/p")])
        d.delete(w, "/p")
        #expect(d.last.events(to: b.connection) == [Event(.nodeDeleted, "/p")])
        d.create(w, "/p")
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/p")])
        #expect(d.call(b, .checkWatches(CheckWatchesRequest(path: "/p", type: WatcherType.any.rawValue))).err == .ok)
    }

    @Test func persistentWatchOnAMissingNode() {
        var (d, w, b) = Self.setUp()
        d.addWatch(b, "/ghost", .persistent)
        d.create(w, "/ghost")
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/ghost")])
    }

    @Test func persistentRecursiveWatchSeesDescendantsButNoChildEvents() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/r")
        d.addWatch(b, "/r", .persistentRecursive)
        d.create(w, "/r/a")
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/r/a")])
        d.create(w, "/r/a/b", bytes("x"))
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/r/a/b")])
        d.setData(w, "/r/a/b", bytes("y"))
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/r/a/b")])
        d.setData(w, "/r", bytes("z"))
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/r")])
        d.delete(w, "/r/a/b")
        #expect(d.last.events(to: b.connection) == [Event(.nodeDeleted, "/r/a/b")])
        // Outside the subtree: nothing (and "/rx" is not below "/r").
        d.create(w, "/rx")
        d.create(w, "/other")
        #expect(d.last.events(to: b.connection) == [])
        #expect(d.history.events(to: b.connection).allSatisfy { $0.type != .nodeChildrenChanged })
        // A one-shot watch on a descendant fires once; the recursive watcher is told once per change.
        d.getData(b, "/r/a", watch: true)
        d.setData(w, "/r/a", bytes("1"))
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/r/a")])
    }

    @Test func recursiveWatchOnTheRootSeesEverything() {
        var (d, w, b) = Self.setUp()
        d.addWatch(b, "/", .persistentRecursive)
        d.create(w, "/x")
        d.create(w, "/x/y")
        d.delete(w, "/x/y")
        #expect(d.history.events(to: b.connection) == [
            Event(.nodeCreated, "/x"), Event(.nodeCreated, "/x/y"), Event(.nodeDeleted, "/x/y"),
        ])
    }

    @Test func addWatchWithAnUnknownModeIsRefused() {
        var (d, _, b) = Self.setUp()
        let r = d.call(b, .addWatch(AddWatchRequest(path: "/", mode: 7)))
        #expect(r.err != .ok)
        #expect(d.machine.watches.count == 0)
    }

    // MARK: check/removeWatches

    @Test func checkAndRemoveStandardWatches() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/n")
        func check(_ path: String, _ type: WatcherType) -> ErrorCode {
            d.call(b, .checkWatches(CheckWatchesRequest(path: path, type: type.rawValue))).err
        }
        func remove(_ path: String, _ type: WatcherType) -> ErrorCode {
            d.call(b, .removeWatches(RemoveWatchesRequest(path: path, type: type.rawValue))).err
        }
        #expect(check("/n", .data) == .noWatcher)
        #expect(check("/n", .any) == .noWatcher)
        d.getData(b, "/n", watch: true)
        #expect(check("/n", .data) == .ok)
        #expect(check("/n", .any) == .ok)
        #expect(check("/n", .children) == .noWatcher)
        #expect(remove("/n", .children) == .noWatcher)
        #expect(remove("/n", .data) == .ok)
        #expect(check("/n", .data) == .noWatcher)
        #expect(remove("/n", .data) == .noWatcher)
        d.setData(w, "/n", bytes("x"))
        #expect(d.last.events(to: b.connection) == [])
        // Any removes data and child watches together.
        d.getData(b, "/n", watch: true)
        d.getChildren(b, "/n", watch: true)
        #expect(check("/n", .children) == .ok)
        #expect(remove("/n", .any) == .ok)
        #expect(check("/n", .any) == .noWatcher)
        d.setData(w, "/n", bytes("y"))
        d.create(w, "/n/c")
        #expect(d.last.events(to: b.connection) == [])
        // Exists watches on missing nodes are data watches.
        d.exists(b, "/missing", watch: true)
        #expect(check("/missing", .data) == .ok)
        // Another session's watches are not ours.
        d.getData(w, "/n", watch: true)
        #expect(check("/n", .data) == .noWatcher)
    }

    @Test func anyAddressesPersistentWatchesToo() {
        // ZooKeeper 3.8 knows watcher types Children, Data and Any for check/removeWatches (3.9 adds Persistent and
        // PersistentRecursive); Any matches and removes watches of every mode.
        var (d, w, b) = Self.setUp()
        d.create(w, "/p")
        func check(_ type: WatcherType) -> ErrorCode {
            d.call(b, .checkWatches(CheckWatchesRequest(path: "/p", type: type.rawValue))).err
        }
        func remove(_ type: WatcherType) -> ErrorCode {
            d.call(b, .removeWatches(RemoveWatchesRequest(path: "/p", type: type.rawValue))).err
        }
        d.addWatch(b, "/p", .persistent)
        #expect(check(.any) == .ok)
        #expect(remove(.any) == .ok)
        #expect(check(.any) == .noWatcher)
        #expect(remove(.any) == .noWatcher)
        d.setData(w, "/p", bytes("x"))
        d.create(w, "/p/c")
        #expect(d.history.events(to: b.connection) == [])

        d.addWatch(b, "/p", .persistentRecursive)
        #expect(check(.any) == .ok)
        #expect(remove(.any) == .ok)
        d.create(w, "/p/c/d")
        #expect(d.last.events(to: b.connection) == [])
        #expect(d.machine.watches.count == 0)
        // A type no version knows.
        #expect(d.call(b, .checkWatches(CheckWatchesRequest(path: "/p", type: 9))).err != .ok)
        #expect(d.call(b, .removeWatches(RemoveWatchesRequest(path: "/p", type: 0))).err != .ok)
    }

    // MARK: Connections

    @Test func watchesVanishWhenTheConnectionCloses() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/n")
        d.getData(b, "/n", watch: true)
        d.getChildren(b, "/n", watch: true)
        d.exists(b, "/missing", watch: true)
        d.addWatch(b, "/", .persistentRecursive)
        #expect(d.machine.watches.count > 0)
        d.closeConnection(b.connection)
        #expect(d.machine.watches.count == 0)
        // The session lives on; reattached, it has no watches until it sets them again.
        let again = d.reattach(b).client
        d.setData(w, "/n", bytes("x"))
        d.create(w, "/missing")
        d.create(w, "/n/c")
        #expect(d.last.events(to: again.connection) == [])
        #expect(d.history.events(to: again.connection) == [])
    }

    @Test func reattachingMovesNothingToTheOldConnection() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/n")
        let old = b.connection
        let again = d.reattach(b).client
        d.getData(again, "/n", watch: true)
        d.setData(w, "/n", bytes("x"))
        #expect(d.last.events(to: again.connection) == [Event(.nodeDataChanged, "/n")])
        #expect(d.last.events(to: old) == [])
    }

    // MARK: setWatches

    @Test func setWatchesReplaysWhatWasMissedAndArmsTheRest() {
        var (d, w, b) = Self.setUp()
        for p in ["/changed", "/same", "/deleted", "/kids", "/quiet", "/gone"] { d.create(w, p) }
        d.create(w, "/kids/old")
        let relativeZxid = d.machine.lastZxid  // what B had seen when its connection dropped
        d.closeConnection(b.connection)
        d.setData(w, "/changed", bytes("x"))
        d.delete(w, "/deleted")
        d.create(w, "/created")
        d.create(w, "/kids/new")
        d.delete(w, "/gone")
        let again = d.reattach(b, lastZxidSeen: relativeZxid).client
        let r = d.call(again, .setWatches(SetWatches(
            relativeZxid: relativeZxid,
            dataWatches: ["/changed", "/same", "/deleted"],
            existWatches: ["/created", "/absent"],
            childWatches: ["/kids", "/quiet", "/gone"])), xid: -8)
        #expect(r.err == .ok)
        #expect(r.xid == -8)
        let replayed = d.last.events(to: again.connection)
        #expect(replayed == [
            Event(.nodeDataChanged, "/changed"), Event(.nodeDeleted, "/deleted"), Event(.nodeCreated, "/created"),
            Event(.nodeChildrenChanged, "/kids"), Event(.nodeDeleted, "/gone"),
        ])
        // Replayed events come before the reply.
        let replyAt = d.last.replyIndex(xid: -8, on: again.connection)!
        #expect(d.last.notificationIndices(to: again.connection).allSatisfy { $0 < replyAt })
        // The rest are armed as ordinary one-shot watches.
        d.setData(w, "/same", bytes("y"))
        #expect(d.last.events(to: again.connection) == [Event(.nodeDataChanged, "/same")])
        d.create(w, "/absent")
        #expect(d.last.events(to: again.connection) == [Event(.nodeCreated, "/absent")])
        d.create(w, "/quiet/c")
        #expect(d.last.events(to: again.connection) == [Event(.nodeChildrenChanged, "/quiet")])
        // Replayed ones were not armed.
        d.setData(w, "/changed", bytes("z"))
        #expect(d.last.events(to: again.connection) == [])
        d.create(w, "/kids/newer")
        #expect(d.last.events(to: again.connection) == [])
    }

    @Test func setWatches2RestoresPersistentWatches() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/p")
        d.create(w, "/r")
        let z = d.machine.lastZxid
        d.closeConnection(b.connection)
        let again = d.reattach(b, lastZxidSeen: z).client
        let r = d.call(again, .setWatches2(SetWatches2(
            relativeZxid: z, dataWatches: [], existWatches: [], childWatches: [], persistentWatches: ["/p"],
            persistentRecursiveWatches: ["/r"])), xid: -8)
        #expect(r.err == .ok)
        d.create(w, "/p/c")
        #expect(d.last.events(to: again.connection) == [Event(.nodeChildrenChanged, "/p")])
        d.create(w, "/r/c")
        d.create(w, "/r/c/d")
        #expect(d.history.events(to: again.connection).suffix(2) == [Event(.nodeCreated, "/r/c"), Event(.nodeCreated, "/r/c/d")])
        d.setData(w, "/p", bytes("1"))
        d.setData(w, "/p", bytes("2"))
        #expect(d.history.events(to: again.connection).suffix(2) == [Event(.nodeDataChanged, "/p"), Event(.nodeDataChanged, "/p")])
    }

    // MARK: Registry units

    @Test func registryCountsAndIndexes() {
        var reg = WatchRegistry()
        reg.add(.data, path: "/a", watcher: 1)
        reg.add(.child, path: "/a", watcher: 1)
        reg.add(.data, path: "/b", watcher: 2)
        reg.addPersistent(path: "/c", watcher: 2, recursive: false)
        reg.addPersistent(path: "/d", watcher: 1, recursive: true)
        #expect(reg.count == 6)  // (path, watcher) per table
        #expect(reg.watcherCount == 2)
        #expect(reg.watchedPathCount == 4)
        #expect(reg.pathsByWatcher() == [1: ["/a", "/d"], 2: ["/b", "/c"]])
        #expect(reg.watchersByPath() == ["/a": [1], "/b": [2], "/c": [2], "/d": [1]])
        var out: [WatchDelivery] = []
        reg.fire(.dataChanged("/a"), into: &out)
        #expect(out == [WatchDelivery(watcher: 1, type: .nodeDataChanged, path: "/a")])
        #expect(reg.pathsByWatcher()[1] == ["/a", "/d"])  // the child watch on /a remains
        out = []
        reg.fire(.childrenChanged("/a"), into: &out)
        #expect(reg.pathsByWatcher()[1] == ["/d"])
        reg.removeAll(watcher: 1)
        reg.removeAll(watcher: 2)
        #expect(reg.count == 0 && reg.watcherCount == 0 && reg.watchedPathCount == 0)
        out = []
        reg.fire(.dataChanged("/d/x"), into: &out)
        #expect(out.isEmpty)
    }
}
