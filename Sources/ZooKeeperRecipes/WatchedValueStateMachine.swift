#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ZooKeeperClient

/// The decisions of a watched value (Curator's NodeCache), as a pure value: when to read the node (with a watch),
/// when to renew an expired session, what to report, and how long to wait before retrying a failed read.
/// `WatchedValueSequence` runs the steps; tests drive it with no server and no clock.
///
/// - Every read is an `exists` with a one-shot watch, then a `getData` if the node exists. The watch fires on
///   create, delete and data change: the next read follows.
/// - After a reconnect (`.reconnected`/`.connected`) the node is read again, so a change missed while
///   disconnected is never lost; after a session expiry the session is renewed first.
/// - A read that sees what was last reported reports nothing; a node seen absent before it ever existed is
///   `neverExisted`, absent after it existed is `deleted`.
public struct WatchedValueStateMachine: Sendable {
    /// What a read saw.
    public enum Observation: Sendable, Hashable {
        case present(Data, Stat)
        case absent
    }

    /// What to report to the consumer (before decoding).
    public enum Report: Sendable, Hashable {
        case present(Data, Stat)
        case neverExisted
        case deleted
    }

    public enum Step: Sendable, Hashable {
        /// Read the node and set a watch.
        case read
        /// The session expired: start a new one (`ensureSession`), then call `sessionRenewed()`.
        case renewSession
        /// Wait for a message (watch fired, connection state, retry timer).
        case wait
        /// The client is closed or the consumer stopped: end the sequence.
        case finish
    }

    public enum Message: Sendable, Hashable {
        /// The read's watch fired (any event type).
        case watchFired
        /// The watch ended without an event: the session expired (or the client closed).
        case watchEnded(expired: Bool)
        case connection(ConnectionState)
        /// A retry timer asked for by `readFailed` or `sessionRenewFailed` went off.
        case retry
    }

    public private(set) var needsRead = true
    public private(set) var needsSession = false
    public private(set) var finished = false
    public private(set) var waitingForRetry = false
    public private(set) var backoff = RecipeBackoff()
    /// Whether the node was ever seen present.
    public private(set) var existed = false
    /// The last report, to skip repeats.
    public private(set) var lastReport: Report?

    public init() {}

    public mutating func next() -> Step {
        if finished { return .finish }
        if waitingForRetry { return .wait }
        if needsSession { return .renewSession }
        if needsRead {
            needsRead = false
            return .read
        }
        return .wait
    }

    /// A read completed: returns what to report, if anything new.
    public mutating func readCompleted(_ observation: Observation) -> Report? {
        backoff.reset()
        let report: Report
        switch observation {
        case .present(let data, let stat):
            existed = true
            report = .present(data, stat)
        case .absent:
            report = existed ? .deleted : .neverExisted
        }
        if let last = lastReport, Self.same(last, report) { return nil }
        lastReport = report
        return report
    }

    /// A read failed. Returns the delay of a retry timer the shell must start (then send `.retry`), or nil.
    public mutating func readFailed(_ code: ErrorCode?) -> Duration? {
        needsRead = true
        if code == .sessionExpired {
            needsSession = true
            return nil
        }
        waitingForRetry = true
        return backoff.next()
    }

    public mutating func sessionRenewed() {
        needsSession = false
        needsRead = true
    }

    /// Renewing the session failed: retry after the returned delay.
    public mutating func sessionRenewFailed() -> Duration {
        waitingForRetry = true
        return backoff.next()
    }

    public mutating func receive(_ message: Message) {
        switch message {
        case .watchFired:
            needsRead = true
        case .watchEnded(let expired):
            if expired { needsSession = true }
            needsRead = true
        case .connection(let state):
            switch state {
            case .connected, .reconnected, .readOnly:
                needsRead = true
            case .expired:
                needsSession = true
                needsRead = true
            case .closed:
                finished = true
            case .suspended:
                break
            }
        case .retry:
            waitingForRetry = false
        }
    }

    /// The consumer stopped.
    public mutating func stop() { finished = true }

    /// Two reports are the same when they are the same node version (czxid and mzxid) or both the same absence.
    static func same(_ a: Report, _ b: Report) -> Bool {
        switch (a, b) {
        case (.present(_, let x), .present(_, let y)): return x.czxid == y.czxid && x.mzxid == y.mzxid
        case (.neverExisted, .neverExisted), (.deleted, .deleted): return true
        default: return false
        }
    }
}
