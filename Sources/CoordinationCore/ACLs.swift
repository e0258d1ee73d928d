import Crypto
import ZooKeeperWire

/// ACL rules of ZooKeeper: the well-known lists, digest ids, and the permission check.
public enum ACLs {
    public static let anyoneId = Id(scheme: "world", id: "anyone")
    /// `ZooDefs.Ids.OPEN_ACL_UNSAFE`.
    public static let openUnsafe = [ACL(perms: Perms.all.rawValue, id: anyoneId)]
    /// `ZooDefs.Ids.READ_ACL_UNSAFE`.
    public static let readUnsafe = [ACL(perms: Perms.read.rawValue, id: anyoneId)]

    /// `user:base64(sha1("user:password"))`, as DigestAuthenticationProvider.generateDigest computes it.
    public static func digest(userAndPassword: String) -> String {
        let user = userAndPassword.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first
            .map(String.init) ?? userAndPassword
        let hash = Insecure.SHA1.hash(data: Array(userAndPassword.utf8))
        return user + ":" + base64(Array(hash))
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The `ip` id of a connection from `remoteAddress`, as ZooKeeper writes it (Java's getHostAddress):
    /// `127.0.0.1`, `0:0:0:0:0:0:0:1`; a dual-stack socket's IPv4-mapped address is the IPv4 address.
    public static func ipId(remoteAddress: String) -> Id {
        Id(scheme: "ip", id: IPAddressPattern.javaHostAddress(remoteAddress))
    }

    /// Whether the authenticated ids may do `perm` on a node with `acl` (ZooKeeperServer.checkACL).
    public static func isAllowed(_ acl: [ACL], perm: Perms, authInfo: [Id]) -> Bool {
        if acl.isEmpty { return true }
        for id in authInfo where id.scheme == "super" { return true }
        for entry in acl where entry.perms & perm.rawValue != 0 {
            let scheme = entry.id.scheme
            if scheme == "world" && entry.id.id == "anyone" { return true }
            for auth in authInfo where auth.scheme == scheme {
                if matches(scheme: scheme, authId: auth.id, aclExpression: entry.id.id) { return true }
            }
        }
        return false
    }

    static func matches(scheme: String, authId: String, aclExpression: String) -> Bool {
        switch scheme {
        case "ip": return IPAddressPattern.matches(address: authId, pattern: aclExpression)
        case "digest": return authId == aclExpression
        case X509Scheme.name: return X509Scheme.matches(authId: authId, aclExpression: aclExpression)
        case SASLScheme.name: return SASLScheme.matches(authId: authId, aclExpression: aclExpression)
        default: return false
        }
    }

    /// ZooKeeper's PrepRequestProcessor.fixupACL: validates the ids and expands `auth` to the session's
    /// authenticated ids. Returns nil when the list is invalid (InvalidACL).
    public static func fixup(_ acl: [ACL], authInfo: [Id]) -> [ACL]? {
        if acl.isEmpty { return nil }
        var result: [ACL] = []
        for entry in acl {
            let id = entry.id
            switch id.scheme {
            case "world":
                guard id.id == "anyone" else { return nil }
                append(entry, to: &result)
            case "auth":
                var any = false
                for auth in authInfo
                where auth.scheme == "digest" || auth.scheme == "super" || auth.scheme == X509Scheme.name
                    || auth.scheme == SASLScheme.name
                {
                    // Only authenticated schemes count (ip is not one); super adds nothing assignable.
                    if auth.scheme == "super" { continue }
                    append(ACL(perms: entry.perms, id: auth), to: &result)
                    any = true
                }
                if !any { return nil }
            case "digest":
                // DigestAuthenticationProvider.isValid: `id.split(":").length == 2`, and Java's split drops
                // trailing empty strings ("user:" has one part, "a:b:c" three, "a:b:" two).
                var parts = id.id.split(separator: ":", omittingEmptySubsequences: false)
                while parts.last?.isEmpty == true { parts.removeLast() }
                guard parts.count == 2 else { return nil }
                append(entry, to: &result)
            case X509Scheme.name:
                guard X509Scheme.isValidDistinguishedName(id.id) else { return nil }
                append(entry, to: &result)
            case SASLScheme.name:
                guard SASLScheme.isValid(id.id) else { return nil }
                append(entry, to: &result)
            case "ip":
                guard IPAddressPattern.isValid(id.id) else { return nil }
                append(entry, to: &result)
            default:
                // No server provider: ProviderRegistry knows ip and digest only ("super" is not an ACL scheme).
                return nil
            }
        }
        return result
    }

    private static func append(_ acl: ACL, to list: inout [ACL]) {
        if !list.contains(acl) { list.append(acl) }
    }

    /// For getACL without ADMIN permission: digest ids lose their hash, as in ZooKeeper 3.8 ("user:x").
    public static func hidingSecrets(_ acl: [ACL]) -> [ACL] {
        acl.map { entry in
            guard entry.id.scheme == "digest", let colon = entry.id.id.firstIndex(of: ":") else { return entry }
            return ACL(perms: entry.perms, id: Id(scheme: "digest", id: entry.id.id[..<colon] + ":x"))
        }
    }
}

/// The `ip` scheme: an IPv4 or IPv6 address with an optional `/bits` prefix length, matched as ZooKeeper's
/// IPAuthenticationProvider matches it (IPv6 since ZooKeeper 3.9.4, ZOOKEEPER-4240; 3.8 knows IPv4 only):
/// - an expression with a `:` is IPv6, else one with a `.` is IPv4, else it is invalid;
/// - IPv4 is four decimal parts of 0...255; IPv6 is eight hex groups of 1-4 digits, or fewer around one `::`
///   (no embedded IPv4 part, no zone);
/// - both sides are masked to `bits` (default: the whole address) and compared; an IPv4 id never matches an IPv6
///   expression, nor the reverse.
enum IPAddressPattern {
    /// The address as bytes (4 or 16), or nil.
    static func parse(_ s: Substring) -> [UInt8]? {
        if s.contains(":") { return parseIPv6(s) }
        if s.contains(".") { return parseIPv4(s) }
        return nil
    }

    static func parseIPv4(_ s: Substring) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            // Java's Integer.parseInt: an optional sign, decimal digits.
            guard let v = Int(p), v >= 0, v <= 255 else { return nil }
            out.append(UInt8(v))
        }
        return out
    }

