import Foundation
import ServiceRegistry
import Testing
import ZooKeeperClient
import ZooKeeperRecipes

@testable import RegistryConsole

// The pure cores of the console: the services model fed by tree cache events, its query, the live hub's batching.

func stat(owner: Int64 = 0x1234, version: Int32 = 0, ctime: Int64 = 1_700_000_000_000) -> Stat {
    Stat(
        czxid: 1, mzxid: 1, ctime: ctime, mtime: ctime, version: version, cversion: 0, aversion: 0,
        ephemeralOwner: owner, dataLength: 0, numChildren: 0, pzxid: 1)
}

func instanceNode(
    _ service: String, _ id: String, address: String = "10.0.0.1", port: Int = 8080, enabled: Bool = true,
    payload: JSONValue? = nil, owner: Int64 = 0x1234, version: Int32 = 0
) -> TreeCacheNode {
    let instance = ServiceInstance(
        name: service, id: id, address: address, port: port, payload: payload, registrationTimeUTC: 1_700_000_000_000,
        serviceType: .dynamic, enabled: enabled)
    return TreeCacheNode(data: instance.encoded(), stat: stat(owner: owner, version: version))
}

let emptyNode = TreeCacheNode(data: Data(), stat: stat(owner: 0))

func model() throws -> ServicesModel {
    ServicesModel(layout: try RegistryLayout(basePath: "/services"))
}

@Suite struct ServicesModelTests {
    @Test func anInstanceAddsItsServiceThenItself() throws {
        var m = try model()
        #expect(m.apply(.added(path: "/services", node: emptyNode)).isEmpty)
        let changes = m.apply(.added(path: "/services/api/a1", node: instanceNode("api", "a1")))
        #expect(changes.count == 2)
        #expect(changes.first == .serviceAdded("api"))
        guard case .upsert(let row) = changes.last else {
            Issue.record("expected an upsert, got \(changes)")
            return
        }
        #expect(row.path == "/services/api/a1")
        #expect(row.health == .healthy)
        #expect(row.endpoint == "10.0.0.1:8080")
        #expect(row.ephemeralOwner == "0x1234")
        #expect(m.instanceCount == 1)
        #expect(m.sequence == 2)
    }

    @Test func theServiceNodeFirstThenNoDuplicateServiceAdded() throws {
        var m = try model()
        #expect(m.apply(.added(path: "/services/api", node: emptyNode)) == [.serviceAdded("api")])
        let changes = m.apply(.added(path: "/services/api/a1", node: instanceNode("api", "a1")))
        #expect(changes.count == 1)
    }

    @Test func unchangedDataIsNoChangeAndHealthChangeIsAnUpsert() throws {
        var m = try model()
        _ = m.apply(.added(path: "/services/api/a1", node: instanceNode("api", "a1")))
        #expect(m.apply(.changed(path: "/services/api/a1", node: instanceNode("api", "a1"))).isEmpty)
        let changes = m.apply(.changed(path: "/services/api/a1", node: instanceNode("api", "a1", enabled: false, version: 1)))
        guard case .upsert(let row)? = changes.first, changes.count == 1 else {
            Issue.record("expected one upsert, got \(changes)")
            return
        }
        #expect(row.health == .unhealthy)
        #expect(row.json["health"] == .string("unhealthy"))
    }

