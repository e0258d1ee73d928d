#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import ZooKeeperWire

/// An async/await ZooKeeper client over SwiftNIO: one session, kept across connections to any of the listed
/// servers, with pipelined requests, one-shot and persistent watches, and connection states as an
/// `AsyncSequence`.
///
/// ```swift
/// let client = try ZooKeeperClient(connectString: "127.0.0.1:2181/app", logger: logger)
/// try await client.connect()
/// try await client.create("/config", data: Data("v1".utf8))
/// let (data, stat, watch) = try await client.getDataAndWatch("/config")
/// let event = try await watch.event()
/// await client.close()
/// ```
///
/// It is a swift-service-lifecycle `Service`: `run()` connects, keeps the session until graceful shutdown (or
/// cancellation), then closes it (closeSession). Outside a ServiceGroup, call `connect()` and `close()`.
///
/// Behaviour follows ZooKeeper's Java client: see `ConnectionState` for what the states mean, and
/// `ZooKeeperError` for the errors. Operations are not cancellable once submitted (ZooKeeper has no way to
/// cancel a request); they complete, or fail with `connectionLoss` if the connection drops. Paths are relative
/// to the chroot of the connect string. Watch callbacks run on the client's event loop and must not block.
public final class ZooKeeperClient: Service, Sendable {
    /// Tuning beyond the connect string and the session timeout.
    public struct Configuration: Sendable {
        /// Accept a read-only server (ConnectRequest.readOnly); the state is then `.readOnly`. Default false.
        public var canBeReadOnly: Bool = false
        /// The wait after the first full round of failed connection attempts over all servers; doubled each
        /// round (with jitter), up to `maxReconnectBackoff`. After losing a live connection the first attempt
        /// is immediate. Default 10 ms.
        public var initialReconnectBackoff: Duration = .milliseconds(10)
        /// Default 1 s (ZooKeeper's Java client waits up to 1 s between attempts).
        public var maxReconnectBackoff: Duration = .seconds(1)
        /// How long `close()` waits for the server to answer closeSession; nil (default) means two thirds of
        /// the negotiated session timeout.
        public var closeTimeout: Duration?
        /// TLS for every connection (a server's `secureClientPort`); nil (default) is plaintext. A client with
        /// TLS never sends anything, credentials included, over a connection whose handshake did not succeed.
        public var tls: ZooKeeperClientTLS?

        public init() {}
    }

    /// The servers and chroot.
    public let connectString: ConnectString
    /// The session timeout asked for; the server clamps it (see `negotiatedSessionTimeout`).
    public let sessionTimeout: Duration
    let logger: Logger
    private let loop: any EventLoop
    private let core: NIOLoopBoundBox<ClientCore>
    private let observers: NIOLockedValueBox<StateObservers>
    private let counters = NIOLockedValueBox<UInt64>(0)

    /// - Parameters:
    ///   - connectString: `host:port,host:port[/chroot]`.
    ///   - sessionTimeout: the timeout asked for (ZooKeeper clamps it to [2, 20] × its tickTime).
    ///   - logger: the client logs with it; the library never bootstraps logging.
    ///   - eventLoopGroup: where the connection lives; default `MultiThreadedEventLoopGroup.singleton`.
    /// - Throws: `ZooKeeperError` with code `badArguments` for an invalid connect string.
    public convenience init(
        connectString: String, sessionTimeout: Duration = .seconds(10), logger: Logger,
        eventLoopGroup: (any EventLoopGroup)? = nil, configuration: Configuration = Configuration()
    ) throws {
        self.init(
            connectString: try ConnectString(parsing: connectString), sessionTimeout: sessionTimeout, logger: logger,
            eventLoopGroup: eventLoopGroup, configuration: configuration)
    }

    public init(
        connectString: ConnectString, sessionTimeout: Duration = .seconds(10), logger: Logger,
        eventLoopGroup: (any EventLoopGroup)? = nil, configuration: Configuration = Configuration()
    ) {
        self.connectString = connectString
        self.sessionTimeout = sessionTimeout
        self.logger = logger
        let loop = (eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton).next()
        self.loop = loop
        var machineConfiguration = ConnectionStateMachine.Configuration(
            servers: connectString.servers, chroot: connectString.chroot, sessionTimeout: TimeAmount(sessionTimeout),
            randomSeed: UInt64.random(in: .min ... .max))
        machineConfiguration.canBeReadOnly = configuration.canBeReadOnly
        machineConfiguration.initialBackoff = TimeAmount(configuration.initialReconnectBackoff)
        machineConfiguration.maxBackoff = TimeAmount(configuration.maxReconnectBackoff)
        machineConfiguration.closeTimeout = configuration.closeTimeout.map { TimeAmount($0) }
        let observers = NIOLockedValueBox(StateObservers())
        self.observers = observers
        self.core = NIOLoopBoundBox.makeBoxSendingValue(
            ClientCore(
                loop: loop, configuration: machineConfiguration, logger: logger, observers: observers,
                tls: configuration.tls),
            eventLoop: loop)
    }

    deinit {
        // A client dropped without close(): close its session rather than keep pinging forever.
        guard observers.withLockedValue({ $0.current }) != .closed else { return }
        let core = self.core
        loop.execute { core.value.close(continuation: nil) }
    }

    // MARK: Lifecycle

