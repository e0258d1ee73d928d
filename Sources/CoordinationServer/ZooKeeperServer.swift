import CoordinationCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ReplicatedLog
import ServiceLifecycle
import ZooKeeperWire

/// `zooreg serve`: a standalone ZooKeeper-compatible server, as a swift-service-lifecycle `Service`.
///
/// On start it recovers the newest valid snapshot plus the log, then listens on clientPort. On graceful
/// shutdown (SIGTERM) it stops accepting, waits until every submitted write is durable, sends what was held,
/// closes the connections and the log.
public final class ZooKeeperServer: Service, Sendable {
    public let configuration: ServerConfiguration
    let logger: Logger
    let metrics: ServerMetrics?
    let sharedLog: (any SharedLog)?
    private let boundPort = NIOLockedValueBox<Int?>(nil)
    private let boundPortWaiters = NIOLockedValueBox<[CheckedContinuation<Int, Never>]>([])

    /// - Parameters:
    ///   - metrics: where request, fsync and gauge metrics go (nil: none).
    ///   - sharedLog: the ensemble's shared log, for a replica (`ensemble.*` keys); nil for a standalone server.
    public init(configuration: ServerConfiguration, logger: Logger, metrics: ServerMetrics? = nil, sharedLog: (any SharedLog)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.sharedLog = sharedLog
    }

    /// The port the server listens on, once bound (useful with clientPort=0).
    public var port: Int? { boundPort.withLockedValue { $0 } }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let logger = self.logger
        let configuration = self.configuration
        let sharedLog = self.sharedLog
        do {
            let (persistence, state, replayed) = try PersistenceContext.recover(configuration: configuration, logger: logger)
            let engine = try await loop.submit {
                NIOLoopBound(
                    ServerEngine(
                        loop: loop, configuration: configuration, persistence: persistence, recovered: state,
                        sharedLog: sharedLog, logger: logger),
                    eventLoop: loop)
            }.get()
            if replayed > 0 {
                try await loop.submit { engine.value.takeSnapshot() }.get()
            }
            let words = Set(FourLetterWord.allCases.map(\.rawValue))
            let maxFrame = configuration.juteMaxBuffer
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
                .childChannelOption(
                    .writeBufferWaterMark,
                    value: .init(low: configuration.clientOutputHighWaterMark / 2, high: configuration.clientOutputHighWaterMark))
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(ZooKeeperServerFrameDecoder(maxFrameLength: maxFrame, knownFourLetterWords: words)))
                        try channel.pipeline.syncOperations.addHandler(ZooKeeperConnectionHandler(engine: engine.value))
                    }
                }
            let server = try await bootstrap.bind(host: configuration.clientPortAddress, port: configuration.clientPort).get()
            let port = server.localAddress?.port ?? configuration.clientPort
            boundPort.withLockedValue { $0 = port }
            logger.info(
                "Serving ZooKeeper clients",
                metadata: ["address": "\(configuration.clientPortAddress)", "port": "\(port)", "dataDir": "\(configuration.dataDir)"])
            let fatal = NIOLockedValueBox<(any Error)?>(nil)
            let metrics = self.metrics
            try await loop.submit {
                engine.value.boundPort = port
                engine.value.metrics = metrics
                engine.value.onFatalError = { error in
                    fatal.withLockedValue { $0 = error }
                    server.close(promise: nil)
                }
            }.get()
            let purgeTask: RepeatedTask? =
                configuration.autopurgePurgeIntervalHours > 0
                ? loop.scheduleRepeatedTask(
                    initialDelay: .hours(Int64(configuration.autopurgePurgeIntervalHours)),
                    delay: .hours(Int64(configuration.autopurgePurgeIntervalHours))
                ) { _ in
                    let retain = configuration.autopurgeSnapRetainCount
                    _ = persistence.threadPool.runIfActive(eventLoop: loop) { persistence.purge(retain: retain) }
                } : nil

            let gaugeTask = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { _ in
                engine.value.updateGauges()
            }

            // An ensemble replica: apply the shared log from the snapshot's position, and keep the leases of its
            // clients' sessions alive.
            var logTask: Task<Void, Never>?
            var leaseTask: RepeatedTask?
            if let sharedLog {
                let sink = EngineLogSink(engine: engine, loop: loop)
                let after = ZxidLayout.revision(ofZxid: state.lastZxid)
                logger.info("Joining the ensemble's shared log", metadata: ["after.revision": "\(after)"])
                logTask = Task {
                    do {
                        try await sharedLog.run(after: after, sink: sink)
                    } catch is CancellationError {
                    } catch {
                        logger.critical("The shared log failed; stopping", metadata: ["error": "\(error)"])
                        fatal.withLockedValue { $0 = error }
                        server.close(promise: nil)
                    }
                }
                let since = NIOLoopBoundBox.makeBoxSendingValue(ServerClock.monotonicNanos(), as: Int64.self, eventLoop: loop)
                leaseTask = loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(200)) { _ in
                    let cutoff = since.value
                    since.value = ServerClock.monotonicNanos()
                    let sessions = engine.value.sessionsHeardFrom(sinceNanos: cutoff)
                    if !sessions.isEmpty { sharedLog.heardFrom(sessions: sessions) }
                }
            }

            try await withGracefulShutdownHandler {
                try await server.closeFuture.get()
            } onGracefulShutdown: {
                logger.info("Shutting down")
                server.close(promise: nil)
            }
            purgeTask?.cancel()
            gaugeTask.cancel()
            leaseTask?.cancel()
            logTask?.cancel()
            await logTask?.value
            try await loop.submit { engine.value.beginShutdown() }.get()
            await persistence.log.shutdown()  // every durable completion is queued on the loop before this returns
            try await loop.submit { engine.value.closeAllConnections() }.get()
            try await persistence.threadPool.shutdownGracefully()
            try await group.shutdownGracefully()
            logger.info("Stopped")
            if let error = fatal.withLockedValue({ $0 }) { throw error }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }
}

/// Hands the shared log's deliveries to the engine, on its event loop.
struct EngineLogSink: SharedLogSink {
    let engine: NIOLoopBound<ServerEngine>
    let loop: EventLoop

    func deliver(_ deliveries: [LogDelivery]) {
        let engine = self.engine
        loop.execute { engine.value.delivered(deliveries) }
    }

    func availabilityChanged(_ available: Bool) {
        let engine = self.engine
        loop.execute { engine.value.logAvailabilityChanged(available) }
    }
}
