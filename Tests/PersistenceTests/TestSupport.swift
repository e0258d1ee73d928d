import Foundation
import Logging
import NIOCore
@testable import Persistence

/// A unique directory under the system temporary directory, removed by `withTemporaryDirectory`.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("persistence-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Collects log lines so tests can check warnings.
final class LogCapture: @unchecked Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lock = NSLock()
    private var _entries: [Entry] = []

    var entries: [Entry] {
        lock.lock()
        defer { lock.unlock() }
        return _entries
    }

    func append(_ entry: Entry) {
        lock.lock()
        _entries.append(entry)
        lock.unlock()
    }

    var warnings: [Entry] { entries.filter { $0.level == .warning } }

    func logger(label: String = "test") -> Logger {
        var logger = Logger(label: label) { _ in CapturingHandler(capture: self) }
        logger.logLevel = .debug
        return logger
    }
}

struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var flat: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            flat[key] = "\(value)"
        }
        capture.append(.init(level: event.level, message: "\(event.message)", metadata: flat))
    }
}

func payload(_ zxid: Int64, size: Int? = nil) -> ByteBuffer {
    let length = size ?? Int(zxid % 97) + 1
    var buffer = ByteBufferAllocator().buffer(capacity: length)
    for i in 0..<length {
        buffer.writeInteger(UInt8(truncatingIfNeeded: Int(zxid) &* 31 &+ i))
    }
    return buffer
}

func record(_ zxid: Int64, size: Int? = nil) -> LogRecord {
    LogRecord(zxid: zxid, payload: payload(zxid, size: size))
}

func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func fileSize(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
}

func fileExists(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: path)
}

/// Writes `records` with a plain TransactionLog (one sync at the end) and closes it.
func writeLog(_ directory: String, _ records: [LogRecord], rollSize: Int64 = 64 * 1024 * 1024) throws {
    let log = try TransactionLog(
        configuration: TransactionLogConfiguration(directory: directory, rollSize: rollSize),
        logger: Logger(label: "test")
    )
    try log.append(contentsOf: records)
    try log.close()
}

/// Offsets (start, end) of the records of a single log file, parsed independently of the reader.
func recordBoundaries(_ bytes: [UInt8]) -> [(start: Int, end: Int)] {
    var result: [(Int, Int)] = []
    var offset = LogFormat.fileHeaderSize
    while offset + LogFormat.recordHeaderSize <= bytes.count {
        let length = Int(bytes[offset + 4]) << 24 | Int(bytes[offset + 5]) << 16 | Int(bytes[offset + 6]) << 8 | Int(bytes[offset + 7])
        let end = offset + LogFormat.recordHeaderSize + length
        guard end <= bytes.count else { break }
        result.append((offset, end))
        offset = end
    }
    return result
}

func reader(_ directory: String, logger: Logger = Logger(label: "test")) -> TransactionLogReader {
    TransactionLogReader(configuration: TransactionLogConfiguration(directory: directory), logger: logger)
}

/// A FileIO that forwards to PosixFileIO and injects failures or blocks on demand.
final class FaultInjectingFileIO: FileIO, @unchecked Sendable {
    private let real = PosixFileIO()
    private let lock = NSCondition()
    /// Remaining bytes that write() may still write before failing with `writeErrno`.
    private var writeBudget: Int?
    private var writeErrno: Int32 = ENOSPC
    private var fdatasyncErrno: Int32?
    private var gateClosed = false
    private var gateWaiting = false
    private(set) var fdatasyncCalls = 0

    /// Lets `bytes` more bytes be written, then fails every write with `errno`.
    func failWrites(after bytes: Int, errno: Int32 = ENOSPC) {
        lock.lock(); defer { lock.unlock() }
        writeBudget = bytes
        writeErrno = errno
    }

    /// Fails every following fdatasync with `errno`.
    func failFdatasync(errno: Int32) {
        lock.lock(); defer { lock.unlock() }
        fdatasyncErrno = errno
    }

    /// The next fdatasync blocks until `openGate()`.
    func closeGate() {
        lock.lock(); defer { lock.unlock() }
        gateClosed = true
    }

    /// Blocks until an fdatasync is waiting at the gate.
    func waitUntilSyncIsBlocked() {
        lock.lock(); defer { lock.unlock() }
        while !gateWaiting { lock.wait() }
    }

    func openGate() {
        lock.lock(); defer { lock.unlock() }
        gateClosed = false
        lock.broadcast()
    }

    func open(_ path: String, flags: Int32, mode: UInt32) throws(FileIOError) -> Int32 {
        try real.open(path, flags: flags, mode: mode)
    }

    func close(_ fd: Int32) throws(FileIOError) { try real.close(fd) }

    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(FileIOError) -> Int {
        let allowed = try allowance(bytes.count)
        return try real.write(fd, UnsafeRawBufferPointer(rebasing: bytes[0..<allowed]))
    }

    func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64) throws(FileIOError) -> Int {
        let allowed = try allowance(bytes.count)
        return try real.pwrite(fd, UnsafeRawBufferPointer(rebasing: bytes[0..<allowed]), offset: offset)
    }

    /// How many of `count` bytes the write budget lets through; throws once it is spent.
    private func allowance(_ count: Int) throws(FileIOError) -> Int {
        lock.lock()
        var allowed = count
        if let budget = writeBudget {
            if budget == 0 {
                let code = writeErrno
                lock.unlock()
                throw FileIOError(errno: code)
            }
            allowed = min(allowed, budget)
            writeBudget = budget - allowed
        }
        lock.unlock()
        return allowed
    }

    func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64) throws(FileIOError) -> Int {
        try real.pread(fd, into: buffer, offset: offset)
    }

    func fsync(_ fd: Int32) throws(FileIOError) { try real.fsync(fd) }

    func fdatasync(_ fd: Int32) throws(FileIOError) {
        lock.lock()
        fdatasyncCalls += 1
        if gateClosed {
            gateWaiting = true
            lock.broadcast()
            while gateClosed { lock.wait() }
            gateWaiting = false
        }
        let failure = fdatasyncErrno
        lock.unlock()
        if let failure { throw FileIOError(errno: failure) }
        try real.fdatasync(fd)
    }

    func ftruncate(_ fd: Int32, length: Int64) throws(FileIOError) { try real.ftruncate(fd, length: length) }
    func fileSize(_ fd: Int32) throws(FileIOError) -> Int64 { try real.fileSize(fd) }
    func rename(_ from: String, to: String) throws(FileIOError) { try real.rename(from, to: to) }
    func unlink(_ path: String) throws(FileIOError) { try real.unlink(path) }
    func contentsOfDirectory(_ path: String) throws(FileIOError) -> [String] { try real.contentsOfDirectory(path) }
    func createDirectory(_ path: String) throws(FileIOError) { try real.createDirectory(path) }
}
