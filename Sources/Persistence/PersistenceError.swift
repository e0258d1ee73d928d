/// Errors reported by the persistence layer.
///
/// Every case names the file involved; corruption errors also carry the byte offset at which the problem was
/// found, so an operator can inspect the file (for example with `xxd -s <offset>`).
public enum PersistenceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The transaction log is damaged in a way that may have lost acknowledged records: a corrupt record in the
    /// middle of a file, any damage in a file that is not the last one, or zxids that do not strictly increase.
    /// A server must refuse to start when it sees this error.
    case corruptLog(file: String, offset: Int64, reason: String)

    /// A snapshot file failed verification.
    case corruptSnapshot(file: String, offset: Int64, reason: String)

    /// A system call failed. `errno` is the C `errno` value (for example `ENOSPC` = 28) and `message` a human
    /// readable explanation that includes `strerror(errno)`.
    case io(operation: String, path: String, errno: Int32, message: String)

    /// The caller passed something the persistence layer cannot accept (a non-increasing zxid, an oversized
    /// record, a retain count below the minimum, ...).
    case invalidArgument(String)

    /// The log or store has been closed.
    case closed

    public var description: String {
        switch self {
        case .corruptLog(let file, let offset, let reason):
            return "corrupt transaction log \(file) at offset \(offset): \(reason)"
        case .corruptSnapshot(let file, let offset, let reason):
            return "corrupt snapshot \(file) at offset \(offset): \(reason)"
        case .io(let operation, let path, let errno, let message):
            return "\(operation) failed for \(path): \(message) (errno \(errno))"
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        case .closed:
            return "the transaction log is closed"
        }
    }
}
