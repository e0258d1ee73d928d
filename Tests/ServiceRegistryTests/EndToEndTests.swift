import Foundation
import NIOConcurrencyHelpers
import Testing
import TestKit
import ZooKeeperClient

@testable import ServiceRegistry

/// The registrar and resolver against a real server (in-process zooreg, or ZK_TEST_CONNECT).
@Suite(.serialized) struct EndToEndTests {
    @Test func registerResolveDeregister() async throws {
        try await RegistryTestEnvironment.run { env in
            let registrar = try Registrar(client: try await env.client(label: "registrar"), basePath: env.basePath, logger: testLogger("registrar"))
            let resolver = try Resolver(client: try await env.client(label: "resolver"), basePath: env.basePath, logger: testLogger("resolver"))
            defer { resolver.close() }

            await #expect(throws: ServiceRegistryError.noInstances(service: "api")) { try await resolver.resolve("api") }

            let generated = try await registrar.register(ServiceInstance(name: "api", address: "10.0.0.1", port: 8080))
            let fixed = try await registrar.register(ServiceInstance(name: "api", id: "web-1", address: "10.0.0.2", port: 8081))
            #expect(generated.path?.hasPrefix("\(env.basePath)/api/_c_") == true)
            #expect(fixed.path == "\(env.basePath)/api/web-1")

            try await eventually(5, "both instances") { (try? await resolver.resolve("api").instances.count) == 2 }
            let resolution = try await resolver.resolve("api")
            #expect(Set(resolution.instances.map(\.port)) == [8080, 8081])
            #expect(!resolution.isStale)
            #expect(try await resolver.serviceNames() == ["api"])

            // The stored bytes are exactly the Curator JSON of the instance.
            let raw = try await env.client(label: "raw")
            _ = try await raw.sync("/")  // another session, maybe on another server of an ensemble
            let data = try await raw.getData(fixed.path!).data
            #expect(data == fixed.instance.encoded())
            #expect(try await raw.exists(fixed.path!)?.ephemeralOwner != 0)

            var updated = fixed.instance
            updated.port = 9090
            try await registrar.update(updated)
            try await eventually(5, "the update") {
                (try? await resolver.resolve("api").instances.contains { $0.port == 9090 }) == true
            }

            try await registrar.deregister(id: "web-1")
            try await eventually(5, "the deregistration") { (try? await resolver.resolve("api").instances.count) == 1 }
            await registrar.shutdown()
            try await eventually(5, "an empty service") {
                do {
                    _ = try await resolver.resolve("api")
                    return false
                } catch ServiceRegistryError.noInstances {
                    return true
                }
            }
        }
    }

    /// A lost create reply is adopted, not duplicated: a proxy lets the create reach the server, then cuts the connection
    /// before the reply comes back. The client reconnects with its session, and the registrar finds its node.
    @Test func createReplyLostToACutConnectionIsAdoptedNotDuplicated() async throws {
        try await RegistryTestEnvironment.run { env in
            let proxy = TCPProxy(upstreamPort: Int(env.hostPort.split(separator: ":").last!)!)
            try await proxy.start()
            let raw = try await env.client(label: "raw")
            // The parents exist, so that the first create to pass the proxy is the instance's own.
            var path = ""
            for segment in "\(env.basePath)/api".split(separator: "/") {
                path += "/\(segment)"
                if try await raw.exists(path) == nil { try await raw.create(path) }
            }
            let client = try await env.client(label: "cut-off", hostPort: "127.0.0.1:\(proxy.port)")
            let session = client.sessionID
            let registrar = try Registrar(client: client, basePath: env.basePath, logger: testLogger("registrar"))
            proxy.loseNextCreateReply()
            let registration = try await registrar.register(ServiceInstance(name: "api", port: 1))
            #expect(proxy.createRepliesLost == 1)
            #expect(client.sessionID == session)
            _ = try await raw.sync("/")
            let children = try await raw.getChildren("\(env.basePath)/api")
            #expect(children.count == 1)
            #expect(registration.path == "\(env.basePath)/api/\(children.first ?? "-")")
            let stat = try await raw.exists(registration.path!)
            #expect(stat?.ephemeralOwner == session)
            // Adopted, not created again: the registrar rewrites an adopted node's data once (version 1).
            #expect(stat?.version == 1)
            await registrar.shutdown()
            _ = try await raw.sync("/")
            #expect(try await raw.getChildren("\(env.basePath)/api").isEmpty)
            try await proxy.stop()
        }
    }

