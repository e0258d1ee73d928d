import Testing
import ZooKeeperClient

@testable import ServiceRegistry

@Suite struct ServiceCacheStateTests {
    let layout = try! RegistryLayout(basePath: "/services")

    func instance(_ service: String, _ id: String, enabled: Bool = true) -> ServiceInstance {
        ServiceInstance(name: service, id: id, address: "10.0.0.1", port: 80, registrationTimeUTC: 1, enabled: enabled)
    }

    @Test func eventsMapToReads() {
        func read(_ type: EventType, _ path: String) -> ServiceCacheState.Read? {
            ServiceCacheState.read(for: WatchEvent(type: type, path: path), layout: layout)
        }
        #expect(read(.nodeCreated, "/services/api/n1") == .instance(service: "api", node: "n1"))
        #expect(read(.nodeDataChanged, "/services/api/n1") == .instance(service: "api", node: "n1"))
        #expect(read(.nodeDeleted, "/services/api/n1") == .instance(service: "api", node: "n1"))
        #expect(read(.nodeCreated, "/services/api") == .service("api"))
        #expect(read(.nodeDeleted, "/services/api") == .service("api"))
        #expect(read(.nodeDeleted, "/services") == .base)
        #expect(read(.nodeCreated, "/services/api/n1/deeper") == nil)
        #expect(read(.nodeCreated, "/servicesX/api") == nil)
        #expect(read(.nodeCreated, "/other") == nil)
        #expect(read(.none, "/services/api/n1") == nil)
        #expect(read(.persistentWatchRemoved, "/services") == nil)
    }

    @Test func presortedListsFollowEveryKindOfChange() {
        let cache = CacheDriver()
        #expect(cache.setInstance(service: "api", node: "c", instance("api", "3")))
        #expect(cache.setInstance(service: "api", node: "a", instance("api", "1", enabled: false)))
        #expect(cache.setInstance(service: "api", node: "b", instance("api", "2")))
        #expect(cache.instances(of: "api").map(\.id) == ["1", "2", "3"])
        #expect(cache.healthyInstances(of: "api").map(\.id) == ["2", "3"])
        #expect(cache.nodes(of: "api").map(\.node) == ["a", "b", "c"])
        #expect(cache.setInstance(service: "api", node: "c", instance("api", "3", enabled: false)))
        #expect(cache.healthyInstances(of: "api").map(\.id) == ["2"])
        #expect(cache.applyServiceChildren("api", ["a", "c"]))
        #expect(cache.instances(of: "api").map(\.id) == ["1", "3"])
        #expect(cache.healthyInstances(of: "api").isEmpty)
        _ = cache.replaceAll(["api": ["z": instance("api", "9"), "y": instance("api", "8")]])
        #expect(cache.healthyInstances(of: "api").map(\.id) == ["8", "9"])
        #expect(cache.healthyInstances(of: "db").isEmpty)
        _ = cache.applyBaseChildren(["db"])
        #expect(cache.instances(of: "api").isEmpty && cache.services == ["db": [:]])
    }

    @Test func setAndRemoveInstancesReportChanges() {
        let cache = CacheDriver()
        #expect(cache.setInstance(service: "api", node: "b", instance("api", "2")))
        #expect(cache.setInstance(service: "api", node: "a", instance("api", "1")))
        #expect(!cache.setInstance(service: "api", node: "a", instance("api", "1")))
        #expect(cache.instances(of: "api").map(\.id) == ["1", "2"])
        #expect(cache.setInstance(service: "api", node: "a", instance("api", "1", enabled: false)))
        #expect(cache.instances(of: "api").map(\.enabled) == [false, true])
        #expect(cache.setInstance(service: "api", node: "b", nil))
        #expect(!cache.setInstance(service: "api", node: "b", nil))
        #expect(!cache.setInstance(service: "db", node: "x", nil))
        #expect(cache.serviceNames == ["api"])
        #expect(cache.instanceCount == 1)
    }

