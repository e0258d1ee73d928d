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
import Testing
import ZooKeeperClient

// End-to-end fixtures: an in-process `zooreg` server (or an external ZooKeeper given by ZK_TEST_CONNECT), a TCP
// proxy that can cut a client off, and bounded waits.

struct TestTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `TestTimeout` after `seconds`.
func withTimeout<T: Sendable>(
    _ seconds: Double = 5, _ what: String = "an operation", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TestTimeout(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
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

/// Collects what an async sequence yields, from a background task.
final class Recorder<Element: Sendable>: Sendable {
    private let box = NIOLockedValueBox<(items: [Element], finished: Bool, error: (any Error)?)>(([], false, nil))
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)

    init<S: AsyncSequence & Sendable>(_ sequence: S) where S.Element == Element {
        let box = self.box
        task.withLockedValue {
            $0 = Task {
                do {
                    for try await item in sequence { box.withLockedValue { $0.items.append(item) } }
                    box.withLockedValue { $0.finished = true }
                } catch {
                    box.withLockedValue {
                        $0.finished = true
                        $0.error = error
                    }
                }
            }
        }
    }

    var items: [Element] { box.withLockedValue { $0.items } }
    var finished: Bool { box.withLockedValue { $0.finished } }
    var error: (any Error)? { box.withLockedValue { $0.error } }

    func waitFor(count: Int, _ seconds: Double = 5) async throws {
        try await eventually(seconds, "\(count) items (have \(items))") { items.count >= count }
    }

    func waitUntilFinished(_ seconds: Double = 5) async throws {
        try await eventually(seconds, "the end of the sequence") { finished }
    }

    func cancel() { task.withLockedValue { $0?.cancel() } }
}

extension Recorder where Element: Equatable {
    func waitFor(_ item: Element, _ seconds: Double = 5) async throws {
        try await eventually(seconds, "\(item) (have \(items))") { items.contains(item) }
    }
}

/// A `zooreg` server run in-process by a ServiceGroup, on a free port of 127.0.0.1 and a temporary data dir.
final class InProcessServer: Sendable {
    let configuration: ServerConfiguration
    private let state = NIOLockedValueBox<(group: ServiceGroup?, task: Task<Void, any Error>?, port: Int)>((nil, nil, 0))

    static let logger = testLogger("zooreg")

    init(dataDir: String, tickTime: Int = 100) {
        var configuration = ServerConfiguration(dataDir: dataDir)
        configuration.clientPort = 0
        configuration.clientPortAddress = "127.0.0.1"
        configuration.tickTime = tickTime
        configuration.maxSessionTimeout = 20_000
        configuration.metricsHTTPPort = 0
        configuration.extendedTypesEnabled = true
        configuration.forceSync = false
        self.configuration = configuration
    }

    var port: Int { state.withLockedValue { $0.port } }

    /// Starts the server (on the port it had before, after a stop) and waits until it listens.
    func start() async throws {
        var configuration = self.configuration
        let previousPort = port
        if previousPort != 0 { configuration.clientPort = previousPort }
        let server = ZooKeeperServer(configuration: configuration, logger: Self.logger)
        let group = ServiceGroup(configuration: .init(services: [server], logger: Self.logger))
        let task = Task { try await group.run() }
        state.withLockedValue {
            $0.group = group
            $0.task = task
        }
        try await eventually(10, "the server to listen") { server.port != nil }
        let bound = server.port!
        state.withLockedValue { $0.port = bound }
    }

    /// Stops the server gracefully and waits for it.
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

/// A TCP proxy in front of the server that can cut every connection and refuse new ones, to separate a client
/// from a server that keeps running (for session expiry).
final class TCPProxy: Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let upstreamPort: Int
    private let state = NIOLockedValueBox<(blocked: Bool, channels: [any Channel], listener: (any Channel)?)>(
        (false, [], nil))

    init(upstreamPort: Int) {
        self.upstreamPort = upstreamPort
    }

    var port: Int { state.withLockedValue { $0.listener?.localAddress?.port ?? 0 } }

    func start() async throws {
        let upstreamPort = self.upstreamPort
        let state = self.state
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                if state.withLockedValue({ $0.blocked }) {
                    return child.eventLoop.makeFailedFuture(TestTimeout(what: "proxy blocked"))
                }
                return ClientBootstrap(group: child.eventLoop)
                    .connect(host: "127.0.0.1", port: upstreamPort)
                    .flatMapThrowing { upstream in
                        try child.pipeline.syncOperations.addHandler(ForwardHandler(peer: upstream))
                        try upstream.pipeline.syncOperations.addHandler(ForwardHandler(peer: child))
                        state.withLockedValue { $0.channels += [child, upstream] }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        state.withLockedValue { $0.listener = listener }
    }

    /// Cuts every connection and refuses new ones until `unblock()`.
    func block() {
        let channels = state.withLockedValue { state in
            state.blocked = true
            defer { state.channels = [] }
            return state.channels
        }
        for channel in channels { channel.close(promise: nil) }
    }

    func unblock() {
        state.withLockedValue { $0.blocked = false }
    }

    func stop() async throws {
        block()
        try await state.withLockedValue { $0.listener }?.close()
        try await group.shutdownGracefully()
    }

    private final class ForwardHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let peer: any Channel
        init(peer: any Channel) { self.peer = peer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
