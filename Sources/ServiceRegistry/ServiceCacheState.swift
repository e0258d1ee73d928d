import ZooKeeperClient

/// The resolver's picture of the registry, as a pure value: service name → instance znode name → instance.
/// Every mutation reports which services changed, so that only their subscribers are told.
///
/// Each service also keeps its instances presorted by znode name, all and healthy ones, so that a lookup (a
/// resolver cache hit) is one dictionary probe and no allocation; a change re-sorts that one service.
public struct ServiceCacheState: Sendable, Hashable {
    /// One service: its instances by znode name, and the same ordered by znode name (all, and the enabled ones).
    struct Entry: Sendable, Hashable {
        private(set) var nodes: [String: ServiceInstance] = [:]
        private(set) var ordered: [(node: String, instance: ServiceInstance)] = []
        private(set) var all: [ServiceInstance] = []
        private(set) var healthy: [ServiceInstance] = []

        init(nodes: [String: ServiceInstance] = [:]) {
            self.nodes = nodes
            reorder()
        }

        subscript(node: String) -> ServiceInstance? {
            get { nodes[node] }
            set {
                nodes[node] = newValue
                reorder()
            }
        }

        mutating func retain(_ children: Set<String>) -> Bool {
            let before = nodes.count
            nodes = nodes.filter { children.contains($0.key) }
            guard nodes.count != before else { return false }
            reorder()
            return true
        }

        private mutating func reorder() {
            ordered = nodes.sorted { $0.key < $1.key }.map { (node: $0.key, instance: $0.value) }
            all = ordered.map(\.instance)
            healthy = all.filter(\.enabled)
        }

        static func == (a: Entry, b: Entry) -> Bool { a.nodes == b.nodes }
        func hash(into hasher: inout Hasher) { hasher.combine(nodes) }
    }

    private var entries: [String: Entry] = [:]

    public init(services: [String: [String: ServiceInstance]] = [:]) {
        self.entries = services.mapValues { Entry(nodes: $0) }
    }

    /// The services (children of the base path, including those with no instance) and their instances.
    public var services: [String: [String: ServiceInstance]] { entries.mapValues(\.nodes) }

    /// Whether the service is known (its znode exists).
    public func contains(service: String) -> Bool { entries[service] != nil }

    /// The service names, sorted.
    public var serviceNames: [String] { entries.keys.sorted() }

    /// The instances of a service, ordered by znode name (which keeps round-robin stable).
    public func instances(of service: String) -> [ServiceInstance] {
        entries[service]?.all ?? []
    }

    /// The enabled (passing) instances of a service, ordered by znode name.
    public func healthyInstances(of service: String) -> [ServiceInstance] {
        entries[service]?.healthy ?? []
    }

    /// The instances of a service with their znode names, ordered by znode name.
    public func nodes(of service: String) -> [(node: String, instance: ServiceInstance)] {
        entries[service]?.ordered ?? []
    }

    public var instanceCount: Int { entries.values.reduce(0) { $0 + $1.nodes.count } }

    /// Sets (or with nil removes) one instance; a set also makes the service known. Returns whether anything
    /// changed.
    @discardableResult
    public mutating func setInstance(service: String, node: String, _ instance: ServiceInstance?) -> Bool {
        if let instance {
            if entries[service]?[node] == instance { return false }
            entries[service, default: Entry()][node] = instance
            return true
        }
        guard entries[service]?[node] != nil else { return false }
        entries[service]?[node] = nil
        return true
    }

    /// The service znode exists (its instances may not be known yet). Returns whether that is news.
    @discardableResult
    public mutating func serviceExists(_ service: String) -> Bool {
        guard entries[service] == nil else { return false }
        entries[service] = Entry()
        return true
    }

    /// The service znode is gone, with its instances.
    @discardableResult
    public mutating func removeService(_ service: String) -> Bool {
        entries.removeValue(forKey: service) != nil
    }

    /// The service's children are exactly `children`: instances no longer listed are dropped (those listed but
    /// unknown are left for their own reads). Returns whether anything changed.
    @discardableResult
    public mutating func retainChildren(of service: String, _ children: Set<String>) -> Bool {
        let appeared = serviceExists(service)
        let dropped = entries[service]!.retain(children)
        return appeared || dropped
    }

    /// Replaces everything (a full load). Returns the services whose instances (or existence) changed.
    public mutating func replaceAll(_ new: [String: [String: ServiceInstance]]) -> Set<String> {
        var changed: Set<String> = []
        for (name, nodes) in new where entries[name]?.nodes != nodes { changed.insert(name) }
        for name in entries.keys where new[name] == nil { changed.insert(name) }
        entries = new.mapValues { Entry(nodes: $0) }
        return changed
    }

    /// The base path's children are `children` (nil: the base path does not exist). Returns the services that
    /// appeared or went.
    public mutating func applyBaseChildren(_ children: [String]?) -> Set<String> {
        let listed = Set(children ?? [])
        var changed: Set<String> = []
        for name in entries.keys where !listed.contains(name) {
            entries[name] = nil
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
