#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ZooKeeperClient

/// A distributed read-write lock with Curator's `InterProcessReadWriteLock` layout: one directory of
/// `_c_<uuid>-__READ__<seq>` and `_c_<uuid>-__WRIT__<seq>` nodes in one sequence order. Readers share the lock
/// unless a writer queued before them; a writer waits for every node before it. Each side is an
/// `InterProcessMutex` (reentrant per instance, loss reported the same way).
///
/// Unlike Curator, the read lock of an instance that holds its write lock is not granted at once (no downgrade):
/// take the read lock from another `InterProcessReadWriteLock` instance, or release the write lock first.
public struct InterProcessReadWriteLock: Sendable {
    public let readLock: InterProcessMutex
    public let writeLock: InterProcessMutex

    public init(
        client: ZooKeeperClient, path: String, lossPolicy: LockLossPolicy = .sessionLoss, nodeData: Data = Data(),
        logger: Logger = Logger(label: "ZooKeeperRecipes.InterProcessReadWriteLock")
    ) {
        readLock = InterProcessMutex(
            client: client, path: path, schema: .readLock, lossPolicy: lossPolicy, nodeData: nodeData, logger: logger)
        writeLock = InterProcessMutex(
            client: client, path: path, schema: .writeLock, lossPolicy: lossPolicy, nodeData: nodeData, logger: logger)
    }
}
