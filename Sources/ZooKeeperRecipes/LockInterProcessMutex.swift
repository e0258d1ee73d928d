#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import ZooKeeperClient

/// The state of a lock as its holder sees it.
public enum LockState: Sendable, Hashable, CustomStringConvertible {
    case released
    case acquired
    /// The connection is down: the lock may still be ours (see `LockLossPolicy`).
    case suspended
    /// The lock is no longer ours (until `release()` is called, which only tidies up).
    case lost(LockLossReason)

    public var description: String {
        switch self {
        case .released: return "released"
        case .acquired: return "acquired"
        case .suspended: return "suspended"
        case .lost(let reason): return "lost (\(reason))"
        }
    }
}

public enum LockError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `withLock` could not take the lock in time.
    case timedOut
    /// The lock was lost while held (`withLock`: the body was cancelled).
    case lost(LockLossReason)
    /// `release()` without a matching `acquire`.
    case notHeld
    /// `acquire` was called on this instance while another `acquire` of it was still waiting.
    case acquireInProgress

    public var description: String {
        switch self {
        case .timedOut: return "timed out waiting for the lock"
        case .lost(let reason): return "the lock was lost: \(reason)"
        case .notHeld: return "the lock is not held"
        case .acquireInProgress: return "another acquire of this lock instance is in progress"
        }
    }
}

