import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Counters of a transaction log, for metrics.
public struct TransactionLogStatistics: Sendable, Hashable {
    /// `fsync`/`fdatasync` calls on log files and on the log directory.
    public var fsyncs: Int = 0
    /// Records written to the file (made durable or not yet).
    public var recordsWritten: Int = 0
    /// Bytes written to log files, headers included.
    public var bytesWritten: Int64 = 0
    /// Log files created.
    public var filesCreated: Int = 0

    public init() {}
}

/// The writing side of the write-ahead log: a synchronous, single-owner object.
///
/// `append` only encodes records into a memory buffer; ``sync()`` writes the whole buffer with one `write(2)`
/// and makes it durable with one `fdatasync(2)`. A record is acknowledged (durable) only once a `sync()` that
/// follows its `append` has returned.
///
/// Opening recovers the end of the log (see ``TransactionLogReader`` for the rules): a torn tail of the last
/// file is truncated and the last zxid is learned. Appending then always starts a fresh file, named after the
/// first record written to it, so an old file is never appended to again. A file is started lazily, when its
/// first record is appended; creating it writes and fsyncs its header and fsyncs the directory. When the
/// current file has reached ``TransactionLogConfiguration/rollSize`` bytes, the next append syncs it and
/// starts a new file, so every file but the last one always ends on a complete, durable record.
///
/// ## Failures
/// Any failed `write`, `fdatasync` or file creation makes the log unusable: the error is thrown, the file is
/// truncated back (best effort) to its last durable length, and every later `append`/`sync`/`roll` throws
/// ``PersistenceError/io(operation:path:errno:message:)`` carrying the original errno, until the directory is
/// reopened with a new `TransactionLog`. After a failed `fdatasync` the kernel may have dropped the dirty pages
/// and cleared the error, so a later successful `fdatasync` would prove nothing; refusing is the only honest
/// answer. Records whose append or sync failed have an unknown outcome: reopening may still find them.
///
/// Not thread safe; ``GroupCommitLog`` owns one on a dedicated thread. Only one writer may use a directory.
public final class TransactionLog {
    /// The configuration this log was opened with.
    public let configuration: TransactionLogConfiguration
    /// What opening found at the end of the existing log.
    public let recovery: LogReadSummary
    /// The zxid of the last record appended (durable or not), or of the last recovered record.
    public private(set) var lastZxid: Int64?
    /// The zxid of the last durable record.
    public private(set) var durableZxid: Int64?
    /// Counters for metrics.
    public private(set) var statistics = TransactionLogStatistics()

    private let io: any FileIO
    private let logger: Logger
    private var current: OpenFile?
    private var pending: [UInt8] = []
    private var pendingRecords = 0
    private var failure: PersistenceError?
    private var isClosed = false

    private struct OpenFile {
        var fd: Int32
        var info: LogFileInfo
        /// Bytes handed to write(2).
        var writtenSize: Int64
        /// Bytes known durable.
        var durableSize: Int64
    }

    /// Opens (creating if needed) the log directory and recovers the end of the existing log.
    ///
    /// - Throws: ``PersistenceError/corruptLog(file:offset:reason:)`` when the end of the log is corrupt,
    ///   ``PersistenceError/io(operation:path:errno:message:)`` when the directory cannot be used.
    /// - Parameter verifiedTail: the summary of a ``TransactionLogReader/readRecords(after:repairTornTail:_:)``
    ///   (with repair) that just read this directory: its end of the log is taken instead of reading the last
    ///   file again.
    public init(configuration: TransactionLogConfiguration, logger: Logger, verifiedTail: LogReadSummary? = nil) throws(PersistenceError) {
        self.configuration = configuration
        self.io = configuration.fileIO
        self.logger = logger
        do {
            try io.createDirectory(configuration.directory)
        } catch {
            throw .io("mkdir", path: configuration.directory, error)
        }
        let reader = TransactionLogReader(configuration: configuration, logger: logger)
        if let verifiedTail {
            self.recovery = verifiedTail
        } else {
            self.recovery = try reader.recoverTail()
        }
        self.lastZxid = recovery.lastZxid
        self.durableZxid = recovery.lastZxid
        pending.reserveCapacity(64 * 1024)
    }

    deinit {
        if let current { try? io.close(current.fd) }
    }

    /// The file records are currently appended to, if one has been started.
    public var currentFile: LogFileInfo? { current?.info }

    /// Records appended but not yet made durable by ``sync()``.
    public var unsyncedRecordCount: Int { pendingRecords }

    /// The `log.*` files of the directory in zxid order.
    public func logFiles() throws(PersistenceError) -> [LogFileInfo] {
        try TransactionLogReader.listLogFiles(directory: configuration.directory, io: io)
    }

    /// Checks that `zxid` may follow the last appended record.
    public func validate(zxid: Int64, payloadSize: Int) throws(PersistenceError) {
        guard zxid >= 0 else {
            throw .invalidArgument("zxid \(zxid) is negative")
        }
        if let lastZxid, zxid <= lastZxid {
            throw .invalidArgument("zxid \(LogFormat.hex(zxid)) does not exceed the last logged zxid \(LogFormat.hex(lastZxid))")
        }
        guard payloadSize <= configuration.maxRecordSize else {
            throw .invalidArgument("record of \(payloadSize) bytes exceeds the maximum of \(configuration.maxRecordSize)")
        }
    }

