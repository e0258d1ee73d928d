import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileIO {
    /// Reads a whole file into a new `ByteBuffer`.
    func readWholeFileBuffer(_ path: String) throws(FileIOError) -> ByteBuffer {
        let fd = try open(path, flags: O_RDONLY | O_CLOEXEC, mode: 0)
        defer { try? close(fd) }
        let size = Int(try fileSize(fd))
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        var failure: FileIOError?
        if size > 0 {
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                var done = 0
                while done < size {
                    do throws(FileIOError) {
                        let n = try pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[done..<size]), offset: Int64(done))
                        if n == 0 { break }
                        done += n
                    } catch {
                        failure = error
                        break
                    }
                }
                return done
            }
        }
        if let failure { throw failure }
        return buffer
    }
}

extension PersistenceError {
    /// Wraps a failed system call.
    static func io(_ operation: String, path: String, _ error: FileIOError) -> PersistenceError {
        .io(operation: operation, path: path, errno: error.errno, message: error.message)
    }
}
