import ZooKeeperWire

/// The state of the client's session and connection, as Apache Curator's ConnectionStateListener reports it.
public enum ConnectionState: Sendable, Hashable, CustomStringConvertible {
    /// A new session was established (the first one, or one started by `reconnectWithNewSession()`).
    case connected
    /// The connection was lost. The session may still be alive: the client is reconnecting, and requests in
    /// flight failed with `connectionLoss`. Watches stay registered and are re-sent on reconnect.
    case suspended
    /// The connection was re-established with the same session; watches and auth were re-sent.
    case reconnected
    /// Connected to a read-only server (only when the client allows it).
    case readOnly
    /// The server said the session has expired: its ephemeral nodes and watches are gone. Every request fails
    /// with `sessionExpired` until `reconnectWithNewSession()` starts a new session. (Curator's LOST.)
    case expired
    /// The client was closed.
    case closed

    public var description: String {
        switch self {
        case .connected: return "connected"
        case .suspended: return "suspended"
        case .reconnected: return "reconnected"
        case .readOnly: return "readOnly"
        case .expired: return "expired"
        case .closed: return "closed"
        }
    }

    /// Whether requests can be sent in this state.
    public var isConnected: Bool { self == .connected || self == .reconnected || self == .readOnly }
}

/// A watch notification, with its path relative to the client's chroot.
public struct WatchEvent: Sendable, Hashable, CustomStringConvertible {
    public var type: EventType
    public var state: KeeperState
    public var path: String

    public init(type: EventType, state: KeeperState = .syncConnected, path: String) {
        self.type = type
        self.state = state
        self.path = path
    }

    public var description: String { "WatchEvent(\(type), \(path))" }
}
