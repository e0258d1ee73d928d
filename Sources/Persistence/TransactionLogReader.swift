import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What recovery did about a damaged end of the last log file.
public struct TornTail: Sendable, Hashable {
    /// Path of the last log file.
    public var file: String
    /// Offset of the first byte that did not belong to a valid record (the new file length).
    public var offset: Int64
    /// Bytes after `offset` that were (or, without repair, would be) discarded.
    public var discardedBytes: Int64
    /// Why the bytes at `offset` are not a valid record.
    public var reason: String
    /// True when the file held no valid record at all, so the whole file was (or would be) removed.
    public var removesFile: Bool
    /// False when the reader ran with `repairTornTail: false` and left the file untouched.
    public var repaired: Bool
}

/// The outcome of reading the log.
public struct LogReadSummary: Sendable, Hashable {
    /// The zxid of the last valid record in the whole log, nil if the log holds no record.
    public var lastZxid: Int64?
    /// How many records were handed to the callback.
    public var recordsDelivered: Int
    /// Set when the last file ended in a torn record.
    public var tornTail: TornTail?
}

/// Reads and verifies the `log.*` files of a directory, repairing a torn tail.
///
/// ## Torn tail or corruption?
/// A record is *bad* when its header is incomplete, its length is above `maxRecordSize`, its payload is
/// incomplete or its CRC-32C does not match. The rule:
/// - A bad record in any file but the last is corruption: files are fsynced before the next one is created,
///   so they can never legitimately end in a partial write. ``PersistenceError/corruptLog(file:offset:reason:)``.
/// - In the last file, the reader scans every byte offset after the bad record for a well-formed record (a
///   plausible length that fits in the file, a zxid above the last good one, a matching CRC). If one exists,
///   data that was probably acknowledged follows the damage: corruption, the reader throws. If none exists the
///   bytes from the bad record on are the remains of a write that was never acknowledged (a torn tail,
///   including trailing zero bytes): the file is truncated to the end of the last good record, fsynced, and a
///   warning names the file and offset. A last file left with no record at all (a crash right after creating it)
///   is removed.
/// - A record whose CRC matches but whose zxid does not exceed the previous one is always corruption, as is
///   a first record whose zxid differs from the file name.
///
/// Known limit: if the file system persisted later blocks of an unsynced write but not an earlier one, the
/// reader reports corruption although nothing acknowledged was lost. That errs on the side of refusing to start.
///
/// A reader must not repair a directory while a writer (``TransactionLog``/``GroupCommitLog``) has it open.
public struct TransactionLogReader: Sendable {
    /// The log directory.
    public let directory: String
    private let maxRecordSize: Int
    private let io: any FileIO
    private let logger: Logger

    /// - Parameters:
    ///   - configuration: directory, maximum record size and system-call layer (`rollSize` is unused here).
    ///   - logger: receives the warning about a truncated torn tail.
    public init(configuration: TransactionLogConfiguration, logger: Logger) {
        self.directory = configuration.directory
        self.maxRecordSize = configuration.maxRecordSize
        self.io = configuration.fileIO
        self.logger = logger
    }

    /// The `log.<hex>` files of the directory in zxid order. Other files are ignored. A missing directory
    /// counts as empty.
    public func logFiles() throws(PersistenceError) -> [LogFileInfo] {
        try Self.listLogFiles(directory: directory, io: io)
    }

    static func listLogFiles(directory: String, io: any FileIO) throws(PersistenceError) -> [LogFileInfo] {
        let names: [String]
        do {
            names = try io.contentsOfDirectory(directory)
        } catch {
            if error.errno == ENOENT { return [] }
            throw .io("opendir", path: directory, error)
        }
        let files = names.compactMap { name -> LogFileInfo? in
            guard let zxid = LogFormat.parseFileName(name) else { return nil }
            return LogFileInfo(name: name, path: directory + "/" + name, firstZxid: zxid)
        }
        return files.sorted { $0.firstZxid < $1.firstZxid }
    }

