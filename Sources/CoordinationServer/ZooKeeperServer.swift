import CoordinationCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
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
    private let boundSecurePort = NIOLockedValueBox<Int?>(nil)
    private let boundPortWaiters = NIOLockedValueBox<[CheckedContinuation<Int, Never>]>([])
    /// The running engine and its loop, for the AdminServer commands (nil before start and once shutting down).
    let runningEngine = NIOLockedValueBox<RunningEngine?>(nil)
    /// ZooKeeper's trace mask (gtmk, set_trace_mask); 306 is ZooKeeper's default.
    let traceMask = NIOLockedValueBox<Int64>(306)

    struct RunningEngine: Sendable {
        let loop: any EventLoop
        let engine: NIOLoopBound<ServerEngine>
    }

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

    /// Waits until the client port (or, TLS only, the secure port) is bound and returns it.
    public func boundClientPort() async throws -> Int {
        while true {
            if let port = port ?? securePort { return port }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The TLS port (`secureClientPort`), once bound; nil without TLS.
    public var securePort: Int? { boundSecurePort.withLockedValue { $0 } }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let logger = self.logger
        let configuration = self.configuration
        let sharedLog = self.sharedLog
        do {
            // TLS files first: a bad key store stops the server before it touches the data.
            let tlsReloader = configuration.tls.isEnabled
                ? try TLSContextReloader(settings: configuration.tls, logger: logger) : nil
            // So does an unusable JAAS file (SASL).
            let saslUsers = try configuration.sasl.loadUsers()
            if let saslUsers, let file = configuration.sasl.jaasLoginConfig {
                logger.info(
                    "SASL DIGEST-MD5 authentication enabled",
                    metadata: ["jaas.file": "\(file)", "jaas.section": "\(configuration.sasl.loginSection)", "users": "\(saslUsers.passwords.count)"])
            }
            let (persistence, state, replayed) = try PersistenceContext.recover(configuration: configuration, logger: logger)
            let engine = try await loop.submit {
                NIOLoopBound(
                    ServerEngine(
                        loop: loop, configuration: configuration, persistence: persistence, recovered: state,
                        sharedLog: sharedLog, saslUsers: saslUsers, logger: logger),
                    eventLoop: loop)
            }.get()
            try await loop.submit { engine.value.start() }.get()
            if replayed > 0 {
                try await loop.submit { engine.value.takeSnapshot() }.get()
            }
            let words = Set(FourLetterWord.allCases.map(\.rawValue))
            let maxFrame = configuration.juteMaxBuffer
            func bootstrap(tls: TLSConnectionIdentity?) -> ServerBootstrap {
                ServerBootstrap(group: group)
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
                            if tls != nil, let tlsReloader {
                                // The context of the moment: a reload applies to the connections that come after it.
                                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsReloader.current))
                            }
                            try channel.pipeline.syncOperations.addHandler(
                                ByteToMessageHandler(ZooKeeperServerFrameDecoder(maxFrameLength: maxFrame, knownFourLetterWords: words)))
                            try channel.pipeline.syncOperations.addHandler(ZooKeeperConnectionHandler(engine: engine.value, tls: tls))
                        }
                    }
            }
            var listeners: [Channel] = []
            if configuration.plaintextClientPortEnabled {
                let plain = try await bootstrap(tls: nil)
                    .bind(host: configuration.clientPortAddress, port: configuration.clientPort).get()
                listeners.append(plain)
                let port = plain.localAddress?.port ?? configuration.clientPort
                boundPort.withLockedValue { $0 = port }
                logger.info(
                    "Serving ZooKeeper clients",
                    metadata: ["address": "\(configuration.clientPortAddress)", "port": "\(port)", "dataDir": "\(configuration.dataDir)"])
            }
            var repeatedTLSCheck: RepeatedTask?
            if let tlsReloader, let securePort = configuration.tls.secureClientPort {
                let address = configuration.tls.secureClientPortAddress ?? configuration.clientPortAddress
                let identity = TLSConnectionIdentity(
                    clientAuth: configuration.tls.clientAuth, superUser: configuration.tls.x509SuperUser)
                let secure: Channel
                do {
                    secure = try await bootstrap(tls: identity).bind(host: address, port: securePort).get()
                } catch {
                    for listener in listeners { try? await listener.close() }
                    throw error
                }
                listeners.append(secure)
                let port = secure.localAddress?.port ?? securePort
                boundSecurePort.withLockedValue { $0 = port }
                logger.info(
                    "Serving ZooKeeper clients over TLS",
                    metadata: [
                        "address": "\(address)", "port": "\(port)", "clientAuth": "\(configuration.tls.clientAuth.rawValue)",
                        "certReload": "\(configuration.tls.certReload)",
                    ])
                if configuration.tls.certReload {
                    let interval = TimeAmount.milliseconds(Int64(configuration.tls.certReloadIntervalMs))
                    repeatedTLSCheck = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                        tlsReloader.check()
                    }
                }
            }
            guard !listeners.isEmpty else {
                throw TLSSetupError(key: "clientPort", "no client port: set clientPort, secureClientPort or both")
            }
            let port = boundPort.withLockedValue { $0 } ?? boundSecurePort.withLockedValue { $0 } ?? configuration.clientPort
            // Any listener closing (graceful shutdown, a fatal error) closes them all.
            let server = ListenerSet(listeners)
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

            runningEngine.withLockedValue { $0 = RunningEngine(loop: loop, engine: engine) }
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
            runningEngine.withLockedValue { $0 = nil }
            purgeTask?.cancel()
            repeatedTLSCheck?.cancel()
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
            runningEngine.withLockedValue { $0 = nil }
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

/// The listening channels (clientPort, secureClientPort) as one: closing it closes each, and it is closed once
/// any of them is.
struct ListenerSet: Sendable {
    let channels: [Channel]
    let closeFuture: EventLoopFuture<Void>

    init(_ channels: [Channel]) {
        self.channels = channels
        for channel in channels {
            channel.closeFuture.whenComplete { _ in
                for other in channels { other.close(promise: nil) }
            }
        }
        self.closeFuture = EventLoopFuture.andAllComplete(channels.map(\.closeFuture), on: channels[0].eventLoop)
    }

    func close(promise: EventLoopPromise<Void>?) {
        for channel in channels { channel.close(promise: nil) }
        closeFuture.cascade(to: promise)
    }
}