    /// Buffers a record. May write, sync and start a new file when the current one is full.
    ///
    /// - Throws: ``PersistenceError/invalidArgument(_:)`` for a zxid that does not exceed the last one or an
    ///   oversized payload (the log stays usable); I/O errors (the log becomes unusable).
    public func append(_ record: LogRecord) throws(PersistenceError) {
        try checkUsable()
        try validate(zxid: record.zxid, payloadSize: record.payload.readableBytes)
        if let current {
            if current.writtenSize + Int64(pending.count) >= configuration.rollSize {
                try sync()
                closeCurrentFile()
                try createFile(firstZxid: record.zxid)
            }
        } else {
            try createFile(firstZxid: record.zxid)
        }
        LogFormat.appendRecord(zxid: record.zxid, payload: record.payload, to: &pending)
        pendingRecords += 1
        lastZxid = record.zxid
    }

    /// Buffers several records (see ``append(_:)``).
    public func append(contentsOf records: some Sequence<LogRecord>) throws(PersistenceError) {
        for record in records { try append(record) }
    }

    /// Writes everything buffered with one `write(2)` and makes it durable with one `fdatasync(2)`.
    /// Does nothing when nothing is pending.
    public func sync() throws(PersistenceError) {
        try checkUsable()
        guard var file = current else { return }
        if !pending.isEmpty {
            do {
                try io.writeAll(file.fd, pending)
            } catch {
                throw fail(.io("write", path: file.info.path, error))
            }
            file.writtenSize += Int64(pending.count)
            statistics.bytesWritten += Int64(pending.count)
            statistics.recordsWritten += pendingRecords
            if pending.count > 16 * 1024 * 1024 {
                pending = []
                pending.reserveCapacity(64 * 1024)
            } else {
                pending.removeAll(keepingCapacity: true)
            }
            pendingRecords = 0
            current = file
        }
        if file.writtenSize > file.durableSize {
            if configuration.forceSync {
                do {
                    try io.fdatasync(file.fd)
                } catch {
                    throw fail(.io("fdatasync", path: file.info.path, error))
                }
                statistics.fsyncs += 1
            }
            file.durableSize = file.writtenSize
            current = file
        }
        durableZxid = lastZxid
    }

    /// Syncs and closes the current file; the next append starts a new one.
    public func roll() throws(PersistenceError) {
        try sync()
        closeCurrentFile()
    }

    /// Syncs everything pending (unless the log already failed) and closes the file. Later calls throw
    /// ``PersistenceError/closed``. Closing twice is harmless.
    public func close() throws(PersistenceError) {
        guard !isClosed else { return }
        defer {
            closeCurrentFile()
            isClosed = true
        }
        if failure == nil { try sync() }
    }

    // MARK: - Internals

    private func checkUsable() throws(PersistenceError) {
        if isClosed { throw .closed }
        if let failure {
            guard case .io(let operation, let path, let errno, let message) = failure else { throw failure }
            throw .io(
                operation: "append",
                path: path,
                errno: errno,
                message: "the transaction log is unusable after an earlier \(operation) failure (\(message)); reopen it to recover"
            )
        }
    }

    /// Records the first failure, rolls the file back to its durable length (best effort) and returns `error`.
    private func fail(_ error: PersistenceError) -> PersistenceError {
        logger.error(
            "Transaction log failed; refusing further writes until reopened",
            metadata: ["error": "\(error)", "file": "\(current?.info.path ?? configuration.directory)"]
        )
        if failure == nil { failure = error }
        if let file = current {
            if (try? io.ftruncate(file.fd, length: file.durableSize)) != nil {
                try? io.fsync(file.fd)
            }
        }
        pending.removeAll(keepingCapacity: true)
        pendingRecords = 0
        return error
    }

    private func closeCurrentFile() {
        if let current { try? io.close(current.fd) }
        current = nil
    }

    private func createFile(firstZxid: Int64) throws(PersistenceError) {
        let directory = configuration.directory
        let name = LogFormat.fileName(firstZxid: firstZxid)
        let path = directory + "/" + name
        let fd: Int32
        do {
            fd = try io.open(path, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o644)
        } catch {
            throw fail(.io("create", path: path, error))
        }
        var header: [UInt8] = []
        LogFormat.appendFileHeader(baseZxid: firstZxid, to: &header)
        do {
            try io.writeAll(fd, header)
            try io.fsync(fd)
            statistics.fsyncs += 1
        } catch {
            try? io.close(fd)
            try? io.unlink(path)
            throw fail(.io("write header", path: path, error))
        }
        do {
            try io.fsyncDirectory(directory)
            statistics.fsyncs += 1
        } catch {
            try? io.close(fd)
            throw fail(.io("fsync", path: directory, error))
        }
        statistics.filesCreated += 1
        statistics.bytesWritten += Int64(header.count)
        current = OpenFile(
            fd: fd,
            info: LogFileInfo(name: name, path: path, firstZxid: firstZxid),
            writtenSize: Int64(header.count),
            durableSize: Int64(header.count)
        )
        logger.debug("Started transaction log file", metadata: ["file": "\(path)"])
    }
}