    /// Calls `body` with every record whose zxid is above `zxid`, in zxid order, after verifying each file.
    ///
    /// Files whose records all lie at or below `zxid` (known from the next file's name) are not read. Each file
    /// that is read is verified completely before any of its records is delivered; the last file is always read.
    ///
    /// - Parameters:
    ///   - zxid: deliver records strictly above this (pass -1 for all).
    ///   - repairTornTail: truncate a torn tail of the last file (default). With false the directory is left
    ///     untouched and the torn tail is only reported in the summary.
    ///   - body: receives each record; the payload is a slice of the file's buffer. Errors it throws stop the
    ///     reading and are rethrown.
    /// - Throws: ``PersistenceError/corruptLog(file:offset:reason:)`` for corruption,
    ///   ``PersistenceError/io(operation:path:errno:message:)`` for failed system calls, or `body`'s error.
    @discardableResult
    public func readRecords(
        after zxid: Int64,
        repairTornTail: Bool = true,
        _ body: (LogRecord) throws -> Void
    ) throws -> LogReadSummary {
        let files = try logFiles()
        try checkDistinctNames(files)
        var summary = LogReadSummary(lastZxid: nil, recordsDelivered: 0, tornTail: nil)
        guard !files.isEmpty else { return summary }

        // The first file that may hold a record above `zxid`: file i holds zxids below files[i+1].firstZxid.
        var start = 0
        for i in 1..<max(files.count, 1) where files[i].firstZxid - 1 <= zxid {
            start = i
        }

        var previous: Int64?
        for index in start..<files.count {
            let scan = try scanFile(
                files[index],
                isLast: index == files.count - 1,
                previousZxid: previous,
                repair: repairTornTail
            )
            if let torn = scan.tornTail { summary.tornTail = torn }
            if !scan.records.isEmpty {
                previous = scan.records.last!.zxid
                for record in scan.records where record.zxid > zxid {
                    try body(LogRecord(zxid: record.zxid, payload: scan.buffer.getSlice(at: record.payloadOffset, length: record.length)!))
                    summary.recordsDelivered += 1
                }
            }
        }
        summary.lastZxid = previous
        if summary.lastZxid == nil, start > 0 {
            summary.lastZxid = try lastZxidScanningBackwards(files: Array(files[..<start]))
        }
        return summary
    }

    /// All records above `zxid`, collected in an array (convenience for tools and tests).
    public func readAllRecords(after zxid: Int64 = -1, repairTornTail: Bool = true) throws -> [LogRecord] {
        var records: [LogRecord] = []
        try readRecords(after: zxid, repairTornTail: repairTornTail) { records.append($0) }
        return records
    }

    /// Verifies the end of the log for a writer: the last file is verified (torn tail repaired); if it held no
    /// record, the previous files are verified strictly until one yields the last zxid.
    func recoverTail() throws(PersistenceError) -> LogReadSummary {
        let files = try logFiles()
        try checkDistinctNames(files)
        var summary = LogReadSummary(lastZxid: nil, recordsDelivered: 0, tornTail: nil)
        guard let last = files.last else { return summary }
        let scan = try scanFile(last, isLast: true, previousZxid: nil, repair: true)
        summary.tornTail = scan.tornTail
        if let zxid = scan.records.last?.zxid {
            summary.lastZxid = zxid
        } else {
            summary.lastZxid = try lastZxidScanningBackwards(files: Array(files.dropLast()))
        }
        return summary
    }

    private func lastZxidScanningBackwards(files: [LogFileInfo]) throws(PersistenceError) -> Int64? {
        for file in files.reversed() {
            let scan = try scanFile(file, isLast: false, previousZxid: nil, repair: false)
            if let zxid = scan.records.last?.zxid { return zxid }
        }
        return nil
    }

    private func checkDistinctNames(_ files: [LogFileInfo]) throws(PersistenceError) {
        for (a, b) in zip(files, files.dropFirst()) where a.firstZxid == b.firstZxid {
            throw .corruptLog(file: b.path, offset: 0, reason: "two log files (\(a.name), \(b.name)) claim the same first zxid")
        }
    }

    struct RecordLocation {
        var zxid: Int64
        var payloadOffset: Int
        var length: Int
    }

    struct FileScan {
        var buffer: ByteBuffer
        var records: [RecordLocation]
        var tornTail: TornTail?
    }