    @Test func removingAnInstanceAndAService() throws {
        var m = try model()
        _ = m.apply(.added(path: "/services/api/a1", node: instanceNode("api", "a1")))
        _ = m.apply(.added(path: "/services/api/a2", node: instanceNode("api", "a2")))
        #expect(
            m.apply(.removed(path: "/services/api/a1", node: emptyNode))
                == [.remove(service: "api", node: "a1", path: "/services/api/a1")])
        #expect(m.apply(.removed(path: "/services/api/a1", node: emptyNode)).isEmpty)
        #expect(
            m.apply(.removed(path: "/services/api", node: emptyNode))
                == [.remove(service: "api", node: "a2", path: "/services/api/a2"), .serviceRemoved("api")])
        #expect(m.services.isEmpty)
    }

    @Test func removingTheBasePathEmptiesTheView() throws {
        var m = try model()
        _ = m.apply(.added(path: "/services/api/a1", node: instanceNode("api", "a1")))
        _ = m.apply(.added(path: "/services/web", node: emptyNode))
        let changes = m.apply(.removed(path: "/services", node: emptyNode))
        #expect(changes.count == 3)
        #expect(m.services.isEmpty)
        #expect(m.instanceCount == 0)
    }

    @Test func dataThatIsNotAnInstanceIsShownAsInvalid() throws {
        var m = try model()
        let changes = m.apply(.added(path: "/services/api/junk", node: TreeCacheNode(data: Data("{oops".utf8), stat: stat())))
        guard case .upsert(let row)? = changes.last else {
            Issue.record("expected an upsert, got \(changes)")
            return
        }
        #expect(row.health == .invalid)
        #expect(row.problem?.contains("not a Curator service instance") == true)
        #expect(row.json["problem"] != nil)
        #expect(row.json["id"] == nil)
    }

    @Test func nodesOutsideTheLayoutAreIgnored() throws {
        var m = try model()
        #expect(m.apply(.added(path: "/services/api/a1/deeper", node: emptyNode)).isEmpty)
        #expect(m.apply(.added(path: "/elsewhere", node: emptyNode)).isEmpty)
        #expect(m.apply(.initialized).isEmpty)
        #expect(m.initialized)
    }

    @Test func snapshotListsEverythingSorted() throws {
        var m = try model()
        _ = m.apply(.added(path: "/services/web/w1", node: instanceNode("web", "w1")))
        _ = m.apply(.added(path: "/services/api/a2", node: instanceNode("api", "a2")))
        _ = m.apply(.added(path: "/services/api/a1", node: instanceNode("api", "a1")))
        _ = m.apply(.added(path: "/services/empty", node: emptyNode))
        let snapshot = m.snapshotJSON(status: .null)
        #expect(snapshot["services"] == .array([.string("api"), .string("empty"), .string("web")]))
        guard case .array(let instances)? = snapshot["instances"] else {
            Issue.record("no instances")
            return
        }
        #expect(instances.map { $0["path"] } == ["/services/api/a1", "/services/api/a2", "/services/web/w1"].map { JSONValue.string($0) })
        #expect(snapshot["seq"] == .number(String(m.sequence)))
    }

    @Test func ipv6EndpointAndPersistentOwner() throws {
        var m = try model()
        let changes = m.apply(.added(path: "/services/api/a1", node: instanceNode("api", "a1", address: "::1", port: 9, owner: 0)))
        guard case .upsert(let row)? = changes.last else {
            Issue.record("expected an upsert")
            return
        }
        #expect(row.endpoint == "[::1]:9")
        #expect(row.ephemeralOwner == nil)
        #expect(row.json["ephemeralOwner"] == .null)
    }
}

@Suite struct ServicesQueryTests {
    func populated() throws -> ServicesModel {
        var m = try model()
        for s in 0..<5 {
            for i in 0..<10 {
                _ = m.apply(.added(
                    path: "/services/svc-\(s)/i\(i)",
                    node: instanceNode(
                        "svc-\(s)", "i\(i)", address: "10.0.\(s).\(i)", enabled: i != 3,
                        payload: .object([("zone", .string(i % 2 == 0 ? "eu-west" : "us-east"))]))))
            }
        }
        _ = m.apply(.added(path: "/services/lonely", node: emptyNode))
        return m
    }

    @Test func pagesCoverEveryInstanceOnce() throws {
        let m = try populated()
        var seen: [String] = []
        var offset = 0
        while true {
            let page = m.query(ServicesQuery(offset: offset, limit: 7))
            #expect(page.total == 50)
            if page.rows.isEmpty { break }
            seen += page.rows.map(\.path)
            offset += 7
        }
        #expect(seen.count == 50)
        #expect(Set(seen).count == 50)
        #expect(seen == seen.sorted { ($0.split(separator: "/")[1], $0) < ($1.split(separator: "/")[1], $1) })
    }

    @Test func anOffsetPastTheEndIsAnEmptyPage() throws {
        let page = try populated().query(ServicesQuery(offset: 1000, limit: 10))
        #expect(page.rows.isEmpty)
        #expect(page.total == 50)
        #expect(page.offset == 50)
    }

    @Test func searchWordsMustAllMatchAnywhere() throws {
        let m = try populated()
        #expect(m.query(ServicesQuery(search: "svc-2")).total == 10)
        #expect(m.query(ServicesQuery(search: "SVC-2 eu-west")).total == 5)
        #expect(m.query(ServicesQuery(search: "10.0.4.7")).total == 1)
        #expect(m.query(ServicesQuery(search: "0x1234")).total == 50)
        #expect(m.query(ServicesQuery(search: "nothing-like-this")).total == 0)
    }

    @Test func healthAndServiceFilters() throws {
        let m = try populated()
        #expect(m.query(ServicesQuery(health: .unhealthy)).total == 5)
        #expect(m.query(ServicesQuery(health: .healthy)).total == 45)
        let page = m.query(ServicesQuery(service: "svc-1", health: .unhealthy))
        #expect(page.rows.map(\.path) == ["/services/svc-1/i3"])
        #expect(page.services.map(\.name) == ["svc-1"])
        #expect(page.services.first?.healthy == 9)
        #expect(page.services.first?.matching == 1)
    }

