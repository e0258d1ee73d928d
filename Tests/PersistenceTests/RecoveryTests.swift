import Foundation
import Logging
import NIOCore
import Testing
@testable import Persistence

/// Torn tails are repaired; corruption that may have lost acknowledged data is an error.
@Suite struct RecoveryTests {
    /// Expects `body` to throw `.corruptLog` and returns its fields.
    func expectCorrupt(_ body: () throws -> Void) -> (file: String, offset: Int64, reason: String)? {
        do {
            try body()
            Issue.record("expected corruptLog, nothing was thrown")
        } catch let PersistenceError.corruptLog(file, offset, reason) {
            return (file, offset, reason)
        } catch {
            Issue.record("expected corruptLog, got \(error)")
        }
        return nil
    }

    @Test func tornLastRecordIsTruncatedAtEveryCutOffset() async throws {
        try await withTemporaryDirectory { dir in
            let records = (1...5).map { record(Int64($0), size: 40) }
            try writeLog(dir, records)
            let path = dir + "/log.1"
            let original = try readBytes(path)
            let bounds = recordBoundaries(original)
            #expect(bounds.count == 5)
            let last = bounds[4]
            #expect(last.end == original.count)

            for cut in last.start..<last.end {
                try writeBytes(Array(original[..<cut]), to: path)
                let capture = LogCapture()
                let summary = try reader(dir, logger: capture.logger()).readRecords(after: -1) { _ in }
                #expect(summary.recordsDelivered == 4, "cut \(cut)")
                #expect(summary.lastZxid == 4, "cut \(cut)")
                #expect(try fileSize(path) == last.start, "cut \(cut)")
                if cut == last.start {
                    #expect(summary.tornTail == nil)
                    #expect(capture.warnings.isEmpty)
                } else {
                    #expect(summary.tornTail?.offset == Int64(last.start), "cut \(cut)")
                    #expect(summary.tornTail?.file == path)
                    #expect(summary.tornTail?.discardedBytes == Int64(cut - last.start))
                    let warning = try #require(capture.warnings.first, "cut \(cut)")
                    #expect(warning.metadata["file"] == path)
                    #expect(warning.metadata["offset"] == "\(last.start)")
                }
                // Recovered records are intact, and recovery is idempotent.
                #expect(try reader(dir).readAllRecords() == Array(records.prefix(4)))
            }
        }
    }

    @Test func tornTailIsRepairedByTheWriterWhichThenAppends() async throws {
        try await withTemporaryDirectory { dir in
            try writeLog(dir, (1...5).map { record($0) })
            let path = dir + "/log.1"
            let bytes = try readBytes(path)
            try writeBytes(Array(bytes.dropLast(3)), to: path)

            let capture = LogCapture()
            let log = try TransactionLog(configuration: TransactionLogConfiguration(directory: dir), logger: capture.logger())
            #expect(log.recovery.lastZxid == 4)
            #expect(log.recovery.tornTail?.repaired == true)
            #expect(capture.warnings.count == 1)
            try log.append(record(5))  // zxid 5 was never acknowledged, so it may be reused
            try log.close()
            #expect(try log.logFiles().map(\.name) == ["log.1", "log.5"])
            #expect(try reader(dir).readAllRecords() == (1...5).map { record($0) })
        }
    }

    @Test func everyCutInsideTheFirstRecordRemovesTheFile() async throws {
        try await withTemporaryDirectory { dir in
            try writeLog(dir, [record(1), record(2)], rollSize: 1)  // two files, one record each
            let first = dir + "/log.1"
            let second = dir + "/log.2"
            let original = try readBytes(second)
            for cut in 0..<original.count {
                try writeBytes(Array(original[..<cut]), to: second)
                let summary = try reader(dir).readRecords(after: -1) { _ in }
                #expect(summary.lastZxid == 1, "cut \(cut)")
                #expect(summary.tornTail?.removesFile == true, "cut \(cut)")
                #expect(!fileExists(second), "cut \(cut)")
                #expect(fileExists(first))
            }
            // The writer also learns the last zxid from the previous file.
            try writeBytes(Array(original[..<20]), to: second)
            let log = try TransactionLog(configuration: TransactionLogConfiguration(directory: dir), logger: Logger(label: "test"))
            #expect(log.lastZxid == 1)
            try log.close()
        }
    }