    /// Verifies one file. See the type's documentation for the rules.
    func scanFile(
        _ file: LogFileInfo,
        isLast: Bool,
        previousZxid: Int64?,
        repair: Bool
    ) throws(PersistenceError) -> FileScan {
        let buffer: ByteBuffer
        do {
            buffer = try io.readWholeFileBuffer(file.path)
        } catch {
            throw .io("read", path: file.path, error)
        }
        let maxRecordSize = self.maxRecordSize
        let path = file.path

        enum Outcome {
            case complete([RecordLocation])
            case torn([RecordLocation], offset: Int, reason: String)
            case corrupt(offset: Int, reason: String)
        }

        let outcome: Outcome = buffer.withUnsafeReadableBytes { bytes -> Outcome in
            // File header.
            if bytes.count < LogFormat.fileHeaderSize {
                let reason = "file shorter than its \(LogFormat.fileHeaderSize)-byte header (\(bytes.count) bytes)"
                return isLast ? .torn([], offset: 0, reason: reason) : .corrupt(offset: 0, reason: reason)
            }
            let magic = bytes.loadBigEndianUInt32(at: 0)
            let version = bytes.loadBigEndianUInt32(at: 4)
            let base = Int64(bitPattern: bytes.loadBigEndianUInt64(at: 8))
            if magic != LogFormat.magic || version != LogFormat.version || base != file.firstZxid {
                if isLast && bytes.allSatisfy({ $0 == 0 }) {
                    return .torn([], offset: 0, reason: "file contains only zero bytes")
                }
                if magic != LogFormat.magic {
                    return .corrupt(offset: 0, reason: "bad magic \(LogFormat.hex(magic)), expected \(LogFormat.hex(LogFormat.magic))")
                }
                if version != LogFormat.version {
                    return .corrupt(offset: 4, reason: "unsupported log format version \(version)")
                }
                return .corrupt(offset: 8, reason: "header zxid \(LogFormat.hex(base)) does not match the file name")
            }

            var records: [RecordLocation] = []
            var offset = LogFormat.fileHeaderSize
            var last = previousZxid
            while offset < bytes.count {
                switch LogFormat.parseRecord(bytes, at: offset, maxRecordSize: maxRecordSize) {
                case .record(let zxid, let payloadOffset, let length):
                    if records.isEmpty && zxid != file.firstZxid {
                        return .corrupt(offset: offset, reason: "first record has zxid \(LogFormat.hex(zxid)) but the file name says \(LogFormat.hex(file.firstZxid))")
                    }
                    if let last, zxid <= last {
                        return .corrupt(offset: offset, reason: "zxid \(LogFormat.hex(zxid)) does not exceed the previous zxid \(LogFormat.hex(last))")
                    }
                    records.append(RecordLocation(zxid: zxid, payloadOffset: payloadOffset, length: length))
                    last = zxid
                    offset = payloadOffset + length
                case .bad(let reason):
                    guard isLast else {
                        return .corrupt(offset: offset, reason: reason + " in a file that is not the last one")
                    }
                    if let next = LogFormat.findValidRecord(bytes, in: (offset + 1)..<bytes.count, previousZxid: last, maxRecordSize: maxRecordSize) {
                        return .corrupt(offset: offset, reason: reason + "; a valid record follows at offset \(next), so this is not a torn tail")
                    }
                    return .torn(records, offset: offset, reason: reason)
                }
            }
            if records.isEmpty && isLast {
                return .torn([], offset: offset, reason: "the last file holds no record")
            }
            return .complete(records)
        }

        switch outcome {
        case .complete(let records):
            if records.isEmpty {
                logger.warning("Transaction log file holds no record", metadata: ["file": "\(path)"])
            }
            return FileScan(buffer: buffer, records: records, tornTail: nil)
        case .corrupt(let offset, let reason):
            throw .corruptLog(file: path, offset: Int64(offset), reason: reason)
        case .torn(let records, let offset, let reason):
            let removesFile = records.isEmpty
            let torn = TornTail(
                file: path,
                offset: Int64(offset),
                discardedBytes: Int64(buffer.readableBytes - offset),
                reason: reason,
                removesFile: removesFile,
                repaired: repair
            )
            if repair {
                logger.warning(
                    removesFile
                        ? "Removing last transaction log file: it holds no complete record (torn write)"
                        : "Truncating torn tail of last transaction log file",
                    metadata: [
                        "file": "\(path)",
                        "offset": "\(offset)",
                        "discarded.bytes": "\(torn.discardedBytes)",
                        "reason": "\(reason)",
                    ]
                )
                if removesFile {
                    try removeFile(path)
                } else {
                    try truncateFile(path, to: Int64(offset))
                }
            }
            return FileScan(buffer: buffer, records: records, tornTail: torn)
        }
    }

    private func truncateFile(_ path: String, to length: Int64) throws(PersistenceError) {
        let fd: Int32
        do {
            fd = try io.open(path, flags: O_WRONLY | O_CLOEXEC, mode: 0)
        } catch {
            throw .io("open", path: path, error)
        }
        defer { try? io.close(fd) }
        do {
            try io.ftruncate(fd, length: length)
        } catch {
            throw .io("ftruncate", path: path, error)
        }
        do {
            try io.fsync(fd)
        } catch {
            throw .io("fsync", path: path, error)
        }
    }

    private func removeFile(_ path: String) throws(PersistenceError) {
        do {
            try io.unlink(path)
        } catch {
            throw .io("unlink", path: path, error)
        }
        do {
            try io.fsyncDirectory(directory)
        } catch {
            throw .io("fsync", path: directory, error)
        }
    }
}
