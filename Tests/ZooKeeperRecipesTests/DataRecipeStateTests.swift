import Foundation
import Testing
import ZooKeeperRecipes

// The pure parts of the data recipes, driven step by step: no server, no clock, no sleeps.

func dataStat(czxid: Int64 = 10, mzxid: Int64 = 10, version: Int32 = 0) -> Stat {
    Stat(
        czxid: czxid, mzxid: mzxid, ctime: 0, mtime: 0, version: version, cversion: 0, aversion: 0, ephemeralOwner: 0,
        dataLength: 0, numChildren: 0, pzxid: czxid)
}

@Suite struct DataWatchedValueStateTests {
    @Test func firstReadOfAMissingNodeIsNeverExistedThenDeletedAfterItExisted() {
        var machine = WatchedValueStateMachine()
        #expect(machine.next() == .read)
        #expect(machine.next() == .wait)
        #expect(machine.readCompleted(.absent) == .neverExisted)
        machine.receive(.watchFired)
        #expect(machine.next() == .read)
        let v1 = dataStat(czxid: 5, mzxid: 5)
        #expect(machine.readCompleted(.present(Data("a".utf8), v1)) == .present(Data("a".utf8), v1))
        machine.receive(.watchFired)
        #expect(machine.next() == .read)
        #expect(machine.readCompleted(.absent) == .deleted)
        // Absent again (e.g. a re-read after a reconnect): nothing new.
        #expect(machine.readCompleted(.absent) == nil)
        // Re-created: a new value.
        let v2 = dataStat(czxid: 9, mzxid: 9)
        #expect(machine.readCompleted(.present(Data("b".utf8), v2)) == .present(Data("b".utf8), v2))
    }

    @Test func sameVersionIsNotReportedTwice() {
        var machine = WatchedValueStateMachine()
        _ = machine.next()
        let stat = dataStat(czxid: 5, mzxid: 7, version: 2)
        #expect(machine.readCompleted(.present(Data("x".utf8), stat)) != nil)
        machine.receive(.connection(.reconnected))
        #expect(machine.next() == .read)
        #expect(machine.readCompleted(.present(Data("x".utf8), stat)) == nil)
        let newer = dataStat(czxid: 5, mzxid: 8, version: 3)
        #expect(machine.readCompleted(.present(Data("y".utf8), newer)) == .present(Data("y".utf8), newer))
    }

    @Test func suspendedWaitsReconnectedReads() {
        var machine = WatchedValueStateMachine()
        _ = machine.next()
        _ = machine.readCompleted(.absent)
        machine.receive(.connection(.suspended))
        #expect(machine.next() == .wait)
        machine.receive(.connection(.reconnected))
        #expect(machine.next() == .read)
    }

    @Test func expiryRenewsTheSessionThenReads() {
        var machine = WatchedValueStateMachine()
        _ = machine.next()
        _ = machine.readCompleted(.present(Data(), dataStat()))
        machine.receive(.connection(.expired))
        #expect(machine.next() == .renewSession)
        let delay = machine.sessionRenewFailed()
        #expect(delay == RecipeBackoff.initial)
        #expect(machine.next() == .wait)
        machine.receive(.retry)
        #expect(machine.next() == .renewSession)
        machine.sessionRenewed()
        #expect(machine.next() == .read)
    }

    @Test func aWatchEndedByExpiryRenewsTheSession() {
        var machine = WatchedValueStateMachine()
        _ = machine.next()
        machine.receive(.watchEnded(expired: true))
        #expect(machine.next() == .renewSession)
    }

    @Test func failedReadsBackOffAndRetry() {
        var machine = WatchedValueStateMachine()
        #expect(machine.next() == .read)
        #expect(machine.readFailed(.connectionLoss) == .milliseconds(50))
        #expect(machine.next() == .wait)
        machine.receive(.retry)
        #expect(machine.next() == .read)
        #expect(machine.readFailed(.connectionLoss) == .milliseconds(100))
        machine.receive(.retry)
        #expect(machine.next() == .read)
        #expect(machine.readFailed(.sessionExpired) == nil)
        #expect(machine.next() == .renewSession)
    }

    @Test func closedFinishes() {
        var machine = WatchedValueStateMachine()
        machine.receive(.connection(.closed))
        #expect(machine.next() == .finish)
    }

    @Test func backoffDoublesUpToTheMaximum() {
        var backoff = RecipeBackoff()
        let delays = (0..<8).map { _ in backoff.next() }
        #expect(delays.first == .milliseconds(50))
        #expect(delays.last == .seconds(2))
        backoff.reset()
        #expect(backoff.next() == .milliseconds(50))
    }
}

