import ZooKeeperClient

/// The resolver's picture of the registry, as a pure value: service name → instance znode name → instance.
/// Every mutation reports which services changed, so that only their subscribers are told.
public struct ServiceCacheState: Sendable, Hashable {
    /// The services (children of the base path, including those with no instance) and their instances.
    public private(set) var services: [String: [String: ServiceInstance]] = [:]

    public init(services: [String: [String: ServiceInstance]] = [:]) {
        self.services = services
    }

    /// The service names, sorted.
    public var serviceNames: [String] { services.keys.sorted() }

    /// The instances of a service, ordered by znode name (which keeps round-robin stable).
    public func instances(of service: String) -> [ServiceInstance] {
        guard let nodes = services[service] else { return [] }
        return nodes.keys.sorted().map { nodes[$0]! }
    }

    /// The instances of a service with their znode names, ordered by znode name.
    public func nodes(of service: String) -> [(node: String, instance: ServiceInstance)] {
        guard let nodes = services[service] else { return [] }
        return nodes.keys.sorted().map { ($0, nodes[$0]!) }
    }

    public var instanceCount: Int { services.values.reduce(0) { $0 + $1.count } }

    /// Sets (or with nil removes) one instance; a set also makes the service known. Returns whether anything
    /// changed.
    @discardableResult
    public mutating func setInstance(service: String, node: String, _ instance: ServiceInstance?) -> Bool {
        if let instance {
            if services[service]?[node] == instance { return false }
            services[service, default: [:]][node] = instance
            return true
        }
        guard services[service]?[node] != nil else { return false }
        services[service]?[node] = nil
        return true
    }

    /// The service znode exists (its instances may not be known yet). Returns whether that is news.
    @discardableResult
    public mutating func serviceExists(_ service: String) -> Bool {
        guard services[service] == nil else { return false }
        services[service] = [:]
        return true
    }

    /// The service znode is gone, with its instances.
    @discardableResult
    public mutating func removeService(_ service: String) -> Bool {
        services.removeValue(forKey: service) != nil
    }

    /// The service's children are exactly `children`: instances no longer listed are dropped (those listed but
    /// unknown are left for their own reads). Returns whether anything changed.
    @discardableResult
    public mutating func retainChildren(of service: String, _ children: Set<String>) -> Bool {
        var changed = serviceExists(service)
        for node in services[service]!.keys where !children.contains(node) {
            services[service]![node] = nil
            changed = true
        }
        return changed
    }

    /// Replaces everything (a full load). Returns the services whose instances (or existence) changed.
    public mutating func replaceAll(_ new: [String: [String: ServiceInstance]]) -> Set<String> {
        var changed: Set<String> = []
        for (name, nodes) in new where services[name] != nodes { changed.insert(name) }
        for name in services.keys where new[name] == nil { changed.insert(name) }
        services = new
        return changed
    }

    /// The base path's children are `children` (nil: the base path does not exist). Returns the services that
    /// appeared or went.
    public mutating func applyBaseChildren(_ children: [String]?) -> Set<String> {
        let listed = Set(children ?? [])
        var changed: Set<String> = []
        for name in services.keys where !listed.contains(name) {
            services[name] = nil
            changed.insert(name)
        }
        for name in listed where serviceExists(name) { changed.insert(name) }
        return changed
    }

    /// A service's children are `children` (nil: the service znode does not exist).
    @discardableResult
    public mutating func applyServiceChildren(_ service: String, _ children: [String]?) -> Bool {
        guard let children else { return removeService(service) }
        return retainChildren(of: service, Set(children))
    }

    /// What a watch event under the base path asks the cache to read again.
    public enum Read: Sendable, Hashable {
        /// getData of an instance znode (NONODE: it is gone).
        case instance(service: String, node: String)
        /// getChildren of a service znode (NONODE: the service is gone).
        case service(String)
        /// getChildren of the base path (NONODE: everything is gone).
        case base
    }

    /// The read an event calls for, or nil when the event does not concern the registry. (Every read is done
    /// after the event arrived, so the read's answer is at least as new as the event; reads of one batch are
    /// answered in order by ZooKeeper, so applying them after the batch is safe.)
    public static func read(for event: WatchEvent, layout: RegistryLayout) -> Read? {
        switch event.type {
        case .nodeCreated, .nodeDeleted, .nodeDataChanged, .nodeChildrenChanged:
            break
        default:
            return nil
        }
        switch layout.locate(event.path) {
        case .base: return .base
        case .service(let name): return .service(name)
        case .instance(let service, let node): return .instance(service: service, node: node)
        case .other: return nil
        }
    }
}
