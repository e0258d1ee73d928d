import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// Containers and TTL nodes, reaped on the container-check tick as ZooKeeper's ContainerManager does: a container
/// once it is empty after having had children (cversion > 0); a TTL node once it is childless and
/// now - mtime > ttl.
@Suite struct ReapingTests {
    /// Checks every second; TTL nodes allowed.
    static let config = CoreConfiguration(extendedTypesEnabled: true, containerCheckInterval: 1000)

    static func setUp(_ config: CoreConfiguration = ReapingTests.config) -> (CoreDriver, Client) {
        var d = CoreDriver(config: config)
        let c = d.connect(timeout: 40_000)
        return (d, c)
    }

    @Test func anEmptiedContainerIsReapedOnTheNextCheck() {
        var (d, c) = Self.setUp()
        let w = d.connect(timeout: 40_000)
        #expect(d.create(c, "/c", mode: .container).err == .ok)
        d.create(c, "/c/x")
        d.exists(w, "/c", watch: true)
        d.getChildren(w, "/", watch: true)
        #expect(d.tick(at: 1000).logged.isEmpty)  // it has a child
        d.delete(c, "/c/x")
        #expect(d.tick(at: 1500).logged.isEmpty)  // not a check instant
        #expect(d.exists("/c"))
        let actions = d.tick(at: 2000)
        #expect(!d.exists("/c"))
        #expect(actions.logged.count == 1)
        #expect(actions.logged.first?.transaction == .delete(path: "/c"))
        #expect(actions.logged.first?.header.sessionId == 0)
        #expect(actions.events(to: w.connection) == [Event(.nodeDeleted, "/c"), Event(.nodeChildrenChanged, "/")])
        #expect(d.tree.containers.isEmpty)
    }

    @Test func aContainerThatNeverHadChildrenStays() {
        var (d, c) = Self.setUp()
        d.create(c, "/never", mode: .container)
        d.create(c, "/busy", mode: .container)
        d.create(c, "/busy/k")
        for t in stride(from: Int64(1000), through: 30_000, by: 1000) { d.tick(at: t) }
        #expect(d.exists("/never"))
        #expect(d.exists("/busy"))
        #expect(d.logged.allSatisfy { if case .delete = $0.transaction { return false } else { return true } })
    }

    @Test func containersAreCheckedOnlyEveryInterval() {
        var (d, c) = Self.setUp(CoreConfiguration(containerCheckInterval: 60_000))
        d.create(c, "/c", mode: .container)
        d.create(c, "/c/x")
        d.delete(c, "/c/x")
        d.tick(at: 30_000)
        d.ping(c)
        d.tick(at: 59_999)
        #expect(d.exists("/c"))
        d.tick(at: 60_000)
        #expect(!d.exists("/c"))
        #expect(d.machine.nextDeadline <= 120_000)
    }

    @Test func nestedContainersGoOneLevelPerCheck() {
        var (d, c) = Self.setUp()
        d.create(c, "/a", mode: .container)
        d.create(c, "/a/b", mode: .container)
        d.create(c, "/a/b/leaf")
        d.delete(c, "/a/b/leaf")
        d.tick(at: 1000)
        #expect(!d.exists("/a/b"))
        #expect(d.exists("/a"))
        d.tick(at: 2000)
        #expect(!d.exists("/a"))
    }

    @Test func reapingIsRateLimited() {
        // containerMaxPerMinute 60 with a check every second: one node per check.
        var (d, c) = Self.setUp(CoreConfiguration(extendedTypesEnabled: true, containerCheckInterval: 1000, containerMaxPerMinute: 60))
        for name in ["a", "b", "c"] {
            d.create(c, "/\(name)", mode: .container)
            d.create(c, "/\(name)/x")
            d.delete(c, "/\(name)/x")
        }
        #expect(d.tick(at: 1000).logged.count == 1)
        #expect(d.tick(at: 2000).logged.count == 1)
        #expect(d.tick(at: 3000).logged.count == 1)
        #expect(d.tree.containers.isEmpty)
    }

    @Test func ttlNodeIsReapedOnceOlderThanItsTTL() {
        var (d, c) = Self.setUp()
        let w = d.connect(timeout: 40_000)
        #expect(d.createTTL(c, "/t", ttl: 5000).err == .ok)
        d.exists(w, "/t", watch: true)
        for t in stride(from: Int64(1000), through: 5000, by: 1000) {
            d.tick(at: t)
            #expect(d.exists("/t"), "at \(t)")  // now - mtime <= ttl
        }
        let actions = d.tick(at: 6000)
        #expect(!d.exists("/t"))
        #expect(actions.logged.map(\.transaction) == [.delete(path: "/t")])
        #expect(actions.events(to: w.connection) == [Event(.nodeDeleted, "/t")])
        #expect(d.tree.ttls.isEmpty)
    }

    @Test func ttlCountsFromTheLastDataChange() {
        var (d, c) = Self.setUp()
        d.createTTL(c, "/t", ttl: 5000)
        d.clock.set(3000)
        d.setData(c, "/t", bytes("fresh"))  // mtime moves
        d.tick(at: 6000)
        d.tick(at: 8000)
        #expect(d.exists("/t"))
        d.tick(at: 9000)
        #expect(!d.exists("/t"))
    }

    @Test func ttlNodeWithChildrenStaysUntilTheyAreGone() {
        var (d, c) = Self.setUp()
        d.createTTL(c, "/t", ttl: 1000)
        d.create(c, "/t/child")
        d.tick(at: 5000)
        #expect(d.exists("/t"))
        d.delete(c, "/t/child")  // child changes don't touch mtime
        d.tick(at: 6000)
        #expect(!d.exists("/t"))
    }

    @Test func sequentialTTLNodesAreReapedToo() {
        var (d, c) = Self.setUp()
        let path = d.createTTL(c, "/q-", ttl: 100, mode: .persistentSequentialWithTTL).createdPath!
        #expect(path == "/q-0000000000")
        d.tick(at: 1000)
        #expect(!d.exists(path))
    }
}
