import Crypto

// Building blocks of ZooKeeper's SASL DIGEST-MD5 authentication (driven per connection by `SASLExchange`): the users of
// a JAAS file's `Server` section, and the server side of RFC 2831's exchange as Java's DIGEST-MD5 SaslServer runs
// it for ZooKeeper (protocol `zookeeper`, server name and realm `zk-sasl-md5`, qop `auth`). Pure: the nonce comes
// from the caller.

/// The users a JAAS configuration gives ZooKeeper's DigestLoginModule:
/// `Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_alice="secret"; };`.
public struct JAASDigestUsers: Sendable, Equatable {
    /// User name → password.
    public var passwords: [String: String]

    public enum ParseError: Error, Equatable {
        case noSection(String)
        case malformed(String)
    }

    public init(passwords: [String: String]) { self.passwords = passwords }

    /// Reads the `section` (default `Server`) of a JAAS file: every `user_<name>=<password>` option of its login
    /// modules. Comments (`//`, `/* */`) are skipped; values may be quoted.
    public init(parsing text: String, section: String = "Server") throws(ParseError) {
        let tokens = try Self.tokens(text)
        var i = 0
        var found: [String: String]?
        while i < tokens.count {
            let name = tokens[i]
            guard i + 1 < tokens.count, tokens[i + 1] == "{" else { throw .malformed("expected '{' after \(name)") }
            i += 2
            var options: [String: String] = [:]
            while i < tokens.count, tokens[i] != "}" {
                // module-class flag [option=value ...] ;
                i += 2
                while i < tokens.count, tokens[i] != ";" {
                    guard i + 2 < tokens.count, tokens[i + 1] == "=" else { throw .malformed("option in \(name)") }
                    options[tokens[i]] = tokens[i + 2]
                    i += 3
                }
                guard i < tokens.count else { throw .malformed("missing ';' in \(name)") }
                i += 1
            }
            guard i + 1 < tokens.count, tokens[i] == "}", tokens[i + 1] == ";" else { throw .malformed("missing '};' after \(name)") }
            i += 2
            if name == section {
                var users: [String: String] = [:]
                for (key, value) in options where key.hasPrefix("user_") { users[String(key.dropFirst(5))] = value }
                found = users
            }
        }
        guard let found else { throw .noSection(section) }
        passwords = found
    }

    /// Words, quoted strings (unquoted), and the punctuation `{ } ; =`.
    private static func tokens(_ text: String) throws(ParseError) -> [String] {
        let s = Array(text.unicodeScalars)
        var out: [String] = []
        var i = 0
        var word = String.UnicodeScalarView()
        func flush() {
            if !word.isEmpty { out.append(String(word)) }
            word = String.UnicodeScalarView()
        }
        while i < s.count {
            let c = s[i]
            if c == "/", i + 1 < s.count, s[i + 1] == "/" {
                flush()
                while i < s.count, s[i] != "\n" { i += 1 }
            } else if c == "/", i + 1 < s.count, s[i + 1] == "*" {
                flush()
                i += 2
                while i + 1 < s.count, !(s[i] == "*" && s[i + 1] == "/") { i += 1 }
                guard i + 1 < s.count else { throw .malformed("unterminated comment") }
                i += 2
                continue
            } else if c == "\"" {
                flush()
                i += 1
                var quoted = String.UnicodeScalarView()
                while i < s.count, s[i] != "\"" {
                    if s[i] == "\\", i + 1 < s.count { i += 1 }
                    quoted.append(s[i])
                    i += 1
                }
                guard i < s.count else { throw .malformed("unterminated string") }
                out.append(String(quoted))
            } else if c == "{" || c == "}" || c == ";" || c == "=" {
                flush()
                out.append(String(c))
            } else if c.properties.isWhitespace {
                flush()
            } else {
                word.append(c)
            }
            i += 1
        }
        flush()
        return out
    }
}

/// The server side of one DIGEST-MD5 exchange (RFC 2831, qop `auth`, as ZooKeeper's SaslServer runs it):
/// `challenge()` answers the client's empty first token; `respond(to:)` checks the client's digest response and
/// returns the `rspauth` token, after which `authorizationID` is the id ZooKeeper adds as `sasl:<id>`.
public struct DigestMD5Server: Sendable {
    public static let realm = "zk-sasl-md5"
    public static let digestURI = "zookeeper/zk-sasl-md5"

    public enum Failure: Error, Equatable {
        case malformed(String)
        case unknownUser
        case wrongNonce
        case wrongDigestURI
        case unsupportedQop(String)
        case badResponse
    }

    let users: JAASDigestUsers
    let nonce: String
    public private(set) var authorizationID: String?

