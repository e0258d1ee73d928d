import CoordinationServer
import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
import TestKit
import ZooKeeperClient

// Where the recipe end-to-end tests run: the in-process server of TestKit, or an external server given by
// ZK_TEST_CONNECT (Tests/Interop/test_swift_library.py runs them against the zooreg binary and Apache ZooKeeper).
// Every test works under its own base path, deleted at the end.

final class RecipeTestEnvironment: Sendable {
    let server: InProcessServer?
    let hostPort: String
    /// This test's own subtree, e.g. `/recipes-1a2b3c4d`.
    let basePath: String
    private let dataDir: String?
    private let clients = NIOLockedValueBox<[ZooKeeperClient]>([])

    static let external = ProcessInfo.processInfo.environment["ZK_TEST_CONNECT"]

    private init(server: InProcessServer?, hostPort: String, dataDir: String?) {
        self.server = server
        self.hostPort = hostPort
        self.dataDir = dataDir
        self.basePath = "/recipes-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func run(_ body: (RecipeTestEnvironment) async throws -> Void) async throws {
        let environment: RecipeTestEnvironment
        if let external {
            environment = RecipeTestEnvironment(server: nil, hostPort: external, dataDir: nil)
        } else {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let server = InProcessServer(dataDir: dir, tickTime: 50)
            try await server.start()
            environment = RecipeTestEnvironment(server: server, hostPort: "127.0.0.1:\(server.port)", dataDir: dir)
        }
        do {
            try await body(environment)
        } catch {
            await environment.tearDown()
            throw error
        }
        await environment.tearDown()
    }

    /// A connected client of the environment's server.
    ///
    /// 10 s sessions by default: a client gives a connection up after two thirds of its session timeout without
    /// an answer, and under CI's load (four servers' suites beside a sanitizer build on two cores) a 4 s session's
    /// connection to an ensemble replica was once given up mid-test (CONNECTIONLOSS). Tests of expiry and
    /// reconnection pass their own, shorter, timeouts.
    func client(sessionTimeout: Duration = .seconds(10), label: String = "client") async throws -> ZooKeeperClient {
        var configuration = ZooKeeperClient.Configuration()
        configuration.maxReconnectBackoff = .milliseconds(100)
        let client = try ZooKeeperClient(
            connectString: hostPort, sessionTimeout: sessionTimeout, logger: recipeTestLogger(label),
            configuration: configuration)
        clients.withLockedValue { $0.append(client) }
        try await client.connect(timeout: .seconds(5))
        return client
    }

    private func tearDown() async {
        let clients = self.clients.withLockedValue { $0 }
        if let cleaner = try? await client(label: "cleaner") {
            await Self.deleteRecursively(basePath, client: cleaner)
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

func recipeTestLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["RECIPES_TEST_LOG"] != nil ? .debug : .critical
    return logger
}
