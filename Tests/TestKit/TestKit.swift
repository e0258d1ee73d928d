import CoordinationServer
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

// Fixtures shared by the end-to-end suites (client, registry): an in-process `zooreg` server on a free loopback
// port and a temporary data dir, a TCP proxy that can cut a client off, bounded waits and a recorder for async
// sequences.

public struct TestTimeout: Error, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `TestTimeout` after `seconds`.
public func withTimeout<T: Sendable>(
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
public func eventually(
    _ seconds: Double = 5, _ what: String, _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    throw TestTimeout(what: what)
}

public func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    let level = ProcessInfo.processInfo.environment["ZK_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) }
    logger.logLevel = level ?? .critical
    return logger
}

/// Collects what an async sequence yields, from a background task.
public final class Recorder<Element: Sendable>: Sendable {
    private let box = NIOLockedValueBox<(items: [Element], finished: Bool, error: (any Error)?)>(([], false, nil))
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)

    public init<S: AsyncSequence & Sendable>(_ sequence: S) where S.Element == Element {
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

    public var items: [Element] { box.withLockedValue { $0.items } }
    public var finished: Bool { box.withLockedValue { $0.finished } }
    public var error: (any Error)? { box.withLockedValue { $0.error } }

    public func waitFor(count: Int, _ seconds: Double = 5) async throws {
        try await eventually(seconds, "\(count) items (have \(items))") { items.count >= count }
    }

    public func waitUntilFinished(_ seconds: Double = 5) async throws {
        try await eventually(seconds, "the end of the sequence") { finished }
    }

    public func cancel() { task.withLockedValue { $0?.cancel() } }
}

extension Recorder where Element: Equatable {
    public func waitFor(_ item: Element, _ seconds: Double = 5) async throws {
        try await eventually(seconds, "\(item) (have \(items))") { items.contains(item) }
    }
}

extension Duration {
    /// This duration in milliseconds.
    public var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// A `zooreg` server run in-process by a ServiceGroup, on a free port of 127.0.0.1 and a temporary data dir.
public final class InProcessServer: Sendable {
    public let configuration: ServerConfiguration
    private let state = NIOLockedValueBox<(group: ServiceGroup?, task: Task<Void, any Error>?, port: Int)>((nil, nil, 0))

    public static let logger = testLogger("zooreg")

    /// - Parameters:
    ///   - tickTime: ms; sessions may ask for 2 to 20 ticks (maxSessionTimeout is fixed at 20 s).
    ///   - extendedTypes: TTL nodes allowed (ZooKeeper's `extendedTypesEnabled`).
    public init(dataDir: String, tickTime: Int = 100, extendedTypes: Bool = true) {
        var configuration = ServerConfiguration(dataDir: dataDir)
        configuration.clientPort = 0
        configuration.clientPortAddress = "127.0.0.1"
        configuration.tickTime = tickTime
        configuration.maxSessionTimeout = 20_000
        configuration.metricsHTTPPort = 0
        configuration.extendedTypesEnabled = extendedTypes
        configuration.forceSync = false
        self.configuration = configuration
    }

    public var port: Int { state.withLockedValue { $0.port } }

    /// Starts the server (on the port it had before, after a stop) and waits until it listens.
    public func start() async throws {
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
    public func stop() async throws {
        let (group, task) = state.withLockedValue { ($0.group, $0.task) }
        await group?.triggerGracefulShutdown()
        try await task?.value
        state.withLockedValue {
            $0.group = nil
            $0.task = nil
        }
    }
}

/// A TCP proxy in front of the server that can cut every connection and refuse new ones, to separate a client
/// from a server that keeps running (for session expiry).
public final class TCPProxy: Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let upstreamPort: Int
    private let state = NIOLockedValueBox<(blocked: Bool, channels: [any Channel], listener: (any Channel)?)>(
        (false, [], nil))
    /// Creates still to let through to the server before cutting their connection (see `loseNextCreateReply`).
    private let createCuts = NIOLockedValueBox<(armed: Int, done: Int)>((0, 0))

    public init(upstreamPort: Int) {
        self.upstreamPort = upstreamPort
    }

    public var port: Int { state.withLockedValue { $0.listener?.localAddress?.port ?? 0 } }

    public func start() async throws {
        let upstreamPort = self.upstreamPort
        let state = self.state
        let createCuts = self.createCuts
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                if state.withLockedValue({ $0.blocked }) {
                    return child.eventLoop.makeFailedFuture(TestTimeout(what: "proxy blocked"))
                }
                return ClientBootstrap(group: child.eventLoop)
                    .connect(host: "127.0.0.1", port: upstreamPort)
                    .flatMapThrowing { upstream in
                        try child.pipeline.syncOperations.addHandler(RequestForwardHandler(peer: upstream, cuts: createCuts))
                        try upstream.pipeline.syncOperations.addHandler(ForwardHandler(peer: child))
                        state.withLockedValue { $0.channels += [child, upstream] }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        state.withLockedValue { $0.listener = listener }
    }

    /// Cuts every connection and refuses new ones until `unblock()`.
    public func block() {
        let channels = state.withLockedValue { state in
            state.blocked = true
            defer { state.channels = [] }
            return state.channels
        }
        for channel in channels { channel.close(promise: nil) }
    }

    public func unblock() {
        state.withLockedValue { $0.blocked = false }
    }

    /// The next create request (create, create2, createContainer or createTTL) that passes reaches the server,
    /// and then its connection is cut before any reply comes back: the server does the create, the client sees
    /// only a lost connection. Later connections pass as usual.
    public func loseNextCreateReply() {
        createCuts.withLockedValue { $0.armed += 1 }
    }

    /// How many connections `loseNextCreateReply` has cut.
    public var createRepliesLost: Int { createCuts.withLockedValue { $0.done } }

    public func stop() async throws {
        block()
        try await state.withLockedValue { $0.listener }?.close()
        try await group.shutdownGracefully()
    }

    /// Client → server: forwards whole frames (4-byte length, then the body), watching for create requests.
    private final class RequestForwardHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let peer: any Channel
        let cuts: NIOLockedValueBox<(armed: Int, done: Int)>
        var pending = ByteBuffer()
        var framesSeen = 0
        var cut = false
        init(peer: any Channel, cuts: NIOLockedValueBox<(armed: Int, done: Int)>) {
            self.peer = peer
            self.cuts = cuts
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !cut else { return }
            var bytes = unwrapInboundIn(data)
            pending.writeBuffer(&bytes)
            while let length = pending.getInteger(at: pending.readerIndex, as: Int32.self),
                pending.readableBytes >= 4 + Int(length), length >= 0
            {
                let frame = pending.readSlice(length: 4 + Int(length))!
                framesSeen += 1
                // The first frame is the handshake; a request's body starts with its xid, then its type.
                let type = framesSeen > 1 ? frame.getInteger(at: frame.readerIndex + 8, as: Int32.self) : nil
                let isCreate = type.map { [1, 15, 19, 21].contains($0) } ?? false
                if isCreate && cuts.withLockedValue({ c in
                    guard c.armed > 0 else { return false }
                    c.armed -= 1
                    c.done += 1
                    return true
                }) {
                    cut = true
                    let channel = context.channel
                    let peer = self.peer
                    peer.writeAndFlush(frame).whenComplete { _ in
                        // Give the server the request, then drop both sides before its reply can pass.
                        channel.close(promise: nil)
                        peer.close(promise: nil)
                    }
                    return
                }
                peer.writeAndFlush(frame, promise: nil)
            }
            pending.discardReadBytes()
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
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
