#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import ZooKeeperClient

/// What the lock shell did, for tests and debugging (`LockDriver.observer`).
enum LockDriverEvent: Sendable, Hashable {
    /// `node` (ours) set a watch on `watched`.
    case watching(node: String, watched: String)
    /// The watch set by `node` fired.
    case woke(node: String)
}

/// The async shell of `LockAttempt`: performs its steps with the client. Used by every lock-style recipe.
struct LockDriver: Sendable {
    let client: ZooKeeperClient
    let logger: Logger
    var observer: (@Sendable (LockDriverEvent) -> Void)?

    /// Takes a place in `parent` and waits until it holds the lock.
    ///
    /// - Returns: our node's path, or nil when `timeout` passed first (our node is then deleted).
    /// - Throws: `CancellationError` when the task is cancelled (our node is deleted), `ZooKeeperError` otherwise.
    func acquire(
        parent: String, schema: LockSchema, data: Data, timeout: Duration?, resuming: String? = nil,
        onNode: (@Sendable (String?) -> Void)? = nil
    ) async throws -> String? {
        let clock = ContinuousClock()
        var machine = LockAttempt<ContinuousClock.Instant>(
            parent: parent, schema: schema, deadline: timeout.map { clock.now.advanced(by: $0) })
        var step = resuming.map { machine.resume(ownedPath: $0) } ?? machine.start(guid: Self.newGUID(), now: clock.now)
        var watch: OneShotWatch?
        while true {
            if Task.isCancelled, !step.isAbandon { step = machine.cancelled() }
            logger.trace("lock step", metadata: ["step": "\(step)"])
            if let onNode {
                switch step {
                case .list, .watchNode, .acquired: onNode(machine.ourPath)
                default: break
                }
            }
            switch step {
            case .create(let path):
                do {
                    let created = try await client.create(path, data: data, mode: .ephemeralSequential)
                    step = machine.created(path: created, now: clock.now)
                } catch let error as ZooKeeperError {
                    step = machine.failed(error.code, now: clock.now)
                }
            case .createParents(let path):
                do {
                    try await Self.createParents(of: path, client: client)
                    step = machine.parentsCreated(now: clock.now)
                } catch let error as ZooKeeperError {
                    step = machine.failed(error.code, now: clock.now)
                }
            case .list(let parent, let watching):
                do {
                    let children: [String]
                    if watching {
                        let result = try await client.getChildrenAndWatch(parent)
                        children = result.children
                        watch = result.watch
                    } else {
                        children = try await client.getChildren(parent)
                    }
                    step = machine.listed(children, now: clock.now)
                } catch let error as ZooKeeperError {
                    step = machine.failed(error.code, now: clock.now)
                }
            case .watchNode(let path):
                do {
                    watch = try await client.getDataAndWatch(path).watch
                    if let ours = machine.ourPath { observer?(.watching(node: ours, watched: path)) }
                    step = machine.watchSet(exists: true, now: clock.now)
                } catch let error as ZooKeeperError {
                    step = machine.failed(error.code, now: clock.now)
                }
            case .wait(let deadline):
                guard let current = watch else {
                    step = machine.watchFired(now: clock.now)
                    continue
                }
                do {
                    if try await Self.waitForWatch(current, until: deadline) {
                        watch = nil
                        if let ours = machine.ourPath { observer?(.woke(node: ours)) }
                        step = machine.watchFired(now: clock.now)
                    } else {
                        step = machine.timeReached(now: clock.now)
                    }
                } catch {
                    step = machine.cancelled()
                }
            case .waitForConnection(let deadline):
                do {
                    let remaining = deadline.map { clock.now.duration(to: $0) }
                    try await client.connect(timeout: remaining.map { max($0, .milliseconds(1)) })
                    step = machine.connectionRestored(now: clock.now)
                } catch let error as ZooKeeperError where error.code == .operationTimeout {
                    step = machine.timeReached(now: clock.now)
                } catch let error as ZooKeeperError {
                    step = machine.failed(error.code, now: clock.now)
                } catch {
                    step = machine.cancelled()
                }
            case .acquired(let path):
                return path
            case .restart:
                step = machine.start(guid: Self.newGUID(), now: clock.now)
            case .abandon(let cleanup, let failure):
                await clean(cleanup)
                switch failure {
                case .timedOut: return nil
                case .cancelled: throw CancellationError()
                case .error(let error): throw error
                }
            }
        }
    }

    /// Deletes what an abandoned attempt left (Curator's guaranteed delete, bounded): retried across a lost
    /// connection for up to 10 s; the session's end removes the node anyway.
    func clean(_ cleanup: LockAttempt<ContinuousClock.Instant>.Cleanup) async {
        let client = self.client
        let task = Task {
            for _ in 0..<20 {
                do {
                    switch cleanup {
                    case .none:
                        return
                    case .node(let path):
                        try await client.delete(path)
                    case .protected(let parent, let guid):
                        for child in try await client.getChildren(parent) where LockProtectedName.matches(child, guid: guid) {
                            try? await client.delete("\(parent)/\(child)")
                        }
                    }
                    return
                } catch let error as ZooKeeperError where error.code == .connectionLoss {
                    try? await client.connect(timeout: .milliseconds(500))
                } catch {
                    return
                }
            }
        }
        await task.value
    }

