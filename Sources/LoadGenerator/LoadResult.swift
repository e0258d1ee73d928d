/// The outcome of `zooreg bench run`; encoded as `--json`.
public struct LoadResult: Sendable, Codable, Hashable {
    public var driver: String
    public var server: String
    public var mix: String
    public var connections: Int
    public var depth: Int
    public var threads: Int
    public var valueSize: Int
    public var keySpace: Int
    public var multiSize: Int
    /// Fixed-rate target in operations per second; nil when saturating.
    public var targetRate: Double?
    public var warmupSeconds: Double
    /// The measured window, as it actually lasted.
    public var measuredSeconds: Double
    /// Successful operations in the window.
    public var operations: UInt64
    public var throughput: Double
    /// Latency in microseconds (from the intended start in fixed-rate mode).
    public var latency: LatencySummary
    public var errors: [String: UInt64]
    public var errorCount: UInt64
    /// Server CPU (user + system) per successful operation, in microseconds, over the window.
    public var serverCPUPerOpMicros: Double?
    /// Server CPU over the window in cores (1.0 = one core busy).
    public var serverCPUCores: Double?
    public var serverRSSBytes: UInt64?
    public var clientCPUPerOpMicros: Double?
    public var clientCPUCores: Double?
    /// Fixed rate: operations that were due but not started when the window closed.
    public var backlog: UInt64
    /// Fixed rate: whether the generator kept up with the schedule (backlog under 0.1% of the operations and
    /// throughput within 2% of the target).
    public var sustained: Bool?

    /// Whether a fixed-rate run kept up (see `sustained`); nil when saturating.
    static func sustained(rate: Double?, backlog: UInt64, operations: UInt64, throughput: Double) -> Bool? {
        rate.map { Double(backlog) <= max(1, Double(operations) * 0.001) && throughput >= $0 * 0.98 }
    }
    public var connectionsLost: Int
    /// Fixed rate: how late the generator sent requests after their intended times, in microseconds. This delay is
    /// part of `latency` (no coordinated omission); when its tail is close to `latency`'s, the tail is the machine's
    /// (CPU contention, stalls), not the server's.
    public var sendLateness: LatencySummary?
    /// Latency by operation kind (`OpKind.rawValue`), when the mix has several kinds (raw driver only). In a 90/10
    /// mix the overall p99 falls among the writes: it is about the writes' p90.
    public var latencyByKind: [String: LatencySummary]? = nil

    static func summaries(_ recorders: [LatencyRecorder?]) -> [String: LatencySummary]? {
        var result: [String: LatencySummary] = [:]
        for kind in OpKind.allCases {
            if let recorder = recorders[kind.index] { result[kind.rawValue] = recorder.summary }
        }
        return result.isEmpty ? nil : result
    }

    /// A human-readable table.
    public func table() -> String {
        var lines: [String] = []
        let rateText = targetRate.map { "fixed rate \(Format.compact($0)) op/s" } ?? "saturating"
        lines.append("zooreg bench: \(mix) against \(server) (\(driver) driver)")
        lines.append(
            "  \(connections) connections × depth \(depth), \(threads) threads, \(valueSize) B values, \(keySpace) keys, \(rateText)")
        lines.append(
            "  measured \(Format.fixed(measuredSeconds, 2)) s after \(Format.fixed(warmupSeconds, 1)) s warm-up")
        lines.append("")
        let header = ["ops", "ops/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "srv µs/op", "srv cores", "cli µs/op"]
        let values = [
            "\(operations)", Format.fixed(throughput, 0), Format.fixed(latency.p50, 1), Format.fixed(latency.p90, 1),
            Format.fixed(latency.p99, 1), Format.fixed(latency.p999, 1), Format.fixed(latency.max, 1),
            serverCPUPerOpMicros.map { Format.fixed($0, 2) } ?? "-", serverCPUCores.map { Format.fixed($0, 2) } ?? "-",
            clientCPUPerOpMicros.map { Format.fixed($0, 2) } ?? "-",
        ]
        let widths = zip(header, values).map { max($0.count, $1.count) + 2 }
        lines.append(zip(header, widths).map { Format.pad($0, $1) }.joined())
        lines.append(zip(values, widths).map { Format.pad($0, $1) }.joined())
        if let latencyByKind {
            for (name, summary) in latencyByKind.sorted(by: { $0.key < $1.key }) {
                lines.append(
                    "  \(name): \(summary.count) ops, p50 \(Format.fixed(summary.p50, 1)) µs, p90 \(Format.fixed(summary.p90, 1)) µs, "
                        + "p99 \(Format.fixed(summary.p99, 1)) µs, max \(Format.fixed(summary.max, 1)) µs")
            }
        }
        if let serverRSSBytes { lines.append("  server RSS \(Format.fixed(Double(serverRSSBytes) / 1_048_576, 1)) MiB") }
        if errorCount > 0 {
            let list = errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            lines.append("  errors: \(errorCount) (\(list))")
        }
        if connectionsLost > 0 { lines.append("  connections lost: \(connectionsLost)") }
        if let sendLateness {
            lines.append(
                "  generator send lateness (part of the latency): p50 \(Format.fixed(sendLateness.p50, 1)) µs, "
                    + "p99 \(Format.fixed(sendLateness.p99, 1)) µs, max \(Format.fixed(sendLateness.max, 1)) µs")
        }
        if let sustained, !sustained {
            lines.append("  WARNING: the fixed rate was not sustained (backlog \(backlog) at the end)")
        }
        return lines.joined(separator: "\n")
    }
}
