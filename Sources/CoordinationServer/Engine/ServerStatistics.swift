/// Counters the four-letter words and metrics report (ZooKeeper's ServerStats).
struct ServerStatistics: Sendable {
    var packetsReceived: Int64 = 0
    var packetsSent: Int64 = 0
    var minLatencyMicros: Int64 = .max
    var maxLatencyMicros: Int64 = 0
    var totalLatencyMicros: Int64 = 0
    var latencyCount: Int64 = 0
    var fsyncThresholdExceeded: Int64 = 0

    mutating func record(latencyMicros: Int64) {
        latencyCount += 1
        totalLatencyMicros += latencyMicros
        if latencyMicros < minLatencyMicros { minLatencyMicros = latencyMicros }
        if latencyMicros > maxLatencyMicros { maxLatencyMicros = latencyMicros }
    }

    mutating func reset() {
        self = ServerStatistics()
    }

    /// Milliseconds, as ZooKeeper prints them.
    var minLatencyMillis: Double { latencyCount == 0 ? 0 : Double(minLatencyMicros) / 1000 }
    var maxLatencyMillis: Double { Double(maxLatencyMicros) / 1000 }
    var avgLatencyMillis: Double { latencyCount == 0 ? 0 : Double(totalLatencyMicros) / Double(latencyCount) / 1000 }
}
