import Foundation
import Logging
import NIOCore
import Testing
@testable import Persistence

/// Rough figures, not assertions. Run with `PERSISTENCE_MEASURE=1 swift test --filter PersistenceTests.ThroughputMeasurements`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["PERSISTENCE_MEASURE"] != nil))
struct ThroughputMeasurements {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    @Test func crc32cThroughput() {
        let data = [UInt8](repeating: 0xA5, count: 64 * 1024 * 1024)
        var sink: UInt32 = 0
        let elapsed = Self.seconds { sink ^= CRC32C.checksum(data) }
        print("CRC-32C: \(Int(64 / elapsed)) MiB/s (\(sink))")
    }

    @Test func syncPerAppendLatency() async throws {
        try await withTemporaryDirectory { dir in
            let log = try TransactionLog(configuration: TransactionLogConfiguration(directory: dir), logger: Logger(label: "m"))
            let count = 500
            let elapsed = try Self.seconds {
                for zxid in 1...count {
                    try log.append(record(Int64(zxid), size: 100))
                    try log.sync()
                }
            }
            try log.close()
            print("append+fdatasync, one at a time: \(Int(Double(count) / elapsed))/s, \(String(format: "%.3f", elapsed / Double(count) * 1000)) ms each")
        }
    }

    @Test(arguments: [1, 4, 16, 64])
    func groupCommitThroughput(writers: Int) async throws {
        try await withTemporaryDirectory { dir in
            let log = try GroupCommitLog(configuration: TransactionLogConfiguration(directory: dir), logger: Logger(label: "m"))
            let perWriter = 40_000 / writers
            let sequencer = Sequencer()
            let elapsed = await Self.asyncSeconds {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<writers {
                        group.addTask {
                            // Each writer waits for its append before the next, like a client waiting for a reply.
                            for _ in 0..<perWriter {
                                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                                    sequencer.appendNext(to: log, completion: { _ in c.resume() })
                                }
                            }
                        }
                    }
                }
            }
            await log.shutdown()
            let stats = log.statistics
            let total = perWriter * writers
            print("group commit, \(writers) waiting writers: \(Int(Double(total) / elapsed)) appends/s, \(stats.fsyncs) fsyncs for \(stats.appendCalls) appends, \(stats.rounds) rounds")
        }
    }

    @Test(arguments: [4, 64])
    func groupCommitThroughputWithThreads(writers: Int) async throws {
        try await withTemporaryDirectory { dir in
            let io = TimingFileIO()
            let log = try GroupCommitLog(configuration: TransactionLogConfiguration(directory: dir, fileIO: io), logger: Logger(label: "m"))
            let perWriter = 40_000 / writers
            let sequencer = Sequencer()
            let elapsed = Self.seconds {
                let group = DispatchGroup()
                for _ in 0..<writers {
                    group.enter()
                    Thread {
                        let semaphore = DispatchSemaphore(value: 0)
                        for _ in 0..<perWriter {
                            sequencer.appendNext(to: log, completion: { _ in semaphore.signal() })
                            semaphore.wait()
                        }
                        group.leave()
                    }.start()
                }
                group.wait()
            }
            await log.shutdown()
            let stats = log.statistics
            let total = perWriter * writers
            print("group commit, \(writers) waiting threads: \(Int(Double(total) / elapsed)) appends/s, \(io.syncSeconds)s of \(elapsed)s in fdatasync, \(stats.fsyncs) fsyncs for \(stats.appendCalls) appends, \(stats.rounds) rounds")
        }
    }

    static func asyncSeconds(_ body: () async -> Void) async -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        await body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

extension Sequencer {
    func appendNext(to log: GroupCommitLog, completion: @escaping GroupCommitLog.Completion) {
        appendNext(to: log, results: Results(), extra: completion)
    }
}

final class TimingFileIO: FileIO, @unchecked Sendable {
    let real = PosixFileIO()
    let lock = NSLock()
    var syncNanos: UInt64 = 0
    var syncSeconds: Double { lock.lock(); defer { lock.unlock() }; return Double(syncNanos) / 1e9 }
    func open(_ path: String, flags: Int32, mode: UInt32) throws(FileIOError) -> Int32 { try real.open(path, flags: flags, mode: mode) }
    func close(_ fd: Int32) throws(FileIOError) { try real.close(fd) }
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(FileIOError) -> Int { try real.write(fd, bytes) }
    func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64) throws(FileIOError) -> Int { try real.pread(fd, into: buffer, offset: offset) }
    func fsync(_ fd: Int32) throws(FileIOError) { try real.fsync(fd) }
    func fdatasync(_ fd: Int32) throws(FileIOError) {
        let start = DispatchTime.now().uptimeNanoseconds
        try real.fdatasync(fd)
        let spent = DispatchTime.now().uptimeNanoseconds - start
        lock.lock(); syncNanos += spent; lock.unlock()
    }
    func ftruncate(_ fd: Int32, length: Int64) throws(FileIOError) { try real.ftruncate(fd, length: length) }
    func fileSize(_ fd: Int32) throws(FileIOError) -> Int64 { try real.fileSize(fd) }
    func rename(_ from: String, to: String) throws(FileIOError) { try real.rename(from, to: to) }
    func unlink(_ path: String) throws(FileIOError) { try real.unlink(path) }
    func contentsOfDirectory(_ path: String) throws(FileIOError) -> [String] { try real.contentsOfDirectory(path) }
    func createDirectory(_ path: String) throws(FileIOError) { try real.createDirectory(path) }
}
