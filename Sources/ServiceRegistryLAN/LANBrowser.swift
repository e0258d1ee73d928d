import AvahiDNSSD

/// What the LAN offers, as an `AsyncSequence` of added, updated and removed services (or service types): a registry
/// name is browsed where `DNSSDMapping` publishes it (its own type, or its subtype of `_zooreg._tcp`); a DNS-SD type
/// (`_http._tcp`, `_printer._sub._ipp._tcp`) as it is. Services are merged over interfaces and IPv4/IPv6 and, with
/// `resolve`, come with host, addresses, port and TXT.
///
/// ```swift
/// for await event in LANBrowser(connection: avahi, browsing: "billing") {
///     if case .added(let service) = event { print(service.addresses, service.port ?? 0) }
/// }
/// ```
///
/// The sequence ends when the connection closes; a daemon restart is not an end (browsing resumes, and what
/// vanished meanwhile is reported removed).
public struct LANBrowser: AsyncSequence, Sendable {
    public typealias Element = DNSSDBrowseEvent

    public let connection: AvahiConnection
    /// The DNS-SD type browsed; nil: the service types.
    public let type: String?
    public let resolve: Bool

    /// Browses the services of a registry name or DNS-SD type.
    public init(connection: AvahiConnection, browsing nameOrType: String, resolve: Bool = true) {
        self.connection = connection
        self.type = DNSSDMapping.browseType(for: nameOrType)
        self.resolve = resolve
    }

    /// Browses the LAN's service types (`typeAdded` / `typeRemoved`).
    public init(serviceTypesOn connection: AvahiConnection) {
        self.connection = connection
        self.type = nil
        self.resolve = false
    }

    public func makeAsyncIterator() -> AsyncStream<DNSSDBrowseEvent>.Iterator {
        let stream = type.map { connection.browse(type: $0, resolve: resolve) } ?? connection.browseTypes()
        return stream.makeAsyncIterator()
    }
}
