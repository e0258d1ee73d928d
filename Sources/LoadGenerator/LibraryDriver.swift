#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperClient

/// The same load as `LoadRunner`, through the `ZooKeeperClient` library (async/await, one task per operation slot):
/// what an application using the library costs. Each connection is one client; `depth` tasks per client each keep
/// one operation in flight. In fixed-rate mode the tasks take the client's next intended time from a shared
/// schedule, sleep until it, and measure from it.
public enum LibraryDriver {
    /// Shared between the tasks of one client: its schedule position and its latencies.
    final class ClientState: Sendable {
        struct State {
            var nextIndex: UInt64 = 0
            var latencies = LatencyRecorder()
            var measured: UInt64 = 0
            var completedTotal: UInt64 = 0
            var errorsTotal: UInt64 = 0
            var errors: [String: UInt64] = [:]
            var quotaLeft: UInt64?
        }

        let box: NIOLockedValueBox<State>
        let schedule: RateSchedule?

        init(schedule: RateSchedule?, quota: UInt64?) {
            var state = State()
            state.quotaLeft = quota
            box = NIOLockedValueBox(state)
            self.schedule = schedule
        }
    }

    enum Phase: Int { case warmup, measure, stop }

    public static func run(_ configuration: LoadConfiguration) async throws -> LoadResult {
        try configuration.validate()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        defer { group.shutdownGracefully { _ in } }
        let keys = (0..<configuration.keySpace).map { "\(configuration.keysPath)/\($0)" }
        var generator = SplitMix64(seed: configuration.seed)
        let valueBytes = (0..<configuration.valueSize).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let value = Data(valueBytes)
        if configuration.setup {
            try await Setup.prepare(configuration, keys: configuration.mix.needsKeys ? keys : [], value: valueBytes, on: group.next())
        }
        var logger = Logger(label: "zooreg.bench")
        logger.logLevel = .critical
        let clients: [ZooKeeperClient] = try (0..<configuration.connections).map { _ in
            try ZooKeeperClient(
                connectString: "\(configuration.host):\(configuration.port)",
                sessionTimeout: .milliseconds(Int64(configuration.sessionTimeoutMs)), logger: logger, eventLoopGroup: group)
        }
        do {
            for client in clients { try await client.connect(timeout: .seconds(10)) }
        } catch {
            for client in clients { await client.close() }
            throw error
        }
        let start = NIODeadline.now().uptimeNanoseconds + 20_000_000
        let states = (0..<configuration.connections).map { i in
            ClientState(
                schedule: configuration.rate.map { RateSchedule(totalRate: $0, connections: configuration.connections, index: i, start: start) },
                quota: configuration.operations.map { UInt64($0 / configuration.connections + (i < $0 % configuration.connections ? 1 : 0)) })
        }
        let phase = NIOLockedValueBox(Phase.warmup)
        let mix = configuration.mix
        let multiSize = configuration.multiSize
        let sequencePrefix = configuration.sequencePath + "/n-"
        let servicePath = configuration.servicePath
        let servicePrefix = servicePath + "/i-"

        @Sendable func operation(_ kind: OpKind, client: ZooKeeperClient, rng: inout SplitMix64) async throws {
            switch kind {
            case .get: _ = try await client.getData(keys[rng.next(below: keys.count)])
            case .set: try await client.setData(keys[rng.next(below: keys.count)], data: value)
            case .existsWatch: _ = try await client.exists(keys[rng.next(below: keys.count)], watcher: { _ in })
            case .createDelete:
                let path = try await client.create(sequencePrefix, data: value, mode: .ephemeralSequential)
                try await client.delete(path)
            case .registerResolve:
                let path = try await client.create(servicePrefix, data: value, mode: .ephemeralSequential)
                _ = try await client.getChildrenWithStat(servicePath)
                try await client.delete(path)
            case .multi:
                var ops: [ZooKeeperOperation] = []
                for _ in 0..<multiSize { ops.append(.setData(keys[rng.next(below: keys.count)], data: value)) }
                try await client.multi(ops)
            }
        }

        let loadTask = Task {
            await withTaskGroup(of: Void.self) { tasks in
                for (c, client) in clients.enumerated() {
                    let state = states[c]
                    for slot in 0..<configuration.depth {
                        let seed = configuration.seed &+ UInt64(c * configuration.depth + slot + 1) &* 0x9E37_79B9_7F4A_7C15
                        tasks.addTask {
                            var rng = SplitMix64(seed: seed)
                            var iterations = 0
                            while iterations < Int.max - 1 {
                                iterations += 1
                                if phase.withLockedValue({ $0 }) == .stop { return }
                                var intended = NIODeadline.now().uptimeNanoseconds
                                if let schedule = state.schedule {
                                    let index = state.box.withLockedValue { s -> UInt64 in
                                        defer { s.nextIndex += 1 }
                                        return s.nextIndex
                                    }
                                    intended = schedule.intendedTime(index)
                                    let now = NIODeadline.now().uptimeNanoseconds
                                    if intended > now {
                                        try? await Task.sleep(for: .nanoseconds(Int64(intended - now)))
                                    }
                                    if phase.withLockedValue({ $0 }) == .stop { return }
                                }
                                let kind = mix.pick(using: &rng)
                                var failure: String?
                                do {
                                    try await operation(kind, client: client, rng: &rng)
                                } catch let error as ZooKeeperError {
                                    failure = "\(kind.rawValue):\(error.code)"
                                } catch {
                                    failure = "\(kind.rawValue):\(error)"
                                }
                                let now = NIODeadline.now().uptimeNanoseconds
                                let measuring = phase.withLockedValue { $0 } == .measure
                                let done = state.box.withLockedValue { s -> Bool in
                                    s.completedTotal += 1
                                    if let failure {
                                        s.errorsTotal += 1
                                        if measuring { s.errors[failure, default: 0] += 1 }
                                        return false
                                    }
                                    guard measuring else { return false }
                                    if let left = s.quotaLeft {
                                        if left == 0 { return true }
                                        s.quotaLeft = left - 1
                                    }
                                    s.latencies.record(nanoseconds: now > intended ? now - intended : 0)
                                    s.measured += 1
                                    return s.quotaLeft == 0
                                }
                                if done { return }
                            }
                        }
                    }
                }
            }
        }

        @Sendable func totals() -> (UInt64, UInt64) {
            states.reduce((0, 0)) { sum, state in
                state.box.withLockedValue { (sum.0 + $0.completedTotal, sum.1 + $0.errorsTotal) }
            }
        }
        func progressLine(_ name: String, seconds: Double, until: (@Sendable () -> Bool)? = nil) async throws {
            let begin = NIODeadline.now()
            var last = totals().0
            var lastTime = begin
            var ticks = 0
            while Double((NIODeadline.now() - begin).nanoseconds) / 1e9 < seconds {
                if let until, until() { return }
                try await Task.sleep(for: .milliseconds(50))
                ticks += 1
                guard let interval = configuration.progressInterval, Double(ticks) * 0.05 >= interval else { continue }
                ticks = 0
                let now = NIODeadline.now()
                let (done, errors) = totals()
                let rate = Double(done - last) / (Double((now - lastTime).nanoseconds) / 1e9)
                var line = "\(name) \(Format.fixed(Double((now - begin).nanoseconds) / 1e9, 1)) s: \(Format.compact(rate)) op/s, \(done) ops"
                if errors > 0 { line += ", \(errors) errors" }
                StandardError.progress(line)
                last = done
                lastTime = now
            }
        }

        try await Task.sleep(for: .milliseconds(20))
        if configuration.warmupSeconds > 0 { try await progressLine("warm-up", seconds: configuration.warmupSeconds) }
        for state in states { state.box.withLockedValue { $0.latencies.reset(); $0.measured = 0; $0.errors = [:] } }
        phase.withLockedValue { $0 = .measure }
        let windowStart = NIODeadline.now()
        let serverBefore = configuration.serverPID.flatMap { try? ProcessStats.sample(pid: $0) }
        let clientBefore = try? ProcessStats.sample()
        if configuration.operations != nil {
            try await progressLine("measure", seconds: 3600, until: { states.allSatisfy { $0.box.withLockedValue { $0.quotaLeft == 0 } } })
        } else {
            try await progressLine("measure", seconds: configuration.durationSeconds)
        }
        let serverAfter = configuration.serverPID.flatMap { try? ProcessStats.sample(pid: $0) }
        let clientAfter = try? ProcessStats.sample()
        phase.withLockedValue { $0 = .stop }
        let windowEnd = NIODeadline.now()
        StandardError.endProgress()
        var latencies = LatencyRecorder()
        var errors: [String: UInt64] = [:]
        var measured: UInt64 = 0
        for state in states {
            state.box.withLockedValue {
                latencies.merge($0.latencies)
                measured += $0.measured
                errors.merge($0.errors, uniquingKeysWith: +)
            }
        }
        _ = try? await withDeadline(seconds: 10, group.next().makeFutureWithTask { await loadTask.value })
        for client in clients { await client.close() }

        let seconds = Double((windowEnd - windowStart).nanoseconds) / 1e9
        let throughput = Double(measured) / seconds
        let server = ProcessSample.cpuUsage(from: serverBefore, to: serverAfter, operations: measured, seconds: seconds)
        let client = ProcessSample.cpuUsage(from: clientBefore, to: clientAfter, operations: measured, seconds: seconds)
        var backlog: UInt64 = 0
        if configuration.rate != nil {
            let now = windowEnd.uptimeNanoseconds
            for state in states {
                guard let schedule = state.schedule else { continue }
                let due = schedule.dueCount(at: now)
                let started = state.box.withLockedValue { $0.nextIndex }
                backlog += due > started ? due - started : 0
            }
        }
        return LoadResult(
            driver: "client", server: "\(configuration.host):\(configuration.port)", mix: configuration.mix.description,
            connections: configuration.connections, depth: configuration.depth, threads: configuration.threads,
            valueSize: configuration.valueSize, keySpace: configuration.keySpace, multiSize: configuration.multiSize,
            targetRate: configuration.rate, warmupSeconds: configuration.warmupSeconds, measuredSeconds: seconds,
            operations: measured, throughput: throughput, latency: latencies.summary, errors: errors,
            errorCount: errors.values.reduce(0, +), serverCPUPerOpMicros: server?.microsPerOp, serverCPUCores: server?.cores,
            serverRSSBytes: serverAfter?.rssBytes, clientCPUPerOpMicros: client?.microsPerOp, clientCPUCores: client?.cores,
            backlog: backlog,
            sustained: LoadResult.sustained(
                rate: configuration.rate, backlog: backlog, operations: measured, throughput: throughput),
            connectionsLost: 0)
    }
}
