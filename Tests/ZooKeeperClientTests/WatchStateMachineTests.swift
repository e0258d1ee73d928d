import Testing
import ZooKeeperWire

@testable import ZooKeeperClient

// The watch sub-machine of the client: registration from replies, notifications, setWatches after a reconnect,
// removal. It holds server paths and hands out client paths.

private let w1 = WatcherID(rawValue: 1), w2 = WatcherID(rawValue: 2), w3 = WatcherID(rawValue: 3)
private let w4 = WatcherID(rawValue: 4)

private func notification(_ type: EventType, _ path: String) -> WatcherEvent {
    WatcherEvent(type: type, state: .syncConnected, path: path)
}

@Suite struct WatchStateMachineTests {
    @Test func repliesRegisterWatches() {
        var watches = WatchStateMachine(chroot: nil)
        watches.requestSucceeded(.data(w1), serverPath: "/d")
        watches.requestSucceeded(.exists(w2), serverPath: "/e")  // the node exists: a data watch
        watches.requestSucceeded(.children(w3), serverPath: "/c")
        watches.requestSucceeded(.persistentRecursive(w4), serverPath: "/r")
        #expect(watches.paths(.data) == ["/d", "/e"])
        #expect(watches.paths(.child) == ["/c"])
        #expect(watches.paths(.persistentRecursive) == ["/r"])
        #expect(watches.allWatchers == [w1, w2, w3, w4])
    }

    @Test func onlyExistsOnAMissingNodeRegistersOnFailure() {
        var watches = WatchStateMachine(chroot: nil)
        watches.requestFailed(.exists(w1), serverPath: "/n", code: .noNode)
        watches.requestFailed(.data(w2), serverPath: "/n", code: .noNode)
        watches.requestFailed(.exists(w3), serverPath: "/m", code: .noAuth)
        #expect(watches.paths(.exist) == ["/n"])
        #expect(watches.isRegistered(w1))
        #expect(!watches.isRegistered(w2))
        #expect(!watches.isRegistered(w3))
    }