    @Test func serviceChildrenDropWhatIsGone() {
        let cache = CacheDriver()
        _ = cache.setInstance(service: "api", node: "a", instance("api", "1"))
        _ = cache.setInstance(service: "api", node: "b", instance("api", "2"))
        #expect(cache.applyServiceChildren("api", ["b", "c"]))
        #expect(cache.instances(of: "api").map(\.id) == ["2"])
        #expect(!cache.applyServiceChildren("api", ["b"]))
        #expect(cache.applyServiceChildren("api", nil))
        #expect(cache.serviceNames == [])
        // An empty service (a container with no instance yet) is known.
        #expect(cache.applyServiceChildren("web", []))
        #expect(cache.serviceNames == ["web"])
        #expect(cache.instances(of: "web").isEmpty)
    }

    @Test func baseChildren() {
        let cache = CacheDriver()
        _ = cache.setInstance(service: "api", node: "a", instance("api", "1"))
        _ = cache.setInstance(service: "db", node: "a", instance("db", "1"))
        #expect(cache.applyBaseChildren(["api", "web"]) == ["db", "web"])
        #expect(cache.serviceNames == ["api", "web"])
        #expect(cache.applyBaseChildren(nil) == ["api", "web"])
        #expect(cache.services.isEmpty)
    }

    @Test func replaceAllReportsOnlyChangedServices() {
        let cache = CacheDriver()
        _ = cache.replaceAll(["api": ["a": instance("api", "1")], "db": ["x": instance("db", "x")]])
        let changed = cache.replaceAll([
            "api": ["a": instance("api", "1")], "web": ["w": instance("web", "w")],
        ])
        #expect(changed == ["db", "web"])
        #expect(cache.serviceNames == ["api", "web"])
    }

    @Test func orderIsByZnodeName() {
        let cache = CacheDriver()
        for (node, id) in [("n3", "c"), ("n1", "a"), ("n2", "b")] {
            _ = cache.setInstance(service: "api", node: node, instance("api", id))
        }
        #expect(cache.instances(of: "api").map(\.id) == ["a", "b", "c"])
        #expect(cache.nodes(of: "api").map(\.node) == ["n1", "n2", "n3"])
    }
}

@Suite struct RegistryLayoutTests {
    @Test func paths() throws {
        let layout = try RegistryLayout(basePath: "/a/b/")
        #expect(layout.basePath == "/a/b")
        #expect(layout.servicePath("api") == "/a/b/api")
        #expect(layout.instancePath(service: "api", node: "x") == "/a/b/api/x")
        #expect(layout.baseAndAncestors == ["/a", "/a/b"])
        #expect(layout.locate("/a/b") == .base)
        #expect(layout.locate("/a/b/api") == .service("api"))
        #expect(layout.locate("/a/b/api/x") == .instance(service: "api", node: "x"))
        #expect(layout.locate("/a/b/api/x/y") == .other)
        #expect(layout.locate("/a") == .other)
        let root = try RegistryLayout(basePath: "/")
        #expect(root.servicePath("api") == "/api")
        #expect(root.locate("/api/x") == .instance(service: "api", node: "x"))
        #expect(try RegistryLayout().basePath == "/services")
    }

    @Test func validation() {
        #expect(throws: ServiceRegistryError.self) { try RegistryLayout(basePath: "services") }
        #expect(throws: ServiceRegistryError.self) { try RegistryLayout(basePath: "/a//b") }
        #expect(throws: ServiceRegistryError.self) { try RegistryLayout(basePath: "/a/../b") }
        #expect(throws: ServiceRegistryError.self) { try RegistryLayout.validateServiceName("a/b") }
        #expect(throws: ServiceRegistryError.self) { try RegistryLayout.validateServiceName("") }
        #expect(throws: ServiceRegistryError.self) { try RegistryLayout.validateServiceName("..") }
        #expect(RegistryLayout.isValidSegment("api-v2.internal"))
    }
}
