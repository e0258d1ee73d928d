import Foundation
import Logging
import NIOCore
import Testing
@testable import Persistence

@Suite struct TransactionLogTests {
    @Test func roundTripAcrossRolledFiles() async throws {
        try await withTemporaryDirectory { dir in
            let config = TransactionLogConfiguration(directory: dir, rollSize: 4096)
            let log = try TransactionLog(configuration: config, logger: Logger(label: "test"))
            #expect(log.recovery.lastZxid == nil)
            var written: [LogRecord] = []
            var zxid: Int64 = 0x1_0000_0000
            for i in 0..<2000 {
                zxid += Int64(i % 3 + 1)
                let r = record(zxid, size: i % 200)
                written.append(r)
                try log.append(r)
                if i % 17 == 0 { try log.sync() }
            }
            try log.close()
            #expect(log.statistics.recordsWritten == 2000)

            let files = try log.logFiles()
            #expect(files.count > 10)
            let maxFileSize = 4096 + LogFormat.recordHeaderSize + 200
            var firstZxids: [Int64] = []
            for file in files {
                #expect(file.name == "log." + String(file.firstZxid, radix: 16))
                #expect(try fileSize(file.path) <= maxFileSize)
                firstZxids.append(file.firstZxid)
            }
            // Every file starts with the record its name announces.
            #expect(Set(firstZxids).isSubset(of: Set(written.map(\.zxid))))
            #expect(firstZxids.first == written.first?.zxid)

            let read = try reader(dir).readAllRecords()
            #expect(read == written)
        }
    }

    @Test func readAfterGivenZxid() async throws {
        try await withTemporaryDirectory { dir in
            let records = (1...300).map { record(Int64($0) * 2) }  // zxids 2, 4, ..., 600
            try writeLog(dir, records, rollSize: 1024)
            #expect(try reader(dir).logFiles().count > 5)
            for after: Int64 in [-1, 0, 1, 2, 3, 99, 100, 101, 333, 598, 599, 600, 601, 10_000] {
                var got: [LogRecord] = []
                let summary = try reader(dir).readRecords(after: after) { got.append($0) }
                #expect(got == records.filter { $0.zxid > after }, "after \(after)")
                #expect(summary.recordsDelivered == got.count)
                #expect(summary.lastZxid == 600)
            }
        }
    }

    @Test func emptyDirectoryAndMissingDirectory() async throws {
        try await withTemporaryDirectory { dir in
            #expect(try reader(dir).readAllRecords().isEmpty)
            #expect(try reader(dir + "/missing").readAllRecords().isEmpty)
            let summary = try reader(dir).readRecords(after: -1) { _ in }
            #expect(summary.lastZxid == nil)
        }
    }

    @Test func reopenContinuesInANewFile() async throws {
        try await withTemporaryDirectory { dir in
            let config = TransactionLogConfiguration(directory: dir)
            let first = try TransactionLog(configuration: config, logger: Logger(label: "test"))
            try first.append(contentsOf: (1...10).map { record($0) })
            try first.sync()
            try first.close()
            #expect(throws: PersistenceError.closed) { try first.append(record(11)) }

            let second = try TransactionLog(configuration: config, logger: Logger(label: "test"))
            #expect(second.recovery.lastZxid == 10)
            #expect(second.lastZxid == 10)
            #expect(throws: PersistenceError.self) { try second.append(record(10)) }
            try second.append(contentsOf: (11...20).map { record($0) })
            try second.close()

            #expect(try second.logFiles().map(\.name) == ["log.1", "log.b"])
            #expect(try reader(dir).readAllRecords() == (1...20).map { record($0) })

            // Reopening without appending leaves the directory unchanged.
            let third = try TransactionLog(configuration: config, logger: Logger(label: "test"))
            try third.close()
            #expect(try third.logFiles().map(\.name) == ["log.1", "log.b"])
        }
    }

    @Test func rejectsBadAppendsButStaysUsable() async throws {
        try await withTemporaryDirectory { dir in
            let log = try TransactionLog(
                configuration: TransactionLogConfiguration(directory: dir, maxRecordSize: 100),
                logger: Logger(label: "test")
            )
            try log.append(record(5))
            #expect(throws: PersistenceError.self) { try log.append(record(5)) }
            #expect(throws: PersistenceError.self) { try log.append(record(4)) }
            #expect(throws: PersistenceError.self) { try log.append(record(-1)) }
            #expect(throws: PersistenceError.self) { try log.append(record(6, size: 101)) }
            try log.append(record(6, size: 100))
            try log.append(record(7, size: 0))
            try log.close()
            #expect(try reader(dir).readAllRecords() == [record(5), record(6, size: 100), record(7, size: 0)])
        }
    }

    @Test func explicitRollStartsANewFile() async throws {
        try await withTemporaryDirectory { dir in
            let log = try TransactionLog(configuration: TransactionLogConfiguration(directory: dir), logger: Logger(label: "test"))
            try log.append(record(1))
            try log.roll()
            #expect(log.currentFile == nil)
            try log.roll()  // nothing to roll
            try log.append(record(2))
            #expect(log.currentFile?.name == "log.2")
            try log.close()
            #expect(try log.logFiles().map(\.name) == ["log.1", "log.2"])
            #expect(try reader(dir).readAllRecords() == [record(1), record(2)])
        }
    }

    @Test func onlyOneWriteAndOneFdatasyncPerSync() async throws {
        try await withTemporaryDirectory { dir in
            let io = FaultInjectingFileIO()
            let log = try TransactionLog(configuration: TransactionLogConfiguration(directory: dir, fileIO: io), logger: Logger(label: "test"))
            try log.append(record(1))  // creates the file (fsync of file + directory)
            let afterCreate = log.statistics.fsyncs
            try log.append(contentsOf: (2...100).map { record($0) })
            try log.sync()
            #expect(log.statistics.fsyncs == afterCreate + 1)
            #expect(io.fdatasyncCalls == 1)
            try log.sync()  // nothing pending: no fsync
            #expect(io.fdatasyncCalls == 1)
            try log.close()
        }
    }

    @Test func fileNamesAreParsedStrictly() {
        #expect(LogFormat.parseFileName("log.1") == 1)
        #expect(LogFormat.parseFileName("log.100000001") == 0x1_0000_0001)
        #expect(LogFormat.parseFileName("log.7fffffffffffffff") == Int64.max)
        #expect(LogFormat.parseFileName("log.8000000000000000") == nil)
        #expect(LogFormat.parseFileName("log.") == nil)
        #expect(LogFormat.parseFileName("log.-1") == nil)
        #expect(LogFormat.parseFileName("log.+1") == nil)
        #expect(LogFormat.parseFileName("log.1.tmp") == nil)
        #expect(LogFormat.parseFileName("snapshot.1") == nil)
    }
}
