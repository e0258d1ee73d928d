import Jute

/// Why bytes from the wire could not be understood. A server logs it and closes the connection.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A record was malformed: truncated, a bad length prefix, or bytes left over after it.
    case jute(JuteError)
    /// A request or multi result carried an operation code this side does not handle.
    case unknownOpCode(Int32)
    /// A multi held an operation that is not allowed there (a read in a multi, a write in a multiRead, a nested
    /// multi), or a multi result had a type that cannot appear in one.
    case invalidMultiOp
    /// A multi result carried an error code that is not one of ZooKeeper's.
    case unknownErrorCode(Int32)
    /// A frame's length prefix was above the limit (jute.maxbuffer).
    case frameTooLarge(Int)
    /// A frame's length prefix was negative.
    case negativeLength(Int32)

    public var description: String {
        switch self {
        case .jute(let e): return "malformed record: \(e)"
        case .unknownOpCode(let op): return "unknown operation code \(op)"
        case .invalidMultiOp: return "operation not allowed in this multi"
        case .unknownErrorCode(let code): return "unknown error code \(code)"
        case .frameTooLarge(let length): return "frame length \(length) is larger than jute.maxbuffer"
        case .negativeLength(let length): return "negative frame length \(length)"
        }
    }
}
