import AvahiDNSSD
import ServiceRegistry

/// `Resolver`'s answers for DNS-SD names, from mDNS through avahi-daemon: a service instance
/// (`"Office Printer._ipp._tcp.local"`) or every instance of a type (`"_ipp._tcp"`, or a subtype), each as a
/// `ServiceInstance` built by `DNSSDMapping.instance(from:)`.
///
/// ```swift
/// var configuration = Resolver.Configuration()
/// configuration.lanLookup = MDNSLookup(connection: avahi)
/// let printers = try await Resolver(client: zk, configuration: configuration, logger: logger).resolve("_ipp._tcp")
/// // printers.source == .mdns
/// ```
///
/// mDNS is a view of the registry, not its source of truth: a peer that crashed without sending goodbye packets
/// stays in LAN caches until its records' TTL ends (Avahi: 120 s for SRV and address records, 4500 s = 75 min
/// for PTR and TXT; RFC 6762 §10), while the registry drops it when its session expires.
public struct MDNSLookup: LANLookup {
    public let connection: AvahiConnection

    public init(connection: AvahiConnection) {
        self.connection = connection
    }

    public func lookup(_ name: String, timeout: Duration) async throws -> [ServiceInstance] {
        guard let parsed = DNSSDNames.parse(name) else {
            throw ServiceRegistryError.invalidArgument("'\(name)' is not a DNS-SD name (Instance._service._tcp.local)")
        }
        let domain = parsed.domain.lowercased() == "local" ? nil : parsed.domain
        let services = await connection.services(ofType: parsed.type, domain: domain, timeout: timeout)
        let matching = parsed.instance.map { instance in services.filter { $0.name == instance } } ?? services
        return matching.map(DNSSDMapping.instance(from:))
    }
}
