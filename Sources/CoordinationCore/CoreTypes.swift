import ZooKeeperWire

/// A client connection, numbered by the shell.
public struct ConnectionID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var raw: UInt64
    public init(_ raw: UInt64) { self.raw = raw }
    public static func < (a: ConnectionID, b: ConnectionID) -> Bool { a.raw < b.raw }
    public var description: String { "conn-\(raw)" }
}

/// The time an input happens at: wall-clock milliseconds (stored in ctime/mtime) and a monotonic clock in
/// milliseconds (for session expiry). The core never reads a clock.
public struct CoreTime: Sendable, Equatable {
    public var wall: Int64
    public var monotonic: Int64
    public init(wall: Int64, monotonic: Int64) {
        self.wall = wall
        self.monotonic = monotonic
    }
}

/// Settings the core needs (a subset of zoo.cfg).
public struct CoreConfiguration: Sendable, Equatable {
    public var tickTime: Int32
    public var minSessionTimeout: Int32
    public var maxSessionTimeout: Int32
    /// `super:base64digest` from DigestAuthenticationProvider.superDigest.
    public var superDigest: String?
    /// TTL nodes (zookeeper.extendedTypesEnabled).
    public var extendedTypesEnabled: Bool
    public var containerCheckInterval: Int64
    public var containerMaxPerMinute: Int
    /// The users SASL DIGEST-MD5 authenticates (a JAAS file's `Server` section); nil: SASL is not configured, and
    /// a client's SASL token is refused with AUTHFAILED.
    public var saslUsers: JAASDigestUsers?
    /// `zookeeper.superUser`: SASL ids that also get `super`.
    public var saslSuperUsers: [String]

    public init(
        tickTime: Int32 = 2000, minSessionTimeout: Int32? = nil, maxSessionTimeout: Int32? = nil,
        superDigest: String? = nil, extendedTypesEnabled: Bool = false, containerCheckInterval: Int64 = 60_000,
        containerMaxPerMinute: Int = 10_000, saslUsers: JAASDigestUsers? = nil, saslSuperUsers: [String] = []
    ) {
        self.saslUsers = saslUsers
        self.saslSuperUsers = saslSuperUsers
        self.tickTime = tickTime
        self.minSessionTimeout = minSessionTimeout ?? tickTime * 2
        self.maxSessionTimeout = maxSessionTimeout ?? tickTime * 20
        self.superDigest = superDigest
        self.extendedTypesEnabled = extendedTypesEnabled
        self.containerCheckInterval = containerCheckInterval
        self.containerMaxPerMinute = containerMaxPerMinute
    }
}

/// A frame the shell must send to a connection.
public enum OutboundFrame: Sendable, Equatable {
    case connectResponse(ConnectResponse)
    case reply(xid: Int32, zxid: Int64, err: ErrorCode, response: ZooKeeperResponse)
    case notification(zxid: Int64, WatcherEvent)
}

/// What the core asks the shell to do, in order.
public enum CoreAction: Sendable, Equatable {
    case log(LoggedTransaction)
    /// Send a frame once the transaction `after` is durable: the newest zxid of the state the frame reveals (a
    /// write's reply and the watch events it fires: that write; a read: the node's mzxid/pzxid, or the last
    /// submitted zxid where the core cannot tell). A client must never see state a crash could lose. The shell
    /// also keeps each connection's frames in the order given here.
    case send(ConnectionID, OutboundFrame, after: Int64)
    /// Close the connection once what was queued for it before has been sent.
    case close(ConnectionID, reason: CloseReason)
    /// For the server's log: the connection authenticated, or failed to (SASL). Carries no secret.
    case authentication(ConnectionID, AuthenticationEvent)
}

/// What the shell logs about a connection's authentication.
public enum AuthenticationEvent: Sendable, Equatable {
    /// The connection is now also `id` (and `super`, when `superUser`).
    case succeeded(Id, superUser: Bool)
    /// The exchange failed; `reason` says why in words ("wrong password", "unknown user"), never with a secret.
    case failed(scheme: String, reason: String)
}

public enum CloseReason: String, Sendable, Equatable {
    case closeSession = "close session"
    case sessionExpired = "session expired"
    case invalidSession = "invalid session or password"
    case reconnectedElsewhere = "session reconnected on another connection"
    case zxidAhead = "client has seen a newer zxid than the server"
    case requestBeforeHandshake = "request before handshake"
    case authFailed = "authentication failed"
    case unimplemented = "unimplemented request"
    case duplicateHandshake = "second handshake on one connection"
}