@Suite struct DataTreeCacheStateTests {
    func node(_ text: String, czxid: Int64 = 1, mzxid: Int64 = 1) -> TreeCacheNode {
        TreeCacheNode(data: Data(text.utf8), stat: dataStat(czxid: czxid, mzxid: mzxid))
    }

    @Test func setsTheWatchThenLoadsThenReportsInitializedOnce() {
        var machine = TreeCacheStateMachine(root: "/r")
        #expect(machine.next() == .setWatch(generation: 1))
        machine.watchSet(generation: 1)
        #expect(machine.mode == .persistentRecursive)
        #expect(machine.next() == .fullLoad(.persistentRecursive))
        let events = machine.loaded(["/r": node(""), "/r/a": node("1")])
        #expect(events == [.added(path: "/r", node: node("")), .added(path: "/r/a", node: node("1")), .initialized])
        #expect(machine.next() == .wait)
        // A reconnect resyncs; no second initialized.
        _ = machine.receive(.connection(.reconnected))
        #expect(machine.next() == .fullLoad(.persistentRecursive))
        #expect(machine.loaded(["/r": node(""), "/r/a": node("1")]) == [])
    }

    @Test func unimplementedAddWatchFallsBackToOneShot() {
        var machine = TreeCacheStateMachine(root: "/r")
        #expect(machine.next() == .setWatch(generation: 1))
        machine.watchUnsupported()
        #expect(machine.mode == .oneShot)
        #expect(machine.next() == .fullLoad(.oneShot))
        _ = machine.loaded(["/r": node("")])
        // One-shot mode never asks for the persistent watch again, even after a new session.
        _ = machine.receive(.connection(.connected))
        #expect(machine.next() == .fullLoad(.oneShot))
    }