/// A distributed mutex with Apache Curator's `InterProcessMutex` node layout
/// (`<path>/_c_<uuid>-lock-<seq>`, ephemeral sequential, protected), so Swift and Java processes exclude each other.
///
/// ```swift
/// let lock = InterProcessMutex(client: client, path: "/locks/db-migration")
/// try await lock.withLock(timeout: .seconds(30)) {
///     try await migrate()   // cancelled if the lock is lost
/// }
/// ```
///
/// - Fair and herd-free: waiters queue by sequence number and each watches only its predecessor.
/// - Reentrant per instance: an instance is one holder (Curator's is per thread); `acquire` on an instance that
///   holds the lock only counts, and the node goes at the last `release`. Tasks that must exclude each other use
///   separate instances (concurrent `acquire`s of one instance throw `LockError.acquireInProgress`).
/// - Loss: unlike Curator, the holder is told. `states` reports `suspended` while the connection is down and
///   `lost(reason)` when the lock is no longer ours, per `lossPolicy` (default `.sessionLoss`: expiry, our node
///   deleted, or the connection down for longer than the session timeout). `withLock` cancels its body on loss and
///   then throws `LockError.lost`.
public actor InterProcessMutex {
    public nonisolated let client: ZooKeeperClient
    /// The lock's directory (the parent of the lock nodes).
    public nonisolated let path: String
    public nonisolated let lossPolicy: LockLossPolicy
    nonisolated let schema: LockSchema
    nonisolated let nodeData: Data
    nonisolated let driver: LockDriver

    private var node: String?
    private var count = 0
    private var acquiring = false
    private var monitor: LockHoldMonitor?
    private nonisolated let broadcast = LockBroadcast<LockState>(.released)

    /// - Parameters:
    ///   - path: the lock's directory; created (as containers) when missing.
    ///   - lossPolicy: when a held lock counts as lost (see `LockLossPolicy`).
    ///   - nodeData: the lock node's data (Curator writes the host's IP address by default; this default is empty).
    public init(
        client: ZooKeeperClient, path: String, lossPolicy: LockLossPolicy = .sessionLoss, nodeData: Data = Data(),
        logger: Logger = Logger(label: "ZooKeeperRecipes.InterProcessMutex")
    ) {
        self.init(client: client, path: path, schema: .mutex, lossPolicy: lossPolicy, nodeData: nodeData, logger: logger)
    }

    init(
        client: ZooKeeperClient, path: String, schema: LockSchema, lossPolicy: LockLossPolicy, nodeData: Data,
        logger: Logger, observer: (@Sendable (LockDriverEvent) -> Void)? = nil
    ) {
        self.client = client
        self.path = path
        self.schema = schema
        self.lossPolicy = lossPolicy
        self.nodeData = nodeData
        self.driver = LockDriver(client: client, logger: logger, observer: observer)
    }

    /// The lock's state from now on (each stream starts with the current state).
    public nonisolated var states: AsyncStream<LockState> { broadcast.stream() }

    public nonisolated var currentState: LockState { broadcast.value }

    /// Whether this instance holds the lock (acquired and not lost).
    public var isAcquired: Bool {
        node != nil && currentState != .released && !currentState.isLost
    }

    /// Our lock node while held.
    public var lockNodePath: String? { node }

    /// Waits for the lock.
    ///
    /// - Parameter timeout: give up after this long (nil: wait as long as it takes).
    /// - Returns: false if the timeout passed first (nothing is left behind).
    /// - Throws: `CancellationError` (nothing left behind), `ZooKeeperError` (e.g. `sessionExpired`),
    ///   `LockError.acquireInProgress`.
    @discardableResult
    public func acquire(timeout: Duration? = nil) async throws -> Bool {
        if node != nil, !currentState.isLost {
            count += 1
            return true
        }
        guard !acquiring else { throw LockError.acquireInProgress }
        if node != nil { await forget() }
        acquiring = true
        defer { acquiring = false }
        guard
            let path = try await driver.acquire(parent: path, schema: schema, data: nodeData, timeout: timeout)
        else { return false }
        node = path
        count = 1
        broadcast.set(.acquired)
        let monitor = LockHoldMonitor(client: client, path: path, policy: lossPolicy)
        self.monitor = monitor
        let broadcast = self.broadcast
        monitor.start { status in
            switch status {
            case .held: broadcast.set(.acquired)
            case .suspended: broadcast.set(.suspended)
            case .lost(let reason): broadcast.set(.lost(reason))
            }
        }
        return true
    }

    /// Releases one `acquire`; the last one deletes the node. Releasing a lost lock only tidies up (no error).
    ///
    /// - Throws: `LockError.notHeld` without a matching `acquire`.
    public func release() async throws {
        guard node != nil, count > 0 else { throw LockError.notHeld }
        count -= 1
        if count > 0 { return }
        await forget()
    }

    private func forget() async {
        monitor?.stop()
        monitor = nil
        let node = self.node
        self.node = nil
        count = 0
        if let node { await driver.delete(node) }
        broadcast.set(.released)
    }

    /// Runs `body` holding the lock, and releases it afterwards.
    ///
    /// Policy on loss: when the lock is lost while `body` runs, `body`'s task is cancelled; once it returns (or
    /// throws), the lock is tidied up and `LockError.lost(reason)` is thrown, whatever `body` returned.
    ///
    /// - Throws: `LockError.timedOut` if the lock was not taken within `timeout`, `LockError.lost`, or what `body`
    ///   throws.
    public func withLock<T: Sendable>(
        timeout: Duration? = nil, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard try await acquire(timeout: timeout) else { throw LockError.timedOut }
        let states = self.states
        let outcome: Result<T, any Error> = await withTaskGroup(of: Result<T, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                for await state in states {
                    if case .lost(let reason) = state { return .failure(LockError.lost(reason)) }
                }
                return nil
            }
            var result: Result<T, any Error>?
            var lost: LockError?
            while let next = await group.next() {
                guard let next else { continue }
                if case .failure(let error as LockError) = next, lost == nil, result == nil {
                    lost = error
                    group.cancelAll()
                    continue
                }
                if result == nil { result = next }
                group.cancelAll()
            }
            if let lost { return .failure(lost) }
            return result ?? .failure(CancellationError())
        }
        try? await release()
        return try outcome.get()
    }
}

extension LockState {
    public var isLost: Bool {
        if case .lost = self { return true }
        return false
    }
}
