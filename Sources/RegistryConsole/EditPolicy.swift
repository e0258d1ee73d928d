import Foundation

/// Digest credentials an operator gives the console (`user:password`): the write session does
/// `addAuth("digest", "user:password")` with them, so the znodes' ACLs decide.
public struct DigestCredentials: Sendable, Hashable, CustomStringConvertible {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// The `auth` bytes of ZooKeeper's digest scheme.
    public var authString: String { "\(user):\(password)" }

    /// Never prints the password.
    public var description: String { "digest \(user):***" }

    /// From an `Authorization: Basic base64(user:password)` header; nil without one. Throws for a malformed one.
    public static func parse(authorization: String?) throws(ConsoleError) -> DigestCredentials? {
        guard let header = authorization?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic" else {
            throw .badRequest("the Authorization header must be 'Basic base64(user:password)'")
        }
        guard let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8)
        else { throw .badRequest("the Authorization header is not valid base64 of UTF-8 'user:password'") }
        guard let colon = text.firstIndex(of: ":") else {
            throw .badRequest("the credentials must be 'user:password'")
        }
        let user = String(text[..<colon])
        let password = String(text[text.index(after: colon)...])
        guard !user.isEmpty, !password.isEmpty else {
            throw .badRequest("the credentials need a user and a password")
        }
        return DigestCredentials(user: user, password: password)
    }
}

/// Whether the console accepts a write: the pure rule behind every editing endpoint.
///
/// - Editing off (`console.editEnabled` false, the default): 403 for every write.
/// - A write must be a JSON request (`Content-Type: application/json`), which a page of another site cannot send
///   without a CORS preflight (which this server never grants), and an `Origin`, when sent, must be this host.
/// - `writesRequireCredentials` (the HTTP server listens on a non-loopback address): 401 without digest
///   credentials. On loopback a write without credentials runs with the console's own session (world ACLs).
public struct EditPolicy: Sendable, Hashable {
    public var editEnabled: Bool
    public var writesRequireCredentials: Bool

    public init(editEnabled: Bool, writesRequireCredentials: Bool) {
        self.editEnabled = editEnabled
        self.writesRequireCredentials = writesRequireCredentials
    }

    public struct Request: Sendable, Hashable {
        public var authorization: String?
        public var contentType: String?
        public var origin: String?
        public var host: String?

        public init(authorization: String? = nil, contentType: String? = nil, origin: String? = nil, host: String? = nil) {
            self.authorization = authorization
            self.contentType = contentType
            self.origin = origin
            self.host = host
        }
    }

    /// The credentials to write with (nil: the console's own session), or the refusal.
    public func authorize(_ request: Request) throws(ConsoleError) -> DigestCredentials? {
        guard editEnabled else {
            throw .forbidden("editing is disabled (start the server with --console-edit, console.editEnabled=true)")
        }
        let mediaType = request.contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            throw .badRequest("a write must be sent as application/json")
        }
        if let origin = request.origin, origin != "null" {
            let originHost = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
            guard let host = request.host, originHost?.lowercased() == host.lowercased() else {
                throw .forbidden("cross-origin writes are refused")
            }
        }
        let credentials = try DigestCredentials.parse(authorization: request.authorization)
        if credentials == nil && writesRequireCredentials {
            throw .unauthorized(
                "writes need digest credentials (user:password) when the console listens on a non-loopback address")
        }
        return credentials
    }
}
