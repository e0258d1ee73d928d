import Crypto
import DNSSDCore
import ServiceModel

/// How a registry instance appears on the LAN as a DNS-SD service. One documented rule, the same in every
/// publisher (`zooreg register`, the publisher in `zooreg serve`, `zooreg publish`), so that two publishers of one
/// instance publish identical records:
///
/// - **Type.** A registry name that is a valid, lower-case RFC 6335 service name (1-15 characters of `a-z`, `0-9`
///   and '-', a letter among them, no '-' at either end, no "--") is published as `_<name>._tcp`. Any other name
///   ("com.example.Billing", "billing-api-version2", "Billing") is published under the umbrella type
///   `_zooreg._tcp`, with the subtype `_<label>._sub._zooreg._tcp`, where the label is the name in lower case
///   with every run of other characters turned into '-', cut to 40 characters, then '-' and the first 8 hex digits
///   of the SHA-256 of the exact name (stable, and distinct for distinct names), and the name itself in TXT
///   `service`.
/// - **Override.** The instance's payload may name the type: `"dnsSdType":"_http._tcp"` (any valid type, so that
///   browsers and Bonjour clients find a web UI); the service's subtype label is then added as a subtype.
///   `"dnsSdProtocol":"udp"` (or a `._udp` type) publishes over UDP.
/// - **Instance name.** `<service name> <short id>`: the id itself when it has at most 16 characters, else its
///   first 8; cut to 63 bytes. On a conflict Avahi's rule appends " #2", " #3", ...
/// - **Port.** The instance's port, else its sslPort; an instance with neither is not published.
/// - **TXT** (RFC 6763 §6): `txtvers=1`, `service=<registry name>`, `id=<instance id>`, `path=<znode path>`,
///   `health=passing|critical`, then the payload's top-level string, number and boolean members in key order (not
///   `@class` or the dnsSd keys), fitted by `DNSSDTXTRecord.fit` to 400 bytes: invalid keys dropped, each string
///   cut to 255 bytes on a character boundary, members that do not fit dropped, and `truncated` added when
///   anything was cut. Never malformed.
public enum DNSSDMapping {
    public static let umbrellaService = "zooreg"
    public static let payloadTypeKey = "dnsSdType"
    public static let payloadProtocolKey = "dnsSdProtocol"
    /// The TXT items that every published instance carries, before the user's metadata.
    public static let requiredTXTKeys = ["txtvers", "service", "id", "path", "health"]

    public enum MappingError: Error, Sendable, Hashable, CustomStringConvertible {
        case noPort
        case invalidType(String)

        public var description: String {
            switch self {
            case .noPort: return "the instance has no port"
            case .invalidType(let type): return "'\(type)' is not a DNS-SD service type (_name._tcp or _name._udp)"
            }
        }
    }

    /// Whether a registry name is published under its own type.
    public static func hasOwnType(_ registryName: String) -> Bool {
        DNSSDNames.isValidServiceName(registryName) && registryName == registryName.lowercased()
    }

    /// The DNS-SD type (and subtypes) a registry name is published under, without an override.
    public static func serviceType(forRegistryName name: String, udp: Bool = false) -> (type: String, subtypes: [String]) {
        let transport = udp ? "_udp" : "_tcp"
        if hasOwnType(name) { return ("_\(name).\(transport)", []) }
        return ("_\(umbrellaService).\(transport)", [subtypeLabel(name)])
    }

    /// The type to browse for a registry name or a DNS-SD type: a type is itself; a registry name is its own type,
    /// or its subtype of the umbrella type.
    public static func browseType(for nameOrType: String) -> String {
        if DNSSDNames.splitServiceType(nameOrType) != nil || nameOrType.contains("._sub.") { return nameOrType }
        if hasOwnType(nameOrType) { return "_\(nameOrType)._tcp" }
        return "\(subtypeLabel(nameOrType))._sub._\(umbrellaService)._tcp"
    }

    /// The subtype label of a registry name: `_` + a readable part + '-' + 8 hex digits of SHA-256(name).
    public static func subtypeLabel(_ name: String) -> String {
        var readable = ""
        var pendingDash = false
        for scalar in name.lowercased().unicodeScalars {
            if scalar.isASCII, (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") {
                if pendingDash && !readable.isEmpty { readable.append("-") }
                pendingDash = false
                readable.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
            if readable.count >= 40 { break }
        }
        readable = String(readable.prefix(40))
        while readable.hasSuffix("-") { readable.removeLast() }
        let digest = SHA256.hash(data: Array(name.utf8))
        let hex = digest.prefix(4).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }.joined()
        return "_" + (readable.isEmpty ? "" : readable + "-") + hex
    }