    @Test func notificationsGoToTheirWatchersWithClientPaths() {
        var watches = WatchStateMachine(chroot: "/app")
        watches.requestFailed(.exists(w1), serverPath: "/app/n", code: .noNode)
        watches.requestSucceeded(.persistent(w2), serverPath: "/app")
        #expect(
            watches.notificationReceived(notification(.nodeCreated, "/app/n"))
                == .deliver(WatchEvent(type: .nodeCreated, path: "/n"), to: [w1]))
        #expect(watches.notificationReceived(notification(.nodeCreated, "/app/n")) == nil)  // one-shot: consumed
        #expect(
            watches.notificationReceived(notification(.nodeChildrenChanged, "/app"))
                == .deliver(WatchEvent(type: .nodeChildrenChanged, path: "/"), to: [w2]))
        #expect(watches.isRegistered(w2))  // persistent: stays
        #expect(watches.notificationReceived(notification(.none, "/app")) == nil)
        #expect(watches.notificationReceived(WatcherEvent(type: 99, state: 3, path: "/app")) == nil)
        #expect(
            watches.notificationReceived(WatcherEvent(type: EventType.nodeDataChanged.rawValue, state: 99, path: "/app"))
                == .deliver(WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: "/"), to: [w2]))
    }

    @Test func setWatchesReplaysEveryWatchInBatches() {
        var watches = WatchStateMachine(chroot: nil)
        #expect(watches.setWatchesRequests(relativeZxid: 7, maxBytes: 10).isEmpty)
        watches.requestSucceeded(.data(w1), serverPath: "/aaaa")
        watches.requestFailed(.exists(w2), serverPath: "/bbbb", code: .noNode)
        watches.requestSucceeded(.children(w3), serverPath: "/cccc")
        #expect(
            watches.setWatchesRequests(relativeZxid: 7, maxBytes: 10) == [
                .setWatches(SetWatches(relativeZxid: 7, dataWatches: ["/aaaa"], existWatches: ["/bbbb"], childWatches: [])),
                .setWatches(SetWatches(relativeZxid: 7, dataWatches: [], existWatches: [], childWatches: ["/cccc"])),
            ])
        // A persistent watch switches to setWatches2.
        watches.requestSucceeded(.persistent(w4), serverPath: "/p")
        #expect(
            watches.setWatchesRequests(relativeZxid: 8, maxBytes: 1024) == [
                .setWatches2(
                    SetWatches2(
                        relativeZxid: 8, dataWatches: ["/aaaa"], existWatches: ["/bbbb"], childWatches: ["/cccc"],
                        persistentWatches: ["/p"], persistentRecursiveWatches: []))
            ])
    }

    @Test func serverRemovalTellsTheRemovedWatchers() {
        var watches = WatchStateMachine(chroot: "/app")
        watches.requestSucceeded(.data(w1), serverPath: "/app/p")
        watches.requestFailed(.exists(w2), serverPath: "/app/p", code: .noNode)
        watches.requestSucceeded(.children(w3), serverPath: "/app/p")
        watches.requestSucceeded(.persistent(w4), serverPath: "/app/p")
        #expect(
            watches.watchesRemoved(serverPath: "/app/p", type: .data) == [
                .deliver(WatchEvent(type: .dataWatchRemoved, path: "/p"), to: [w1]),
                .deliver(WatchEvent(type: .dataWatchRemoved, path: "/p"), to: [w2]),
            ])
        #expect(watches.watchesRemoved(serverPath: "/app/p", type: .data) == [])
        #expect(
            watches.watchesRemoved(serverPath: "/app/p", type: .any) == [
                .deliver(WatchEvent(type: .childWatchRemoved, path: "/p"), to: [w3]),
                .deliver(WatchEvent(type: .persistentWatchRemoved, path: "/p"), to: [w4]),
                .endWatchers([w4], nil),
            ])
        #expect(watches.isEmpty)
    }

    @Test func localRemovalSaysWhenTheServerWatchIsUnused() {
        var watches = WatchStateMachine(chroot: nil)
        watches.requestSucceeded(.children(w1), serverPath: "/p")
        watches.requestSucceeded(.persistentRecursive(w2), serverPath: "/p")
        // Not a persistent type: the server's watches are left alone.
        let children = watches.removeLocalWatches(serverPath: "/p", type: .children)
        #expect(children.actions == [.deliver(WatchEvent(type: .childWatchRemoved, path: "/p"), to: [w1])])
        #expect(children.unusedServerWatch == nil)
        let recursive = watches.removeLocalWatches(serverPath: "/p", type: .persistentRecursive)
        #expect(
            recursive.actions == [
                .deliver(WatchEvent(type: .persistentWatchRemoved, path: "/p"), to: [w2]), .endWatchers([w2], nil),
            ])
        #expect(recursive.unusedServerWatch == "/p")
        // Nothing left to remove locally; the server's watch may still be there.
        let again = watches.removeLocalWatches(serverPath: "/p", type: .any)
        #expect(again.actions.isEmpty)
        #expect(again.unusedServerWatch == "/p")
        // Another local watcher still uses the path.
        watches.requestSucceeded(.data(w3), serverPath: "/q")
        #expect(watches.removeLocalWatches(serverPath: "/q", type: .persistent).unusedServerWatch == nil)
    }

    @Test func removingTheLastPersistentWatcherFreesTheServerWatch() {
        var watches = WatchStateMachine(chroot: nil)
        watches.requestSucceeded(.persistent(w1), serverPath: "/p")
        watches.requestSucceeded(.persistent(w2), serverPath: "/p")
        watches.requestSucceeded(.data(w3), serverPath: "/d")
        #expect(watches.removeWatcher(w1) == nil)  // w2 still watches /p
        #expect(watches.removeWatcher(w2) == "/p")
        #expect(watches.removeWatcher(w2) == nil)  // already gone
        #expect(watches.removeWatcher(w3) == nil)  // one-shot: the server's watch fires by itself
        #expect(watches.isEmpty)
    }

    @Test func endingTheSessionEndsEveryWatcher() {
        var watches = WatchStateMachine(chroot: nil)
        #expect(watches.endAll(nil) == nil)
        watches.requestSucceeded(.data(w2), serverPath: "/d")
        watches.requestSucceeded(.persistent(w1), serverPath: "/p")
        #expect(watches.endAll(.sessionExpired) == .endWatchers([w1, w2], .sessionExpired))
        #expect(watches.isEmpty)
        #expect(watches.endAll(nil) == nil)
    }
}