    @Test func aServiceWithoutInstancesIsListedWhenItsNameMatches() throws {
        let m = try populated()
        #expect(m.query(ServicesQuery(search: "lonely")).services.map(\.name) == ["lonely"])
        #expect(m.query(ServicesQuery(search: "lonely", health: .healthy)).services.isEmpty)
        #expect(m.query(ServicesQuery()).totalServices == 6)
    }

    @Test func parametersAreParsedAndBadOnesRefused() throws {
        let q = try ServicesQuery(parameters: ["q": "Api  Eu", "health": "unhealthy", "offset": "20", "limit": "50", "service": "x"])
        #expect(q.search == ["api", "eu"])
        #expect(q.health == .unhealthy)
        #expect(q.offset == 20 && q.limit == 50 && q.service == "x")
        let defaults = try ServicesQuery(parameters: ["health": "all", "service": ""])
        #expect(defaults.health == nil && defaults.service == nil && defaults.limit == ServicesQuery.defaultLimit)
        for bad in [["limit": "0"], ["limit": "1001"], ["offset": "-1"], ["offset": "ten"], ["health": "sick"],
                    ["limit": "99999999999999999999999"]] {
            #expect(throws: ConsoleError.self) { try ServicesQuery(parameters: bad) }
        }
        do {
            _ = try ServicesQuery(parameters: ["limit": "abc"])
        } catch {
            #expect(error.status == 400)
            #expect(error.message.contains("'limit'"))
        }
    }
}

@Suite struct LiveHubTests {
    func hub(maxPending: Int = 100) throws -> LiveHub {
        LiveHub(layout: try RegistryLayout(basePath: "/services"), maxPending: maxPending)
    }

    @Test func aSubscriberGetsTheSnapshotThenOnlyTheChanges() throws {
        let hub = try hub()
        hub.apply(.added(path: "/services/api/a1", node: instanceNode("api", "a1")))
        let (id, _) = try #require(hub.subscribe())
        guard case .snapshot(let snapshot) = hub.take(id) else {
            Issue.record("expected the snapshot first")
            return
        }
        guard case .array(let instances)? = snapshot["instances"] else {
            Issue.record("no instances in the snapshot")
            return
        }
        #expect(instances.count == 1)
        guard case .nothing = hub.take(id) else {
            Issue.record("nothing should be pending")
            return
        }
        hub.apply(.added(path: "/services/api/a2", node: instanceNode("api", "a2")))
        hub.apply(.removed(path: "/services/api/a1", node: emptyNode))
        guard case .delta(_, let changes, let status) = hub.take(id) else {
            Issue.record("expected a delta")
            return
        }
        #expect(changes.count == 2)
        #expect(status == nil)
        #expect(changes.last == .remove(service: "api", node: "a1", path: "/services/api/a1"))
    }

    @Test func aSubscriberTooFarBehindGetsANewSnapshot() throws {
        let hub = try hub(maxPending: 5)
        let (id, _) = try #require(hub.subscribe())
        _ = hub.take(id)
        for i in 0..<10 { hub.apply(.added(path: "/services/api/a\(i)", node: instanceNode("api", "a\(i)"))) }
        guard case .snapshot(let snapshot) = hub.take(id) else {
            Issue.record("expected a fresh snapshot")
            return
        }
        guard case .array(let instances)? = snapshot["instances"] else { return }
        #expect(instances.count == 10)
    }

    @Test func connectionAndInitializationGoOutAsStatus() throws {
        let hub = try hub()
        let (id, _) = try #require(hub.subscribe())
        _ = hub.take(id)
        hub.setConnection("connected")
        hub.apply(.initialized)
        guard case .delta(_, let changes, let status?) = hub.take(id) else {
            Issue.record("expected a status delta")
            return
        }
        #expect(changes.isEmpty)
        #expect(status["connection"] == .string("connected"))
        #expect(status["initialized"] == .bool(true))
        hub.setConnection("connected")
        guard case .nothing = hub.take(id) else {
            Issue.record("an unchanged connection state is not news")
            return
        }
    }

    @Test func closingEndsTheSubscriptions() async throws {
        let hub = try hub()
        let (id, wakes) = try #require(hub.subscribe())
        #expect(hub.subscriberCount == 1)
        hub.close()
        var count = 0
        for await _ in wakes { count += 1 }
        #expect(count <= 1)
        #expect(hub.subscribe() == nil)
        hub.unsubscribe(id)
        #expect(hub.subscriberCount == 0)
    }
}
