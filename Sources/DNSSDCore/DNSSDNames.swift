/// DNS-SD's naming rules (RFC 6335, RFC 6763), as pure functions.
public enum DNSSDNames {
    /// The longest instance name in bytes (RFC 6763 §7.2; Avahi refuses longer ones).
    public static let maxInstanceNameBytes = 63
    /// The longest service name (RFC 6335 §5.1).
    public static let maxServiceNameLength = 15

    /// Whether `name` is an RFC 6335 service name: 1 to 15 characters of letters, digits and '-', at least one
    /// letter, no '-' at either end, no "--".
    public static func isValidServiceName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...maxServiceNameLength).contains(bytes.count) else { return false }
        var hasLetter = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): hasLetter = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): break
            default: return false
            }
        }
        return hasLetter && bytes.first != UInt8(ascii: "-") && bytes.last != UInt8(ascii: "-") && !name.contains("--")
    }

    /// Whether `type` is `_<service name>._tcp` or `_<service name>._udp`.
    public static func isValidServiceType(_ type: String) -> Bool {
        guard let (service, _) = splitServiceType(type) else { return false }
        return isValidServiceName(service)
    }

    /// `_http._tcp` → ("http", "tcp"); nil when it is not of that form.
    public static func splitServiceType(_ type: String) -> (service: String, transport: String)? {
        let labels = type.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count == 2, labels[0].hasPrefix("_"), labels[0].count > 1 else { return nil }
        let transport = labels[1].lowercased()
        guard transport == "_tcp" || transport == "_udp" else { return nil }
        return (String(labels[0].dropFirst()), String(transport.dropFirst()))
    }

    /// Whether `label` may be a subtype label: '_' and at least two more characters of letters, digits and '-'
    /// (Avahi's rule), at most 63 bytes.
    public static func isValidSubtypeLabel(_ label: String) -> Bool {
        let bytes = Array(label.utf8)
        guard bytes.count >= 3, bytes.count <= 63, bytes[0] == UInt8(ascii: "_") else { return false }
        return bytes.dropFirst().allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        }
    }

    /// `name` made a valid instance name: control characters (0x00-0x1F, 0x7F) become spaces, and it is cut to
    /// `maxBytes` bytes on a character boundary (never empty: an empty name becomes "service").
    public static func instanceName(_ name: String, maxBytes: Int = maxInstanceNameBytes) -> String {
        var cleaned = String(String.UnicodeScalarView(name.unicodeScalars.map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar
        }))
        if cleaned.allSatisfy({ $0 == " " }) { cleaned = "service" }
        return truncateUTF8(cleaned, maxBytes: maxBytes)
    }

    /// The longest prefix of `text` that is at most `maxBytes` bytes of UTF-8 and ends on a character boundary.
    public static func truncateUTF8(_ text: String, maxBytes: Int) -> String {
        if text.utf8.count <= maxBytes { return text }
        var result = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size > maxBytes { break }
            result.append(character)
            used += size
        }
        return result
    }

    /// The name to try after a collision, as Avahi's `avahi_alternative_service_name`: "foo" → "foo #2",
    /// "foo #2" → "foo #3"; the base is cut so that the result stays within 63 bytes.
    public static func alternativeName(_ name: String) -> String {
        var base = name
        var next = 2
        let characters = Array(name)
        var digitsStart = characters.endIndex
        while digitsStart > 0, characters[digitsStart - 1].isASCII, characters[digitsStart - 1].isNumber {
            digitsStart -= 1
        }
        if digitsStart < characters.endIndex, digitsStart >= 2, characters[digitsStart - 1] == "#",
            characters[digitsStart - 2] == " ", let number = Int(String(characters[digitsStart...])), number < Int.max
        {
            base = String(characters[..<(digitsStart - 2)])
            next = number + 1
        }
        let suffix = " #\(next)"
        return truncateUTF8(base, maxBytes: maxInstanceNameBytes - suffix.utf8.count) + suffix
    }

    /// A DNS-SD name taken apart: `Office Printer._ipp._tcp.local` → instance "Office Printer", type
    /// `_ipp._tcp`, domain "local"; `_ipp._tcp` or `_ipp._tcp.local.` → a type without an instance. Instance names
    /// may contain dots, so the type is found from the right: a `_tcp`/`_udp` label after an underscore label.
    /// Backslash escapes (`\.`, `\\`, `\032`) in the instance part are decoded. nil when there is no type.
    public static func parse(_ fullName: String) -> (instance: String?, type: String, domain: String)? {
        var text = Substring(fullName)
        if text.hasSuffix(".") && !text.hasSuffix("\\.") { text = text.dropLast() }
        let labels = splitLabels(text)
        guard labels.count >= 2 else { return nil }
        var transportIndex: Int?
        for index in stride(from: labels.count - 1, through: 1, by: -1) {
            let label = labels[index].lowercased()
            if (label == "_tcp" || label == "_udp") && labels[index - 1].hasPrefix("_") && labels[index - 1].count > 1 {
                transportIndex = index
                break
            }
        }
        guard let transportIndex else { return nil }
        let type = "\(labels[transportIndex - 1]).\(labels[transportIndex].lowercased())"
        let domainLabels = labels[(transportIndex + 1)...]
        let domain = domainLabels.isEmpty ? "local" : domainLabels.joined(separator: ".")
        let instanceLabels = labels[..<(transportIndex - 1)]
        // "_printer._sub._ipp._tcp" is a subtype to browse, not an instance called "_printer._sub".
        if instanceLabels.count == 2, instanceLabels.last?.lowercased() == "_sub" {
            return (nil, "\(instanceLabels.first!)._sub.\(type)", domain)
        }
        return (instanceLabels.isEmpty ? nil : instanceLabels.joined(separator: "."), type, domain)
    }

    /// Splits on unescaped dots, decoding `\.`, `\\` and `\DDD`.
    private static func splitLabels(_ text: Substring) -> [String] {
        var labels: [String] = []
        var current: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: "\\"), let next = bytes.first {
                let digits = bytes.prefix(3)
                if digits.count == 3, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                    let value = UInt8(String(decoding: digits, as: UTF8.self))
                {
                    current.append(value)
                    bytes = bytes.dropFirst(3)
                } else {
                    current.append(next)
                    bytes = bytes.dropFirst()
                }
            } else if byte == UInt8(ascii: ".") {
                labels.append(String(decoding: current, as: UTF8.self))
                current = []
            } else {
                current.append(byte)
            }
        }
        labels.append(String(decoding: current, as: UTF8.self))
        return labels
    }
}

