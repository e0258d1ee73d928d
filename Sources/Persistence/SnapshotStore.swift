import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A snapshot file, `snapshot.<hex zxid>`.
public struct SnapshotInfo: Sendable, Hashable {
    /// The file name.
    public var name: String
    /// The full path.
    public var path: String
    /// The zxid parsed from the name.
    public var zxid: Int64
}

/// Durable snapshots of opaque bodies in a directory (ZooKeeper's `dataDir`).
///
/// File format (integers big-endian):
/// ```
/// header (32 bytes):
///   magic       UInt32  0x5A52534E ("ZRSN")
///   version     UInt32  1
///   zxid        Int64   equal to the hex suffix of the file name
///   bodyLength  UInt64
///   bodyCRC     UInt32  CRC-32C of the body
///   headerCRC   UInt32  CRC-32C of the 28 header bytes before it
/// body [bodyLength bytes]
/// ```
/// Writing goes to `snapshot.<hex>.tmp-<random>`, which is fsynced, renamed to its final name and followed by
/// an fsync of the directory, so a `snapshot.<hex>` file is either complete or the victim of later damage.
///
/// Sendable and stateless: every method may be called from any thread, concurrently.
public struct SnapshotStore: Sendable {
    /// The directory holding the snapshots.
    public let directory: String
    private let io: any FileIO
    private let logger: Logger

    static let magic: UInt32 = 0x5A52_534E
    static let version: UInt32 = 1
    static let headerSize = 32
    static let prefix = "snapshot."
    static let temporaryMarker = ".tmp-"

    /// - Parameters:
    ///   - directory: where snapshots live; created on the first write if missing.
    ///   - fileIO: the system-call layer (replace it in tests).
    ///   - logger: receives warnings about skipped snapshots.
    public init(directory: String, fileIO: any FileIO = PosixFileIO(), logger: Logger) {
        self.directory = directory
        self.io = fileIO
        self.logger = logger
    }

    /// The `snapshot.<hex>` files, oldest first. Temporary files are ignored. A missing directory is empty.
    public func snapshots() throws(PersistenceError) -> [SnapshotInfo] {
        let names: [String]
        do {
            names = try io.contentsOfDirectory(directory)
        } catch {
            if error.errno == ENOENT { return [] }
            throw .io("opendir", path: directory, error)
        }
        return names.compactMap { name -> SnapshotInfo? in
            guard let zxid = LogFormat.parseHexSuffix(name, prefix: Self.prefix) else { return nil }
            return SnapshotInfo(name: name, path: directory + "/" + name, zxid: zxid)
        }
        .sorted { $0.zxid < $1.zxid }
    }

    /// Durably writes the snapshot of state up to `zxid` from one buffer (see ``beginWrite(zxid:)``). An existing
    /// snapshot with the same zxid is replaced.
    ///
    /// - Returns: the final file.
    /// - Throws: ``PersistenceError/io(operation:path:errno:message:)``; the temporary file is removed.
    @discardableResult
    public func write(zxid: Int64, body: ByteBuffer) throws(PersistenceError) -> SnapshotInfo {
        let writer = try beginWrite(zxid: zxid)
        try writer.append(body)
        return try writer.commit()
    }

