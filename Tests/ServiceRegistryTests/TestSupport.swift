import CoordinationServer
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Testing
import TestKit
import ZooKeeperClient

// Where the registry end-to-end tests run: the in-process server of TestKit (or an external server given by
// ZK_TEST_CONNECT, e.g. a ZooKeeper 3.6+ started with extended types), one base path per test.

/// A server for one test, and its clients (closed at the end). Every test uses its own base path.
final class RegistryTestEnvironment: Sendable {
    let server: InProcessServer?
    let hostPort: String
    let basePath: String
    private let dataDir: String?
    private let clients = NIOLockedValueBox<[ZooKeeperClient]>([])

    static let external = ProcessInfo.processInfo.environment["ZK_TEST_CONNECT"]

    private init(server: InProcessServer?, hostPort: String, dataDir: String?) {
        self.server = server
        self.hostPort = hostPort
        self.dataDir = dataDir
        self.basePath = "/sr-\(UUID().uuidString.prefix(8).lowercased())/services"
    }

    static func run(_ body: (RegistryTestEnvironment) async throws -> Void) async throws {
        let environment: RegistryTestEnvironment
        if let external {
            environment = RegistryTestEnvironment(server: nil, hostPort: external, dataDir: nil)
        } else {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sr-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let server = InProcessServer(dataDir: dir, tickTime: 50)
            try await server.start()
            environment = RegistryTestEnvironment(server: server, hostPort: "127.0.0.1:\(server.port)", dataDir: dir)
        }
        do {
            try await body(environment)
        } catch {
            await environment.tearDown()
            throw error
        }
        await environment.tearDown()
    }

    var canRestartServer: Bool { server != nil }

    /// A connected client (to `hostPort`, or to the environment's server).
    ///
    /// 10 s sessions by default: a client gives a connection up after two thirds of its session timeout without
    /// an answer, and under CI's load (four servers' suites beside a sanitizer build on two cores) a 4 s session's
    /// connection to an ensemble replica was once given up mid-test (CONNECTIONLOSS). Tests of expiry and
    /// reconnection pass their own, shorter, timeouts.
    func client(sessionTimeout: Duration = .seconds(10), label: String = "client", hostPort: String? = nil) async throws -> ZooKeeperClient {
        var configuration = ZooKeeperClient.Configuration()
        configuration.maxReconnectBackoff = .milliseconds(100)
        let client = try ZooKeeperClient(
            connectString: hostPort ?? self.hostPort, sessionTimeout: sessionTimeout, logger: testLogger(label),
            configuration: configuration)
        clients.withLockedValue { $0.append(client) }
        try await client.connect(timeout: .seconds(5))
        return client
    }

    private func tearDown() async {
        let clients = self.clients.withLockedValue { $0 }
        if server == nil, let cleaner = try? await client(label: "cleaner") {
            let top = String(basePath.dropLast("/services".count))
            await Self.deleteRecursively(top, client: cleaner)
        }
        for client in clients { await client.close() }
        if let server { try? await server.stop() }
        if let dataDir { try? FileManager.default.removeItem(atPath: dataDir) }
    }

    static func deleteRecursively(_ path: String, client: ZooKeeperClient) async {
        if let children = try? await client.getChildren(path) {
            for child in children { await deleteRecursively("\(path)/\(child)", client: client) }
        }
        try? await client.delete(path)
    }
}
