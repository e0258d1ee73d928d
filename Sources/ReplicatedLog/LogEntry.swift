import NIOCore
import ZooKeeperWire

/// One input of a session, as the replica that received it appends it to the shared log. Every replica applies
/// the same entries, in log order, through the same pure core; nothing in an entry depends on the replica that
/// applies it. `connection` is a cluster-wide connection number (the appending replica's id in the top byte),
/// `wallMillis` is the appending replica's clock when the request arrived (ctime, mtime and TTLs use it, so that
/// replay never reads a local clock), and `monotonicNanos` is only used by the appending replica for statistics.
public struct LogEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A handshake. `sessionId` is the id of a new session, chosen by the appending replica (0: let the core
        /// choose, for a single-replica log, or a reattachment when `request.sessionId` is set); `password` is the
        /// new session's password.
        case connect(ConnectRequest, password: [UInt8], sessionId: Int64, remoteAddress: String)
        /// A request of the connection, in the order the client sent it, with the session and the authentication
        /// the appending replica's connection had (every replica prepares the request with these, as a ZooKeeper
        /// follower forwards a request with its auth info).
        case request(xid: Int32, ZooKeeperRequest, sessionId: Int64, authInfo: [Id])
        /// The client connection is gone; its session lives on until it closes or expires.
        case disconnect
        /// The container and TTL reaper runs at the entry's time.
        case reap
        /// The session expired: its lease ran out in the log (never appended by a replica; the log derives it).
        case expire(sessionId: Int64)
    }

    public var connection: UInt64
    public var kind: Kind
    public var wallMillis: Int64
    public var monotonicNanos: Int64

    public init(connection: UInt64, kind: Kind, wallMillis: Int64, monotonicNanos: Int64) {
        self.connection = connection
        self.kind = kind
        self.wallMillis = wallMillis
        self.monotonicNanos = monotonicNanos
    }
}

/// What the log delivers for one position: the entries, in order, and the zxid the position starts at (nil for
/// a log with no positions of its own, like the in-memory seam in tests: zxids then simply count transactions).
public struct LogDelivery: Sendable, Equatable {
    public var revision: Int64
    public var entries: [LogEntry]

    public init(revision: Int64, entries: [LogEntry]) {
        self.revision = revision
        self.entries = entries
    }

    /// The first zxid of this position: see `ZxidLayout`.
    public var zxidBase: Int64 { ZxidLayout.base(ofRevision: revision) }
}

/// How a zxid is formed from the log position (etcd's revision), so that zxids are monotonic across the whole
/// cluster and across failovers, and every replica computes the same ones:
///
///     zxid = revision << 16 | n      (n = 1, 2, ... for the transactions applied at that position)
///
/// In ZooKeeper's terms the epoch (the high 32 bits) is `revision >> 16` and the counter (the low 32 bits) is
/// `(revision & 0xFFFF) << 16 | n`. A position holds at most 65,535 transactions (a batch is capped well below).
/// Because every delivered position moves the zxid to at least its base, `zxid >> 16` of the last applied zxid
/// is the last applied revision: a snapshot's zxid says where in the log to resume.
public enum ZxidLayout {
    public static let shift = 16
    public static func base(ofRevision revision: Int64) -> Int64 { revision << Int64(shift) }
    public static func revision(ofZxid zxid: Int64) -> Int64 { zxid >> Int64(shift) }
}
