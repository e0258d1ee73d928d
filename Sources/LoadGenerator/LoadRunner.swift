import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperClient
import ZooKeeperWire

/// Runs a load against one server with the raw driver: connect, set up keys, warm up, measure, drain, close.
public enum LoadRunner {
    public static func run(_ configuration: LoadConfiguration) async throws -> LoadResult {
        try configuration.validate()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        do {
            let result = try await run(configuration, group: group)
            try? await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    static func run(_ configuration: LoadConfiguration, group: MultiThreadedEventLoopGroup) async throws -> LoadResult {
        let loops = Array(group.makeIterator())
        let keys = (0..<configuration.keySpace).map { "\(configuration.keysPath)/\($0)" }
        var generator = SplitMix64(seed: configuration.seed)
        let value = (0..<configuration.valueSize).map { _ in UInt8(truncatingIfNeeded: generator.next()) }

        if configuration.setup {
            try await Setup.prepare(configuration, keys: configuration.mix.needsKeys ? keys : [], value: value, on: loops[0])
        }

        // Connect, 64 handshakes at a time, round-robin over the loops.
        var connections: [NIOLoopBound<RawConnection>] = []
        connections.reserveCapacity(configuration.connections)
        do {
            var index = 0
            while index < configuration.connections {
                let batch = index..<min(configuration.connections, index + 64)
                let futures = batch.map { i in
                    RawConnection.connect(
                        host: configuration.host, port: configuration.port, on: loops[i % loops.count],
                        sessionTimeoutMs: configuration.sessionTimeoutMs)
                }
                for future in futures { connections.append(try await future.get()) }
                index = batch.upperBound
            }
        } catch {
            await closeAll(connections)
            throw error
        }

        let stats: [NIOLoopBound<LoopStats>] = try await withThrowingTaskGroup(of: (Int, NIOLoopBound<LoopStats>).self) { tasks in
            for (i, loop) in loops.enumerated() {
                tasks.addTask { (i, try await loop.submit { NIOLoopBound(LoopStats(), eventLoop: loop) }.get()) }
            }
            var result: [(Int, NIOLoopBound<LoopStats>)] = []
            for try await item in tasks { result.append(item) }
            return result.sorted { $0.0 < $1.0 }.map(\.1)
        }

        // Workers, all starting together.
        let start = NIODeadline.now().uptimeNanoseconds + 20_000_000
        let quotas = configuration.operations.map { operations in
            (0..<configuration.connections).map { i in
                UInt64(operations / configuration.connections + (i < operations % configuration.connections ? 1 : 0))
            }
        }
        var workers: [NIOLoopBound<LoadWorker>] = []
        for (i, connection) in connections.enumerated() {
            let loopStats = stats[i % loops.count]
            let schedule = configuration.rate.map {
                RateSchedule(totalRate: $0, connections: configuration.connections, index: i, start: start)
            }
            let quota = quotas?[i]
            let seed = configuration.seed &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
            let worker = try await connection.eventLoop.submit {
                NIOLoopBound(
                    LoadWorker(
                        connection: connection.value, stats: loopStats.value, configuration: configuration, keys: keys,
                        value: value, seed: seed, schedule: schedule, quota: quota),
                    eventLoop: connection.eventLoop)
            }.get()
            workers.append(worker)
        }
        for worker in workers {
            worker.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(start)) { worker.value.start() }
        }

        let progress = Progress(stats: stats, interval: configuration.progressInterval)
        // Warm-up.
        if configuration.warmupSeconds > 0 {
            try await progress.run(phase: "warm-up", seconds: configuration.warmupSeconds)
        }
        // Measure.
        for loopStats in stats { try await loopStats.eventLoop.submit { loopStats.value.beginMeasurement() }.get() }
        let windowStart = NIODeadline.now()
        let serverBefore = try configuration.serverPID.map { pid throws(BenchError) in try ProcessStats.sample(pid: pid) }
        let clientBefore = try? ProcessStats.sample()
        if configuration.operations != nil {
            let futures = workers.map { worker in
                worker.eventLoop.flatSubmit { worker.value.quotaFuture }
            }
            let all = EventLoopFuture.andAllComplete(futures, on: loops[0])
            try await progress.run(phase: "measure", seconds: 3600, until: all)
        } else {
            try await progress.run(phase: "measure", seconds: configuration.durationSeconds)
        }
        let serverAfter = try configuration.serverPID.map { pid throws(BenchError) in try ProcessStats.sample(pid: pid) }
        let clientAfter = try? ProcessStats.sample()
        var snapshots: [LoopStats.Snapshot] = []
        for loopStats in stats { snapshots.append(try await loopStats.eventLoop.submit { loopStats.value.endMeasurement() }.get()) }
        let windowEnd = NIODeadline.now()
        StandardError.endProgress()

        // Stop and drain (bounded), then close the sessions.
        var backlog: UInt64 = 0
        for worker in workers {
            backlog += try await worker.eventLoop.submit { () -> UInt64 in
                worker.value.stop()
                return worker.value.backlogAtStop
            }.get()
        }
        let drained = EventLoopFuture.andAllComplete(
            workers.map { worker in worker.eventLoop.flatSubmit { worker.value.drainedFuture } }, on: loops[0])
        _ = try? await withDeadline(seconds: 10, drained)
        await closeAll(connections)

        var latencies = LatencyRecorder()
        var byKind: [LatencyRecorder?] = Array(repeating: nil, count: OpKind.allCases.count)
        var sendLateness = LatencyRecorder()
        var errors: [String: UInt64] = [:]
        var measured: UInt64 = 0
        var connectionsLost = 0
        for snapshot in snapshots {
            latencies.merge(snapshot.latencies)
            for (index, recorder) in snapshot.latenciesByKind.enumerated() {
                guard let recorder else { continue }
                if byKind[index] == nil { byKind[index] = LatencyRecorder() }
                byKind[index]?.merge(recorder)
            }
            sendLateness.merge(snapshot.sendLateness)
            measured += snapshot.measured
            connectionsLost += snapshot.connectionsLost
            errors.merge(snapshot.errors, uniquingKeysWith: +)
        }
        let seconds = Double((windowEnd - windowStart).nanoseconds) / 1e9
        let errorCount = errors.values.reduce(0, +)
        let throughput = Double(measured) / seconds
        let server = ProcessSample.cpuUsage(from: serverBefore, to: serverAfter, operations: measured, seconds: seconds)
        let client = ProcessSample.cpuUsage(from: clientBefore, to: clientAfter, operations: measured, seconds: seconds)
        let sustained = LoadResult.sustained(
            rate: configuration.rate, backlog: backlog, operations: measured, throughput: throughput)
        return LoadResult(
            driver: "raw", server: "\(configuration.host):\(configuration.port)", mix: configuration.mix.description,
            connections: configuration.connections, depth: configuration.depth, threads: configuration.threads,
            valueSize: configuration.valueSize, keySpace: configuration.keySpace, multiSize: configuration.multiSize,
            targetRate: configuration.rate, warmupSeconds: configuration.warmupSeconds, measuredSeconds: seconds,
            operations: measured, throughput: throughput, latency: latencies.summary, errors: errors,
            errorCount: errorCount, serverCPUPerOpMicros: server?.microsPerOp, serverCPUCores: server?.cores,
            serverRSSBytes: serverAfter?.rssBytes, clientCPUPerOpMicros: client?.microsPerOp, clientCPUCores: client?.cores,
            backlog: backlog, sustained: sustained, connectionsLost: connectionsLost,
            sendLateness: configuration.rate == nil ? nil : sendLateness.summary,
            latencyByKind: LoadResult.summaries(byKind))
    }

    /// Closes every session (closeSession, then the socket), 256 at a time.
    static func closeAll(_ connections: [NIOLoopBound<RawConnection>]) async {
        var index = 0
        while index < connections.count {
            let batch = connections[index..<min(connections.count, index + 256)]
            for future in batch.map({ c in c.eventLoop.flatSubmit { c.value.close() } }) {
                _ = try? await future.get()
            }
            index += 256
        }
    }
}

/// Waits for `future`, or fails with `timedOut` after `seconds` (the future itself goes on; `onLate` sees its value if
/// it succeeds after the deadline, e.g. to close a connection nobody will use).
func withDeadline<T: Sendable>(
    seconds: Double, _ future: EventLoopFuture<T>, onLate: (@Sendable (T) -> Void)? = nil
) async throws -> T {
    let loop = future.eventLoop
    let promise = loop.makePromise(of: T.self)
    let expired = NIOLockedValueBox(false)
    let timer = loop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
        expired.withLockedValue { $0 = true }
        promise.fail(BenchError.timedOut("after \(seconds) s"))
    }
    future.whenComplete { result in
        timer.cancel()
        if expired.withLockedValue({ $0 }), case .success(let value) = result { onLate?(value) }
        promise.completeWith(result)
    }
    return try await promise.futureResult.get()
}