    @Test func persistentEventsBecomeReadsAndDeletesRemoveSubtrees() {
        var machine = TreeCacheStateMachine(root: "/r")
        _ = machine.next()
        machine.watchSet(generation: 1)
        _ = machine.next()
        _ = machine.loaded(["/r": node(""), "/r/a": node("1"), "/r/a/b": node("2")])
        #expect(machine.receive(.event(WatchEvent(type: .nodeCreated, path: "/r/c"))) == [])
        #expect(machine.receive(.event(WatchEvent(type: .nodeDataChanged, path: "/r/a"))) == [])
        #expect(machine.receive(.event(WatchEvent(type: .nodeDataChanged, path: "/r/a"))) == [])
        #expect(machine.receive(.event(WatchEvent(type: .nodeCreated, path: "/elsewhere"))) == [])
        #expect(machine.next() == .read(["/r/c", "/r/a"], .persistentRecursive))
        #expect(machine.readCompleted("/r/c", .present(node("3", czxid: 4, mzxid: 4), children: nil))
            == [.added(path: "/r/c", node: node("3", czxid: 4, mzxid: 4))])
        #expect(machine.readCompleted("/r/a", .present(node("1b", mzxid: 5), children: nil))
            == [.changed(path: "/r/a", node: node("1b", mzxid: 5))])
        // Unchanged version: nothing.
        #expect(machine.readCompleted("/r/a", .present(node("1b", mzxid: 5), children: nil)) == [])
        let removed = machine.receive(.event(WatchEvent(type: .nodeDeleted, path: "/r/a")))
        #expect(removed == [.removed(path: "/r/a/b", node: node("2")), .removed(path: "/r/a", node: node("1b", mzxid: 5))])
        #expect(machine.nodes.keys.sorted() == ["/r", "/r/c"])
    }

    @Test func subtreesAddedByReadsAreRemovedWithTheirParentAndOthersStay() {
        var machine = TreeCacheStateMachine(root: "/r")
        _ = machine.next()
        machine.watchSet(generation: 1)
        _ = machine.next()
        _ = machine.loaded(["/r": node(""), "/r/a": node("1"), "/r/ab": node("x")])
        // Nodes learnt one by one after the load, one of them below a node not (yet) cached.
        for path in ["/r/a/b", "/r/a/b/c", "/r/a/z/deep"] {
            _ = machine.receive(.event(WatchEvent(type: .nodeCreated, path: path)))
        }
        #expect(machine.next() == .read(["/r/a/b", "/r/a/b/c", "/r/a/z/deep"], .persistentRecursive))
        for path in ["/r/a/b", "/r/a/b/c", "/r/a/z/deep"] {
            _ = machine.readCompleted(path, .present(node(path), children: nil))
        }
        // A leaf goes alone.
        #expect(machine.receive(.event(WatchEvent(type: .nodeDeleted, path: "/r/a/b/c")))
            == [.removed(path: "/r/a/b/c", node: node("/r/a/b/c"))])
        // A parent takes its whole cached subtree, deepest first, and not its sibling "/r/ab" (a name prefix).
        let removed = machine.receive(.event(WatchEvent(type: .nodeDeleted, path: "/r/a")))
        #expect(removed.map(\.path) == ["/r/a/z/deep", "/r/a/b", "/r/a"])
        #expect(machine.nodes.keys.sorted() == ["/r", "/r/ab"])
        // Re-created later, the same paths are tracked again.
        _ = machine.receive(.event(WatchEvent(type: .nodeCreated, path: "/r/a")))
        #expect(machine.next() == .read(["/r/a"], .persistentRecursive))
        _ = machine.readCompleted("/r/a", .present(node("again"), children: nil))
        #expect(machine.receive(.event(WatchEvent(type: .nodeDeleted, path: "/r")))
            .map(\.path) == ["/r/a", "/r/ab", "/r"])
        #expect(machine.nodes.isEmpty)
    }

    @Test func oneShotChildListsAddAndRemoveChildren() {
        var machine = TreeCacheStateMachine(root: "/r")
        _ = machine.next()
        machine.watchUnsupported()
        _ = machine.next()
        _ = machine.loaded(["/r": node(""), "/r/a": node("1")])
        _ = machine.receive(.event(WatchEvent(type: .nodeChildrenChanged, path: "/r")))
        #expect(machine.next() == .read(["/r"], .oneShot))
        let events = machine.readCompleted("/r", .present(node(""), children: ["b"]))
        #expect(events == [.removed(path: "/r/a", node: node("1"))])
        #expect(machine.next() == .read(["/r/b"], .oneShot))
    }

    @Test func fullLoadReportsWhatChangedWhileAway() {
        var machine = TreeCacheStateMachine(root: "/r")
        _ = machine.next()
        machine.watchSet(generation: 1)
        _ = machine.next()
        _ = machine.loaded(["/r": node(""), "/r/a": node("1"), "/r/b": node("2")])
        _ = machine.receive(.connection(.expired))
        #expect(machine.next() == .renewSession)
        machine.sessionRenewed()
        #expect(machine.next() == .setWatch(generation: 2))
        machine.watchSet(generation: 2)
        #expect(machine.next() == .fullLoad(.persistentRecursive))
        let events = machine.loaded(["/r": node(""), "/r/b": node("2x", mzxid: 9), "/r/c": node("3")])
        #expect(events == [
            .removed(path: "/r/a", node: node("1")),
            .changed(path: "/r/b", node: node("2x", mzxid: 9)),
            .added(path: "/r/c", node: node("3")),
        ])
    }

    @Test func aStaleWatchEndingIsIgnoredAndTheCurrentOneIsReplaced() {
        var machine = TreeCacheStateMachine(root: "/r")
        _ = machine.next()
        machine.watchSet(generation: 1)
        _ = machine.next()
        _ = machine.loaded([:])
        _ = machine.receive(.watchEnded(generation: 7, expired: false))
        #expect(machine.next() == .wait)
        _ = machine.receive(.watchEnded(generation: 1, expired: false))
        #expect(machine.next() == .setWatch(generation: 2))
    }

    @Test func failuresRetryAfterABackoff() {
        var machine = TreeCacheStateMachine(root: "/r")
        _ = machine.next()
        #expect(machine.watchFailed(.connectionLoss) == .milliseconds(50))
        #expect(machine.next() == .wait)
        _ = machine.receive(.retry)
        #expect(machine.next() == .setWatch(generation: 2))
        machine.watchSet(generation: 2)
        _ = machine.next()
        #expect(machine.loadFailed(.connectionLoss) == .milliseconds(100))
        _ = machine.receive(.retry)
        #expect(machine.next() == .fullLoad(.persistentRecursive))
        _ = machine.loaded([:])
        #expect(machine.readFailed(["/r/x", "/r/y"], .connectionLoss) == .milliseconds(50))
        _ = machine.receive(.retry)
        #expect(machine.next() == .read(["/r/x", "/r/y"], .persistentRecursive))
        _ = machine.receive(.connection(.closed))
        #expect(machine.next() == .stop)
    }
}

