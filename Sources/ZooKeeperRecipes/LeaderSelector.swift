#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import ZooKeeperClient

/// Leader election with Curator's `LeaderSelector` semantics and layout (an `InterProcessMutex` at `path`, nodes
/// `_c_<uuid>-lock-<seq>` with the id as data): when this participant's turn comes, `takeLeadership` runs, and
/// leadership ends when it returns.
///
/// - When leadership is lost while the closure runs (per `lossPolicy`; default `.suspension`, as Curator's
///   `LeaderSelectorListenerAdapter`), the closure's task is cancelled; the lock is released once it returns.
/// - After a turn, the selector queues again if `autoRequeue` is set, or when `requeue()` is called.
/// - Errors thrown by the closure end the turn (they are logged), like any return.
public final class LeaderSelector: Sendable {
    public typealias Leadership = @Sendable (LeaderSelector) async throws -> Void

    public let client: ZooKeeperClient
    public let path: String
    public let id: String
    public let autoRequeue: Bool
    public let lossPolicy: LockLossPolicy
    let logger: Logger
    private let takeLeadership: Leadership
    private let broadcast = LockBroadcast<Bool>(false)
    private let requests: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)
    private let state = NIOLockedValueBox<(task: Task<Void, Never>?, queued: Bool, closed: Bool)>((nil, false, false))

    public init(
        client: ZooKeeperClient, path: String, id: String = "", autoRequeue: Bool = false,
        lossPolicy: LockLossPolicy = .suspension, logger: Logger = Logger(label: "ZooKeeperRecipes.LeaderSelector"),
        takeLeadership: @escaping Leadership
    ) {
        self.client = client
        self.path = path
        self.id = id
        self.autoRequeue = autoRequeue
        self.lossPolicy = lossPolicy
        self.logger = logger
        self.takeLeadership = takeLeadership
        self.requests = AsyncStream<Void>.makeStream()
    }

    public var hasLeadership: Bool { broadcast.value }

    /// true when `takeLeadership` starts, false when the turn ends; each stream starts with the current value and
    /// ends after `close()`.
    public var leadershipChanges: AsyncStream<Bool> { broadcast.stream() }

    /// Queues for leadership (in a background task). Idempotent.
    public func start() {
        state.withLockedValue { state in
            guard state.task == nil, !state.closed else { return }
            state.task = Task { await self.run() }
        }
        _ = requeue()
    }

    /// Queues again after a turn. Returns false if already queued or leading (or closed).
    @discardableResult
    public func requeue() -> Bool {
        let queue: Bool = state.withLockedValue { state in
            guard !state.queued, !state.closed else { return false }
            state.queued = true
            return true
        }
        if queue { requests.continuation.yield() }
        return queue
    }

    /// Leaves: cancels a running `takeLeadership`, releases the lock, stops queueing. Idempotent.
    public func close() async {
        let task = state.withLockedValue { state in
            state.closed = true
            return state.task
        }
        requests.continuation.finish()
        task?.cancel()
        await task?.value
        broadcast.set(false)
        broadcast.finish()
    }

    private func run() async {
        for await _ in requests.stream {
            repeat {
                await turn()
            } while autoRequeue && !Task.isCancelled
            state.withLockedValue { $0.queued = false }
            if Task.isCancelled { break }
        }
    }

    /// Waits for the lock, leads, releases.
    private func turn() async {
        let mutex = InterProcessMutex(
            client: client, path: path, schema: .mutex, lossPolicy: lossPolicy, nodeData: Data(id.utf8),
            logger: logger)
        while !Task.isCancelled {
            do {
                try await client.ensureSession()
                try await mutex.acquire()
                break
            } catch {
                if Task.isCancelled || client.currentState == .closed { return }
                logger.debug("leader selector could not queue", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        if Task.isCancelled {
            try? await mutex.release()
            return
        }
        let broadcast = self.broadcast
        let takeLeadership = self.takeLeadership
        do {
            try await mutex.withLock {
                broadcast.set(true)
                defer { broadcast.set(false) }
                try await takeLeadership(self)
            }
        } catch {
            logger.debug("leadership ended", metadata: ["error": "\(error)"])
        }
        try? await mutex.release()
        broadcast.set(false)
    }
}
