/// One connection's SASL negotiation, as ZooKeeperServer.processSasl runs it with Java's DIGEST-MD5 SaslServer:
/// the client's first token is empty and gets the challenge; its second carries the digest response and gets
/// `rspauth`, after which the connection is authenticated as `sasl:<user>`. Anything else fails the exchange,
/// which the core answers with AUTHFAILED and a closed connection. Pure: the nonce comes from the shell.
struct SASLExchange: Sendable, Equatable {
    enum Step: Sendable, Equatable {
        case initial
        case challenged(nonce: String)
        case complete
    }

    enum Outcome: Sendable, Equatable {
        /// Send this token; the exchange goes on.
        case token([UInt8])
        /// The client proved its password: send `token` (rspauth) and add `sasl:<user>`.
        case authenticated(user: String, token: [UInt8])
        /// Reply AUTHFAILED and close (the reason is for the server's log, never a secret).
        case failed(String)
    }

    private(set) var step: Step = .initial

    /// The next token of the exchange. `nonce`: fresh random text from the shell, used for the challenge.
    mutating func evaluate(_ token: [UInt8], users: JAASDigestUsers, nonce: String) -> Outcome {
        switch step {
        case .initial:
            // Java's DIGEST-MD5 server takes no initial response.
            guard token.isEmpty else {
                step = .complete
                return .failed("DIGEST-MD5 takes no initial response")
            }
            step = .challenged(nonce: nonce)
            return .token(DigestMD5Server(users: users, nonce: nonce).challenge())
        case .challenged(let challengeNonce):
            step = .complete
            var server = DigestMD5Server(users: users, nonce: challengeNonce)
            do {
                let rspauth = try server.respond(to: token)
                guard let user = server.authorizationID else { return .failed("no authorization id") }
                return .authenticated(user: user, token: rspauth)
            } catch {
                return .failed(Self.describe(error))
            }
        case .complete:
            return .failed("SASL exchange already completed")
        }
    }

    static func describe(_ failure: DigestMD5Server.Failure) -> String {
        switch failure {
        case .malformed(let what): return "malformed DIGEST-MD5 response: \(what)"
        case .unknownUser: return "unknown user"
        case .wrongNonce: return "wrong nonce"
        case .wrongDigestURI: return "wrong digest-uri"
        case .unsupportedQop(let qop): return "unsupported qop \(qop)"
        case .badResponse: return "wrong password"
        }
    }
}

/// The `sasl` ACL scheme: ZooKeeper's SASLAuthenticationProvider.
public enum SASLScheme {
    public static let name = "sasl"

    /// SASLAuthenticationProvider.matches: the same id, or an authenticated id `super`, which matches every
    /// `sasl` ACL entry.
    static func matches(authId: String, aclExpression: String) -> Bool {
        authId == "super" || authId == aclExpression
    }

    /// SASLAuthenticationProvider.isValid (`new KerberosName(id)`): a name without `@`, or
    /// `service[/host]@realm` where no part holds `/` or `@`.
    static func isValid(_ id: String) -> Bool {
        guard let at = id.firstIndex(of: "@") else { return true }
        let principal = id[..<at]
        let realm = id[id.index(after: at)...]
        if realm.contains("@") || realm.contains("/") { return false }
        return principal.filter { $0 == "/" }.count <= 1
    }
}

// The passwords never reach a log line or a test failure message through string interpolation or dump().
extension JAASDigestUsers: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "JAASDigestUsers(\(passwords.keys.sorted().joined(separator: ", ")))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["users": passwords.keys.sorted()]) }
}