    @Test func trailingZeroBytesAreTruncated() async throws {
        try await withTemporaryDirectory { dir in
            try writeLog(dir, (1...3).map { record($0) })
            let path = dir + "/log.1"
            let bytes = try readBytes(path)
            for zeros in [1, 15, 16, 17, 4096] {
                try writeBytes(bytes + [UInt8](repeating: 0, count: zeros), to: path)
                let summary = try reader(dir).readRecords(after: -1) { _ in }
                #expect(summary.recordsDelivered == 3)
                #expect(summary.tornTail?.offset == Int64(bytes.count))
                #expect(try fileSize(path) == bytes.count)
            }
            // A last file made only of zeros (crash while creating it) is removed.
            try writeBytes([UInt8](repeating: 0, count: 64), to: dir + "/log.4")
            let summary = try reader(dir).readRecords(after: -1) { _ in }
            #expect(summary.tornTail?.removesFile == true)
            #expect(!fileExists(dir + "/log.4"))
        }
    }

    @Test func checksumMismatchInTheLastRecordIsATornTail() async throws {
        try await withTemporaryDirectory { dir in
            try writeLog(dir, (1...5).map { record($0, size: 30) })
            let path = dir + "/log.1"
            var bytes = try readBytes(path)
            let last = recordBoundaries(bytes)[4]
            bytes[last.end - 1] ^= 0x40
            try writeBytes(bytes, to: path)
            let summary = try reader(dir).readRecords(after: -1) { _ in }
            #expect(summary.recordsDelivered == 4)
            #expect(summary.tornTail?.offset == Int64(last.start))
            #expect(summary.tornTail?.reason.contains("checksum") == true)
        }
    }

    @Test func randomGarbageAfterTheLastRecordIsATornTail() async throws {
        try await withTemporaryDirectory { dir in
            try writeLog(dir, (1...3).map { record($0) })
            let path = dir + "/log.1"
            let bytes = try readBytes(path)
            var generator = SystemRandomNumberGenerator()
            let garbage = (0..<2000).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try writeBytes(bytes + garbage, to: path)
            let summary = try reader(dir).readRecords(after: -1) { _ in }
            #expect(summary.recordsDelivered == 3)
            #expect(try fileSize(path) == bytes.count)
        }
    }

    @Test func withoutRepairTheFileIsLeftAlone() async throws {
        try await withTemporaryDirectory { dir in
            try writeLog(dir, (1...3).map { record($0) })
            let path = dir + "/log.1"
            let bytes = try readBytes(path)
            try writeBytes(Array(bytes.dropLast(2)), to: path)
            let summary = try reader(dir).readRecords(after: -1, repairTornTail: false) { _ in }
            #expect(summary.recordsDelivered == 2)
            #expect(summary.tornTail?.repaired == false)
            #expect(try fileSize(path) == bytes.count - 2)
        }
    }

    @Test func flippedByteInAnEarlyRecordIsCorruption() async throws {
        try await withTemporaryDirectory { dir in
            try writeLog(dir, (1...10).map { record($0, size: 50) })
            let path = dir + "/log.1"
            let original = try readBytes(path)
            let bounds = recordBoundaries(original)
            // Payload byte, CRC byte, zxid byte, and each of the length bytes of record 3.
            let target = bounds[2].start
            for position in [target + 20, target, target + 12, target + 4, target + 5, target + 6, target + 7] {
                var bytes = original
                bytes[position] ^= 0x01
                try writeBytes(bytes, to: path)
                let corrupt = expectCorrupt { try reader(dir).readRecords(after: -1) { _ in } }
                #expect(corrupt?.file == path, "position \(position)")
                #expect(corrupt?.offset == Int64(target), "position \(position)")
                #expect(corrupt?.reason.contains("valid record follows") == true, "position \(position)")
                // Nothing was truncated, and the writer refuses to open too.
                #expect(try fileSize(path) == original.count)
                _ = expectCorrupt { _ = try TransactionLog(configuration: TransactionLogConfiguration(directory: dir), logger: Logger(label: "test")) }
            }
            // Nothing at all is delivered from a file that does not verify.
            var delivered = 0
            _ = expectCorrupt { try reader(dir).readRecords(after: -1) { _ in delivered += 1 } }
            #expect(delivered == 0)
        }
    }

    @Test func impossibleLengthInTheMiddleIsCorruption() async throws {
        try await withTemporaryDirectory { dir in
            try writeLog(dir, (1...4).map { record($0) })
            let path = dir + "/log.1"
            var bytes = try readBytes(path)
            let second = recordBoundaries(bytes)[1].start
            bytes[second + 4] = 0xFF  // length >= 0xFF000000
            try writeBytes(bytes, to: path)
            let corrupt = expectCorrupt { try reader(dir).readRecords(after: -1) { _ in } }
            #expect(corrupt?.offset == Int64(second))
            #expect(corrupt?.reason.contains("impossible record length") == true)
        }
    }