    @Test func fixedIdReplacesTheLeftoverOfADeadSession() async throws {
        try await RegistryTestEnvironment.run { env in
            // A previous process registered web-1 and died; its session has not expired yet.
            let dead = try Registrar(client: try await env.client(label: "dead"), basePath: env.basePath, logger: testLogger("dead"))
            let old = try await dead.register(ServiceInstance(name: "api", id: "web-1", port: 1))
            let registrar = try Registrar(client: try await env.client(), basePath: env.basePath, logger: testLogger("registrar"))
            let new = try await registrar.register(ServiceInstance(name: "api", id: "web-1", port: 2))
            #expect(new.path == old.path)
            let raw = try await env.client(label: "raw")
            // Another session: through an ensemble it may be on another server, which may not have the write yet.
            _ = try await raw.sync("/")
            let instance = try ServiceInstance(json: try await raw.getData(new.path!).data)
            #expect(instance.port == 2)
            #expect(try await raw.exists(new.path!)?.ephemeralOwner == registrar.client.sessionID)
            await registrar.shutdown()
        }
    }

    @Test func thousandInstancesAcrossFiftyServices() async throws {
        try await RegistryTestEnvironment.run { env in
            let registrar = try Registrar(client: try await env.client(sessionTimeout: .seconds(10)), basePath: env.basePath, logger: testLogger("registrar"))
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<1000 {
                    group.addTask {
                        try await registrar.register(ServiceInstance(name: "svc-\(i % 50)", id: "i-\(i)", port: 10_000 + i))
                    }
                }
                try await group.waitForAll()
            }
            let registered = ContinuousClock.now - started
            let resolver = try Resolver(client: try await env.client(label: "resolver"), basePath: env.basePath, logger: testLogger("resolver"))
            defer { resolver.close() }
            let loadStarted = ContinuousClock.now
            try await resolver.waitUntilLoaded()
            let loaded = ContinuousClock.now - loadStarted
            #expect(try await resolver.serviceNames().count == 50)
            let resolveStarted = ContinuousClock.now
            for s in 0..<50 {
                let resolution = try await resolver.resolve("svc-\(s)")
                #expect(resolution.instances.count == 20)
                #expect(Set(resolution.instances.compactMap(\.port)) == Set(stride(from: 10_000 + s, to: 11_000, by: 50)))
            }
            let resolved = ContinuousClock.now - resolveStarted
            print(
                "1000 instances / 50 services: registered in \(Int(registered.milliseconds)) ms, loaded in \(Int(loaded.milliseconds)) ms, 50 resolves in \(String(format: "%.2f", resolved.milliseconds)) ms"
            )
            await registrar.shutdown()
            try await eventually(10, "all deregistered") { resolver.snapshot.instanceCount == 0 }
        }
    }

    /// Every create reaches the Resolver's stream, each within 5 s, and the Resolver ends with all of them. How fast is a figure for the benchmark
    /// (`zooreg bench propagation`, Benchmarks/compare.sh row 9, against zooreg and ZooKeeper side by side): this
    /// prints the times it saw and asserts no bound on them.
    @Test func resolverSeesEveryChange() async throws {
        try await RegistryTestEnvironment.run { env in
            let resolver = try Resolver(client: try await env.client(label: "resolver"), basePath: env.basePath, logger: testLogger("resolver"))
            defer { resolver.close() }
            let writer = try await env.client(label: "writer")
            try await writer.create(String(env.basePath.dropLast("/services".count)))
            try await writer.create(env.basePath)
            try await writer.create("\(env.basePath)/lat")
            try await resolver.waitUntilLoaded()
            let seen = NIOLockedValueBox<[Int: ContinuousClock.Instant]>([:])
            let watcher = Task {
                for await resolution in resolver.instances(of: "lat") {
                    let now = ContinuousClock.now
                    let count = resolution.instances.count
                    seen.withLockedValue { if $0[count] == nil { $0[count] = now } }
                }
            }
            defer { watcher.cancel() }
            var latencies: [Double] = []
            for i in 1...20 {
                let instance = ServiceInstance(name: "lat", id: "n\(i)", port: i, registrationTimeUTC: 1)
                let before = ContinuousClock.now
                try await writer.create("\(env.basePath)/lat/n\(i)", data: instance.encoded())
                try await eventually(5, "instance \(i)") { seen.withLockedValue { $0[i] } != nil }
                latencies.append((seen.withLockedValue { $0[i]! } - before).milliseconds)
            }
            let sorted = latencies.sorted()
            let median = sorted[sorted.count / 2]
            print(
                "change propagation (create -> resolver) over 20 changes: median \(String(format: "%.2f", median)) ms, max \(String(format: "%.2f", sorted.last!)) ms"
            )
            let resolved = try await resolver.resolve("lat").instances.map(\.id)
            #expect(Set(resolved) == Set((1...20).map { "n\($0)" }))
        }
    }

    @Test func healthCheckTakesTheInstanceOutAndBringsItBack() async throws {
        try await RegistryTestEnvironment.run { env in
            let healthy = NIOLockedValueBox(true)
            let check = HealthCheck(description: "flag") { _ in healthy.withLockedValue { $0 } ? .passed : .failed("flag down") }
            let policy = HealthCheckPolicy(interval: .milliseconds(20), timeout: .milliseconds(500), deregisterCriticalAfter: .milliseconds(400))
            let registrar = try Registrar(client: try await env.client(), basePath: env.basePath, logger: testLogger("registrar"))
            let resolver = try Resolver(client: try await env.client(label: "resolver"), basePath: env.basePath, logger: testLogger("resolver"))
            defer { resolver.close() }
            let registration = try await registrar.register(ServiceInstance(name: "api", id: "h1", port: 1), healthCheck: check, policy: policy)
            #expect(registration.health == .passing)
            try await eventually(5, "healthy") { (try? await resolver.resolve("api").instances.count) == 1 }

            healthy.withLockedValue { $0 = false }
            try await eventually(5, "unhealthy") {
                do {
                    _ = try await resolver.resolve("api")
                    return false
                } catch ServiceRegistryError.noHealthyInstances(_, let unhealthy) {
                    return unhealthy == 1
                }
            }
            #expect(try await resolver.resolve("api", includeUnhealthy: true).instances.first?.enabled == false)
            // Critical past the deadline: deregistered.
            try await eventually(5, "deregistered") { resolver.snapshot.instances(of: "api").isEmpty }
            #expect(await registrar.registration("h1")?.path == nil)

            healthy.withLockedValue { $0 = true }
            try await eventually(5, "back") { (try? await resolver.resolve("api").instances.count) == 1 }
            await registrar.shutdown()
        }
    }

    @Test func resolverServesTheLastKnownStateWhileDisconnected() async throws {
        try await RegistryTestEnvironment.run { env in
            guard env.canRestartServer, let server = env.server else { return }
            let registrar = try Registrar(client: try await env.client(sessionTimeout: .seconds(10)), basePath: env.basePath, logger: testLogger("registrar"))
            let resolver = try Resolver(client: try await env.client(sessionTimeout: .seconds(10), label: "resolver"), basePath: env.basePath, logger: testLogger("resolver"))
            defer { resolver.close() }
            try await registrar.register(ServiceInstance(name: "api", id: "a", port: 1))
            try await eventually(5, "registered") { (try? await resolver.resolve("api").instances.count) == 1 }

            try await server.stop()
            try await eventually(5, "stale") { resolver.isStale }
            let stale = try await resolver.resolve("api")
            #expect(stale.isStale)
            #expect(stale.instances.map(\.id) == ["a"])

            try await server.start()
            try await eventually(10, "fresh again") { !resolver.isStale }
            #expect(try await resolver.resolve("api").instances.map(\.id) == ["a"])
            await registrar.shutdown()
        }
    }

    @Test func unreachableRegistryFailsClearly() async throws {
        // Nothing listens on this port: the first resolve gives up after readyTimeout.
        let client = try ZooKeeperClient(connectString: "127.0.0.1:1", logger: testLogger("nowhere"))
        let resolver = try Resolver(
            client: client, configuration: .init(basePath: "/services", readyTimeout: .milliseconds(300)), logger: testLogger("resolver"))
        await #expect {
            try await resolver.resolve("api")
        } throws: { error in
            if case ServiceRegistryError.unreachable = error { return true }
            return false
        }
        resolver.close()
        await client.close()
    }
}
