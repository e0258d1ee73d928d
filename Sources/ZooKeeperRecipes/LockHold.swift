import ZooKeeperClient

/// Why a held lock (or leadership) was lost.
public enum LockLossReason: Sendable, Hashable, CustomStringConvertible {
    /// The session expired: the server deleted our node.
    case sessionExpired
    /// The connection was lost for longer than the session timeout: the server has most likely expired the session
    /// and another process may hold the lock now (Curator's simulated LOST).
    case suspendedTooLong
    /// The connection was lost and the policy counts that as a loss (`LockLossPolicy.suspension`).
    case connectionSuspended
    /// Our node was deleted (by someone else, or by the server after expiry).
    case nodeDeleted
    /// The client was closed.
    case clientClosed

    public var description: String {
        switch self {
        case .sessionExpired: return "the session expired"
        case .suspendedTooLong: return "the connection was lost for longer than the session timeout"
        case .connectionSuspended: return "the connection was lost"
        case .nodeDeleted: return "the lock node was deleted"
        case .clientClosed: return "the client was closed"
        }
    }
}

/// When a holder stops counting on its lock or leadership.
public enum LockLossPolicy: Sendable, Hashable {
    /// Lost when the session is lost: expiry, our node deleted, or the connection down for longer than the
    /// negotiated session timeout (the server will have expired it by then). While the connection is down for less,
    /// the holder sees `suspended` and keeps the lock (Curator's SessionConnectionStateErrorPolicy, plus its
    /// simulated expiry).
    case sessionLoss
    /// Lost as soon as the connection is lost, even if the session survives (Curator's default
    /// StandardConnectionStateErrorPolicy): safest, since a partitioned holder cannot know whether it still holds.
    case suspension
}

/// What a holder knows about its lock (or leadership) while it holds it, as a pure state machine: connection
/// states, the watch on our own node and the time in, status reports out. No I/O, no clock reads.
public struct LockHold<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum Status: Sendable, Hashable {
        case held
        /// The connection is down; the lock may still be ours.
        case suspended
        case lost(LockLossReason)
    }

    public enum Action: Sendable, Hashable {
        /// Tell the holder.
        case report(Status)
        /// Check that our node still exists (after a reconnect), then `nodeVerified(exists:now:)`.
        case verifyNode
        /// Call `tick(now:)` at this time.
        case schedule(Instant)
    }

    public let policy: LockLossPolicy
    public let sessionTimeout: Duration
    public private(set) var status: Status = .held
    private var suspendedSince: Instant?

    public init(policy: LockLossPolicy, sessionTimeout: Duration) {
        self.policy = policy
        self.sessionTimeout = sessionTimeout
    }

    public var isLost: Bool {
        if case .lost = status { return true }
        return false
    }

    private mutating func lose(_ reason: LockLossReason) -> [Action] {
        guard !isLost else { return [] }
        status = .lost(reason)
        suspendedSince = nil
        return [.report(status)]
    }

    public mutating func connection(_ state: ConnectionState, now: Instant) -> [Action] {
        guard !isLost else { return [] }
        switch state {
        case .suspended:
            if policy == .suspension { return lose(.connectionSuspended) }
            guard status != .suspended else { return [] }
            status = .suspended
            suspendedSince = now
            return [.report(.suspended), .schedule(now.advanced(by: sessionTimeout))]
        case .reconnected, .readOnly:
            return status == .suspended ? [.verifyNode] : []
        case .connected:
            // A new session: the old one, and our node, are gone.
            return lose(.sessionExpired)
        case .expired:
            return lose(.sessionExpired)
        case .closed:
            return lose(.clientClosed)
        }
    }

    public mutating func nodeDeleted(now: Instant) -> [Action] {
        lose(.nodeDeleted)
    }

    public mutating func nodeVerified(exists: Bool, now: Instant) -> [Action] {
        guard !isLost else { return [] }
        guard exists else { return lose(.nodeDeleted) }
        guard status == .suspended else { return [] }
        status = .held
        suspendedSince = nil
        return [.report(.held)]
    }

    public mutating func tick(now: Instant) -> [Action] {
        guard !isLost, let suspendedSince else { return [] }
        if now >= suspendedSince.advanced(by: sessionTimeout) { return lose(.suspendedTooLong) }
        return [.schedule(suspendedSince.advanced(by: sessionTimeout))]
    }
}
