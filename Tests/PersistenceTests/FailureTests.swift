import Foundation
import Logging
import NIOCore
import Testing
@testable import Persistence

/// Injected ENOSPC/EIO through the FileIO layer.
@Suite struct FailureTests {
    func expectIO(_ result: Result<Void, PersistenceError>?, errno expected: Int32, operation: String? = nil) {
        guard case .failure(.io(let op, _, let errno, let message)) = result else {
            Issue.record("expected an io failure, got \(String(describing: result))")
            return
        }
        #expect(errno == expected)
        #expect(!message.isEmpty)
        if let operation { #expect(op == operation) }
    }

    func append(_ log: GroupCommitLog, _ records: [LogRecord]) async -> Result<Void, PersistenceError> {
        await withCheckedContinuation { continuation in
            log.append(records) { continuation.resume(returning: $0) }
        }
    }

    @Test func fullDiskOnWriteFailsThisAndLaterAppendsUntilReopened() async throws {
        try await withTemporaryDirectory { dir in
            let io = FaultInjectingFileIO()
            let config = TransactionLogConfiguration(directory: dir, fileIO: io)
            let log = try GroupCommitLog(configuration: config, logger: Logger(label: "test"))
            #expect((try? await append(log, (1...10).map { record($0) }).get()) != nil)

            io.failWrites(after: 37, errno: ENOSPC)  // a partial write, then ENOSPC
            expectIO(await append(log, (11...20).map { record($0) }), errno: ENOSPC, operation: "write")
            io.failWrites(after: 1_000_000)  // space is back, but the log stays failed
            let later = await append(log, [record(21)])
            expectIO(later, errno: ENOSPC)
            if case .failure(.io(_, _, _, let message)) = later { #expect(message.contains("reopen")) }
            await log.shutdown()

            // The partial write was rolled back; reopening recovers exactly the durable records.
            let reopened = try GroupCommitLog(configuration: TransactionLogConfiguration(directory: dir), logger: Logger(label: "test"))
            #expect(reopened.recovery.lastZxid == 10)
            #expect(reopened.recovery.tornTail == nil)
            #expect((try? await append(reopened, [record(11)]).get()) != nil)
            await reopened.shutdown()
            #expect(try reader(dir).readAllRecords() == (1...11).map { record($0) })
        }
    }

    @Test func forceSyncOffWritesWithoutFdatasync() async throws {
        try await withTemporaryDirectory { dir in
            let io = FaultInjectingFileIO()
            let config = TransactionLogConfiguration(directory: dir, fileIO: io, forceSync: false)
            let log = try GroupCommitLog(configuration: config, logger: Logger(label: "test"))
            #expect((try? await append(log, [record(1)]).get()) != nil)
            let fsyncsOfTheNewFile = log.statistics.fsyncs  // the new file and its directory are still synced
            for zxid in Int64(2)...20 { #expect((try? await append(log, [record(zxid)]).get()) != nil) }
            #expect(io.fdatasyncCalls == 0)
            #expect(log.statistics.fsyncs == fsyncsOfTheNewFile)
            #expect(log.statistics.recordsWritten == 20)
            #expect(log.statistics.durableZxid == 20)
            await log.shutdown()
            // The records reached the file all the same.
            #expect(try reader(dir).readAllRecords() == (1...20).map { record($0) })
        }
        // With the default, each of these sequential appends is its own round and its own fdatasync.
        try await withTemporaryDirectory { dir in
            let io = FaultInjectingFileIO()
            let log = try GroupCommitLog(
                configuration: TransactionLogConfiguration(directory: dir, fileIO: io), logger: Logger(label: "test"))
            for zxid in Int64(1)...5 { #expect((try? await append(log, [record(zxid)]).get()) != nil) }
            #expect(io.fdatasyncCalls == 5)
            await log.shutdown()
        }
    }

    @Test func fsyncFailureIsNeverFollowedByPretendedDurability() async throws {
        try await withTemporaryDirectory { dir in
            let io = FaultInjectingFileIO()
            let config = TransactionLogConfiguration(directory: dir, fileIO: io)
            let log = try GroupCommitLog(configuration: config, logger: Logger(label: "test"))
            #expect((try? await append(log, [record(1)]).get()) != nil)
            io.failFdatasync(errno: EIO)
            expectIO(await append(log, [record(2)]), errno: EIO, operation: "fdatasync")
            let fsyncsAfterFailure = io.fdatasyncCalls
            expectIO(await append(log, [record(3)]), errno: EIO)
            await #expect(throws: PersistenceError.self) { try await log.roll() }
            #expect(io.fdatasyncCalls == fsyncsAfterFailure)  // no further sync was even attempted
            await log.shutdown()
            #expect(try reader(dir).readAllRecords() == [record(1)])
        }
    }

    @Test func fullDiskWhileCreatingAFileIsReported() async throws {
        try await withTemporaryDirectory { dir in
            let io = FaultInjectingFileIO()
            io.failWrites(after: 5, errno: ENOSPC)  // the 16-byte file header does not fit
            let log = try TransactionLog(configuration: TransactionLogConfiguration(directory: dir, fileIO: io), logger: Logger(label: "test"))
            #expect {
                try log.append(record(1))
            } throws: { error in
                guard case PersistenceError.io(let op, let path, let errno, _) = error else { return false }
                return op == "write header" && path == dir + "/log.1" && errno == ENOSPC
            }
            #expect(!fileExists(dir + "/log.1"))
            #expect(throws: PersistenceError.self) { try log.append(record(1)) }
        }
    }

    @Test func errorsDescribeThemselves() {
        let error = PersistenceError.io(operation: "fdatasync", path: "/data/log.1", errno: ENOSPC, message: FileIOError(errno: ENOSPC).message)
        #expect(error.description.contains("/data/log.1"))
        #expect(error.description.contains("No space left on device"))
        let corrupt = PersistenceError.corruptLog(file: "/data/log.1", offset: 1234, reason: "checksum mismatch")
        #expect(corrupt.description == "corrupt transaction log /data/log.1 at offset 1234: checksum mismatch")
    }
}