    static func parseIPv6(_ s: Substring) -> [UInt8]? {
        let halves = splitOnDoubleColon(s)
        var head: [Substring] = []
        var tail: [Substring] = []
        switch halves.count {
        case 1:
            head = halves[0].split(separator: ":", omittingEmptySubsequences: false)
            guard head.count == 8 else { return nil }
        case 2:
            if !halves[0].isEmpty { head = halves[0].split(separator: ":", omittingEmptySubsequences: false) }
            if !halves[1].isEmpty { tail = halves[1].split(separator: ":", omittingEmptySubsequences: false) }
            guard head.count + tail.count < 8 else { return nil }
        default:
            return nil
        }
        guard let h = groups(head), let t = groups(tail) else { return nil }
        return h + [UInt8](repeating: 0, count: 16 - h.count - t.count) + t
    }

    /// Splits at each `::`, scanning left to right without overlap (as Java's `split("::", -1)`).
    private static func splitOnDoubleColon(_ s: Substring) -> [Substring] {
        var out: [Substring] = []
        var start = s.startIndex
        var i = s.startIndex
        while i < s.endIndex {
            let next = s.index(after: i)
            if s[i] == ":", next < s.endIndex, s[next] == ":" {
                out.append(s[start..<i])
                i = s.index(after: next)
                start = i
            } else {
                i = next
            }
        }
        out.append(s[start..<s.endIndex])
        return out
    }

    private static func groups(_ parts: [Substring]) -> [UInt8]? {
        var out: [UInt8] = []
        for p in parts {
            // Java's Integer.parseInt(p, 16) on at most 4 characters (a sign is accepted there too).
            guard !p.isEmpty, p.count <= 4, let v = Int(p, radix: 16) else { return nil }
            let u = UInt16(truncatingIfNeeded: v)
            out += [UInt8(u >> 8), UInt8(u & 0xFF)]
        }
        return out
    }

    /// The address and prefix length of an expression, or nil when it is invalid.
    static func parsePattern(_ pattern: String) -> (address: [UInt8], bits: Int)? {
        let pieces = pattern.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = parse(pieces[0]) else { return nil }
        var bits = address.count * 8
        if pieces.count == 2 {
            guard let b = Int(pieces[1]), b >= 0, b <= address.count * 8 else { return nil }
            bits = b
        }
        return (address, bits)
    }

    static func isValid(_ pattern: String) -> Bool { parsePattern(pattern) != nil }

    static func matches(address: String, pattern: String) -> Bool {
        guard let (net, bits) = parsePattern(pattern), let addr = parse(Substring(address)), addr.count == net.count
        else { return false }
        for i in 0..<net.count {
            let keep = max(0, min(8, bits - i * 8))
            let mask: UInt8 = keep == 0 ? 0 : ~UInt8(0) << UInt8(8 - keep)
            if addr[i] & mask != net[i] & mask { return false }
        }
        return true
    }

    /// A client address as Java's `InetAddress.getHostAddress()` writes it, which is the `ip` id ZooKeeper gives
    /// a connection: IPv4 dotted; IPv6 as eight lowercase hex groups without leading zeros or `::` compression
    /// (`0:0:0:0:0:0:0:1`); an IPv4-mapped IPv6 address (a dual-stack socket) as its IPv4 address, since Java
    /// turns those into Inet4Address. Anything else is returned unchanged.
    static func javaHostAddress(_ address: String) -> String {
        var s = Substring(address)
        if let percent = s.firstIndex(of: "%") { s = s[..<percent] }  // a zone: kept out of the id
        guard s.contains(":") else { return address }
        let lower = s.lowercased()
        if lower.hasPrefix("::ffff:"), lower.dropFirst(7).contains("."),
            let v4 = parseIPv4(Substring(lower.dropFirst(7)))
        {
            return v4.map(String.init).joined(separator: ".")
        }
        guard let bytes = parseIPv6(s) else { return address }
        var groups: [String] = []
        for i in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]), radix: 16))
        }
        return groups.joined(separator: ":")
    }
}

/// Interned ACL lists: nodes refer to a list by index, as ZooKeeper's ReferenceCountedACLCache does.
public struct ACLTable: Sendable {
    public private(set) var lists: [[ACL]] = []
    private var index: [[ACL]: Int32] = [:]

    public init() {}

    /// The last list interned: most creates in a row use the same ACL, and comparing is cheaper than hashing.
    private var recent: Int32 = -1

    public mutating func intern(_ acl: [ACL]) -> Int32 {
        if recent >= 0 && lists[Int(recent)] == acl { return recent }
        if let i = index[acl] {
            recent = i
            return i
        }
        let i = Int32(lists.count)
        lists.append(acl)
        index[acl] = i
        recent = i
        return i
    }

    @inlinable
    public func list(_ ref: Int32) -> [ACL] { lists[Int(ref)] }
}
