import Foundation
import ServiceRegistry
import ZooKeeperClient
import ZooKeeperRecipes

/// One instance as the console shows it: the Curator JSON read from `{basePath}/{service}/{node}`, and what the
/// znode's Stat says (the session that owns it, when it was created).
public struct InstanceRow: Sendable, Hashable {
    public enum Health: String, Sendable, Hashable {
        /// Written enabled (Curator's default): resolvers hand it out.
        case healthy
        /// Written `"enabled":false` by a failing health check: resolvers skip it.
        case unhealthy
        /// The znode does not hold a Curator instance.
        case invalid
    }

    public var path: String
    public var service: String
    /// The znode's name (the instance id, or `_c_<guid>-<id><sequence>` for a protected sequential one).
    public var node: String
    public var instance: ServiceInstance?
    /// Why the data is not an instance (health `.invalid`).
    public var problem: String?
    public var stat: Stat

    public init(service: String, node: String, path: String, data: Data, stat: Stat) {
        self.service = service
        self.node = node
        self.path = path
        self.stat = stat
        do {
            instance = try ServiceInstance(json: data)
            problem = nil
        } catch {
            instance = nil
            problem = data.isEmpty ? "empty znode" : "not a Curator service instance: \(error)"
        }
    }

    public var health: Health {
        guard let instance else { return .invalid }
        return instance.enabled ? .healthy : .unhealthy
    }

    /// `address:port` (`[v6]:port`), the address alone without a port, "" without an address.
    public var endpoint: String {
        guard let instance, let address = instance.address else { return "" }
        let host = address.contains(":") ? "[\(address)]" : address
        if let port = instance.port { return "\(host):\(port)" }
        if let ssl = instance.sslPort { return "\(host):\(ssl)" }
        return host
    }

    /// The owning session as ZooKeeper tools print it (`0x…`), nil for a persistent znode.
    public var ephemeralOwner: String? { ConsoleJSON.sessionHex(stat.ephemeralOwner) }

    /// The text a search matches against (lowercased): service, node, id, endpoint, session, payload.
    var searchText: String {
        var parts = [service, node, endpoint, ephemeralOwner ?? "", health.rawValue]
        if let instance {
            parts.append(instance.id)
            if let payload = instance.payloadValue { parts.append(payload.serialized()) }
            if let ssl = instance.sslPort { parts.append(String(ssl)) }
        }
        return parts.joined(separator: "\u{1}").lowercased()
    }

    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("path", .string(path)),
            ("service", .string(service)),
            ("node", .string(node)),
            ("health", .string(health.rawValue)),
            ("endpoint", .string(endpoint)),
        ]
        if let instance {
            members += [
                ("id", .string(instance.id)),
                ("address", instance.address.map(JSONValue.string) ?? .null),
                ("port", instance.port.map(JSONValue.number) ?? .null),
                ("sslPort", instance.sslPort.map(JSONValue.number) ?? .null),
                ("registrationTimeUTC", .number(instance.registrationTimeUTC)),
                ("serviceType", .string(instance.serviceType.rawValue)),
                ("payload", instance.payloadValue ?? .null),
                ("uri", instance.uriSpec == nil ? .null : .string(instance.buildURI())),
            ]
        } else {
            members.append(("problem", .string(problem ?? "invalid")))
        }
        members += [
            ("ephemeralOwner", ephemeralOwner.map(JSONValue.string) ?? .null),
            ("ctime", .number(stat.ctime)),
            ("mtime", .number(stat.mtime)),
            ("version", .number(Int(stat.version))),
        ]
        return .object(members)
    }
}

/// A change of the services view, as the live stream sends it.
public enum ServicesChange: Sendable, Hashable {
    /// A service node appeared (it may have no instances yet).
    case serviceAdded(String)
    case serviceRemoved(String)
    /// An instance appeared or its data changed.
    case upsert(InstanceRow)
    /// An instance's znode is gone.
    case remove(service: String, node: String, path: String)

