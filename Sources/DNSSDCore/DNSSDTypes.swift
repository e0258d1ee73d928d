/// Which IP protocol a DNS-SD operation uses: Avahi's `AvahiProtocol`.
public enum DNSSDIPProtocol: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Both (Avahi's `AVAHI_PROTO_UNSPEC`).
    case any
    case ipv4
    case ipv6

    public var description: String { rawValue }

    /// Parses `any`, `ipv4`/`inet`/`4` and `ipv6`/`inet6`/`6`.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "any", "both", "unspec", "all": self = .any
        case "ipv4", "inet", "4", "v4": self = .ipv4
        case "ipv6", "inet6", "6", "v6": self = .ipv6
        default: return nil
        }
    }
}

/// A network interface for DNS-SD: any, or one by its index (`if_nametoindex`).
public enum DNSSDInterface: Sendable, Hashable, CustomStringConvertible {
    case any
    case index(Int32)

    public var description: String {
        switch self {
        case .any: return "any"
        case .index(let index): return "if\(index)"
        }
    }
}

/// One TXT string: a key and, unless it is a boolean attribute, a value (RFC 6763 §6.4: opaque bytes).
public struct DNSSDTXTItem: Sendable, Hashable, CustomStringConvertible {
    public var key: String
    /// nil: a boolean attribute (`key` without '='); empty: `key=`.
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(_ key: String, _ value: String) {
        self.init(key: key, value: Array(value.utf8))
    }

    /// The wire form: `key=value`, `key=` or `key`.
    public var bytes: [UInt8] {
        guard let value else { return Array(key.utf8) }
        return Array(key.utf8) + [UInt8(ascii: "=")] + value
    }

    /// Parses a wire string: the key runs to the first '=' (RFC 6763 §6.4). nil for an empty string or an empty
    /// key, which RFC 6763 says to ignore.
    public init?(bytes: [UInt8]) {
        if let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
            guard equals > 0 else { return nil }
            self.key = String(decoding: bytes[..<equals], as: UTF8.self)
            self.value = Array(bytes[(equals + 1)...])
        } else {
            guard !bytes.isEmpty else { return nil }
            self.key = String(decoding: bytes, as: UTF8.self)
            self.value = nil
        }
    }

    /// The value as text (invalid UTF-8 repaired), `""` for a boolean attribute.
    public var text: String { value.map { String(decoding: $0, as: UTF8.self) } ?? "" }

    public var description: String { String(decoding: bytes, as: UTF8.self) }
}

/// A service to publish: what one Avahi entry group carries.
public struct DNSSDServiceEntry: Sendable, Hashable, CustomStringConvertible {
    /// The instance name (UTF-8, 1 to 63 bytes, no control characters).
    public var name: String
    /// `_service._tcp` or `_service._udp`.
    public var type: String
    public var port: UInt16
    /// The TXT strings, in order (see `DNSSDTXTRecord` for the limits).
    public var txt: [DNSSDTXTItem]
    /// Subtype labels such as `_printer`; published as `_printer._sub.<type>`.
    public var subtypes: [String]
    /// nil: the daemon's default domain (`local`).
    public var domain: String?
    /// nil: this host (the daemon's host name).
    public var host: String?
    public var interface: DNSSDInterface
    public var ipProtocol: DNSSDIPProtocol

    public init(
        name: String, type: String, port: UInt16, txt: [DNSSDTXTItem] = [], subtypes: [String] = [],
        domain: String? = nil, host: String? = nil, interface: DNSSDInterface = .any, ipProtocol: DNSSDIPProtocol = .any
    ) {
        self.name = name
        self.type = type
        self.port = port
        self.txt = txt
        self.subtypes = subtypes
        self.domain = domain
        self.host = host
        self.interface = interface
        self.ipProtocol = ipProtocol
    }

    /// Whether `other` differs from this entry in its TXT strings only (Avahi can update those in place).
    public func differsOnlyInTXT(from other: DNSSDServiceEntry) -> Bool {
        var same = other
        same.txt = txt
        return same == self && other.txt != txt
    }

    public var description: String { "\"\(name)\" \(type) port \(port)" }
}

/// A service seen on the network: its name, type and domain, and what resolving it found.
public struct DNSSDService: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var type: String
    public var domain: String
    /// The SRV target, e.g. `host-a.local` (nil until resolved).
    public var host: String?
    /// IPv4 addresses first, then IPv6, each in the order found.
    public var addresses: [String]
    public var port: UInt16?
    public var txt: [DNSSDTXTItem]
    /// The interface indexes it was seen on.
    public var interfaces: Set<Int32>
    /// Whether this host published it.
    public var isLocal: Bool

    public init(
        name: String, type: String, domain: String, host: String? = nil, addresses: [String] = [], port: UInt16? = nil,
        txt: [DNSSDTXTItem] = [], interfaces: Set<Int32> = [], isLocal: Bool = false
    ) {
        self.name = name
        self.type = type
        self.domain = domain
        self.host = host
        self.addresses = addresses
        self.port = port
        self.txt = txt
        self.interfaces = interfaces
        self.isLocal = isLocal
    }

    /// Whether host, port or addresses are known.
    public var isResolved: Bool { port != nil }

    /// The TXT strings as a dictionary of text values; for a repeated key only the first counts (RFC 6763 §6.4).
    public var txtDictionary: [String: String] {
        var result: [String: String] = [:]
        for item in txt where result[item.key.lowercased()] == nil { result[item.key.lowercased()] = item.text }
        return result
    }

    /// The full DNS-SD name, `Name._type._tcp.local`.
    public var fullName: String { "\(name).\(type).\(domain)" }

    public var description: String {
        var text = "\"\(name)\" \(type).\(domain)"
        if let host { text += " \(host)" }
        if !addresses.isEmpty { text += " [\(addresses.joined(separator: ", "))]" }
        if let port { text += ":\(port)" }
        return text
    }
}

/// What a browse of service types or of services yields.
public enum DNSSDBrowseEvent: Sendable, Hashable {
    /// A service type appeared (type browsing).
    case typeAdded(type: String, domain: String)
    case typeRemoved(type: String, domain: String)
    /// A service appeared (resolved already when resolving was asked for, unless resolution failed).
    case added(DNSSDService)
    /// A resolved service's data changed (TXT, port, addresses).
    case updated(DNSSDService)
    case removed(DNSSDService)
    /// Everything currently known has been delivered (Avahi's ALL_FOR_NOW, about a second after browsing starts).
    case allForNow
    /// Browsing failed; it is retried when the daemon comes back.
    case failure(String)
}

/// What happens to a published entry.
public enum DNSSDPublicationEvent: Sendable, Hashable {
    /// The entry is on the network under `name` (probing done).
    case established(id: String, name: String, type: String)
    /// A name conflict: the entry is published again under `to`.
    case renamed(id: String, from: String, to: String)
    /// The entry could not be published (it is retried when the daemon comes back).
    case failed(id: String, reason: String)
    /// The entry was withdrawn.
    case withdrawn(id: String, name: String, type: String)
}
