import CoordinationServer
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Testing
import ZooKeeperClient

// End-to-end fixtures: an in-process `zooreg` server on a free loopback port (or an external server given by
// ZK_TEST_CONNECT, e.g. a ZooKeeper 3.6+ started with extended types), bounded waits.

struct TestTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` every few milliseconds for at most `seconds`.
func eventually(
    _ seconds: Double = 5, _ what: String, _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    throw TestTimeout(what: what)
}

func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    let level = ProcessInfo.processInfo.environment["ZK_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) }
    logger.logLevel = level ?? .critical
    return logger
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// A `zooreg` server run in-process by a ServiceGroup, restartable on the same port and data dir.
final class InProcessServer: Sendable {
    let configuration: ServerConfiguration
    private let state = NIOLockedValueBox<(group: ServiceGroup?, task: Task<Void, any Error>?, port: Int)>((nil, nil, 0))

    init(dataDir: String, tickTime: Int = 50) {
        var configuration = ServerConfiguration(dataDir: dataDir)
        configuration.clientPort = 0
        configuration.clientPortAddress = "127.0.0.1"
        configuration.tickTime = tickTime
        configuration.maxSessionTimeout = 20_000
        configuration.metricsHTTPPort = 0
        configuration.forceSync = false
        self.configuration = configuration
    }

    var port: Int { state.withLockedValue { $0.port } }

    func start() async throws {
        var configuration = self.configuration
        let previousPort = port
        if previousPort != 0 { configuration.clientPort = previousPort }
        let logger = testLogger("zooreg")
        let server = ZooKeeperServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        let task = Task { try await group.run() }
        state.withLockedValue {
            $0.group = group
            $0.task = task
        }
        try await eventually(10, "the server to listen") { server.port != nil }
        let bound = server.port!
        state.withLockedValue { $0.port = bound }
    }

    func stop() async throws {
        let (group, task) = state.withLockedValue { ($0.group, $0.task) }
        await group?.triggerGracefulShutdown()
        try await task?.value
        state.withLockedValue {
            $0.group = nil
            $0.task = nil
        }
    }
}

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
            let server = InProcessServer(dataDir: dir)
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

    /// A connected client.
    func client(sessionTimeout: Duration = .seconds(4), label: String = "client") async throws -> ZooKeeperClient {
        var configuration = ZooKeeperClient.Configuration()
        configuration.maxReconnectBackoff = .milliseconds(100)
        let client = try ZooKeeperClient(
            connectString: hostPort, sessionTimeout: sessionTimeout, logger: testLogger(label),
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
