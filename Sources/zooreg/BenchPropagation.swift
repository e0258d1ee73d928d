import ArgumentParser
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceRegistry
import ZooKeeperClient

/// `zooreg bench propagation`: how long a registry change takes to reach a watching ``Resolver``. One session
/// creates instances (Curator's JSON, ephemeral) one at a time under `<root>/services/lat`, then deletes some; a
/// Resolver on another session watches the service, and each change's time runs from just before the write is
/// sent to the Resolver's update that shows it. Benchmarks/compare.sh runs it against zooreg and ZooKeeper.
struct BenchPropagation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "propagation",
        abstract: "Registry change propagation: time from a write to a watching Resolver's update.")

    @OptionGroup var target: BenchTargetOptions

    @Option(name: .customLong("creates"), help: "Instances created, one at a time.")
    var creates = 30

    @Option(name: .customLong("deletes"), help: "Of those, instances then deleted, one at a time.")
    var deletes = 10

    struct Result: Codable, Sendable {
        var changes: Int
        var medianMillis: Double
        var p90Millis: Double
        var maxMillis: Double
        var millis: [Double]
    }

    func validate() throws {
        guard creates >= 1, (0...creates).contains(deletes) else {
            throw ValidationError("--creates must be at least 1 and --deletes between 0 and --creates")
        }
    }

    func run() async throws {
        var logger = Logger(label: "zooreg.bench.propagation")
        logger.logLevel = .warning
        let timeout = Duration.milliseconds(Int64(target.sessionTimeoutMs))
        let writer = try ZooKeeperClient(connectString: target.server, sessionTimeout: timeout, logger: logger)
        let watcher = try ZooKeeperClient(connectString: target.server, sessionTimeout: timeout, logger: logger)
        try await writer.connect(timeout: .seconds(10))
        try await watcher.connect(timeout: .seconds(10))
        let basePath = "\(target.root)/services"
        var path = ""
        for part in "\(basePath)/lat".split(separator: "/") {
            path += "/\(part)"
            do {
                _ = try await writer.create(path)
            } catch let error as ZooKeeperError where error.code == .nodeExists {}
        }
        let resolver = try Resolver(client: watcher, configuration: .init(basePath: basePath), logger: logger)
        try await resolver.waitUntilLoaded(timeout: .seconds(10))

        // When the Resolver first showed each instance count.
        let seen = NIOLockedValueBox<[Int: ContinuousClock.Instant]>([:])
        let updates = resolver.instances(of: "lat")
        let watching = Task {
            for await resolution in updates {
                let now = ContinuousClock.now
                seen.withLockedValue { if $0[resolution.instances.count] == nil { $0[resolution.instances.count] = now } }
            }
        }
        func waitFor(count: Int, since start: ContinuousClock.Instant) async throws -> Double {
            let deadline = start + .seconds(10)
            while ContinuousClock.now < deadline {
                if let at = seen.withLockedValue({ $0[count] }) { return (at - start).milliseconds }
                try await Task.sleep(for: .microseconds(200))
            }
            throw ValidationError("the Resolver did not show \(count) instances within 10 s")
        }

        func stop() async {
            watching.cancel()
            resolver.close()
            await writer.close()
            await watcher.close()
        }

        var millis: [Double] = []
        do {
            // The stream's first answer (no instances yet), so that the first create is not timed from before it.
            let subscribed = ContinuousClock.now + .seconds(5)
            while seen.withLockedValue({ $0.isEmpty }) && ContinuousClock.now < subscribed {
                try await Task.sleep(for: .milliseconds(1))
            }
            for i in 1...creates {
                let instance = ServiceInstance(name: "lat", id: "n\(i)", port: i, registrationTimeUTC: 1)
                let start = ContinuousClock.now
                _ = try await writer.create("\(basePath)/lat/n\(i)", data: instance.encoded(), mode: .ephemeral)
                millis.append(try await waitFor(count: i, since: start))
            }
            // Deleting back down: each count is seen for the second time, so the earlier sightings go first.
            seen.withLockedValue { $0.removeAll() }
            for i in stride(from: 1, through: deletes, by: 1) {
                let start = ContinuousClock.now
                try await writer.delete("\(basePath)/lat/n\(i)")
                millis.append(try await waitFor(count: creates - i, since: start))
            }
        } catch {
            await stop()
            throw error
        }
        await stop()

        let sorted = millis.sorted()
        let result = Result(
            changes: millis.count, medianMillis: sorted[sorted.count / 2],
            p90Millis: sorted[min(sorted.count - 1, sorted.count * 9 / 10)], maxMillis: sorted.last ?? 0, millis: millis)
        try target.emit(
            result,
            table: "propagation: \(result.changes) changes, write to Resolver update median \(String(format: "%.2f", result.medianMillis)) ms, p90 \(String(format: "%.2f", result.p90Millis)) ms, max \(String(format: "%.2f", result.maxMillis)) ms")
    }
}

extension Duration {
    fileprivate var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