    /// `nonce`: fresh random text from the caller (the shell), never reused.
    public init(users: JAASDigestUsers, nonce: String) {
        self.users = users
        self.nonce = nonce
    }

    /// The first challenge.
    public func challenge() -> [UInt8] {
        Array("realm=\"\(Self.realm)\",nonce=\"\(nonce)\",qop=\"auth\",charset=utf-8,algorithm=md5-sess".utf8)
    }

    /// Checks the client's response; returns the final server token (`rspauth=...`).
    public mutating func respond(to token: [UInt8]) throws(Failure) -> [UInt8] {
        let d = try Self.directives(String(decoding: token, as: UTF8.self))
        guard let user = d["username"], let cnonce = d["cnonce"], let nc = d["nc"], let response = d["response"] else {
            throw .malformed("missing directive")
        }
        guard d["nonce"] == nonce else { throw .wrongNonce }
        guard d["digest-uri"] == Self.digestURI else { throw .wrongDigestURI }
        let qop = d["qop"] ?? "auth"
        guard qop == "auth" else { throw .unsupportedQop(qop) }
        guard let password = users.passwords[user] else { throw .unknownUser }
        let realm = d["realm"] ?? Self.realm
        let authzid = d["authzid"]
        let ha1 = Self.ha1(user: user, realm: realm, password: password, nonce: nonce, cnonce: cnonce, authzid: authzid)
        let expected = Self.kd(ha1, nonce: nonce, nc: nc, cnonce: cnonce, qop: qop, a2: "AUTHENTICATE:" + Self.digestURI)
        guard expected == response.lowercased() else { throw .badResponse }
        // ZooKeeper's SaslServerCallbackHandler authorizes every authenticated client and sets the authorized id
        // from the authentication id (the user name), whatever authzid the client asked for.
        authorizationID = user
        let rspauth = Self.kd(ha1, nonce: nonce, nc: nc, cnonce: cnonce, qop: qop, a2: ":" + Self.digestURI)
        return Array("rspauth=\(rspauth)".utf8)
    }

    /// hex(MD5(MD5(user:realm:password) ":" nonce ":" cnonce [":" authzid])), names and password in ISO-8859-1
    /// when they fit it (RFC 2831 with charset=utf-8), else UTF-8.
    static func ha1(user: String, realm: String, password: String, nonce: String, cnonce: String, authzid: String?) -> String {
        let secret = Insecure.MD5.hash(data: latin1OrUTF8(user) + [0x3A] + latin1OrUTF8(realm) + [0x3A] + latin1OrUTF8(password))
        var a1 = Array(secret) + Array(":\(nonce):\(cnonce)".utf8)
        if let authzid { a1 += Array(":\(authzid)".utf8) }
        return hex(Insecure.MD5.hash(data: a1))
    }

    static func kd(_ ha1: String, nonce: String, nc: String, cnonce: String, qop: String, a2: String) -> String {
        let ha2 = hex(Insecure.MD5.hash(data: Array(a2.utf8)))
        return hex(Insecure.MD5.hash(data: Array("\(ha1):\(nonce):\(nc):\(cnonce):\(qop):\(ha2)".utf8)))
    }

    static func latin1OrUTF8(_ s: String) -> [UInt8] {
        let scalars = s.unicodeScalars
        if scalars.allSatisfy({ $0.value <= 0xFF }) { return scalars.map { UInt8($0.value) } }
        return Array(s.utf8)
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }

    /// `key=value` or `key="quoted value"`, comma-separated.
    static func directives(_ text: String) throws(Failure) -> [String: String] {
        var out: [String: String] = [:]
        let s = Array(text.unicodeScalars)
        var i = 0
        func skipBlanks() { while i < s.count, s[i] == " " || s[i] == "\t" || s[i] == "," { i += 1 } }
        skipBlanks()
        while i < s.count {
            var key = String.UnicodeScalarView()
            while i < s.count, s[i] != "=" { key.append(s[i]); i += 1 }
            guard i < s.count else { throw .malformed("directive without value") }
            i += 1
            var value = String.UnicodeScalarView()
            if i < s.count, s[i] == "\"" {
                i += 1
                while i < s.count, s[i] != "\"" {
                    if s[i] == "\\", i + 1 < s.count { i += 1 }
                    value.append(s[i])
                    i += 1
                }
                guard i < s.count else { throw .malformed("unterminated quoted value") }
                i += 1
            } else {
                while i < s.count, s[i] != "," { value.append(s[i]); i += 1 }
            }
            let name = String(key).trimmingWhitespace().lowercased()
            guard out[name] == nil else { throw .malformed("\(name) given twice") }
            out[name] = String(value).trimmingWhitespace()
            skipBlanks()
        }
        return out
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
