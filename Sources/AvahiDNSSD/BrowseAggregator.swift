/// Turns Avahi's per-interface, per-protocol browse events into one event stream per service, as a pure value.
///
/// Avahi reports a service once for every (interface, IPv4/IPv6) pair it was seen on, and resolves each pair on
/// its own. Users want one service with all its addresses: this merges them. A service is `added` when first
/// seen (when resolving, once its first resolution arrives, or once every resolution failed), `updated` when its
/// merged data changes, and `removed` when its last pair is gone. After the daemon connection was lost, the next
/// browse re-reports what is still there: `beginResync` and `allForNow` drop what did not come back.
public struct BrowseAggregator: Sendable {
    /// One service as Avahi reports it: on one interface and protocol.
    public struct RawKey: Sendable, Hashable {
        public var interface: Int32
        public var ipProtocol: DNSSDIPProtocol
        public var name: String
        public var type: String
        public var domain: String

        public init(interface: Int32, ipProtocol: DNSSDIPProtocol, name: String, type: String, domain: String) {
            self.interface = interface
            self.ipProtocol = ipProtocol
            self.name = name
            self.type = type
            self.domain = domain
        }

        var serviceKey: ServiceKey { ServiceKey(name: name, type: type.lowercased(), domain: domain.lowercased()) }
    }

    /// What resolving one raw service found.
    public struct Resolution: Sendable, Hashable {
        public var host: String
        public var address: String?
        public var port: UInt16
        public var txt: [DNSSDTXTItem]

        public init(host: String, address: String?, port: UInt16, txt: [DNSSDTXTItem]) {
            self.host = host
            self.address = address
            self.port = port
            self.txt = txt
        }
    }

    struct ServiceKey: Sendable, Hashable {
        var name: String
        var type: String
        var domain: String
    }

    struct Raw: Sendable, Hashable {
        var resolution: Resolution?
        var failed = false
        var isLocal: Bool
    }

    struct Entry: Sendable {
        var raws: [RawKey: Raw] = [:]
        var announced: DNSSDService?
        var stale = false
    }

    public let resolving: Bool
    private var entries: [ServiceKey: Entry] = [:]
    private var resyncing = false

    public init(resolving: Bool) {
        self.resolving = resolving
    }

    /// The services announced so far (each merged over its interfaces and protocols).
    public var services: [DNSSDService] {
        entries.values.compactMap(\.announced).sorted { ($0.type, $0.name) < ($1.type, $1.name) }
    }

    /// Avahi's NEW.
    public mutating func appeared(_ raw: RawKey, isLocal: Bool = false) -> [DNSSDBrowseEvent] {
        let key = raw.serviceKey
        var entry = entries[key] ?? Entry()
        if entry.raws[raw] == nil { entry.raws[raw] = Raw(isLocal: isLocal) }
        entry.stale = false
        return settle(key, entry)
    }

    /// A resolver's FOUND (repeated whenever the data changes).
    public mutating func resolved(_ raw: RawKey, _ resolution: Resolution) -> [DNSSDBrowseEvent] {
        let key = raw.serviceKey
        guard var entry = entries[key], var state = entry.raws[raw] else { return [] }
        state.resolution = resolution
        state.failed = false
        entry.raws[raw] = state
        return settle(key, entry)
    }

    /// A resolver's FAILURE (for example a time-out).
    public mutating func resolveFailed(_ raw: RawKey) -> [DNSSDBrowseEvent] {
        let key = raw.serviceKey
        guard var entry = entries[key], var state = entry.raws[raw] else { return [] }
        state.failed = true
        entry.raws[raw] = state
        return settle(key, entry)
    }

    /// Avahi's REMOVE.
    public mutating func disappeared(_ raw: RawKey) -> [DNSSDBrowseEvent] {
        let key = raw.serviceKey
        guard var entry = entries[key], entry.raws.removeValue(forKey: raw) != nil else { return [] }
        if entry.raws.isEmpty && !resyncing {
            entries[key] = nil
            return entry.announced.map { [.removed($0)] } ?? []
        }
        return settle(key, entry)
    }

    /// The daemon connection was lost: every raw service is gone with the old browser, and the next browser
    /// reports again what still exists. Until `allForNow`, services keep their last state.
    public mutating func beginResync() {
        resyncing = true
        for key in entries.keys {
            entries[key]?.raws = [:]
            entries[key]?.stale = true
        }
    }

