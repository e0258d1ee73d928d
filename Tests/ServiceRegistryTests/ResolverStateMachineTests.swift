import Testing
import ZooKeeperClient

@testable import ServiceRegistry

@Suite struct ResolverStateMachineTests {
    let layout = try! RegistryLayout(basePath: "/services")

    func event(_ type: EventType, _ path: String) -> ResolverStateMachine.Message {
        .event(WatchEvent(type: type, path: path))
    }

    @Test func aNewWatchIsFollowedByAFullLoadThenEventsBecomeReads() {
        var m = ResolverStateMachine(layout: layout)
        #expect(m.next() == .setWatch(generation: 1))
        m.watchSet(generation: 1)
        #expect(m.next() == .fullLoad)
        #expect(m.loaded() == [.markFresh])
        #expect(m.next() == .wait)
        _ = m.receive(event(.nodeCreated, "/services/api/n1"))
        _ = m.receive(event(.nodeDataChanged, "/services/api/n1"))
        _ = m.receive(event(.nodeCreated, "/services/web"))
        _ = m.receive(event(.nodeCreated, "/elsewhere"))
        #expect(m.next() == .apply([.instance(service: "api", node: "n1"), .service("web")]))
        #expect(m.applied() == [.markFresh])
        #expect(m.next() == .wait)
    }

    @Test func failuresBackOffFrom50msTo2sAndALoadResetsIt() {
        var m = ResolverStateMachine(layout: layout)
        var delays: [Duration] = []
        for _ in 0..<8 {
            guard case .setWatch = m.next() else {
                Issue.record("expected setWatch")
                return
            }
            for effect in m.watchFailed("down", unsupported: false) {
                if case .retry(let after) = effect { delays.append(after) }
            }
            #expect(m.next() == .wait, "a failed step waits for its retry")
            _ = m.receive(event(.nodeCreated, "/services/x"))
            #expect(m.next() == .wait, "an event does not end the wait")
            _ = m.receive(.retry)
        }
        #expect(delays == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400),
                           .milliseconds(800), .milliseconds(1600), .seconds(2), .seconds(2)])
        guard case .setWatch(let generation) = m.next() else {
            Issue.record("expected setWatch")
            return
        }
        m.watchSet(generation: generation)
        #expect(m.next() == .fullLoad)
        _ = m.loaded()
        #expect(m.backoff == .milliseconds(50))
    }

    @Test func aReconnectReloadsAndAnExpiryResetsTheWatch() {
        var m = ResolverStateMachine(layout: layout)
        _ = m.next()
        m.watchSet(generation: 1)
        _ = m.next()
        _ = m.loaded()
        #expect(m.receive(.state(.suspended)) == [.markStale("ZooKeeper connection suspended")])
        #expect(m.receive(.state(.reconnected)) == [])
        #expect(m.next() == .fullLoad, "a persistent watch does not replay what it missed")
        _ = m.loaded()
        // Expiry: the watch ends; an old generation's end is ignored, the current one's means a new watch.
        _ = m.receive(.state(.expired))
        #expect(m.receive(.watchEnded(generation: 0, error: nil)) == [])
        #expect(m.receive(.watchEnded(generation: 1, error: "sessionExpired")) == [.markStale("sessionExpired")])
        #expect(m.next() == .setWatch(generation: 2))
    }

    @Test func aLoadFailureRetriesAndAReconnectCutsTheWait() {
        var m = ResolverStateMachine(layout: layout)
        _ = m.next()
        m.watchSet(generation: 1)
        #expect(m.next() == .fullLoad)
        #expect(m.loadFailed("timeout") == [.markStale("timeout"), .retry(after: .milliseconds(50))])
        #expect(m.next() == .wait)
        _ = m.receive(.state(.reconnected))
        #expect(m.next() == .fullLoad)
        // A failed apply loads everything again.
        _ = m.loaded()
        _ = m.receive(event(.nodeDeleted, "/services/api/n1"))
        guard case .apply = m.next() else {
            Issue.record("expected apply")
            return
        }
        #expect(m.applyFailed("lost") == [.markStale("lost"), .retry(after: .milliseconds(50))])
        _ = m.receive(.retry)
        #expect(m.next() == .fullLoad)
    }

    @Test func unsupportedServersAreReportedAndAClosedClientStops() {
        var m = ResolverStateMachine(layout: layout)
        _ = m.next()
        #expect(m.watchFailed("no addWatch", unsupported: true) == [
            .markStale("no addWatch"), .reportUnsupported, .retry(after: .milliseconds(50)),
        ])
        #expect(m.receive(.state(.closed)) == [.markStale("the ZooKeeper client is closed")])
        #expect(m.next() == .stop)
    }

    @Test func eventsDuringALoadAreCoveredByIt() {
        var m = ResolverStateMachine(layout: layout)
        _ = m.next()
        _ = m.receive(event(.nodeCreated, "/services/early"))
        m.watchSet(generation: 1)
        _ = m.receive(event(.nodeCreated, "/services/during"))
        #expect(m.next() == .fullLoad)
        _ = m.loaded()
        #expect(m.next() == .wait)
    }
}
