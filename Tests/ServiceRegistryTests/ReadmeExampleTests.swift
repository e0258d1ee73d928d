import Logging
import ServiceLifecycle
import Testing
import TestKit
import ZooKeeperClient

import ServiceRegistry

/// The README's five lines, compiled and run against the in-process server (public API only).
@Suite struct ReadmeExampleTests {
    @Test func fiveLines() async throws {
        try await RegistryTestEnvironment.run { env in
            let logger = testLogger("readme")
            let health = await HealthCheck.tcp(host: "127.0.0.1", port: Int(env.hostPort.split(separator: ":")[1])!)
                .run(timeout: .seconds(1))
            #expect(health == .passed)

            // --- README ---
            let zk = try ZooKeeperClient(connectString: env.hostPort, logger: logger)
            let registrar = try Registrar(client: zk, basePath: env.basePath, logger: logger)
            let resolver = try Resolver(client: zk, basePath: env.basePath, logger: logger)
            try await registrar.register(ServiceInstance(name: "api", address: "10.0.0.5", port: 8080),
                                         healthCheck: .tcp(host: "127.0.0.1", port: Int(env.hostPort.split(separator: ":")[1])!))
            let api = try await resolver.resolve("api").instances
            // --- end ---

            #expect(api.map(\.port) == [8080])
            let next = try await resolver.provider(for: "api", strategy: .roundRobin).next()
            #expect(next.address == "10.0.0.5")
            await registrar.shutdown()
            resolver.close()
            await zk.close()
        }
    }
}
