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
                for auth in authInfo where auth.scheme == "digest" || auth.scheme == "super" {
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

/// IPv4 addresses with an optional /bits mask, as IPAuthenticationProvider matches them.
enum IPAddressPattern {
    static func parseIPv4(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard let b = UInt8(p) else { return nil }
            v = v << 8 | UInt32(b)
        }
        return v
    }

    static func isValid(_ pattern: String) -> Bool {
        let pieces = pattern.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count <= 2, parseIPv4(pieces[0]) != nil else { return false }
        if pieces.count == 2 { guard let bits = Int(pieces[1]), bits >= 0, bits <= 32 else { return false } }
        return true
    }

    static func matches(address: String, pattern: String) -> Bool {
        let pieces = pattern.split(separator: "/", omittingEmptySubsequences: false)
        guard let net = parseIPv4(pieces[0]), let addr = parseIPv4(Substring(address)) else { return false }
        var bits = 32
        if pieces.count == 2 { guard let b = Int(pieces[1]), b >= 0, b <= 32 else { return false }; bits = b }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
        return addr & mask == net & mask
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