    public var json: JSONValue {
        switch self {
        case .serviceAdded(let name): return .object([("op", .string("service")), ("name", .string(name))])
        case .serviceRemoved(let name): return .object([("op", .string("serviceRemoved")), ("name", .string(name))])
        case .upsert(let row): return .object([("op", .string("upsert")), ("instance", row.json)])
        case .remove(let service, let node, let path):
            return .object([
                ("op", .string("remove")), ("service", .string(service)), ("node", .string(node)),
                ("path", .string(path)),
            ])
        }
    }
}

/// The services view built from a tree cache of the registry's base path: the pure core of the Services page
/// and its live stream. `apply(_:)` turns a cache event into the changes to send; `snapshot` and `query` read it.
public struct ServicesModel: Sendable {
    public let layout: RegistryLayout
    /// service → instance znode name → row.
    public private(set) var services: [String: [String: InstanceRow]] = [:]
    /// Bumped by every applied change; a stream's snapshot carries it, so a client can drop older deltas.
    public private(set) var sequence: UInt64 = 0
    /// Whether the cache finished its first load.
    public private(set) var initialized = false

    public init(layout: RegistryLayout) {
        self.layout = layout
    }

    public var instanceCount: Int { services.values.reduce(0) { $0 + $1.count } }

    /// Applies one tree cache event and returns the changes it makes to the view (none for nodes outside the
    /// registry's layout, or for data that did not change what is shown).
    public mutating func apply(_ event: TreeCacheEvent) -> [ServicesChange] {
        var changes: [ServicesChange] = []
        switch event {
        case .initialized:
            initialized = true
            return []
        case .added(let path, let node), .changed(let path, let node):
            switch layout.locate(path) {
            case .service(let name):
                if services[name] == nil {
                    services[name] = [:]
                    changes.append(.serviceAdded(name))
                }
            case .instance(let service, let name):
                if services[service] == nil {
                    services[service] = [:]
                    changes.append(.serviceAdded(service))
                }
                let row = InstanceRow(service: service, node: name, path: path, data: node.data, stat: node.stat)
                if services[service]?[name] != row {
                    services[service]?[name] = row
                    changes.append(.upsert(row))
                }
            case .base, .other:
                break
            }
        case .removed(let path, _):
            switch layout.locate(path) {
            case .service(let name):
                if let instances = services.removeValue(forKey: name) {
                    for node in instances.keys.sorted() {
                        changes.append(.remove(service: name, node: node, path: layout.instancePath(service: name, node: node)))
                    }
                    changes.append(.serviceRemoved(name))
                }
            case .instance(let service, let name):
                if services[service]?.removeValue(forKey: name) != nil {
                    changes.append(.remove(service: service, node: name, path: path))
                }
            case .base:
                for name in services.keys.sorted() {
                    for node in (services[name] ?? [:]).keys.sorted() {
                        changes.append(.remove(service: name, node: node, path: layout.instancePath(service: name, node: node)))
                    }
                    changes.append(.serviceRemoved(name))
                }
                services = [:]
            case .other:
                break
            }
        }
        sequence &+= UInt64(changes.count)
        return changes
    }

    /// Every service (sorted) and every instance (by service, then znode name).
    public var sortedRows: [InstanceRow] {
        services.keys.sorted().flatMap { name in
            let instances = services[name] ?? [:]
            return instances.keys.sorted().compactMap { instances[$0] }
        }
    }

    /// The snapshot a live stream starts with.
    public func snapshotJSON(status: JSONValue) -> JSONValue {
        .object([
            ("seq", .number(String(sequence))),
            ("basePath", .string(layout.basePath)),
            ("status", status),
            ("services", .array(services.keys.sorted().map(JSONValue.string))),
            ("instances", .array(sortedRows.map(\.json))),
        ])
    }

    /// One page of the instances matching `query`, and the matching services with their counts.
    public func query(_ query: ServicesQuery) -> ServicesPage {
        var rows: [InstanceRow] = []
        var summaries: [ServicesPage.ServiceSummary] = []
        for name in services.keys.sorted() {
            if let only = query.service, only != name { continue }
            let instances = services[name] ?? [:]
            let nameMatches = query.matches(serviceName: name)
            var matched: [InstanceRow] = []
            for node in instances.keys.sorted() {
                guard let row = instances[node], query.matches(row) else { continue }
                matched.append(row)
            }
            // A service with no instances is listed when its name matches and no health filter is set.
            if matched.isEmpty && !(instances.isEmpty && nameMatches && query.health == nil) { continue }
            summaries.append(.init(
                name: name, instances: instances.count,
                healthy: instances.values.filter { $0.health == .healthy }.count, matching: matched.count))
            rows += matched
        }
        let start = min(query.offset, rows.count)
        let end = min(start + query.limit, rows.count)
        return ServicesPage(
            total: rows.count, offset: start, limit: query.limit, rows: Array(rows[start..<end]),
            services: summaries, totalServices: services.count, totalInstances: instanceCount)
    }
}