@Suite struct DataDoubleBarrierStateTests {
    @Test func enterCreatesReadyWithEnoughMembers() {
        #expect(DoubleBarrierStateMachine.enter(memberCount: 2, memberQuantity: 3) == .waitForReady)
        #expect(DoubleBarrierStateMachine.enter(memberCount: 3, memberQuantity: 3) == .createReady)
        #expect(DoubleBarrierStateMachine.members(["b", "ready", "a"]) == ["a", "b"])
    }

    @Test func leaveLowestWaitsForHighestOthersDeleteAndWaitForLowest() {
        let children = ["c", "a", "ready", "b"]
        #expect(DoubleBarrierStateMachine.leave(children: children, ours: "a", ourNodeShouldExist: true)
            == .waitFor("c", deleteOursFirst: false))
        #expect(DoubleBarrierStateMachine.leave(children: children, ours: "b", ourNodeShouldExist: true)
            == .waitFor("a", deleteOursFirst: true))
        // After deleting ours, we only wait for the lowest.
        #expect(DoubleBarrierStateMachine.leave(children: ["a", "c"], ours: "b", ourNodeShouldExist: false)
            == .waitFor("a", deleteOursFirst: false))
    }

    @Test func leaveEnds() {
        #expect(DoubleBarrierStateMachine.leave(children: ["a", "ready"], ours: "a", ourNodeShouldExist: true)
            == .done(deleteOurs: true))
        #expect(DoubleBarrierStateMachine.leave(children: ["a"], ours: "b", ourNodeShouldExist: false)
            == .done(deleteOurs: false))
        #expect(DoubleBarrierStateMachine.leave(children: ["ready"], ours: "b", ourNodeShouldExist: false)
            == .done(deleteOurs: false))
        #expect(DoubleBarrierStateMachine.leave(children: ["a", "c"], ours: "b", ourNodeShouldExist: true)
            == .ourNodeMissing)
    }
}

@Suite struct DataCodecAndOrderingTests {
    @Test func sharedCountIsFourBigEndianBytes() throws {
        #expect([UInt8](SharedCountCodec.encode(258)) == [0, 0, 1, 2])
        #expect([UInt8](SharedCountCodec.encode(-1)) == [0xff, 0xff, 0xff, 0xff])
        #expect(try SharedCountCodec.decode(Data([0, 0, 1, 2])) == 258)
        #expect(try SharedCountCodec.decode(SharedCountCodec.encode(Int32.min)) == Int32.min)
        #expect(throws: SharedCountError.tooShort(0)) { try SharedCountCodec.decode(Data()) }
    }

    @Test func queueItemsAreQnChildrenInSequenceOrder() {
        let children = ["qn-0000000010", "other", "qn-0000000002", "qn-0000000009"]
        #expect(DistributedQueueOrdering.items(children) == ["qn-0000000002", "qn-0000000009", "qn-0000000010"])
    }

    @Test func recipePaths() throws {
        #expect(RecipePath.parent(of: "/a/b") == "/a")
        #expect(RecipePath.parent(of: "/a") == "/")
        #expect(RecipePath.parent(of: "/") == nil)
        #expect(RecipePath.ancestors(of: "/a/b/c") == ["/a", "/a/b"])
        #expect(RecipePath.join("/", "x") == "/x")
        #expect(RecipePath.isWithin("/a/b", root: "/a"))
        #expect(!RecipePath.isWithin("/ab", root: "/a"))
        #expect(throws: DataRecipeError.invalidPath("a")) { try RecipePath.validate("a") }
    }

    @Test func decoders() throws {
        struct Config: Codable, Equatable { var limit: Int }
        #expect(try NodeValueDecoder<Config>.json().decode(Data(#"{"limit":3}"#.utf8)) == Config(limit: 3))
        #expect(throws: (any Error).self) { try NodeValueDecoder<Config>.json().decode(Data("nope".utf8)) }
        #expect(try NodeValueDecoder<String>.utf8.decode(Data("hé".utf8)) == "hé")
        #expect(throws: NodeValueDecodingError.invalidUTF8) { try NodeValueDecoder<String>.utf8.decode(Data([0xff])) }
        #expect(try NodeValueDecoder<[UInt8]>.bytes.decode(Data([1, 2])) == [1, 2])
    }
}

@Suite struct DataTreeCacheForcedModeTests {
    @Test func forcedOneShotNeverAsksForAddWatch() {
        var machine = TreeCacheStateMachine(root: "/r", oneShotWatches: true)
        #expect(machine.mode == .oneShot)
        #expect(machine.next() == .fullLoad(.oneShot))
    }
}
