#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// ``FileIO`` implemented directly with the C library, retrying on `EINTR`.
public struct PosixFileIO: FileIO {
    public init() {}

    @inline(__always)
    private func retrying(_ body: () -> Int) throws(FileIOError) -> Int {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code != EINTR { throw FileIOError(errno: code) }
        }
    }

    public func open(_ path: String, flags: Int32, mode: UInt32) throws(FileIOError) -> Int32 {
        Int32(try retrying { Int(systemOpen(path, flags, mode_t(mode))) })
    }

    public func close(_ fd: Int32) throws(FileIOError) {
        // Never retry close(2) on EINTR: on Linux the descriptor is released anyway.
        if systemClose(fd) != 0 { throw FileIOError(errno: errno) }
    }

    public func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(FileIOError) -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        return try retrying { systemWrite(fd, base, bytes.count) }
    }

    public func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64) throws(FileIOError) -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        return try retrying { systemPwrite(fd, base, bytes.count, off_t(offset)) }
    }

    public func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64) throws(FileIOError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return try retrying { systemPread(fd, base, buffer.count, off_t(offset)) }
    }

    public func fsync(_ fd: Int32) throws(FileIOError) {
        _ = try retrying { Int(systemFsync(fd)) }
    }

    public func fdatasync(_ fd: Int32) throws(FileIOError) {
        #if canImport(Darwin)
        _ = try retrying { Int(systemFsync(fd)) }
        #else
        _ = try retrying { Int(systemFdatasync(fd)) }
        #endif
    }

    public func ftruncate(_ fd: Int32, length: Int64) throws(FileIOError) {
        _ = try retrying { Int(systemFtruncate(fd, off_t(length))) }
    }

    public func fileSize(_ fd: Int32) throws(FileIOError) -> Int64 {
        var info = stat()
        _ = try retrying { Int(fstat(fd, &info)) }
        return Int64(info.st_size)
    }

    public func rename(_ from: String, to: String) throws(FileIOError) {
        _ = try retrying { Int(systemRename(from, to)) }
    }

    public func unlink(_ path: String) throws(FileIOError) {
        _ = try retrying { Int(systemUnlink(path)) }
    }

    public func contentsOfDirectory(_ path: String) throws(FileIOError) -> [String] {
        guard let dir = opendir(path) else { throw FileIOError(errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let chars = raw.bindMemory(to: CChar.self)
                return String(cString: chars.baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func createDirectory(_ path: String) throws(FileIOError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 {
                let code = errno
                if code != EEXIST { throw FileIOError(errno: code) }
            }
            prefix += "/"
        }
    }
}

// Aliases so the method names above do not shadow the C functions they call.
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
private func systemWrite(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int { write(fd, base, count) }
private func systemPwrite(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int, _ offset: off_t) -> Int {
    pwrite(fd, base, count, offset)
}
private func systemPread(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
    pread(fd, base, count, offset)
}
private func systemFsync(_ fd: Int32) -> Int32 { fsync(fd) }
#if !canImport(Darwin)
private func systemFdatasync(_ fd: Int32) -> Int32 { fdatasync(fd) }
#endif
private func systemFtruncate(_ fd: Int32, _ length: off_t) -> Int32 { ftruncate(fd, length) }
private func systemRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }
private func systemUnlink(_ path: String) -> Int32 { unlink(path) }
