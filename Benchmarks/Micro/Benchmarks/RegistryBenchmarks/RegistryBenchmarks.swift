import Benchmark
import CoordinationServer
import Foundation
import Logging
import ServiceLifecycle
import ServiceRegistry
import ZooKeeperClient

// The resolver's cache answers `resolve()` locally. Two levels:
// - `ServiceCacheState` lookups: the pure cache (presorted per service, so a lookup is a dictionary probe);
// - `Resolver.resolve` hits end to end: an in-process `zooreg` server on a loopback port, three instances
//   registered through a `Registrar`, a `Resolver` loaded by its watch; then `resolve` is timed (lock, cache probe,
//   staleness check, the `Resolution` value). The target is under 1 µs per hit.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], warmupIterations: 5, scalingFactor: .kilo,
        maxDuration: .seconds(2), maxIterations: 2000)

    func cache(services: Int, instancesEach: Int) -> ServiceCacheState {
        var cache = ServiceCacheState()
        for s in 0..<services {
            for i in 0..<instancesEach {
                let instance = ServiceInstance(
                    name: "service-\(s)", id: "id-\(s)-\(i)", address: "10.0.\(s % 250).\(i % 250)", port: 8000 + i,
                    registrationTimeUTC: 1_700_000_000_000)
                cache.setInstance(service: "service-\(s)", node: "id-\(s)-\(i)", instance)
            }
        }
        return cache
    }

    let small = cache(services: 100, instancesEach: 3)
    let wide = cache(services: 100, instancesEach: 50)
    let names = (0..<100).map { "service-\($0)" }

    Benchmark("ResolverCache/healthy instances lookup (100 services × 3 instances)") { benchmark in
        var s = 0
        for _ in benchmark.scaledIterations {
            s = (s + 37) % 100
            blackHole(small.healthyInstances(of: names[s]))
        }
    }

    Benchmark("ResolverCache/healthy instances lookup (100 services × 50 instances)") { benchmark in
        var s = 0
        for _ in benchmark.scaledIterations {
            s = (s + 37) % 100
            blackHole(wide.healthyInstances(of: names[s]))
        }
    }

    Benchmark("ResolverCache/round-robin provider pick (3 instances)") { benchmark in
        let instances = small.instances(of: "service-1")
        var state = ProviderState(strategy: .roundRobin)
        var generator = SystemRandomNumberGenerator()
        for _ in benchmark.scaledIterations {
            blackHole(state.choose(from: instances, using: &generator))
        }
    }

    Benchmark(
        "Resolver/resolve hit, end to end (in-process server, 3 instances)",
        configuration: .init(setup: { try await ResolverFixture.shared.start() }, teardown: { await ResolverFixture.shared.stop() })
    ) { benchmark in
        guard let resolver = ResolverFixture.shared.resolver else { fatalError("the fixture did not start") }
        for _ in benchmark.scaledIterations {
            blackHole(try await resolver.resolve("api"))
        }
    }
}

/// A server, a registrar with three instances and a loaded resolver, for the end-to-end hit benchmark.
final class ResolverFixture: @unchecked Sendable {
    static let shared = ResolverFixture()

    private(set) var resolver: Resolver?
    private var serverGroup: ServiceGroup?
    private var serverTask: Task<Void, any Error>?
    private var clients: [ZooKeeperClient] = []
    private var dataDir: String?

    func start() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zooreg-bench-\(UUID().uuidString)").path
        dataDir = dir
        var configuration = ServerConfiguration(dataDir: dir)
        configuration.clientPort = 0
        configuration.clientPortAddress = "127.0.0.1"
        configuration.metricsHTTPPort = 0
        let server = ZooKeeperServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        serverGroup = group
        serverTask = Task { try await group.run() }
        var port: Int?
        for _ in 0..<1000 where port == nil {
            port = server.port
            if port == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
        guard let port else { throw CancellationError() }
        let registering = try ZooKeeperClient(connectString: "127.0.0.1:\(port)", logger: logger)
        let resolving = try ZooKeeperClient(connectString: "127.0.0.1:\(port)", logger: logger)
        clients = [registering, resolving]
        try await registering.connect()
        try await resolving.connect()
        let registrar = try Registrar(client: registering, basePath: "/services", logger: logger)
        for i in 0..<3 {
            try await registrar.register(ServiceInstance(name: "api", id: "api-\(i)", address: "10.0.0.\(i)", port: 8080))
        }
        let resolver = try Resolver(client: resolving, basePath: "/services", logger: logger)
        resolver.start()
        try await resolver.waitUntilLoaded()
        for _ in 0..<1000 {
            if (try? await resolver.resolve("api"))?.instances.count == 3 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        self.resolver = resolver
    }

    func stop() async {
        resolver?.close()
        for client in clients { await client.close() }
        await serverGroup?.triggerGracefulShutdown()
        _ = try? await serverTask?.value
        if let dataDir { try? FileManager.default.removeItem(atPath: dataDir) }
    }
}
