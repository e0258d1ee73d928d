import CoordinationServer
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Testing

@testable import LoadGenerator

/// A `zooreg` server in this process, on a free loopback port and a temporary data dir (fsync off: these tests check
/// that the generator works, never how fast).
final class BenchServer: Sendable {
    let port: Int
    let dataDir: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init() async throws {
        dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("loadgen-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        var configuration = ServerConfiguration(dataDir: dataDir)
        configuration.clientPort = 0
        configuration.clientPortAddress = "127.0.0.1"
        configuration.tickTime = 200
        configuration.metricsHTTPPort = 0
        configuration.maxClientCnxns = 0
        configuration.forceSync = false
        var logger = Logger(label: "bench-server")
        logger.logLevel = .critical
        let server = ZooKeeperServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        self.group = group
        task = Task { try await group.run() }
        var bound: Int?
        for _ in 0..<1000 {
            bound = server.port
            if bound != nil { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        guard let bound else { throw BenchError.timedOut("the in-process server did not listen") }
        port = bound
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        try? FileManager.default.removeItem(atPath: dataDir)
    }

    var target: Target { Target(host: "127.0.0.1", port: port, serverPID: getpid(), sessionTimeoutMs: 4000) }

    func configuration(_ mix: String, operations: Int) throws -> LoadConfiguration {
        var configuration = LoadConfiguration()
        configuration.port = port
        configuration.connections = 3
        configuration.depth = 4
        configuration.threads = 2
        configuration.mix = try OpMix(parsing: mix)
        configuration.keySpace = 50
        configuration.valueSize = 10
        configuration.warmupSeconds = 0
        configuration.operations = operations
        configuration.serverPID = getpid()
        configuration.sessionTimeoutMs = 4000
        configuration.progressInterval = nil
        return configuration
    }
}

/// One server for the whole suite, so tests run one after the other against it.
@Suite(.serialized) struct EndToEndTests {
    @Test func everyOpKindRunsWithoutErrorsOnTheRawDriver() async throws {
        let server = try await BenchServer()
        do {
            for kind in OpKind.allCases {
                let result = try await LoadRunner.run(try server.configuration(kind.rawValue, operations: 60))
                #expect(result.operations == 60, "\(kind)")
                #expect(result.errorCount == 0, "\(kind): \(result.errors)")
                #expect(result.latency.count == 60)
                #expect(result.connectionsLost == 0)
                #expect(result.serverCPUPerOpMicros != nil)
                #expect(result.driver == "raw")
                #expect(result.latencyByKind == nil, "one kind has no per-kind breakdown")
            }
            let mixed = try await LoadRunner.run(try server.configuration("get=90,set=5,multi=5", operations: 200))
            #expect(mixed.operations == 200)
            #expect(mixed.errorCount == 0)
            #expect(mixed.table().contains("p99.9 µs"))
            // A mix is also measured per kind: every measured operation counts once, under its own kind.
            let byKind = try #require(mixed.latencyByKind)
            #expect(Set(byKind.keys) == ["get", "set", "multi"])
            #expect(byKind.values.reduce(0) { $0 + $1.count } == mixed.operations)
            #expect(byKind.values.allSatisfy { $0.max <= mixed.latency.max })
            #expect(mixed.table().contains("  multi: "))
            let json = try JSONEncoder().encode(mixed)
            #expect(try JSONDecoder().decode(LoadResult.self, from: json) == mixed)
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test func fixedRateRunIsMeasuredFromTheSchedule() async throws {
        let server = try await BenchServer()
        do {
            var configuration = try server.configuration("get=50,create-delete=50", operations: 1)
            configuration.operations = nil
            configuration.durationSeconds = 0.3
            configuration.rate = 200
            let result = try await LoadRunner.run(configuration)
            #expect(result.operations > 0)
            #expect(result.errorCount == 0)
            #expect(result.targetRate == 200)
            #expect(result.sustained != nil)
            // Every measured send was timed against its schedule, and that delay is part of the latency.
            let lateness = try #require(result.sendLateness)
            #expect(lateness.count > 0)
            #expect(lateness.p50 <= result.latency.p50)
            #expect(result.table().contains("generator send lateness"))
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test func libraryDriverRunsTheSameMixes() async throws {
        let server = try await BenchServer()
        do {
            for mix in ["get", "set", "create-delete", "register-resolve", "multi", "exists-watch"] {
                let result = try await LibraryDriver.run(try server.configuration(mix, operations: 30))
                #expect(result.operations == 30, "\(mix)")
                #expect(result.errorCount == 0, "\(mix): \(result.errors)")
                #expect(result.driver == "client")
            }
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test func scenariosRun() async throws {
        let server = try await BenchServer()
        do {
            let populated = try await Populate.run(
                target: server.target, parent: "/bench/m", count: 250, valueSize: 20, batch: 100, window: 2, connections: 2,
                progress: false)
            #expect(populated.count == 250)
            let ready = try await Ready.run(target: server.target, timeoutSeconds: 10, sinceUnixNanoseconds: nil, checkPath: "/bench/m")
            #expect(ready.checkCount == 250)
            let fanout = try await Fanout.run(target: server.target, root: "/bench", sessions: 5, rounds: 2, progress: false)
            #expect(fanout.allNotifiedMillis.count == 2)
            let storm = try await Storm.run(target: server.target, root: "/bench", sessions: 20, concurrency: 4, progress: false)
            #expect(storm.sessions == 20)
            #expect(storm.latencyMillis.count == 20)
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }
}