    /// The short id in instance names.
    public static func shortID(_ id: String) -> String {
        id.count <= 16 ? id : String(id.prefix(8))
    }

    /// `<service name> <short id>`, a valid instance name.
    public static func instanceName(service: String, id: String) -> String {
        let suffix = " " + shortID(id)
        let room = DNSSDNames.maxInstanceNameBytes - suffix.utf8.count
        if room < 1 { return DNSSDNames.instanceName(service) }
        return DNSSDNames.instanceName(DNSSDNames.truncateUTF8(service, maxBytes: room) + suffix)
    }

    /// The TXT strings of an instance (fitted, see the type's documentation).
    public static func txt(for instance: ServiceInstance, path: String?) -> [DNSSDTXTItem] {
        var items = [
            DNSSDTXTItem("txtvers", "1"),
            DNSSDTXTItem("service", instance.name),
            DNSSDTXTItem("id", instance.id),
            DNSSDTXTItem("path", path ?? ""),
            DNSSDTXTItem("health", instance.enabled ? "passing" : "critical"),
        ]
        if let members = instance.payloadValue?.members {
            let skipped: Set<String> = ["@class", payloadTypeKey, payloadProtocolKey]
            let reserved = Set(requiredTXTKeys)
            for (key, value) in members.sorted(by: { $0.key < $1.key })
            where !skipped.contains(key) && !reserved.contains(key.lowercased()) {
                switch value {
                case .string(let text): items.append(DNSSDTXTItem(key, text))
                case .number(let text): items.append(DNSSDTXTItem(key, text))
                case .bool(let flag): items.append(DNSSDTXTItem(key, flag ? "true" : "false"))
                default: continue
                }
            }
        }
        return DNSSDTXTRecord.fit(items, required: requiredTXTKeys.count)
    }

    /// The DNS-SD entry of an instance registered at `path`.
    public static func entry(
        for instance: ServiceInstance, path: String?, interface: DNSSDInterface = .any, ipProtocol: DNSSDIPProtocol = .any
    ) throws -> DNSSDServiceEntry {
        guard let port = instance.port ?? instance.sslPort, let port16 = UInt16(exactly: port) else {
            throw MappingError.noPort
        }
        let members = instance.payloadValue?.members ?? []
        let override = members.first { $0.key == payloadTypeKey }?.value.stringValue
        let udp = members.first { $0.key == payloadProtocolKey }?.value.stringValue?.lowercased() == "udp"
        var (type, subtypes) = serviceType(forRegistryName: instance.name, udp: udp)
        if let override {
            guard let (service, transport) = DNSSDNames.splitServiceType(override),
                DNSSDNames.isValidServiceName(service)
            else { throw MappingError.invalidType(override) }
            type = "_\(service.lowercased())._\(udp ? "udp" : transport)"
            subtypes = [hasOwnType(instance.name) ? "_\(instance.name)" : subtypeLabel(instance.name)]
        }
        return DNSSDServiceEntry(
            name: instanceName(service: instance.name, id: instance.id), type: type, port: port16,
            txt: txt(for: instance, path: path), subtypes: subtypes, interface: interface, ipProtocol: ipProtocol)
    }

    /// An instance as a registry instance, from what mDNS resolved (the answer of `Resolver.resolve` for a DNS-SD
    /// name): the registry name and id from TXT when a ZooRegistry published it, else the DNS-SD type's service
    /// name and the instance name; the first address; the TXT strings as a payload object.
    public static func instance(from service: DNSSDService) -> ServiceInstance {
        let txt = service.txtDictionary
        let name = txt["service"] ?? DNSSDNames.splitServiceType(service.type)?.service ?? service.type
        var members: [(key: String, value: JSONValue)] = []
        for item in service.txt where !members.contains(where: { $0.key == item.key }) {
            members.append((item.key, .string(item.text)))
        }
        members.append(("dnsSdName", .string(service.fullName)))
        if let host = service.host { members.append(("dnsSdHost", .string(host))) }
        return ServiceInstance(
            name: name, id: txt["id"] ?? service.name, address: service.addresses.first ?? service.host,
            port: service.port.map(Int.init), payload: .object(members), serviceType: .dynamic,
            enabled: txt["health"] != "critical")
    }
}