    /// Starts writing the snapshot of state up to `zxid` piece by piece, so that no caller has to hold the whole
    /// body in memory: ``SnapshotWriter/append(_:)-(UnsafeRawBufferPointer)`` the body, then
    /// ``SnapshotWriter/commit()``, which writes the header (length and checksum), fsyncs, renames the temporary
    /// file into place and fsyncs the directory. A writer dropped before `commit` removes its temporary file.
    ///
    /// - Throws: ``PersistenceError/io(operation:path:errno:message:)`` if the directory or the file can't be made.
    public func beginWrite(zxid: Int64) throws(PersistenceError) -> SnapshotWriter {
        guard zxid >= 0 else { throw .invalidArgument("snapshot zxid \(zxid) is negative") }
        do {
            try io.createDirectory(directory)
        } catch {
            throw .io("mkdir", path: directory, error)
        }
        let name = Self.prefix + String(zxid, radix: 16)
        let temporary = directory + "/" + name + Self.temporaryMarker + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let fd: Int32
        do {
            fd = try io.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o644)
        } catch {
            throw .io("create", path: temporary, error)
        }
        // The header's place; commit fills it in once the body's length and checksum are known.
        do {
            try io.writeAll(fd, [UInt8](repeating: 0, count: Self.headerSize))
        } catch {
            try? io.close(fd)
            try? io.unlink(temporary)
            throw .io("write", path: temporary, error)
        }
        return SnapshotWriter(store: self, info: SnapshotInfo(name: name, path: directory + "/" + name, zxid: zxid), temporary: temporary, fd: fd)
    }

    /// A snapshot being written (see ``SnapshotStore/beginWrite(zxid:)``). Use it from one thread at a time.
    public final class SnapshotWriter {
        private let store: SnapshotStore
        private let info: SnapshotInfo
        private let temporary: String
        /// -1 once closed.
        private var fd: Int32
        private var bodyLength = 0
        private var bodyCRC: UInt32 = 0

        fileprivate init(store: SnapshotStore, info: SnapshotInfo, temporary: String, fd: Int32) {
            self.store = store
            self.info = info
            self.temporary = temporary
            self.fd = fd
        }

        deinit { abort() }

        /// Appends body bytes. On failure the temporary file is removed and the writer is finished.
        public func append(_ bytes: UnsafeRawBufferPointer) throws(PersistenceError) {
            try write(bytes)
            bodyLength += bytes.count
            bodyCRC = CRC32C.checksum(bytes, initial: bodyCRC)
        }

        /// Appends the readable bytes of `buffer`.
        public func append(_ buffer: ByteBuffer) throws(PersistenceError) {
            let result: Result<Void, PersistenceError> = buffer.withUnsafeReadableBytes { bytes in
                do throws(PersistenceError) {
                    try append(bytes)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            try result.get()
        }

        /// Writes the header, fsyncs, closes, renames into place and fsyncs the directory.
        ///
        /// - Returns: the final file.
        @discardableResult
        public func commit() throws(PersistenceError) -> SnapshotInfo {
            guard fd >= 0 else { throw .invalidArgument("snapshot \(temporary) was already finished") }
            let io = store.io
            let header = SnapshotStore.encodeHeader(zxid: info.zxid, bodyLength: bodyLength, bodyCRC: bodyCRC)
            var operation = "write"
            do throws(FileIOError) {
                try io.pwriteAll(fd, header, offset: 0)
                operation = "fsync"
                try io.fsync(fd)
                operation = "close"
                let closing = fd
                fd = -1
                try io.close(closing)
            } catch {
                abort()
                throw .io(operation, path: temporary, error)
            }
            do {
                try io.rename(temporary, to: info.path)
            } catch {
                try? io.unlink(temporary)
                throw .io("rename", path: temporary, error)
            }
            do {
                try io.fsyncDirectory(store.directory)
            } catch {
                throw .io("fsync", path: store.directory, error)
            }
            store.logger.debug("Wrote snapshot", metadata: ["file": "\(info.path)", "bytes": "\(bodyLength)"])
            return info
        }

        /// Closes and removes the temporary file, if the writer is not finished yet.
        public func abort() {
            guard fd >= 0 else { return }
            try? store.io.close(fd)
            fd = -1
            try? store.io.unlink(temporary)
        }

        private func write(_ bytes: UnsafeRawBufferPointer) throws(PersistenceError) {
            guard fd >= 0 else { throw .invalidArgument("snapshot \(temporary) was already finished") }
            do {
                try store.io.writeAll(fd, bytes)
            } catch {
                abort()
                throw .io("write", path: temporary, error)
            }
        }
    }

    /// The newest snapshot whose header and body checksums verify. Invalid or partial snapshots are skipped with a
    /// warning naming the file and offset, and so are unreadable ones.
    ///
    /// - Returns: nil when the directory holds no snapshot file at all.
    /// - Throws: ``PersistenceError/corruptSnapshot(file:offset:reason:)`` (for the newest file) when snapshot
    ///   files exist but none verifies: starting empty could silently lose the state they held.
    public func loadNewestValid() throws(PersistenceError) -> (zxid: Int64, body: ByteBuffer)? {
        let all = try snapshots()
        var firstProblem: PersistenceError?
        for snapshot in all.reversed() {
            do throws(PersistenceError) {
                let body = try load(snapshot)
                return (snapshot.zxid, body)
            } catch {
                if firstProblem == nil { firstProblem = error }
                var metadata: Logger.Metadata = ["file": "\(snapshot.path)", "error": "\(error)"]
                if case .corruptSnapshot(_, let offset, _) = error { metadata["offset"] = "\(offset)" }
                logger.warning("Skipping invalid snapshot", metadata: metadata)
            }
        }
        if let firstProblem {
            var offset: Int64 = 0
            var reason = "\(firstProblem)"
            if case .corruptSnapshot(_, let at, let why) = firstProblem {
                offset = at
                reason = why
            }
            throw .corruptSnapshot(
                file: all.last!.path,
                offset: offset,
                reason: "none of the \(all.count) snapshot files is valid; newest: \(reason)"
            )
        }
        return nil
    }

    /// Reads and fully verifies one snapshot, returning its body.
    public func load(_ snapshot: SnapshotInfo) throws(PersistenceError) -> ByteBuffer {
        let buffer: ByteBuffer
        do {
            buffer = try io.readWholeFileBuffer(snapshot.path)
        } catch {
            throw .io("read", path: snapshot.path, error)
        }
        let header = try verifyHeader(buffer, snapshot: snapshot)
        let crc = buffer.withUnsafeReadableBytes { bytes in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[Self.headerSize...]))
        }
        if crc != header.bodyCRC {
            throw .corruptSnapshot(file: snapshot.path, offset: Int64(Self.headerSize), reason: "body checksum mismatch (stored \(LogFormat.hex(header.bodyCRC)), computed \(LogFormat.hex(crc)))")
        }
        return buffer.getSlice(at: buffer.readerIndex + Self.headerSize, length: buffer.readableBytes - Self.headerSize)!
    }

    /// Cheap structural check used by purge: header and length only, no body checksum.
    func isPlausible(_ snapshot: SnapshotInfo) -> Bool {
        guard let fd = try? io.open(snapshot.path, flags: O_RDONLY | O_CLOEXEC, mode: 0) else { return false }
        defer { try? io.close(fd) }
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        let count = header.withUnsafeMutableBytes { (try? io.pread(fd, into: $0, offset: 0)) ?? 0 }
        guard count == Self.headerSize, let size = try? io.fileSize(fd) else { return false }
        let buffer = ByteBuffer(bytes: header)
        guard let parsed = try? verifyHeader(buffer, snapshot: snapshot, fileSize: size) else { return false }
        return parsed.zxid == snapshot.zxid
    }

    /// Deletes leftover temporary files of interrupted writes. Call at startup, before any write.
    @discardableResult
    public func removeTemporaryFiles() throws(PersistenceError) -> [String] {
        let names: [String]
        do {
            names = try io.contentsOfDirectory(directory)
        } catch {
            if error.errno == ENOENT { return [] }
            throw .io("opendir", path: directory, error)
        }
        var removed: [String] = []
        for name in names where name.hasPrefix(Self.prefix) && name.contains(Self.temporaryMarker) {
            let path = directory + "/" + name
            do {
                try io.unlink(path)
            } catch {
                throw .io("unlink", path: path, error)
            }
            removed.append(path)
        }
        return removed
    }

    /// Deletes one snapshot file (used by purge).
    func remove(_ snapshot: SnapshotInfo) throws(PersistenceError) {
        do {
            try io.unlink(snapshot.path)
        } catch {
            throw .io("unlink", path: snapshot.path, error)
        }
    }

    // MARK: - Format

    struct Header {
        var zxid: Int64
        var bodyLength: UInt64
        var bodyCRC: UInt32
    }

    static func encodeHeader(zxid: Int64, bodyLength: Int, bodyCRC: UInt32) -> [UInt8] {
        var header: [UInt8] = []
        header.reserveCapacity(headerSize)
        header.appendBigEndian(magic)
        header.appendBigEndian(version)
        header.appendBigEndian(UInt64(bitPattern: zxid))
        header.appendBigEndian(UInt64(bodyLength))
        header.appendBigEndian(bodyCRC)
        header.appendBigEndian(CRC32C.checksum(header))
        return header
    }

    /// Verifies the header of `buffer` (the whole file unless `fileSize` is given).
    private func verifyHeader(_ buffer: ByteBuffer, snapshot: SnapshotInfo, fileSize: Int64? = nil) throws(PersistenceError) -> Header {
        let path = snapshot.path
        let size = fileSize ?? Int64(buffer.readableBytes)
        let result: Result<Header, PersistenceError> = buffer.withUnsafeReadableBytes { bytes in
            guard bytes.count >= Self.headerSize else {
                return .failure(.corruptSnapshot(file: path, offset: 0, reason: "file shorter than its \(Self.headerSize)-byte header (\(bytes.count) bytes)"))
            }
            let magic = bytes.loadBigEndianUInt32(at: 0)
            guard magic == Self.magic else {
                return .failure(.corruptSnapshot(file: path, offset: 0, reason: "bad magic \(LogFormat.hex(magic))"))
            }
            let storedHeaderCRC = bytes.loadBigEndianUInt32(at: 28)
            let headerCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28]))
            guard storedHeaderCRC == headerCRC else {
                return .failure(.corruptSnapshot(file: path, offset: 28, reason: "header checksum mismatch"))
            }
            let version = bytes.loadBigEndianUInt32(at: 4)
            guard version == Self.version else {
                return .failure(.corruptSnapshot(file: path, offset: 4, reason: "unsupported snapshot format version \(version)"))
            }
            let zxid = Int64(bitPattern: bytes.loadBigEndianUInt64(at: 8))
            guard zxid == snapshot.zxid else {
                return .failure(.corruptSnapshot(file: path, offset: 8, reason: "header zxid \(LogFormat.hex(zxid)) does not match the file name"))
            }
            let bodyLength = bytes.loadBigEndianUInt64(at: 16)
            guard bodyLength == UInt64(size) - UInt64(Self.headerSize) else {
                return .failure(.corruptSnapshot(
                    file: path,
                    offset: min(size, Int64(Self.headerSize) + Int64(clamping: bodyLength)),
                    reason: "file holds \(size - Int64(Self.headerSize)) body bytes, header says \(bodyLength) (partial or extended file)"
                ))
            }
            return .success(Header(zxid: zxid, bodyLength: bodyLength, bodyCRC: bytes.loadBigEndianUInt32(at: 24)))
        }
        return try result.get()
    }
}