    @Test func anyDamageInANonLastFileIsCorruption() async throws {
        try await withTemporaryDirectory { dir in
            try writeLog(dir, (1...40).map { record($0, size: 60) }, rollSize: 512)
            let files = try reader(dir).logFiles()
            #expect(files.count >= 3)
            let victim = files[1]
            let original = try readBytes(victim.path)
            let bounds = recordBoundaries(original)

            // A flipped byte in the last record of a non-last file.
            var flipped = original
            flipped[bounds.last!.end - 1] ^= 0x80
            try writeBytes(flipped, to: victim.path)
            var corrupt = expectCorrupt { try reader(dir).readRecords(after: -1) { _ in } }
            #expect(corrupt?.file == victim.path)
            #expect(corrupt?.offset == Int64(bounds.last!.start))

            // A non-last file cut short.
            try writeBytes(Array(original.dropLast(1)), to: victim.path)
            corrupt = expectCorrupt { try reader(dir).readRecords(after: -1) { _ in } }
            #expect(corrupt?.file == victim.path)
            #expect(corrupt?.reason.contains("not the last") == true)

            // Trailing zeros in a non-last file.
            try writeBytes(original + [0, 0, 0, 0], to: victim.path)
            corrupt = expectCorrupt { try reader(dir).readRecords(after: -1) { _ in } }
            #expect(corrupt?.offset == Int64(original.count))

            // A damaged header.
            var header = original
            header[0] ^= 0xFF
            try writeBytes(header, to: victim.path)
            corrupt = expectCorrupt { try reader(dir).readRecords(after: -1) { _ in } }
            #expect(corrupt?.offset == 0)
            #expect(try fileSize(victim.path) == original.count)
        }
    }

    @Test func nonIncreasingZxidsAreCorruption() async throws {
        try await withTemporaryDirectory { dir in
            // Hand-made file with valid checksums: zxids 1, 3, 2.
            var bytes: [UInt8] = []
            LogFormat.appendFileHeader(baseZxid: 1, to: &bytes)
            for zxid: Int64 in [1, 3, 2] { LogFormat.appendRecord(zxid: zxid, payload: payload(zxid), to: &bytes) }
            let path = dir + "/log.1"
            try writeBytes(bytes, to: path)
            var corrupt = expectCorrupt { try reader(dir).readRecords(after: -1) { _ in } }
            #expect(corrupt?.reason.contains("does not exceed") == true)
            #expect(corrupt?.offset == Int64(recordBoundaries(bytes)[2].start))

            // Across files: log.1 holds 1...5, log.3 holds 3...
            try writeLog(dir + "/b", (1...5).map { record($0) })
            var second: [UInt8] = []
            LogFormat.appendFileHeader(baseZxid: 3, to: &second)
            LogFormat.appendRecord(zxid: 3, payload: payload(3), to: &second)
            try writeBytes(second, to: dir + "/b/log.3")
            corrupt = expectCorrupt { try reader(dir + "/b").readRecords(after: -1) { _ in } }
            #expect(corrupt?.file == dir + "/b/log.3")

            // A first record that does not match the file name.
            var renamed: [UInt8] = []
            LogFormat.appendFileHeader(baseZxid: 7, to: &renamed)
            LogFormat.appendRecord(zxid: 8, payload: payload(8), to: &renamed)
            try writeBytes(renamed, to: dir + "/c/log.7", creatingDirectory: true)
            corrupt = expectCorrupt { try reader(dir + "/c").readRecords(after: -1) { _ in } }
            #expect(corrupt?.reason.contains("file name") == true)
        }
    }

    @Test func readingAfterAZxidStillVerifiesTheLastFile() async throws {
        try await withTemporaryDirectory { dir in
            try writeLog(dir, (1...40).map { record($0, size: 60) }, rollSize: 512)
            let files = try reader(dir).logFiles()
            var bytes = try readBytes(files.last!.path)
            bytes[LogFormat.fileHeaderSize + 3] ^= 1  // first record of the last file
            try writeBytes(bytes, to: files.last!.path)
            _ = expectCorrupt { try reader(dir).readRecords(after: 1000) { _ in } }
        }
    }
}

func writeBytes(_ bytes: [UInt8], to path: String, creatingDirectory: Bool) throws {
    if creatingDirectory {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    }
    try writeBytes(bytes, to: path)
}
