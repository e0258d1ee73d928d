/// Why a jute value could not be read from a buffer.
public enum JuteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The buffer ended before the value did.
    case truncated(field: String)
    /// A length prefix was negative (other than the -1 null marker) or larger than the limit.
    case invalidLength(field: String, length: Int32)
    /// A string was not valid UTF-8.
    case invalidUTF8(field: String)
    /// A value was outside what its field allows.
    case invalidValue(field: String, value: Int64)
    /// Bytes were left over after a record that must consume the whole frame.
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .truncated(let f): return "truncated jute value (\(f))"
        case .invalidLength(let f, let l): return "invalid jute length \(l) (\(f))"
        case .invalidUTF8(let f): return "invalid UTF-8 in jute string (\(f))"
        case .invalidValue(let f, let v): return "invalid value \(v) (\(f))"
        case .trailingBytes(let n): return "\(n) unexpected trailing bytes"
        }
    }
}
