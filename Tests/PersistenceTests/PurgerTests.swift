import Foundation
import Logging
import NIOCore
import Testing
@testable import Persistence

@Suite struct PurgerTests {
    /// Logs: log.1 (1-14), log.f (15-24), log.19 (25-44), log.2d (45-60); snapshots at 10, 20, 30, 40, 50.
    func makeData(_ root: String) throws -> (SnapshotStore, TransactionLogConfiguration) {
        let logConfig = TransactionLogConfiguration(directory: root + "/log")
        let log = try TransactionLog(configuration: logConfig, logger: Logger(label: "test"))
        for zxid in Int64(1)...60 {
            if [15, 25, 45].contains(zxid) { try log.roll() }
            try log.append(record(zxid))
        }
        try log.close()
        let store = SnapshotStore(directory: root + "/data", logger: Logger(label: "test"))
        for zxid: Int64 in [10, 20, 30, 40, 50] { try store.write(zxid: zxid, body: ByteBuffer(string: "s\(zxid)")) }
        return (store, logConfig)
    }

    @Test func keepsNewestSnapshotsAndTheLogsTheyNeed() async throws {
        try await withTemporaryDirectory { root in
            let (store, logConfig) = try makeData(root)
            let purger = Purger(snapshotStore: store, logConfiguration: logConfig, logger: Logger(label: "test"))
            let result = try purger.purge(retainSnapshots: 3)
            #expect(result.oldestRetainedZxid == 30)
            #expect(try store.snapshots().map(\.zxid) == [30, 40, 50])
            #expect(result.deletedSnapshots == [root + "/data/snapshot.a", root + "/data/snapshot.14"])
            // log.19 (first zxid 25) spans snapshot 30 and is kept.
            #expect(try reader(logConfig.directory).logFiles().map(\.name) == ["log.19", "log.2d"])
            #expect(result.deletedLogFiles.count == 2)
            // Replaying from the oldest retained snapshot still works.
            let replay = try reader(logConfig.directory).readAllRecords(after: 30)
            #expect(replay == (31...60).map { record($0) })
            // Purging again changes nothing.
            #expect(try purger.purge(retainSnapshots: 3).deletedLogFiles.isEmpty)
        }
    }

    @Test func snapshotOnAFileBoundaryKeepsThatFile() async throws {
        try await withTemporaryDirectory { root in
            let (store, logConfig) = try makeData(root)
            try store.write(zxid: 45, body: ByteBuffer(string: "s45"))
            try store.write(zxid: 55, body: ByteBuffer(string: "s55"))
            let purger = Purger(snapshotStore: store, logConfiguration: logConfig, logger: Logger(label: "test"))
            try purger.purge(retainSnapshots: 3)  // keeps 45, 50, 55
            #expect(try reader(logConfig.directory).logFiles().map(\.name) == ["log.2d"])
        }
    }

    @Test func damagedSnapshotsDoNotCountAsRetained() async throws {
        try await withTemporaryDirectory { root in
            let (store, logConfig) = try makeData(root)
            let newest = root + "/data/snapshot.32"
            try writeBytes(Array(try readBytes(newest).dropLast()), to: newest)
            let purger = Purger(snapshotStore: store, logConfiguration: logConfig, logger: Logger(label: "test"))
            let result = try purger.purge(retainSnapshots: 3)
            #expect(result.oldestRetainedZxid == 20)
            #expect(try store.snapshots().map(\.zxid) == [20, 30, 40, 50])
            #expect(try reader(logConfig.directory).logFiles().map(\.name) == ["log.f", "log.19", "log.2d"])
        }
    }

    @Test func fewerSnapshotsThanRetainedDeletesNothingNeeded() async throws {
        try await withTemporaryDirectory { root in
            let logConfig = TransactionLogConfiguration(directory: root + "/log")
            try writeLog(logConfig.directory, (1...10).map { record($0) }, rollSize: 1)
            let store = SnapshotStore(directory: root + "/data", logger: Logger(label: "test"))
            let purger = Purger(snapshotStore: store, logConfiguration: logConfig, logger: Logger(label: "test"))
            #expect(try purger.purge(retainSnapshots: 3) == PurgeResult())
            try store.write(zxid: 5, body: ByteBuffer(string: "s"))
            let result = try purger.purge(retainSnapshots: 5)
            #expect(result.deletedLogFiles == (1...4).map { root + "/log/log.\($0)" })
            #expect(try reader(logConfig.directory).readAllRecords(after: 5) == (6...10).map { record($0) })
        }
    }

    @Test func retainCountBelowThreeIsRejected() async throws {
        try await withTemporaryDirectory { root in
            let purger = Purger(
                snapshotStore: SnapshotStore(directory: root, logger: Logger(label: "test")),
                logConfiguration: TransactionLogConfiguration(directory: root),
                logger: Logger(label: "test")
            )
            #expect(throws: PersistenceError.self) { try purger.purge(retainSnapshots: 2) }
        }
    }
}
