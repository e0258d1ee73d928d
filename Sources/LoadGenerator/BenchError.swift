import ZooKeeperWire

/// What stops a benchmark.
public enum BenchError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidOption(String)
    /// The server refused the session or the handshake failed.
    case handshakeFailed(String)
    /// A connection closed while the benchmark needed it.
    case connectionLost(String)
    /// A request the benchmark cannot do without (setup) failed.
    case requestFailed(String, ErrorCode?)
    case timedOut(String)
    /// /proc could not be read.
    case processStats(String)

    public var description: String {
        switch self {
        case .invalidOption(let text): return "invalid option: \(text)"
        case .handshakeFailed(let text): return "handshake failed: \(text)"
        case .connectionLost(let text): return "connection lost: \(text)"
        case .requestFailed(let text, let code): return "request failed: \(text)" + (code.map { " (\($0))" } ?? "")
        case .timedOut(let text): return "timed out: \(text)"
        case .processStats(let text): return "process stats: \(text)"
        }
    }
}
