#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ZooKeeperClient

/// A distributed counting semaphore with Curator's `InterProcessSemaphoreV2` layout: an `InterProcessMutex` at
/// `<path>/locks` lets one process at a time in; it creates `<path>/leases/_c_<uuid>-lease-<seq>` (ephemeral
/// sequential, protected) and waits, still holding the mutex, until at most `maxLeases` lease nodes exist.
///
/// As in Curator, `maxLeases` is not stored in ZooKeeper: every participant must use the same value.
public struct InterProcessSemaphoreV2: Sendable {
    public let client: ZooKeeperClient
    public let path: String
    public let maxLeases: Int
    let nodeData: Data
    let logger: Logger

    public init(
        client: ZooKeeperClient, path: String, maxLeases: Int, nodeData: Data = Data(),
        logger: Logger = Logger(label: "ZooKeeperRecipes.InterProcessSemaphoreV2")
    ) {
        precondition(maxLeases > 0, "maxLeases must be positive")
        self.client = client
        self.path = path
        self.maxLeases = maxLeases
        self.nodeData = nodeData
        self.logger = logger
    }

    /// Takes one lease.
    ///
    /// - Parameter timeout: nil waits as long as it takes.
    /// - Returns: the lease, or nil if the timeout passed first (nothing is left behind).
    public func acquire(timeout: Duration? = nil) async throws -> SemaphoreLease? {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now.advanced(by: $0) }
        let mutex = InterProcessMutex(
            client: client, path: "\(path)/locks", schema: .mutex, lossPolicy: .sessionLoss, nodeData: nodeData,
            logger: logger)
        guard try await mutex.acquire(timeout: timeout) else { return nil }
        do {
            let driver = LockDriver(client: client, logger: logger)
            let remaining = deadline.map { max(clock.now.duration(to: $0), .zero) }
            let lease = try await driver.acquire(
                parent: "\(path)/leases", schema: .leases(max: maxLeases), data: nodeData, timeout: remaining)
            try? await mutex.release()
            return lease.map { SemaphoreLease(client: client, path: $0, logger: logger) }
        } catch {
            try? await mutex.release()
            throw error
        }
    }

    /// Takes `count` leases, all or none.
    public func acquire(_ count: Int, timeout: Duration? = nil) async throws -> [SemaphoreLease]? {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now.advanced(by: $0) }
        var leases: [SemaphoreLease] = []
        do {
            for _ in 0..<count {
                let remaining = deadline.map { max(clock.now.duration(to: $0), .zero) }
                guard let lease = try await acquire(timeout: remaining) else {
                    for lease in leases { await lease.release() }
                    return nil
                }
                leases.append(lease)
            }
        } catch {
            for lease in leases { await lease.release() }
            throw error
        }
        return leases
    }
}

/// One lease of an `InterProcessSemaphoreV2`: its ephemeral node. `release()` deletes it.
public struct SemaphoreLease: Sendable, Hashable {
    public let path: String
    let client: ZooKeeperClient
    let logger: Logger

    init(client: ZooKeeperClient, path: String, logger: Logger) {
        self.client = client
        self.path = path
        self.logger = logger
    }

    public func release() async {
        await LockDriver(client: client, logger: logger).delete(path)
    }

    public static func == (lhs: SemaphoreLease, rhs: SemaphoreLease) -> Bool { lhs.path == rhs.path }
    public func hash(into hasher: inout Hasher) { hasher.combine(path) }
}