/// Filter, search and paging of the Services page (the same rules as the page's own filtering, in app.js).
public struct ServicesQuery: Sendable, Hashable {
    public static let defaultLimit = 100
    public static let maxLimit = 1000

    /// Case-insensitive words, each of which must occur (in the service, id, endpoint, session or payload).
    public var search: [String]
    /// Only this service.
    public var service: String?
    /// Only this health.
    public var health: InstanceRow.Health?
    public var offset: Int
    public var limit: Int

    public init(
        search: String = "", service: String? = nil, health: InstanceRow.Health? = nil, offset: Int = 0,
        limit: Int = ServicesQuery.defaultLimit
    ) {
        self.search = search.lowercased().split(whereSeparator: \.isWhitespace).map(String.init)
        self.service = service
        self.health = health
        self.offset = offset
        self.limit = limit
    }

    /// From query parameters `q`, `service`, `health` (all|healthy|unhealthy|invalid), `offset`, `limit`
    /// (1…1000). Throws `ConsoleError.badRequest` for a bad value.
    public init(parameters: [String: String]) throws(ConsoleError) {
        func integer(_ name: String, default value: Int, range: ClosedRange<Int>) throws(ConsoleError) -> Int {
            guard let text = parameters[name], !text.isEmpty else { return value }
            guard let number = Int(text), range.contains(number) else {
                throw .badRequest("'\(name)' must be an integer in \(range.lowerBound)...\(range.upperBound), not '\(text.prefix(40))'")
            }
            return number
        }
        let offset = try integer("offset", default: 0, range: 0...Int(Int32.max))
        let limit = try integer("limit", default: Self.defaultLimit, range: 1...Self.maxLimit)
        var health: InstanceRow.Health?
        switch parameters["health"] ?? "" {
        case "", "all": health = nil
        case let text:
            guard let value = InstanceRow.Health(rawValue: text) else {
                throw .badRequest("'health' must be all, healthy, unhealthy or invalid, not '\(text.prefix(40))'")
            }
            health = value
        }
        let service = parameters["service"].flatMap { $0.isEmpty ? nil : $0 }
        self.init(search: parameters["q"] ?? "", service: service, health: health, offset: offset, limit: limit)
    }

    func matches(serviceName: String) -> Bool {
        let name = serviceName.lowercased()
        return search.allSatisfy { name.contains($0) }
    }

    func matches(_ row: InstanceRow) -> Bool {
        if let health, row.health != health { return false }
        if search.isEmpty { return true }
        let text = row.searchText
        return search.allSatisfy { text.contains($0) }
    }
}

public struct ServicesPage: Sendable, Hashable {
    public struct ServiceSummary: Sendable, Hashable {
        public var name: String
        public var instances: Int
        public var healthy: Int
        /// Instances matching the query.
        public var matching: Int
    }

    /// Matching instances.
    public var total: Int
    public var offset: Int
    public var limit: Int
    public var rows: [InstanceRow]
    public var services: [ServiceSummary]
    public var totalServices: Int
    public var totalInstances: Int

    public var json: JSONValue {
        .object([
            ("total", .number(total)),
            ("offset", .number(offset)),
            ("limit", .number(limit)),
            ("totalServices", .number(totalServices)),
            ("totalInstances", .number(totalInstances)),
            ("services", .array(services.map {
                .object([
                    ("name", .string($0.name)), ("instances", .number($0.instances)),
                    ("healthy", .number($0.healthy)), ("matching", .number($0.matching)),
                ])
            })),
            ("instances", .array(rows.map(\.json))),
        ])
    }
}
