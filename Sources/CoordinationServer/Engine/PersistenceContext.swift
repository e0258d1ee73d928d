import CoordinationCore
import Logging
import NIOCore
import NIOPosix
import Persistence

/// The server's durable storage: the group-commit log, the snapshot store, and a thread pool for snapshot work.
final class PersistenceContext: Sendable {
    let log: GroupCommitLog
    let snapshots: SnapshotStore
    let purger: Purger
    let threadPool: NIOThreadPool
    let logger: Logger

    private init(log: GroupCommitLog, snapshots: SnapshotStore, purger: Purger, threadPool: NIOThreadPool, logger: Logger) {
        self.log = log
        self.snapshots = snapshots
        self.purger = purger
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Loads the newest valid snapshot, replays the log after it (a torn tail is truncated with a log line, a
    /// corrupt record in the middle throws), and opens the log for appending.
    static func recover(configuration: ServerConfiguration, logger: Logger) throws -> (PersistenceContext, CoordinationState, replayed: Int) {
        let logConfig = TransactionLogConfiguration(directory: configuration.transactionLogDir, forceSync: configuration.forceSync)
        let snapshots = SnapshotStore(directory: configuration.dataDir, logger: logger)
        _ = try? snapshots.removeTemporaryFiles()
        var state = CoordinationState()
        if let (zxid, body) = try snapshots.loadNewestValid() {
            var buffer = body
            do {
                state = try CoordinationState(snapshot: &buffer)
            } catch {
                throw RecoveryError.snapshot(zxid: zxid, reason: "\(error)")
            }
            logger.info("Loaded snapshot", metadata: ["zxid": "0x\(String(zxid, radix: 16))", "znodes": "\(state.tree.nodeCount)"])
        }
        let reader = TransactionLogReader(configuration: logConfig, logger: logger)
        var replayed = 0
        var triggers: [WatchTrigger] = []
        let summary = try reader.readRecords(after: state.lastZxid) { record in
            var payload = record.payload
            let logged: LoggedTransaction
            do {
                logged = try LoggedTransaction.decode(from: &payload)
            } catch {
                throw RecoveryError.undecodableTransaction(zxid: record.zxid, reason: "\(error)")
            }
            guard logged.header.zxid == record.zxid else {
                throw RecoveryError.undecodableTransaction(zxid: record.zxid, reason: "header zxid \(logged.header.zxid) differs")
            }
            state.apply(logged, triggers: &triggers)
            triggers.removeAll(keepingCapacity: true)
            replayed += 1
        }
        if let torn = summary.tornTail {
            logger.warning(
                "Truncated a torn record at the end of the transaction log",
                metadata: ["file": "\(torn.file)", "offset": "\(torn.offset)", "bytes": "\(torn.discardedBytes)", "reason": "\(torn.reason)"])
        }
        let log = try GroupCommitLog(configuration: logConfig, logger: logger, verifiedTail: summary)
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let purger = Purger(snapshotStore: snapshots, logConfiguration: logConfig, logger: logger)
        logger.info("Recovered state", metadata: ["zxid": "0x\(String(state.lastZxid, radix: 16))", "replayed": "\(replayed)", "znodes": "\(state.tree.nodeCount)", "sessions": "\(state.sessions.count)"])
        return (PersistenceContext(log: log, snapshots: snapshots, purger: purger, threadPool: threadPool, logger: logger), state, replayed)
    }

    /// Serializes and writes a snapshot (call off the event loop), a piece of about `snapshotChunk` at a
    /// time, so that its memory does not grow with the tree.
    func writeSnapshot(_ image: SnapshotImage) throws {
        let writer = try snapshots.beginWrite(zxid: image.lastZxid)
        var buffer = ByteBufferAllocator().buffer(capacity: Self.snapshotChunk + (64 << 10))
        try image.encode(into: &buffer, flushingAt: Self.snapshotChunk) { b in
            try writer.append(b)
            b.clear()
        }
        try writer.append(buffer)
        try writer.commit()
    }

    /// How many bytes of snapshot are encoded before they are written out.
    static let snapshotChunk = 1 << 20

    func purge(retain: Int) {
        do {
            let result = try purger.purge(retainSnapshots: max(retain, Purger.minimumRetainedSnapshots))
            if !result.deletedSnapshots.isEmpty || !result.deletedLogFiles.isEmpty {
                logger.info("Purged old snapshots and logs", metadata: ["snapshots": "\(result.deletedSnapshots.count)", "logs": "\(result.deletedLogFiles.count)"])
            }
        } catch {
            logger.error("Purge failed", metadata: ["error": "\(error)"])
        }
    }

    func close() async {
        await log.shutdown()
        try? await threadPool.shutdownGracefully()
    }
}

enum RecoveryError: Error, CustomStringConvertible {
    case snapshot(zxid: Int64, reason: String)
    case undecodableTransaction(zxid: Int64, reason: String)

    var description: String {
        switch self {
        case .snapshot(let zxid, let reason): return "snapshot 0x\(String(zxid, radix: 16)) could not be loaded: \(reason)"
        case .undecodableTransaction(let zxid, let reason):
            return "transaction 0x\(String(zxid, radix: 16)) in the log could not be decoded: \(reason)"
        }
    }
}

extension ServerConfiguration {
    var coreConfiguration: CoreConfiguration {
        CoreConfiguration(
            tickTime: Int32(tickTime), minSessionTimeout: Int32(sessionTimeoutRange.lowerBound),
            maxSessionTimeout: Int32(sessionTimeoutRange.upperBound), superDigest: superDigest,
            extendedTypesEnabled: extendedTypesEnabled, containerCheckInterval: Int64(containerCheckIntervalMs),
            containerMaxPerMinute: containerMaxPerMinute, saslSuperUsers: sasl.superUsers)
    }
}
