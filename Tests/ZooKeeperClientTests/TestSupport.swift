import CoordinationServer
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import TestKit
import Testing
import ZooKeeperClient

// Where the end-to-end tests run: the in-process server of TestKit, or an external ZooKeeper (ZK_TEST_CONNECT).

/// Where the end-to-end tests run: an in-process server, or an external ZooKeeper (ZK_TEST_CONNECT, e.g.
/// `127.0.0.1:21890`, started with tickTime=100, maxSessionTimeout=20000 and extended types enabled).
/// Every test works under its own base node, which it uses as chroot.
final class TestEnvironment: Sendable {
    let server: InProcessServer?
    let hostPort: String
    let base: String
    private let dataDir: String?
    private let clients = NIOLockedValueBox<[ZooKeeperClient]>([])

    static let external = ProcessInfo.processInfo.environment["ZK_TEST_CONNECT"]
    static var isInProcess: Bool { external == nil }
    /// For an external server: shell commands that stop it and start it again on the same port and data dir
    /// (ZK_TEST_STOP_CMD, ZK_TEST_START_CMD; the start command returns once the server answers).
    static let externalStop = ProcessInfo.processInfo.environment["ZK_TEST_STOP_CMD"]
    static let externalStart = ProcessInfo.processInfo.environment["ZK_TEST_START_CMD"]
    static var canRestartServer: Bool { isInProcess || (externalStop != nil && externalStart != nil) }

    func stopServer() async throws {
        if let server { try await server.stop() } else { try Self.shell(Self.externalStop!) }
    }

    func startServer() async throws {
        if let server { try await server.start() } else { try Self.shell(Self.externalStart!) }
    }

    private static func shell(_ command: String) throws {
        // system(), not Foundation's Process: Process waits for an inherited descriptor that the server started
        // in the background keeps open.
        let status = system(command)
        guard status == 0 else { throw TestTimeout(what: "'\(command)' (status \(status))") }
    }

    private init(server: InProcessServer?, hostPort: String, dataDir: String?) {
        self.server = server
        self.hostPort = hostPort
        self.dataDir = dataDir
        self.base = "/zkc-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func run(_ body: (TestEnvironment) async throws -> Void) async throws {
        let environment: TestEnvironment
        if let external {
            environment = TestEnvironment(server: nil, hostPort: external, dataDir: nil)
        } else {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zkc-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let server = InProcessServer(dataDir: dir)
            try await server.start()
            environment = TestEnvironment(server: server, hostPort: "127.0.0.1:\(server.port)", dataDir: dir)
        }
        do {
            let root = try environment.client(chroot: false)
            try await root.connect(timeout: .seconds(5))
            try await root.create(environment.base)
            try await body(environment)
        } catch {
            await environment.tearDown()
            throw error
        }
        await environment.tearDown()
    }

    /// A client of this environment (closed at the end of the test), chrooted at the base node by default.
    func client(
        chroot: Bool = true, hostPort: String? = nil, sessionTimeout: Duration = .seconds(5), label: String = "client"
    ) throws -> ZooKeeperClient {
        let connect = (hostPort ?? self.hostPort) + (chroot ? base : "")
        let client = try ZooKeeperClient(
            connectString: connect, sessionTimeout: sessionTimeout, logger: testLogger(label))
        clients.withLockedValue { $0.append(client) }
        return client
    }

    /// A connected client.
    func connectedClient(
        chroot: Bool = true, hostPort: String? = nil, sessionTimeout: Duration = .seconds(5), label: String = "client"
    ) async throws -> ZooKeeperClient {
        let client = try self.client(chroot: chroot, hostPort: hostPort, sessionTimeout: sessionTimeout, label: label)
        try await client.connect(timeout: .seconds(5))
        return client
    }

    private func tearDown() async {
        let clients = self.clients.withLockedValue { $0 }
        if server == nil, let cleaner = try? self.client(chroot: false) {
            // External server: remove what the test left under its base node.
            if (try? await cleaner.connect(timeout: .seconds(5))) != nil {
                await Self.deleteRecursively(base, client: cleaner)
            }
        }
        for client in clients { await client.close() }
        if let server { try? await server.stop() }
        if let dataDir { try? FileManager.default.removeItem(atPath: dataDir) }
    }

    static func deleteRecursively(_ path: String, client: ZooKeeperClient) async {
        if let children = try? await client.getChildren(path) {
            for child in children { await deleteRecursively(path == "/" ? "/\(child)" : "\(path)/\(child)", client: client) }
        }
        try? await client.delete(path)
    }
}

