/// What the workers of one event loop have done. Lives on that loop (no locks in the hot path); the runner reads it
/// by submitting to the loop.
final class LoopStats {
    /// Operations completed since the start, warm-up included (for the progress line).
    var completedTotal: UInt64 = 0
    /// Whether completions are being measured.
    var recording = false
    var latencies = LatencyRecorder()
    /// The same latencies by operation kind (`OpKind.index`), kept only when the mix has several kinds.
    var latenciesByKind: [LatencyRecorder?] = Array(repeating: nil, count: OpKind.allCases.count)
    /// Fixed rate: how late each request was sent after its intended time (the generator's own delay, already
    /// included in `latencies`).
    var sendLateness = LatencyRecorder()
    /// Operations completed successfully in the measured window.
    var measured: UInt64 = 0
    /// Failed operations in the measured window, by `kind:error`.
    var errors: [String: UInt64] = [:]
    /// Failed operations since the start.
    var errorsTotal: UInt64 = 0
    /// Connections lost unexpectedly.
    var connectionsLost = 0

    func beginMeasurement() {
        latencies.reset()
        for index in latenciesByKind.indices { latenciesByKind[index]?.reset() }
        sendLateness.reset()
        measured = 0
        errors = [:]
        recording = true
    }

    func endMeasurement() -> Snapshot {
        recording = false
        return Snapshot(
            latencies: latencies, latenciesByKind: latenciesByKind, sendLateness: sendLateness, measured: measured, errors: errors,
            connectionsLost: connectionsLost)
    }

    struct Snapshot: Sendable {
        var latencies: LatencyRecorder
        var latenciesByKind: [LatencyRecorder?]
        var sendLateness: LatencyRecorder
        var measured: UInt64
        var errors: [String: UInt64]
        var connectionsLost: Int
    }
}