    /// Deletes our node when releasing: NONODE and an expired session are fine (it is gone), a lost connection
    /// is retried (bounded, as `clean`).
    func delete(_ path: String) async {
        await clean(.node(path))
    }

    static func newGUID() -> String { UUID().uuidString.lowercased() }

    /// Creates the ancestors of `path` (not `path` itself) as containers.
    static func createParents(of path: String, client: ZooKeeperClient) async throws {
        let parts = path.split(separator: "/").dropLast()
        var current = ""
        for part in parts {
            current += "/\(part)"
            do {
                try await client.create(current, mode: .container)
            } catch let error as ZooKeeperError where error.code == .nodeExists {
            }
        }
    }

    /// Whether the watch fired (or ended) before the deadline. Throws `CancellationError` when cancelled.
    static func waitForWatch(_ watch: OneShotWatch, until deadline: ContinuousClock.Instant?) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    _ = try await watch.event()
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    // sessionExpired or closed: look again, the next request reports it.
                }
                return true
            }
            if let deadline {
                group.addTask {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    return false
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { return true }
            return first
        }
    }
}

extension LockAttempt.Step {
    var isAbandon: Bool {
        if case .abandon = self { return true }
        return false
    }
}

/// Runs `LockHold` for a held node: follows the client's connection states and a watch on our node, and reports
/// status changes to `onStatus` until the lock is lost or `stop()` is called.
final class LockHoldMonitor: Sendable {
    private enum Input: Sendable {
        case state(ConnectionState)
        case nodeDeleted
        case verified(Bool)
        case tick
    }

    let client: ZooKeeperClient
    let path: String
    let policy: LockLossPolicy
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)

    init(client: ZooKeeperClient, path: String, policy: LockLossPolicy) {
        self.client = client
        self.path = path
        self.policy = policy
    }

    /// Starts watching; `onStatus` is called (from a background task) on every change, the last time with `.lost`.
    func start(onStatus: @escaping @Sendable (LockHold<ContinuousClock.Instant>.Status) -> Void) {
        let client = self.client
        let path = self.path
        let policy = self.policy
        let (inputs, continuation) = AsyncStream<Input>.makeStream()
        // Subscribe before reading the current state, so that no change is missed in between.
        let states = client.states
        let initial = client.currentState
        let runner = Task {
            let helpers = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await state in states { continuation.yield(.state(state)) }
                    }
                    group.addTask {
                        await Self.watchNode(path, client: client, continuation: continuation)
                    }
                }
            }
            let clock = ContinuousClock()
            let timeout = client.negotiatedSessionTimeout ?? client.sessionTimeout
            var machine = LockHold<ContinuousClock.Instant>(policy: policy, sessionTimeout: timeout)
            if let initial, !initial.isConnected {
                continuation.yield(.state(initial))
            }
            for await input in inputs {
                let actions: [LockHold<ContinuousClock.Instant>.Action]
                switch input {
                case .state(let state): actions = machine.connection(state, now: clock.now)
                case .nodeDeleted: actions = machine.nodeDeleted(now: clock.now)
                case .verified(let exists): actions = machine.nodeVerified(exists: exists, now: clock.now)
                case .tick: actions = machine.tick(now: clock.now)
                }
                for action in actions {
                    switch action {
                    case .report(let status):
                        onStatus(status)
                    case .verifyNode:
                        Task {
                            // An error leaves the hold suspended: the next reconnect or the timer decides.
                            do {
                                let stat = try await client.exists(path)
                                continuation.yield(.verified(stat?.ephemeralOwner == client.sessionID))
                            } catch {}
                        }
                    case .schedule(let instant):
                        Task {
                            try? await Task.sleep(until: instant, clock: .continuous)
                            continuation.yield(.tick)
                        }
                    }
                }
                if machine.isLost { break }
            }
            helpers.cancel()
            continuation.finish()
        }
        task.withLockedValue { $0 = runner }
    }

    func stop() {
        task.withLockedValue { $0 }?.cancel()
    }

    private static func watchNode(
        _ path: String, client: ZooKeeperClient, continuation: AsyncStream<Input>.Continuation
    ) async {
        while !Task.isCancelled {
            do {
                let (stat, watch) = try await client.existsAndWatch(path)
                if stat == nil {
                    continuation.yield(.nodeDeleted)
                    return
                }
                let event = try await watch.event()
                if event.type == .nodeDeleted {
                    continuation.yield(.nodeDeleted)
                    return
                }
            } catch let error as ZooKeeperError where error.code == .connectionLoss {
                try? await client.connect()
            } catch {
                // Expired, closed or cancelled: the connection states say what happened.
                return
            }
        }
    }
}
