import Logging

/// What a purge deleted.
public struct PurgeResult: Sendable, Hashable {
    /// Paths of deleted snapshot files.
    public var deletedSnapshots: [String] = []
    /// Paths of deleted log files.
    public var deletedLogFiles: [String] = []
    /// The zxid of the oldest retained snapshot, nil when there was none (then nothing is deleted).
    public var oldestRetainedZxid: Int64?
}

/// Deletes old snapshots and log files, like ZooKeeper's autopurge (`autopurge.snapRetainCount`).
///
/// Keeps the newest `n` snapshots (counting only files whose header and length are intact), deletes older
/// snapshot files, and deletes the log files that hold only records older than the oldest retained snapshot:
/// with `Z` that snapshot's zxid, every log file whose first zxid is above `Z` is kept, and so is the newest file
/// whose first zxid is at or below `Z` (it may hold records after `Z`). The file being appended to is always
/// among the kept ones, so purging may run while a ``GroupCommitLog`` writes.
public struct Purger: Sendable {
    /// ZooKeeper enforces at least 3 retained snapshots.
    public static let minimumRetainedSnapshots = 3

    private let snapshots: SnapshotStore
    private let log: TransactionLogConfiguration
    private let logger: Logger

    /// - Parameters:
    ///   - snapshotStore: the snapshot directory.
    ///   - logConfiguration: the log directory and its system-call layer.
    ///   - logger: receives one info line per deleted file.
    public init(snapshotStore: SnapshotStore, logConfiguration: TransactionLogConfiguration, logger: Logger) {
        self.snapshots = snapshotStore
        self.log = logConfiguration
        self.logger = logger
    }

    /// Keeps the newest `n` snapshots and the log files needed to replay from the oldest of them.
    ///
    /// - Throws: ``PersistenceError/invalidArgument(_:)`` when `n` is below ``minimumRetainedSnapshots``;
    ///   ``PersistenceError/io(operation:path:errno:message:)`` when listing or deleting fails (files deleted
    ///   before the failure stay deleted).
    @discardableResult
    public func purge(retainSnapshots n: Int) throws(PersistenceError) -> PurgeResult {
        guard n >= Self.minimumRetainedSnapshots else {
            throw .invalidArgument("retainSnapshots must be at least \(Self.minimumRetainedSnapshots), got \(n)")
        }
        var result = PurgeResult()
        let all = try snapshots.snapshots()
        let retained = all.reversed().filter { snapshots.isPlausible($0) }.prefix(n)
        guard let oldest = retained.last else { return result }
        let cutoff = oldest.zxid
        result.oldestRetainedZxid = cutoff

        for snapshot in all where snapshot.zxid < cutoff {
            try snapshots.remove(snapshot)
            logger.info("Purged snapshot", metadata: ["file": "\(snapshot.path)"])
            result.deletedSnapshots.append(snapshot.path)
        }

        let files = try TransactionLogReader.listLogFiles(directory: log.directory, io: log.fileIO)
        if let spanning = files.lastIndex(where: { $0.firstZxid <= cutoff }) {
            for file in files[..<spanning] {
                do {
                    try log.fileIO.unlink(file.path)
                } catch {
                    throw .io("unlink", path: file.path, error)
                }
                logger.info("Purged transaction log file", metadata: ["file": "\(file.path)"])
                result.deletedLogFiles.append(file.path)
            }
        }
        if !result.deletedSnapshots.isEmpty { try fsyncDirectory(snapshots.directory) }
        if !result.deletedLogFiles.isEmpty { try fsyncDirectory(log.directory) }
        return result
    }

    private func fsyncDirectory(_ path: String) throws(PersistenceError) {
        do {
            try log.fileIO.fsyncDirectory(path)
        } catch {
            throw .io("fsync", path: path, error)
        }
    }
}
