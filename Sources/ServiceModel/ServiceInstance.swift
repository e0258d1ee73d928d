#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How an instance's znode lives, as Apache Curator's `ServiceType` says (the JSON holds the Java name).
public enum ServiceType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// An ephemeral znode at `{basePath}/{name}/{id}`: it goes when the registering session ends.
    case dynamic = "DYNAMIC"
    /// An ephemeral sequential znode under `{basePath}/{name}` (the id plus a sequence suffix; ours are also
    /// "protected": `_c_<guid>-<id><sequence>`).
    case dynamicSequential = "DYNAMIC_SEQUENTIAL"
    /// A persistent znode at `{basePath}/{name}/{id}`.
    case `static` = "STATIC"
    /// A persistent znode at `{basePath}/{name}/{id}`.
    case permanent = "PERMANENT"

    public var description: String { rawValue }

    /// Whether the znode is ephemeral (goes with the session).
    public var isEphemeral: Bool { self == .dynamic || self == .dynamicSequential }
}

/// One running instance of a service, as Apache Curator's curator-x-discovery stores it: the znode
/// `{basePath}/{name}/{id}` holds this as JSON, byte for byte what Curator's `JsonInstanceSerializer` writes:
///
/// ```json
/// {"name":"api","id":"…","address":"10.0.0.5","port":8080,"sslPort":null,"payload":null,
///  "registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":null}
/// ```
///
/// `enabled` is false for an instance whose health check fails; it is written (as `"enabled":false`, after
/// `uriSpec`, where Curator's non-compatible serializer puts it) only then, so healthy instances are exactly
/// Curator's default format. Curator 5 reads it into `ServiceInstance.isEnabled()` and does not filter on it;
/// older Curator readers ignore it (they ignore unknown fields). Our resolvers skip disabled instances.
public struct ServiceInstance: Sendable, Hashable, CustomStringConvertible {
    /// The service name: the znode `{basePath}/{name}`.
    public var name: String
    /// The instance id, unique within the service.
    public var id: String
    public var address: String?
    public var port: Int?
    public var sslPort: Int?
    /// The payload as JSON, including Jackson's type information when it has some (an object payload carries
    /// an `"@class"` member, an array payload is wrapped as `["java.class.Name", [...]]`): see
    /// `payloadValue`, `decodePayload(as:)` and `setPayload(_:)`. When encoding, an object without `"@class"`
    /// gets `"@class":"java.util.LinkedHashMap"` first, and an array gets wrapped with
    /// `"java.util.ArrayList"`, as Curator writes a `Map`/`List` payload, so that Java readers can read it.
    public var payload: JSONValue?
    /// Milliseconds since 1970-01-01 UTC.
    public var registrationTimeUTC: Int64
    public var serviceType: ServiceType
    public var uriSpec: UriSpec?
    /// False while the instance's health check is critical (see the type's documentation).
    public var enabled: Bool

    /// - Parameters:
    ///   - id: the instance id; nil (default) generates a random UUID, as Curator's builder does.
    ///   - serviceType: nil (default) means `.dynamic` for a given id (an ephemeral znode at the id) and
    ///     `.dynamicSequential` for a generated one (an ephemeral sequential, protected znode).
    public init(
        name: String, id: String? = nil, address: String? = nil, port: Int? = nil, sslPort: Int? = nil,
        payload: JSONValue? = nil, registrationTimeUTC: Int64? = nil, serviceType: ServiceType? = nil,
        uriSpec: UriSpec? = nil, enabled: Bool = true
    ) {
        self.name = name
        self.id = id ?? UUID().uuidString.lowercased()
        self.address = address
        self.port = port
        self.sslPort = sslPort
        self.payload = payload
        self.registrationTimeUTC = registrationTimeUTC ?? Self.nowMilliseconds()
        self.serviceType = serviceType ?? (id == nil ? .dynamicSequential : .dynamic)
        self.uriSpec = uriSpec
        self.enabled = enabled
    }

    static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    public var description: String {
        var text = "\(name)/\(id) \(address ?? "-")"
        if let port { text += ":\(port)" }
        if let sslPort { text += " ssl:\(sslPort)" }
        if !enabled { text += " (unhealthy)" }
        return text
    }

    // MARK: Payload

