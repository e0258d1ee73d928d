/// The `x509` ACL scheme: ZooKeeper's X509AuthenticationProvider. A TLS client whose certificate verified
/// against the server's trust store is authenticated as `x509:<subject DN>`, the DN written as Java's
/// `X500Principal.getName()` writes it (RFC 2253; the server's shell computes it from the certificate). An ACL
/// entry matches when its id is exactly that string.
public enum X509Scheme {
    public static let name = "x509"

    /// X509AuthenticationProvider.matches: the same DN, character for character.
    static func matches(authId: String, aclExpression: String) -> Bool {
        authId == aclExpression
    }

    /// X509AuthenticationProvider.isValid: whether `new X500Principal(id)` would accept the id (RFC 1779/2253
    /// syntax with Java's attribute keywords or dotted OIDs; the empty DN is valid).
    public static func isValidDistinguishedName(_ text: String) -> Bool {
        var parser = DistinguishedNameSyntax(Array(text.unicodeScalars))
        return parser.parse()
    }
}

/// A recognizer (not a decoder) of the string forms of a distinguished name that Java's X500Name parser takes.
private struct DistinguishedNameSyntax {
    /// The keywords of sun.security.x509.AVAKeyword that X500Principal(String) accepts.
    static let keywords: Set<String> = [
        "CN", "C", "L", "S", "ST", "O", "OU", "T", "IP", "STREET", "DC", "DNQUALIFIER", "DNQ", "SURNAME",
        "GIVENNAME", "INITIALS", "GENERATION", "EMAIL", "EMAILADDRESS", "UID", "SERIALNUMBER",
    ]

    let s: [Unicode.Scalar]
    var i = 0

    init(_ s: [Unicode.Scalar]) { self.s = s }

    mutating func skipSpaces() { while i < s.count, s[i] == " " { i += 1 } }

    mutating func parse() -> Bool {
        skipSpaces()
        if i == s.count { return true }
        while true {
            guard attributeTypeAndValue() else { return false }
            skipSpaces()
            if i == s.count { return true }
            guard s[i] == "," || s[i] == ";" || s[i] == "+" else { return false }
            i += 1
            skipSpaces()
        }
    }

    mutating func attributeTypeAndValue() -> Bool {
        let start = i
        while i < s.count, s[i] != "=" { i += 1 }
        guard i < s.count else { return false }
        let type = String(String.UnicodeScalarView(s[start..<i])).trimmingSpaces
        i += 1
        guard isValidType(type) else { return false }
        skipSpaces()
        return value()
    }

    func isValidType(_ type: String) -> Bool {
        if Self.keywords.contains(type.uppercased()) { return true }
        var oid = Substring(type)
        if oid.uppercased().hasPrefix("OID.") { oid = oid.dropFirst(4) }
        let arcs = oid.split(separator: ".", omittingEmptySubsequences: false)
        return arcs.count >= 2 && arcs.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    mutating func value() -> Bool {
        guard i < s.count else { return true }  // an empty value
        if s[i] == "\"" {
            i += 1
            while i < s.count, s[i] != "\"" {
                if s[i] == "\\" { i += 1 }
                i += 1
            }
            guard i < s.count else { return false }
            i += 1
            return true
        }
        if s[i] == "#" {
            i += 1
            let start = i
            while i < s.count, s[i].properties.isASCIIHexDigit { i += 1 }
            return i > start && (i - start) % 2 == 0
        }
        while i < s.count, s[i] != "," && s[i] != ";" && s[i] != "+" {
            if s[i] == "\\" {
                i += 1
                guard i < s.count else { return false }
            } else if s[i] == "\"" || s[i] == "<" || s[i] == ">" {
                return false
            }
            i += 1
        }
        return true
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars = scalars.dropFirst() }
        while scalars.last == " " { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
