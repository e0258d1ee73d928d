#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: the C `errno` it reported.
public struct FileIOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The C `errno` value.
    public var errno: Int32

    public init(errno: Int32) {
        self.errno = errno
    }

    /// `strerror(errno)`.
    public var message: String {
        String(cString: strerror(errno))
    }

    public var description: String { "\(message) (errno \(errno))" }
}

/// The small set of POSIX file operations the persistence layer performs.
///
/// Production code uses ``PosixFileIO``; tests wrap it to inject failures such as `ENOSPC` on `write` or `EIO`
/// on `fdatasync` deterministically. Implementations must be thread safe: the group-commit thread, snapshot
/// writers and purge may call them concurrently on different descriptors.
public protocol FileIO: Sendable {
    /// `open(2)`; returns the descriptor.
    func open(_ path: String, flags: Int32, mode: UInt32) throws(FileIOError) -> Int32
    /// `close(2)`.
    func close(_ fd: Int32) throws(FileIOError)
    /// `write(2)` at the current offset. May write fewer bytes than asked; returns the number written.
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(FileIOError) -> Int
    /// `pwrite(2)`: writes at `offset` without moving the file offset. May write fewer bytes than asked.
    func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64) throws(FileIOError) -> Int
    /// `pread(2)`. Returns the number of bytes read (0 at end of file).
    func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64) throws(FileIOError) -> Int
    /// `fsync(2)`.
    func fsync(_ fd: Int32) throws(FileIOError)
    /// `fdatasync(2)` (falls back to `fsync` where it does not exist).
    func fdatasync(_ fd: Int32) throws(FileIOError)
    /// `ftruncate(2)`.
    func ftruncate(_ fd: Int32, length: Int64) throws(FileIOError)
    /// Size of the open file (`fstat(2)`).
    func fileSize(_ fd: Int32) throws(FileIOError) -> Int64
    /// `rename(2)`.
    func rename(_ from: String, to: String) throws(FileIOError)
    /// `unlink(2)`.
    func unlink(_ path: String) throws(FileIOError)
    /// Names of the entries of a directory, without `.` and `..`.
    func contentsOfDirectory(_ path: String) throws(FileIOError) -> [String]
    /// `mkdir -p`.
    func createDirectory(_ path: String) throws(FileIOError)
}

extension FileIO {
    /// Opens a directory and fsyncs it, making renames, creations and deletions in it durable.
    public func fsyncDirectory(_ path: String) throws(FileIOError) {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC, mode: 0)
        defer { try? close(fd) }
        try fsync(fd)
    }

    /// Writes all of `bytes`, looping over short writes.
    public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(FileIOError) {
        var done = 0
        while done < bytes.count {
            let n = try write(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]))
            if n <= 0 { throw FileIOError(errno: EIO) }
            done += n
        }
    }

    /// Writes all of `bytes` at `offset`, looping over short writes.
    public func pwriteAll(_ fd: Int32, _ bytes: [UInt8], offset: Int64) throws(FileIOError) {
        let result: Result<Void, FileIOError> = bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                do throws(FileIOError) {
                    let n = try pwrite(fd, UnsafeRawBufferPointer(rebasing: raw[done...]), offset: offset + Int64(done))
                    if n <= 0 { return .failure(FileIOError(errno: EIO)) }
                    done += n
                } catch {
                    return .failure(error)
                }
            }
            return .success(())
        }
        try result.get()
    }

    /// Writes all of `bytes`, looping over short writes.
    public func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(FileIOError) {
        let result: Result<Void, FileIOError> = bytes.withUnsafeBytes { raw in
            do throws(FileIOError) {
                try writeAll(fd, raw)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }
}