/// Prints a progress line while a phase runs.
struct Progress {
    let stats: [NIOLoopBound<LoopStats>]
    let interval: Double?

    func completed() async -> (UInt64, UInt64) {
        var total: UInt64 = 0
        var errors: UInt64 = 0
        for loopStats in stats {
            if let (done, failed) = try? await loopStats.eventLoop.submit({ (loopStats.value.completedTotal, loopStats.value.errorsTotal) }).get() {
                total += done
                errors += failed
            }
        }
        return (total, errors)
    }

    /// Waits `seconds` (or until `future` completes), printing the rate each `interval`.
    func run(phase: String, seconds: Double, until future: EventLoopFuture<Void>? = nil) async throws {
        let begin = NIODeadline.now()
        let end = begin + .nanoseconds(Int64(seconds * 1e9))
        let step = interval ?? 0.05
        var (last, _) = await completed()
        var lastTime = begin
        let finished = NIOLockedValueBox(false)
        future?.whenComplete { _ in finished.withLockedValue { $0 = true } }
        while NIODeadline.now() < end && !finished.withLockedValue({ $0 }) {
            let remaining = Double((end - NIODeadline.now()).nanoseconds) / 1e9
            let slice = min(step, max(0, remaining))
            // Sleep in short slices so an operation-count run ends promptly.
            var slept = 0.0
            while slept < slice && !finished.withLockedValue({ $0 }) {
                let nap = min(0.02, slice - slept)
                try await Task.sleep(for: .nanoseconds(Int64(nap * 1e9)))
                slept += nap
            }
            guard interval != nil else { continue }
            let now = NIODeadline.now()
            let (done, errors) = await completed()
            let rate = Double(done - last) / (Double((now - lastTime).nanoseconds) / 1e9)
            let elapsed = Double((now - begin).nanoseconds) / 1e9
            var line = "\(phase) \(Format.fixed(elapsed, 1)) s: \(Format.compact(rate)) op/s, \(done) ops"
            if errors > 0 { line += ", \(errors) errors" }
            StandardError.progress(line)
            last = done
            lastTime = now
        }
        if let future { try await future.get() }
    }
}
