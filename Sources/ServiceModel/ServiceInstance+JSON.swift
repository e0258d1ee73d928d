#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension ServiceInstance {
    /// The JSON Curator's `JsonInstanceSerializer` writes for this instance (see the type's documentation).
    public func curatorJSON() -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string(name)),
            ("id", .string(id)),
            ("address", address.map(JSONValue.string) ?? .null),
            ("port", port.map(JSONValue.number) ?? .null),
            ("sslPort", sslPort.map(JSONValue.number) ?? .null),
            ("payload", payload.map(Self.withTypeInformation) ?? .null),
            ("registrationTimeUTC", .number(registrationTimeUTC)),
            ("serviceType", .string(serviceType.rawValue)),
            ("uriSpec", uriSpec.map(Self.json(of:)) ?? .null),
        ]
        if !enabled { members.append(("enabled", .bool(false))) }
        return .object(members)
    }

    /// The znode data: `curatorJSON()` as UTF-8.
    public func encoded() -> Data {
        Data(curatorJSON().serialized().utf8)
    }

    /// Reads an instance as Curator's reader does: unknown fields are ignored, missing ones take Curator's
    /// defaults (`registrationTimeUTC` 0, `serviceType` DYNAMIC, `enabled` true, the rest null). Throws
    /// `ServiceRegistryError.invalidInstanceData` when the bytes are not an instance.
    public init(json data: some Collection<UInt8>) throws {
        let value: JSONValue
        do {
            value = try JSONValue.parse(data)
        } catch {
            throw ServiceRegistryError.invalidInstanceData("\(error)")
        }
        try self.init(curatorJSON: value)
    }

    public init(curatorJSON value: JSONValue) throws {
        guard value.members != nil else {
            throw ServiceRegistryError.invalidInstanceData("not a JSON object")
        }
        func invalid(_ field: String) -> ServiceRegistryError {
            .invalidInstanceData("invalid \(field)")
        }
        func string(_ field: String) throws -> String? {
            guard let v = value[field] else { return nil }
            switch v {
            case .null: return nil
            case .string(let s): return s
            case .number(let n): return n
            case .bool(let b): return b ? "true" : "false"
            default: throw invalid(field)
            }
        }
        func int(_ field: String) throws -> Int? {
            guard let v = value[field] else { return nil }
            switch v {
            case .null: return nil
            case .number(let n): guard let i = Int32(n) else { throw invalid(field) }; return Int(i)
            case .string(let s): guard let i = Int32(s) else { throw invalid(field) }; return Int(i)
            default: throw invalid(field)
            }
        }
        var serviceType = ServiceType.dynamic
        if let text = try string("serviceType") {
            guard let type = ServiceType(rawValue: text) else { throw invalid("serviceType") }
            serviceType = type
        }
        var time: Int64 = 0
        if let v = value["registrationTimeUTC"] {
            switch v {
            case .null: time = 0
            case .number(let n), .string(let n): guard let t = Int64(n) else { throw invalid("registrationTimeUTC") }; time = t
            default: throw invalid("registrationTimeUTC")
            }
        }
        var uriSpec: UriSpec?
        if let v = value["uriSpec"], !v.isNull {
            uriSpec = try Self.uriSpec(from: v)
        }
        var enabled = true
        if let v = value["enabled"] {
            switch v {
            case .null: enabled = true
            case .bool(let b): enabled = b
            default: throw invalid("enabled")
            }
        }
        let payload = value["payload"].flatMap { $0.isNull ? nil : $0 }
        self.init(
            name: try string("name") ?? "", id: try string("id") ?? "", address: try string("address"),
            port: try int("port"), sslPort: try int("sslPort"), payload: payload, registrationTimeUTC: time,
            serviceType: serviceType, uriSpec: uriSpec, enabled: enabled)
    }

    /// Jackson's `@JsonTypeInfo(use = CLASS)` on the payload: an object gets `"@class"` first (a Map), an array is
    /// wrapped with its class name (a List); scalars stay as they are.
    static func withTypeInformation(_ payload: JSONValue) -> JSONValue {
        switch payload {
        case .object(let members):
            if members.first?.key == "@class" { return payload }
            if let index = members.firstIndex(where: { $0.key == "@class" }) {
                var reordered = members
                let typeMember = reordered.remove(at: index)
                return .object([typeMember] + reordered)
            }
            return .object([("@class", .string("java.util.LinkedHashMap"))] + members)
        case .array(let items):
            if items.count == 2, items[0].stringValue != nil, case .array = items[1] { return payload }
            return .array([.string("java.util.ArrayList"), payload])
        default:
            return payload
        }
    }

    static func json(of spec: UriSpec) -> JSONValue {
        .object([
            ("parts", .array(spec.parts.map { .object([("value", .string($0.value)), ("variable", .bool($0.variable))]) }))
        ])
    }

    static func uriSpec(from value: JSONValue) throws -> UriSpec {
        guard value.members != nil else { throw ServiceRegistryError.invalidInstanceData("invalid uriSpec") }
        guard let partsValue = value["parts"], !partsValue.isNull else { return UriSpec(parts: []) }
        guard case .array(let items) = partsValue else {
            throw ServiceRegistryError.invalidInstanceData("invalid uriSpec.parts")
        }
        return UriSpec(parts: try items.map { item in
            guard item.members != nil else { throw ServiceRegistryError.invalidInstanceData("invalid uriSpec part") }
            return UriSpec.Part(value: item["value"]?.stringValue ?? "", variable: item["variable"]?.boolValue ?? false)
        })
    }
}
