/// The intended send times of one connection in fixed-rate mode: an arithmetic sequence starting at `start + offset`,
/// one operation every `interval` nanoseconds. Latency is measured from these times, not from when a request could
/// actually be sent, so a slow server cannot hide its stalls by slowing the generator down (no coordinated
/// omission).
public struct RateSchedule: Sendable, Hashable {
    /// The first intended time, in the monotonic nanoseconds of `NIODeadline.uptimeNanoseconds`.
    public let start: UInt64
    /// Nanoseconds between two intended times (fractional, so that rates do not round).
    public let interval: Double

    /// A connection's share of a total rate: `totalRate / connections` operations per second; connection `index`
    /// starts `index / connections` of an interval later, so connections interleave rather than send in bursts.
    public init(totalRate: Double, connections: Int, index: Int, start: UInt64) {
        precondition(totalRate > 0 && connections > 0 && index >= 0)
        let interval = 1e9 * Double(connections) / totalRate
        self.interval = interval
        self.start = start + UInt64(interval * Double(index) / Double(connections))
    }

    public init(start: UInt64, interval: Double) {
        precondition(interval > 0)
        self.start = start
        self.interval = interval
    }

    /// The intended time of operation `k` (0-based).
    public func intendedTime(_ k: UInt64) -> UInt64 {
        start + UInt64((Double(k) * interval).rounded(.down))
    }

    /// How many operations are due at `now`: those whose intended time is at or before it.
    public func dueCount(at now: UInt64) -> UInt64 {
        guard now >= start else { return 0 }
        var count = UInt64((Double(now - start) / interval).rounded(.down)) + 1
        // Guard against floating-point error at the boundaries.
        while count > 0 && intendedTime(count - 1) > now { count -= 1 }
        while intendedTime(count) <= now { count += 1 }
        return count
    }
}
