import AvahiDNSSD
import ServiceRegistry

/// What the LAN publisher publishes, decided from the registry cache, as a pure value: every instance that
/// belongs to this host, is healthy, has a port and is in a selected service, mapped by `DNSSDMapping`; each on
/// the configured interfaces and protocols. `update` returns the changes to make.
///
/// "Belongs to this host": the instance's address is one of this host's non-loopback interface addresses, or
/// its host name. Instances with a loopback address (127.0.0.0/8, ::1, localhost) are left to their own
/// `zooreg register`: every host would claim them, and the LAN would see duplicates. So with several registry
/// servers, each host publishes only its own instances.
///
/// Unhealthy instances (`"enabled":false`) are withdrawn, not published with `health=critical`: LAN clients
/// (browsers, Bonjour) do not read TXT before connecting.
public struct LANPublisherState: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Registry services to publish; empty: all.
        public var services: Set<String>
        /// Interfaces to publish on; empty: all.
        public var interfaces: [DNSSDInterface]
        public var ipProtocol: DNSSDIPProtocol

        public init(services: Set<String> = [], interfaces: [DNSSDInterface] = [], ipProtocol: DNSSDIPProtocol = .any) {
            self.services = services
            self.interfaces = interfaces
            self.ipProtocol = ipProtocol
        }
    }

    /// One change to make.
    public enum Change: Sendable, Hashable {
        case publish(id: String, entry: DNSSDServiceEntry)
        case withdraw(id: String)
    }

    public var configuration: Configuration
    public let layout: RegistryLayout
    /// This host's addresses (non-loopback) and names, compared case-insensitively.
    public private(set) var localIdentities: Set<String>
    /// What is published now: publication id (the instance's znode path, with `@<interface>` per interface when
    /// several are configured) → entry.
    public private(set) var published: [String: DNSSDServiceEntry] = [:]
    private var lastCache = ServiceCacheState()

    public init(configuration: Configuration, layout: RegistryLayout, localIdentities: Set<String>) {
        self.configuration = configuration
        self.layout = layout
        self.localIdentities = Set(localIdentities.map { $0.lowercased() })
    }

    public static func isLoopback(_ address: String) -> Bool {
        let lower = address.lowercased()
        return lower.hasPrefix("127.") || lower == "::1" || lower == "localhost" || lower == "0:0:0:0:0:0:0:1"
            || lower.hasSuffix(".localhost")
    }

    /// Whether an instance belongs to this host (see the type's documentation).
    public func isLocal(_ instance: ServiceInstance) -> Bool {
        Self.isLocal(instance, identities: localIdentities)
    }

    /// Whether an instance's address is one of `identities` (lower-case addresses and host names).
    public static func isLocal(_ instance: ServiceInstance, identities: Set<String>) -> Bool {
        guard let address = instance.address?.lowercased(), !isLoopback(address) else { return false }
        if identities.contains(address) { return true }
        // A host name given with or without ".local".
        if address.hasSuffix(".local"), identities.contains(String(address.dropLast(6))) { return true }
        return false
    }

    /// The changes that bring what is published in line with `cache`.
    public mutating func update(cache: ServiceCacheState) -> [Change] {
        lastCache = cache
        var wanted: [String: DNSSDServiceEntry] = [:]
        for service in cache.serviceNames
        where configuration.services.isEmpty || configuration.services.contains(service) {
            for (node, instance) in cache.nodes(of: service) where instance.enabled && isLocal(instance) {
                let path = layout.instancePath(service: service, node: node)
                let interfaces = configuration.interfaces.isEmpty ? [DNSSDInterface.any] : configuration.interfaces
                for interface in interfaces {
                    guard
                        let entry = try? DNSSDMapping.entry(
                            for: instance, path: path, interface: interface, ipProtocol: configuration.ipProtocol)
                    else { continue }
                    let id = interfaces.count == 1 ? path : "\(path)@\(interface)"
                    wanted[id] = entry
                }
            }
        }
        var changes: [Change] = []
        for id in published.keys.sorted() where wanted[id] == nil {
            changes.append(.withdraw(id: id))
        }
        for id in wanted.keys.sorted() where published[id] != wanted[id] {
            changes.append(.publish(id: id, entry: wanted[id]!))
        }
        published = wanted
        return changes
    }

    /// New local identities (interfaces came or went): the changes that follow from the last cache.
    public mutating func updateLocalIdentities(_ identities: Set<String>) -> [Change] {
        let lowered = Set(identities.map { $0.lowercased() })
        guard lowered != localIdentities else { return [] }
        localIdentities = lowered
        return update(cache: lastCache)
    }
}