    /// The payload without Jackson's type information: an object without its `"@class"` member, an array
    /// unwrapped from `["java.class.Name", [...]]`.
    public var payloadValue: JSONValue? {
        guard let payload else { return nil }
        switch payload {
        case .object(let members):
            return .object(members.filter { $0.key != "@class" })
        case .array(let items):
            if items.count == 2, items[0].stringValue != nil, case .array(let inner) = items[1] { return .array(inner) }
            return payload
        default:
            return payload
        }
    }

    /// Decodes the payload (without its type information) with `JSONDecoder`.
    public func decodePayload<T: Decodable>(as type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        let json = (payloadValue ?? .null).serialized()
        return try decoder.decode(T.self, from: Data(json.utf8))
    }

    /// Sets the payload to `value` encoded with `JSONEncoder` (an object payload then gets
    /// `"@class":"java.util.LinkedHashMap"` when written, so Java readers see a Map).
    public mutating func setPayload<T: Encodable>(_ value: T, encoder: JSONEncoder = JSONEncoder()) throws {
        payload = try JSONValue.parse(Array(try encoder.encode(value)))
    }

    /// The URI its `uriSpec` builds (`""` without one), as Curator's `buildUriSpec()`.
    public func buildURI(variables: [String: String] = [:]) -> String {
        uriSpec?.build(for: self, variables: variables) ?? ""
    }
}

/// A URI template with `{variable}` fields, as Curator's `UriSpec`; JSON `{"parts":[{"value":…,"variable":…}]}`.
public struct UriSpec: Sendable, Hashable, CustomStringConvertible {
    public struct Part: Sendable, Hashable {
        public var value: String
        /// Whether `value` names a replacement field rather than literal text.
        public var variable: Bool

        public init(value: String, variable: Bool) {
            self.value = value
            self.variable = variable
        }
    }

    public var parts: [Part]

    public init(parts: [Part]) { self.parts = parts }

    /// Parses a spec such as `"{scheme}://{address}:{port}/api"`, as Curator's `UriSpec(String)`: text between
    /// braces is a variable (trimmed), other text is literal. Throws on unbalanced braces.
    public init(_ spec: String) throws {
        var parts: [Part] = []
        var inside = false
        var token = ""
        func flush() {
            guard !token.isEmpty else { return }
            parts.append(Part(value: inside ? Self.javaTrim(token) : token, variable: inside))
            token = ""
        }
        for character in spec {
            switch character {
            case "{":
                guard !inside else { throw ServiceRegistryError.invalidArgument("'{' inside a variable in '\(spec)'") }
                flush()
                inside = true
            case "}":
                guard inside else { throw ServiceRegistryError.invalidArgument("'}' without '{' in '\(spec)'") }
                flush()
                inside = false
            default:
                token.append(character)
            }
        }
        guard !inside else { throw ServiceRegistryError.invalidArgument("unclosed variable in '\(spec)'") }
        flush()
        self.parts = parts
    }

    /// Java's `String.trim()`: drops characters up to U+0020 at both ends.
    static func javaTrim(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars
        while let first = scalars.first, first.value <= 0x20 { scalars.removeFirst() }
        while let last = scalars.last, last.value <= 0x20 { scalars.removeLast() }
        return String(scalars)
    }

    /// The spec as text (`{name}` for variables).
    public var description: String {
        parts.map { $0.variable ? "{\($0.value)}" : $0.value }.joined()
    }

    /// Fills in the fields as Curator does: `scheme` (http, or https when the instance has an sslPort), `name`,
    /// `id`, `address`, `port`, `ssl-port`, `registration-time-utc`, `service-type` (lower case), `[` and `]`
    /// for literal braces; `variables` win. Unknown variables become empty.
    public func build(for instance: ServiceInstance? = nil, variables: [String: String] = [:]) -> String {
        var values: [String: String] = ["[": "{", "]": "}", "scheme": "http"]
        if let instance {
            values["name"] = instance.name
            values["id"] = instance.id
            values["address"] = instance.address ?? ""
            values["port"] = instance.port.map(String.init) ?? ""
            values["ssl-port"] = instance.sslPort.map(String.init) ?? ""
            values["registration-time-utc"] = String(instance.registrationTimeUTC)
            values["service-type"] = instance.serviceType.rawValue.lowercased()
            if instance.sslPort != nil { values["scheme"] = "https" }
        }
        values.merge(variables) { _, new in new }
        return parts.map { $0.variable ? (values[$0.value] ?? "") : $0.value }.joined()
    }
}