    /// Avahi's ALL_FOR_NOW: after a resync, what was not reported again is removed.
    public mutating func allForNow() -> [DNSSDBrowseEvent] {
        var events: [DNSSDBrowseEvent] = []
        if resyncing {
            resyncing = false
            for (key, entry) in entries where entry.stale || entry.raws.isEmpty {
                entries[key] = nil
                if let announced = entry.announced { events.append(.removed(announced)) }
            }
        }
        events.append(.allForNow)
        return events
    }

    private mutating func settle(_ key: ServiceKey, _ entry: Entry) -> [DNSSDBrowseEvent] {
        var entry = entry
        defer { entries[key] = entry }
        guard !entry.raws.isEmpty else { return [] }
        let ready = !resolving || entry.raws.values.contains { $0.resolution != nil }
            || entry.raws.values.allSatisfy(\.failed)
        guard ready else { return [] }
        let merged = Self.merge(key, entry.raws)
        guard let announced = entry.announced else {
            entry.announced = merged
            return [.added(merged)]
        }
        guard announced != merged else { return [] }
        entry.announced = merged
        return [.updated(merged)]
    }

    /// One service from its raw reports: IPv4 addresses first; host, port and TXT from an IPv4 resolution when
    /// there is one (the lowest interface first, so that the choice is stable).
    static func merge(_ key: ServiceKey, _ raws: [RawKey: Raw]) -> DNSSDService {
        let ordered = raws.sorted { a, b in
            (a.key.ipProtocol == .ipv6 ? 1 : 0, a.key.interface) < (b.key.ipProtocol == .ipv6 ? 1 : 0, b.key.interface)
        }
        let first = ordered[0].key
        var service = DNSSDService(name: first.name, type: first.type, domain: first.domain)
        var v4: [String] = []
        var v6: [String] = []
        for (raw, state) in ordered {
            service.interfaces.insert(raw.interface)
            service.isLocal = service.isLocal || state.isLocal
            guard let resolution = state.resolution else { continue }
            if service.port == nil {
                service.host = resolution.host
                service.port = resolution.port
                service.txt = resolution.txt
            }
            if let address = resolution.address {
                if address.contains(":") {
                    if !v6.contains(address) { v6.append(address) }
                } else if !v4.contains(address) {
                    v4.append(address)
                }
            }
        }
        service.addresses = v4 + v6
        return service
    }
}

/// The same for service types: a type is added when first seen on any interface and protocol, removed when gone
/// from all of them.
public struct TypeBrowseAggregator: Sendable {
    public struct RawKey: Sendable, Hashable {
        public var interface: Int32
        public var ipProtocol: DNSSDIPProtocol
        public var type: String
        public var domain: String

        public init(interface: Int32, ipProtocol: DNSSDIPProtocol, type: String, domain: String) {
            self.interface = interface
            self.ipProtocol = ipProtocol
            self.type = type
            self.domain = domain
        }
    }

    struct TypeKey: Sendable, Hashable {
        var type: String
        var domain: String
    }

    private var raws: [TypeKey: Set<RawKey>] = [:]
    private var stale: Set<TypeKey> = []
    private var resyncing = false

    public init() {}

    public var types: [(type: String, domain: String)] {
        raws.keys.sorted { ($0.type, $0.domain) < ($1.type, $1.domain) }.map { ($0.type, $0.domain) }
    }

    public mutating func appeared(_ raw: RawKey) -> [DNSSDBrowseEvent] {
        let key = TypeKey(type: raw.type.lowercased(), domain: raw.domain.lowercased())
        stale.remove(key)
        let isNew = raws[key] == nil
        raws[key, default: []].insert(raw)
        return isNew ? [.typeAdded(type: raw.type, domain: raw.domain)] : []
    }

    public mutating func disappeared(_ raw: RawKey) -> [DNSSDBrowseEvent] {
        let key = TypeKey(type: raw.type.lowercased(), domain: raw.domain.lowercased())
        guard raws[key]?.remove(raw) != nil else { return [] }
        guard raws[key]?.isEmpty == true, !resyncing else { return [] }
        raws[key] = nil
        return [.typeRemoved(type: raw.type, domain: raw.domain)]
    }

    public mutating func beginResync() {
        resyncing = true
        stale = Set(raws.keys)
        for key in raws.keys { raws[key] = [] }
    }

    public mutating func allForNow() -> [DNSSDBrowseEvent] {
        var events: [DNSSDBrowseEvent] = []
        if resyncing {
            resyncing = false
            for key in raws.keys.sorted(by: { $0.type < $1.type }) where stale.contains(key) || raws[key]!.isEmpty {
                raws[key] = nil
                events.append(.typeRemoved(type: key.type, domain: key.domain))
            }
            stale = []
        }
        events.append(.allForNow)
        return events
    }
}
