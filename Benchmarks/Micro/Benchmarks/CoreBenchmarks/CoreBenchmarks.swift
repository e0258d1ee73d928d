import Benchmark
import CoordinationCore
import ZooKeeperWire

#if canImport(Glibc)
import Glibc
#endif

// The pure core at scale: creating, reading and deleting 1,000,000 znodes of 100 B through
// `CoordinationState.apply` (the path live writes and log replay both take), and the session expiry queue.

/// Resident memory of this process in bytes (/proc/self/statm), for bytes per znode.
func residentBytes() -> Int {
    #if os(Linux)
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 128)
    let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n > 0 else { return 0 }
    let fields = String(decoding: bytes[0..<n], as: UTF8.self).split(separator: " ")
    return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    #else
    return 0
    #endif
}

let nodeCount = 1_000_000
let value = [UInt8](repeating: 0x61, count: 100)
let paths: [String] = (0..<nodeCount).map { "/m/\($0)" }

func header(_ zxid: Int64) -> TransactionHeader {
    TransactionHeader(zxid: zxid, time: 1_700_000_000_000 + zxid, sessionId: 0, cxid: Int32(truncatingIfNeeded: zxid))
}

/// A state with /m and `count` children of 100 B.
func populatedState(_ count: Int = nodeCount) -> CoordinationState {
    var state = CoordinationState()
    var triggers: [WatchTrigger] = []
    state.apply(LoggedTransaction(header: header(1), transaction: .create(path: "/m", data: [], acl: ACL.openUnsafe, ephemeralOwner: 0)), triggers: &triggers)
    for i in 0..<count {
        triggers.removeAll(keepingCapacity: true)
        state.apply(
            LoggedTransaction(header: header(Int64(i) + 2), transaction: .create(path: paths[i], data: value, acl: ACL.openUnsafe, ephemeralOwner: 0)),
            triggers: &triggers)
    }
    return state
}

nonisolated(unsafe) var sharedState: CoordinationState?

let benchmarks: @Sendable () -> Void = {
    let large = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResidentDelta, .custom("bytes per znode", useScalingFactor: false)],
        warmupIterations: 0, scalingFactor: .one, maxDuration: .seconds(60), maxIterations: 3)

    Benchmark("DataTree/create 1M znodes of 100 B (apply)", configuration: large) { benchmark in
        var state = CoordinationState()
        var triggers: [WatchTrigger] = []
        state.apply(LoggedTransaction(header: header(1), transaction: .create(path: "/m", data: [], acl: ACL.openUnsafe, ephemeralOwner: 0)), triggers: &triggers)
        let before = residentBytes()
        benchmark.startMeasurement()
        for i in 0..<nodeCount {
            triggers.removeAll(keepingCapacity: true)
            state.apply(
                LoggedTransaction(header: header(Int64(i) + 2), transaction: .create(path: paths[i], data: value, acl: ACL.openUnsafe, ephemeralOwner: 0)),
                triggers: &triggers)
        }
        benchmark.stopMeasurement()
        benchmark.measurement(.custom("bytes per znode", useScalingFactor: false), (residentBytes() - before) / nodeCount)
        blackHole(state)
    }

    Benchmark(
        "DataTree/get (node + Stat) at 1M znodes",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], warmupIterations: 3, scalingFactor: .kilo,
            maxDuration: .seconds(3), maxIterations: 1000,
            setup: { if sharedState == nil { sharedState = populatedState() } })
    ) { benchmark in
        guard let state = sharedState else { return }
        var index = 7919
        for _ in benchmark.scaledIterations {
            index = (index &* 31 &+ 17) % nodeCount
            blackHole(state.tree.node(at: paths[index])?.stat)
        }
    }

    Benchmark(
        "DataTree/setData at 1M znodes (apply)",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], warmupIterations: 3, scalingFactor: .kilo,
            maxDuration: .seconds(3), maxIterations: 1000,
            setup: { if sharedState == nil { sharedState = populatedState() } })
    ) { benchmark in
        guard var state = sharedState else { return }
        sharedState = nil  // keep one reference, so apply mutates in place
        var triggers: [WatchTrigger] = []
        var index = 104_729
        var zxid = Int64(nodeCount + 10)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            index = (index &* 31 &+ 17) % nodeCount
            zxid += 1
            triggers.removeAll(keepingCapacity: true)
            blackHole(state.apply(
                LoggedTransaction(header: header(zxid), transaction: .setData(path: paths[index], data: value, version: -1)),
                triggers: &triggers))
        }
        benchmark.stopMeasurement()
        sharedState = state
    }

    Benchmark("DataTree/delete 1M znodes (apply)", configuration: large) { benchmark in
        var state = populatedState()
        var triggers: [WatchTrigger] = []
        let before = residentBytes()
        benchmark.startMeasurement()
        for i in 0..<nodeCount {
            triggers.removeAll(keepingCapacity: true)
            state.apply(LoggedTransaction(header: header(Int64(nodeCount + i) + 2), transaction: .delete(path: paths[i])), triggers: &triggers)
        }
        benchmark.stopMeasurement()
        benchmark.measurement(.custom("bytes per znode", useScalingFactor: false), (before - residentBytes()) / nodeCount)
        blackHole(state)
    }

    let sessions = 10_000
    Benchmark(
        "ExpiryQueue/touch (10k sessions)",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], warmupIterations: 3, scalingFactor: .kilo,
            maxDuration: .seconds(2), maxIterations: 2000)
    ) { benchmark in
        var queue = ExpiryQueue<Int64>(interval: 2000, now: 0)
        for s in 0..<sessions { queue.touch(Int64(s), timeout: 30_000, now: 0) }
        var now: Int64 = 0
        var s = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            now += 1
            s = (s &+ 7919) % sessions
            queue.touch(Int64(s), timeout: 30_000, now: now)
        }
        benchmark.stopMeasurement()
        blackHole(queue)
    }

    Benchmark(
        "ExpiryQueue/expire 10k sessions (one bucket each tick)",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal], warmupIterations: 3, scalingFactor: .one,
            maxDuration: .seconds(2), maxIterations: 200)
    ) { benchmark in
        var queue = ExpiryQueue<Int64>(interval: 2000, now: 0)
        for s in 0..<sessions { queue.touch(Int64(s), timeout: Int64(4000 + (s % 10) * 2000), now: 0) }
        var expired = 0
        benchmark.startMeasurement()
        var now: Int64 = 0
        while expired < sessions && now < 1_000_000 {
            now += 2000
            expired += queue.expire(now: now).count
        }
        benchmark.stopMeasurement()
        blackHole(expired)
    }
}