/// TXT record rules (RFC 6763 §6): how `DNSSDTXTRecord.fit` makes any list of items publishable.
public enum DNSSDTXTRecord {
    /// One string's limit: a length byte (§6.1).
    public static let maxItemBytes = 255
    /// The whole record's budget: RFC 6763 §6.2 calls up to 400 bytes acceptable (200 preferred).
    public static let defaultBudget = 400

    /// Whether `key` is a valid TXT key: 1 or more printable ASCII characters (0x20-0x7E) other than '='.
    public static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E && $0 != UInt8(ascii: "=") }
    }

    /// The items made publishable, by rule:
    /// 1. an item whose key is not a valid key is dropped, and so is a repeated key (only the first counts);
    /// 2. a value is cut so that its string fits 255 bytes (text values on a UTF-8 character boundary);
    /// 3. the first `required` items are always kept; later items are kept in order while the record (each string
    ///    plus its length byte) stays within `budget`, and the rest are dropped;
    /// 4. when anything was cut or dropped, a boolean `truncated` attribute is added (room for it is kept).
    /// The result never exceeds `max(budget, size of the required items + 10)` bytes.
    public static func fit(_ items: [DNSSDTXTItem], required: Int = 0, budget: Int = defaultBudget) -> [DNSSDTXTItem] {
        let marker = DNSSDTXTItem(key: "truncated", value: nil)
        let markerSize = marker.bytes.count + 1
        var seen: Set<String> = []
        var result: [DNSSDTXTItem] = []
        var used = 0
        var truncated = false
        for (index, original) in items.enumerated() {
            guard isValidKey(original.key), original.key.utf8.count < maxItemBytes,
                seen.insert(original.key.lowercased()).inserted
            else {
                truncated = true
                continue
            }
            var item = original
            if item.bytes.count > maxItemBytes, let value = item.value {
                let room = maxItemBytes - item.key.utf8.count - 1
                let text = String(decoding: value, as: UTF8.self)
                if Array(text.utf8) == value {
                    item.value = Array(DNSSDNames.truncateUTF8(text, maxBytes: room).utf8)
                } else {
                    item.value = Array(value.prefix(room))
                }
                truncated = true
            }
            let size = item.bytes.count + 1
            if index >= required && used + size + markerSize > budget {
                truncated = true
                continue
            }
            result.append(item)
            used += size
        }
        if truncated { result.append(marker) }
        return result
    }

    /// The record's size on the wire: each string plus its length byte (an empty record is one zero byte).
    public static func wireSize(_ items: [DNSSDTXTItem]) -> Int {
        items.isEmpty ? 1 : items.reduce(0) { $0 + $1.bytes.count + 1 }
    }
}
