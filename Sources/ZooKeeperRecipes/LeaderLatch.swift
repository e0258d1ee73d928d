#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import ZooKeeperClient

/// Leader election with Curator's `LeaderLatch` layout: every participant has an ephemeral sequential, protected
/// node `<path>/_c_<uuid>-latch-<seq>` whose data is its id; the first one leads, the others each watch their
/// predecessor. Swift and Java participants elect one leader among them.
///
/// ```swift
/// let latch = LeaderLatch(client: client, path: "/election/scheduler", id: "host-a")
/// latch.start()
/// for await isLeader in latch.leadershipChanges { ... }
/// ```
///
/// Loss of leadership (`lossPolicy`): by default (`.suspension`, Curator's default error policy) leadership ends
/// as soon as the connection is lost; the node is kept, and on reconnection the latch looks again and may lead
/// again. With `.sessionLoss` a leader stays leader through a short disconnection and loses only on expiry, the
/// deletion of its node, or a disconnection longer than the session timeout. After expiry the latch starts a new
/// session on the client (`ensureSession`) and queues again with a new node. `close()` leaves the election.
public final class LeaderLatch: Sendable {
    public let client: ZooKeeperClient
    public let path: String
    public let id: String
    public let lossPolicy: LockLossPolicy
    let driver: LockDriver
    private let broadcast = LockBroadcast<Bool>(false)
    private let state = NIOLockedValueBox<(task: Task<Void, Never>?, node: String?, closed: Bool)>((nil, nil, false))

    public init(
        client: ZooKeeperClient, path: String, id: String = "", lossPolicy: LockLossPolicy = .suspension,
        logger: Logger = Logger(label: "ZooKeeperRecipes.LeaderLatch")
    ) {
        self.client = client
        self.path = path
        self.id = id
        self.lossPolicy = lossPolicy
        self.driver = LockDriver(client: client, logger: logger)
    }

    /// Whether this participant leads now.
    public var hasLeadership: Bool { broadcast.value }

    /// true when this participant becomes leader, false when it stops; each stream starts with the current
    /// value and ends after `close()`.
    public var leadershipChanges: AsyncStream<Bool> { broadcast.stream() }

    /// Our latch node, once created.
    public var nodePath: String? { state.withLockedValue { $0.node } }

    /// Joins the election (in a background task). Idempotent.
    public func start() {
        state.withLockedValue { state in
            guard state.task == nil, !state.closed else { return }
            state.task = Task { await self.run() }
        }
    }

    /// Waits until this participant leads. Returns false if `timeout` passed first or the latch was closed.
    public func awaitLeadership(timeout: Duration? = nil) async throws -> Bool {
        let changes = leadershipChanges
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await isLeader in changes where isLeader { return true }
                return false
            }
            if let timeout {
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return false
                }
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
    }

    /// Leaves the election: stops, deletes our node and reports `false`. Idempotent.
    public func close() async {
        let task = state.withLockedValue { state in
            state.closed = true
            return state.task
        }
        task?.cancel()
        await task?.value
        if let node = state.withLockedValue({ state in
            defer { state.node = nil }
            return state.node
        }) {
            await driver.delete(node)
        }
        broadcast.set(false)
        broadcast.finish()
    }

    /// The participants' ids in election order (the first leads).
    public func participants() async throws -> [String] {
        let children = try await client.getChildren(path)
        var ids: [String] = []
        for child in LockSchema.latch.sorted(children) {
            if let data = try? await client.getData("\(path)/\(child)").data {
                ids.append(String(decoding: data, as: UTF8.self))
            }
        }
        return ids
    }

    private func setNode(_ node: String?) {
        state.withLockedValue { $0.node = node }
    }

    private func run() async {
        var owned: String?
        let data = Data(id.utf8)
        while !Task.isCancelled {
            do {
                if owned == nil { try await client.ensureSession() }
                guard
                    let node = try await driver.acquire(
                        parent: path, schema: .latch, data: data, timeout: nil, resuming: owned,
                        onNode: { [weak self] node in self?.setNode(node) })
                else { continue }
                owned = node
                setNode(node)
                guard let reason = await lead(node) else { break }
                broadcast.set(false)
                switch reason {
                case .clientClosed:
                    return
                case .connectionSuspended:
                    // Keep the node: look again once reconnected (same session).
                    try await client.connect()
                case .suspendedTooLong:
                    await driver.delete(node)
                    owned = nil
                case .sessionExpired, .nodeDeleted:
                    owned = nil
                }
            } catch is CancellationError {
                break
            } catch {
                if client.currentState == .closed { break }
                if let error = error as? ZooKeeperError, error.code == .sessionExpired { owned = nil }
                try? await Task.sleep(for: .milliseconds(100))
            }
            if owned == nil { setNode(nil) }
        }
        broadcast.set(false)
    }

    /// Leads until leadership is lost (the reason) or the task is cancelled (nil).
    private func lead(_ node: String) async -> LockLossReason? {
        let monitor = LockHoldMonitor(client: client, path: node, policy: lossPolicy)
        let (losses, continuation) = AsyncStream<LockLossReason>.makeStream()
        let broadcast = self.broadcast
        broadcast.set(true)
        monitor.start { status in
            switch status {
            case .held: broadcast.set(true)
            case .suspended: break
            case .lost(let reason):
                continuation.yield(reason)
                continuation.finish()
            }
        }
        defer { monitor.stop() }
        for await reason in losses { return reason }
        return nil
    }
}
