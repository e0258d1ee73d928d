import Histogram

/// Latencies in nanoseconds, in an HdrHistogram (3 significant digits, 1 ns to 10 minutes; longer values are
/// clamped to the maximum and counted in `clamped`). Not thread-safe: keep one per event loop and merge.
public struct LatencyRecorder: Sendable {
    public static let highestTrackable: UInt64 = 600_000_000_000

    public private(set) var histogram: Histogram<UInt64>
    public private(set) var clamped: UInt64 = 0

    public init() {
        histogram = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: Self.highestTrackable, numberOfSignificantValueDigits: .three)
    }

    public var count: UInt64 { histogram.totalCount }

    public mutating func record(nanoseconds: UInt64) {
        var value = nanoseconds
        if value > Self.highestTrackable {
            value = Self.highestTrackable
            clamped += 1
        }
        _ = histogram.record(max(1, value))
    }

    public mutating func merge(_ other: LatencyRecorder) {
        histogram.add(other.histogram)
        clamped += other.clamped
    }

    public mutating func reset() {
        histogram.reset()
        clamped = 0
    }

    /// The summary in microseconds.
    public var summary: LatencySummary {
        guard count > 0 else { return LatencySummary(count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0) }
        func us(_ ns: UInt64) -> Double { Double(ns) / 1000 }
        return LatencySummary(
            count: count, mean: histogram.mean / 1000,
            p50: us(histogram.valueAtPercentile(50)), p90: us(histogram.valueAtPercentile(90)),
            p99: us(histogram.valueAtPercentile(99)), p999: us(histogram.valueAtPercentile(99.9)),
            max: us(histogram.max))
    }
}

/// Latency percentiles in microseconds.
public struct LatencySummary: Sendable, Hashable, Codable {
    public var count: UInt64
    public var mean: Double
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double

    public init(count: UInt64, mean: Double, p50: Double, p90: Double, p99: Double, p999: Double, max: Double) {
        self.count = count
        self.mean = mean
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }
}