    /// Starts connecting if needed and waits until a session is established.
    ///
    /// - Parameter timeout: give up after this long with `operationTimeout` (the client keeps trying in the
    ///   background); nil waits until connected, closed or cancelled.
    /// - Throws: `sessionExpired` if the session is expired (see `reconnectWithNewSession()`), the closed
    ///   error if the client is closed, `CancellationError` if the task is cancelled.
    public func connect(timeout: Duration? = nil) async throws {
        let core = self.core
        let loop = self.loop
        let id = nextCounter()
        let timer: Scheduled<Void>? = timeout.map { timeout in
            loop.scheduleTask(in: TimeAmount(timeout)) {
                core.value.cancelSessionWaiter(
                    id: id,
                    error: ZooKeeperError(code: .operationTimeout, message: "no ZooKeeper session within \(timeout)"))
            }
        }
        defer { timer?.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                loop.execute { core.value.waitForSession(id: id, continuation: continuation) }
            }
        } onCancel: {
            loop.execute { core.value.cancelSessionWaiter(id: id, error: CancellationError()) }
        }
    }

    /// After the session expired: starts a new session (new id, no watches; auth data added with `addAuth`
    /// is sent again) and waits for it like `connect(timeout:)`. In any other state it only waits for the
    /// current session.
    public func reconnectWithNewSession(timeout: Duration? = nil) async throws {
        let core = self.core
        loop.execute { core.value.startNewSession() }
        try await connect(timeout: timeout)
    }

    /// Waits for a usable session: the current one, or a new one when it has expired (also when it expires while
    /// waiting). For long-lived users such as the registrar and the resolver, which re-create their state on a new
    /// session.
    public func ensureSession(timeout: Duration? = nil) async throws {
        if currentState == .expired {
            try await reconnectWithNewSession(timeout: timeout)
            return
        }
        do {
            try await connect(timeout: timeout)
        } catch let error as ZooKeeperError where error.code == .sessionExpired && currentState == .expired {
            try await reconnectWithNewSession(timeout: timeout)
        }
    }

    /// Closes the session: sends closeSession and waits for the reply (or the close timeout), then closes
    /// the connection. Requests in flight complete first (the server answers them before closeSession);
    /// later ones fail. Ephemeral nodes of the session are deleted by the server. Idempotent.
    public func close() async {
        let core = self.core
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute { core.value.close(continuation: continuation) }
        }
    }

    /// `Service.run()`: connects, then keeps the session until graceful shutdown or cancellation, and closes
    /// it. It does not end when the session expires (the owner decides: `reconnectWithNewSession()`), only when
    /// the client is closed.
    public func run() async throws {
        let core = self.core
        let loop = self.loop
        loop.execute { core.value.start() }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    loop.execute { core.value.waitUntilClosed(continuation) }
                }
            } onCancel: {
                loop.execute { core.value.close(continuation: nil) }
            }
        } onGracefulShutdown: {
            loop.execute { core.value.close(continuation: nil) }
        }
    }

    // MARK: State

    /// The connection states from now on (each access makes a new stream; several consumers are fine):
    /// connected, suspended, reconnected, expired, closed. The stream finishes after `.closed`.
    public var states: AsyncStream<ConnectionState> {
        let (stream, continuation) = AsyncStream<ConnectionState>.makeStream()
        let id: UInt64? = observers.withLockedValue { observers in
            guard observers.current != .closed else { return nil }
            observers.nextID += 1
            observers.continuations[observers.nextID] = continuation
            return observers.nextID
        }
        if let id {
            let observers = self.observers
            continuation.onTermination = { _ in
                _ = observers.withLockedValue { $0.continuations.removeValue(forKey: id) }
            }
        } else {
            continuation.finish()
        }
        return stream
    }

    /// The last state, nil before the first session.
    public var currentState: ConnectionState? { observers.withLockedValue { $0.current } }

    /// The session id, nil before the first session.
    public var sessionID: Int64? {
        observers.withLockedValue { $0.sessionID == 0 ? nil : $0.sessionID }
    }

    /// The session timeout the server granted, nil before the first session.
    public var negotiatedSessionTimeout: Duration? {
        observers.withLockedValue { $0.negotiatedTimeout.map { Duration.nanoseconds($0.nanoseconds) } }
    }

    // MARK: Plumbing

    private func nextCounter() -> UInt64 {
        counters.withLockedValue { value in
            value += 1
            return value
        }
    }

    func newWatcherID() -> WatcherID { WatcherID(rawValue: nextCounter()) }

    func serverPath(_ path: String, isSequential: Bool = false) throws -> String {
        try ZNodePath.validate(path, isSequential: isSequential)
        return ZNodePath.serverPath(path, chroot: connectString.chroot)
    }

    func clientPath(_ serverPath: String) -> String {
        ZNodePath.clientPath(serverPath, chroot: connectString.chroot)
    }

    /// Sends a request (server paths) and waits for its reply.
    func call(
        _ request: ZooKeeperRequest, watch: (WatchRegistration, WatcherSink)? = nil,
        effect: ConnectionStateMachine.LocalEffect? = nil
    ) async throws -> ZooKeeperResponse {
        let core = self.core
        return try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<ZooKeeperResponse, any Error>) in
            loop.execute { core.value.submit(request, watch: watch, effect: effect, continuation: continuation) }
        }
    }

    func sendAuth(scheme: String, auth: [UInt8]) async throws {
        let core = self.core
        _ = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<ZooKeeperResponse, any Error>) in
            loop.execute { core.value.addAuth(scheme: scheme, auth: auth, continuation: continuation) }
        }
    }

    func removeLocalWatches(serverPath: String, type: WatcherType) async -> Bool {
        let core = self.core
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            loop.execute { continuation.resume(returning: core.value.removeLocalWatches(serverPath: serverPath, type: type)) }
        }
    }

    func watcherTerminated(_ watcher: WatcherID) {
        let core = self.core
        loop.execute { core.value.watcherTerminated(watcher) }
    }
}

func unexpectedResponse(_ response: ZooKeeperResponse, path: String?) -> ZooKeeperError {
    ZooKeeperError(code: .marshallingError, path: path, message: "unexpected response \(response)")
}
